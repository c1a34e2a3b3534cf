//! Home visits (入户探访): the visit record a director or supervisor fills in, and the
//! visit policy that says when each child is next due.
//!
//! The policy is local configuration with effective dates (domain.md, "Visits"): how often
//! a child must be visited by category and risk, the first visit of a newly registered
//! child, and the follow-up after a finding of danger. Each child's next-due date is a pure
//! function of the policy, the child's categories and risk, and the last visit.

use chrono::{DateTime, Duration, FixedOffset, Months, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::child::{labelled_enum, Category, CategorySet, Risk};
use crate::error::Invalid;
use crate::record::FieldError;

/// At most this many photos per visit.
pub const MAX_PHOTOS: usize = 6;
/// Free-text fields are cut off here (characters).
pub const MAX_TEXT: usize = 2000;
/// A visit may be recorded this long after it happened (paper forms typed in later).
pub const MAX_BACKDATE_DAYS: i64 = 90;
/// Phones' clocks run fast: a visit time this far ahead of the server is still "now".
pub const CLOCK_SKEW_MINUTES: i64 = 10;

labelled_enum!(
    /// 探访方式
    VisitMethod {
        Home = "入户",
        Phone = "电话",
        Video = "视频",
        School = "到校",
        Other = "其他",
    }
);

labelled_enum!(
    /// 在场人员
    Present {
        Child = "儿童本人",
        Guardian = "监护人",
        Caregiver = "实际照料人",
        Parent = "父母",
        Teacher = "老师",
        Other = "其他",
    }
);

labelled_enum!(
    /// 探访检查项
    CheckItem {
        Living = "生活",
        Schooling = "就学",
        Health = "健康",
        Mind = "心理",
        Safety = "安全",
        Guardianship = "监护",
        /// 留守儿童: the parents contact the child at least once a week (未保法 Art. 23)
        ParentContact = "父母每周联系",
    }
);

labelled_enum!(
    /// A check item's finding.
    Finding {
        Normal = "正常",
        /// 需关注: something to watch or help with
        Attention = "关注",
        Danger = "危险",
    }
);

impl CheckItem {
    /// The items every visit answers (父母每周联系 only for left-behind children).
    pub const CORE: [CheckItem; 6] = [
        CheckItem::Living,
        CheckItem::Schooling,
        CheckItem::Health,
        CheckItem::Mind,
        CheckItem::Safety,
        CheckItem::Guardianship,
    ];

    /// A finding of danger on this item needs action (an alert and a follow-up).
    pub fn danger_needs_action(self) -> bool {
        matches!(self, CheckItem::Safety | CheckItem::Guardianship)
    }
}

/// One answered check item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub item: CheckItem,
    pub finding: Finding,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// Where the visit was recorded (the phone's position, when the visitor allows it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

/// A visit as recorded (one version of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitRecord {
    /// When the visit happened, in China Standard Time.
    pub visited_at: DateTime<FixedOffset>,
    pub method: VisitMethod,
    pub duration_minutes: u32,
    pub present: Vec<Present>,
    /// 实际照料人: who actually looks after the child (e.g. 祖母).
    pub caregiver: String,
    /// 书面委托: the parents have entrusted care in writing (None: not asked / not applicable).
    pub entrustment: Option<bool>,
    pub checks: Vec<Check>,
    pub needs: String,
    pub help_given: String,
    pub referral: String,
    pub risk_after: Risk,
    pub next_visit: Option<NaiveDate>,
    pub notes: String,
    /// Ids of photos uploaded for this child.
    pub photos: Vec<String>,
    pub location: Option<Location>,
}

impl VisitRecord {
    pub fn visited_on(&self) -> NaiveDate {
        self.visited_at.date_naive()
    }

    /// A finding of danger on 安全 or 监护: the visit needs action.
    pub fn danger(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.finding == Finding::Danger && c.item.danger_needs_action())
    }

    pub fn finding(&self, item: CheckItem) -> Option<Finding> {
        self.checks
            .iter()
            .find(|c| c.item == item)
            .map(|c| c.finding)
    }
}

