//! Early warnings (预警): explainable rules over what the platform knows of a child, each
//! naming the rule and the facts that fired it. A warning never changes the child's risk
//! level by itself: a person decides.
//!
//! The rules and their thresholds are the county's (setting `warning_rules`, JSON); what is
//! not set keeps its default:
//! - a visit overdue by more than `overdue_days` (15);
//! - `attention_visits` (2) of the last three visits with a 关注 finding;
//! - a report about the child not yet closed;
//! - not in school (辍学) while of school age (6 to 15);
//! - a parent's status changed within `parent_change_days` (30);
//! - a guardian over `guardian_age` (70) or recorded as ill or without capacity;
//! - a left-behind child whose parents have not been in touch for `parent_silence_days` (90)
//!   by the visits' 父母每周联系 item.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::child::{Capacity, Category, CategorySet, Risk, SchoolStatus};
use crate::coded::coded_enum;
use crate::record::ChildRecord;
use crate::visit::{CheckItem, Finding, VisitRecord};
use crate::{IdNumber, Invalid};

coded_enum!(
    /// The early-warning rules.
    WarningRule {
        VisitOverdue = ("visit_overdue", "探访逾期"),
        RepeatedAttention = ("repeated_attention", "多次探访需关注"),
        OpenReport = ("open_report", "有未办结的报告"),
        Dropout = ("dropout", "适龄未在校"),
        ParentChanged = ("parent_changed", "父母情况变化"),
        GuardianFrail = ("guardian_frail", "监护人年老或患病"),
        ParentSilent = ("parent_silent", "父母长期未联系"),
    }
);

/// The county's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WarningRules {
    pub overdue_days: i64,
    pub attention_visits: usize,
    pub parent_change_days: i64,
    pub guardian_age: u32,
    pub parent_silence_days: i64,
}

impl Default for WarningRules {
    fn default() -> Self {
        WarningRules {
            overdue_days: 15,
            attention_visits: 2,
            parent_change_days: 30,
            guardian_age: 70,
            parent_silence_days: 90,
        }
    }
}

impl WarningRules {
    /// Parses the setting; refuses unknown keys and thresholds out of range.
    pub fn parse(v: &serde_json::Value) -> Result<WarningRules, Invalid> {
        let r: WarningRules = serde_json::from_value(v.clone()).map_err(|e| {
            Invalid::new(
                "warning_rules",
                format!("预警规则无法识别：{e}（可设 overdue_days、attention_visits、parent_change_days、guardian_age、parent_silence_days）"),
            )
        })?;
        let ok = (1..=365).contains(&r.overdue_days)
            && (1..=3).contains(&r.attention_visits)
            && (1..=365).contains(&r.parent_change_days)
            && (50..=100).contains(&r.guardian_age)
            && (7..=730).contains(&r.parent_silence_days);
        if !ok {
            return Err(Invalid::new(
                "warning_rules",
                "预警阈值超出范围：逾期天数 1–365，关注次数 1–3，父母变化天数 1–365，监护人年龄 50–100，未联系天数 7–730",
            ));
        }
        Ok(r)
    }
}

/// A guardian as the rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardianSignal {
    pub name: String,
    pub relationship: String,
    /// By their 身份证号, when the ledger holds it.
    pub age: Option<u32>,
    /// Recorded as ill, disabled or without capacity.
    pub frail: Option<String>,
}

/// A visit as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitSignal {
    pub on: NaiveDate,
    /// Any item found 关注.
    pub attention: bool,
    /// The 父母每周联系 item: Some(true) normal, Some(false) not in touch, None not asked.
    pub parents_in_touch: Option<bool>,
}

