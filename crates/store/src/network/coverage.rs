//! Coverage of the network under a division: the figures every work report quotes
//! ("建成未成年人保护工作站12个、工作点139个…配齐儿童督导员12人、儿童主任139名"), the
//! vacancies by name, directors per 100 children of the ledger and directors without
//! training this year; and the same figures for each division one level down.

use std::collections::{HashMap, HashSet};

use weibao_domain::access::{Action, Scope};
use weibao_domain::network::{per_hundred, PlaceKind, Post};
use weibao_domain::DivisionCode;

use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// The figures of one division.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoverageRow {
    pub division_code: String,
    pub name: String,
    pub centers: i64,
    pub stations: i64,
    pub work_points: i64,
    pub service_stations: i64,
    pub supervisors: i64,
    pub directors: i64,
    pub staff: i64,
    pub townships: i64,
    pub villages: i64,
    /// Townships with an open station; villages with an open work point.
    pub townships_with_station: i64,
    pub villages_with_work_point: i64,
    /// Townships without a supervisor; villages without a director.
    pub supervisor_vacancies: i64,
    pub director_vacancies: i64,
    pub children: i64,
    pub directors_per_100_children: Option<f64>,
    /// Directors in post with no training recorded this year.
    pub untrained_directors: i64,
}

/// A post nobody holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vacancy {
    pub division_code: String,
    pub name: String,
    pub post: Post,
    /// When its last holder left (None: never filled here).
    pub since: Option<String>,
}

/// Coverage under a division, with its divisions one level down.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    pub total: CoverageRow,
    pub rows: Vec<CoverageRow>,
    pub vacancies: Vec<Vacancy>,
    /// The year "this year" means for training.
    pub year: i32,
}

/// Township and village depths in the divisions table (levels 1..=5).
const TOWNSHIP_DEPTH: i32 = 4;
const VILLAGE_DEPTH: i32 = 5;