/// China Standard Time: visits are dated as people there see the clock.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// What the visit form or API sends: every field optional, so that one type serves a new
/// visit (missing fields take their defaults) and a correction (missing fields keep their
/// values).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    /// RFC 3339, or "YYYY-MM-DDTHH:MM" / "YYYY-MM-DD HH:MM" in China Standard Time.
    pub visited_at: Option<String>,
    pub method: Option<String>,
    pub duration_minutes: Option<u32>,
    pub present: Option<Vec<String>>,
    pub caregiver: Option<String>,
    pub entrustment: Option<bool>,
    pub checks: Option<Vec<CheckInput>>,
    pub needs: Option<String>,
    pub help_given: Option<String>,
    pub referral: Option<String>,
    pub risk_after: Option<String>,
    pub next_visit: Option<String>,
    pub notes: Option<String>,
    pub photos: Option<Vec<String>>,
    pub location: Option<Location>,
}

/// One check item as sent: `{"item":"安全","finding":"正常","note":""}`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckInput {
    pub item: String,
    pub finding: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// What validation needs to know about the child and the moment.
#[derive(Debug, Clone, Copy)]
pub struct VisitContext {
    pub now: DateTime<FixedOffset>,
    /// The child is 农村留守儿童: 父母每周联系 must be answered.
    pub left_behind: bool,
    /// The child's risk before the visit (the default of `risk_after`).
    pub risk: Risk,
}

fn refuse(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        invalid: Invalid::new(code, message),
    }
}

fn options<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> String {
    all.iter().map(|v| name(*v)).collect::<Vec<_>>().join("、")
}

fn text(field: &str, label: &str, input: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(s) = input else { return Ok(None) };
    let s = s.trim().to_string();
    if s.chars().count() > MAX_TEXT {
        return Err(refuse(
            field,
            "too_long",
            format!("{label}不能超过 {MAX_TEXT} 字，请精简后再提交"),
        ));
    }
    Ok(Some(s))
}

/// Parses a visit time: RFC 3339 with an offset, or a local time in China Standard Time.
pub fn parse_visit_time(input: &str) -> Result<DateTime<FixedOffset>, FieldError> {
    let s = input.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&cst()));
    }
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(local) = chrono::NaiveDateTime::parse_from_str(s, format) {
            if let Some(t) = local.and_local_timezone(cst()).single() {
                return Ok(t);
            }
        }
    }
    Err(refuse(
        "visited_at",
        "datetime_format",
        format!("探访时间“{s}”无法识别，请写成 2026-11-23 14:30 这样的格式"),
    ))
}

