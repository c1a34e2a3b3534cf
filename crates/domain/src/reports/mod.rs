//! Reports of harm to a child (强制报告, 12345, walk-ins, calls, a danger found on a visit,
//! the public): what a report must say, how urgent it is, which are sealed; and the
//! referrals and cases they lead to (referral.rs, case.rs).

pub mod case;
pub mod referral;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::child::{parse_person_name, parse_phone};
use crate::coded::coded_enum;
use crate::{IdNumber, Invalid};

coded_enum!(
    /// 来源: how a report came in.
    Channel {
        /// 强制报告: a school, kindergarten, hospital, welfare or rescue institution, hotel,
        /// village committee... (未保法 Art. 11)
        Mandatory = ("mandatory", "强制报告"),
        /// A 12345 hotline work order.
        Hotline = ("hotline", "12345热线"),
        WalkIn = ("walk_in", "来访"),
        Phone = ("phone", "来电"),
        /// A danger found on a home visit (opened automatically).
        Visit = ("visit", "走访发现"),
        /// A unit's own discovery.
        Unit = ("unit", "部门发现"),
        /// The public report page (no account; may be anonymous).
        Public = ("public", "群众举报"),
    }
);

coded_enum!(
    /// The nine situations of the mandatory-reporting rules (九部门《关于建立侵害未成年人
    /// 案件强制报告制度的意见（试行）》), and what else people report.
    Situation {
        PrivateInjury = ("s1", "生殖器官或隐私部位遭受或疑似遭受非正常损伤"),
        GirlUnder14 = ("s2", "不满十四周岁的女性遭受或疑似遭受性侵害、怀孕、流产"),
        GirlOver14 = ("s3", "十四周岁以上女性疑似遭受性侵害导致怀孕、流产"),
        Abuse = ("s4", "身体多处损伤、严重营养不良、意识不清，疑似遭受家庭暴力、欺凌、虐待、殴打或被人麻醉"),
        SeriousHarm = ("s5", "因自杀、自残、工伤、中毒、被人麻醉、殴打等非正常原因导致伤残、死亡"),
        Neglect = ("s6", "被遗弃或长期处于无人照料状态"),
        Missing = ("s7", "来源不明、失踪或被拐卖、收买"),
        Begging = ("s8", "被组织乞讨"),
        OtherSerious = ("s9", "其他严重侵害未成年人身心健康或存在重大安全隐患"),
        Hardship = ("hardship", "困难求助"),
        Policy = ("policy", "政策咨询"),
        Other = ("other", "其他"),
    }
);

impl Situation {
    /// One of the nine mandatory-reporting situations.
    pub fn is_harm(self) -> bool {
        !matches!(
            self,
            Situation::Hardship | Situation::Policy | Situation::Other
        )
    }

    /// Sexual harm: the report and any case from it are sealed (only named users read
    /// them).
    pub fn is_sexual(self) -> bool {
        matches!(
            self,
            Situation::PrivateInjury | Situation::GirlUnder14 | Situation::GirlOver14
        )
    }
}

coded_enum!(
    /// 紧急程度
    Urgency {
        /// Immediate danger: to the police at once; on top of every office screen until
        /// acknowledged.
        Urgent = ("urgent", "紧急"),
        Priority = ("priority", "优先"),
        Normal = ("normal", "一般"),
    }
);

impl Urgency {
    /// For sorting: urgent first.
    pub fn rank(self) -> i32 {
        match self {
            Urgency::Urgent => 2,
            Urgency::Priority => 1,
            Urgency::Normal => 0,
        }
    }
}

coded_enum!(
    /// The kind of institution that filed a mandatory report.
    Institution {
        School = ("school", "学校"),
        Kindergarten = ("kindergarten", "幼儿园"),
        Hospital = ("hospital", "医疗机构"),
        Welfare = ("welfare", "儿童福利机构"),
        Rescue = ("rescue", "救助管理机构"),
        Hotel = ("hotel", "宾馆等住宿经营者"),
        VillageCommittee = ("village_committee", "村（居）民委员会"),
        Training = ("training", "校外培训机构"),
        Childcare = ("childcare", "托育机构"),
        SocialWork = ("social_work", "社会工作服务机构"),
        Other = ("other", "其他单位"),
    }
);

