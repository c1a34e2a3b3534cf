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
    /// 事实无人抚养: 服刑在押 / 强制隔离戒毒 / 限制人身自由 must have lasted this long
    /// (default 6; 0 = any, even without a start date).
    pub restriction_min_months: u32,
    /// 事实无人抚养: 失联 must have lasted this long since the police accepted the report
    /// (default 6; 0 = any).
    pub lost_contact_min_months: u32,
    /// 农村留守: under this age (default 16).
    pub left_behind_max_age: u32,
    /// 农村留守: a parent counts as away for work after this many months (default 3; 0 = any).
    pub left_behind_min_months: u32,
    /// The ledger holds minors: under this age (default 18).
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

/// The versions of the parameters in force over time (a province or county may change them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleBook {
    /// Sorted by `effective_from`, never empty.
    versions: Vec<RuleParams>,
}

impl RuleBook {
    /// Sorts the versions by date; with none, holds the defaults. Of two versions with the
    /// same date, the one given last wins.
    pub fn new(mut versions: Vec<RuleParams>) -> RuleBook {
        if versions.is_empty() {
            versions.push(RuleParams::default());
        }
        versions.sort_by_key(|v| v.effective_from);
        RuleBook { versions }
    }

    /// The latest version in force on `date`. Dates before every version get the earliest:
    /// a record dated before the first configured rule is still judged by some rule.
    pub fn on(&self, date: NaiveDate) -> &RuleParams {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_from <= date)
            .unwrap_or(&self.versions[0])
    }

    /// All versions, earliest first.
    pub fn versions(&self) -> &[RuleParams] {
        &self.versions
    }
}

impl Default for RuleBook {
    fn default() -> Self {
        RuleBook::new(Vec::new())
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

/// A category the facts imply, and why: one Chinese sentence a director understands
/// ("父亲死亡，母亲服刑在押已满 6 个月").
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
    /// The record has a category the facts do not support; `reason` names the condition
    /// that fails.
    Unsupported { category: Category, reason: String },
}

impl Discrepancy {
    pub fn category(&self) -> Category {
        match self {
            Discrepancy::Missing { category, .. } | Discrepancy::Unsupported { category, .. } => {
                *category
            }
        }
    }

