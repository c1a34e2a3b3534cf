//! Standards (保障标准): an amount per month for a type at a division, inherited down the
//! division tree unless a lower division sets its own, over a period of months; or a share
//! of another type's standard (事实无人抚养 = 100% of 社会散居孤儿), which then moves when
//! that one moves.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::division::DivisionCode;
use crate::error::Invalid;
use crate::money::Fen;
use crate::month::Month;

/// A follower's share may be 1% to 1000% of the standard it follows.
pub const MAX_PERCENT: u32 = 1000;
/// Follow links resolved at most this deep (a chain this long is a configuration error).
const MAX_FOLLOW: usize = 8;

/// What a standard pays a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Amount {
    Fixed(Fen),
    /// `percent`% of `type_code`'s standard in force at the same place and month.
    Follows {
        type_code: String,
        percent: u32,
    },
}

/// One version of a standard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standard {
    pub id: String,
    pub type_code: String,
    pub division: DivisionCode,
    pub from: Month,
    /// Last month included; None: open.
    pub to: Option<Month>,
    pub amount: Amount,
}

impl Standard {
    pub fn covers(&self, month: Month) -> bool {
        self.from <= month && self.to.is_none_or(|to| month <= to)
    }

    /// "1,694.00 元/月" or "社会散居孤儿标准的 100%".
    pub fn describe(&self, label_of: impl Fn(&str) -> String) -> String {
        match &self.amount {
            Amount::Fixed(f) => format!("{f}/月"),
            Amount::Follows { type_code, percent } => {
                format!("{}标准的 {percent}%", label_of(type_code))
            }
        }
    }
}

/// A standard resolved for one place and month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub amount: Fen,
    /// The version that decided it (the follower's own when it follows another).
    pub standard_id: String,
    /// Where it was set (the place itself or an ancestor).
    pub division: DivisionCode,
}

/// Why no amount could be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// No division on the place's path has a version covering the month.
    Missing { type_code: String },
    /// Follow links go round or too deep.
    Cycle { chain: Vec<String> },
}

impl Unresolved {
    pub fn message(&self, label_of: impl Fn(&str) -> String, month: Month) -> String {
        match self {
            Unresolved::Missing { type_code } => format!(
                "{}在 {month} 没有适用的保障标准：请先设置标准",
                label_of(type_code)
            ),
            Unresolved::Cycle { chain } => format!(
                "保障标准的参照关系循环：{}",
                chain
                    .iter()
                    .map(|c| label_of(c))
                    .collect::<Vec<_>>()
                    .join(" → ")
            ),
        }
    }
}

/// Every standard version known, for resolution.
#[derive(Debug, Clone, Default)]
pub struct StandardBook {
    /// By type code.
    by_type: HashMap<String, Vec<Standard>>,
}

impl StandardBook {
    pub fn new(standards: Vec<Standard>) -> StandardBook {
        let mut by_type: HashMap<String, Vec<Standard>> = HashMap::new();
        for s in standards {
            by_type.entry(s.type_code.clone()).or_default().push(s);
        }
        StandardBook { by_type }
    }

    pub fn all(&self) -> impl Iterator<Item = &Standard> {
        self.by_type.values().flatten()
    }

    /// The version in force for `type_code` at `place` in `month`: the most specific
    /// division on the place's path (the place itself first) with a version covering the
    /// month; of several there, the one that started last.
    pub fn find(&self, type_code: &str, place: DivisionCode, month: Month) -> Option<&Standard> {
        let versions = self.by_type.get(type_code)?;
        let mut path = vec![place];
        path.extend(place.ancestors().into_iter().rev());
        path.into_iter().find_map(|at| {
            versions
                .iter()
                .filter(|s| s.division == at && s.covers(month))
                .max_by_key(|s| (s.from, s.id.as_str()))
        })
    }

