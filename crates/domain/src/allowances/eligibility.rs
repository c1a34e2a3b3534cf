//! Who is eligible for which type (from the ledger's facts), and the months a case is
//! paid for: from the month after the county's confirmation to the month the cause ends
//! (the 18th birthday, death, the category lost, a move out of the county), under local
//! rules with effective dates.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::types::TypeDef;
use super::EndCause;
use crate::categories::age_on;
use crate::child::{Category, CategorySet, Disability, OrphanCare, SchoolStatus};
use crate::error::Invalid;
use crate::month::Month;

/// Local allowance rules, valid from a date (setting `allowance_rules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowanceRules {
    pub effective_from: NaiveDate,
    /// Paid until this birthday's month (default 18, 未保法 Art. 2).
    #[serde(default = "default_adult_age")]
    pub adult_age: u32,
    /// Types whose payment continues past `adult_age` while the young person is in
    /// full-time school (e.g. 孤儿 in many provinces)...
    #[serde(default)]
    pub school_continues: Vec<String>,
    /// ...at most until this birthday's month (0: the rule is off).
    #[serde(default)]
    pub school_until_age: u32,
    /// Types of this region beside the national ones.
    #[serde(default)]
    pub local_types: Vec<TypeDef>,
}

fn default_adult_age() -> u32 {
    18
}

impl Default for AllowanceRules {
    fn default() -> Self {
        AllowanceRules {
            effective_from: NaiveDate::from_ymd_opt(2019, 1, 1).expect("valid date"),
            adult_age: 18,
            school_continues: Vec::new(),
            school_until_age: 0,
            local_types: Vec::new(),
        }
    }
}

impl AllowanceRules {
    /// Checks a configured version.
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(14..=25).contains(&self.adult_age) {
            return Err(Invalid::new(
                "adult_age",
                format!("adult_age 应为 14 到 25 岁，实际为 {}", self.adult_age),
            ));
        }
        if self.school_until_age != 0 && !(self.adult_age + 1..=30).contains(&self.school_until_age)
        {
            return Err(Invalid::new(
                "school_until_age",
                format!(
                    "school_until_age 应为 0（不延续）或 {} 到 30 岁，实际为 {}",
                    self.adult_age + 1,
                    self.school_until_age
                ),
            ));
        }
        for (i, t) in self.local_types.iter().enumerate() {
            t.validate()?;
            if self.local_types[..i].iter().any(|o| o.code == t.code) {
                return Err(Invalid::new(
                    "type_code_duplicate",
                    format!("本地保障类型代码 {} 重复", t.code),
                ));
            }
        }
        Ok(())
    }

    /// Whether payment of `type_code` continues past `adult_age` for someone in school.
    pub fn continues_in_school(&self, type_code: &str) -> bool {
        self.school_until_age > self.adult_age
            && self.school_continues.iter().any(|t| t == type_code)
    }
}

/// The versions of the rules over time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowanceRuleBook {
    versions: Vec<AllowanceRules>,
}

impl AllowanceRuleBook {
    /// Sorted by date; with none, the defaults.
    pub fn new(mut versions: Vec<AllowanceRules>) -> AllowanceRuleBook {
        if versions.is_empty() {
            versions.push(AllowanceRules::default());
        }
        versions.sort_by_key(|v| v.effective_from);
        AllowanceRuleBook { versions }
    }

    /// The version in force on `date` (the earliest for dates before all).
    pub fn on(&self, date: NaiveDate) -> &AllowanceRules {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_from <= date)
            .unwrap_or(&self.versions[0])
    }
}

impl Default for AllowanceRuleBook {
    fn default() -> Self {
        AllowanceRuleBook::new(Vec::new())
    }
}

/// What eligibility reads from a child's ledger record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildStanding {
    pub birth_date: NaiveDate,
    /// Categories as recorded (in force).
    pub categories: CategorySet,
    pub orphan_care: Option<OrphanCare>,
    pub disability: Option<Disability>,
    pub school_status: Option<SchoolStatus>,
}

impl ChildStanding {
    /// In school: 小学 to 中职, or 特殊教育.
    pub fn in_school(&self) -> bool {
        matches!(
            self.school_status,
            Some(
                SchoolStatus::Primary
                    | SchoolStatus::JuniorHigh
                    | SchoolStatus::SeniorHigh
                    | SchoolStatus::Vocational
                    | SchoolStatus::Special
            )
        )
    }

