//! Money (金额): integer 分 everywhere, shown as yuan with two decimals, and totals in
//! 万元 as the seeds write them ("已发放基本生活费190.09万元").

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{normalise, Invalid};

/// An amount in 分 (1/100 yuan). Never a float: sums of a county's year stay exact.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// The largest amount a single figure may hold: 100 亿元, far above a province's year.
pub const MAX_FEN: i64 = 1_000_000_000_000;

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    pub fn fen(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `percent` per cent of this amount, rounded half away from zero to the 分
    /// (a standard that follows another at 80%: 1,694.00 → 1,355.20).
    pub fn percent(self, percent: u32) -> Fen {
        let scaled = i128::from(self.0) * i128::from(percent);
        let rounded = if scaled >= 0 {
            (scaled + 50) / 100
        } else {
            (scaled - 50) / 100
        };
        Fen(rounded.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }

    /// Yuan with two decimals, no grouping: "1694.00", "-100.50" (bank files, CSV).
    pub fn yuan(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// Yuan with two decimals and thousands grouped: "1,694.00" (pages, printouts).
    pub fn yuan_grouped(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", group(abs / 100), abs % 100)
    }

    /// 万元 with two decimals, rounded half away from zero, as the seeds write totals:
    /// 123,600.00 yuan → "12.36".
    pub fn wan(self) -> String {
        // 1 万元 = 1,000,000 分; two decimals are units of 10,000 分 (100 yuan).
        let abs = self.0.unsigned_abs();
        let hundreds = (abs + 5_000) / 10_000;
        let sign = if self.0 < 0 && hundreds > 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", hundreds / 100, hundreds % 100)
    }

    /// Parses yuan as people type them: "1694", "1,694.00", "１６９４．５", "1694元".
    /// At most two decimals; not negative; at most [`MAX_FEN`]. `field_label` names the
    /// field in the refusal.
    pub fn parse_yuan(field_label: &str, input: &str) -> Result<Fen, Invalid> {
        let s: String = normalise(input)
            .chars()
            .filter(|c| !matches!(c, ',' | ' ' | '，'))
            .collect();
        let s = s.trim_end_matches('元').trim();
        let bad = || {
            Invalid::new(
                "amount_format",
                format!(
                    "{field_label}“{}”不是有效金额：请填写元，最多两位小数，如 1694 或 1694.00",
                    input.trim()
                ),
            )
        };
        if s.is_empty() {
            return Err(Invalid::new(
                "amount_empty",
                format!("{field_label}不能为空：请填写元，如 1694.00"),
            ));
        }
        if s.starts_with('-') {
            return Err(Invalid::new(
                "amount_negative",
                format!("{field_label}不能为负数"),
            ));
        }
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if whole.is_empty() && frac.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        if frac.len() > 2 {
            return Err(Invalid::new(
                "amount_precision",
                format!("{field_label}“{}”最多两位小数（到分）", input.trim()),
            ));
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        let fen = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(cents))
            .filter(|f| *f <= MAX_FEN)
            .ok_or_else(|| {
                Invalid::new(
                    "amount_too_large",
                    format!("{field_label}“{}”超出上限，请核对", input.trim()),
                )
            })?;
        Ok(Fen(fen))
    }
}

impl std::ops::Add for Fen {
    type Output = Fen;
    fn add(self, other: Fen) -> Fen {
        Fen(self.0 + other.0)
    }
}

impl std::ops::Sub for Fen {
    type Output = Fen;
    fn sub(self, other: Fen) -> Fen {
        Fen(self.0 - other.0)
    }
}

impl std::ops::AddAssign for Fen {
    fn add_assign(&mut self, other: Fen) {
        self.0 += other.0;
    }
}

impl std::ops::Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}

impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

impl fmt::Display for Fen {
    /// "1,694.00 元"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} 元", self.yuan_grouped())
    }
}

