//! The working-day calendar: each year's public holidays and the weekend days that become
//! working days (调休), as the State Council publishes them, and deadline arithmetic over
//! it in calendar days, working days or hours. A deadline that runs into a year whose
//! notice is not loaded is computed with weekends only and says so.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Weekday};

use crate::visit::cst;
use crate::Invalid;

/// One year's notice: holidays, and weekend days that are working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCalendar {
    pub year: i32,
    pub holidays: BTreeMap<NaiveDate, String>,
    pub workdays: BTreeMap<NaiveDate, String>,
    /// Where the dates come from (the notice's title), from the file's first comment.
    pub source: String,
}

/// The years shipped with the platform (国务院办公厅's notices for 2025 and 2026).
pub const SHIPPED: &[&str] = &[include_str!("cn-2025.txt"), include_str!("cn-2026.txt")];

fn line_error(n: usize, message: String) -> Invalid {
    Invalid::new("calendar_line", format!("第 {n} 行：{message}"))
}

fn parse_date(n: usize, s: &str) -> Result<NaiveDate, Invalid> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| line_error(n, format!("“{s}”不是日期：请写成 2026-10-01 这样的形式")))
}

impl YearCalendar {
    /// Parses a notice written as lines:
    ///
    /// ```text
    /// # 国务院办公厅关于2026年部分节假日安排的通知
    /// year 2026
    /// holiday 2026-10-01 2026-10-07 国庆节
    /// workday 2026-10-10 国庆节调休上班
    /// ```
    ///
    /// `holiday` takes one date or a first and last date; what follows is a note. Every
    /// date must lie in the year; a date cannot be both a holiday and a working day.
    pub fn parse(text: &str) -> Result<YearCalendar, Invalid> {
        let mut year = None;
        let mut source = String::new();
        let mut holidays = BTreeMap::new();
        let mut workdays = BTreeMap::new();
        let mut pending: Vec<(usize, NaiveDate, bool, String)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                if source.is_empty() {
                    source = comment.trim().to_string();
                }
                continue;
            }
            let mut words = line.split_whitespace();
            let keyword = words.next().unwrap_or_default();
            match keyword {
                "year" => {
                    let y: i32 = words
                        .next()
                        .and_then(|w| w.parse().ok())
                        .filter(|y| (2000..=2100).contains(y))
                        .ok_or_else(|| {
                            line_error(n, "year 后应是 2000 到 2100 之间的年份".into())
                        })?;
                    if year.replace(y).is_some() {
                        return Err(line_error(n, "一个文件只能有一个 year 行".into()));
                    }
                }
                "holiday" => {
                    let first = parse_date(n, words.next().unwrap_or_default())?;
                    let rest: Vec<&str> = words.collect();
                    let (last, note) = match rest.first() {
                        Some(w) if w.len() == 10 && w.as_bytes()[4] == b'-' => {
                            (parse_date(n, w)?, rest[1..].join(" "))
                        }
                        _ => (first, rest.join(" ")),
                    };
                    if last < first || (last - first).num_days() > 31 {
                        return Err(line_error(
                            n,
                            format!("放假区间 {first} 至 {last} 无效：结束日期不能早于开始日期，且不超过一个月"),
                        ));
                    }
                    let mut d = first;
                    while d <= last {
                        pending.push((n, d, true, note.clone()));
                        d += Duration::days(1);
                    }
                }
                "workday" => {
                    let d = parse_date(n, words.next().unwrap_or_default())?;
                    pending.push((n, d, false, words.collect::<Vec<_>>().join(" ")));
                }
                other => {
                    return Err(line_error(
                        n,
                        format!("无法识别“{other}”：每行应以 year、holiday、workday 或 # 开头"),
                    ))
                }
            }
        }
        let year = year.ok_or_else(|| {
            Invalid::new(
                "calendar_year",
                "日历文件缺少 year 行：第一行写 year 2027 这样的年份",
            )
        })?;
        for (n, d, holiday, note) in pending {
            if d.year() != year {
                return Err(line_error(n, format!("{d} 不在 {year} 年内")));
            }
            let (mine, other) = if holiday {
                (&mut holidays, &workdays)
            } else {
                (&mut workdays, &holidays)
            };
            if other.contains_key(&d) {
                return Err(line_error(n, format!("{d} 不能既放假又上班")));
            }
            mine.insert(d, note);
        }
        if holidays.is_empty() {
            return Err(Invalid::new(
                "calendar_empty",
                format!("{year} 年的日历没有任何放假日期：请按国务院办公厅的通知填写 holiday 行"),
            ));
        }
        Ok(YearCalendar {
            year,
            holidays,
            workdays,
            source,
        })
    }

    /// The notice as [`YearCalendar::parse`] reads it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if !self.source.is_empty() {
            out.push_str(&format!("# {}\n", self.source));
        }
        out.push_str(&format!("year {}\n", self.year));
        for (d, note) in &self.holidays {
            out.push_str(&format!("holiday {d} {note}\n"));
        }
        for (d, note) in &self.workdays {
            out.push_str(&format!("workday {d} {note}\n"));
        }
        out
    }
}

