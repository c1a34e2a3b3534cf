//! Activities (宣传和服务活动): publicity, lectures, the training of directors, service
//! projects, visit campaigns ("儿童主任走万家"), each with its unit, date, place, people and
//! children reached and materials handed out. Every work report counts them by division,
//! unit, kind and period.

use chrono::NaiveDate;

use crate::coded::coded_enum;
use crate::error::bounded;
use crate::Invalid;

coded_enum!(
    /// 活动类别
    ActivityKind {
        Publicity = ("publicity", "宣传活动"),
        Lecture = ("lecture", "法治（安全）讲座"),
        Training = ("training", "业务培训"),
        Service = ("service", "关爱服务项目"),
        VisitCampaign = ("visit_campaign", "走访活动"),
        Other = ("other", "其他"),
    }
);

coded_enum!(
    /// How activity figures are grouped.
    ActivityGrouping {
        Division = ("division", "按区划"),
        Unit = ("unit", "按单位"),
        Kind = ("kind", "按类别"),
        Month = ("month", "按月份"),
    }
);

/// Most people one activity may count (a county-wide campaign's reach, not a typo's).
pub const MAX_PEOPLE: i64 = 1_000_000;

/// An activity as typed.
#[derive(Debug, Clone, Default)]
pub struct ActivityInput {
    pub title: String,
    pub kind: String,
    pub held_on: Option<NaiveDate>,
    pub place: String,
    pub participants: i64,
    pub children_reached: i64,
    /// 发放宣传资料（份）
    pub materials: i64,
    pub summary: String,
}

/// A checked activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub title: String,
    pub kind: ActivityKind,
    pub held_on: NaiveDate,
    pub place: String,
    pub participants: i64,
    pub children_reached: i64,
    pub materials: i64,
    pub summary: String,
}

fn count(field: &'static str, n: i64, what: &str) -> Result<i64, (&'static str, Invalid)> {
    if !(0..=MAX_PEOPLE).contains(&n) {
        return Err((
            field,
            Invalid::new(
                "count_range",
                format!("{what}应为 0 到 {MAX_PEOPLE} 之间的整数"),
            ),
        ));
    }
    Ok(n)
}

impl ActivityInput {
    /// Checks an activity; it must have happened (today at the latest).
    pub fn check(&self, today: NaiveDate) -> Result<Activity, (&'static str, Invalid)> {
        let title = bounded("title", &self.title, 100, true, "活动名称")?;
        let kind = ActivityKind::parse(&self.kind).ok_or_else(|| {
            (
                "kind",
                Invalid::new(
                    "kind_unknown",
                    format!(
                        "活动类别“{}”无法识别，可选：{}",
                        self.kind.trim(),
                        ActivityKind::ALL
                            .iter()
                            .map(|k| k.label())
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                ),
            )
        })?;
        let held_on = self.held_on.ok_or((
            "held_on",
            Invalid::new("date_missing", "请填写活动日期（如 2026-12-05）"),
        ))?;
        if held_on > today {
            return Err((
                "held_on",
                Invalid::new("date_future", "活动日期不能晚于今天；活动开展后再登记"),
            ));
        }
        let place = bounded("place", &self.place, 100, true, "活动地点")?;
        let participants = count("participants", self.participants, "参与人数")?;
        let children_reached = count("children_reached", self.children_reached, "覆盖儿童数")?;
        let materials = count("materials", self.materials, "发放资料份数")?;
        let summary = bounded("summary", &self.summary, 2000, false, "活动简介")?;
        Ok(Activity {
            title,
            kind,
            held_on,
            place,
            participants,
            children_reached,
            materials,
            summary,
        })
    }
}

/// A period's ends (either open), both inclusive.
pub type Period = (Option<NaiveDate>, Option<NaiveDate>);

/// A period of activities or services: both ends inclusive, `from` not after `to`.
pub fn period(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Period, (&'static str, Invalid)> {
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err((
                "from",
                Invalid::new("period_order", "开始日期不能晚于结束日期"),
            ));
        }
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
    }

    fn lecture() -> ActivityInput {
        ActivityInput {
            title: "防性侵安全教育进校园".into(),
            kind: "lecture".into(),
            held_on: Some(today()),
            place: "中子镇中心小学".into(),
            participants: 320,
            children_reached: 300,
            materials: 400,
            summary: String::new(),
        }
    }

    #[test]
    fn an_activity_takes_the_kind_by_code_or_name() {
        assert_eq!(
            lecture().check(today()).unwrap().kind,
            ActivityKind::Lecture
        );
        let by_name = ActivityInput {
            kind: "走访活动".into(),
            ..lecture()
        };
        assert_eq!(
            by_name.check(today()).unwrap().kind,
            ActivityKind::VisitCampaign
        );
    }

    #[test]
    fn an_activity_is_refused_naming_the_field() {
        let future = ActivityInput {
            held_on: today().succ_opt(),
            ..lecture()
        };
        assert_eq!(future.check(today()).unwrap_err().0, "held_on");
        let negative = ActivityInput {
            children_reached: -1,
            ..lecture()
        };
        assert_eq!(negative.check(today()).unwrap_err().0, "children_reached");
        let no_place = ActivityInput {
            place: " ".into(),
            ..lecture()
        };
        assert_eq!(no_place.check(today()).unwrap_err().0, "place");
        let unknown = ActivityInput {
            kind: "聚餐".into(),
            ..lecture()
        };
        let (field, e) = unknown.check(today()).unwrap_err();
        assert_eq!(field, "kind");
        assert!(e.message.contains("宣传活动"));
    }

    #[test]
    fn a_period_runs_forward() {
        let d = today();
        assert!(period(Some(d), d.succ_opt()).is_ok());
        assert_eq!(period(d.succ_opt(), Some(d)).unwrap_err().0, "from");
    }
}
