//! Purchased services and volunteers (政府购买服务、志愿服务): social-work agencies with their
//! 统一社会信用代码, the contracts the county signs with them (project, amount in 分,
//! period, the children to serve and the hours required), the social workers and
//! volunteers, and each service given to a child or at an activity, in hours. A contract's
//! progress is its hours delivered against those required, and against the time gone by.

use chrono::NaiveDate;

use crate::coded::coded_enum;
use crate::error::bounded;
use crate::{CreditCode, CreditCodeError, Fen, Invalid};

coded_enum!(
    /// 社工或志愿者
    WorkerKind {
        SocialWorker = ("social_worker", "社会工作者"),
        Volunteer = ("volunteer", "志愿者"),
    }
);

coded_enum!(
    /// 职业资格 (社会工作者职业资格)
    Qualification {
        None = ("none", "无"),
        Assistant = ("assistant", "助理社会工作师"),
        Intermediate = ("intermediate", "社会工作师"),
        Senior = ("senior", "高级社会工作师"),
    }
);

coded_enum!(
    /// 服务类别
    ServiceKind {
        HomeVisit = ("home_visit", "入户走访"),
        Counselling = ("counselling", "心理疏导"),
        Tutoring = ("tutoring", "学业辅导"),
        Companionship = ("companionship", "陪伴关爱"),
        ResourceLinking = ("resource_linking", "资源链接"),
        CaseWork = ("case_work", "个案服务"),
        GroupWork = ("group_work", "小组或活动服务"),
        Other = ("other", "其他"),
    }
);

/// Parses hours as people write them ("2", "1.5", "0.25") into minutes: at least a
/// quarter of an hour, at most `max_hours`.
pub fn parse_hours(
    field: &'static str,
    input: &str,
    max_hours: i64,
    what: &str,
) -> Result<i64, (&'static str, Invalid)> {
    let refuse = || {
        (
            field,
            Invalid::new(
                "hours_format",
                format!("{what}应为 0.25 到 {max_hours} 之间的小时数，如 1.5"),
            ),
        )
    };
    let s = input.trim().trim_end_matches("小时").trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(refuse());
    }
    if !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || whole.len() > 7
    {
        return Err(refuse());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| refuse())?
    };
    let hundredths: i64 = format!("{frac:0<2}").parse().map_err(|_| refuse())?;
    let minutes = whole * 60 + hundredths * 60 / 100;
    if minutes < 15 || minutes > max_hours * 60 {
        return Err(refuse());
    }
    Ok(minutes)
}

/// Minutes as hours for people: "1.5", "12".
pub fn hours_text(minutes: i64) -> String {
    let hundredths = (minutes * 100 + 30) / 60;
    let (h, r) = (hundredths / 100, hundredths % 100);
    if r == 0 {
        h.to_string()
    } else if r % 10 == 0 {
        format!("{h}.{}", r / 10)
    } else {
        format!("{h}.{r:02}")
    }
}

/// An agency as typed.
#[derive(Debug, Clone, Default)]
pub struct AgencyInput {
    pub name: String,
    pub credit_code: String,
    /// Set only to keep a code whose check character is wrong (issued that way).
    pub override_reason: String,
    pub contact: String,
    pub phone: String,
}

/// A checked agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    pub name: String,
    pub credit_code: CreditCode,
    pub contact: String,
    pub phone: String,
}

impl AgencyInput {
    pub fn check(&self) -> Result<Agency, (&'static str, Invalid)> {
        let name = bounded("name", &self.name, 100, true, "机构名称")?;
        let credit_code = if self.override_reason.trim().is_empty() {
            CreditCode::parse(&self.credit_code).map_err(|e: CreditCodeError| {
                ("credit_code", Invalid::new(e.code(), e.message()))
            })?
        } else {
            CreditCode::parse_with_override(&self.credit_code, &self.override_reason)
                .map_err(|e| ("credit_code", e))?
        };
        let contact = bounded("contact", &self.contact, 30, false, "联系人")?;
        let phone = bounded("phone", &self.phone, 20, false, "联系电话")?;
        if !phone
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
        {
            return Err((
                "phone",
                Invalid::new("phone_format", "联系电话只能包含数字和“-”"),
            ));
        }
        Ok(Agency {
            name,
            credit_code,
            contact,
            phone,
        })
    }
}

/// A contract as typed.
#[derive(Debug, Clone, Default)]
pub struct ContractInput {
    pub project: String,
    /// 合同金额（元）, as typed: "120000" or "120,000.00".
    pub amount: String,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    /// 服务对象（儿童）人数
    pub target_children: i64,
    /// 约定服务时长（小时）
    pub required_hours: String,
}