impl VisitInput {
    /// Builds the record: a new visit when `base` is None, else a corrected version of it.
    pub fn apply(
        self,
        base: Option<&VisitRecord>,
        ctx: &VisitContext,
    ) -> Result<VisitRecord, FieldError> {
        let visited_at = match self.visited_at.as_deref() {
            Some(s) if !s.trim().is_empty() => parse_visit_time(s)?,
            _ => base.map(|b| b.visited_at).unwrap_or(ctx.now),
        };
        if visited_at > ctx.now + Duration::minutes(CLOCK_SKEW_MINUTES) {
            return Err(refuse(
                "visited_at",
                "in_future",
                "探访时间晚于现在，请检查手机时间或改为实际探访的时间",
            ));
        }
        if visited_at < ctx.now - Duration::days(MAX_BACKDATE_DAYS) {
            return Err(refuse(
                "visited_at",
                "too_old",
                format!("只能补录 {MAX_BACKDATE_DAYS} 天内的探访，请核对探访日期"),
            ));
        }
        let method = match self.method.as_deref() {
            Some(s) if !s.trim().is_empty() => VisitMethod::parse_label(s).ok_or_else(|| {
                refuse(
                    "method",
                    "choice",
                    format!(
                        "探访方式“{}”无法识别，可选：{}",
                        s.trim(),
                        options(VisitMethod::ALL, VisitMethod::label)
                    ),
                )
            })?,
            _ => base.map(|b| b.method).unwrap_or(VisitMethod::Home),
        };
        let duration_minutes = match self.duration_minutes {
            Some(m) => m,
            None => match base {
                Some(b) => b.duration_minutes,
                None => {
                    return Err(refuse(
                        "duration_minutes",
                        "required",
                        "请填写探访时长（分钟）",
                    ))
                }
            },
        };
        if !(1..=600).contains(&duration_minutes) {
            return Err(refuse(
                "duration_minutes",
                "out_of_range",
                "探访时长应在 1 到 600 分钟之间",
            ));
        }
        let present = match self.present {
            Some(list) => {
                let mut out = Vec::new();
                for p in list {
                    let v = Present::parse_label(&p).ok_or_else(|| {
                        refuse(
                            "present",
                            "choice",
                            format!(
                                "在场人员“{}”无法识别，可选：{}",
                                p.trim(),
                                options(Present::ALL, Present::label)
                            ),
                        )
                    })?;
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                out
            }
            None => base.map(|b| b.present.clone()).unwrap_or_default(),
        };
        let checks = match self.checks {
            Some(list) => parse_checks(list)?,
            None => base.map(|b| b.checks.clone()).unwrap_or_default(),
        };
        let required = CheckItem::CORE
            .iter()
            .copied()
            .chain(ctx.left_behind.then_some(CheckItem::ParentContact));
        for item in required {
            if !checks.iter().any(|c| c.item == item) {
                return Err(refuse(
                    "checks",
                    "check_missing",
                    format!(
                        "检查项“{}”未填写，请选择{}",
                        item.label(),
                        options(Finding::ALL, Finding::label)
                    ),
                ));
            }
        }
        let risk_after = match self.risk_after.as_deref() {
            Some(s) if !s.trim().is_empty() => Risk::parse_label(s).ok_or_else(|| {
                refuse(
                    "risk_after",
                    "choice",
                    format!(
                        "探访后风险等级“{}”无法识别，可选：{}",
                        s.trim(),
                        options(Risk::ALL, Risk::label)
                    ),
                )
            })?,
            _ => base.map(|b| b.risk_after).unwrap_or(ctx.risk),
        };
        let next_visit = match self.next_visit.as_deref() {
            Some(s) if !s.trim().is_empty() => {
                Some(crate::record::parse_date("next_visit", "下次探访日期", s)?)
            }
            Some(_) => None,
            None => base.and_then(|b| b.next_visit),
        };
        if let Some(next) = next_visit {
            if next < visited_at.date_naive() {
                return Err(refuse(
                    "next_visit",
                    "before_visit",
                    "下次探访日期不能早于本次探访日期",
                ));
            }
            if next > visited_at.date_naive() + Duration::days(366) {
                return Err(refuse(
                    "next_visit",
                    "too_far",
                    "下次探访日期不能晚于一年以后，请按探访周期安排",
                ));
            }
        }
        let photos = match self.photos {
            Some(p) => p,
            None => base.map(|b| b.photos.clone()).unwrap_or_default(),
        };
        if photos.len() > MAX_PHOTOS {
            return Err(refuse(
                "photos",
                "too_many",
                format!("每次探访最多 {MAX_PHOTOS} 张照片，请删去多余的照片"),
            ));
        }
        let location = self.location.or(base.and_then(|b| b.location));
        if let Some(l) = location {
            let finite = l.lat.is_finite() && l.lon.is_finite();
            if !finite || !(-90.0..=90.0).contains(&l.lat) || !(-180.0..=180.0).contains(&l.lon) {
                return Err(refuse(
                    "location",
                    "out_of_range",
                    "位置的经纬度超出范围，请重新定位或不附位置",
                ));
            }
        }
        let keep = |new: Option<String>, old: Option<&String>| {
            new.or_else(|| old.cloned()).unwrap_or_default()
        };
        Ok(VisitRecord {
            visited_at,
            method,
            duration_minutes,
            present,
            caregiver: keep(
                text("caregiver", "实际照料人", self.caregiver)?,
                base.map(|b| &b.caregiver),
            ),
            entrustment: self.entrustment.or(base.and_then(|b| b.entrustment)),
            checks,
            needs: keep(
                text("needs", "发现的需求", self.needs)?,
                base.map(|b| &b.needs),
            ),
            help_given: keep(
                text("help_given", "提供的帮助", self.help_given)?,
                base.map(|b| &b.help_given),
            ),
            referral: keep(
                text("referral", "转介情况", self.referral)?,
                base.map(|b| &b.referral),
            ),
            risk_after,
            next_visit,
            notes: keep(text("notes", "备注", self.notes)?, base.map(|b| &b.notes)),
            photos,
            location,
        })
    }
}

fn parse_checks(list: Vec<CheckInput>) -> Result<Vec<Check>, FieldError> {
    let mut out: Vec<Check> = Vec::new();
    for c in list {
        let item = CheckItem::parse_label(&c.item).ok_or_else(|| {
            refuse(
                "checks",
                "choice",
                format!(
                    "检查项“{}”无法识别，可选：{}",
                    c.item.trim(),
                    options(CheckItem::ALL, CheckItem::label)
                ),
            )
        })?;
        let finding = Finding::parse_label(&c.finding).ok_or_else(|| {
            refuse(
                "checks",
                "choice",
                format!(
                    "检查项“{}”的结果“{}”无法识别，可选：{}",
                    item.label(),
                    c.finding.trim(),
                    options(Finding::ALL, Finding::label)
                ),
            )
        })?;
        let note = text("checks", "检查项说明", c.note)?.unwrap_or_default();
        if out.iter().any(|o| o.item == item) {
            return Err(refuse(
                "checks",
                "duplicate",
                format!("检查项“{}”填了两次，请只保留一个结果", item.label()),
            ));
        }
        out.push(Check {
            item,
            finding,
            note,
        });
    }
    Ok(out)
}

/// A visit interval: a number of days or of calendar months ("14d", "1m").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Days(u32),
    Months(u32),
}