coded_enum!(
    /// A report's state.
    ReportState {
        New = ("new", "待研判"),
        Triaged = ("triaged", "已研判"),
        Referred = ("referred", "已转介"),
        InCase = ("in_case", "已立案"),
        Replied = ("replied", "已答复"),
        Closed = ("closed", "已办结"),
        Merged = ("merged", "已合并"),
    }
);

impl ReportState {
    /// Still being worked on.
    pub fn is_open(self) -> bool {
        !matches!(self, ReportState::Closed | ReportState::Merged)
    }
}

/// Who reported, as given (all optional: the public may stay anonymous).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reporter {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The reporting institution or unit (学校名称, 医院名称...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution: Option<Institution>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
    #[serde(default)]
    pub anonymous: bool,
}

impl Reporter {
    /// What a reader without the right to know the reporter sees (反家暴法 Art. 14: the
    /// reporter's identity is kept confidential): the kind of reporter only.
    pub fn masked(&self) -> Reporter {
        Reporter {
            name: if self.name.is_empty() && !self.anonymous {
                String::new()
            } else {
                "（保密）".into()
            },
            unit: if self.unit.is_empty() {
                String::new()
            } else {
                "（保密）".into()
            },
            institution: self.institution,
            phone: String::new(),
            anonymous: self.anonymous,
        }
    }
}

/// What is known of a child not (yet) linked to the ledger: matched and merged later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildHint {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// 男 or 女, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sex: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<u32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_number: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub school: String,
    /// Guardians, family, anything else that helps find the child.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub other: String,
}

/// A report as sent, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub channel: Option<String>,
    pub situations: Vec<String>,
    pub urgency: Option<String>,
    pub description: String,
    pub place: Option<String>,
    /// When the harm was discovered (a date or a time); default: when reported.
    pub discovered_at: Option<String>,
    pub child: ChildHint,
    pub reporter: Reporter,
}

/// A checked report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub channel: Channel,
    pub situations: Vec<Situation>,
    pub urgency: Urgency,
    pub description: String,
    pub place: String,
    pub discovered_at: DateTime<FixedOffset>,
    pub child: ChildHint,
    pub reporter: Reporter,
}

/// A refused field of a report: its name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError {
    pub field: &'static str,
    pub invalid: Invalid,
}

fn refuse(field: &'static str, code: &'static str, message: impl Into<String>) -> ReportError {
    ReportError {
        field,
        invalid: Invalid::new(code, message),
    }
}

/// At most this many characters of a report's description.
pub const MAX_DESCRIPTION: usize = 5000;

/// A text of at most `max` characters as sent (the API document says the same), trimmed.
fn text(field: &'static str, label: &str, s: &str, max: usize) -> Result<String, ReportError> {
    let n = s.chars().count();
    if n > max {
        return Err(refuse(
            field,
            "too_long",
            format!("{label}最多 {max} 字，实际为 {n} 字"),
        ));
    }
    Ok(s.trim().to_string())
}

