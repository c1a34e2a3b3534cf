//! Proposals from the people's congress and the CPPCC (人大代表建议、政协提案) and their
//! handling (建议提案办理), as seeds 000 and 002 record it: a numbered proposal assigned to a
//! lead unit (主办) with co-units (协办) that send it their opinions; the lead unit's reply
//! with its implementation class (A/B/C); the supervising office's review (通过 or 退回 with
//! a reason); the proposer's rating (满意/基本满意/不满意), where 不满意 sends it back to be
//! handled again. A reply is due a configurable number of months after assignment
//! (default 3).
//!
//! The rules here are the workflow's; who may take each step is the store's.

pub mod reply_document;

use chrono::{Months, NaiveDate};

use crate::coded::coded_enum;
use crate::error::bounded;
use crate::Invalid;

coded_enum!(
    /// 类别: a deputy's suggestion to the people's congress or a member's proposal to the CPPCC.
    ProposalKind {
        Suggestion = ("suggestion", "人大代表建议"),
        Proposal = ("proposal", "政协提案"),
    }
);

coded_enum!(
    /// Where a proposal stands.
    ProposalState {
        /// 办理中: the lead unit works on it (co-units send their opinions).
        Assigned = ("assigned", "办理中"),
        /// 已答复: the reply waits for the supervising office's review.
        Replied = ("replied", "已答复，待审核"),
        /// 退回: the review sent the reply back; the lead unit answers again.
        Returned = ("returned", "审核退回，重新办理"),
        /// 审核通过: the proposer rates it.
        Passed = ("passed", "审核通过，待评价"),
        /// 办结: rated 满意 or 基本满意.
        Rated = ("rated", "已办结"),
        /// 不满意: handled again.
        Reopened = ("reopened", "不满意，重新办理"),
    }
);

coded_enum!(
    /// 办理结果分类 (seed 002: A/B/C)
    ImplementationClass {
        A = ("A", "已解决或基本解决"),
        B = ("B", "正在解决或列入计划"),
        C = ("C", "因条件限制暂不能解决"),
    }
);

coded_enum!(
    /// 代表（委员）满意度
    Satisfaction {
        Satisfied = ("satisfied", "满意"),
        Basic = ("basic", "基本满意"),
        Dissatisfied = ("dissatisfied", "不满意"),
    }
);

/// A step of the handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A co-unit's opinion to the lead unit.
    Opinion,
    /// The lead unit's reply, with its class.
    Reply(ImplementationClass),
    /// The supervising office's review: passed, or sent back.
    Review { passed: bool },
    /// The proposer's rating.
    Rate(Satisfaction),
}

impl ProposalState {
    /// The lead unit owes a reply (the deadline runs).
    pub fn awaits_reply(self) -> bool {
        matches!(
            self,
            ProposalState::Assigned | ProposalState::Returned | ProposalState::Reopened
        )
    }

    /// Where `step` takes a proposal from here, or why it cannot be taken now.
    pub fn after(self, step: Step) -> Result<ProposalState, Invalid> {
        use ProposalState::*;
        let refuse = |message: &str| Err(Invalid::new("state", message.to_string()));
        match step {
            Step::Opinion if self.awaits_reply() => Ok(self),
            Step::Opinion => refuse("已答复的建议（提案）不再收协办意见"),
            Step::Reply(_) if self.awaits_reply() => Ok(Replied),
            Step::Reply(_) if self == Replied => {
                refuse("答复已提交，正在审核；如需修改，请由督办部门退回")
            }
            Step::Reply(_) => refuse("该建议（提案）已审核通过，不能再答复"),
            Step::Review { passed } if self == Replied => {
                Ok(if passed { Passed } else { Returned })
            }
            Step::Review { .. } => refuse("尚未答复，没有可审核的答复"),
            Step::Rate(s) if self == Passed => Ok(if s == Satisfaction::Dissatisfied {
                Reopened
            } else {
                Rated
            }),
            Step::Rate(_) if self == Rated => refuse("已评价办结，不能重复评价"),
            Step::Rate(_) => refuse("答复审核通过后才能评价"),
        }
    }
}

/// Months from assignment to the reply's deadline, unless a county sets its own.
pub const DEFAULT_REPLY_MONTHS: u32 = 3;

/// The reply's deadline: `months` calendar months after assignment (the month's last day
/// when it is shorter: 11-30 + 3 months is 02-28 or 02-29).
pub fn reply_due(assigned_on: NaiveDate, months: u32) -> NaiveDate {
    assigned_on
        .checked_add_months(Months::new(months))
        .unwrap_or(assigned_on)
}

/// A proposal as typed.
#[derive(Debug, Clone, Default)]
pub struct ProposalInput {
    pub kind: String,
    pub year: i32,
    /// 届次会次 (区十届人大三次会议).
    pub session: String,
    /// Its number in the session (第 37 号, 2024-037).
    pub number: String,
    pub category: String,
    pub title: String,
    pub text: String,
    /// 领衔人 and 附议人.
    pub proposer: String,
    pub co_signers: Vec<String>,
    /// 重点建议（提案）
    pub key: bool,
    pub assigned_on: Option<NaiveDate>,
}