impl Period {
    pub fn after(self, date: NaiveDate) -> NaiveDate {
        match self {
            Period::Days(d) => date + Duration::days(i64::from(d)),
            Period::Months(m) => date
                .checked_add_months(Months::new(m))
                .unwrap_or(NaiveDate::MAX),
        }
    }

    pub fn parse(input: &str) -> Result<Period, Invalid> {
        let s = input.trim();
        let bad = || {
            Invalid::new(
                "period_format",
                format!("探访周期“{s}”无法识别，请写成天数或月数，如 14d、1m、3m"),
            )
        };
        let (num, unit) = s.split_at(s.len().saturating_sub(1));
        let n: u32 = num.parse().map_err(|_| bad())?;
        match unit {
            "d" if (1..=366).contains(&n) => Ok(Period::Days(n)),
            "m" if (1..=12).contains(&n) => Ok(Period::Months(n)),
            _ => Err(bad()),
        }
    }

    /// "每月", "每 3 个月", "每 14 天"
    pub fn label(self) -> String {
        match self {
            Period::Months(1) => "每月".to_string(),
            Period::Months(m) => format!("每 {m} 个月"),
            Period::Days(d) => format!("每 {d} 天"),
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Days(d) => write!(f, "{d}d"),
            Period::Months(m) => write!(f, "{m}m"),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        let s = String::deserialize(d)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One line of the policy: children with any of `categories` (empty: any child) and a risk
/// of at least `min_risk` are visited `every` so often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRule {
    #[serde(default)]
    pub categories: Vec<Category>,
    #[serde(default)]
    pub min_risk: Option<Risk>,
    pub every: Period,
}

impl VisitRule {
    fn matches(&self, categories: CategorySet, risk: Risk) -> bool {
        (self.categories.is_empty() || self.categories.iter().any(|c| categories.contains(*c)))
            && self.min_risk.is_none_or(|m| risk >= m)
    }
}

/// The visit policy in force from a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitPolicy {
    pub effective_from: NaiveDate,
    /// Rules only shorten the interval: the shortest of the matching rules applies.
    pub rules: Vec<VisitRule>,
    /// Every child in the ledger is visited at least this often, whatever the rules say
    /// (so a new category or a higher risk can never postpone a visit).
    pub default_every: Period,
    /// A newly registered child is visited within this many days.
    pub first_visit_days: u32,
    /// A finding of danger is followed up within this many days.
    pub danger_followup_days: u32,
}

impl Default for VisitPolicy {
    /// domain.md: 高 risk, 孤儿, 事实无人抚养, 困境: monthly; other 留守 (and everyone else):
    /// quarterly; first visit within 7 days; a follow-up within 3 days after danger.
    fn default() -> Self {
        VisitPolicy {
            effective_from: NaiveDate::from_ymd_opt(2019, 1, 1).expect("valid date"),
            rules: vec![
                VisitRule {
                    categories: Vec::new(),
                    min_risk: Some(Risk::High),
                    every: Period::Months(1),
                },
                VisitRule {
                    categories: vec![
                        Category::Orphan,
                        Category::FactuallyUnsupported,
                        Category::Distressed,
                        Category::KeyDistressed,
                    ],
                    min_risk: None,
                    every: Period::Months(1),
                },
                VisitRule {
                    categories: vec![Category::RuralLeftBehind],
                    min_risk: None,
                    every: Period::Months(3),
                },
            ],
            default_every: Period::Months(3),
            first_visit_days: 7,
            danger_followup_days: 3,
        }
    }
}

impl VisitPolicy {
    /// Checks a configured policy (from `weibao settings set visit_policy`).
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(1..=30).contains(&self.first_visit_days) {
            return Err(Invalid::new(
                "first_visit_days",
                "新登记儿童首次探访期限（first_visit_days）应为 1 到 30 天",
            ));
        }
        if !(1..=14).contains(&self.danger_followup_days) {
            return Err(Invalid::new(
                "danger_followup_days",
                "危险情形复访期限（danger_followup_days）应为 1 到 14 天",
            ));
        }
        Ok(())
    }

