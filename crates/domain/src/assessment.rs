//! The yearly assessment (考核) of member units and townships: indicators with weights,
//! each a share (numerator over denominator) computed from the platform's own records,
//! a weighted score out of 100 over the indicators that have anything to count, plus the
//! office's manual points with their reasons, kept within 0–100.
//!
//! The store gathers the facts (which work items, tasks, meetings, children, training);
//! everything counted here is pure, so the arithmetic is tested against a from-scratch
//! computation over random facts.

use serde::{Deserialize, Serialize};

use crate::coded::coded_enum;
use crate::Invalid;

coded_enum!(
    /// 考核指标
    Indicator {
        /// 探访覆盖率: children of the ledger visited at least once this year (townships)
        VisitCoverage = ("visit_coverage", "探访覆盖率"),
        /// 按期探访率: children whose next visit is not overdue (townships)
        VisitsOnTime = ("visits_on_time", "按期探访率"),
        /// 转介按期答复率: replies to referrals in time
        RepliesOnTime = ("replies_on_time", "转介按期答复率"),
        /// 督办按期办结率: supervised items closed by their supervision deadline
        SupervisedOnTime = ("supervised_on_time", "督办按期办结率"),
        /// 任务完成率: plan tasks led, done by their deadline
        TasksDone = ("tasks_done", "任务按期完成率"),
        /// 联席会议出席率: joint meetings attended (member units)
        MeetingsAttended = ("meetings_attended", "联席会议出席率"),
        /// 培训达标率: training hours of a township's supervisors and directors against
        /// the yearly target (townships)
        TrainingHours = ("training_hours", "培训达标率"),
    }
);

/// Who an indicator applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subject {
    /// A member unit of the committee.
    Unit,
    /// A township (its government and its station).
    Township,
}

impl Indicator {
    pub fn applies_to(self, subject: Subject) -> bool {
        match self {
            Indicator::VisitCoverage | Indicator::VisitsOnTime | Indicator::TrainingHours => {
                subject == Subject::Township
            }
            Indicator::MeetingsAttended => subject == Subject::Unit,
            Indicator::RepliesOnTime | Indicator::SupervisedOnTime | Indicator::TasksDone => true,
        }
    }
}

/// An indicator and its weight in a year's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weighted {
    pub indicator: Indicator,
    /// 1–100.
    pub weight: u32,
}

/// A year's scheme: indicators with weights, and the training target in hours a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheme {
    pub indicators: Vec<Weighted>,
    /// Hours of training a year each supervisor and director should have (default 12).
    pub training_target_hours: u32,
}

impl Default for Scheme {
    /// The default weights (the office changes them per year).
    fn default() -> Scheme {
        use Indicator::*;
        Scheme {
            indicators: [
                (VisitCoverage, 20),
                (VisitsOnTime, 20),
                (RepliesOnTime, 20),
                (SupervisedOnTime, 15),
                (TasksDone, 15),
                (MeetingsAttended, 5),
                (TrainingHours, 5),
            ]
            .into_iter()
            .map(|(indicator, weight)| Weighted { indicator, weight })
            .collect(),
            training_target_hours: 12,
        }
    }
}

impl Scheme {
    /// Checks a scheme: each indicator once, weights 1–100, a training target of 1–200
    /// hours, at least one indicator.
    pub fn check(self) -> Result<Scheme, Invalid> {
        if self.indicators.is_empty() {
            return Err(Invalid::new(
                "indicators_required",
                "请至少设置一项考核指标",
            ));
        }
        for (i, w) in self.indicators.iter().enumerate() {
            if !(1..=100).contains(&w.weight) {
                return Err(Invalid::new(
                    "weight_range",
                    format!("“{}”的权重应为 1 到 100", w.indicator.label()),
                ));
            }
            if self.indicators[..i]
                .iter()
                .any(|o| o.indicator == w.indicator)
            {
                return Err(Invalid::new(
                    "indicator_twice",
                    format!("“{}”重复设置", w.indicator.label()),
                ));
            }
        }
        if !(1..=200).contains(&self.training_target_hours) {
            return Err(Invalid::new("training_target", "培训目标学时应为 1 到 200"));
        }
        Ok(self)
    }
}

/// Something due by a time and perhaps done (a reply, a supervised item, a task).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed {
    pub due_at: i64,
    pub done_at: Option<i64>,
}

/// What the store found for one unit or township in the year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Children of the ledger (townships).
    pub children: u64,
    /// Of them, visited at least once this year.
    pub visited: u64,
    /// Of them, with their next visit overdue now.
    pub overdue: u64,
    pub replies: Vec<Timed>,
    pub supervised: Vec<Timed>,
    pub tasks: Vec<Timed>,
    /// Joint meetings held this year, and how many the unit attended.
    pub meetings_held: u64,
    pub meetings_attended: u64,
    /// Supervisors and directors in post, and their training this year in tenths of an
    /// hour, each person's counted up to the target.
    pub people: u64,
    pub training_tenths: Vec<u64>,
}