/// A checked proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProposal {
    pub kind: ProposalKind,
    pub year: i32,
    pub session: String,
    pub number: String,
    pub category: String,
    pub title: String,
    pub text: String,
    pub proposer: String,
    pub co_signers: Vec<String>,
    pub key: bool,
    pub assigned_on: NaiveDate,
}

impl ProposalInput {
    /// Checks a proposal; `today` is the default assignment date and its latest.
    pub fn check(&self, today: NaiveDate) -> Result<CheckedProposal, (&'static str, Invalid)> {
        let kind = ProposalKind::parse(&self.kind).ok_or((
            "kind",
            Invalid::new(
                "kind_unknown",
                "类别应为 suggestion（人大代表建议）或 proposal（政协提案）",
            ),
        ))?;
        if !(2000..=2100).contains(&self.year) {
            return Err((
                "year",
                Invalid::new("year_range", "年度应为 2000 到 2100 之间的年份"),
            ));
        }
        let number = bounded("number", &self.number, 30, true, "编号")?;
        let title = bounded("title", &self.title, 200, true, "标题（案由）")?;
        let proposer = bounded("proposer", &self.proposer, 30, true, "领衔代表（委员）姓名")?;
        let session = bounded("session", &self.session, 60, false, "届次会次")?;
        let category = bounded("category", &self.category, 30, false, "分类")?;
        let text = bounded("text", &self.text, 20_000, false, "正文")?;
        if self.co_signers.len() > 100 {
            return Err(("co_signers", Invalid::new("too_many", "附议人最多 100 名")));
        }
        let mut co_signers = Vec::new();
        for c in &self.co_signers {
            let c = bounded("co_signers", c, 30, false, "附议人姓名")?;
            if !c.is_empty() && !co_signers.contains(&c) {
                co_signers.push(c);
            }
        }
        let assigned_on = self.assigned_on.unwrap_or(today);
        if assigned_on > today {
            return Err((
                "assigned_on",
                Invalid::new("date_future", "交办日期不能晚于今天"),
            ));
        }
        Ok(CheckedProposal {
            kind,
            year: self.year,
            session,
            number,
            category,
            title,
            text,
            proposer,
            co_signers,
            key: self.key,
            assigned_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProposalState::*;

    #[test]
    fn a_proposal_is_rated_only_after_a_reply_has_passed_review() {
        assert!(Assigned.after(Step::Rate(Satisfaction::Satisfied)).is_err());
        assert!(Replied.after(Step::Rate(Satisfaction::Satisfied)).is_err());
        assert!(Assigned.after(Step::Review { passed: true }).is_err());
        let replied = Assigned.after(Step::Reply(ImplementationClass::A)).unwrap();
        assert_eq!(replied, Replied);
        assert_eq!(
            replied.after(Step::Review { passed: true }).unwrap(),
            Passed
        );
        assert_eq!(
            Passed.after(Step::Rate(Satisfaction::Basic)).unwrap(),
            Rated
        );
        assert!(Rated.after(Step::Rate(Satisfaction::Satisfied)).is_err());
    }

    #[test]
    fn dissatisfied_or_returned_it_is_handled_again() {
        let again = Passed
            .after(Step::Rate(Satisfaction::Dissatisfied))
            .unwrap();
        assert_eq!(again, Reopened);
        assert!(again.awaits_reply());
        assert_eq!(again.after(Step::Opinion).unwrap(), Reopened);
        assert_eq!(
            again.after(Step::Reply(ImplementationClass::B)).unwrap(),
            Replied
        );
        let back = Replied.after(Step::Review { passed: false }).unwrap();
        assert_eq!(back, Returned);
        assert!(back.awaits_reply());
        // A reply under review is not replaced; an opinion comes before the reply.
        assert!(Replied.after(Step::Reply(ImplementationClass::A)).is_err());
        assert!(Replied.after(Step::Opinion).is_err());
        assert!(!Passed.awaits_reply() && !Rated.awaits_reply());
    }

    #[test]
    fn the_reply_is_due_months_after_assignment() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(reply_due(d(2026, 3, 15), 3), d(2026, 6, 15));
        assert_eq!(reply_due(d(2026, 11, 30), 3), d(2027, 2, 28));
        assert_eq!(reply_due(d(2027, 11, 30), 3), d(2028, 2, 29));
    }

    #[test]
    fn a_proposal_names_what_is_missing() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let mut p = ProposalInput {
            kind: "proposal".into(),
            year: 2026,
            number: " 37 ".into(),
            title: "关于加强农村留守儿童关爱保护的提案".into(),
            proposer: "王委员".into(),
            co_signers: vec!["李委员".into(), "李委员".into(), " ".into()],
            ..ProposalInput::default()
        };
        let ok = p.check(today).unwrap();
        assert_eq!(
            (ok.number.as_str(), ok.co_signers.len(), ok.assigned_on),
            ("37", 1, today)
        );
        p.kind = "议案".into();
        assert_eq!(p.check(today).unwrap_err().0, "kind");
        p.kind = "suggestion".into();
        p.title = "  ".into();
        assert_eq!(p.check(today).unwrap_err().0, "title");
        p.title = "x".into();
        p.assigned_on = Some(today.succ_opt().unwrap());
        assert_eq!(p.check(today).unwrap_err().0, "assigned_on");
    }
}