impl ReportInput {
    /// Checks a report. `now` is when it is received; `channel` fixes the channel where
    /// the caller decides it (the public page, a visit), else the input's is used.
    pub fn check(
        self,
        now: DateTime<FixedOffset>,
        channel: Option<Channel>,
    ) -> Result<Report, ReportError> {
        let channel = match (channel, self.channel.as_deref().map(str::trim)) {
            (Some(c), _) => c,
            (None, Some(s)) if !s.is_empty() => Channel::parse(s).ok_or_else(|| {
                refuse(
                    "channel",
                    "choice",
                    format!("来源“{s}”无法识别，可选：{}", Channel::codes().join("、")),
                )
            })?,
            _ => return Err(refuse("channel", "required", "请选择报告来源")),
        };
        let mut situations = Vec::new();
        for s in &self.situations {
            let v = Situation::parse(s).ok_or_else(|| {
                refuse(
                    "situations",
                    "choice",
                    format!(
                        "情形“{}”无法识别，可选：{}",
                        s.trim(),
                        Situation::codes().join("、")
                    ),
                )
            })?;
            if !situations.contains(&v) {
                situations.push(v);
            }
        }
        if situations.is_empty() {
            return Err(refuse(
                "situations",
                "required",
                "请至少选择一种情形（九种强制报告情形，或困难求助、政策咨询、其他）",
            ));
        }
        situations.sort();
        let description = text(
            "description",
            "情况描述",
            &self.description,
            MAX_DESCRIPTION,
        )?;
        if description.is_empty() {
            return Err(refuse(
                "description",
                "required",
                "请写明发生了什么：谁、何时、何地、孩子现在的情况",
            ));
        }
        let place = text("place", "地点", self.place.as_deref().unwrap_or(""), 200)?;
        let urgency = match self
            .urgency
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => Urgency::parse(s).ok_or_else(|| {
                refuse(
                    "urgency",
                    "choice",
                    format!(
                        "紧急程度“{s}”无法识别，可选：{}",
                        Urgency::codes().join("、")
                    ),
                )
            })?,
            None if situations.iter().any(|s| s.is_harm()) => Urgency::Priority,
            None => Urgency::Normal,
        };
        let discovered_at = match self.discovered_at.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => {
                let t = parse_moment(s).ok_or_else(|| {
                    refuse(
                        "discovered_at",
                        "date",
                        format!("发现时间“{s}”无法识别：请写成 2026-11-20 或 2026-11-20 14:30"),
                    )
                })?;
                if t > now {
                    return Err(refuse("discovered_at", "future", "发现时间不能晚于现在"));
                }
                t
            }
            _ => now,
        };
        let mut child = self.child;
        child.name = text("child.name", "儿童姓名", &child.name, 30)?;
        if !child.name.is_empty() {
            child.name = parse_person_name("儿童姓名", &child.name).map_err(|e| ReportError {
                field: "child.name",
                invalid: e,
            })?;
        }
        child.sex = match child.sex.trim() {
            "" => String::new(),
            "男" | "male" => "男".into(),
            "女" | "female" => "女".into(),
            other => {
                return Err(refuse(
                    "child.sex",
                    "choice",
                    format!("儿童性别“{other}”应为“男”或“女”，不清楚可不填"),
                ))
            }
        };
        if child.age.is_some_and(|a| a > 17) {
            return Err(refuse(
                "child.age",
                "range",
                "儿童年龄应在 0 到 17 岁之间（已满 18 岁不属于未成年人）",
            ));
        }
        child.id_number = match child.id_number.trim() {
            "" => String::new(),
            s => IdNumber::parse(s, now.date_naive())
                .map_err(|e| ReportError {
                    field: "child.id_number",
                    invalid: e,
                })?
                .to_string(),
        };
        child.school = text("child.school", "学校", &child.school, 100)?;
        child.other = text("child.other", "其他线索", &child.other, 1000)?;
        let mut reporter = self.reporter;
        reporter.name = text("reporter.name", "报告人姓名", &reporter.name, 30)?;
        reporter.unit = text("reporter.unit", "报告单位", &reporter.unit, 100)?;
        reporter.phone = match reporter.phone.trim() {
            "" => String::new(),
            s => parse_phone("报告人电话", s).map_err(|e| ReportError {
                field: "reporter.phone",
                invalid: e,
            })?,
        };
        if channel == Channel::Mandatory {
            if reporter.institution.is_none() {
                return Err(refuse(
                    "reporter.institution",
                    "required",
                    "强制报告请选择报告单位的类别（学校、幼儿园、医疗机构……）",
                ));
            }
            if reporter.unit.is_empty() {
                return Err(refuse(
                    "reporter.unit",
                    "required",
                    "强制报告请填写报告单位名称",
                ));
            }
        }
        if reporter.anonymous && channel != Channel::Public && channel != Channel::Hotline {
            return Err(refuse(
                "reporter.anonymous",
                "not_anonymous",
                "只有群众举报和12345热线可以匿名；其他来源请填写报告人",
            ));
        }
        if reporter.anonymous {
            reporter.name.clear();
            reporter.phone.clear();
        }
        Ok(Report {
            channel,
            situations,
            urgency,
            description,
            place,
            discovered_at,
            child,
            reporter,
        })
    }
}

impl Report {
    /// Sexual harm: sealed from the start.
    pub fn sealed(&self) -> bool {
        self.situations.iter().any(|s| s.is_sexual())
    }
}