/// A checked contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub project: String,
    pub amount: Fen,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub target_children: i64,
    pub required_minutes: i64,
}

impl ContractInput {
    pub fn check(&self) -> Result<Contract, (&'static str, Invalid)> {
        let project = bounded("project", &self.project, 100, true, "项目名称")?;
        let amount = Fen::parse_yuan("合同金额", &self.amount).map_err(|e| ("amount", e))?;
        if amount.fen() <= 0 {
            return Err((
                "amount",
                Invalid::new("amount_range", "合同金额应大于 0 元"),
            ));
        }
        let starts_on = self.starts_on.ok_or((
            "starts_on",
            Invalid::new("date_missing", "请填写服务开始日期"),
        ))?;
        let ends_on = self.ends_on.ok_or((
            "ends_on",
            Invalid::new("date_missing", "请填写服务结束日期"),
        ))?;
        if ends_on < starts_on {
            return Err((
                "ends_on",
                Invalid::new("period_order", "服务结束日期不能早于开始日期"),
            ));
        }
        if !(0..=1_000_000).contains(&self.target_children) {
            return Err((
                "target_children",
                Invalid::new("count_range", "服务对象人数应为 0 到 1000000 之间的整数"),
            ));
        }
        let required_minutes = parse_hours(
            "required_hours",
            &self.required_hours,
            1_000_000,
            "约定服务时长",
        )?;
        Ok(Contract {
            project,
            amount,
            starts_on,
            ends_on,
            target_children: self.target_children,
            required_minutes,
        })
    }
}

/// A social worker or volunteer as typed.
#[derive(Debug, Clone, Default)]
pub struct WorkerInput {
    pub name: String,
    pub kind: String,
    pub qualification: String,
}

/// A checked worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub name: String,
    pub kind: WorkerKind,
    pub qualification: Qualification,
}

impl WorkerInput {
    pub fn check(&self) -> Result<Worker, (&'static str, Invalid)> {
        let name = bounded("name", &self.name, 30, true, "姓名")?;
        let kind = WorkerKind::parse(&self.kind).ok_or((
            "kind",
            Invalid::new(
                "kind_unknown",
                "人员类别应为 social_worker（社会工作者）或 volunteer（志愿者）",
            ),
        ))?;
        let qualification = if self.qualification.trim().is_empty() {
            Qualification::None
        } else {
            Qualification::parse(&self.qualification).ok_or((
                "qualification",
                Invalid::new(
                    "qualification_unknown",
                    "职业资格应为：无、助理社会工作师、社会工作师或高级社会工作师",
                ),
            ))?
        };
        Ok(Worker {
            name,
            kind,
            qualification,
        })
    }
}

/// A service given, as typed.
#[derive(Debug, Clone, Default)]
pub struct ServiceInput {
    pub kind: String,
    pub served_on: Option<NaiveDate>,
    pub hours: String,
    pub note: String,
}

/// A checked service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub kind: ServiceKind,
    pub served_on: NaiveDate,
    pub minutes: i64,
    pub note: String,
}

impl ServiceInput {
    /// Checks a service: on a day gone by (today at the latest), a quarter of an hour to
    /// 12 hours.
    pub fn check(&self, today: NaiveDate) -> Result<Service, (&'static str, Invalid)> {
        let kind = ServiceKind::parse(&self.kind).ok_or_else(|| {
            (
                "kind",
                Invalid::new(
                    "kind_unknown",
                    format!(
                        "服务类别“{}”无法识别，可选：{}",
                        self.kind.trim(),
                        ServiceKind::ALL
                            .iter()
                            .map(|k| k.label())
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                ),
            )
        })?;
        let served_on = self
            .served_on
            .ok_or(("served_on", Invalid::new("date_missing", "请填写服务日期")))?;
        if served_on > today {
            return Err((
                "served_on",
                Invalid::new("date_future", "服务日期不能晚于今天"),
            ));
        }
        let minutes = parse_hours("hours", &self.hours, 12, "服务时长")?;
        let note = bounded("note", &self.note, 500, false, "服务内容")?;
        Ok(Service {
            kind,
            served_on,
            minutes,
            note,
        })
    }
}

/// Where a contract stands on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Hours delivered against those required, in percent (may pass 100).
    pub delivered_percent: i64,
    /// The share of the contract's period gone by, in percent (0 before, 100 after).
    pub elapsed_percent: i64,
    /// Delivery trails the time gone by by more than 10 points while the contract runs
    /// (or the contract has ended short of its hours).
    pub behind: bool,
}

