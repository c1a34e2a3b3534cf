//! Children's categories from facts: which categories a child's recorded facts imply
//! (孤儿, 事实无人抚养儿童, 农村留守儿童, ...), under local parameters with effective dates,
//! and where a record's categories disagree with them.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::child::{
    Category, CategorySet, Disability, HealthStatus, Hukou, ParentSituation, ParentStatus, Support,
};

/// Local parameters of the category rules (configuration, not code), valid from a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleParams {
    pub effective_from: NaiveDate,
    /// 事实无人抚养: 服刑在押 / 强制隔离戒毒 / 限制人身自由 must have lasted this long.
    pub restriction_min_months: u32,
    /// 事实无人抚养: 失联 must have lasted this long since the police accepted the report.
    pub lost_contact_min_months: u32,
    /// 农村留守: under this age.
    pub left_behind_max_age: u32,
    /// 农村留守: a parent counts as away for work after this many months (0 = any).
    pub left_behind_min_months: u32,
    /// The ledger holds minors: under this age.
    pub adult_age: u32,
}

impl Default for RuleParams {
    /// 民发〔2019〕62号 (6 months), 国发〔2016〕13号 (under 16), 未保法 Art. 2 (under 18),
    /// and a 3-month minimum absence for 留守 as many provinces use.
    fn default() -> Self {
        RuleParams {
            effective_from: NaiveDate::from_ymd_opt(2019, 1, 1).expect("valid date"),
            restriction_min_months: 6,
            lost_contact_min_months: 6,
            left_behind_max_age: 16,
            left_behind_min_months: 3,
            adult_age: 18,
        }
    }
}

/// The versions of the parameters in force over time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleBook {
    versions: Vec<RuleParams>,
}

impl RuleBook {
    pub fn new(mut versions: Vec<RuleParams>) -> RuleBook {
        if versions.is_empty() {
            versions.push(RuleParams::default());
        }
        versions.sort_by_key(|v| v.effective_from);
        RuleBook { versions }
    }

    /// The latest version in force on `date` (the earliest, for dates before them all).
    pub fn on(&self, date: NaiveDate) -> &RuleParams {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_from <= date)
            .unwrap_or(&self.versions[0])
    }
}

/// The facts the rules read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFacts {
    pub birth_date: NaiveDate,
    pub hukou: Hukou,
    pub father: ParentSituation,
    pub mother: ParentSituation,
    pub disability: Option<Disability>,
    pub health: HealthStatus,
    pub support: Vec<Support>,
}

/// A category the facts imply, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implied {
    pub category: Category,
    pub reason: String,
}

/// A disagreement between recorded categories and the facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discrepancy {
    /// The facts imply a category the record lacks.
    Missing { category: Category, reason: String },
    /// The record has a category the facts do not support.
    Unsupported { category: Category, reason: String },
}

impl Discrepancy {
    pub fn message(&self) -> String {
        match self {
            Discrepancy::Missing { category, reason } => {
                format!("应登记为{}：{reason}", category.label())
            }
            Discrepancy::Unsupported { category, reason } => {
                format!("登记为{}，但不符合条件：{reason}", category.label())
            }
        }
    }
}