    /// What to show the director, e.g. "应登记为事实无人抚养儿童：父亲死亡，母亲服刑在押已满 6 个月".
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
    if as_of <= birth_date {
        return 0;
    }
    let mut years = as_of.year() - birth_date.year();
    // Comparing (month, day) puts 29 Feb after 28 Feb: the birthday arrives on 1 Mar.
    if (as_of.month(), as_of.day()) < (birth_date.month(), birth_date.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// The birth date of someone who turns `years` on `as_of`, for SQL filters on the birth
/// date: `birth_date > birth_cutoff(years, as_of)` exactly when
/// `age_on(birth_date, as_of) < years`.
pub fn birth_cutoff(years: u32, as_of: NaiveDate) -> NaiveDate {
    let Ok(year) = i32::try_from(i64::from(as_of.year()) - i64::from(years)) else {
        return NaiveDate::MIN;
    };
    NaiveDate::from_ymd_opt(year, as_of.month(), as_of.day())
        // 29 Feb in a common year: those born 28 Feb have turned `years`, those born 1 Mar
        // have not.
        .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
        .unwrap_or(NaiveDate::MIN)
}

/// Whether the child is still a minor in the active ledger on `as_of` (age < adult_age).
pub fn in_active_ledger(birth_date: NaiveDate, params: &RuleParams, as_of: NaiveDate) -> bool {
    age_on(birth_date, as_of) < params.adult_age
}

/// The recorded categories still in force on `as_of`: 农村留守 ends at the age limit by
/// definition, whatever else changes; the others need a decision to end.
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

/// Whole months from `since` to `as_of`, negative when `since` is later. A monthly
/// anniversary on a day the month lacks (31 Jan + 1 month) falls on the 1st of the next
/// month, as birthdays do in [`age_on`].
fn whole_months(since: NaiveDate, as_of: NaiveDate) -> i64 {
    let mut months = (i64::from(as_of.year()) - i64::from(since.year())) * 12
        + i64::from(as_of.month())
        - i64::from(since.month());
    if as_of.day() < since.day() {
        months -= 1;
    }
    months
}

/// One parent as the rules see them on a date.
struct Standing {
    /// 父亲 or 母亲.
    who: &'static str,
    status: ParentStatus,
    /// Whether the status has lasted as long as its rule asks (true when no duration is asked).
    lasted: bool,
    /// The duration part for timed statuses: "父亲服刑在押已满 6 个月",
    /// "父亲外出务工仅 2 个月，未满 3 个月", "父亲失联缺少起始日期".
    timed: Option<String>,
}

impl Standing {
    fn of(who: &'static str, p: &ParentSituation, params: &RuleParams, as_of: NaiveDate) -> Self {
        let min = match p.status {
            ParentStatus::Imprisoned
            | ParentStatus::CompulsoryRehab
            | ParentStatus::OtherRestriction => Some(params.restriction_min_months),
            ParentStatus::LostContact => Some(params.lost_contact_min_months),
            ParentStatus::MigrantWork => Some(params.left_behind_min_months),
            _ => None,
        };
        let what = phrase(p.status);
        let (lasted, timed) = match (min, p.since) {
            (None, _) => (true, None),
            // No minimum: any start date counts, even an unknown one.
            (Some(0), _) => (true, None),
            (Some(_), None) => (false, Some(format!("{who}{what}缺少起始日期"))),
            (Some(_), Some(since)) if since > as_of => (
                false,
                Some(format!(
                    "{who}{what}的起始日期 {since} 晚于核对日期 {as_of}"
                )),
            ),
            (Some(min), Some(since)) => {
                let months = whole_months(since, as_of);
                if months >= i64::from(min) {
                    (true, Some(format!("{who}{what}已满 {min} 个月")))
                } else {
                    (
                        false,
                        Some(format!("{who}{what}仅 {months} 个月，未满 {min} 个月")),
                    )
                }
            }
        };
        Standing {
            who,
            status: p.status,
            lasted,
            timed,
        }
    }

    /// The status alone: "母亲在家", "父亲服刑在押".
    fn plain(&self) -> String {
        format!("{}{}", self.who, phrase(self.status))
    }

    /// The status with its duration, if it has one.
    fn detailed(&self) -> String {
        self.timed.clone().unwrap_or_else(|| self.plain())
    }

    /// 死亡 / 宣告死亡 / 失踪: what 孤儿 counts.
    fn dead_or_missing(&self) -> bool {
        matches!(
            self.status,
            ParentStatus::Dead | ParentStatus::DeclaredDead | ParentStatus::Missing
        )
    }

    /// A status among the 事实无人抚养 conditions (民发〔2019〕62号), however long.
    fn is_condition_status(&self) -> bool {
        matches!(
            self.status,
            ParentStatus::SevereDisability
                | ParentStatus::SeriousIllness
                | ParentStatus::Imprisoned
                | ParentStatus::CompulsoryRehab
                | ParentStatus::OtherRestriction
                | ParentStatus::LostContact
                | ParentStatus::GuardianshipRevoked
                | ParentStatus::Deported
        )
    }

    /// In a 事实无人抚养 condition that has lasted as long as asked.
    fn in_condition(&self) -> bool {
        self.is_condition_status() && self.lasted
    }

    /// 外出务工 long enough for 留守.
    fn away(&self) -> bool {
        self.status == ParentStatus::MigrantWork && self.lasted
    }

    /// Without guardianship capacity for 留守 (国发〔2016〕13号: 无监护能力; 重残 and 重病
    /// are taken as such).
    fn incapable(&self) -> bool {
        matches!(
            self.status,
            ParentStatus::NoCapacity
                | ParentStatus::SevereDisability
                | ParentStatus::SeriousIllness
        )
    }

    /// How this parent reads in a 事实无人抚养 reason: durations only for the conditions.
    fn for_unsupported(&self) -> String {
        match self.status {
            // Would read as a reason for, not against.
            ParentStatus::NoCapacity => {
                format!("{}无监护能力（不属于事实无人抚养的认定情形）", self.who)
            }
            _ if self.is_condition_status() => self.detailed(),
            _ => self.plain(),
        }
    }

    /// How this parent reads in a 留守 reason: durations only for 外出务工.
    fn for_left_behind(&self) -> String {
        if self.status == ParentStatus::MigrantWork {
            self.detailed()
        } else {
            self.plain()
        }
    }
}

/// A parent's status as it reads after 父亲 / 母亲.
fn phrase(status: ParentStatus) -> &'static str {
    match status {
        ParentStatus::AtHome => "在家",
        ParentStatus::MigrantWork => "外出务工",
        ParentStatus::Dead => "死亡",
        ParentStatus::DeclaredDead => "被宣告死亡",
        ParentStatus::Missing => "失踪",
        ParentStatus::LostContact => "失联",
        ParentStatus::Imprisoned => "服刑在押",
        ParentStatus::CompulsoryRehab => "强制隔离戒毒",
        ParentStatus::OtherRestriction => "被限制人身自由",
        ParentStatus::SevereDisability => "重残",
        ParentStatus::SeriousIllness => "重病",
        ParentStatus::GuardianshipRevoked => "被撤销监护资格",
        ParentStatus::Deported => "被遣送（驱逐）出境",
        ParentStatus::NoCapacity => "无监护能力",
        ParentStatus::Unknown => "情况不详",
    }
}

/// Joins what is said of each parent: "父亲死亡，母亲失踪", or "父母均死亡" when the same.
fn both(parts: &[String]) -> String {
    if let [a, b] = parts {
        if let (Some(x), Some(y)) = (a.strip_prefix("父亲"), b.strip_prefix("母亲")) {
            if x == y {
                return format!("父母均{x}");
            }
        }
    }
    parts.join("，")
}

/// What is said of the parents that satisfy `pick`, father first.
fn said_of(
    parents: [&Standing; 2],
    pick: impl Fn(&Standing) -> bool,
    say: impl Fn(&Standing) -> String,
) -> String {
    let parts: Vec<String> = parents.into_iter().filter(|s| pick(s)).map(say).collect();
    both(&parts)
}

/// 孤儿: both dead, one dead and the other missing, or both missing.
fn orphan(f: &Standing, m: &Standing) -> Result<String, String> {
    if f.dead_or_missing() && m.dead_or_missing() {
        Ok(both(&[f.plain(), m.plain()]))
    } else {
        Err(said_of([f, m], |s| !s.dead_or_missing(), Standing::plain))
    }
}

/// 事实无人抚养 (only if not 孤儿): each parent dead, missing or in a condition, at least one
/// in a condition.
fn factually_unsupported(
    f: &Standing,
    m: &Standing,
    is_orphan: &Result<String, String>,
) -> Result<String, String> {
    if let Ok(reason) = is_orphan {
        return Err(format!("{reason}，属孤儿"));
    }
    let qualifies = |s: &Standing| s.dead_or_missing() || s.in_condition();
    if qualifies(f) && qualifies(m) {
        Ok(both(&[f.for_unsupported(), m.for_unsupported()]))
    } else {
        Err(said_of(
            [f, m],
            |s| !qualifies(s),
            Standing::for_unsupported,
        ))
    }
}

/// 农村留守, the parents' part: both away for work, or one away and the other without
/// guardianship capacity.
fn left_behind_parents(f: &Standing, m: &Standing) -> Result<String, String> {
    if (f.away() && (m.away() || m.incapable())) || (m.away() && f.incapable()) {
        return Ok(both(&[f.for_left_behind(), m.for_left_behind()]));
    }
    // The parents that fail: those neither away nor without capacity. If both lack
    // capacity, nobody is away.
    let failing = said_of(
        [f, m],
        |s| !s.away() && !s.incapable(),
        Standing::for_left_behind,
    );
    if failing.is_empty() {
        Err(format!(
            "父母均未外出务工（{}）",
            both(&[f.plain(), m.plain()])
        ))
    } else {
        Err(failing)
    }
}

/// "一级" .. "四级".
fn grade(d: Disability) -> &'static str {
    match d.grade {
        1 => "一级",
        2 => "二级",
        3 => "三级",
        _ => "四级",
    }
}

/// For each computed category, in [`Category::ALL`] order: `Ok(why it holds)` or
/// `Err(which condition fails)`.
fn evaluate(
    facts: &ChildFacts,
    params: &RuleParams,
    as_of: NaiveDate,
) -> [(Category, Result<String, String>); 6] {
    let f = Standing::of("父亲", &facts.father, params, as_of);
    let m = Standing::of("母亲", &facts.mother, params, as_of);
    let age = age_on(facts.birth_date, as_of);

    let is_orphan = orphan(&f, &m);
    let is_unsupported = factually_unsupported(&f, &m, &is_orphan);
    let left_behind = if age >= params.left_behind_max_age {
        Err(format!("已满 {} 周岁", params.left_behind_max_age))
    } else if facts.hukou != Hukou::Rural {
        Err(format!("户籍为{}", facts.hukou.label()))
    } else if let Ok(reason) = &is_orphan {
        Err(format!("{reason}，属孤儿"))
    } else if let Ok(reason) = &is_unsupported {
        Err(format!("{reason}，属事实无人抚养儿童"))
    } else {
        left_behind_parents(&f, &m)
            .map(|r| format!("农村户籍，未满 {} 周岁，{r}", params.left_behind_max_age))
    };

    let imprisoned = |s: &Standing| s.status == ParentStatus::Imprisoned;
    let prisoner = if imprisoned(&f) || imprisoned(&m) {
        Ok(said_of([&f, &m], imprisoned, Standing::plain))
    } else {
        Err(format!(
            "父母均未服刑在押（{}）",
            both(&[f.plain(), m.plain()])
        ))
    };

    let disability = facts
        .disability
        .map(|d| format!("{}{}", d.kind.label(), grade(d)));
    let disabled = disability
        .clone()
        .ok_or_else(|| "未登记残疾类别和等级".to_string());

    let poverty: Vec<&str> = facts
        .support
        .iter()
        .filter(|s| matches!(s, Support::Dibao | Support::Tekun))
        .map(|s| s.label())
        .collect();
    let mut grounds = Vec::new();
    if !poverty.is_empty() {
        grounds.push(format!("家庭经济困难（{}）", poverty.join("、")));
    }
    if let Some(d) = &disability {
        grounds.push(format!("自身困难（{d}）"));
    } else if facts.health == HealthStatus::SeriousIllness {
        grounds.push("自身困难（患重病）".to_string());
    }
    let distressed = if grounds.is_empty() {
        Err("无低保、特困、残疾或重病".to_string())
    } else {
        Ok(grounds.join("，"))
    };

    [
        (Category::Orphan, is_orphan),
        (Category::FactuallyUnsupported, is_unsupported),
        (Category::RuralLeftBehind, left_behind),
        (Category::Distressed, distressed),
        (Category::Disabled, disabled),
        (Category::ChildOfPrisoner, prisoner),
    ]
}

/// Computes the categories the facts imply on `as_of` under `params`, in
/// [`Category::ALL`] order. Nothing once the child has left the active ledger (adult).
/// 受艾滋病影响儿童 and 重点困境儿童 are never implied: they are recorded, not computed.
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

/// Compares recorded categories with the implied ones: `Missing` for each implied category
/// not recorded, `Unsupported` for each recorded 孤儿, 事实无人抚养, 农村留守, 服刑人员子女 or
/// 残疾儿童 the facts do not imply. 困境儿童 may rest on a judgement of guardianship, and
/// 受艾滋病影响 / 重点困境 are recorded, not computed: those are never "unsupported". A child
/// who has left the active ledger is not checked.
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

