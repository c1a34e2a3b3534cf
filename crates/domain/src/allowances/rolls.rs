//! What a monthly roll (发放名册) owes: a locked roll never changes, so what a past month
//! should have paid and did not (a missed month) or paid and should not have (a death
//! recorded late) goes into a later roll as adjustment lines, each with its reason.

use std::collections::BTreeMap;

use super::eligibility::Ending;
use crate::money::Fen;
use crate::month::Month;

/// One adjustment for a past month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub for_month: Month,
    /// Positive: paid now (补发); negative: to be recovered (追回).
    pub amount: Fen,
    pub reason: String,
}

/// The adjustments that bring what was paid for each past month (`paid`, from locked
/// rolls, adjustments included) to what was owed (`owed`: the standard of that month for
/// every month the case was payable), for the months up to `through` (the latest locked
/// roll). `ending` and `start` word the reasons.
pub fn adjustments(
    owed: &BTreeMap<Month, Fen>,
    paid: &BTreeMap<Month, Fen>,
    through: Month,
    start: Month,
    ending: Option<&Ending>,
) -> Vec<Adjustment> {
    let months: std::collections::BTreeSet<Month> = owed
        .keys()
        .chain(paid.keys())
        .copied()
        .filter(|m| *m <= through)
        .collect();
    months
        .into_iter()
        .filter_map(|month| {
            let due = owed.get(&month).copied().unwrap_or_default();
            let got = paid.get(&month).copied().unwrap_or_default();
            let diff = due - got;
            if diff.is_zero() {
                return None;
            }
            let reason = if diff.0 > 0 && got.is_zero() {
                format!("补发 {month}（自 {start} 起应发，该月名册未发放）")
            } else if diff.0 > 0 {
                format!(
                    "补发 {month} 差额（应发 {}，已发 {}）",
                    due.yuan(),
                    got.yuan()
                )
            } else if due.is_zero() {
                match ending.filter(|e| month > e.last_month) {
                    Some(e) => format!("追回 {month} 多发（{}）", e.reason),
                    None => format!("追回 {month} 多发（该月不应发放）"),
                }
            } else {
                format!(
                    "追回 {month} 多发差额（应发 {}，已发 {}）",
                    due.yuan(),
                    got.yuan()
                )
            };
            Some(Adjustment {
                for_month: month,
                amount: diff,
                reason,
            })
        })
        .collect()
}

/// How a case's payment differs from the previous month's roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Paid this month, not last month.
    New,
    /// Paid last month, not this month.
    Stopped,
    /// Paid both months, a different amount.
    Amount,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Stopped => "stopped",
            Change::Amount => "changed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Change::New => "新增",
            Change::Stopped => "停发",
            Change::Amount => "金额变化",
        }
    }
}