    /// In full-time school past compulsory age: 高中, 中职 or 特殊教育 (what continues
    /// payment past 18 where the local rule says so).
    pub fn in_full_time_school(&self) -> bool {
        matches!(
            self.school_status,
            Some(SchoolStatus::SeniorHigh | SchoolStatus::Vocational | SchoolStatus::Special)
        )
    }
}

/// The day someone born on `birth` turns `age`: the birthday in that year, and 1 March for a
/// 29 February birthday in a common year (as [`age_on`] counts).
pub fn adulthood(birth: NaiveDate, age: u32) -> NaiveDate {
    let year = birth.year() + age as i32;
    NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .unwrap_or(NaiveDate::MAX)
}

/// Whether `child` may receive `def` on `on`: `Ok(why)` or `Err(which condition fails)`,
/// each one sentence a director understands.
pub fn eligible(
    def: &TypeDef,
    child: &ChildStanding,
    rules: &AllowanceRules,
    on: NaiveDate,
) -> Result<String, String> {
    let why = qualifies(def, child)?;
    let age = age_on(child.birth_date, on);
    if age >= rules.adult_age {
        return Err(format!(
            "已满 {} 周岁（{} 出生）",
            rules.adult_age, child.birth_date
        ));
    }
    let under = format!("未满 {} 周岁", rules.adult_age);
    Ok(if why.is_empty() {
        under
    } else {
        format!("{why}，{under}")
    })
}

/// What the type asks of the child's record, age aside (the age limit ends a case on its
/// own day; see [`age_ending`]): `Ok(why)` or `Err(which condition fails)`.
pub fn qualifies(def: &TypeDef, child: &ChildStanding) -> Result<String, String> {
    let mut why = Vec::new();
    if !def.categories.is_empty() {
        let held: Vec<&str> = def
            .categories
            .iter()
            .filter(|c| child.categories.contains(**c))
            .map(|c| c.label())
            .collect();
        if held.is_empty() {
            return Err(format!(
                "台账未登记为{}",
                def.categories
                    .iter()
                    .map(|c| c.label())
                    .collect::<Vec<_>>()
                    .join("或")
            ));
        }
        why.push(format!("登记为{}", held.join("、")));
    }
    if let Some(care) = def.orphan_care {
        // A record without the way of care counts as 社会散居 (the common case).
        let actual = child.orphan_care.unwrap_or(OrphanCare::Scattered);
        if actual != care {
            return Err(format!(
                "孤儿养育方式为{}，不是{}",
                actual.label(),
                care.label()
            ));
        }
        why.push(care.label().to_string());
    }
    if def.disability {
        match child.disability {
            Some(d) => why.push(format!("{}{}级", d.kind.label(), d.grade)),
            None if child.categories.contains(Category::Disabled) => {
                why.push("登记为残疾儿童".into())
            }
            None => return Err("台账未登记残疾类别和等级".into()),
        }
    }
    if def.in_school {
        if !child.in_school() {
            return Err(format!(
                "未在校就读（就学状况：{}）",
                child.school_status.map(|s| s.label()).unwrap_or("未填写")
            ));
        }
        why.push(format!(
            "在读{}",
            child.school_status.map(|s| s.label()).unwrap_or_default()
        ));
    }
    Ok(why.join("，"))
}

/// The first month paid: the month after the county's confirmation.
pub fn start_month(confirmed_on: NaiveDate) -> Month {
    Month::of(confirmed_on).next()
}

/// When and why payment ends: the last month paid is the month the cause ends in, so
/// payment stops the month after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub last_month: Month,
    pub cause: EndCause,
    /// The day the cause ended.
    pub on: NaiveDate,
    /// One sentence: "2026-03-15 年满 18 周岁，自 2026-04 起停发".
    pub reason: String,
}

impl Ending {
    /// The cause ended on `on`: paid through that month.
    pub fn new(cause: EndCause, on: NaiveDate, detail: &str) -> Ending {
        let last_month = Month::of(on);
        let what = if detail.is_empty() {
            cause.label().to_string()
        } else {
            detail.to_string()
        };
        Ending {
            last_month,
            cause,
            on,
            reason: format!("{on} {what}，自 {} 起停发", last_month.next()),
        }
    }

    /// The earlier of two endings (the first given when both end the same month).
    pub fn earlier(self, other: Option<Ending>) -> Ending {
        match other {
            Some(o) if o.last_month < self.last_month => o,
            _ => self,
        }
    }
}

