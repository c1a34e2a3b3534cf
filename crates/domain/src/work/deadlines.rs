//! How long each kind of work may take: local rules (settings, with effective dates), per
//! kind of work and, where it differs, per channel (a 12345 order by the hotline's own
//! rule). The defaults are the seeds' and the issue's: a handling reply within 30 days of
//! acceptance (怀仁市方案：自受理之日起30日内), a hotline order in 5 working days, an urgent
//! report acknowledged within the hour.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::calendar::Span;
use crate::Invalid;

/// The kinds of work that fall due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    /// 研判: the office looks at a new report and decides what happens to it.
    Triage,
    /// An urgent report acknowledged (and passed to the police).
    UrgentAck,
    /// A referral accepted or returned by the unit it went to.
    ReferralResponse,
    /// The handling opinion and reply on a referral the unit accepted.
    ReferralReply,
    /// A task of a case plan, or a conference's decision.
    CaseTask,
    /// An item the office put under supervision (督办), with its own deadline.
    Supervision,
    /// A case waiting for the office head's approval to close.
    ClosureApproval,
    /// A task of the committee's plan (or a joint meeting's resolution), its lead unit's.
    PlanTask,
    /// A notice (通报) each unit acknowledges.
    NoticeAck,
    /// The year runs short of its joint meetings (the office's).
    MeetingShortfall,
    /// A proposal's reply (建议提案办理), its lead unit's: three months from assignment
    /// unless the county sets its own span.
    ProposalReply,
    /// A proposal handled again: its reply sent back by the review, or rated 不满意.
    ProposalRework,
    /// What a department's list match found, for the village (or township) to verify.
    ListVerification,
    /// An early warning (预警) about a child, for the village's director (and the township)
    /// to look at and decide on.
    Warning,
}

impl WorkKind {
    pub const ALL: [WorkKind; 14] = [
        WorkKind::Triage,
        WorkKind::UrgentAck,
        WorkKind::ReferralResponse,
        WorkKind::ReferralReply,
        WorkKind::CaseTask,
        WorkKind::Supervision,
        WorkKind::ClosureApproval,
        WorkKind::PlanTask,
        WorkKind::NoticeAck,
        WorkKind::MeetingShortfall,
        WorkKind::ProposalReply,
        WorkKind::ProposalRework,
        WorkKind::ListVerification,
        WorkKind::Warning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkKind::Triage => "triage",
            WorkKind::UrgentAck => "urgent_ack",
            WorkKind::ReferralResponse => "referral_response",
            WorkKind::ReferralReply => "referral_reply",
            WorkKind::CaseTask => "case_task",
            WorkKind::Supervision => "supervision",
            WorkKind::ClosureApproval => "closure_approval",
            WorkKind::PlanTask => "plan_task",
            WorkKind::NoticeAck => "notice_ack",
            WorkKind::MeetingShortfall => "meeting_shortfall",
            WorkKind::ProposalReply => "proposal_reply",
            WorkKind::ProposalRework => "proposal_rework",
            WorkKind::ListVerification => "list_verification",
            WorkKind::Warning => "warning",
        }
    }

    pub fn parse(s: &str) -> Option<WorkKind> {
        WorkKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            WorkKind::Triage => "待研判的报告",
            WorkKind::UrgentAck => "紧急报告待确认",
            WorkKind::ReferralResponse => "转介待接收",
            WorkKind::ReferralReply => "转介待答复",
            WorkKind::CaseTask => "个案任务",
            WorkKind::Supervision => "督办事项",
            WorkKind::ClosureApproval => "结案待审批",
            WorkKind::PlanTask => "工作任务",
            WorkKind::NoticeAck => "通报待签收",
            WorkKind::MeetingShortfall => "联席会议次数不足",
            WorkKind::ProposalReply => "建议提案待答复",
            WorkKind::ProposalRework => "建议提案重新办理",
            WorkKind::ListVerification => "名单比对待核实",
            WorkKind::Warning => "预警待研判",
        }
    }

    /// The default time allowed.
    pub fn default_span(self) -> Span {
        match self {
            WorkKind::Triage => Span::WorkingDays(1),
            WorkKind::UrgentAck => Span::Hours(1),
            WorkKind::ReferralResponse => Span::WorkingDays(2),
            WorkKind::ReferralReply => Span::Days(30),
            WorkKind::CaseTask => Span::WorkingDays(10),
            WorkKind::Supervision => Span::WorkingDays(5),
            WorkKind::ClosureApproval => Span::WorkingDays(3),
            // A plan task's own date wins; this is for one entered without.
            WorkKind::PlanTask => Span::Days(90),
            WorkKind::NoticeAck => Span::WorkingDays(3),
            WorkKind::MeetingShortfall => Span::Days(30),
            // Used only where a county sets none: the reply is due three calendar months
            // after assignment (crate::proposals::reply_due), not 90 days.
            WorkKind::ProposalReply => Span::Days(90),
            WorkKind::ProposalRework => Span::Days(30),
            WorkKind::ListVerification => Span::WorkingDays(10),
            WorkKind::Warning => Span::WorkingDays(5),
        }
    }
}

/// The local rules: `{"referral_reply": {"days": 30}, "referral_reply.hotline":
/// {"working_days": 5}, "urgent_ack": {"hours": 1}}` — a kind, or a kind and a report
/// channel (its code), to a span. What is not set keeps its default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadlineRules {
    spans: BTreeMap<String, Span>,
}

