//! 统计期: the period a figure is counted over, and the periods it is compared with (上期,
//! 去年同期).

use chrono::{Datelike, Duration, NaiveDate};

use crate::error::Invalid;
use crate::month::Month;

/// Both ends inclusive; `from` not after `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The period a request names, defaulting to this month up to today. The years must
    /// be those the platform keeps (2000 to 2099).
    pub fn parse(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Period, (&'static str, Invalid)> {
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| Month::of(to).first_day());
        for (field, d) in [("to", to), ("from", from)] {
            if !(2000..=2099).contains(&d.year()) {
                return Err((
                    field,
                    Invalid::new("year_range", "统计日期应在 2000 年到 2099 年之间"),
                ));
            }
        }
        if from > to {
            return Err((
                "from",
                Invalid::new(
                    "period_order",
                    "开始日期晚于结束日期：请把开始日期改为不晚于结束日期",
                ),
            ));
        }
        Ok(Period { from, to })
    }

    pub fn days(self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Whether the period is whole calendar months (the 1st to a month's last day).
    fn whole_months(self) -> Option<(Month, Month)> {
        let (first, last) = (Month::of(self.from), Month::of(self.to));
        (self.from == first.first_day() && self.to == last.last_day()).then_some((first, last))
    }

    /// 上期: the period of the same length just before; whole months give the same number
    /// of whole months before (a quarter the quarter before).
    pub fn previous(self) -> Period {
        if let Some((first, last)) = self.whole_months() {
            let n = first.until(last) + 1;
            let (f, l) = (first.plus(-n), last.plus(-n));
            return Period {
                from: f.first_day(),
                to: l.last_day(),
            };
        }
        let to = self.from - Duration::days(1);
        Period {
            from: to - Duration::days(self.days() - 1),
            to,
        }
    }

    /// 去年同期: the same dates a year before (29 February as the 28th).
    pub fn year_before(self) -> Period {
        let back = |d: NaiveDate| {
            NaiveDate::from_ymd_opt(d.year() - 1, d.month(), d.day())
                .or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, d.month(), 28))
                .expect("a valid date")
        };
        if let Some((first, last)) = self.whole_months() {
            return Period {
                from: first.plus(-12).first_day(),
                to: last.plus(-12).last_day(),
            };
        }
        Period {
            from: back(self.from),
            to: back(self.to),
        }
    }

    /// "2026年1月1日至2026年6月30日", or "2026年6月" for one whole month.
    pub fn label(self) -> String {
        let day = |d: NaiveDate| format!("{}年{}月{}日", d.year(), d.month(), d.day());
        match self.whole_months() {
            Some((f, l)) if f == l => format!("{}年{}月", f.year(), f.month()),
            Some((f, l)) if f.year() == l.year() && f.month() == 1 && l.month() == 12 => {
                format!("{}年", f.year())
            }
            _ => format!("{}至{}", day(self.from), day(self.to)),
        }
    }
}

/// A figure's change against a base, as reports write it: "增长12.5%", "下降3.0%", "持平";
/// none when the base is zero.
pub fn change_text(now: i64, base: i64) -> Option<String> {
    if base == 0 {
        return None;
    }
    let diff = i128::from(now - base);
    let base = i128::from(base);
    // Tenths of a per cent, rounded half away from zero.
    let tenths = (diff.abs() * 1000 + base.abs() / 2) / base.abs();
    let text = format!("{}.{}%", tenths / 10, tenths % 10);
    Some(match (tenths, diff.signum() * base.signum()) {
        (0, _) => "持平".to_string(),
        (_, 1) => format!("增长{text}"),
        _ => format!("下降{text}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn p(from: &str, to: &str) -> Period {
        Period {
            from: d(from),
            to: d(to),
        }
    }

    #[test]
    fn the_default_is_this_month_to_today_and_bad_periods_name_their_field() {
        let today = d("2026-12-07");
        assert_eq!(
            Period::parse(None, None, today).unwrap(),
            p("2026-12-01", "2026-12-07")
        );
        let (field, e) = Period::parse(Some(d("2026-12-08")), None, today).unwrap_err();
        assert_eq!((field, e.code), ("from", "period_order"));
        let (field, _) = Period::parse(None, Some(d("1999-12-31")), today).unwrap_err();
        assert_eq!(field, "to");
    }

    #[test]
    fn a_quarter_compares_with_the_quarter_before_and_the_same_quarter_last_year() {
        let q = p("2026-04-01", "2026-06-30");
        assert_eq!(q.previous(), p("2026-01-01", "2026-03-31"));
        assert_eq!(q.year_before(), p("2025-04-01", "2025-06-30"));
        let feb = p("2024-02-01", "2024-02-29");
        assert_eq!(feb.year_before(), p("2023-02-01", "2023-02-28"));
        assert_eq!(feb.previous(), p("2024-01-01", "2024-01-31"));
        // Any other span: the same number of days just before.
        let part = p("2026-12-01", "2026-12-07");
        assert_eq!(part.previous(), p("2026-11-24", "2026-11-30"));
        assert_eq!(part.year_before(), p("2025-12-01", "2025-12-07"));
    }

    #[test]
    fn labels_and_changes_read_as_a_report_writes_them() {
        assert_eq!(p("2026-06-01", "2026-06-30").label(), "2026年6月");
        assert_eq!(p("2026-01-01", "2026-12-31").label(), "2026年");
        assert_eq!(
            p("2026-01-01", "2026-06-15").label(),
            "2026年1月1日至2026年6月15日"
        );
        assert_eq!(change_text(1125, 1000).as_deref(), Some("增长12.5%"));
        assert_eq!(change_text(970, 1000).as_deref(), Some("下降3.0%"));
        assert_eq!(change_text(7, 7).as_deref(), Some("持平"));
        assert_eq!(change_text(2, 3).as_deref(), Some("下降33.3%"));
        assert_eq!(change_text(5, 0), None);
    }
}
