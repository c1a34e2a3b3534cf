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

use crate::coded::coded_enum;
use crate::Invalid;

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
}