    /// How often a child with these categories and risk is visited: the shortest of the
    /// default and the intervals of the rules that match.
    pub fn interval(&self, categories: CategorySet, risk: Risk) -> Period {
        let probe = NaiveDate::from_ymd_opt(2001, 1, 1).expect("valid date");
        self.rules
            .iter()
            .filter(|r| r.matches(categories, risk))
            .map(|r| r.every)
            .chain([self.default_every])
            .min_by_key(|p| p.after(probe))
            .expect("the default is always there")
    }

    /// The regular due date after a visit on `last`: the earliest of the default and the
    /// matching rules' intervals counted from that day. (Which interval is shortest can
    /// depend on the day: 4 months is 120 days from January 1 and 123 from May 1.)
    pub fn next_after(&self, categories: CategorySet, risk: Risk, last: NaiveDate) -> NaiveDate {
        self.rules
            .iter()
            .filter(|r| r.matches(categories, risk))
            .map(|r| r.every.after(last))
            .chain([self.default_every.after(last)])
            .min()
            .expect("the default is always there")
    }

    /// When the child is next due, and why.
    pub fn due(&self, facts: &ScheduleFacts) -> Due {
        let Some(last) = facts.last_visit else {
            return Due {
                on: facts.registered_on + Duration::days(i64::from(self.first_visit_days)),
                reason: DueReason::First,
            };
        };
        let mut due = Due {
            on: self.next_after(facts.categories, facts.risk, last.on),
            reason: DueReason::Regular,
        };
        if last.danger {
            let followup = last.on + Duration::days(i64::from(self.danger_followup_days));
            if followup < due.on {
                due = Due {
                    on: followup,
                    reason: DueReason::Followup,
                };
            }
        }
        if let Some(planned) = last.planned {
            if planned > last.on && planned < due.on {
                due = Due {
                    on: planned,
                    reason: DueReason::Planned,
                };
            }
        }
        due
    }
}

/// The versions of the policy over time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBook {
    versions: Vec<VisitPolicy>,
}

impl PolicyBook {
    /// With no versions, holds the defaults.
    pub fn new(mut versions: Vec<VisitPolicy>) -> PolicyBook {
        if versions.is_empty() {
            versions.push(VisitPolicy::default());
        }
        versions.sort_by_key(|v| v.effective_from);
        PolicyBook { versions }
    }

    /// The latest version in force on `date` (the earliest for dates before all).
    pub fn on(&self, date: NaiveDate) -> &VisitPolicy {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_from <= date)
            .unwrap_or(&self.versions[0])
    }
}

/// The last visit, as far as scheduling cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastVisit {
    pub on: NaiveDate,
    /// A finding of danger on 安全 or 监护.
    pub danger: bool,
    /// The next visit date the visitor agreed with the family.
    pub planned: Option<NaiveDate>,
}

/// What scheduling needs to know about a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleFacts {
    pub categories: CategorySet,
    pub risk: Risk,
    pub registered_on: NaiveDate,
    pub last_visit: Option<LastVisit>,
}

labelled_enum!(
    /// Why a child is due.
    DueReason {
        First = "首次探访",
        Followup = "危险复访",
        Regular = "定期探访",
        Planned = "约定复访",
    }
);

impl DueReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DueReason::First => "first",
            DueReason::Followup => "followup",
            DueReason::Regular => "regular",
            DueReason::Planned => "planned",
        }
    }

    pub fn parse(s: &str) -> Option<DueReason> {
        DueReason::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

/// A child's next-due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub on: NaiveDate,
    pub reason: DueReason,
}

impl Due {
    /// Days past the due date on `today` (0 when not overdue).
    pub fn days_overdue(&self, today: NaiveDate) -> i64 {
        (today - self.on).num_days().max(0)
    }

