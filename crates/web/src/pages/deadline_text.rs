//! Deadlines as people read them on a list: "还剩 2 天", "还剩 40 分钟", "已逾期 3 天",
//! with the moment itself in Beijing time.

use chrono::{DateTime, FixedOffset};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// A deadline against now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueText {
    /// "还剩 2 天" or "已逾期 3 小时".
    pub left: String,
    /// When, "11-22 17:30" (Beijing time).
    pub at: String,
    pub overdue: bool,
    /// Counted over a year whose holidays are not loaded: weekends only, a guess.
    pub guessed: bool,
}

impl DueText {
    /// "还剩 2 天（11-22 17:30 前）", with a word when the count is a guess.
    pub fn full(&self) -> String {
        let mut s = if self.overdue {
            format!("{}（应于 {} 前）", self.left, self.at)
        } else {
            format!("{}（{} 前）", self.left, self.at)
        };
        if self.guessed {
            s.push_str("，按周末估算：该年节假日安排尚未载入");
        }
        s
    }
}

/// How long is left until `due_ms` at `now_ms`, or how long it is overdue: minutes within
/// the hour (an urgent report's acknowledgement), hours within the day, else whole days.
pub fn due_text(due_ms: i64, now_ms: i64, guessed: bool) -> DueText {
    let overdue = due_ms < now_ms;
    let span = (due_ms - now_ms).abs();
    let amount = if span < HOUR {
        format!("{} 分钟", (span / MINUTE).max(1))
    } else if span < DAY {
        format!("{} 小时", span / HOUR)
    } else {
        format!("{} 天", span / DAY)
    };
    DueText {
        left: if overdue {
            format!("已逾期 {amount}")
        } else {
            format!("还剩 {amount}")
        },
        at: short_time(due_ms),
        overdue,
        guessed,
    }
}

/// "11-22 17:30" in Beijing time.
pub fn short_time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
                .format("%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-20 10:00 Beijing time.
    const NOW: i64 = 1_795_140_000_000;

    #[test]
    fn time_left_reads_in_minutes_hours_or_days() {
        assert_eq!(due_text(NOW + 40 * MINUTE, NOW, false).left, "还剩 40 分钟");
        assert_eq!(due_text(NOW + 20_000, NOW, false).left, "还剩 1 分钟");
        assert_eq!(
            due_text(NOW + 5 * HOUR + 59 * MINUTE, NOW, false).left,
            "还剩 5 小时"
        );
        let two_days = due_text(NOW + 2 * DAY + 7 * HOUR, NOW, false);
        assert_eq!(two_days.left, "还剩 2 天");
        assert!(!two_days.overdue);
        assert_eq!(two_days.at, "11-22 17:00");
        assert_eq!(two_days.full(), "还剩 2 天（11-22 17:00 前）");
    }

    #[test]
    fn a_deadline_passed_says_by_how_much_and_when_it_was() {
        let late = due_text(NOW - 3 * DAY - HOUR, NOW, false);
        assert!(late.overdue);
        assert_eq!(late.left, "已逾期 3 天");
        assert_eq!(late.full(), "已逾期 3 天（应于 11-17 09:00 前）");
        assert_eq!(due_text(NOW - 2 * HOUR, NOW, false).left, "已逾期 2 小时");
        assert_eq!(
            due_text(NOW - 10 * MINUTE, NOW, false).left,
            "已逾期 10 分钟"
        );
    }

    #[test]
    fn a_guessed_deadline_says_the_holidays_are_missing() {
        assert!(due_text(NOW + DAY, NOW, true)
            .full()
            .contains("节假日安排尚未载入"));
    }
}