/// What the platform knows of a child, for the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildSignals {
    pub age: u32,
    pub left_behind: bool,
    pub not_in_school: bool,
    /// The next visit's due date.
    pub due_on: Option<NaiveDate>,
    /// Newest first.
    pub visits: Vec<VisitSignal>,
    /// Reports about the child not yet closed, with the day each came in.
    pub open_reports: Vec<NaiveDate>,
    /// Parents' status changes: (父亲/母亲, from, to, the day recorded).
    pub parent_changes: Vec<(String, String, String, NaiveDate)>,
    pub guardians: Vec<GuardianSignal>,
    /// When the child entered the ledger (silence counts from then at the earliest).
    pub since: Option<NaiveDate>,
}

/// A rule that fired, with the facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub rule: WarningRule,
    pub facts: String,
}

/// Every rule that fires for a child on `today`.
pub fn evaluate(rules: &WarningRules, c: &ChildSignals, today: NaiveDate) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut fire = |rule, facts: String| out.push(Warning { rule, facts });
    if let Some(due) = c.due_on {
        let late = (today - due).num_days();
        if late > rules.overdue_days {
            fire(
                WarningRule::VisitOverdue,
                format!(
                    "应于 {due} 探访，已逾期 {late} 天（超过 {} 天）",
                    rules.overdue_days
                ),
            );
        }
    }
    let recent: Vec<&VisitSignal> = c.visits.iter().take(3).collect();
    let attention = recent.iter().filter(|v| v.attention).count();
    if attention >= rules.attention_visits {
        let days: Vec<String> = recent
            .iter()
            .filter(|v| v.attention)
            .map(|v| v.on.to_string())
            .collect();
        fire(
            WarningRule::RepeatedAttention,
            format!(
                "最近 {} 次探访中 {attention} 次有需关注事项（{}）",
                recent.len(),
                days.join("、")
            ),
        );
    }
    if let Some(first) = c.open_reports.iter().min() {
        fire(
            WarningRule::OpenReport,
            format!(
                "有 {} 份涉及该儿童的报告尚未办结（最早 {first} 收到）",
                c.open_reports.len()
            ),
        );
    }
    if c.not_in_school && (6..=15).contains(&c.age) {
        fire(
            WarningRule::Dropout,
            format!("{} 岁，处于义务教育年龄，台账记为未在校", c.age),
        );
    }
    for (who, from, to, on) in &c.parent_changes {
        if (today - *on).num_days() <= rules.parent_change_days && from != to {
            fire(
                WarningRule::ParentChanged,
                format!("{on} {who}情况由“{from}”变为“{to}”"),
            );
        }
    }
    for g in &c.guardians {
        let old = g.age.filter(|a| *a > rules.guardian_age);
        match (old, &g.frail) {
            (None, None) => {}
            (age, frail) => {
                let mut facts = format!("监护人{}（{}）", g.name, g.relationship);
                if let Some(a) = age {
                    facts.push_str(&format!("{a} 岁，超过 {} 岁", rules.guardian_age));
                }
                if let Some(f) = frail {
                    if age.is_some() {
                        facts.push('，');
                    }
                    facts.push_str(f);
                }
                fire(WarningRule::GuardianFrail, facts);
            }
        }
    }
    if c.left_behind {
        // The last visit that found the parents in touch, else when the child came in.
        let last_touch = c
            .visits
            .iter()
            .find(|v| v.parents_in_touch == Some(true))
            .map(|v| v.on)
            .or(c.since);
        let asked = c.visits.iter().any(|v| v.parents_in_touch.is_some());
        if let Some(last) = last_touch.filter(|_| asked) {
            let silent = (today - last).num_days();
            if silent > rules.parent_silence_days {
                fire(
                    WarningRule::ParentSilent,
                    format!(
                        "留守儿童，自 {last} 起探访未见父母联系，已 {silent} 天（超过 {} 天）",
                        rules.parent_silence_days
                    ),
                );
            }
        }
    }
    out
}

/// A change of a parent's situation between two versions of the record: the field
/// (`father` or `mother`), the old and new text as the history shows them, and the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentChange {
    pub field: String,
    pub old: String,
    pub new: String,
    pub on: NaiveDate,
}

