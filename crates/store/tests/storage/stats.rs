//! The figures: every tile of the dashboard equals the count of the list behind it, after
//! random changes, on every backend.

use chrono::{Duration, NaiveDate};
use weibao_domain::access::{Role, Scope};
use weibao_domain::child::{Category, Risk, SchoolStatus};
use weibao_domain::id_number::Sex;
use weibao_domain::record::ChildPatch;
use weibao_domain::stats::ledger::{AgeBand, Figure};
use weibao_domain::stats::period::Period;
use weibao_domain::DivisionCode;
use weibao_store::testing::TestDb;
use weibao_store::{ChildFilter, Store, StoreError};

use super::{add_user, code, migrant, scope_of, seeded, visit_input};

/// A small deterministic generator (xorshift), so that a failing seed can be rerun.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len() as u64) as usize]
    }
}

const VILLAGES: [&str; 5] = [
    "510812100201",
    "510812100202",
    "510812200201",
    "510812200202",
    "510811100201",
];

/// A name for the n-th record (names take no digits).
fn name_of(n: u32) -> String {
    const SURNAMES: [char; 5] = ['张', '王', '李', '赵', '刘'];
    const GIVEN: [char; 10] = ['一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];
    format!(
        "{}{}{}",
        SURNAMES[n as usize % 5],
        GIVEN[(n / 5) as usize % 10],
        GIVEN[(n / 50) as usize % 10]
    )
}

/// A valid 身份证号 of someone born on `birth`.
fn born(birth: NaiveDate, seq: u32) -> String {
    let first17 = format!("510812{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    format!(
        "{first17}{}",
        weibao_domain::id_number::check_char(first17.as_bytes())
    )
}

/// The list behind a tile (None: a tile no list filter selects, 就学情况 not recorded).
fn filter_of(figure: Figure, division: DivisionCode) -> Option<ChildFilter> {
    let mut f = ChildFilter {
        division: Some(division),
        page: 1,
        per_page: 200,
        ..Default::default()
    };
    match figure {
        Figure::Children => {}
        Figure::Category(c) => f.category = Some(c),
        Figure::Sex(s) => {
            f.sex = Some(if s.label() == "女" {
                Sex::Female
            } else {
                Sex::Male
            })
        }
        Figure::Age(b) => {
            let (lo, hi) = b.ages();
            f.age_min = Some(lo);
            f.age_max = Some(hi);
        }
        Figure::School(Some(s)) => f.school = Some(s),
        Figure::School(None) => return None,
        Figure::Risk(r) => f.risk = Some(r),
    }
    Some(f)
}

/// Every tile a division could show, shown or not.
fn all_figures() -> Vec<Figure> {
    let mut all = vec![Figure::Children];
    all.extend(Category::ALL.iter().map(|c| Figure::Category(*c)));
    all.extend(AgeBand::ALL.iter().map(|b| Figure::Age(*b)));
    all.extend(SchoolStatus::ALL.iter().map(|s| Figure::School(Some(*s))));
    all.extend(Risk::ALL.iter().map(|r| Figure::Risk(*r)));
    for s in [Sex::Male, Sex::Female] {
        all.push(Figure::Sex(s.into()));
    }
    all
}

/// Checks every tile of every division against its list, for a reader.
async fn tiles_match_lists(s: &Store, reader: &Scope, label: &str) {
    for at in [
        "51",
        "5108",
        "510812",
        "510812100",
        "510812200202",
        "510811",
    ] {
        let at = code(at);
        if !reader.reaches(at) {
            continue;
        }
        let figures = s.ledger_figures(reader, at).await.unwrap();
        for figure in all_figures() {
            let Some(filter) = filter_of(figure, at) else {
                continue;
            };
            let (_, total) = s.list_children(reader, &filter).await.unwrap();
            assert_eq!(
                figures.get(figure),
                total.count,
                "{label}: {} at {} for {}",
                figure.label(),
                at.full(),
                reader.username
            );
        }
        // The parts add up to the whole.
        let parts: i64 = figures
            .parts
            .iter()
            .map(|(_, _, f)| f.get(&Figure::Children).copied().unwrap_or(0))
            .sum();
        if !figures.parts.is_empty() {
            assert_eq!(
                parts,
                figures.get(Figure::Children),
                "{label} at {}",
                at.full()
            );
        }
    }
}

#[tokio::test]
async fn every_tile_equals_its_list_after_random_changes() {
    for seed in [0x9e37_79b9_7f4a_7c15u64, 0x2545_f491_4f6c_dd1d] {
        for db in TestDb::all().await {
            let label = format!("{} seed {seed:x}", db.label);
            seeded(&db).await;
            let s = &db.store;
            let office = scope_of(&add_user(s, "office", Role::Office, "51").await);
            let designated = office.clone().with_designated(true);
            let plain = scope_of(&add_user(s, "office-2", Role::Office, "510812").await);
            let sup = scope_of(&add_user(s, "sup", Role::Supervisor, "510812100").await);
            let dir_c = scope_of(&add_user(s, "dir-c", Role::Director, "510811100201").await);
            let mut rng = Rng(seed);
            let mut ids: Vec<String> = Vec::new();
            let mut seq = 0u32;
            for step in 0..48 {
                match rng.below(12) {
                    0..=3 => {
                        seq += 1;
                        let today = s.clock().today();
                        let birth =
                            today - Duration::days(rng.below(18 * 365) as i64) - Duration::days(1);
                        let village = *rng.pick(&VILLAGES);
                        let mut p = ChildPatch {
                            name: Some(name_of(seq)),
                            id_number: Some(born(birth, seq * 7 + step)),
                            division: Some(village.into()),
                            risk: Some(rng.pick(&["低", "中", "高"]).to_string()),
                            ..Default::default()
                        };
                        if rng.below(2) == 0 {
                            p.father = migrant();
                            p.mother = migrant();
                        }
                        if rng.below(3) == 0 {
                            p.school_status =
                                Some(rng.pick(&["小学", "初中", "学前教育"]).to_string());
                        }
                        let mut who = &office;
                        match rng.below(6) {
                            0 => p.categories = Some(vec!["孤儿".into()]),
                            1 => p.categories = Some(vec!["困境儿童".into(), "残疾儿童".into()]),
                            2 => {
                                p.categories = Some(vec!["受艾滋病影响儿童".into()]);
                                who = &designated;
                            }
                            _ => {}
                        }
                        match s.create_child(who, p, "").await {
                            Ok(c) => ids.push(c.id),
                            // The rules may refuse a random record; it must change nothing.
                            Err(StoreError::Invalid { field, invalid }) => {
                                eprintln!("{label}: refused {field}: {}", invalid.message)
                            }
                            Err(e) => panic!("{label}: {e:?}"),
                        }
                    }
                    4 | 5 if !ids.is_empty() => {
                        let id = rng.pick(&ids).clone();
                        let p = ChildPatch {
                            risk: Some(rng.pick(&["低", "中", "高"]).to_string()),
                            school_status: Some(rng.pick(&["小学", "初中"]).to_string()),
                            categories: (rng.below(2) == 0).then(|| vec!["困境儿童".into()]),
                            ..Default::default()
                        };
                        match s.update_child(&designated, &id, p, None, "").await {
                            Ok(_) | Err(StoreError::Invalid { .. }) => {}
                            Err(e) => panic!("{label}: {e:?}"),
                        }
                    }
                    6 | 7 if !ids.is_empty() => {
                        // A move: within the county (another village) or to the next one.
                        let id = rng.pick(&ids).clone();
                        // Half of the moves leave the county (with the child's visits).
                        let to = if rng.below(2) == 0 {
                            VILLAGES[4]
                        } else {
                            *rng.pick(&VILLAGES[..4])
                        };
                        let Ok(t) = s
                            .request_transfer(&designated, &id, code(to), "随家人迁居", "")
                            .await
                        else {
                            continue;
                        };
                        let receiver = if to.starts_with("510811") {
                            &dir_c
                        } else {
                            &designated
                        };
                        let accept = rng.below(4) != 0;
                        s.decide_transfer(receiver, &t.id, accept, "", "")
                            .await
                            .unwrap_or_else(|e| panic!("{label}: {e:?}"));
                    }
                    9..=11 if !ids.is_empty() => {
                        let id = rng.pick(&ids).clone();
                        let mut made = false;
                        for left_behind in [true, false] {
                            let input = visit_input(left_behind, rng.below(8) == 0);
                            if s.record_visit(&designated, &id, input, None, "")
                                .await
                                .is_ok()
                            {
                                made = true;
                                break;
                            }
                        }
                        assert!(made, "{label}: no visit could be recorded for {id}");
                    }
                    8 => {
                        // Days pass: children have birthdays, some turn 14, 16 or 18.
                        s.clock()
                            .advance_ms(rng.below(400) as i64 * 24 * 3600 * 1000);
                    }
                    _ => {}
                }
                if step % 12 == 11 {
                    for reader in [&office, &designated, &plain, &sup] {
                        tiles_match_lists(s, reader, &label).await;
                    }
                }
            }
            assert!(
                ids.len() >= 5,
                "{label}: too few records were made to test anything"
            );
            visits_match_records(s, &designated, &ids, &label).await;
            let problems = s.check_counts().await.unwrap();
            assert!(problems.is_empty(), "{label}: {problems:?}");
        }
    }
}

/// The visits the overview counts in a county and the province equal the visits of the
/// children there, counted child by child.
async fn visits_match_records(s: &Store, reader: &Scope, ids: &[String], label: &str) {
    use std::collections::BTreeMap;
    let today = s.clock().today();
    let all_time = Period::parse(NaiveDate::from_ymd_opt(2000, 1, 1), Some(today), today).unwrap();
    let mut by_county: BTreeMap<String, i64> = BTreeMap::new();
    for id in ids {
        let child = s.read_child(reader, id, false, "").await.unwrap();
        let visits = s.child_visits(reader, id).await.unwrap();
        *by_county.entry(child.county_code.clone()).or_default() += visits.len() as i64;
    }
    let total: i64 = by_county.values().sum();
    assert!(total > 0, "{label}: no visits were made");
    for (at, want) in [
        ("510812", by_county.get("510812").copied().unwrap_or(0)),
        ("51", total),
    ] {
        let o = s.overview(reader, code(at), all_time).await.unwrap();
        let v = o.visits.expect("the office sees visits");
        assert_eq!(v.done, want, "{label}: visits made under {at}");
        // The last twelve months hold every visit made in them.
        assert!(v.by_month.iter().map(|m| m.1).sum::<i64>() <= want);
    }
}

#[tokio::test]
async fn the_check_names_a_counter_that_disagrees_with_the_records() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let mut p = ChildPatch {
            name: Some("张小花".into()),
            id_number: Some(born(s.clock().today() - Duration::days(3000), 1)),
            division: Some("510812100201".into()),
            ..Default::default()
        };
        p.categories = Some(vec!["孤儿".into()]);
        s.create_child(&office, p, "").await.unwrap();
        let before = s.ledger_figures(&office, code("510812")).await.unwrap();
        assert_eq!(
            before.get(Figure::Category(Category::Orphan)),
            1,
            "{}",
            db.label
        );
        assert!(s.check_counts().await.unwrap().is_empty());
        db.raw("UPDATE child_counts SET n = n + 2 WHERE figure = 'category:孤儿' AND level = 0")
            .await
            .unwrap();
        let problems = s.check_counts().await.unwrap();
        assert_eq!(problems.len(), 1, "{}: {problems:?}", db.label);
        assert!(
            problems[0].contains("510812100201") && problems[0].contains("孤儿"),
            "{}: {}",
            db.label,
            problems[0]
        );
        assert!(problems[0].contains("记录数 1，计数 3"), "{}", problems[0]);
    }
}

#[tokio::test]
async fn a_reader_outside_the_division_gets_no_figures() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let sup = scope_of(&add_user(s, "sup", Role::Supervisor, "510812100").await);
        assert!(matches!(
            s.ledger_figures(&sup, code("510812")).await,
            Err(StoreError::Forbidden | StoreError::NotFound)
        ));
        assert!(matches!(
            s.ledger_figures(&sup, code("510812200")).await,
            Err(StoreError::Forbidden | StoreError::NotFound)
        ));
        assert!(s.ledger_figures(&sup, code("510812100201")).await.is_ok());
    }
}