    /// The amount for `type_code` at `place` in `month`, following links to other types.
    pub fn amount(
        &self,
        type_code: &str,
        place: DivisionCode,
        month: Month,
    ) -> Result<Resolved, Unresolved> {
        let mut chain = vec![type_code.to_string()];
        let mut share: i128 = 1;
        let mut scale: i128 = 1;
        let mut own: Option<(String, DivisionCode)> = None;
        let mut code = type_code.to_string();
        loop {
            let Some(s) = self.find(&code, place, month) else {
                return Err(Unresolved::Missing { type_code: code });
            };
            own.get_or_insert_with(|| (s.id.clone(), s.division));
            match &s.amount {
                Amount::Fixed(fen) => {
                    let (standard_id, division) = own.expect("set above");
                    // Percentages multiply down the chain; round once at the end.
                    let value = i128::from(fen.0) * share;
                    let amount = if scale == 1 {
                        value
                    } else {
                        (value + scale / 2) / scale
                    };
                    return Ok(Resolved {
                        amount: Fen(amount as i64),
                        standard_id,
                        division,
                    });
                }
                Amount::Follows { type_code, percent } => {
                    if chain.contains(type_code) || chain.len() > MAX_FOLLOW {
                        chain.push(type_code.clone());
                        return Err(Unresolved::Cycle { chain });
                    }
                    share *= i128::from(*percent);
                    scale *= 100;
                    chain.push(type_code.clone());
                    code = type_code.clone();
                }
            }
        }
    }

    /// Checks a new version against the others: the period, no link to itself, no loop of
    /// links between types (whatever the divisions and months), and no second version of
    /// the type at the same division starting the same month.
    pub fn check_new(&self, new: &Standard) -> Result<(), NewStandardRefused> {
        if let Some(to) = new.to {
            if to < new.from {
                return Err(NewStandardRefused::Invalid {
                    field: "to_month",
                    invalid: Invalid::new(
                        "period_order",
                        format!("截止月份 {to} 早于起始月份 {}：请核对执行期间", new.from),
                    ),
                });
            }
        }
        if let Amount::Follows { type_code, percent } = &new.amount {
            if !(1..=MAX_PERCENT).contains(percent) {
                return Err(NewStandardRefused::Invalid {
                    field: "follows_percent",
                    invalid: Invalid::new(
                        "percent_range",
                        format!("参照比例应为 1 到 {MAX_PERCENT}（%），实际为 {percent}"),
                    ),
                });
            }
            if *type_code == new.type_code {
                return Err(NewStandardRefused::Invalid {
                    field: "follows_type",
                    invalid: Invalid::new("follows_self", "保障标准不能参照其自身"),
                });
            }
            // Links between types, with the new one.
            let mut edges: Vec<(&str, &str)> = self
                .all()
                .filter_map(|s| match &s.amount {
                    Amount::Follows { type_code, .. } => {
                        Some((s.type_code.as_str(), type_code.as_str()))
                    }
                    Amount::Fixed(_) => None,
                })
                .collect();
            edges.push((new.type_code.as_str(), type_code.as_str()));
            if let Some(chain) = loop_through(&edges, &new.type_code) {
                return Err(NewStandardRefused::Invalid {
                    field: "follows_type",
                    invalid: Invalid::new(
                        "follows_cycle",
                        format!(
                            "参照关系会形成循环（{}）：请改为固定金额",
                            chain.join(" → ")
                        ),
                    ),
                });
            }
        }
        if self.by_type.get(&new.type_code).is_some_and(|v| {
            v.iter()
                .any(|s| s.division == new.division && s.from == new.from)
        }) {
            return Err(NewStandardRefused::Duplicate);
        }
        Ok(())
    }
}

/// Why a new version is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewStandardRefused {
    Invalid {
        field: &'static str,
        invalid: Invalid,
    },
    /// The same type, division and first month as an existing version.
    Duplicate,
}