/// The age limit of a case of `type_code`: the month of the 18th birthday (the local adult
/// age), or, where the local rule continues payment for those in full-time school and the
/// child is, the month of the birthday the rule names.
pub fn age_ending(type_code: &str, child: &ChildStanding, rules: &AllowanceRules) -> Ending {
    if rules.continues_in_school(type_code) && child.in_full_time_school() {
        let on = adulthood(child.birth_date, rules.school_until_age);
        return Ending::new(
            EndCause::Adult,
            on,
            &format!(
                "年满 {} 周岁（在校就读，满 {} 周岁后延续发放）",
                rules.school_until_age, rules.adult_age
            ),
        );
    }
    let on = adulthood(child.birth_date, rules.adult_age);
    Ending::new(
        EndCause::Adult,
        on,
        &format!("年满 {} 周岁", rules.adult_age),
    )
}

/// Whether a case starting `start` and ending as `ending` says is paid for `month`.
pub fn payable(start: Month, ending: Option<&Ending>, month: Month) -> bool {
    start <= month && ending.is_none_or(|e| month <= e.last_month)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allowances::types::{builtin_types, TypeBook};
    use crate::child::DisabilityKind;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn m(s: &str) -> Month {
        Month::parse("月份", s).unwrap()
    }

    fn child(birth: &str, categories: &[Category]) -> ChildStanding {
        ChildStanding {
            birth_date: d(birth),
            categories: categories.iter().copied().collect(),
            orphan_care: None,
            disability: None,
            school_status: Some(SchoolStatus::Primary),
        }
    }

    fn def(code: &str) -> TypeDef {
        TypeBook::default().get(code).unwrap().clone()
    }

    #[test]
    fn eligibility_reads_the_ledger_and_says_why_or_why_not() {
        let rules = AllowanceRules::default();
        let on = d("2026-05-10");
        let orphan = child("2015-03-07", &[Category::Orphan]);
        assert_eq!(
            eligible(&def("orphan_scattered"), &orphan, &rules, on),
            Ok("登记为孤儿，社会散居，未满 18 周岁".into())
        );
        assert_eq!(
            eligible(&def("orphan_institutional"), &orphan, &rules, on),
            Err("孤儿养育方式为社会散居，不是集中养育".into())
        );
        assert_eq!(
            eligible(&def("factually_unsupported"), &orphan, &rules, on),
            Err("台账未登记为事实无人抚养儿童".into())
        );
        let mut disabled = child("2015-03-07", &[]);
        assert_eq!(
            eligible(&def("disability_two"), &disabled, &rules, on),
            Err("台账未登记残疾类别和等级".into())
        );
        disabled.disability = Some(Disability::new(DisabilityKind::Physical, 2).unwrap());
        assert!(eligible(&def("disability_two"), &disabled, &rules, on)
            .unwrap()
            .starts_with("肢体残疾2级"));
        let mut toddler = child("2023-03-07", &[Category::Orphan]);
        toddler.school_status = Some(SchoolStatus::NotYet);
        assert_eq!(
            eligible(&def("study_grant"), &toddler, &rules, on),
            Err("未在校就读（就学状况：未到入学年龄）".into())
        );
        let adult = child("2008-05-10", &[Category::Orphan]);
        assert_eq!(
            eligible(&def("orphan_scattered"), &adult, &rules, on),
            Err("已满 18 周岁（2008-05-10 出生）".into())
        );
        let day_before = child("2008-05-11", &[Category::Orphan]);
        assert!(eligible(&def("orphan_scattered"), &day_before, &rules, on).is_ok());
        // Every national type can be met by some child.
        let all = ChildStanding {
            birth_date: d("2015-03-07"),
            categories: Category::ALL.iter().copied().collect(),
            orphan_care: None,
            disability: Some(Disability::new(DisabilityKind::Visual, 1).unwrap()),
            school_status: Some(SchoolStatus::JuniorHigh),
        };
        for t in builtin_types() {
            let mut c = all.clone();
            c.orphan_care = t.orphan_care;
            assert!(eligible(&t, &c, &rules, on).is_ok(), "{}", t.code);
        }
    }

    #[test]
    fn payment_starts_the_month_after_confirmation_even_at_new_year() {
        assert_eq!(start_month(d("2025-12-31")), m("2026-01"));
        assert_eq!(start_month(d("2026-01-01")), m("2026-02"));
        assert_eq!(start_month(d("2024-02-29")), m("2024-03"));
    }

    #[test]
    fn the_18th_birthday_month_is_the_last_paid_whatever_the_day() {
        let rules = AllowanceRules::default();
        let last =
            |birth: &str| age_ending("orphan_scattered", &child(birth, &[]), &rules).last_month;
        // On the 1st: the cause ends on the 1st, that month is still paid.
        assert_eq!(last("2008-03-01"), m("2026-03"));
        // On the 31st, and at the year's end.
        assert_eq!(last("2008-01-31"), m("2026-01"));
        assert_eq!(last("2008-12-31"), m("2026-12"));
        // 29 February: 18 on 1 March of the common year 2026.
        assert_eq!(adulthood(d("2008-02-29"), 18), d("2026-03-01"));
        assert_eq!(last("2008-02-29"), m("2026-03"));
        // ...and on 29 February itself in a leap year.
        assert_eq!(last("2010-02-28"), m("2028-02"));
        assert_eq!(adulthood(d("2012-02-29"), 16), d("2028-02-29"));
        let e = age_ending("orphan_scattered", &child("2008-03-15", &[]), &rules);
        assert_eq!(e.reason, "2026-03-15 年满 18 周岁，自 2026-04 起停发");
    }

    #[test]
    fn a_local_rule_continues_payment_past_18_while_in_full_time_school() {
        let rules = AllowanceRules {
            school_continues: vec!["orphan_scattered".into()],
            school_until_age: 22,
            ..Default::default()
        };
        assert!(rules.validate().is_ok());
        let mut c = child("2008-03-15", &[Category::Orphan]);
        c.school_status = Some(SchoolStatus::SeniorHigh);
        let e = age_ending("orphan_scattered", &c, &rules);
        assert_eq!(e.last_month, m("2030-03"));
        assert!(e.reason.contains("在校就读"), "{}", e.reason);
        // Not for other types, nor for one who left school.
        assert_eq!(
            age_ending("distressed", &c, &rules).last_month,
            m("2026-03")
        );
        c.school_status = Some(SchoolStatus::NotInSchool);
        assert_eq!(
            age_ending("orphan_scattered", &c, &rules).last_month,
            m("2026-03")
        );
        let bad = AllowanceRules {
            school_until_age: 18,
            ..rules
        };
        assert_eq!(bad.validate().unwrap_err().code, "school_until_age");
    }

    #[test]
    fn the_earlier_ending_wins() {
        let age = Ending::new(EndCause::Adult, d("2026-03-15"), "年满 18 周岁");
        let death = Ending::new(EndCause::Death, d("2025-11-02"), "");
        assert_eq!(death.reason, "2025-11-02 死亡，自 2025-12 起停发");
        assert_eq!(
            age.clone().earlier(Some(death.clone())).cause,
            EndCause::Death
        );
        assert_eq!(
            death.clone().earlier(Some(age.clone())).cause,
            EndCause::Death
        );
        assert_eq!(age.clone().earlier(None).cause, EndCause::Adult);
        assert!(payable(m("2025-06"), Some(&death), m("2025-11")));
        assert!(!payable(m("2025-06"), Some(&death), m("2025-12")));
        assert!(!payable(m("2025-06"), None, m("2025-05")));
    }

    proptest! {
        /// The last month paid for age is the month of the first day the child is 18, for
        /// every birth date (1sts, 31sts and 29 Februaries included).
        #[test]
        fn the_age_limit_is_the_month_of_the_first_day_at_18(days in 0i64..(366 * 30)) {
            let birth = d("1996-01-01") + chrono::Duration::days(days);
            let first_adult_day = {
                let mut day = adulthood(birth, 18) - chrono::Duration::days(3);
                while age_on(birth, day) < 18 {
                    day = day.succ_opt().unwrap();
                }
                day
            };
            prop_assert_eq!(adulthood(birth, 18), first_adult_day);
            let rules = AllowanceRules::default();
            let standing = ChildStanding { birth_date: birth, ..child("2015-01-01", &[]) };
            let e = age_ending("orphan_scattered", &standing, &rules);
            prop_assert_eq!(e.last_month, Month::of(first_adult_day));
            // Paid in every month the child is still 17 on the 1st or later, never after.
            let start = Month::of(birth).plus(12 * 17);
            for month in start.through(start.plus(24)) {
                let minor_some_day = age_on(birth, month.first_day()) < 18
                    || month.contains(first_adult_day);
                prop_assert_eq!(payable(start, Some(&e), month), minor_some_day, "{}", month);
            }
        }

        /// Whatever the confirmation day, payment starts on the first of the next month.
        #[test]
        fn payment_starts_on_the_next_first(days in 0i64..(366 * 30)) {
            let confirmed = d("2000-01-01") + chrono::Duration::days(days);
            let start = start_month(confirmed);
            prop_assert!(start.first_day() > confirmed);
            prop_assert!(start.first_day() - confirmed <= chrono::Duration::days(31));
            prop_assert_eq!(start.prev(), Month::of(confirmed));
        }
    }
}
