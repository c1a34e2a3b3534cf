//! Allowances (基本生活保障): types, standards, who is eligible and from which month to
//! which, the application's steps, and what a monthly roll owes.
//!
//! The ledger and visits never use this module; it reads what they record.

pub mod eligibility;
pub mod rolls;
pub mod standards;
pub mod types;

pub use eligibility::{
    adulthood, age_ending, eligible, payable, qualifies, start_month, AllowanceRuleBook,
    AllowanceRules, ChildStanding, Ending,
};
pub use standards::{Amount, Standard, StandardBook};
pub use types::{TypeBook, TypeDef};

use serde::{Deserialize, Serialize};

use crate::child::labelled_enum;
use crate::error::{normalise, Invalid};

labelled_enum!(
    /// Where an application (a case, once confirmed) stands.
    Status {
        /// Filed by the village or from the guardian's form: the township checks next.
        Filed = "待乡镇查验",
        /// The township checked it: the county confirms next.
        Checked = "待县级确认",
        /// Confirmed: paid from the month after confirmation.
        Confirmed = "保障中",
        Rejected = "未通过",
        /// Payment stopped (the month after the cause ended).
        Ended = "已停发",
    }
);

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Filed => "filed",
            Status::Checked => "checked",
            Status::Confirmed => "confirmed",
            Status::Rejected => "rejected",
            Status::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.iter().copied().find(|x| x.as_str() == s)
    }

    /// Filed, checked or confirmed: a second application of the type waits for its end.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Filed | Status::Checked | Status::Confirmed)
    }
}

labelled_enum!(
    /// The two checks an application goes through.
    Step {
        /// 乡镇查验, by the township's supervisor.
        Township = "乡镇查验",
        /// 县级确认, by the county office.
        County = "县级确认",
    }
);

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Township => "township",
            Step::County => "county",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.iter().copied().find(|x| x.as_str() == s)
    }
}

labelled_enum!(
    Decision {
        Approve = "同意",
        Reject = "不同意",
    }
);

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Decision> {
        Decision::ALL.iter().copied().find(|x| x.as_str() == s)
    }
}

/// The status after `step` decided `decision` on an application in `status`, or why the
/// step does not fit (the message says what the application waits for).
pub fn after(status: Status, step: Step, decision: Decision) -> Result<Status, String> {
    let expected = match step {
        Step::Township => Status::Filed,
        Step::County => Status::Checked,
    };
    if status != expected {
        return Err(format!(
            "该申请当前为“{}”，不能进行{}{}",
            status.label(),
            step.label(),
            match status {
                Status::Filed => "：须先由乡镇查验",
                Status::Checked => "：乡镇已查验，待县级确认",
                _ => "",
            }
        ));
    }
    Ok(match (step, decision) {
        (_, Decision::Reject) => Status::Rejected,
        (Step::Township, Decision::Approve) => Status::Checked,
        (Step::County, Decision::Approve) => Status::Confirmed,
    })
}

labelled_enum!(
    /// Why payment stopped.
    EndCause {
        /// 年满 18 周岁 (or the local age for those still in school).
        Adult = "年满18周岁",
        Death = "死亡",
        /// The child no longer has the category the type asks for.
        CategoryLost = "不再符合条件",
        /// Moved to another county: the case is handed over there.
        MovedOut = "迁出本县",
        /// Left full-time school after 18 (the local rule that continued payment).
        SchoolEnded = "学业结束",
        Other = "其他",
    }
);

impl EndCause {
    pub fn as_str(self) -> &'static str {
        match self {
            EndCause::Adult => "adult",
            EndCause::Death => "death",
            EndCause::CategoryLost => "category_lost",
            EndCause::MovedOut => "moved_out",
            EndCause::SchoolEnded => "school_ended",
            EndCause::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<EndCause> {
        EndCause::ALL.iter().copied().find(|x| x.as_str() == s)
    }

    /// The causes a person records by hand (the others are found from the ledger).
    pub const RECORDED: [EndCause; 4] = [
        EndCause::Death,
        EndCause::CategoryLost,
        EndCause::SchoolEnded,
        EndCause::Other,
    ];
}

labelled_enum!(
    /// Who filed the application.
    FiledAs {
        /// The village committee (the child director) applied for the guardian.
        Village = "村（居）代为申请",
        /// The guardian's own paper form, recorded by the village or township.
        GuardianForm = "监护人书面申请",
    }
);

impl FiledAs {
    pub fn as_str(self) -> &'static str {
        match self {
            FiledAs::Village => "village",
            FiledAs::GuardianForm => "guardian_form",
        }
    }

    pub fn parse(s: &str) -> Option<FiledAs> {
        FiledAs::ALL.iter().copied().find(|x| x.as_str() == s)
    }
}

/// Longest reason, note or name on an application.
pub const MAX_REASON: usize = 500;