impl Store {
    /// The network's coverage under `within`.
    pub async fn coverage(
        &self,
        scope: &Scope,
        within: DivisionCode,
    ) -> Result<Coverage, StoreError> {
        scope.check(Action::ViewNetwork, within)?;
        let (lo, hi) = within.subtree_bounds();
        let (county_lo, county_hi) = (lo[..6].to_string(), hi[..6].to_string());
        let mut c = self.read().await?;
        let children: Vec<(String, i64)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT division_code, COUNT(*) FROM children
             WHERE county_code BETWEEN $1 AND $2 AND division_code BETWEEN $3 AND $4
             GROUP BY division_code"
        )
        .bind(&county_lo)
        .bind(&county_hi)
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *c)
        .await)?;
        drop(c);
        self.coverage_with(scope, within, children).await
    }

    /// The coverage with the ledger's children per village given (the statistics pass
    /// their counters instead of counting the records).
    pub(crate) async fn coverage_with(
        &self,
        scope: &Scope,
        within: DivisionCode,
        children: Vec<(String, i64)>,
    ) -> Result<Coverage, StoreError> {
        scope.check(Action::ViewNetwork, within)?;
        let (lo, hi) = within.subtree_bounds();
        let (county_lo, county_hi) = (lo[..6].to_string(), hi[..6].to_string());
        let today = self.clock().today();
        let year = chrono::Datelike::year(&today);
        let year_start = format!("{year}-01-01");
        let mut c = self.read().await?;
        let name: Option<String> = on!(c.conn(), |c| sqlx::query_scalar(
            "SELECT name FROM divisions WHERE code = $1"
        )
        .bind(within.full())
        .fetch_optional(&mut *c)
        .await)?;
        let name = name.ok_or(StoreError::NotFound)?;
        let units: Vec<(String, String, i32, Option<String>)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT code, name, level, parent_code FROM divisions
             WHERE code BETWEEN $1 AND $2 AND level >= $3 ORDER BY code"
        )
        .bind(&lo)
        .bind(&hi)
        .bind(within.level().depth() as i32)
        .fetch_all(&mut *c)
        .await)?;
        let places: Vec<(String, String)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT kind, division_code FROM stations
             WHERE division_code BETWEEN $1 AND $2 AND closed_on IS NULL"
        )
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *c)
        .await)?;
        let people: Vec<(String, String, String, Option<String>)> = on!(c.conn(), |c| {
            sqlx::query_as(
                "SELECT id, post, division_code, left_on FROM network_people
                 WHERE county_code BETWEEN $1 AND $2 AND division_code BETWEEN $3 AND $4",
            )
            .bind(&county_lo)
            .bind(&county_hi)
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&mut *c)
            .await
        })?;
        let trained: Vec<String> = on!(c.conn(), |c| sqlx::query_scalar(
            "SELECT DISTINCT person_id FROM network_trainings
             WHERE county_code BETWEEN $1 AND $2 AND held_on >= $3"
        )
        .bind(&county_lo)
        .bind(&county_hi)
        .bind(&year_start)
        .fetch_all(&mut *c)
        .await)?;
        drop(c);

        let trained: HashSet<String> = trained.into_iter().collect();
        // The divisions one level down, and where each code falls among them.
        let below: Vec<(String, String)> = units
            .iter()
            .filter(|(_, _, _, parent)| parent.as_deref() == Some(within.full().as_str()))
            .map(|(code, name, _, _)| (code.clone(), name.clone()))
            .collect();
        let mut prefixes: HashMap<String, usize> = HashMap::new();
        let mut lengths: Vec<usize> = Vec::new();
        for (i, (code, _)) in below.iter().enumerate() {
            if let Ok(d) = DivisionCode::parse(code) {
                let p = d.prefix();
                if !lengths.contains(&p.len()) {
                    lengths.push(p.len());
                }
                prefixes.insert(p, i);
            }
        }
        let row_of = |code: &str| -> Option<usize> {
            lengths
                .iter()
                .filter(|&&n| code.len() >= n)
                .find_map(|&n| prefixes.get(&code[..n]).copied())
        };
        let mut total = CoverageRow {
            division_code: within.full(),
            name,
            ..CoverageRow::default()
        };
        let mut rows: Vec<CoverageRow> = below
            .iter()
            .map(|(code, name)| CoverageRow {
                division_code: code.clone(),
                name: name.clone(),
                ..CoverageRow::default()
            })
            .collect();
        let mut add = |code: &str, f: &dyn Fn(&mut CoverageRow)| {
            f(&mut total);
            if let Some(i) = row_of(code) {
                f(&mut rows[i]);
            }
        };

        let mut with_station: HashSet<&str> = HashSet::new();
        let mut with_point: HashSet<&str> = HashSet::new();
        for (kind, code) in &places {
            match PlaceKind::parse(kind) {
                Some(PlaceKind::Center) => add(code, &|r| r.centers += 1),
                Some(PlaceKind::Station) => {
                    add(code, &|r| r.stations += 1);
                    with_station.insert(code);
                }
                Some(PlaceKind::WorkPoint) => {
                    add(code, &|r| r.work_points += 1);
                    with_point.insert(code);
                }
                Some(PlaceKind::ServiceStation) => add(code, &|r| r.service_stations += 1),
                None => {}
            }
        }
        let mut held: HashSet<(&str, Post)> = HashSet::new();
        let mut last_left: HashMap<(&str, Post), &str> = HashMap::new();
        for (id, post, code, left_on) in &people {
            let Some(post) = Post::parse(post) else {
                continue;
            };
            if let Some(left) = left_on {
                let e = last_left.entry((code.as_str(), post)).or_insert(left);
                if left.as_str() > *e {
                    *e = left;
                }
                continue;
            }
            held.insert((code.as_str(), post));
            match post {
                Post::Supervisor => add(code, &|r| r.supervisors += 1),
                Post::Director => {
                    add(code, &|r| r.directors += 1);
                    if !trained.contains(id) {
                        add(code, &|r| r.untrained_directors += 1);
                    }
                }
                Post::Staff => add(code, &|r| r.staff += 1),
            }
        }
        let mut vacancies = Vec::new();
        for (code, name, depth, _) in &units {
            let post = match *depth {
                TOWNSHIP_DEPTH => {
                    add(code, &|r| r.townships += 1);
                    if with_station.contains(code.as_str()) {
                        add(code, &|r| r.townships_with_station += 1);
                    }
                    Post::Supervisor
                }
                VILLAGE_DEPTH => {
                    add(code, &|r| r.villages += 1);
                    if with_point.contains(code.as_str()) {
                        add(code, &|r| r.villages_with_work_point += 1);
                    }
                    Post::Director
                }
                _ => continue,
            };
            if held.contains(&(code.as_str(), post)) {
                continue;
            }
            match post {
                Post::Supervisor => add(code, &|r| r.supervisor_vacancies += 1),
                _ => add(code, &|r| r.director_vacancies += 1),
            }
            vacancies.push(Vacancy {
                division_code: code.clone(),
                name: name.clone(),
                post,
                since: last_left.get(&(code.as_str(), post)).map(|s| s.to_string()),
            });
        }
        for (code, n) in &children {
            let n = *n;
            add(code, &|r| r.children += n);
        }
        for r in rows.iter_mut().chain(std::iter::once(&mut total)) {
            r.directors_per_100_children = per_hundred(r.directors, r.children);
        }
        Ok(Coverage {
            total,
            rows,
            vacancies,
            year,
        })
    }
}
