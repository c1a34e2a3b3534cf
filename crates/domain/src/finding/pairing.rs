//! One-to-one pairing (结对帮扶, 一对一包靠; seed 004: "980名社工和志愿者'点对点'帮扶1900多名
//! 困境未成年人"): a helper (teacher, volunteer, cadre, social worker) paired with a child for
//! a period, the contacts logged; who has no helper, and which helper has not been in
//! touch this quarter.

use chrono::{Datelike, NaiveDate};

use crate::coded::coded_enum;
use crate::error::bounded;
use crate::Invalid;

coded_enum!(
    /// 帮扶人类别
    HelperKind {
        Teacher = ("teacher", "教师"),
        Volunteer = ("volunteer", "志愿者"),
        Cadre = ("cadre", "干部"),
        SocialWorker = ("social_worker", "社工"),
        Other = ("other", "其他"),
    }
);

coded_enum!(
    /// 联系方式
    ContactKind {
        Visit = ("visit", "上门看望"),
        Phone = ("phone", "电话"),
        Video = ("video", "视频"),
        School = ("school", "在校谈心"),
        Activity = ("activity", "陪伴活动"),
        Other = ("other", "其他"),
    }
);

/// The first day of `day`'s quarter.
pub fn quarter_start(day: NaiveDate) -> NaiveDate {
    let month = (day.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(day.year(), month, 1).expect("a quarter's first day")
}

/// A helper as typed.
#[derive(Debug, Clone, Default)]
pub struct HelperInput {
    pub name: String,
    pub kind: String,
    /// 工作单位 (学校, 村委会, 社工机构).
    pub workplace: String,
    pub phone: String,
}

/// A checked helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    pub name: String,
    pub kind: HelperKind,
    pub workplace: String,
    pub phone: String,
}

impl HelperInput {
    pub fn check(&self) -> Result<Helper, (&'static str, Invalid)> {
        let name = bounded("name", &self.name, 30, true, "帮扶人姓名")?;
        let kind = HelperKind::parse(self.kind.trim()).ok_or((
            "kind",
            Invalid::new(
                "choice",
                format!("帮扶人类别应为 {} 之一", HelperKind::codes().join("、")),
            ),
        ))?;
        let workplace = bounded("workplace", &self.workplace, 60, false, "工作单位")?;
        let phone: String = self
            .phone
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let mobile = phone.len() == 11 && phone.starts_with('1');
        let landline = phone.starts_with('0') && (8..=12).contains(&phone.len());
        if !phone.is_empty() && !(phone.chars().all(|c| c.is_ascii_digit()) && (mobile || landline))
        {
            return Err((
                "phone",
                Invalid::new(
                    "phone_format",
                    "电话号码无效：手机号应为 1 开头的 11 位数字，座机请带区号",
                ),
            ));
        }
        Ok(Helper {
            name,
            kind,
            workplace,
            phone,
        })
    }
}

/// A pairing's period as typed: it starts on a day not after today (default today) and, if
/// it says, ends on or after it starts.
pub fn check_period(
    starts_on: Option<NaiveDate>,
    ends_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, Option<NaiveDate>), (&'static str, Invalid)> {
    let starts = starts_on.unwrap_or(today);
    if starts > today {
        return Err((
            "starts_on",
            Invalid::new("date_future", "结对开始日期不能晚于今天"),
        ));
    }
    if let Some(e) = ends_on {
        if e < starts {
            return Err((
                "ends_on",
                Invalid::new("date_order", "结对结束日期不能早于开始日期"),
            ));
        }
    }
    Ok((starts, ends_on))
}

/// A contact as typed: a kind, a day in the pairing (not after today), what was done.
pub fn check_contact(
    kind: &str,
    on: Option<NaiveDate>,
    note: &str,
    pairing_starts: NaiveDate,
    today: NaiveDate,
) -> Result<(ContactKind, NaiveDate, String), (&'static str, Invalid)> {
    let kind = ContactKind::parse(kind.trim()).ok_or((
        "kind",
        Invalid::new(
            "choice",
            format!("联系方式应为 {} 之一", ContactKind::codes().join("、")),
        ),
    ))?;
    let on = on.unwrap_or(today);
    if on > today {
        return Err((
            "contacted_on",
            Invalid::new("date_future", "联系日期不能晚于今天"),
        ));
    }
    if on < pairing_starts {
        return Err((
            "contacted_on",
            Invalid::new("date_order", "联系日期早于结对开始日期"),
        ));
    }
    let note = bounded("note", note, 500, true, "帮扶内容")?;
    Ok((kind, on, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn quarters_start_in_january_april_july_and_october() {
        assert_eq!(quarter_start(d(2026, 1, 1)), d(2026, 1, 1));
        assert_eq!(quarter_start(d(2026, 3, 31)), d(2026, 1, 1));
        assert_eq!(quarter_start(d(2026, 4, 1)), d(2026, 4, 1));
        assert_eq!(quarter_start(d(2026, 12, 6)), d(2026, 10, 1));
    }

    #[test]
    fn a_helper_and_a_contact_name_what_is_wrong() {
        let mut h = HelperInput {
            name: "周老师".into(),
            kind: "teacher".into(),
            workplace: "朝天一小".into(),
            phone: "138-1234-5678".into(),
        };
        assert_eq!(h.check().unwrap().phone, "13812345678");
        h.phone = "12345".into();
        assert_eq!(h.check().unwrap_err().0, "phone");
        h.phone = String::new();
        h.kind = "老师".into();
        assert_eq!(h.check().unwrap_err().0, "kind");
        let today = d(2026, 12, 6);
        assert_eq!(
            check_period(Some(d(2026, 12, 7)), None, today)
                .unwrap_err()
                .0,
            "starts_on"
        );
        assert_eq!(
            check_period(Some(d(2026, 1, 1)), Some(d(2025, 12, 31)), today)
                .unwrap_err()
                .0,
            "ends_on"
        );
        let starts = d(2026, 9, 1);
        assert_eq!(
            check_contact("visit", Some(d(2026, 8, 31)), "看望", starts, today)
                .unwrap_err()
                .0,
            "contacted_on"
        );
        assert_eq!(
            check_contact("visit", None, " ", starts, today)
                .unwrap_err()
                .0,
            "note"
        );
        assert_eq!(
            check_contact("phone", None, "电话询问学习情况", starts, today)
                .unwrap()
                .1,
            today
        );
    }
}