/// Age in completed years (a Feb 29 birthday counts on Mar 1 in non-leap years).
pub fn age_on(birth_date: NaiveDate, as_of: NaiveDate) -> u32 {
    if as_of < birth_date {
        return 0;
    }
    let mut years = as_of.year() - birth_date.year();
    if (as_of.month(), as_of.day()) < (birth_date.month(), birth_date.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// The birth date of someone who turns `years` on `as_of`: born after it means younger.
pub fn birth_cutoff(years: u32, as_of: NaiveDate) -> NaiveDate {
    let year = as_of.year() - years as i32;
    NaiveDate::from_ymd_opt(year, as_of.month(), as_of.day())
        // 29 Feb in a non-leap year: those born 1 Mar turn `years` on 1 Mar.
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(year, 2, 28).expect("valid date"))
}

/// Whether the child is still a minor in the active ledger on `as_of`.
pub fn in_active_ledger(birth_date: NaiveDate, params: &RuleParams, as_of: NaiveDate) -> bool {
    age_on(birth_date, as_of) < params.adult_age
}

/// The recorded categories still in force on `as_of`: 农村留守 ends at the age limit.
pub fn effective_categories(
    recorded: CategorySet,
    birth_date: NaiveDate,
    params: &RuleParams,
    as_of: NaiveDate,
) -> CategorySet {
    let mut set = recorded;
    if age_on(birth_date, as_of) >= params.left_behind_max_age {
        set.remove(Category::RuralLeftBehind);
    }
    set
}

/// Whole months from `since` to `as_of`.
fn months_between(since: NaiveDate, as_of: NaiveDate) -> i64 {
    let mut months =
        (as_of.year() - since.year()) as i64 * 12 + as_of.month() as i64 - since.month() as i64;
    if as_of.day() < since.day() {
        months -= 1;
    }
    months
}

/// How one parent stands for the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Standing {
    /// 死亡 / 宣告死亡.
    Dead,
    /// 失踪 (declared missing).
    Missing,
    /// One of the 事实无人抚养 conditions, met.
    Condition(String),
    /// A condition whose duration is not met yet (or unknown): why.
    ConditionShort(String),
    /// 外出务工 long enough for 留守.
    Away(String),
    /// 外出务工, not long enough (or since unknown with a minimum).
    AwayShort(String),
    /// Cannot act as guardian (for 留守: 无监护能力, 重残, 重病).
    NoCapacity(String),
    Other(String),
}

fn standing(who: &str, p: &ParentSituation, params: &RuleParams, as_of: NaiveDate) -> Standing {
    let timed = |min: u32, what: &str| match p.since {
        None => Standing::ConditionShort(format!("{who}{what}缺少起始日期")),
        Some(since) => {
            let m = months_between(since, as_of);
            if m >= min as i64 {
                Standing::Condition(format!("{who}{what}已满 {min} 个月"))
            } else {
                Standing::ConditionShort(format!(
                    "{who}{what}仅 {} 个月，未满 {min} 个月",
                    m.max(0)
                ))
            }
        }
    };
    match p.status {
        ParentStatus::Dead | ParentStatus::DeclaredDead => Standing::Dead,
        ParentStatus::Missing => Standing::Missing,
        ParentStatus::SevereDisability => Standing::Condition(format!("{who}重残")),
        ParentStatus::SeriousIllness => Standing::Condition(format!("{who}重病")),
        ParentStatus::GuardianshipRevoked => Standing::Condition(format!("{who}被撤销监护资格")),
        ParentStatus::Deported => Standing::Condition(format!("{who}被遣送（驱逐）出境")),
        ParentStatus::Imprisoned => timed(params.restriction_min_months, "服刑在押"),
        ParentStatus::CompulsoryRehab => timed(params.restriction_min_months, "强制隔离戒毒"),
        ParentStatus::OtherRestriction => timed(params.restriction_min_months, "被限制人身自由"),
        ParentStatus::LostContact => timed(params.lost_contact_min_months, "失联"),
        ParentStatus::MigrantWork => {
            let min = params.left_behind_min_months;
            match p.since {
                _ if min == 0 => Standing::Away(format!("{who}外出务工")),
                None => Standing::AwayShort(format!("{who}外出务工缺少起始日期")),
                Some(since) => {
                    let m = months_between(since, as_of);
                    if m >= min as i64 {
                        Standing::Away(format!("{who}外出务工已满 {min} 个月"))
                    } else {
                        Standing::AwayShort(format!(
                            "{who}外出务工仅 {} 个月，未满 {min} 个月",
                            m.max(0)
                        ))
                    }
                }
            }
        }
        ParentStatus::NoCapacity => Standing::NoCapacity(format!("{who}无监护能力")),
        ParentStatus::AtHome => Standing::Other(format!("{who}在家")),
        ParentStatus::Unknown => Standing::Other(format!("{who}情况不详")),
    }
}

fn dead_or_missing(s: &Standing) -> bool {
    matches!(s, Standing::Dead | Standing::Missing)
}

fn describe(s: &Standing, who: &str) -> String {
    match s {
        Standing::Dead => format!("{who}死亡"),
        Standing::Missing => format!("{who}失踪"),
        Standing::Condition(r)
        | Standing::ConditionShort(r)
        | Standing::Away(r)
        | Standing::AwayShort(r)
        | Standing::NoCapacity(r)
        | Standing::Other(r) => r.clone(),
    }
}

