//! The ledger's figures (台账统计): which tiles a child counts in on a date. The store keeps
//! counters of these and the lists behind the tiles filter the same way, so a tile and its
//! list agree by construction.

use chrono::NaiveDate;

use crate::categories::{age_on, effective_categories, in_active_ledger, RuleParams};
use crate::child::{Category, CategorySet, Risk, SchoolStatus};
use crate::id_number::Sex;

/// 年龄段: the bands the statistical reports use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeBand {
    /// 0-5 岁
    Infant,
    /// 6-13 岁
    School,
    /// 14-17 岁
    Teen,
}

impl AgeBand {
    pub const ALL: [AgeBand; 3] = [AgeBand::Infant, AgeBand::School, AgeBand::Teen];

    /// The band of an age, none from 18 on.
    pub fn of_age(age: u32) -> Option<AgeBand> {
        match age {
            0..=5 => Some(AgeBand::Infant),
            6..=13 => Some(AgeBand::School),
            14..=17 => Some(AgeBand::Teen),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AgeBand::Infant => "0-5岁",
            AgeBand::School => "6-13岁",
            AgeBand::Teen => "14-17岁",
        }
    }

    /// The stored key ("0-5"), also the form the list's age filter takes.
    pub fn key(self) -> &'static str {
        match self {
            AgeBand::Infant => "0-5",
            AgeBand::School => "6-13",
            AgeBand::Teen => "14-17",
        }
    }

    /// The ages the band spans, both ends included (the list's age_min and age_max).
    pub fn ages(self) -> (u32, u32) {
        match self {
            AgeBand::Infant => (0, 5),
            AgeBand::School => (6, 13),
            AgeBand::Teen => (14, 17),
        }
    }

    pub fn parse_key(s: &str) -> Option<AgeBand> {
        AgeBand::ALL.into_iter().find(|b| b.key() == s)
    }
}

/// The plain facts of a record the figures read (the store keeps them in plain columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFacts {
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub school: Option<SchoolStatus>,
    pub categories: CategorySet,
    pub risk: Risk,
}

/// One tile a child counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Figure {
    /// 台账儿童 in all
    Children,
    Category(Category),
    Sex(SexKey),
    Age(AgeBand),
    /// 就学情况; `None` when not recorded.
    School(Option<SchoolStatus>),
    Risk(Risk),
}

/// [`Sex`] with an order, for a figure's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SexKey {
    Male,
    Female,
}

impl From<Sex> for SexKey {
    fn from(s: Sex) -> SexKey {
        match s {
            Sex::Male => SexKey::Male,
            Sex::Female => SexKey::Female,
        }
    }
}

impl SexKey {
    pub fn label(self) -> &'static str {
        match self {
            SexKey::Male => "男",
            SexKey::Female => "女",
        }
    }
}

/// The school value stored for "not recorded".
const SCHOOL_UNKNOWN: &str = "未填";

impl Figure {
    /// The stored key: a kind and the Chinese value the list filters by.
    pub fn key(self) -> String {
        match self {
            Figure::Children => "children".into(),
            Figure::Category(c) => format!("category:{}", c.label()),
            Figure::Sex(s) => format!("sex:{}", s.label()),
            Figure::Age(b) => format!("age:{}", b.key()),
            Figure::School(s) => format!("school:{}", s.map_or(SCHOOL_UNKNOWN, |s| s.label())),
            Figure::Risk(r) => format!("risk:{}", r.label()),
        }
    }

    pub fn parse_key(key: &str) -> Option<Figure> {
        if key == "children" {
            return Some(Figure::Children);
        }
        let (kind, value) = key.split_once(':')?;
        Some(match kind {
            "category" => Figure::Category(Category::parse_label(value)?),
            "sex" => Figure::Sex(match value {
                "男" => SexKey::Male,
                "女" => SexKey::Female,
                _ => return None,
            }),
            "age" => Figure::Age(AgeBand::parse_key(value)?),
            "school" if value == SCHOOL_UNKNOWN => Figure::School(None),
            "school" => Figure::School(Some(SchoolStatus::parse_label(value)?)),
            "risk" => Figure::Risk(Risk::parse_label(value)?),
            _ => return None,
        })
    }