/// 1234567 → "1,234,567".
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let head = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        r => r,
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    out.push_str(&digits[..head]);
    for chunk in digits.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(chunk).expect("ASCII digits"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn yuan_and_wan_read_as_the_seeds_write_them() {
        assert_eq!(Fen(169_400).yuan(), "1694.00");
        assert_eq!(Fen(169_400).yuan_grouped(), "1,694.00");
        assert_eq!(Fen(123_456_789).yuan_grouped(), "1,234,567.89");
        assert_eq!(Fen(-10_050).yuan(), "-100.50");
        assert_eq!(Fen(5).yuan(), "0.05");
        // 朝天区: 12.36 万元 of 孤儿养育金, 29.04 万元 of 事实无人抚养 (seed 002).
        assert_eq!(Fen(12_360_000).wan(), "12.36");
        assert_eq!(Fen(29_041_234).wan(), "29.04");
        assert_eq!(Fen(190_090_000).wan(), "190.09");
        // Half a hundred yuan rounds up; less rounds down.
        assert_eq!(Fen(5_000).wan(), "0.01");
        assert_eq!(Fen(4_999).wan(), "0.00");
        assert_eq!(Fen(-4_999).wan(), "0.00");
        assert_eq!(Fen(-12_360_000).wan(), "-12.36");
        assert_eq!(Fen(169_400).to_string(), "1,694.00 元");
    }

    #[test]
    fn yuan_input_is_parsed_as_typed_and_refused_with_the_field_named() {
        for (input, fen) in [
            ("1694", 169_400),
            ("1,694.00", 169_400),
            ("１６９４．５", 169_450),
            ("1694元", 169_400),
            (" 0.05 ", 5),
            (".5", 50),
        ] {
            assert_eq!(Fen::parse_yuan("标准", input).unwrap(), Fen(fen), "{input}");
        }
        let e = Fen::parse_yuan("每月标准", "1694.005").unwrap_err();
        assert_eq!(e.code, "amount_precision");
        assert!(e.message.starts_with("每月标准"), "{}", e.message);
        assert_eq!(
            Fen::parse_yuan("标准", "-1").unwrap_err().code,
            "amount_negative"
        );
        assert_eq!(
            Fen::parse_yuan("标准", "").unwrap_err().code,
            "amount_empty"
        );
        assert_eq!(
            Fen::parse_yuan("标准", "一千").unwrap_err().code,
            "amount_format"
        );
        assert_eq!(
            Fen::parse_yuan("标准", ".").unwrap_err().code,
            "amount_format"
        );
        assert_eq!(
            Fen::parse_yuan("标准", "99999999999999").unwrap_err().code,
            "amount_too_large"
        );
    }

    #[test]
    fn a_following_standard_rounds_to_the_fen() {
        assert_eq!(Fen(169_400).percent(100), Fen(169_400));
        assert_eq!(Fen(169_400).percent(80), Fen(135_520));
        assert_eq!(Fen(333).percent(50), Fen(167), "166.5 rounds up");
        assert_eq!(Fen(-333).percent(50), Fen(-167));
    }

    proptest! {
        /// What yuan() prints, parse_yuan() reads back to the same 分.
        #[test]
        fn printed_yuan_parse_back(fen in 0i64..MAX_FEN) {
            prop_assert_eq!(Fen::parse_yuan("金额", &Fen(fen).yuan()).unwrap(), Fen(fen));
            prop_assert_eq!(Fen::parse_yuan("金额", &Fen(fen).yuan_grouped()).unwrap(), Fen(fen));
        }

        /// 万元 is the amount to the nearest 100 yuan, never off by more than half of it.
        #[test]
        fn wan_is_the_nearest_hundred_yuan(fen in -MAX_FEN..MAX_FEN) {
            let shown: f64 = Fen(fen).wan().parse().unwrap();
            let exact = fen as f64 / 1_000_000.0;
            prop_assert!((shown - exact).abs() <= 0.005 + 1e-9, "{} vs {}", shown, exact);
        }
    }
}