/// How long a deadline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// From the moment, e.g. an urgent report acknowledged within the hour.
    Hours(u32),
    /// Natural days, not counting the start day; a last day that is not a working day
    /// moves to the next working day (期间届满的最后一日是节假日的，以节假日后的第一日为届满日).
    Days(u32),
    /// Working days after the start day.
    WorkingDays(u32),
}

impl Span {
    /// "30 日", "5 个工作日", "1 小时".
    pub fn label(self) -> String {
        match self {
            Span::Hours(h) => format!("{h} 小时"),
            Span::Days(d) => format!("{d} 日"),
            Span::WorkingDays(d) => format!("{d} 个工作日"),
        }
    }
}

/// When something falls due, and which years it was computed for without their notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// UTC unix milliseconds: the end of the last day (Beijing time), or the exact moment
    /// for hours.
    pub at_ms: i64,
    /// Years the count ran through with no calendar loaded: weekends only, a guess.
    pub guessed_years: Vec<i32>,
}

/// The holidays and make-up working days of the loaded years.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, YearCalendar>,
}

impl Calendar {
    pub fn new(years: impl IntoIterator<Item = YearCalendar>) -> Calendar {
        Calendar {
            years: years.into_iter().map(|y| (y.year, y)).collect(),
        }
    }

    /// The shipped years.
    pub fn shipped() -> Calendar {
        Calendar::new(
            SHIPPED
                .iter()
                .map(|t| YearCalendar::parse(t).expect("the shipped calendars parse")),
        )
    }

    pub fn years(&self) -> impl Iterator<Item = &YearCalendar> {
        self.years.values()
    }

    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// Whether people work on `day`, and whether that is known (the year's notice is
    /// loaded) or a guess from the weekday.
    pub fn is_working_day(&self, day: NaiveDate) -> (bool, bool) {
        let weekday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        match self.years.get(&day.year()) {
            Some(y) if y.workdays.contains_key(&day) => (true, true),
            Some(y) if y.holidays.contains_key(&day) => (false, true),
            Some(_) => (weekday, true),
            None => (weekday, false),
        }
    }

    /// The deadline `span` after `from_ms` (UTC milliseconds).
    pub fn deadline(&self, from_ms: i64, span: Span) -> Deadline {
        let start = DateTime::from_timestamp_millis(from_ms)
            .unwrap_or_default()
            .with_timezone(&cst());
        let mut guessed = BTreeSet::new();
        let working = |d: NaiveDate, guessed: &mut BTreeSet<i32>| {
            let (w, known) = self.is_working_day(d);
            if !known {
                guessed.insert(d.year());
            }
            w
        };
        let day = start.date_naive();
        let last = match span {
            Span::Hours(h) => {
                return Deadline {
                    at_ms: from_ms + i64::from(h) * 3_600_000,
                    guessed_years: vec![],
                }
            }
            Span::Days(n) => {
                let mut d = day + Duration::days(i64::from(n));
                while !working(d, &mut guessed) {
                    d += Duration::days(1);
                }
                d
            }
            Span::WorkingDays(n) => {
                let mut d = day;
                let mut left = n;
                while left > 0 {
                    d += Duration::days(1);
                    if working(d, &mut guessed) {
                        left -= 1;
                    }
                }
                d
            }
        };
        Deadline {
            at_ms: end_of_day_ms(last),
            guessed_years: guessed.into_iter().collect(),
        }
    }
}

/// The last millisecond of a Beijing day, in UTC milliseconds.
pub fn end_of_day_ms(day: NaiveDate) -> i64 {
    let end = day.and_time(NaiveTime::from_hms_milli_opt(23, 59, 59, 999).expect("valid time"));
    cst()
        .from_local_datetime(&end)
        .single()
        .expect("Beijing time has no gaps")
        .timestamp_millis()
}