    pub fn overdue(&self, today: NaiveDate) -> bool {
        today > self.on
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn now() -> DateTime<FixedOffset> {
        parse_visit_time("2026-11-23 15:00").unwrap()
    }

    fn all_checks(finding: &str) -> Vec<CheckInput> {
        CheckItem::CORE
            .iter()
            .map(|i| CheckInput {
                item: i.label().into(),
                finding: finding.into(),
                note: None,
            })
            .collect()
    }

    fn ctx(left_behind: bool) -> VisitContext {
        VisitContext {
            now: now(),
            left_behind,
            risk: Risk::Low,
        }
    }

    fn input() -> VisitInput {
        VisitInput {
            duration_minutes: Some(30),
            checks: Some(all_checks("正常")),
            ..VisitInput::default()
        }
    }

    #[test]
    fn common_case_needs_only_duration_and_checks() {
        let v = input().apply(None, &ctx(false)).unwrap();
        assert_eq!(v.method, VisitMethod::Home);
        assert_eq!(v.visited_at, now());
        assert_eq!(v.risk_after, Risk::Low);
        assert!(!v.danger());
    }

    #[test]
    fn danger_only_on_safety_or_guardianship() {
        let mut i = input();
        i.checks.as_mut().unwrap()[2].finding = "危险".into(); // 健康
        assert!(!i.clone().apply(None, &ctx(false)).unwrap().danger());
        i.checks.as_mut().unwrap()[4].finding = "危险".into(); // 安全
        assert!(i.apply(None, &ctx(false)).unwrap().danger());
    }

    #[test]
    fn refusals_name_the_field() {
        let cases: Vec<(VisitInput, &str, &str)> = vec![
            (
                VisitInput {
                    visited_at: Some("2026-11-24 09:00".into()),
                    ..input()
                },
                "visited_at",
                "in_future",
            ),
            (
                VisitInput {
                    visited_at: Some("2026-01-01 09:00".into()),
                    ..input()
                },
                "visited_at",
                "too_old",
            ),
            (
                VisitInput {
                    visited_at: Some("昨天".into()),
                    ..input()
                },
                "visited_at",
                "datetime_format",
            ),
            (
                VisitInput {
                    method: Some("上门".into()),
                    ..input()
                },
                "method",
                "choice",
            ),
            (
                VisitInput {
                    duration_minutes: None,
                    ..input()
                },
                "duration_minutes",
                "required",
            ),
            (
                VisitInput {
                    duration_minutes: Some(0),
                    ..input()
                },
                "duration_minutes",
                "out_of_range",
            ),
            (
                VisitInput {
                    checks: Some(all_checks("正常")[..5].to_vec()),
                    ..input()
                },
                "checks",
                "check_missing",
            ),
            (
                VisitInput {
                    checks: Some(all_checks("很好")),
                    ..input()
                },
                "checks",
                "choice",
            ),
            (
                VisitInput {
                    photos: Some(vec!["p".into(); 7]),
                    ..input()
                },
                "photos",
                "too_many",
            ),
            (
                VisitInput {
                    next_visit: Some("2026-11-01".into()),
                    ..input()
                },
                "next_visit",
                "before_visit",
            ),
            (
                VisitInput {
                    location: Some(Location {
                        lat: 91.0,
                        lon: 105.0,
                        accuracy_m: None,
                    }),
                    ..input()
                },
                "location",
                "out_of_range",
            ),
            (
                VisitInput {
                    notes: Some("长".repeat(MAX_TEXT + 1)),
                    ..input()
                },
                "notes",
                "too_long",
            ),
        ];
        for (i, field, code) in cases {
            let e = i.apply(None, &ctx(false)).unwrap_err();
            assert_eq!((e.field.as_str(), e.invalid.code), (field, code), "{e:?}");
            assert!(!e.invalid.message.is_ascii(), "{}", e.invalid.message);
        }
    }

    #[test]
    fn left_behind_children_answer_parent_contact() {
        let e = input().apply(None, &ctx(true)).unwrap_err();
        assert!(e.invalid.message.contains("父母每周联系"), "{e:?}");
        let mut i = input();
        i.checks.as_mut().unwrap().push(CheckInput {
            item: "父母每周联系".into(),
            finding: "关注".into(),
            note: Some("母亲一个月未联系".into()),
        });
        let v = i.apply(None, &ctx(true)).unwrap();
        assert_eq!(
            v.finding(CheckItem::ParentContact),
            Some(Finding::Attention)
        );
    }

    #[test]
    fn correction_keeps_what_it_does_not_change() {
        let first = VisitInput {
            notes: Some("祖母照料".into()),
            method: Some("电话".into()),
            ..input()
        }
        .apply(None, &ctx(false))
        .unwrap();
        let fixed = VisitInput {
            duration_minutes: Some(45),
            ..VisitInput::default()
        }
        .apply(Some(&first), &ctx(false))
        .unwrap();
        assert_eq!(fixed.duration_minutes, 45);
        assert_eq!(fixed.notes, "祖母照料");
        assert_eq!(fixed.method, VisitMethod::Phone);
        assert_eq!(fixed.visited_at, first.visited_at);
    }

    #[test]
    fn the_shortest_interval_is_chosen_on_the_day_of_the_visit() {
        // 4 months is 120 days from January 1 but 123 from May 1: a medium-risk child
        // visited on May 1 must not wait longer than a low-risk one (found by the property
        // test below).
        let p = VisitPolicy {
            effective_from: NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(),
            rules: vec![VisitRule {
                categories: Vec::new(),
                min_risk: Some(Risk::Medium),
                every: Period::Months(4),
            }],
            default_every: Period::Days(120),
            first_visit_days: 7,
            danger_followup_days: 3,
        };
        let last = NaiveDate::from_ymd_opt(2020, 5, 1).unwrap();
        let facts = |risk| ScheduleFacts {
            categories: CategorySet::default(),
            risk,
            registered_on: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            last_visit: Some(LastVisit {
                on: last,
                danger: false,
                planned: None,
            }),
        };
        let low = p.due(&facts(Risk::Low)).on;
        assert_eq!(low, last + Duration::days(120));
        assert_eq!(p.due(&facts(Risk::Medium)).on, low);
    }

    #[test]
    fn times_are_read_in_china_standard_time() {
        let t = parse_visit_time("2026-11-23T01:30:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-23T09:30:00+08:00");
        assert_eq!(
            parse_visit_time("2026-11-23T09:30").unwrap(),
            parse_visit_time("2026-11-23 09:30").unwrap()
        );
    }

    #[test]
    fn default_policy_follows_domain_md() {
        let p = VisitPolicy::default();
        let set = |cs: &[Category]| cs.iter().copied().collect::<CategorySet>();
        assert_eq!(
            p.interval(set(&[Category::Orphan]), Risk::Low),
            Period::Months(1)
        );
        assert_eq!(
            p.interval(set(&[Category::RuralLeftBehind]), Risk::Low),
            Period::Months(3)
        );
        assert_eq!(
            p.interval(set(&[Category::RuralLeftBehind]), Risk::High),
            Period::Months(1)
        );
        assert_eq!(
            p.interval(
                set(&[Category::RuralLeftBehind, Category::Distressed]),
                Risk::Low
            ),
            Period::Months(1)
        );
        assert_eq!(
            p.interval(CategorySet::default(), Risk::Medium),
            Period::Months(3)
        );
        let first = p.due(&ScheduleFacts {
            categories: set(&[Category::Orphan]),
            risk: Risk::Low,
            registered_on: d("2026-11-20"),
            last_visit: None,
        });
        assert_eq!(
            (first.on, first.reason),
            (d("2026-11-27"), DueReason::First)
        );
        // Month ends clamp: a monthly visit on 31 January is next due on 28 February.
        let jan = p.due(&ScheduleFacts {
            categories: set(&[Category::Orphan]),
            risk: Risk::Low,
            registered_on: d("2026-01-01"),
            last_visit: Some(LastVisit {
                on: d("2026-01-31"),
                danger: false,
                planned: None,
            }),
        });
        assert_eq!(jan.on, d("2026-02-28"));
    }

    #[test]
    fn policy_parses_from_settings_json() {
        let json = r#"{"effective_from":"2027-01-01","rules":[{"categories":["农村留守儿童"],"every":"2m"},{"min_risk":"中","every":"14d"}],"default_every":"6m","first_visit_days":5,"danger_followup_days":2}"#;
        let p: VisitPolicy = serde_json::from_str(json).unwrap();
        assert_eq!(p.rules[1].every, Period::Days(14));
        assert!(p.validate().is_ok());
        let bad = json.replace("\"14d\"", "\"2w\"");
        let e = serde_json::from_str::<VisitPolicy>(&bad).unwrap_err();
        assert!(e.to_string().contains("探访周期"), "{e}");
        let book = PolicyBook::new(vec![p.clone(), VisitPolicy::default()]);
        assert_eq!(book.on(d("2026-12-31")), &VisitPolicy::default());
        assert_eq!(book.on(d("2027-01-01")), &p);
    }

    fn any_categories() -> impl Strategy<Value = CategorySet> {
        any::<u32>().prop_map(|b| CategorySet::from_bits(b & ((1 << Category::ALL.len()) - 1)))
    }

    fn any_risk() -> impl Strategy<Value = Risk> {
        proptest::sample::select(Risk::ALL)
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..3650).prop_map(|n| d("2020-01-01") + Duration::days(n))
    }