/// A loop of links from `start` back to it, if any (as the chain of type codes).
fn loop_through(edges: &[(&str, &str)], start: &str) -> Option<Vec<String>> {
    fn walk(
        edges: &[(&str, &str)],
        at: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for (_, to) in edges.iter().filter(|(f, _)| *f == at) {
            path.push(to.to_string());
            if *to == start {
                return true;
            }
            if seen.insert(to.to_string()) && walk(edges, to, start, path, seen) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![start.to_string()];
    let mut seen = BTreeSet::new();
    walk(edges, start, start, &mut path, &mut seen).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).unwrap()
    }

    fn m(s: &str) -> Month {
        Month::parse("月份", s).unwrap()
    }

    fn fixed(id: &str, t: &str, at: &str, from: &str, to: Option<&str>, yuan: i64) -> Standard {
        Standard {
            id: id.into(),
            type_code: t.into(),
            division: code(at),
            from: m(from),
            to: to.map(m),
            amount: Amount::Fixed(Fen::from_yuan(yuan)),
        }
    }

    fn follows(id: &str, t: &str, at: &str, from: &str, base: &str, percent: u32) -> Standard {
        Standard {
            id: id.into(),
            type_code: t.into(),
            division: code(at),
            from: m(from),
            to: None,
            amount: Amount::Follows {
                type_code: base.into(),
                percent,
            },
        }
    }

    const VILLAGE: &str = "510812100200";

    #[test]
    fn a_province_standard_reaches_every_village_until_a_county_sets_its_own() {
        let book = StandardBook::new(vec![
            fixed("p", "orphan_scattered", "51", "2024-01", None, 1200),
            fixed(
                "c",
                "orphan_scattered",
                "510812",
                "2025-07",
                Some("2025-12"),
                1694,
            ),
        ]);
        let at = |month: &str| {
            book.amount("orphan_scattered", code(VILLAGE), m(month))
                .map(|r| (r.amount, r.standard_id))
        };
        assert_eq!(at("2025-06"), Ok((Fen::from_yuan(1200), "p".into())));
        assert_eq!(at("2025-07"), Ok((Fen::from_yuan(1694), "c".into())));
        assert_eq!(at("2025-12"), Ok((Fen::from_yuan(1694), "c".into())));
        // The county's period ended: the province's applies again.
        assert_eq!(at("2026-01"), Ok((Fen::from_yuan(1200), "p".into())));
        // Before any standard, and in another province: nothing.
        assert_eq!(
            at("2023-12"),
            Err(Unresolved::Missing {
                type_code: "orphan_scattered".into()
            })
        );
        assert!(book
            .amount("orphan_scattered", code("370781100200"), m("2025-07"))
            .is_err());
    }

    #[test]
    fn a_standard_changed_mid_year_pays_the_old_amount_before_and_the_new_after() {
        let book = StandardBook::new(vec![
            fixed("a", "orphan_scattered", "510812", "2025-01", None, 1600),
            fixed("b", "orphan_scattered", "510812", "2025-07", None, 1694),
        ]);
        let months: Vec<i64> = m("2025-01")
            .through(m("2025-12"))
            .map(|mo| {
                book.amount("orphan_scattered", code(VILLAGE), mo)
                    .unwrap()
                    .amount
                    .0
                    / 100
            })
            .collect();
        assert_eq!(
            months,
            [1600, 1600, 1600, 1600, 1600, 1600, 1694, 1694, 1694, 1694, 1694, 1694]
        );
    }

    #[test]
    fn a_follower_moves_when_the_standard_it_follows_moves() {
        let book = StandardBook::new(vec![
            fixed("a", "orphan_scattered", "510812", "2025-01", None, 1600),
            fixed("b", "orphan_scattered", "510812", "2025-07", None, 1694),
            // Set at the province: follows whatever 社会散居 is at the child's place.
            follows(
                "f",
                "factually_unsupported",
                "51",
                "2025-01",
                "orphan_scattered",
                100,
            ),
            follows(
                "h",
                "hiv_affected",
                "51",
                "2025-01",
                "factually_unsupported",
                80,
            ),
        ]);
        let fu = |month: &str| {
            book.amount("factually_unsupported", code(VILLAGE), m(month))
                .unwrap()
        };
        assert_eq!(fu("2025-06").amount, Fen::from_yuan(1600));
        assert_eq!(fu("2025-07").amount, Fen::from_yuan(1694));
        assert_eq!(
            fu("2025-07").standard_id,
            "f",
            "the follower's own version decided"
        );
        assert_eq!(fu("2025-07").division, code("51"));
        // 80% of 100% of 1,694.00, rounded once.
        assert_eq!(
            book.amount("hiv_affected", code(VILLAGE), m("2025-07"))
                .unwrap()
                .amount,
            Fen(135_520)
        );
    }

    #[test]
    fn loops_of_links_and_bad_periods_are_refused_with_the_field_named() {
        let book = StandardBook::new(vec![follows(
            "f",
            "factually_unsupported",
            "51",
            "2025-01",
            "orphan_scattered",
            100,
        )]);
        let back = follows(
            "x",
            "orphan_scattered",
            "510812",
            "2025-01",
            "factually_unsupported",
            100,
        );
        match book.check_new(&back) {
            Err(NewStandardRefused::Invalid { field, invalid }) => {
                assert_eq!(field, "follows_type");
                assert!(
                    invalid
                        .message
                        .contains("orphan_scattered → factually_unsupported → orphan_scattered"),
                    "{}",
                    invalid.message
                );
            }
            other => panic!("{other:?}"),
        }
        let own = follows("y", "distressed", "510812", "2025-01", "distressed", 100);
        assert!(matches!(
            book.check_new(&own),
            Err(NewStandardRefused::Invalid {
                field: "follows_type",
                ..
            })
        ));
        let backwards = fixed("z", "distressed", "510812", "2025-05", Some("2025-04"), 500);
        assert!(matches!(
            book.check_new(&backwards),
            Err(NewStandardRefused::Invalid {
                field: "to_month",
                ..
            })
        ));
        let same_start = follows(
            "w",
            "factually_unsupported",
            "51",
            "2025-01",
            "orphan_scattered",
            90,
        );
        assert_eq!(
            book.check_new(&same_start),
            Err(NewStandardRefused::Duplicate)
        );
        // A loop in the stored links still resolves to an error, not a hang.
        let looped = StandardBook::new(vec![
            follows("a", "t1", "51", "2025-01", "t2", 100),
            follows("b", "t2", "510812", "2025-01", "t1", 100),
        ]);
        assert!(matches!(
            looped.amount("t1", code(VILLAGE), m("2025-03")),
            Err(Unresolved::Cycle { .. })
        ));
    }

    proptest! {
        /// However versions are laid out at a county, every month gets the amount of the
        /// version that started last among those covering it (none before the first).
        #[test]
        fn each_month_gets_the_latest_started_version_covering_it(
            versions in prop::collection::vec((0i32..36, prop::option::of(0i32..24), 1i64..5000), 1..6),
        ) {
            let base = m("2024-01");
            let standards: Vec<Standard> = versions
                .iter()
                .enumerate()
                .map(|(i, (from, len, yuan))| Standard {
                    id: format!("v{i}"),
                    type_code: "orphan_scattered".into(),
                    division: code("510812"),
                    from: base.plus(*from),
                    to: len.map(|l| base.plus(from + l)),
                    amount: Amount::Fixed(Fen::from_yuan(*yuan)),
                })
                .collect();
            let book = StandardBook::new(standards.clone());
            for month in base.through(base.plus(70)) {
                let expected = standards
                    .iter()
                    .filter(|s| s.covers(month))
                    .max_by_key(|s| (s.from, s.id.clone()))
                    .map(|s| s.amount.clone());
                let got = book
                    .amount("orphan_scattered", code(VILLAGE), month)
                    .ok()
                    .map(|r| Amount::Fixed(r.amount));
                prop_assert_eq!(got, expected, "{}", month);
            }
        }
    }
}
