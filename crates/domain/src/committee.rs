//! The committee's work (seeds 001 and 003): its members, each member unit's written
//! duties (部门职责), the implementation plan as numbered tasks with a lead and
//! co-responsible units, notices (通报) every unit acknowledges, and joint meetings
//! (联席会议), at least a configured number a year (default 2).
//!
//! Deadlines, supervision (督办, 挂牌督办, 限时整改) and escalation are the work engine's
//! (crate::work): a plan task is a work item of its lead unit, so one engine counts every
//! late item.

use chrono::{Datelike, NaiveDate};

use crate::coded::coded_enum;
use crate::Invalid;

coded_enum!(
    /// 委员会职务
    Position {
        /// 主任 (usually the county's deputy head)
        Chair = ("chair", "主任"),
        /// 副主任
        ViceChair = ("vice_chair", "副主任"),
        /// 委员 (a member unit's leader)
        Member = ("member", "委员"),
        /// 联络员 (a member unit's liaison)
        Liaison = ("liaison", "联络员"),
    }
);

/// Most duties one unit carries in its list.
pub const MAX_DUTIES: usize = 30;
/// Longest duty (characters).
pub const MAX_DUTY_CHARS: usize = 500;

/// Checks a unit's duty list: each item non-empty after trimming, at most
/// [`MAX_DUTY_CHARS`], at most [`MAX_DUTIES`] items. Returns the trimmed list.
pub fn check_duties(duties: &[String]) -> Result<Vec<String>, Invalid> {
    if duties.len() > MAX_DUTIES {
        return Err(Invalid::new(
            "too_many",
            format!("职责最多 {MAX_DUTIES} 条，请合并相近的条目"),
        ));
    }
    let mut out = Vec::with_capacity(duties.len());
    for (i, d) in duties.iter().enumerate() {
        let d = d.trim();
        if d.is_empty() || d.chars().count() > MAX_DUTY_CHARS {
            return Err(Invalid::new(
                "duty_text",
                format!("第 {} 条职责应为 1 到 {MAX_DUTY_CHARS} 字", i + 1),
            ));
        }
        out.push(d.to_string());
    }
    Ok(out)
}

/// Splits a duty text as the seed writes it ("1. 加强……；2. 及时……") into items; a
/// text without numbers is one item.
pub fn split_duties(text: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // A number followed by '.', '．' or '、' at the start or after a separator opens an
        // item.
        let at_start = current.trim().is_empty()
            || matches!(current.trim_end().chars().last(), Some('；' | ';' | '。'));
        if at_start && chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if j < chars.len() && matches!(chars[j], '.' | '．' | '、') && j - i <= 2 {
                if !current.trim().is_empty() {
                    items.push(current.trim().trim_end_matches(['；', ';']).to_string());
                }
                current.clear();
                i = j + 1;
                continue;
            }
        }
        current.push(chars[i]);
        i += 1;
    }
    if !current.trim().is_empty() {
        items.push(current.trim().trim_end_matches(['；', ';']).to_string());
    }
    items
}

/// A plan task as entered, before the units are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskText {
    /// 序号, as the plan numbers it ("3", "二-3").
    pub number: String,
    pub title: String,
    pub detail: String,
}

impl TaskText {
    /// Trims and checks: a number of 1–10 characters, a title of 1–100, a detail of at
    /// most 2000.
    pub fn check(
        number: &str,
        title: &str,
        detail: &str,
    ) -> Result<TaskText, (&'static str, Invalid)> {
        // Lengths are counted as sent (the API document's maxLength says the same).
        if number.trim().is_empty() || number.chars().count() > 10 {
            return Err((
                "number",
                Invalid::new("number_required", "请填写任务序号（10 字以内），如 3"),
            ));
        }
        if title.trim().is_empty() || title.chars().count() > 100 {
            return Err((
                "title",
                Invalid::new("title_required", "请填写任务名称（100 字以内）"),
            ));
        }
        if detail.chars().count() > 2000 {
            return Err((
                "detail",
                Invalid::new("too_long", "任务内容请写在 2000 字以内"),
            ));
        }
        Ok(TaskText {
            number: number.trim().to_string(),
            title: title.trim().to_string(),
            detail: detail.trim().to_string(),
        })
    }
}