/// A share: what counted for, out of what counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Share {
    pub numerator: u64,
    pub denominator: u64,
}

impl Share {
    pub fn ratio(self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }
}

/// Of items due by `now` (or done already), those done by their deadline.
fn on_time(items: &[Timed], now: i64) -> Option<Share> {
    let counted: Vec<&Timed> = items
        .iter()
        .filter(|t| t.done_at.is_some() || t.due_at < now)
        .collect();
    if counted.is_empty() {
        return None;
    }
    Some(Share {
        numerator: counted
            .iter()
            .filter(|t| t.done_at.is_some_and(|d| d <= t.due_at))
            .count() as u64,
        denominator: counted.len() as u64,
    })
}

/// An indicator's share for some facts at `now`; None when there is nothing to count.
pub fn share(indicator: Indicator, facts: &Facts, scheme: &Scheme, now: i64) -> Option<Share> {
    let of = |numerator: u64, denominator: u64| {
        (denominator > 0).then_some(Share {
            numerator: numerator.min(denominator),
            denominator,
        })
    };
    match indicator {
        Indicator::VisitCoverage => of(facts.visited, facts.children),
        Indicator::VisitsOnTime => of(facts.children.saturating_sub(facts.overdue), facts.children),
        Indicator::RepliesOnTime => on_time(&facts.replies, now),
        Indicator::SupervisedOnTime => on_time(&facts.supervised, now),
        Indicator::TasksDone => on_time(&facts.tasks, now),
        Indicator::MeetingsAttended => of(facts.meetings_attended, facts.meetings_held),
        Indicator::TrainingHours => {
            let target = u64::from(scheme.training_target_hours) * 10;
            of(
                facts.training_tenths.iter().map(|t| (*t).min(target)).sum(),
                facts.people * target,
            )
        }
    }
}

/// One indicator's line in a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub indicator: Indicator,
    pub weight: u32,
    /// None: nothing to count (the indicator is left out and the others weigh more).
    pub share: Option<Share>,
}

/// A subject's computed result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    pub lines: Vec<Line>,
    /// Weighted score out of 100 over the lines with a share (None: none has one).
    pub computed: Option<f64>,
    /// The office's manual points (sum).
    pub manual: f64,
    /// computed (or 0) plus manual, within 0–100, to one decimal.
    pub total: f64,
}

/// Scores a subject's facts by the scheme, with the office's manual points.
pub fn score(subject: Subject, facts: &Facts, scheme: &Scheme, manual: &[f64], now: i64) -> Scored {
    let lines: Vec<Line> = scheme
        .indicators
        .iter()
        .filter(|w| w.indicator.applies_to(subject))
        .map(|w| Line {
            indicator: w.indicator,
            weight: w.weight,
            share: share(w.indicator, facts, scheme, now),
        })
        .collect();
    let (sum, weights) = lines
        .iter()
        .filter_map(|l| l.share.map(|s| (f64::from(l.weight) * s.ratio(), l.weight)))
        .fold((0.0, 0u32), |(s, w), (x, y)| (s + x, w + y));
    let computed = (weights > 0).then(|| 100.0 * sum / f64::from(weights));
    let manual: f64 = manual.iter().sum();
    let total = (computed.unwrap_or(0.0) + manual).clamp(0.0, 100.0);
    Scored {
        lines,
        computed,
        manual,
        total: (total * 10.0).round() / 10.0,
    }
}