/// A contract's progress: `delivered` minutes against `required`, on `today`.
pub fn progress(
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    required: i64,
    delivered: i64,
    today: NaiveDate,
) -> Progress {
    let delivered_percent = if required <= 0 {
        100
    } else {
        delivered * 100 / required
    };
    let days = (ends_on - starts_on).num_days() + 1;
    let gone = (today - starts_on).num_days() + 1;
    let elapsed_percent = if today < starts_on {
        0
    } else if today > ends_on {
        100
    } else {
        gone * 100 / days.max(1)
    };
    Progress {
        delivered_percent,
        elapsed_percent,
        behind: delivered_percent < 100 && delivered_percent + 10 < elapsed_percent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn hours_are_read_as_people_write_them() {
        assert_eq!(parse_hours("hours", "1.5", 24, "时长").unwrap(), 90);
        assert_eq!(parse_hours("hours", "2小时", 24, "时长").unwrap(), 120);
        assert_eq!(parse_hours("hours", ".25", 24, "时长").unwrap(), 15);
        for bad in ["", "0", "0.1", "25", "-1", "1.234", "一小时", "1,5"] {
            let (field, e) = parse_hours("hours", bad, 24, "时长").unwrap_err();
            assert_eq!((field, e.code), ("hours", "hours_format"), "{bad}");
        }
        assert_eq!(hours_text(90), "1.5");
        assert_eq!(hours_text(120), "2");
        assert_eq!(hours_text(15), "0.25");
    }

    #[test]
    fn an_agency_needs_a_credit_code_with_its_check_character() {
        let agency = AgencyInput {
            name: "广元市朝天区阳光社会工作服务中心".into(),
            credit_code: "91350100M000100Y43".into(),
            ..Default::default()
        };
        assert_eq!(
            agency.check().unwrap().credit_code.as_str(),
            "91350100M000100Y43"
        );
        let wrong = AgencyInput {
            credit_code: "91350100M000100Y44".into(),
            ..agency.clone()
        };
        let (field, e) = wrong.check().unwrap_err();
        assert_eq!((field, e.code), ("credit_code", "credit_code_check"));
        assert!(e.message.contains("校验位应为 3"), "{}", e.message);
        let kept = AgencyInput {
            override_reason: "登记机关核发的代码，以营业执照为准".into(),
            ..wrong
        };
        assert_eq!(
            kept.check().unwrap().credit_code.override_reason(),
            Some("登记机关核发的代码，以营业执照为准")
        );
        let short = AgencyInput {
            credit_code: "9135".into(),
            ..agency
        };
        assert_eq!(short.check().unwrap_err().0, "credit_code");
    }

    #[test]
    fn a_contract_runs_forward_and_costs_something() {
        let c = ContractInput {
            project: "困境儿童关爱服务".into(),
            amount: "120,000.00".into(),
            starts_on: Some(d(2026, 1, 1)),
            ends_on: Some(d(2026, 12, 31)),
            target_children: 150,
            required_hours: "1200".into(),
        };
        let checked = c.check().unwrap();
        assert_eq!(checked.amount, Fen(12_000_000));
        assert_eq!(checked.required_minutes, 72_000);
        let backwards = ContractInput {
            ends_on: Some(d(2025, 12, 31)),
            ..c.clone()
        };
        assert_eq!(backwards.check().unwrap_err().0, "ends_on");
        let free = ContractInput {
            amount: "0".into(),
            ..c
        };
        assert_eq!(free.check().unwrap_err().0, "amount");
    }

    #[test]
    fn progress_compares_hours_with_the_time_gone_by() {
        let (s, e) = (d(2026, 1, 1), d(2026, 12, 31));
        let mid = progress(s, e, 1000, 500, d(2026, 7, 1));
        assert_eq!(mid.delivered_percent, 50);
        assert!(!mid.behind, "{mid:?}");
        let late = progress(s, e, 1000, 200, d(2026, 7, 1));
        assert!(late.behind);
        let over = progress(s, e, 1000, 1200, d(2027, 1, 5));
        assert_eq!((over.delivered_percent, over.elapsed_percent), (120, 100));
        assert!(!over.behind);
        let not_started = progress(s, e, 1000, 0, d(2025, 12, 1));
        assert_eq!(not_started.elapsed_percent, 0);
        assert!(!not_started.behind);
    }
}