/// 孤儿: both dead, one dead and the other missing, or both missing.
fn orphan(f: &Standing, m: &Standing) -> Result<String, String> {
    if dead_or_missing(f) && dead_or_missing(m) {
        Ok(format!("{}，{}", describe(f, "父亲"), describe(m, "母亲")))
    } else {
        Err(format!(
            "须父母双方均死亡或失踪（{}，{}）",
            describe(f, "父亲"),
            describe(m, "母亲")
        ))
    }
}

/// 事实无人抚养: both in a condition, or one dead/missing and the other in a condition.
fn unsupported(f: &Standing, m: &Standing) -> Result<String, String> {
    let ok = |s: &Standing| matches!(s, Standing::Condition(_)) || dead_or_missing(s);
    let cond = |s: &Standing| matches!(s, Standing::Condition(_));
    if ok(f) && ok(m) && (cond(f) || cond(m)) {
        Ok(format!("{}，{}", describe(f, "父亲"), describe(m, "母亲")))
    } else {
        // Name the parent that fails, with the reason (e.g. too short a sentence so far).
        let failing = [(f, "父亲"), (m, "母亲")]
            .into_iter()
            .find(|(s, _)| !ok(s))
            .map(|(s, who)| describe(s, who))
            .unwrap_or_else(|| "父母情况不符合".into());
        Err(failing)
    }
}

/// 农村留守 (parents' part): both away, or one away and the other without capacity.
fn left_behind_parents(f: &Standing, m: &Standing) -> Result<String, String> {
    let away = |s: &Standing| matches!(s, Standing::Away(_));
    let incapable = |s: &Standing| {
        matches!(s, Standing::NoCapacity(_))
            || matches!(s, Standing::Condition(r) if r.contains("重残") || r.contains("重病"))
    };
    if (away(f) && (away(m) || incapable(m))) || (away(m) && incapable(f)) {
        Ok(format!("{}，{}", describe(f, "父亲"), describe(m, "母亲")))
    } else {
        let failing = [(f, "父亲"), (m, "母亲")]
            .into_iter()
            .find(|(s, _)| !away(s) && !incapable(s))
            .or_else(|| {
                [(f, "父亲"), (m, "母亲")]
                    .into_iter()
                    .find(|(s, _)| !away(s))
            })
            .map(|(s, who)| describe(s, who))
            .unwrap_or_else(|| "父母均未外出务工".into());
        Err(failing)
    }
}

/// For each computable category: Ok(reason it holds) or Err(reason it does not).
fn evaluate(
    facts: &ChildFacts,
    params: &RuleParams,
    as_of: NaiveDate,
) -> Vec<(Category, Result<String, String>)> {
    let f = standing("父亲", &facts.father, params, as_of);
    let m = standing("母亲", &facts.mother, params, as_of);
    let age = age_on(facts.birth_date, as_of);
    let is_orphan = orphan(&f, &m);
    let is_unsupported = match (&is_orphan, unsupported(&f, &m)) {
        (Ok(_), _) => Err("已属孤儿".to_string()),
        (Err(_), r) => r,
    };
    let left_behind = if age >= params.left_behind_max_age {
        Err(format!("已满 {} 周岁", params.left_behind_max_age))
    } else if facts.hukou != Hukou::Rural {
        Err("户籍为城镇".to_string())
    } else if is_orphan.is_ok() {
        Err("已属孤儿".to_string())
    } else if is_unsupported.is_ok() {
        Err("已属事实无人抚养儿童".to_string())
    } else {
        left_behind_parents(&f, &m)
            .map(|r| format!("农村户籍，未满 {} 周岁，{r}", params.left_behind_max_age))
    };
    let prisoner = [(&facts.father, "父亲"), (&facts.mother, "母亲")]
        .into_iter()
        .find(|(p, _)| p.status == ParentStatus::Imprisoned)
        .map(|(_, who)| format!("{who}服刑在押"))
        .ok_or_else(|| "父母均未服刑在押".to_string());
    let disabled = facts
        .disability
        .map(|d| format!("{}{}级", d.kind.label(), d.grade))
        .ok_or_else(|| "未登记残疾".to_string());
    let poverty = facts
        .support
        .iter()
        .find(|s| matches!(s, Support::Dibao | Support::Tekun))
        .map(|s| format!("家庭经济困难（{}）", s.label()));
    let self_difficulty = if facts.disability.is_some() {
        Some("自身困难（残疾）".to_string())
    } else if facts.health == HealthStatus::SeriousIllness {
        Some("自身困难（患重病）".to_string())
    } else {
        None
    };
    let distressed = match (poverty, self_difficulty) {
        (Some(a), Some(b)) => Ok(format!("{a}，{b}")),
        (Some(a), None) | (None, Some(a)) => Ok(a),
        (None, None) => Err("无家庭经济困难或自身困难".to_string()),
    };
    vec![
        (Category::Orphan, is_orphan),
        (Category::FactuallyUnsupported, is_unsupported),
        (Category::RuralLeftBehind, left_behind),
        (Category::Distressed, distressed),
        (Category::Disabled, disabled),
        (Category::ChildOfPrisoner, prisoner),
    ]
}