    fn any_period() -> impl Strategy<Value = Period> {
        prop_oneof![
            (1u32..=120).prop_map(Period::Days),
            (1u32..=12).prop_map(Period::Months)
        ]
    }

    fn any_policy() -> impl Strategy<Value = VisitPolicy> {
        let rule = (
            proptest::sample::subsequence(Category::ALL, 0..3),
            proptest::option::of(any_risk()),
            any_period(),
        )
            .prop_map(|(categories, min_risk, every)| VisitRule {
                categories,
                min_risk,
                every,
            });
        (
            proptest::collection::vec(rule, 0..5),
            any_period(),
            1u32..=30,
            1u32..=14,
        )
            .prop_map(|(rules, default_every, first, followup)| VisitPolicy {
                effective_from: d("2019-01-01"),
                rules,
                default_every,
                first_visit_days: first,
                danger_followup_days: followup,
            })
    }

    fn any_last_visit() -> impl Strategy<Value = Option<LastVisit>> {
        proptest::option::of(
            (any_date(), any::<bool>(), proptest::option::of(0i64..400)).prop_map(
                |(on, danger, planned)| LastVisit {
                    on,
                    danger,
                    planned: planned.map(|n| on + Duration::days(n)),
                },
            ),
        )
    }

    proptest! {
        #[test]
        fn due_is_after_the_last_visit_and_never_later_than_the_interval(
            policy in any_policy(), categories in any_categories(), risk in any_risk(),
            registered_on in any_date(), last in any_last_visit(),
        ) {
            let facts = ScheduleFacts { categories, risk, registered_on, last_visit: last };
            let due = policy.due(&facts);
            match last {
                None => {
                    prop_assert_eq!(due.reason, DueReason::First);
                    prop_assert!(due.on > registered_on);
                    prop_assert!(due.on <= registered_on + Duration::days(i64::from(policy.first_visit_days)));
                }
                Some(l) => {
                    prop_assert!(due.on > l.on);
                    prop_assert!(due.on <= policy.interval(categories, risk).after(l.on));
                    if l.danger {
                        prop_assert!(due.on <= l.on + Duration::days(i64::from(policy.danger_followup_days)));
                    }
                    if let Some(p) = l.planned {
                        if p > l.on { prop_assert!(due.on <= p); }
                    }
                }
            }
        }

        #[test]
        fn more_categories_or_more_risk_never_postpone_a_visit(
            policy in any_policy(), categories in any_categories(), extra in any_categories(),
            risk in any_risk(), higher in any_risk(), registered_on in any_date(),
            last in any_last_visit(),
        ) {
            let higher = higher.max(risk);
            let base = ScheduleFacts { categories, risk, registered_on, last_visit: last };
            let more = ScheduleFacts {
                categories: CategorySet::from_bits(categories.bits() | extra.bits()),
                risk: higher,
                ..base
            };
            prop_assert!(policy.due(&more).on <= policy.due(&base).on);
        }

        #[test]
        fn a_visit_moves_the_due_date_on(
            policy in any_policy(), categories in any_categories(), risk in any_risk(),
            registered_on in any_date(), days_later in 0i64..200,
        ) {
            let none = ScheduleFacts { categories, risk, registered_on, last_visit: None };
            let first_due = policy.due(&none);
            let visited = registered_on + Duration::days(days_later);
            let after = policy.due(&ScheduleFacts {
                last_visit: Some(LastVisit { on: visited, danger: false, planned: None }),
                ..none
            });
            prop_assert!(after.on > visited);
            prop_assert_eq!(after.reason, DueReason::Regular);
            if visited >= first_due.on { prop_assert!(after.on > first_due.on); }
        }

        #[test]
        fn periods_round_trip(p in any_period()) {
            prop_assert_eq!(Period::parse(&p.to_string()).unwrap(), p);
        }
    }
}