/// How a span is written in the settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpanSetting {
    hours: Option<u32>,
    days: Option<u32>,
    working_days: Option<u32>,
}

impl DeadlineRules {
    /// Parses the setting's JSON; refuses an unknown kind or channel, a span that is not
    /// exactly one of hours, days or working_days, or one out of range.
    pub fn parse(value: &serde_json::Value, channels: &[&str]) -> Result<DeadlineRules, Invalid> {
        let bad = |m: String| Invalid::new("deadline_rules", m);
        let object = value.as_object().ok_or_else(|| {
            bad("期限规则应为 JSON 对象，如 {\"referral_reply\": {\"days\": 30}}".into())
        })?;
        let mut spans = BTreeMap::new();
        for (key, v) in object {
            let (kind, channel) = match key.split_once('.') {
                Some((k, c)) => (k, Some(c)),
                None => (key.as_str(), None),
            };
            if WorkKind::parse(kind).is_none() {
                return Err(bad(format!(
                    "期限规则中的“{kind}”不是已知的事项，可选：{}",
                    WorkKind::ALL.map(|k| k.as_str()).join("、")
                )));
            }
            if let Some(c) = channel.filter(|c| !channels.contains(c)) {
                return Err(bad(format!(
                    "期限规则“{key}”中的来源“{c}”不存在，可选：{}",
                    channels.join("、")
                )));
            }
            let s: SpanSetting = serde_json::from_value(v.clone()).map_err(|e| {
                bad(format!("期限“{key}”应写成 {{\"days\": 30}}、{{\"working_days\": 5}} 或 {{\"hours\": 1}}：{e}"))
            })?;
            let span = match (s.hours, s.days, s.working_days) {
                (Some(h), None, None) if (1..=720).contains(&h) => Span::Hours(h),
                (None, Some(d), None) if (1..=366).contains(&d) => Span::Days(d),
                (None, None, Some(d)) if (1..=250).contains(&d) => Span::WorkingDays(d),
                _ => {
                    return Err(bad(format!(
                    "期限“{key}”应只写一项：hours（1-720）、days（1-366）或 working_days（1-250）"
                )))
                }
            };
            spans.insert(key.clone(), span);
        }
        Ok(DeadlineRules { spans })
    }

    /// The span for a kind of work on an item that came by `channel` (a report channel's
    /// code), if the rules name one, else for the kind, else the default.
    /// The span the county set for `kind` itself, if it set one.
    pub fn local(&self, kind: WorkKind) -> Option<Span> {
        self.spans.get(kind.as_str()).copied()
    }

    pub fn span(&self, kind: WorkKind, channel: Option<&str>) -> Span {
        channel
            .and_then(|c| self.spans.get(&format!("{}.{c}", kind.as_str())))
            .or_else(|| self.spans.get(kind.as_str()))
            .copied()
            .unwrap_or_else(|| match (kind, channel) {
                (WorkKind::ReferralReply, Some("hotline")) => Span::WorkingDays(5),
                _ => kind.default_span(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CHANNELS: &[&str] = &["hotline", "public"];

    #[test]
    fn the_defaults_are_thirty_days_five_working_days_for_12345_and_an_hour_for_urgent() {
        let r = DeadlineRules::default();
        assert_eq!(r.span(WorkKind::ReferralReply, None), Span::Days(30));
        assert_eq!(
            r.span(WorkKind::ReferralReply, Some("hotline")),
            Span::WorkingDays(5)
        );
        assert_eq!(r.span(WorkKind::UrgentAck, None), Span::Hours(1));
    }

    #[test]
    fn a_region_sets_its_own_by_kind_and_by_channel() {
        let r = DeadlineRules::parse(
            &json!({"referral_reply": {"days": 15}, "referral_reply.public": {"working_days": 3},
                    "urgent_ack": {"hours": 2}}),
            CHANNELS,
        )
        .unwrap();
        assert_eq!(r.span(WorkKind::ReferralReply, None), Span::Days(15));
        assert_eq!(
            r.span(WorkKind::ReferralReply, Some("public")),
            Span::WorkingDays(3)
        );
        // A channel the rules do not name takes the kind's rule.
        assert_eq!(
            r.span(WorkKind::ReferralReply, Some("hotline")),
            Span::Days(15)
        );
        assert_eq!(r.span(WorkKind::UrgentAck, None), Span::Hours(2));
    }

    #[test]
    fn bad_rules_are_refused_saying_what_to_write() {
        for (v, says) in [
            (json!([1]), "JSON 对象"),
            (json!({"reply": {"days": 3}}), "不是已知的事项"),
            (
                json!({"referral_reply.fax": {"days": 3}}),
                "来源“fax”不存在",
            ),
            (
                json!({"referral_reply": {"days": 3, "hours": 2}}),
                "只写一项",
            ),
            (json!({"referral_reply": {"days": 0}}), "只写一项"),
            (json!({"referral_reply": {"weeks": 2}}), "应写成"),
        ] {
            let e = DeadlineRules::parse(&v, CHANNELS).unwrap_err();
            assert!(e.message.contains(says), "{v}: {}", e.message);
        }
    }
}