    /// The tile's name.
    pub fn label(self) -> String {
        match self {
            Figure::Children => "台账儿童".into(),
            Figure::Category(c) => c.label().into(),
            Figure::Sex(s) => s.label().into(),
            Figure::Age(b) => b.label().into(),
            Figure::School(s) => s.map_or(SCHOOL_UNKNOWN, |s| s.label()).into(),
            Figure::Risk(r) => format!("{}风险", r.label()),
        }
    }
}

/// The tiles a child counts in on `as_of`: none once of age (the active ledger ends
/// there, as the list's default does); 农村留守 only under its age limit, as the list's
/// category filter has it.
pub fn figures_of(facts: &ChildFacts, params: &RuleParams, as_of: NaiveDate) -> Vec<Figure> {
    if !in_active_ledger(facts.birth_date, params, as_of) {
        return Vec::new();
    }
    let mut out = vec![
        Figure::Children,
        Figure::Sex(facts.sex.into()),
        Figure::School(facts.school),
        Figure::Risk(facts.risk),
    ];
    if let Some(band) = AgeBand::of_age(age_on(facts.birth_date, as_of)) {
        out.push(Figure::Age(band));
    }
    let categories = effective_categories(facts.categories, facts.birth_date, params, as_of);
    out.extend(categories.iter().map(Figure::Category));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn facts(birth: &str, cats: &[Category]) -> ChildFacts {
        ChildFacts {
            birth_date: d(birth),
            sex: Sex::Female,
            school: Some(SchoolStatus::Primary),
            categories: cats.iter().copied().collect(),
            risk: Risk::Medium,
        }
    }

    #[test]
    fn a_child_counts_in_the_band_of_its_age_and_leaves_the_ledger_at_eighteen() {
        let p = RuleParams::default();
        let f = facts("2012-03-01", &[Category::Orphan]);
        let on = |day| figures_of(&f, &p, d(day));
        assert!(on("2026-02-28").contains(&Figure::Age(AgeBand::School)));
        assert!(on("2026-03-01").contains(&Figure::Age(AgeBand::Teen)));
        assert!(on("2026-03-01").contains(&Figure::Category(Category::Orphan)));
        assert!(on("2018-02-28").contains(&Figure::Age(AgeBand::Infant)));
        assert!(on("2030-02-28").contains(&Figure::Children));
        assert!(on("2030-03-01").is_empty(), "18 on 2030-03-01");
    }

    #[test]
    fn left_behind_ends_at_its_age_limit_while_the_child_stays_counted() {
        let p = RuleParams::default();
        let f = facts("2010-06-15", &[Category::RuralLeftBehind]);
        let before = figures_of(&f, &p, d("2026-06-14"));
        let after = figures_of(&f, &p, d("2026-06-15"));
        assert!(before.contains(&Figure::Category(Category::RuralLeftBehind)));
        assert!(!after.contains(&Figure::Category(Category::RuralLeftBehind)));
        assert!(after.contains(&Figure::Children));
    }

    proptest! {
        #[test]
        fn every_key_parses_back_to_its_figure(
            birth in 0i64..6600, cats in 0u32..256, sex in any::<bool>(),
            school in 0usize..=SchoolStatus::ALL.len(), risk in 0usize..Risk::ALL.len(),
        ) {
            let f = ChildFacts {
                birth_date: d("2008-01-01") + chrono::Duration::days(birth),
                sex: if sex { Sex::Male } else { Sex::Female },
                school: SchoolStatus::ALL.get(school).copied(),
                categories: CategorySet::from_bits(cats),
                risk: Risk::ALL[risk],
            };
            let figures = figures_of(&f, &RuleParams::default(), d("2026-12-07"));
            for fig in &figures {
                prop_assert_eq!(Figure::parse_key(&fig.key()), Some(*fig));
            }
            // A child in the ledger counts in exactly one band, one sex, one school tile.
            let count = |pick: fn(&Figure) -> bool| figures.iter().filter(|f| pick(f)).count();
            let one = usize::from(!figures.is_empty());
            prop_assert_eq!(count(|f| matches!(f, Figure::Age(_))), one);
            prop_assert_eq!(count(|f| matches!(f, Figure::Sex(_))), one);
            prop_assert_eq!(count(|f| matches!(f, Figure::School(_))), one);
        }
    }
}