/// Gathers what the rules read from the ledger's record and the child's visits (newest
/// first), the days their open reports came in and the parents' changes in the history.
/// `effective` are the categories in force today (留守 ends at 16).
#[allow(clippy::too_many_arguments)]
pub fn gather(
    record: &ChildRecord,
    effective: CategorySet,
    due_on: Option<NaiveDate>,
    visits: &[VisitRecord],
    open_reports: Vec<NaiveDate>,
    changes: &[ParentChange],
    since: Option<NaiveDate>,
    today: NaiveDate,
) -> ChildSignals {
    let age = record
        .id_number
        .as_ref()
        .map(|n| n.age_on(today))
        .unwrap_or(0);
    let visits = visits
        .iter()
        .map(|v| VisitSignal {
            on: v.visited_on(),
            attention: v.checks.iter().any(|c| c.finding == Finding::Attention),
            parents_in_touch: v
                .checks
                .iter()
                .find(|c| c.item == CheckItem::ParentContact)
                .map(|c| c.finding == Finding::Normal),
        })
        .collect();
    let guardians = record
        .guardians
        .iter()
        .map(|g| GuardianSignal {
            name: g.name.clone(),
            relationship: g.relationship.clone(),
            age: IdNumber::parse(&g.id_number, today)
                .ok()
                .map(|n| n.age_on(today)),
            frail: (g.capacity != Capacity::Full)
                .then(|| format!("监护能力“{}”", g.capacity.label())),
        })
        .collect();
    ChildSignals {
        age,
        left_behind: effective.contains(Category::RuralLeftBehind),
        not_in_school: record.school_status == Some(SchoolStatus::NotInSchool),
        due_on,
        visits,
        open_reports,
        parent_changes: changes
            .iter()
            .filter(|c| c.field == "father" || c.field == "mother")
            .map(|c| {
                let who = if c.field == "father" {
                    "父亲"
                } else {
                    "母亲"
                };
                (who.to_string(), c.old.clone(), c.new.clone(), c.on)
            })
            .collect(),
        guardians,
        since,
    }
}

/// A person's decision on a warning (研判).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningDecision {
    /// Raise the child's risk level to this, for the reason.
    Raise(Risk, String),
    /// Keep the level as it is, for the reason.
    Keep(String),
}