/// The categories the facts imply on `as_of` under `params` (none once the child is adult).
pub fn implied_categories(
    facts: &ChildFacts,
    params: &RuleParams,
    as_of: NaiveDate,
) -> Vec<Implied> {
    if !in_active_ledger(facts.birth_date, params, as_of) {
        return Vec::new();
    }
    evaluate(facts, params, as_of)
        .into_iter()
        .filter_map(|(category, r)| r.ok().map(|reason| Implied { category, reason }))
        .collect()
}

/// Compares recorded categories with the implied ones. 困境儿童 may rest on a judgement of
/// guardianship, and 受艾滋病影响 / 重点困境 are recorded, not computed: those are never
/// "unsupported".
pub fn check_categories(
    recorded: CategorySet,
    facts: &ChildFacts,
    params: &RuleParams,
    as_of: NaiveDate,
) -> Vec<Discrepancy> {
    if !in_active_ledger(facts.birth_date, params, as_of) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (category, result) in evaluate(facts, params, as_of) {
        match (recorded.contains(category), result) {
            (false, Ok(reason)) => out.push(Discrepancy::Missing { category, reason }),
            (true, Err(reason)) if category != Category::Distressed => {
                out.push(Discrepancy::Unsupported { category, reason })
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::DisabilityKind;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const TODAY: &str = "2026-11-23";

    fn parent(status: ParentStatus, since: Option<&str>) -> ParentSituation {
        ParentSituation::new(status, since.map(d))
    }

    fn facts(father: ParentSituation, mother: ParentSituation, birth: &str) -> ChildFacts {
        ChildFacts {
            birth_date: d(birth),
            hukou: Hukou::Rural,
            father,
            mother,
            disability: None,
            health: HealthStatus::Healthy,
            support: vec![],
        }
    }

    fn implied(f: &ChildFacts) -> Vec<Category> {
        implied_categories(f, &RuleParams::default(), d(TODAY))
            .into_iter()
            .map(|i| i.category)
            .collect()
    }

    #[test]
    fn both_parents_dead_is_an_orphan_not_factually_unsupported() {
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::DeclaredDead, None),
            "2015-03-07",
        );
        assert_eq!(implied(&f), [Category::Orphan]);
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::Missing, None),
            "2015-03-07",
        );
        assert_eq!(implied(&f), [Category::Orphan]);
    }

    #[test]
    fn one_dead_and_the_other_imprisoned_six_months_is_factually_unsupported() {
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::Imprisoned, Some("2026-04-01")),
            "2015-03-07",
        );
        assert_eq!(
            implied(&f),
            [Category::FactuallyUnsupported, Category::ChildOfPrisoner]
        );
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::Imprisoned, Some("2026-07-01")),
            "2015-03-07",
        );
        assert_eq!(implied(&f), [Category::ChildOfPrisoner]);
        let found = check_categories(
            [Category::FactuallyUnsupported, Category::ChildOfPrisoner]
                .into_iter()
                .collect(),
            &f,
            &RuleParams::default(),
            d(TODAY),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message(),
            "登记为事实无人抚养儿童，但不符合条件：母亲服刑在押仅 4 个月，未满 6 个月"
        );
    }

    #[test]
    fn a_missing_start_date_does_not_meet_a_duration() {
        let f = facts(
            parent(ParentStatus::LostContact, None),
            parent(ParentStatus::SeriousIllness, None),
            "2015-03-07",
        );
        assert!(implied(&f).is_empty());
        let found = check_categories(
            [Category::FactuallyUnsupported].into_iter().collect(),
            &f,
            &RuleParams::default(),
            d(TODAY),
        );
        assert!(
            found[0].message().contains("缺少起始日期"),
            "{}",
            found[0].message()
        );
    }

    #[test]
    fn left_behind_needs_rural_registration_an_age_under_16_and_parents_away() {
        let away = || parent(ParentStatus::MigrantWork, Some("2025-01-01"));
        let f = facts(away(), away(), "2016-05-01");
        assert_eq!(implied(&f), [Category::RuralLeftBehind]);
        let mut urban = f.clone();
        urban.hukou = Hukou::Urban;
        assert!(implied(&urban).is_empty());
        let sixteen = facts(away(), away(), "2010-11-23");
        assert!(implied(&sixteen).is_empty());
        let found = check_categories(
            [Category::RuralLeftBehind].into_iter().collect(),
            &sixteen,
            &RuleParams::default(),
            d(TODAY),
        );
        assert_eq!(
            found[0].message(),
            "登记为农村留守儿童，但不符合条件：已满 16 周岁"
        );
        // One away, the other seriously ill.
        let f = facts(
            away(),
            parent(ParentStatus::SeriousIllness, None),
            "2016-05-01",
        );
        assert_eq!(implied(&f), [Category::RuralLeftBehind]);
        // One away, the other at home.
        let f = facts(away(), parent(ParentStatus::AtHome, None), "2016-05-01");
        assert!(implied(&f).is_empty());
        // Away for only two months under the default 3-month minimum.
        let recent = || parent(ParentStatus::MigrantWork, Some("2026-09-30"));
        assert!(implied(&facts(recent(), recent(), "2016-05-01")).is_empty());
    }

    #[test]
    fn a_county_parameter_changes_the_outcome_from_its_effective_date() {
        let away = || parent(ParentStatus::MigrantWork, Some("2026-06-01"));
        let f = facts(away(), away(), "2016-05-01");
        let strict = RuleParams {
            effective_from: d("2026-01-01"),
            left_behind_min_months: 6,
            ..RuleParams::default()
        };
        let book = RuleBook::new(vec![strict.clone(), RuleParams::default()]);
        assert_eq!(book.on(d("2025-06-01")), &RuleParams::default());
        assert_eq!(book.on(d(TODAY)), &strict);
        assert!(implied_categories(&f, book.on(d(TODAY)), d(TODAY)).is_empty());
        assert_eq!(
            implied_categories(&f, &RuleParams::default(), d(TODAY)).len(),
            1
        );
    }

    #[test]
    fn poverty_disability_and_illness_imply_distress() {
        let mut f = facts(
            parent(ParentStatus::AtHome, None),
            parent(ParentStatus::AtHome, None),
            "2012-01-01",
        );
        f.support = vec![Support::Dibao];
        assert_eq!(implied(&f), [Category::Distressed]);
        f.support = vec![];
        f.disability = Some(Disability::new(DisabilityKind::Physical, 2).unwrap());
        assert_eq!(implied(&f), [Category::Distressed, Category::Disabled]);
        // A recorded 困境 without computed grounds is a judgement, never flagged.
        f.disability = None;
        let set: CategorySet = [Category::Distressed, Category::AffectedByHiv]
            .into_iter()
            .collect();
        assert!(check_categories(set, &f, &RuleParams::default(), d(TODAY)).is_empty());
    }

    #[test]
    fn ages_cutoffs_and_the_active_ledger() {
        assert_eq!(age_on(d("2008-02-29"), d("2026-02-28")), 17);
        assert_eq!(age_on(d("2008-02-29"), d("2026-03-01")), 18);
        assert_eq!(age_on(d("2010-11-23"), d("2026-11-23")), 16);
        assert_eq!(birth_cutoff(18, d("2026-11-23")), d("2008-11-23"));
        assert!(!in_active_ledger(
            d("2008-11-23"),
            &RuleParams::default(),
            d(TODAY)
        ));
        assert!(in_active_ledger(
            d("2008-11-24"),
            &RuleParams::default(),
            d(TODAY)
        ));
        let adult = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::Dead, None),
            "2008-01-01",
        );
        assert!(implied(&adult).is_empty());
    }

    fn any_status() -> impl Strategy<Value = ParentStatus> {
        (0..ParentStatus::ALL.len()).prop_map(|i| ParentStatus::ALL[i])
    }

    fn any_parent() -> impl Strategy<Value = ParentSituation> {
        (any_status(), proptest::option::of(0i64..3000)).prop_map(|(s, days)| {
            ParentSituation::new(s, days.map(|n| d(TODAY) - chrono::Duration::days(n)))
        })
    }

    fn any_facts() -> impl Strategy<Value = ChildFacts> {
        (
            any_parent(),
            any_parent(),
            0i64..(20 * 365),
            any::<bool>(),
            any::<bool>(),
            0usize..4,
        )
            .prop_map(
                |(father, mother, age_days, rural, disabled, support)| ChildFacts {
                    birth_date: d(TODAY) - chrono::Duration::days(age_days),
                    hukou: if rural { Hukou::Rural } else { Hukou::Urban },
                    father,
                    mother,
                    disability: disabled
                        .then(|| Disability::new(DisabilityKind::Intellectual, 3).unwrap()),
                    health: HealthStatus::Healthy,
                    support: Support::ALL.iter().copied().take(support).collect(),
                },
            )
    }

    fn set(f: &ChildFacts, p: &RuleParams) -> CategorySet {
        implied_categories(f, p, d(TODAY))
            .into_iter()
            .map(|i| i.category)
            .collect()
    }

    proptest! {
        #[test]
        fn exclusive_categories_never_coincide(f in any_facts()) {
            let s = set(&f, &RuleParams::default());
            prop_assert!(!(s.contains(Category::Orphan) && s.contains(Category::FactuallyUnsupported)));
            prop_assert!(!(s.contains(Category::RuralLeftBehind)
                && (s.contains(Category::Orphan) || s.contains(Category::FactuallyUnsupported))));
        }

        #[test]
        fn left_behind_only_rural_and_under_the_age_limit(f in any_facts()) {
            let p = RuleParams::default();
            if set(&f, &p).contains(Category::RuralLeftBehind) {
                prop_assert_eq!(f.hukou, Hukou::Rural);
                prop_assert!(age_on(f.birth_date, d(TODAY)) < p.left_behind_max_age);
            }
        }

        #[test]
        fn nothing_is_implied_for_adults(f in any_facts()) {
            if age_on(f.birth_date, d(TODAY)) >= 18 {
                prop_assert!(set(&f, &RuleParams::default()).is_empty());
            }
        }

        #[test]
        fn the_rules_are_symmetric_in_father_and_mother(f in any_facts()) {
            let mut swapped = f.clone();
            std::mem::swap(&mut swapped.father, &mut swapped.mother);
            prop_assert_eq!(set(&f, &RuleParams::default()), set(&swapped, &RuleParams::default()));
        }

        #[test]
        fn the_implied_set_checks_clean_and_removing_one_is_reported(f in any_facts()) {
            let p = RuleParams::default();
            let s = set(&f, &p);
            prop_assert!(check_categories(s, &f, &p, d(TODAY)).is_empty());
            if let Some(c) = s.iter().next() {
                let mut less = s;
                less.remove(c);
                let found = check_categories(less, &f, &p, d(TODAY));
                prop_assert_eq!(found.len(), 1);
                let is_missing_c = matches!(&found[0], Discrepancy::Missing { category, .. } if *category == c);
                prop_assert!(is_missing_c);
            }
        }

        #[test]
        fn a_longer_minimum_never_adds_factually_unsupported(f in any_facts(), extra in 0u32..24) {
            let p = RuleParams::default();
            let strict = RuleParams { restriction_min_months: p.restriction_min_months + extra,
                                      lost_contact_min_months: p.lost_contact_min_months + extra, ..p.clone() };
            if set(&f, &strict).contains(Category::FactuallyUnsupported) {
                prop_assert!(set(&f, &p).contains(Category::FactuallyUnsupported));
            }
        }

        #[test]
        fn child_of_prisoner_iff_a_parent_is_imprisoned(f in any_facts()) {
            let imprisoned = f.father.status == ParentStatus::Imprisoned || f.mother.status == ParentStatus::Imprisoned;
            let minor = age_on(f.birth_date, d(TODAY)) < 18;
            prop_assert_eq!(set(&f, &RuleParams::default()).contains(Category::ChildOfPrisoner), imprisoned && minor);
        }
    }
}