/// The first millisecond of a Beijing day, in UTC milliseconds.
pub fn start_of_day_ms(day: NaiveDate) -> i64 {
    cst()
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .single()
        .expect("Beijing time has no gaps")
        .timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Beijing noon of a day, in UTC milliseconds.
    fn noon(s: &str) -> i64 {
        end_of_day_ms(d(s)) - 12 * 3_600_000 + 1
    }

    fn due_day(dl: &Deadline) -> NaiveDate {
        DateTime::from_timestamp_millis(dl.at_ms)
            .unwrap()
            .with_timezone(&cst())
            .date_naive()
    }

    #[test]
    fn the_shipped_notices_parse_with_their_holidays_and_make_up_days() {
        let cal = Calendar::shipped();
        assert!(cal.has_year(2025) && cal.has_year(2026) && !cal.has_year(2027));
        // 2026: 春节 15-23 Feb off, Saturday 14 and 28 Feb worked.
        assert_eq!(cal.is_working_day(d("2026-02-16")), (false, true));
        assert_eq!(cal.is_working_day(d("2026-02-14")), (true, true));
        assert_eq!(cal.is_working_day(d("2026-02-28")), (true, true));
        assert_eq!(cal.is_working_day(d("2026-03-02")), (true, true));
        assert_eq!(cal.is_working_day(d("2026-03-07")), (false, true));
        // 2025: 国庆 1-8 Oct off; Sunday 28 Sep and Saturday 11 Oct worked.
        assert_eq!(cal.is_working_day(d("2025-10-08")), (false, true));
        assert_eq!(cal.is_working_day(d("2025-09-28")), (true, true));
        assert_eq!(cal.is_working_day(d("2025-10-11")), (true, true));
        // A year with no notice: weekdays, and the answer says it is a guess.
        assert_eq!(cal.is_working_day(d("2027-01-01")), (true, false));
        let y = cal.years().find(|y| y.year == 2026).unwrap();
        assert!(y.source.contains("2026年部分节假日安排"), "{}", y.source);
        assert_eq!(YearCalendar::parse(&y.to_text()).unwrap(), *y);
    }

    #[test]
    fn working_days_skip_holidays_and_count_make_up_saturdays() {
        let cal = Calendar::shipped();
        // Accepted Friday 13 Feb 2026: Saturday 14 Feb is a make-up working day (1), then
        // 15-23 Feb are the holiday, Tuesday 24 Feb is the 2nd ... Friday 27 the 5th.
        let dl = cal.deadline(noon("2026-02-13"), Span::WorkingDays(5));
        assert_eq!(due_day(&dl), d("2026-02-27"));
        assert!(dl.guessed_years.is_empty());
        // Sunday 20 Sep 2026 is worked: a task given Friday 18 Sep for 1 working day is
        // due that Sunday.
        let dl = cal.deadline(noon("2026-09-18"), Span::WorkingDays(1));
        assert_eq!(due_day(&dl), d("2026-09-20"));
        // Over 国庆: given Wednesday 30 Sep, 2 working days are Thursday 8 and Friday 9 Oct.
        let dl = cal.deadline(noon("2026-09-30"), Span::WorkingDays(2));
        assert_eq!(due_day(&dl), d("2026-10-09"));
    }

    #[test]
    fn calendar_days_do_not_count_the_first_day_and_roll_past_a_holiday() {
        let cal = Calendar::shipped();
        // 30 days from 1 March 2026: 31 March, a Tuesday.
        let dl = cal.deadline(noon("2026-03-01"), Span::Days(30));
        assert_eq!(due_day(&dl), d("2026-03-31"));
        // 30 days from 1 September 2026 end on 1 October, in the 国庆 holiday: the first
        // working day after it is Thursday 8 October.
        let dl = cal.deadline(noon("2026-09-01"), Span::Days(30));
        assert_eq!(due_day(&dl), d("2026-10-08"));
        // The end of the day, Beijing time.
        assert_eq!(dl.at_ms % 1000, 999);
    }

    #[test]
    fn a_deadline_into_a_year_without_its_notice_says_so() {
        let cal = Calendar::shipped();
        let dl = cal.deadline(noon("2026-12-20"), Span::Days(30));
        assert_eq!(dl.guessed_years, vec![2027]);
        let dl = cal.deadline(noon("2026-12-01"), Span::WorkingDays(5));
        assert!(dl.guessed_years.is_empty());
        let dl = cal.deadline(noon("2026-12-28"), Span::Hours(1));
        assert!(dl.guessed_years.is_empty());
        assert_eq!(dl.at_ms, noon("2026-12-28") + 3_600_000);
    }

    #[test]
    fn a_bad_notice_is_refused_naming_the_line() {
        for (text, says) in [
            ("holiday 2027-01-01", "缺少 year"),
            ("year 2027\nholiday 2027-13-01", "第 2 行"),
            ("year 2027\nholiday 2028-01-01", "不在 2027 年内"),
            (
                "year 2027\nholiday 2027-01-01\nworkday 2027-01-01",
                "既放假又上班",
            ),
            ("year 2027\nvacation 2027-01-01", "无法识别"),
            ("year 2027\nworkday 2027-01-02", "没有任何放假日期"),
            ("year 2027\nholiday 2027-01-05 2027-01-01", "结束日期"),
        ] {
            let e = YearCalendar::parse(text).unwrap_err();
            assert!(e.message.contains(says), "{text}: {}", e.message);
        }
    }

    proptest! {
        /// Counting n working days lands on a working day, with exactly n working days
        /// after the start day and up to it; n calendar days never end before start + n.
        #[test]
        fn deadlines_count_what_they_say(day in 0i64..760, n in 1u32..40) {
            let cal = Calendar::shipped();
            let start = d("2025-01-01") + Duration::days(day);
            let from = noon(&start.to_string());
            let dl = cal.deadline(from, Span::WorkingDays(n));
            let due = due_day(&dl);
            prop_assert!(cal.is_working_day(due).0);
            let mut count = 0;
            let mut x = start + Duration::days(1);
            while x <= due {
                if cal.is_working_day(x).0 { count += 1; }
                x += Duration::days(1);
            }
            prop_assert_eq!(count, n);
            let dl = cal.deadline(from, Span::Days(n));
            let due = due_day(&dl);
            prop_assert!(due >= start + Duration::days(i64::from(n)));
            prop_assert!(cal.is_working_day(due).0);
        }
    }
}