impl WarningDecision {
    /// Reads a decision: `decision` "raise" (with `risk`: 中 or 高, or medium / high) or
    /// "keep"; a reason of 2 to 500 characters either way. Errors name their field.
    pub fn parse(
        decision: &str,
        risk: Option<&str>,
        reason: &str,
    ) -> Result<WarningDecision, (&'static str, Invalid)> {
        // Counted as sent, as the API document's lengths are.
        let reason_sent = reason.chars().count();
        let reason = reason.trim();
        if reason.is_empty() || !(2..=500).contains(&reason_sent) {
            return Err((
                "reason",
                Invalid::new(
                    "reason_required",
                    "请写明研判理由（2 至 500 字），例如已核实的情况和采取的措施",
                ),
            ));
        }
        match decision.trim() {
            "raise" | "提高风险等级" => {
                let risk = match risk.map(str::trim).unwrap_or("") {
                    "medium" | "中" => Risk::Medium,
                    "high" | "高" => Risk::High,
                    "" => {
                        return Err((
                            "risk",
                            Invalid::new("risk_required", "提高风险等级时请选择“中”或“高”"),
                        ))
                    }
                    _ => {
                        return Err((
                            "risk",
                            Invalid::new(
                                "risk_unknown",
                                "风险等级应为“中”（medium）或“高”（high）",
                            ),
                        ))
                    }
                };
                Ok(WarningDecision::Raise(risk, reason.to_string()))
            }
            "keep" | "维持" => Ok(WarningDecision::Keep(reason.to_string())),
            _ => Err((
                "decision",
                Invalid::new(
                    "decision_unknown",
                    "研判结论应为 raise（提高风险等级）或 keep（维持）",
                ),
            )),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            WarningDecision::Raise(..) => "raise",
            WarningDecision::Keep(_) => "keep",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            WarningDecision::Raise(_, r) | WarningDecision::Keep(r) => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const TODAY: &str = "2026-12-06";

    fn fired(c: &ChildSignals) -> Vec<WarningRule> {
        evaluate(&WarningRules::default(), c, d(TODAY))
            .into_iter()
            .map(|w| w.rule)
            .collect()
    }

    fn visit(on: &str, attention: bool, touch: Option<bool>) -> VisitSignal {
        VisitSignal {
            on: d(on),
            attention,
            parents_in_touch: touch,
        }
    }

    #[test]
    fn a_visit_overdue_fires_past_the_threshold_not_at_it() {
        let mut c = ChildSignals {
            age: 9,
            due_on: Some(d("2026-11-21")),
            ..ChildSignals::default()
        };
        assert!(fired(&c).is_empty(), "15 days late is the threshold");
        c.due_on = Some(d("2026-11-20"));
        let w = evaluate(&WarningRules::default(), &c, d(TODAY));
        assert_eq!(w[0].rule, WarningRule::VisitOverdue);
        assert_eq!(
            w[0].facts,
            "应于 2026-11-20 探访，已逾期 16 天（超过 15 天）"
        );
    }

    #[test]
    fn attention_twice_in_the_last_three_visits_fires_once_does_not() {
        let mut c = ChildSignals {
            age: 9,
            visits: vec![
                visit("2026-11-01", true, None),
                visit("2026-10-01", false, None),
                visit("2026-09-01", false, None),
                visit("2026-08-01", true, None),
            ],
            ..ChildSignals::default()
        };
        assert!(fired(&c).is_empty(), "the fourth visit is not counted");
        c.visits[2].attention = true;
        let w = evaluate(&WarningRules::default(), &c, d(TODAY));
        assert_eq!(
            w[0].facts,
            "最近 3 次探访中 2 次有需关注事项（2026-11-01、2026-09-01）"
        );
    }

    #[test]
    fn an_open_report_and_a_dropout_of_school_age_fire() {
        let mut c = ChildSignals {
            age: 16,
            not_in_school: true,
            ..ChildSignals::default()
        };
        assert!(fired(&c).is_empty(), "16: past compulsory schooling");
        c.age = 15;
        c.open_reports = vec![d("2026-11-30"), d("2026-11-02")];
        assert_eq!(
            fired(&c),
            vec![WarningRule::OpenReport, WarningRule::Dropout]
        );
        let w = evaluate(&WarningRules::default(), &c, d(TODAY));
        assert_eq!(
            w[0].facts,
            "有 2 份涉及该儿童的报告尚未办结（最早 2026-11-02 收到）"
        );
    }

    #[test]
    fn a_parents_change_fires_for_thirty_days() {
        let mut c = ChildSignals {
            age: 9,
            parent_changes: vec![(
                "父亲".into(),
                "外出务工".into(),
                "服刑在押".into(),
                d("2026-11-06"),
            )],
            ..ChildSignals::default()
        };
        let w = evaluate(&WarningRules::default(), &c, d(TODAY));
        assert_eq!(w[0].facts, "2026-11-06 父亲情况由“外出务工”变为“服刑在押”");
        c.parent_changes[0].3 = d("2026-11-05");
        assert!(fired(&c).is_empty(), "31 days ago");
    }

    #[test]
    fn a_guardian_over_seventy_or_ill_fires() {
        let g = |age, frail: Option<&str>| GuardianSignal {
            name: "王某".into(),
            relationship: "祖母".into(),
            age,
            frail: frail.map(String::from),
        };
        let mut c = ChildSignals {
            age: 9,
            guardians: vec![g(Some(70), None)],
            ..ChildSignals::default()
        };
        assert!(fired(&c).is_empty(), "70 is not over 70");
        c.guardians = vec![g(Some(71), Some("患病"))];
        let w = evaluate(&WarningRules::default(), &c, d(TODAY));
        assert_eq!(w[0].facts, "监护人王某（祖母）71 岁，超过 70 岁，患病");
        c.guardians = vec![g(None, Some("无监护能力"))];
        assert_eq!(fired(&c), vec![WarningRule::GuardianFrail]);
    }

    #[test]
    fn a_left_behind_childs_parents_silent_past_ninety_days_fire() {
        let mut c = ChildSignals {
            age: 9,
            left_behind: true,
            since: Some(d("2025-01-01")),
            visits: vec![
                visit("2026-11-30", false, Some(false)),
                visit("2026-09-07", false, Some(true)),
            ],
            ..ChildSignals::default()
        };
        assert!(fired(&c).is_empty(), "90 days since the last contact seen");
        c.visits[1].on = d("2026-09-06");
        let w = evaluate(&WarningRules::default(), &c, d(TODAY));
        assert_eq!(
            w[0].facts,
            "留守儿童，自 2026-09-06 起探访未见父母联系，已 91 天（超过 90 天）"
        );
        // Not left behind, or never asked: nothing.
        c.left_behind = false;
        assert!(fired(&c).is_empty());
        c.left_behind = true;
        for v in &mut c.visits {
            v.parents_in_touch = None;
        }
        assert!(fired(&c).is_empty());
    }

    #[test]
    fn the_county_sets_its_thresholds_within_range() {
        let r = WarningRules::parse(&serde_json::json!({"overdue_days": 30})).unwrap();
        assert_eq!((r.overdue_days, r.guardian_age), (30, 70));
        assert!(WarningRules::parse(&serde_json::json!({"overdue_days": 0})).is_err());
        assert!(WarningRules::parse(&serde_json::json!({"overdue": 3})).is_err());
        let strict = WarningRules {
            overdue_days: 30,
            ..WarningRules::default()
        };
        let c = ChildSignals {
            age: 9,
            due_on: Some(d("2026-11-10")),
            ..ChildSignals::default()
        };
        assert!(evaluate(&strict, &c, d(TODAY)).is_empty());
    }

    fn id_born(birth: &str, seq: &str) -> String {
        let first17 = format!("510812{birth}{seq}");
        format!(
            "{first17}{}",
            crate::id_number::check_char(first17.as_bytes())
        )
    }

    fn recorded_visit(at: &str, contact: &str, attention_on_safety: bool) -> VisitRecord {
        use crate::visit::{CheckInput, VisitContext, VisitInput};
        let mut checks: Vec<CheckInput> = CheckItem::CORE
            .iter()
            .map(|i| CheckInput {
                item: i.label().into(),
                finding: if attention_on_safety && *i == CheckItem::Safety {
                    "关注".into()
                } else {
                    "正常".into()
                },
                note: None,
            })
            .collect();
        checks.push(CheckInput {
            item: "父母每周联系".into(),
            finding: contact.into(),
            note: None,
        });
        VisitInput {
            visited_at: Some(at.into()),
            duration_minutes: Some(30),
            checks: Some(checks),
            ..VisitInput::default()
        }
        .apply(
            None,
            &VisitContext {
                now: crate::visit::parse_visit_time("2026-12-06 18:00").unwrap(),
                left_behind: true,
                risk: crate::child::Risk::Low,
            },
        )
        .unwrap()
    }

    #[test]
    fn signals_are_gathered_from_the_record_visits_reports_and_history() {
        use crate::record::{ChildPatch, GuardianInput};
        let record = ChildPatch {
            name: Some("张小花".into()),
            id_number: Some(id_born("20170307", "123")),
            division: Some("510812100200".into()),
            school_status: Some("未在校".into()),
            not_in_school_reason: Some("辍学".into()),
            guardians: Some(vec![GuardianInput {
                name: Some("张奶奶".into()),
                relationship: Some("祖母".into()),
                id_number: Some(id_born("19500101", "124")),
                capacity: Some("部分".into()),
                actual_caregiver: true,
                ..GuardianInput::default()
            }]),
            ..ChildPatch::default()
        }
        .apply(None, d(TODAY), 18, &[])
        .unwrap();
        let mut effective = CategorySet::default();
        effective.insert(Category::RuralLeftBehind);
        // Newest first: the last two found 关注 on 安全, none found the parents in touch
        // (the oldest: 关注 on 父母每周联系 alone).
        let visits = vec![
            recorded_visit("2026-11-20 10:00", "关注", true),
            recorded_visit("2026-10-10 10:00", "关注", true),
            recorded_visit("2026-09-10 10:00", "关注", false),
        ];
        let changes = vec![
            ParentChange {
                field: "father".into(),
                old: "外出务工".into(),
                new: "服刑在押".into(),
                on: d("2026-11-30"),
            },
            ParentChange {
                field: "address".into(),
                old: "甲".into(),
                new: "乙".into(),
                on: d("2026-11-30"),
            },
        ];
        let c = gather(
            &record,
            effective,
            Some(d("2026-11-01")),
            &visits,
            vec![d("2026-11-02")],
            &changes,
            Some(d("2025-01-01")),
            d(TODAY),
        );
        assert_eq!(c.age, 9);
        assert!(c.left_behind && c.not_in_school);
        assert_eq!(c.guardians.len(), 1);
        assert_eq!(c.guardians[0].age, Some(76));
        assert_eq!(c.guardians[0].frail.as_deref(), Some("监护能力“部分”"));
        assert_eq!(
            c.visits.iter().map(|v| v.attention).collect::<Vec<_>>(),
            [true, true, true]
        );
        assert_eq!(
            c.visits
                .iter()
                .map(|v| v.parents_in_touch)
                .collect::<Vec<_>>(),
            [Some(false), Some(false), Some(false)]
        );
        assert_eq!(
            c.parent_changes,
            [(
                "父亲".to_string(),
                "外出务工".to_string(),
                "服刑在押".to_string(),
                d("2026-11-30")
            )],
            "only the parents' fields count"
        );
        let rules: Vec<WarningRule> = evaluate(&WarningRules::default(), &c, d(TODAY))
            .into_iter()
            .map(|w| w.rule)
            .collect();
        for r in [
            WarningRule::VisitOverdue,
            WarningRule::RepeatedAttention,
            WarningRule::OpenReport,
            WarningRule::Dropout,
            WarningRule::ParentChanged,
            WarningRule::GuardianFrail,
            WarningRule::ParentSilent,
        ] {
            assert!(rules.contains(&r), "{r:?} should fire: {rules:?}");
        }
    }

    #[test]
    fn a_decision_names_its_field_when_it_is_refused() {
        assert_eq!(
            WarningDecision::parse("raise", Some("高"), "已核实，父亲服刑").unwrap(),
            WarningDecision::Raise(crate::child::Risk::High, "已核实，父亲服刑".into())
        );
        assert_eq!(
            WarningDecision::parse("keep", None, " 已联系 ").unwrap(),
            WarningDecision::Keep("已联系".into())
        );
        assert_eq!(
            WarningDecision::parse("raise", None, "理由充分")
                .unwrap_err()
                .0,
            "risk"
        );
        assert_eq!(
            WarningDecision::parse("raise", Some("低"), "理由充分")
                .unwrap_err()
                .0,
            "risk"
        );
        assert_eq!(
            WarningDecision::parse("keep", None, "好").unwrap_err().0,
            "reason"
        );
        assert_eq!(
            WarningDecision::parse("keep", None, &"长".repeat(501))
                .unwrap_err()
                .0,
            "reason"
        );
        assert_eq!(
            WarningDecision::parse("ignore", None, "理由充分")
                .unwrap_err()
                .0,
            "decision"
        );
    }
}