/// A free text such as a decision's reason: at most [`MAX_REASON`] characters as typed,
/// trimmed; `required` refuses one with nothing but spaces. (Pages escape what they show,
/// exports neutralise what a spreadsheet would run.)
pub fn parse_text(label: &str, input: &str, required: bool) -> Result<String, Invalid> {
    let n = input.chars().count();
    if n > MAX_REASON {
        return Err(Invalid::new(
            "text_too_long",
            format!("{label}最多 {MAX_REASON} 字，实际为 {n} 字，请精简"),
        ));
    }
    let s = input.trim();
    if required && s.is_empty() {
        return Err(Invalid::new(
            "text_empty",
            format!("{label}不能为空：请写明理由"),
        ));
    }
    Ok(s.to_string())
}

/// Checks a bank account or passbook number (银行卡号 / 存折账号): 8 to 30 digits once
/// spaces and dashes are taken out; returns the digits.
pub fn parse_bank_account(input: &str) -> Result<String, Invalid> {
    let digits: String = normalise(input)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if let Some(c) = digits.chars().find(|c| !c.is_ascii_digit()) {
        return Err(Invalid::new(
            "bank_account_digit",
            format!("银行账号只能是数字，其中有“{c}”：请照银行卡或存折上的号码填写"),
        ));
    }
    if !(8..=30).contains(&digits.len()) {
        return Err(Invalid::new(
            "bank_account_length",
            format!(
                "银行账号应为 8 到 30 位数字，实际为 {} 位：请核对",
                digits.len()
            ),
        ));
    }
    Ok(digits)
}

/// A bank account as lists and rolls show it: the first and last four digits.
pub fn mask_account(account: &str) -> String {
    let n = account.chars().count();
    if n <= 8 {
        return "*".repeat(n);
    }
    let head: String = account.chars().take(4).collect();
    let tail: String = account.chars().skip(n - 4).collect();
    format!("{head}{}{tail}", "*".repeat(n - 8))
}

/// A name as a 公示 list shows it: the surname, the rest hidden but the last character of
/// a longer name: 张* , 张*花, 欧**花.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_application_goes_township_then_county_and_says_why_a_step_does_not_fit() {
        use Decision::*;
        use Status::*;
        assert_eq!(after(Filed, Step::Township, Approve), Ok(Checked));
        assert_eq!(after(Checked, Step::County, Approve), Ok(Confirmed));
        assert_eq!(after(Filed, Step::Township, Reject), Ok(Rejected));
        assert_eq!(after(Checked, Step::County, Reject), Ok(Rejected));
        let e = after(Filed, Step::County, Approve).unwrap_err();
        assert!(e.contains("须先由乡镇查验"), "{e}");
        assert!(after(Confirmed, Step::County, Approve).is_err());
        assert!(after(Rejected, Step::Township, Approve).is_err());
        assert!(after(Checked, Step::Township, Approve)
            .unwrap_err()
            .contains("待县级确认"));
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        for c in EndCause::ALL {
            assert_eq!(EndCause::parse(c.as_str()), Some(*c));
        }
    }

    #[test]
    fn accounts_are_digits_and_show_only_their_ends() {
        assert_eq!(
            parse_bank_account("6217 0000 1234 5678 901").unwrap(),
            "6217000012345678901"
        );
        assert_eq!(
            parse_bank_account("６２１７-0000-1234").unwrap(),
            "621700001234"
        );
        assert_eq!(
            parse_bank_account("6217x").unwrap_err().code,
            "bank_account_digit"
        );
        assert_eq!(
            parse_bank_account("1234567").unwrap_err().code,
            "bank_account_length"
        );
        assert_eq!(mask_account("6217000012345678901"), "6217***********8901");
        assert_eq!(mask_account("12345678"), "********");
    }

    #[test]
    fn names_are_masked_for_public_lists() {
        assert_eq!(mask_name("张花"), "张*");
        assert_eq!(mask_name("张小花"), "张*花");
        assert_eq!(mask_name("欧阳小花"), "欧**花");
        assert_eq!(mask_name("王"), "*");
    }

    #[test]
    fn reasons_are_trimmed_bounded_and_required_where_asked() {
        assert_eq!(parse_text("理由", "  材料齐全 ", true).unwrap(), "材料齐全");
        assert_eq!(
            parse_text("理由", " ", true).unwrap_err().code,
            "text_empty"
        );
        assert_eq!(parse_text("备注", "", false).unwrap(), "");
        assert_eq!(
            parse_text("理由", &"长".repeat(MAX_REASON + 1), false)
                .unwrap_err()
                .code,
            "text_too_long"
        );
        // Counted as typed: trailing spaces do not make a long text short enough.
        let long = format!("{} ", "长".repeat(MAX_REASON));
        assert_eq!(
            parse_text("理由", &long, false).unwrap_err().code,
            "text_too_long"
        );
    }
}