/// The changes between two months' regular payments by case: (case, change, last month's
/// amount, this month's), in case order.
pub fn changes<'a>(
    before: &'a BTreeMap<String, Fen>,
    now: &'a BTreeMap<String, Fen>,
) -> Vec<(&'a str, Change, Fen, Fen)> {
    let mut out = Vec::new();
    for (case, amount) in now {
        match before.get(case) {
            None => out.push((case.as_str(), Change::New, Fen::ZERO, *amount)),
            Some(old) if old != amount => out.push((case.as_str(), Change::Amount, *old, *amount)),
            Some(_) => {}
        }
    }
    for (case, old) in before {
        if !now.contains_key(case) {
            out.push((case.as_str(), Change::Stopped, *old, Fen::ZERO));
        }
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allowances::EndCause;
    use proptest::prelude::*;

    fn m(s: &str) -> Month {
        Month::parse("月份", s).unwrap()
    }

    fn map(pairs: &[(&str, i64)]) -> BTreeMap<Month, Fen> {
        pairs.iter().map(|(k, v)| (m(k), Fen(*v))).collect()
    }

    #[test]
    fn a_death_recorded_late_recovers_the_months_paid_after_it() {
        let death = Ending::new(
            EndCause::Death,
            chrono::NaiveDate::from_ymd_opt(2026, 1, 20).unwrap(),
            "",
        );
        // Owed January only; February and March were paid before the death was recorded.
        let owed = map(&[("2026-01", 169_400)]);
        let paid = map(&[
            ("2026-01", 169_400),
            ("2026-02", 169_400),
            ("2026-03", 169_400),
        ]);
        let adj = adjustments(&owed, &paid, m("2026-03"), m("2025-06"), Some(&death));
        assert_eq!(adj.len(), 2);
        assert_eq!(adj[0].for_month, m("2026-02"));
        assert_eq!(adj[0].amount, Fen(-169_400));
        assert_eq!(
            adj[0].reason,
            "追回 2026-02 多发（2026-01-20 死亡，自 2026-02 起停发）"
        );
    }

    #[test]
    fn a_missed_month_is_paid_later_and_months_after_the_locked_ones_wait_their_roll() {
        let owed = map(&[
            ("2026-02", 169_400),
            ("2026-03", 169_400),
            ("2026-04", 169_400),
        ]);
        let paid = map(&[("2026-03", 160_000)]);
        let adj = adjustments(&owed, &paid, m("2026-03"), m("2026-02"), None);
        assert_eq!(
            adj.iter()
                .map(|a| (a.for_month.to_string(), a.amount.0))
                .collect::<Vec<_>>(),
            [
                ("2026-02".to_string(), 169_400),
                ("2026-03".to_string(), 9_400)
            ]
        );
        assert_eq!(
            adj[0].reason,
            "补发 2026-02（自 2026-02 起应发，该月名册未发放）"
        );
        assert_eq!(
            adj[1].reason,
            "补发 2026-03 差额（应发 1694.00，已发 1600.00）"
        );
    }

    #[test]
    fn changes_name_the_new_the_stopped_and_the_changed() {
        let before: BTreeMap<String, Fen> = [
            ("a".to_string(), Fen(100)),
            ("b".into(), Fen(100)),
            ("c".into(), Fen(100)),
        ]
        .into();
        let now: BTreeMap<String, Fen> = [
            ("b".to_string(), Fen(100)),
            ("c".into(), Fen(120)),
            ("d".into(), Fen(100)),
        ]
        .into();
        let got: Vec<(&str, Change)> = changes(&before, &now)
            .into_iter()
            .map(|(c, k, _, _)| (c, k))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Change::Stopped),
                ("c", Change::Amount),
                ("d", Change::New)
            ]
        );
    }

    proptest! {
        /// After the adjustments, every month up to the latest locked one has been paid
        /// exactly what it was owed; nothing is adjusted past it; and a second
        /// reconciliation finds nothing more (a locked roll is never touched again).
        #[test]
        fn adjustments_settle_every_locked_month_once(
            owed in prop::collection::btree_map(0i32..24, 0i64..300_000, 0..24),
            paid in prop::collection::btree_map(0i32..24, -50_000i64..300_000, 0..24),
            through in 0i32..24,
        ) {
            let base = m("2025-01");
            let owed: BTreeMap<Month, Fen> = owed.into_iter().map(|(k, v)| (base.plus(k), Fen(v))).collect();
            let mut paid: BTreeMap<Month, Fen> = paid.into_iter().map(|(k, v)| (base.plus(k), Fen(v))).collect();
            let through = base.plus(through);
            let adj = adjustments(&owed, &paid, through, base, None);
            for a in &adj {
                prop_assert!(a.for_month <= through);
                prop_assert!(!a.amount.is_zero());
                *paid.entry(a.for_month).or_default() += a.amount;
            }
            for month in base.through(through) {
                prop_assert_eq!(
                    paid.get(&month).copied().unwrap_or_default(),
                    owed.get(&month).copied().unwrap_or_default(),
                    "{}", month
                );
            }
            prop_assert!(adjustments(&owed, &paid, through, base, None).is_empty());
        }
    }
}