    /// The check date of every example: no clock in the domain.
    const TODAY: &str = "2026-11-23";
    /// Ten years old on TODAY.
    const TEN: &str = "2016-11-23";

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

    fn implied_with(f: &ChildFacts, p: &RuleParams) -> Vec<Category> {
        implied_categories(f, p, d(TODAY))
            .into_iter()
            .map(|i| i.category)
            .collect()
    }

    fn implied(f: &ChildFacts) -> Vec<Category> {
        implied_with(f, &RuleParams::default())
    }

    fn reason_for(f: &ChildFacts, c: Category) -> String {
        implied_categories(f, &RuleParams::default(), d(TODAY))
            .into_iter()
            .find(|i| i.category == c)
            .map(|i| i.reason)
            .unwrap_or_else(|| panic!("{c} not implied"))
    }

    fn messages(recorded: &[Category], f: &ChildFacts) -> Vec<String> {
        check_categories(
            recorded.iter().copied().collect(),
            f,
            &RuleParams::default(),
            d(TODAY),
        )
        .iter()
        .map(Discrepancy::message)
        .collect()
    }

    fn away(since: &str) -> ParentSituation {
        parent(ParentStatus::MigrantWork, Some(since))
    }

    #[test]
    fn both_parents_dead_is_an_orphan_not_factually_unsupported() {
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::DeclaredDead, None),
            TEN,
        );
        assert_eq!(implied(&f), [Category::Orphan]);
        assert_eq!(reason_for(&f, Category::Orphan), "父亲死亡，母亲被宣告死亡");
        assert_eq!(
            messages(&[Category::FactuallyUnsupported], &f),
            [
                "应登记为孤儿：父亲死亡，母亲被宣告死亡",
                "登记为事实无人抚养儿童，但不符合条件：父亲死亡，母亲被宣告死亡，属孤儿"
            ]
        );
    }

    #[test]
    fn one_dead_and_one_missing_or_both_missing_is_an_orphan() {
        let dead_missing = facts(
            parent(ParentStatus::Missing, None),
            parent(ParentStatus::Dead, None),
            TEN,
        );
        assert_eq!(implied(&dead_missing), [Category::Orphan]);
        let both_missing = facts(
            parent(ParentStatus::Missing, None),
            parent(ParentStatus::Missing, None),
            TEN,
        );
        assert_eq!(reason_for(&both_missing, Category::Orphan), "父母均失踪");
    }

    #[test]
    fn one_dead_parent_and_the_other_at_home_is_not_an_orphan_and_names_who_is_home() {
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::AtHome, None),
            TEN,
        );
        assert!(implied(&f).is_empty());
        assert_eq!(
            messages(&[Category::Orphan], &f),
            ["登记为孤儿，但不符合条件：母亲在家"]
        );
    }

    #[test]
    fn father_dead_and_mother_imprisoned_seven_months_is_factually_unsupported() {
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::Imprisoned, Some("2026-04-23")),
            TEN,
        );
        assert_eq!(
            implied(&f),
            [Category::FactuallyUnsupported, Category::ChildOfPrisoner]
        );
        assert_eq!(
            messages(&[Category::ChildOfPrisoner], &f),
            ["应登记为事实无人抚养儿童：父亲死亡，母亲服刑在押已满 6 个月"]
        );
    }

    #[test]
    fn mother_imprisoned_five_months_is_not_yet_factually_unsupported_and_says_why() {
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::Imprisoned, Some("2026-06-23")),
            TEN,
        );
        assert_eq!(implied(&f), [Category::ChildOfPrisoner]);
        assert_eq!(
            messages(
                &[Category::FactuallyUnsupported, Category::ChildOfPrisoner],
                &f
            ),
            ["登记为事实无人抚养儿童，但不符合条件：母亲服刑在押仅 5 个月，未满 6 个月"]
        );
    }

    #[test]
    fn both_parents_in_conditions_is_factually_unsupported_from_the_sixth_month() {
        let f = |since| {
            facts(
                parent(ParentStatus::LostContact, Some(since)),
                parent(ParentStatus::SevereDisability, None),
                TEN,
            )
        };
        assert!(implied(&f("2026-05-24")).is_empty());
        assert_eq!(implied(&f("2026-05-23")), [Category::FactuallyUnsupported]);
        assert_eq!(
            reason_for(&f("2026-05-23"), Category::FactuallyUnsupported),
            "父亲失联已满 6 个月，母亲重残"
        );
        let revoked_and_deported = facts(
            parent(ParentStatus::GuardianshipRevoked, None),
            parent(ParentStatus::Deported, None),
            TEN,
        );
        assert_eq!(
            implied(&revoked_and_deported),
            [Category::FactuallyUnsupported]
        );
    }

    #[test]
    fn a_required_duration_without_a_start_date_is_not_met() {
        let f = facts(
            parent(ParentStatus::LostContact, None),
            parent(ParentStatus::SeriousIllness, None),
            TEN,
        );
        assert!(implied(&f).is_empty());
        assert_eq!(
            messages(&[Category::FactuallyUnsupported], &f),
            ["登记为事实无人抚养儿童，但不符合条件：父亲失联缺少起始日期"]
        );
    }

    #[test]
    fn a_start_date_after_the_check_date_is_named() {
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::CompulsoryRehab, Some("2027-01-01")),
            TEN,
        );
        assert_eq!(
            messages(&[Category::FactuallyUnsupported], &f),
            ["登记为事实无人抚养儿童，但不符合条件：母亲强制隔离戒毒的起始日期 2027-01-01 晚于核对日期 2026-11-23"]
        );
    }

    #[test]
    fn no_capacity_alone_is_not_a_condition_of_factual_unsupport() {
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::NoCapacity, None),
            TEN,
        );
        assert!(implied(&f).is_empty());
        assert!(messages(&[Category::FactuallyUnsupported], &f)[0]
            .ends_with("母亲无监护能力（不属于事实无人抚养的认定情形）"));
    }

    #[test]
    fn months_are_counted_like_birthdays() {
        assert_eq!(whole_months(d("2026-01-15"), d("2026-07-15")), 6);
        assert_eq!(whole_months(d("2026-01-15"), d("2026-07-14")), 5);
        assert_eq!(whole_months(d("2026-01-31"), d("2026-02-28")), 0);
        assert_eq!(whole_months(d("2026-01-31"), d("2026-03-01")), 1);
        assert_eq!(whole_months(d("2025-11-30"), d("2026-11-30")), 12);
        assert_eq!(whole_months(d("2026-12-01"), d("2026-11-23")), -1);
    }

    #[test]
    fn both_parents_away_in_a_rural_household_at_ten_is_left_behind() {
        let f = facts(away("2025-01-01"), away("2024-03-15"), TEN);
        assert_eq!(implied(&f), [Category::RuralLeftBehind]);
        assert_eq!(
            reason_for(&f, Category::RuralLeftBehind),
            "农村户籍，未满 16 周岁，父母均外出务工已满 3 个月"
        );
    }

    #[test]
    fn an_urban_household_is_not_left_behind() {
        let mut f = facts(away("2025-01-01"), away("2025-01-01"), TEN);
        f.hukou = Hukou::Urban;
        assert!(implied(&f).is_empty());
        assert_eq!(
            messages(&[Category::RuralLeftBehind], &f),
            ["登记为农村留守儿童，但不符合条件：户籍为城镇"]
        );
    }

    #[test]
    fn a_child_of_sixteen_is_no_longer_left_behind() {
        let fifteen = facts(away("2025-01-01"), away("2025-01-01"), "2010-11-24");
        assert_eq!(implied(&fifteen), [Category::RuralLeftBehind]);
        let sixteen = facts(away("2025-01-01"), away("2025-01-01"), "2010-11-23");
        assert!(implied(&sixteen).is_empty());
        assert_eq!(
            messages(&[Category::RuralLeftBehind], &sixteen),
            ["登记为农村留守儿童，但不符合条件：已满 16 周岁"]
        );
        let recorded: CategorySet = [Category::RuralLeftBehind, Category::Disabled]
            .into_iter()
            .collect();
        let p = RuleParams::default();
        assert_eq!(
            effective_categories(recorded, sixteen.birth_date, &p, d(TODAY)),
            [Category::Disabled].into_iter().collect()
        );
        assert_eq!(
            effective_categories(recorded, fifteen.birth_date, &p, d(TODAY)),
            recorded
        );
    }

    #[test]
    fn one_parent_away_and_the_other_without_capacity_is_left_behind() {
        for other in [
            ParentStatus::SeriousIllness,
            ParentStatus::SevereDisability,
            ParentStatus::NoCapacity,
        ] {
            let f = facts(away("2025-01-01"), parent(other, None), TEN);
            assert_eq!(implied(&f), [Category::RuralLeftBehind], "{other}");
        }
        let f = facts(
            parent(ParentStatus::SeriousIllness, None),
            away("2025-01-01"),
            TEN,
        );
        assert_eq!(
            reason_for(&f, Category::RuralLeftBehind),
            "农村户籍，未满 16 周岁，父亲重病，母亲外出务工已满 3 个月"
        );
    }

    #[test]
    fn one_parent_away_and_the_other_at_home_is_not_left_behind() {
        let f = facts(away("2025-01-01"), parent(ParentStatus::AtHome, None), TEN);
        assert!(implied(&f).is_empty());
        assert_eq!(
            messages(&[Category::RuralLeftBehind], &f),
            ["登记为农村留守儿童，但不符合条件：母亲在家"]
        );
        let both_ill = facts(
            parent(ParentStatus::SeriousIllness, None),
            parent(ParentStatus::NoCapacity, None),
            TEN,
        );
        assert_eq!(
            messages(&[Category::RuralLeftBehind], &both_ill),
            ["登记为农村留守儿童，但不符合条件：父母均未外出务工（父亲重病，母亲无监护能力）"]
        );
    }

    #[test]
    fn a_recent_departure_is_not_yet_an_absence() {
        let f = facts(away("2026-09-24"), away("2026-09-24"), TEN);
        assert!(implied(&f).is_empty());
        assert_eq!(
            messages(&[Category::RuralLeftBehind], &f),
            ["登记为农村留守儿童，但不符合条件：父母均外出务工仅 1 个月，未满 3 个月"]
        );
        let f = facts(away("2025-01-01"), away("2026-09-01"), TEN);
        assert_eq!(
            messages(&[Category::RuralLeftBehind], &f),
            ["登记为农村留守儿童，但不符合条件：母亲外出务工仅 2 个月，未满 3 个月"]
        );
    }

    #[test]
    fn with_no_minimum_any_absence_or_restriction_counts_even_without_a_date() {
        let p = RuleParams {
            left_behind_min_months: 0,
            restriction_min_months: 0,
            ..RuleParams::default()
        };
        let f = facts(
            parent(ParentStatus::MigrantWork, None),
            parent(ParentStatus::MigrantWork, None),
            TEN,
        );
        assert!(implied(&f).is_empty());
        assert_eq!(implied_with(&f, &p), [Category::RuralLeftBehind]);
        let f = facts(
            parent(ParentStatus::Dead, None),
            parent(ParentStatus::OtherRestriction, None),
            TEN,
        );
        assert!(implied(&f).is_empty());
        assert_eq!(implied_with(&f, &p), [Category::FactuallyUnsupported]);
    }

    #[test]
    fn the_rule_book_picks_the_version_in_force_on_a_date() {
        let version = |from: &str, months: u32| RuleParams {
            effective_from: d(from),
            left_behind_min_months: months,
            ..RuleParams::default()
        };
        let book = RuleBook::new(vec![
            version("2026-01-01", 6),
            version("2019-01-01", 3),
            version("2023-07-01", 0),
        ]);
        let months_on = |date: &str| book.on(d(date)).left_behind_min_months;
        assert_eq!(months_on("2010-05-05"), 3, "before all: the earliest");
        assert_eq!(months_on("2023-06-30"), 3);
        assert_eq!(months_on("2023-07-01"), 0);
        assert_eq!(months_on("2025-12-31"), 0);
        assert_eq!(months_on("2026-01-01"), 6);
        assert_eq!(months_on("2040-01-01"), 6);
        assert_eq!(book.versions().len(), 3);
        assert_eq!(RuleBook::new(vec![]).on(d(TODAY)), &RuleParams::default());
    }

    #[test]
    fn a_county_minimum_of_six_months_changes_the_outcome() {
        let f = facts(away("2026-06-01"), away("2026-06-01"), TEN);
        let county = RuleParams {
            effective_from: d("2026-01-01"),
            left_behind_min_months: 6,
            ..RuleParams::default()
        };
        let book = RuleBook::new(vec![RuleParams::default(), county.clone()]);
        assert_eq!(book.on(d("2025-12-31")), &RuleParams::default());
        assert_eq!(book.on(d(TODAY)), &county);
        assert_eq!(implied(&f), [Category::RuralLeftBehind]);
        assert!(implied_categories(&f, book.on(d(TODAY)), d(TODAY)).is_empty());
        let found = check_categories(
            [Category::RuralLeftBehind].into_iter().collect(),
            &f,
            book.on(d(TODAY)),
            d(TODAY),
        );
        assert_eq!(
            found.iter().map(Discrepancy::message).collect::<Vec<_>>(),
            ["登记为农村留守儿童，但不符合条件：父母均外出务工仅 5 个月，未满 6 个月"]
        );
    }

    #[test]
    fn a_child_of_a_prisoner_needs_no_minimum_duration() {
        let f = facts(
            parent(ParentStatus::Imprisoned, Some("2026-11-01")),
            parent(ParentStatus::AtHome, None),
            TEN,
        );
        assert_eq!(implied(&f), [Category::ChildOfPrisoner]);
        assert_eq!(reason_for(&f, Category::ChildOfPrisoner), "父亲服刑在押");
        let rehab = facts(
            parent(ParentStatus::CompulsoryRehab, Some("2020-01-01")),
            parent(ParentStatus::AtHome, None),
            TEN,
        );
        assert_eq!(
            messages(&[Category::ChildOfPrisoner], &rehab),
            ["登记为服刑人员子女，但不符合条件：父母均未服刑在押（父亲强制隔离戒毒，母亲在家）"]
        );
    }

    #[test]
    fn poverty_disability_and_serious_illness_imply_distress() {
        let mut f = facts(
            parent(ParentStatus::AtHome, None),
            parent(ParentStatus::AtHome, None),
            TEN,
        );
        f.support = vec![Support::LowIncome];
        assert!(implied(&f).is_empty(), "低收入 alone is not 低保 or 特困");
        f.support = vec![Support::Dibao];
        assert_eq!(implied(&f), [Category::Distressed]);
        f.disability = Some(Disability::new(DisabilityKind::Physical, 2).unwrap());
        assert_eq!(implied(&f), [Category::Distressed, Category::Disabled]);
        assert_eq!(
            reason_for(&f, Category::Distressed),
            "家庭经济困难（低保），自身困难（肢体残疾二级）"
        );
        assert_eq!(reason_for(&f, Category::Disabled), "肢体残疾二级");
        f.support = vec![];
        f.disability = None;
        f.health = HealthStatus::SeriousIllness;
        assert_eq!(reason_for(&f, Category::Distressed), "自身困难（患重病）");
    }

    #[test]
    fn recorded_distress_hiv_and_key_flags_are_never_unsupported() {
        let f = facts(
            parent(ParentStatus::AtHome, None),
            parent(ParentStatus::AtHome, None),
            TEN,
        );
        let recorded = [
            Category::Distressed,
            Category::AffectedByHiv,
            Category::KeyDistressed,
        ];
        assert!(messages(&recorded, &f).is_empty());
        assert_eq!(
            messages(&[Category::Disabled], &f),
            ["登记为残疾儿童，但不符合条件：未登记残疾类别和等级"]
        );
    }

    #[test]
    fn adults_leave_the_ledger_and_imply_nothing() {
        let orphan = |birth| {
            facts(
                parent(ParentStatus::Dead, None),
                parent(ParentStatus::Dead, None),
                birth,
            )
        };
        let p = RuleParams::default();
        let adult = orphan("2008-11-23");
        assert!(!in_active_ledger(adult.birth_date, &p, d(TODAY)));
        assert!(implied(&adult).is_empty());
        assert!(messages(&[], &adult).is_empty());
        let minor = orphan("2008-11-24");
        assert!(in_active_ledger(minor.birth_date, &p, d(TODAY)));
        assert_eq!(implied(&minor), [Category::Orphan]);
    }

    #[test]
    fn ages_count_completed_years_and_leap_day_birthdays_arrive_on_march_first() {
        assert_eq!(age_on(d("2008-02-29"), d("2026-02-28")), 17);
        assert_eq!(age_on(d("2008-02-29"), d("2026-03-01")), 18);
        assert_eq!(age_on(d("2008-02-29"), d("2024-02-29")), 16);
        assert_eq!(age_on(d("2010-11-23"), d("2026-11-22")), 15);
        assert_eq!(age_on(d("2010-11-23"), d("2026-11-23")), 16);
        assert_eq!(age_on(d("2026-11-23"), d("2026-11-23")), 0);
        assert_eq!(age_on(d("2027-01-01"), d("2026-11-23")), 0);
    }

    #[test]
    fn birth_cutoffs_bound_the_ages_for_sql_filters() {
        assert_eq!(birth_cutoff(18, d("2026-11-23")), d("2008-11-23"));
        assert_eq!(birth_cutoff(16, d("2024-02-29")), d("2008-02-29"));
        assert_eq!(birth_cutoff(18, d("2024-02-29")), d("2006-02-28"));
        assert_eq!(birth_cutoff(u32::MAX, d(TODAY)), NaiveDate::MIN);
    }

    #[test]
    fn discrepancies_read_as_one_sentence_and_name_their_category() {
        let missing = Discrepancy::Missing {
            category: Category::Orphan,
            reason: "父母均死亡".into(),
        };
        let unsupported = Discrepancy::Unsupported {
            category: Category::RuralLeftBehind,
            reason: "已满 16 周岁".into(),
        };
        assert_eq!(missing.message(), "应登记为孤儿：父母均死亡");
        assert_eq!(
            unsupported.message(),
            "登记为农村留守儿童，但不符合条件：已满 16 周岁"
        );
        assert_eq!(missing.category(), Category::Orphan);
        assert_eq!(unsupported.category(), Category::RuralLeftBehind);
    }

    // ---- properties --------------------------------------------------------------------

    /// The categories the rules compute (and may flag as unsupported).
    const COMPUTED: [Category; 5] = [
        Category::Orphan,
        Category::FactuallyUnsupported,
        Category::RuralLeftBehind,
        Category::ChildOfPrisoner,
        Category::Disabled,
    ];

    fn any_date_near_today() -> impl Strategy<Value = NaiveDate> {
        // From about 8 years before TODAY to 3 months after (a start date typed wrong).
        (-90i64..3000).prop_map(|n| d(TODAY) - chrono::Duration::days(n))
    }

    fn any_parent() -> impl Strategy<Value = ParentSituation> {
        (
            proptest::sample::select(ParentStatus::ALL),
            proptest::option::of(any_date_near_today()),
        )
            .prop_map(|(status, since)| ParentSituation::new(status, since))
    }

    fn any_disability() -> impl Strategy<Value = Option<Disability>> {
        proptest::option::of(
            (proptest::sample::select(DisabilityKind::ALL), 1u8..=4)
                .prop_map(|(kind, grade)| Disability::new(kind, grade).unwrap()),
        )
    }

    fn any_facts() -> impl Strategy<Value = ChildFacts> {
        (
            any_parent(),
            any_parent(),
            0i64..(20 * 366),
            proptest::sample::select(Hukou::ALL),
            any_disability(),
            proptest::sample::select(HealthStatus::ALL),
            proptest::sample::subsequence(Support::ALL, 0..=Support::ALL.len()),
        )
            .prop_map(
                |(father, mother, age_days, hukou, disability, health, support)| ChildFacts {
                    birth_date: d(TODAY) - chrono::Duration::days(age_days),
                    hukou,
                    father,
                    mother,
                    disability,
                    health,
                    support,
                },
            )
    }

    fn any_params() -> impl Strategy<Value = RuleParams> {
        (0u32..13, 0u32..13, 12u32..19, 0u32..13, 16u32..20).prop_map(
            |(restriction, lost, max_age, away, adult)| RuleParams {
                effective_from: d("2019-01-01"),
                restriction_min_months: restriction,
                lost_contact_min_months: lost,
                left_behind_max_age: max_age,
                left_behind_min_months: away,
                adult_age: adult,
            },
        )
    }

    fn any_day() -> impl Strategy<Value = NaiveDate> {
        // 1990 to 2050, across many leap days.
        (0i64..22_000).prop_map(|n| d("1990-01-01") + chrono::Duration::days(n))
    }

    fn set(f: &ChildFacts, p: &RuleParams) -> CategorySet {
        implied_categories(f, p, d(TODAY))
            .into_iter()
            .map(|i| i.category)
            .collect()
    }

    fn minor(f: &ChildFacts, p: &RuleParams) -> bool {
        age_on(f.birth_date, d(TODAY)) < p.adult_age
    }

    proptest! {
        #[test]
        fn orphan_factually_unsupported_and_left_behind_exclude_each_other(
            f in any_facts(), p in any_params()
        ) {
            let s = set(&f, &p);
            prop_assert!(!(s.contains(Category::Orphan) && s.contains(Category::FactuallyUnsupported)));
            prop_assert!(!(s.contains(Category::RuralLeftBehind)
                && (s.contains(Category::Orphan) || s.contains(Category::FactuallyUnsupported))));
        }

        #[test]
        fn left_behind_only_for_rural_children_under_the_age_limit(
            f in any_facts(), p in any_params()
        ) {
            if set(&f, &p).contains(Category::RuralLeftBehind) {
                prop_assert_eq!(f.hukou, Hukou::Rural);
                prop_assert!(age_on(f.birth_date, d(TODAY)) < p.left_behind_max_age);
            }
        }

        #[test]
        fn nothing_is_implied_or_flagged_at_the_adult_age(f in any_facts(), p in any_params()) {
            if !minor(&f, &p) {
                prop_assert!(set(&f, &p).is_empty());
                let all: CategorySet = Category::ALL.iter().copied().collect();
                prop_assert!(check_categories(all, &f, &p, d(TODAY)).is_empty());
            }
        }

        #[test]
        fn swapping_father_and_mother_gives_the_same_categories(
            f in any_facts(), p in any_params()
        ) {
            let mut swapped = f.clone();
            std::mem::swap(&mut swapped.father, &mut swapped.mother);
            prop_assert_eq!(set(&f, &p), set(&swapped, &p));
        }

        #[test]
        fn the_implied_set_checks_clean_with_a_reason_for_each(f in any_facts(), p in any_params()) {
            for i in implied_categories(&f, &p, d(TODAY)) {
                prop_assert!(!i.reason.is_empty(), "{} without a reason", i.category);
            }
            prop_assert!(check_categories(set(&f, &p), &f, &p, d(TODAY)).is_empty());
        }

        #[test]
        fn leaving_out_an_implied_category_is_exactly_one_missing(
            f in any_facts(), p in any_params()
        ) {
            let s = set(&f, &p);
            for c in s.iter() {
                let mut less = s;
                less.remove(c);
                let found = check_categories(less, &f, &p, d(TODAY));
                prop_assert_eq!(found.len(), 1);
                let is_missing_c = matches!(&found[0], Discrepancy::Missing { category, reason }
                    if *category == c && !reason.is_empty());
                prop_assert!(is_missing_c, "{:?}", found);
            }
        }

        #[test]
        fn adding_a_category_the_facts_do_not_imply_is_exactly_one_unsupported(
            f in any_facts(), p in any_params()
        ) {
            let s = set(&f, &p);
            for c in Category::ALL.iter().copied().filter(|c| !s.contains(*c)) {
                let mut more = s;
                more.insert(c);
                let found = check_categories(more, &f, &p, d(TODAY));
                if minor(&f, &p) && COMPUTED.contains(&c) {
                    prop_assert_eq!(found.len(), 1);
                    let is_unsupported_c = matches!(&found[0], Discrepancy::Unsupported { category, reason }
                        if *category == c && !reason.is_empty());
                    prop_assert!(is_unsupported_c, "{:?}", found);
                } else {
                    prop_assert!(found.is_empty(), "{} flagged: {:?}", c, found);
                }
            }
        }

        #[test]
        fn longer_minimums_never_add_factually_unsupported(
            f in any_facts(), p in any_params(), more in 0u32..24, which in 0u8..3
        ) {
            let strict = RuleParams {
                restriction_min_months: p.restriction_min_months + if which != 1 { more } else { 0 },
                lost_contact_min_months: p.lost_contact_min_months + if which != 0 { more } else { 0 },
                ..p.clone()
            };
            if set(&f, &strict).contains(Category::FactuallyUnsupported) {
                prop_assert!(set(&f, &p).contains(Category::FactuallyUnsupported));
            }
        }

        #[test]
        fn a_longer_absence_minimum_never_adds_left_behind(
            f in any_facts(), p in any_params(), more in 0u32..24
        ) {
            let strict = RuleParams { left_behind_min_months: p.left_behind_min_months + more, ..p.clone() };
            if set(&f, &strict).contains(Category::RuralLeftBehind) {
                prop_assert!(set(&f, &p).contains(Category::RuralLeftBehind));
            }
        }

        #[test]
        fn categories_that_follow_one_fact_follow_it_exactly(f in any_facts(), p in any_params()) {
            let s = set(&f, &p);
            let minor = minor(&f, &p);
            let imprisoned = [&f.father, &f.mother].iter().any(|x| x.status == ParentStatus::Imprisoned);
            prop_assert_eq!(s.contains(Category::ChildOfPrisoner), minor && imprisoned);
            let gone = |x: &ParentSituation| matches!(x.status,
                ParentStatus::Dead | ParentStatus::DeclaredDead | ParentStatus::Missing);
            prop_assert_eq!(s.contains(Category::Orphan), minor && gone(&f.father) && gone(&f.mother));
            prop_assert_eq!(s.contains(Category::Disabled), minor && f.disability.is_some());
            prop_assert!(!s.contains(Category::AffectedByHiv) && !s.contains(Category::KeyDistressed));
        }

        #[test]
        fn birth_cutoff_agrees_with_age_on(birth in any_day(), days in 0i64..(30 * 366), years in 0u32..40) {
            // Only children already born on `as_of` are in the ledger.
            let as_of = birth + chrono::Duration::days(days);
            prop_assert_eq!(birth > birth_cutoff(years, as_of), age_on(birth, as_of) < years);
        }

        #[test]
        fn ages_never_decrease(birth in any_day(), a in any_day(), b in any_day()) {
            let (early, late) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(age_on(birth, early) <= age_on(birth, late));
        }

        #[test]
        fn the_rule_book_gives_the_latest_version_not_after_the_date(
            starts in proptest::collection::vec(any_day(), 1..6), date in any_day()
        ) {
            let versions: Vec<RuleParams> = starts.iter().enumerate()
                .map(|(i, &effective_from)| RuleParams { effective_from, adult_age: i as u32, ..RuleParams::default() })
                .collect();
            let book = RuleBook::new(versions);
            let got = book.on(date).effective_from;
            let earliest = starts.iter().min().copied().unwrap();
            let expected = starts.iter().filter(|s| **s <= date).max().copied().unwrap_or(earliest);
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn effective_categories_drop_only_left_behind_and_only_at_the_age_limit(
            bits in 0u32..256, birth in any_day(), as_of in any_day(), p in any_params()
        ) {
            let recorded = CategorySet::from_bits(bits);
            let effective = effective_categories(recorded, birth, &p, as_of);
            let mut expected = recorded;
            if age_on(birth, as_of) >= p.left_behind_max_age {
                expected.remove(Category::RuralLeftBehind);
            }
            prop_assert_eq!(effective, expected);
        }
    }
}
