//! Calendar months ("YYYY-MM"): what allowances are paid for, standards run over and
//! totals are counted by.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{normalise, Invalid};

/// A calendar month. Ordered; `next` and `prev` cross year boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Months since year 0: year * 12 + (month - 1).
    index: i32,
}

/// The months the platform accepts: from 2000-01 to 2099-12 (the API documents the same
/// range as its pattern).
pub const FIRST_YEAR: i32 = 2000;
pub const LAST_YEAR: i32 = 2099;

/// `^20[0-9]{2}-(0[1-9]|1[0-2])$`: the months [`Month::parse`] takes, for the OpenAPI
/// document.
pub const MONTH_PATTERN: &str = "^20[0-9]{2}-(0[1-9]|1[0-2])$";

impl Month {
    /// None for a month outside 1..=12.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        (1..=12).contains(&month).then(|| Month {
            index: year * 12 + month as i32 - 1,
        })
    }

    /// The month a date falls in.
    pub fn of(date: NaiveDate) -> Month {
        Month {
            index: date.year() * 12 + date.month0() as i32,
        }
    }

    pub fn year(self) -> i32 {
        self.index.div_euclid(12)
    }

    /// 1..=12
    pub fn month(self) -> u32 {
        self.index.rem_euclid(12) as u32 + 1
    }

    pub fn next(self) -> Month {
        self.plus(1)
    }

    pub fn prev(self) -> Month {
        self.plus(-1)
    }

    /// The month `months` later (earlier when negative).
    pub fn plus(self, months: i32) -> Month {
        Month {
            index: self.index + months,
        }
    }

    /// Months from `self` to `later` (negative when `later` is earlier).
    pub fn until(self, later: Month) -> i32 {
        later.index - self.index
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year(), self.month(), 1).expect("the 1st exists")
    }

    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .expect("a day before the 1st")
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        Month::of(date) == self
    }

    /// Every month from `self` to `last`, both included (empty when `last` is earlier).
    pub fn through(self, last: Month) -> impl Iterator<Item = Month> {
        (self.index..=last.index).map(|index| Month { index })
    }

    /// "2026年3月"
    pub fn label(self) -> String {
        format!("{}年{}月", self.year(), self.month())
    }

    /// Parses "2026-03" (also "2026-3", "2026年3月", "2026/03", full-width digits) within
    /// [`FIRST_YEAR`]..=[`LAST_YEAR`]; `field_label` names the field in the refusal.
    pub fn parse(field_label: &str, input: &str) -> Result<Month, Invalid> {
        let s: String = normalise(input)
            .chars()
            .map(|c| match c {
                '年' | '/' | '.' => '-',
                '月' => ' ',
                c => c,
            })
            .collect();
        let s = s.trim();
        let bad = || {
            Invalid::new(
                "month_format",
                format!(
                    "{field_label}“{}”不是有效月份：请按 2026-03 的格式填写（{FIRST_YEAR} 年至 {LAST_YEAR} 年）",
                    input.trim()
                ),
            )
        };
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.is_empty() || m.len() > 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) || !m.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        Month::new(year, month).ok_or_else(bad)
    }
}

impl Month {
    /// Parses exactly "YYYY-MM" within the range ([`MONTH_PATTERN`]): what the API takes.
    pub fn parse_exact(field_label: &str, input: &str) -> Result<Month, Invalid> {
        let b = input.as_bytes();
        let canonical = b.len() == 7
            && b[4] == b'-'
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[5..].iter().all(u8::is_ascii_digit);
        if !canonical {
            return Err(Invalid::new(
                "month_format",
                format!(
                    "{field_label}“{input}”不是有效月份：请按 2026-03 的格式填写（{FIRST_YEAR} 年至 {LAST_YEAR} 年）"
                ),
            ));
        }
        Month::parse(field_label, input)
    }
}

impl fmt::Display for Month {
    /// "2026-03"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        let s = String::deserialize(d)?;
        Month::parse("月份", &s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn m(s: &str) -> Month {
        Month::parse("月份", s).unwrap()
    }

    #[test]
    fn months_cross_year_boundaries_and_know_their_days() {
        assert_eq!(m("2025-12").next(), m("2026-01"));
        assert_eq!(m("2026-01").prev(), m("2025-12"));
        assert_eq!(Month::of(d("2024-02-29")), m("2024-02"));
        assert_eq!(m("2024-02").last_day(), d("2024-02-29"));
        assert_eq!(m("2025-02").last_day(), d("2025-02-28"));
        assert_eq!(m("2025-12").last_day(), d("2025-12-31"));
        assert_eq!(m("2025-11").until(m("2026-02")), 3);
        assert_eq!(
            m("2025-11")
                .through(m("2026-02"))
                .map(|x| x.to_string())
                .collect::<Vec<_>>(),
            ["2025-11", "2025-12", "2026-01", "2026-02"]
        );
        assert_eq!(m("2026-03").through(m("2026-02")).count(), 0);
        assert_eq!(m("2026-03").label(), "2026年3月");
    }

    #[test]
    fn months_parse_as_typed_and_refuse_with_the_field_named() {
        assert_eq!(m("2026-3").to_string(), "2026-03");
        assert_eq!(m("２０２６年３月").to_string(), "2026-03");
        assert_eq!(m("2026/12").to_string(), "2026-12");
        for bad in [
            "2026-13", "2026-00", "1999-12", "2100-01", "26-03", "2026", "2026-1a", "2026-+1",
        ] {
            let e = Month::parse("起始月份", bad).unwrap_err();
            assert!(e.message.starts_with("起始月份"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn the_documented_pattern_is_the_parser_on_canonical_text() {
        // Every month of the range, and the neighbours just outside it, in the canonical
        // form the API sends: the parser takes exactly those the pattern describes.
        let inside = |s: &str| {
            let b = s.as_bytes();
            s.len() == 7
                && &s[..2] == "20"
                && b[2].is_ascii_digit()
                && b[3].is_ascii_digit()
                && b[4] == b'-'
                && matches!(
                    &s[5..],
                    "01" | "02"
                        | "03"
                        | "04"
                        | "05"
                        | "06"
                        | "07"
                        | "08"
                        | "09"
                        | "10"
                        | "11"
                        | "12"
                )
        };
        for y in 1998..=2101 {
            for mo in 0..=13 {
                let s = format!("{y:04}-{mo:02}");
                assert_eq!(Month::parse("月份", &s).is_ok(), inside(&s), "{s}");
                assert_eq!(Month::parse_exact("月份", &s).is_ok(), inside(&s), "{s}");
            }
        }
        for loose in ["2026-3", " 2026-03", "2026/03", "２０２６-03", "2026-03 "] {
            assert!(Month::parse_exact("月份", loose).is_err(), "{loose}");
        }
        assert_eq!(MONTH_PATTERN, "^20[0-9]{2}-(0[1-9]|1[0-2])$");
    }

    proptest! {
        #[test]
        fn printed_months_parse_back_and_keep_their_order(a in 24_000i32..25_199, b in 24_000i32..25_199) {
            let (x, y) = (Month { index: a }, Month { index: b });
            prop_assert_eq!(Month::parse("月份", &x.to_string()).unwrap(), x);
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
            prop_assert_eq!(x.plus(x.until(y)), y);
            prop_assert_eq!(Month::of(x.first_day()), x);
            prop_assert_eq!(Month::of(x.last_day()), x);
            prop_assert_eq!(x.last_day().succ_opt().map(Month::of), Some(x.next()));
        }
    }
}