/// Checks manual points: within ±20 a time, with a reason.
pub fn check_manual(points: f64, reason: &str) -> Result<(), (&'static str, Invalid)> {
    if !points.is_finite() || points == 0.0 || points.abs() > 20.0 {
        return Err((
            "points",
            Invalid::new("points_range", "加减分应在 -20 到 20 之间，且不为 0"),
        ));
    }
    if reason.trim().is_empty() || reason.chars().count() > 500 {
        return Err((
            "reason",
            Invalid::new("reason_required", "请写明加减分的理由（500 字以内）"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn timed() -> impl Strategy<Value = Timed> {
        (0i64..1000, prop::option::of(0i64..1200))
            .prop_map(|(due_at, done_at)| Timed { due_at, done_at })
    }

    fn facts() -> impl Strategy<Value = Facts> {
        (
            (0u64..50, 0u64..60, 0u64..60),
            prop::collection::vec(timed(), 0..12),
            prop::collection::vec(timed(), 0..12),
            prop::collection::vec(timed(), 0..12),
            (0u64..5, 0u64..7),
            prop::collection::vec(0u64..300, 0..8),
        )
            .prop_map(
                |(
                    (children, visited, overdue),
                    replies,
                    supervised,
                    tasks,
                    (held, attended),
                    training,
                )| Facts {
                    children,
                    visited,
                    overdue,
                    replies,
                    supervised,
                    tasks,
                    meetings_held: held,
                    meetings_attended: attended,
                    people: training.len() as u64,
                    training_tenths: training,
                },
            )
    }

    /// The same score, the long way: each indicator's fraction written out on its own.
    fn from_scratch(subject: Subject, f: &Facts, scheme: &Scheme, manual: &[f64], now: i64) -> f64 {
        let frac = |num: f64, den: f64| {
            if den > 0.0 {
                Some(num.min(den) / den)
            } else {
                None
            }
        };
        let timely = |items: &[Timed]| {
            let mut due = 0.0;
            let mut kept = 0.0;
            for t in items {
                let counts = match t.done_at {
                    Some(_) => true,
                    None => t.due_at < now,
                };
                if counts {
                    due += 1.0;
                    if let Some(d) = t.done_at {
                        if d <= t.due_at {
                            kept += 1.0;
                        }
                    }
                }
            }
            frac(kept, due)
        };
        let mut weighted = 0.0;
        let mut weights = 0.0;
        for w in &scheme.indicators {
            let township = matches!(
                w.indicator,
                Indicator::VisitCoverage | Indicator::VisitsOnTime | Indicator::TrainingHours
            );
            let unit_only = w.indicator == Indicator::MeetingsAttended;
            if (township && subject != Subject::Township) || (unit_only && subject != Subject::Unit)
            {
                continue;
            }
            let target = scheme.training_target_hours as f64 * 10.0;
            let r = match w.indicator {
                Indicator::VisitCoverage => frac(f.visited as f64, f.children as f64),
                Indicator::VisitsOnTime => frac(
                    (f.children as f64 - f.overdue as f64).max(0.0),
                    f.children as f64,
                ),
                Indicator::RepliesOnTime => timely(&f.replies),
                Indicator::SupervisedOnTime => timely(&f.supervised),
                Indicator::TasksDone => timely(&f.tasks),
                Indicator::MeetingsAttended => {
                    frac(f.meetings_attended as f64, f.meetings_held as f64)
                }
                Indicator::TrainingHours => frac(
                    f.training_tenths
                        .iter()
                        .map(|t| (*t as f64).min(target))
                        .sum(),
                    f.people as f64 * target,
                ),
            };
            if let Some(r) = r {
                weighted += w.weight as f64 * r;
                weights += w.weight as f64;
            }
        }
        let computed = if weights > 0.0 {
            100.0 * weighted / weights
        } else {
            0.0
        };
        let total = computed + manual.iter().sum::<f64>();
        (total.clamp(0.0, 100.0) * 10.0).round() / 10.0
    }

    proptest! {
        #[test]
        fn the_score_is_the_weighted_mean_of_the_shares_plus_the_manual_points(
            f in facts(),
            weights in prop::collection::vec(1u32..=100, 7),
            manual in prop::collection::vec(-20.0f64..20.0, 0..3),
            township in any::<bool>(),
            now in 0i64..1100,
            target in 1u32..30,
        ) {
            let scheme = Scheme {
                indicators: Indicator::ALL
                    .iter()
                    .zip(&weights)
                    .map(|(i, w)| Weighted { indicator: *i, weight: *w })
                    .collect(),
                training_target_hours: target,
            };
            let subject = if township { Subject::Township } else { Subject::Unit };
            let got = score(subject, &f, &scheme, &manual, now);
            let want = from_scratch(subject, &f, &scheme, &manual, now);
            prop_assert!((got.total - want).abs() < 1e-9, "{} vs {}", got.total, want);
            prop_assert!((0.0..=100.0).contains(&got.total));
        }
    }

    #[test]
    fn a_subject_with_nothing_to_count_scores_its_manual_points_only() {
        let s = score(
            Subject::Unit,
            &Facts::default(),
            &Scheme::default(),
            &[5.0],
            0,
        );
        assert_eq!((s.computed, s.total), (None, 5.0));
        // A late reply counts against; one not yet due does not count.
        let f = Facts {
            replies: vec![
                Timed {
                    due_at: 10,
                    done_at: Some(11),
                },
                Timed {
                    due_at: 10,
                    done_at: Some(9),
                },
                Timed {
                    due_at: 100,
                    done_at: None,
                },
            ],
            ..Facts::default()
        };
        let line = share(Indicator::RepliesOnTime, &f, &Scheme::default(), 50).unwrap();
        assert_eq!((line.numerator, line.denominator), (1, 2));
        assert!(Scheme {
            indicators: vec![],
            ..Scheme::default()
        }
        .check()
        .is_err());
        assert!(check_manual(25.0, "x").is_err() && check_manual(5.0, " ").is_err());
    }
}