/// A moment as people write it: RFC 3339, "YYYY-MM-DD HH:MM" or a date (noon), Beijing time.
pub fn parse_moment(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = crate::visit::parse_visit_time(s) {
        return Some(t);
    }
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    d.and_hms_opt(12, 0, 0)?
        .and_local_timezone(crate::visit::cst())
        .single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap()
    }

    fn input() -> ReportInput {
        ReportInput {
            channel: Some("mandatory".into()),
            situations: vec!["s4".into()],
            description: "学生身上多处淤青，自述被继父殴打".into(),
            reporter: Reporter {
                name: "王老师".into(),
                unit: "朝天镇中心小学".into(),
                institution: Some(Institution::School),
                phone: "138 1234 5678".into(),
                anonymous: false,
            },
            ..ReportInput::default()
        }
    }

    #[test]
    fn a_mandatory_report_is_checked_and_defaults_to_priority() {
        let r = input().check(now(), None).unwrap();
        assert_eq!(r.channel, Channel::Mandatory);
        assert_eq!(r.urgency, Urgency::Priority);
        assert_eq!(r.reporter.phone, "13812345678");
        assert_eq!(r.discovered_at, now());
        assert!(!r.sealed());
        let help = ReportInput {
            channel: Some("phone".into()),
            situations: vec!["hardship".into()],
            description: "奶奶生病，孩子无人照看".into(),
            ..ReportInput::default()
        };
        assert_eq!(help.check(now(), None).unwrap().urgency, Urgency::Normal);
    }

    #[test]
    fn sexual_harm_is_sealed() {
        let mut i = input();
        i.situations = vec!["s9".into(), "s2".into()];
        let r = i.check(now(), None).unwrap();
        assert!(r.sealed());
        assert_eq!(
            r.situations,
            vec![Situation::GirlUnder14, Situation::OtherSerious]
        );
    }

    #[test]
    fn bad_reports_are_refused_naming_the_field() {
        type Change = Box<dyn Fn(&mut ReportInput)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|i| i.situations.clear()), "situations"),
            (
                Box::new(|i| i.situations = vec!["s10".into()]),
                "situations",
            ),
            (Box::new(|i| i.description = "  ".into()), "description"),
            (
                Box::new(|i| i.reporter.institution = None),
                "reporter.institution",
            ),
            (Box::new(|i| i.reporter.unit.clear()), "reporter.unit"),
            (
                Box::new(|i| i.reporter.anonymous = true),
                "reporter.anonymous",
            ),
            (
                Box::new(|i| i.reporter.phone = "12345".into()),
                "reporter.phone",
            ),
            (Box::new(|i| i.child.age = Some(18)), "child.age"),
            (Box::new(|i| i.child.sex = "x".into()), "child.sex"),
            (
                Box::new(|i| i.child.id_number = "510812".into()),
                "child.id_number",
            ),
            (
                Box::new(|i| i.discovered_at = Some("2026-12-01".into())),
                "discovered_at",
            ),
            (
                Box::new(|i| i.discovered_at = Some("昨天".into())),
                "discovered_at",
            ),
            (Box::new(|i| i.channel = Some("fax".into())), "channel"),
            (Box::new(|i| i.urgency = Some("very".into())), "urgency"),
            (
                Box::new(|i| i.description = "字".repeat(5001)),
                "description",
            ),
        ];
        for (change, field) in cases {
            let mut i = input();
            change(&mut i);
            let e = i.check(now(), None).unwrap_err();
            assert_eq!(e.field, field, "{}", e.invalid.message);
            assert!(!e.invalid.message.is_empty());
        }
    }

    #[test]
    fn the_public_may_stay_anonymous_and_their_name_is_then_dropped() {
        let i = ReportInput {
            situations: vec!["s6".into()],
            description: "邻居家孩子常年一个人在家".into(),
            reporter: Reporter {
                name: "某人".into(),
                phone: "13800000000".into(),
                anonymous: true,
                ..Reporter::default()
            },
            ..ReportInput::default()
        };
        let r = i.check(now(), Some(Channel::Public)).unwrap();
        assert!(r.reporter.anonymous && r.reporter.name.is_empty() && r.reporter.phone.is_empty());
        let masked = input().check(now(), None).unwrap().reporter.masked();
        assert_eq!(masked.name, "（保密）");
        assert_eq!(masked.unit, "（保密）");
        assert!(masked.phone.is_empty());
        assert_eq!(masked.institution, Some(Institution::School));
    }
}