/// Splits a list of units as plans write it ("市中院、市检察院、市教育局按照职责分工负责")
/// into names: separators 、，, and ; the closing words (按照职责分工负责, 负责) dropped.
pub fn split_units(text: &str) -> Vec<String> {
    let text = text
        .trim()
        .trim_start_matches(['（', '('])
        .trim_end_matches(['）', ')']);
    let text = text
        .trim_end_matches("按照职责分工负责")
        .trim_end_matches("按职责分工负责")
        .trim_end_matches("负责");
    text.split(['、', '，', ',', ';', '；'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The default minimum of joint meetings a year (未成年人保护工作委员会 rules: at least two).
pub const DEFAULT_MEETINGS_PER_YEAR: u32 = 2;

/// Whether a year with `held` meetings by `today` runs short of `minimum`: each missing
/// meeting needs a quarter to prepare, so the warning comes when the days left in the year
/// are no more than 91 for each one still missing. None if the year is on track.
pub fn meetings_short(held: u32, minimum: u32, today: NaiveDate) -> Option<u32> {
    let missing = minimum.saturating_sub(held);
    if missing == 0 {
        return None;
    }
    let year_end = NaiveDate::from_ymd_opt(today.year(), 12, 31).expect("31 December");
    let days_left = (year_end - today).num_days();
    (days_left <= 91 * i64::from(missing)).then_some(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_seeds_duties_split_into_their_numbered_items() {
        let text = "1. 组织开展未成年人法治宣传教育工作;2. 为未成年人提供必要、便利的法律援助和法律服务。3．其他";
        assert_eq!(
            split_duties(text),
            vec![
                "组织开展未成年人法治宣传教育工作",
                "为未成年人提供必要、便利的法律援助和法律服务。",
                "其他"
            ]
        );
        // No numbers: one item; a number inside a sentence does not split it.
        assert_eq!(
            split_duties("落实 12345 热线转办的事项"),
            vec!["落实 12345 热线转办的事项"]
        );
        assert!(check_duties(&["  ".into()]).is_err());
        assert_eq!(check_duties(&[" 甲 ".into()]).unwrap(), vec!["甲"]);
        assert!(check_duties(&vec!["甲".to_string(); MAX_DUTIES + 1]).is_err());
    }

    #[test]
    fn a_plans_unit_list_splits_without_its_closing_words() {
        assert_eq!(
            split_units("（市中院、市检察院、市教育局按照职责分工负责）"),
            vec!["市中院", "市检察院", "市教育局"]
        );
        assert_eq!(split_units("市民政局负责"), vec!["市民政局"]);
        assert_eq!(split_units("公安,教育；妇联"), vec!["公安", "教育", "妇联"]);
    }

    #[test]
    fn a_task_needs_a_number_and_a_title() {
        assert_eq!(TaskText::check(" ", "甲", "").unwrap_err().0, "number");
        assert_eq!(TaskText::check("1", "", "").unwrap_err().0, "title");
        assert_eq!(
            TaskText::check("1", &"长".repeat(101), "").unwrap_err().0,
            "title"
        );
        let t = TaskText::check(" 3 ", " 加强家庭教育指导 ", "").unwrap();
        assert_eq!(
            (t.number.as_str(), t.title.as_str()),
            ("3", "加强家庭教育指导")
        );
    }

    #[test]
    fn the_year_runs_short_a_quarter_per_missing_meeting_before_its_end() {
        // Two required, none held: short from 1 July (183 days left is more than 182).
        assert_eq!(meetings_short(0, 2, d("2026-06-30")), None);
        assert_eq!(meetings_short(0, 2, d("2026-07-02")), Some(2));
        // One held: short from 1 October.
        assert_eq!(meetings_short(1, 2, d("2026-09-30")), None);
        assert_eq!(meetings_short(1, 2, d("2026-10-01")), Some(1));
        // Enough held: never.
        assert_eq!(meetings_short(2, 2, d("2026-12-31")), None);
        assert_eq!(meetings_short(3, 2, d("2026-12-31")), None);
        // A minimum of 0 asks for nothing.
        assert_eq!(meetings_short(0, 0, d("2026-12-31")), None);
    }
}
