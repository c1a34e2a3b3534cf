//! The ledger's counters (child_counts): per village and per county, how many records
//! count in each tile on the day the county's clock (stat_clocks) says, under the rules it
//! names. Every write that changes a counted column adds its difference in the same
//! transaction; a county whose clock is for another day or other rules is rebuilt from
//! its records before it is read, so a tile always equals the count of its list.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::QueryBuilder;
use weibao_domain::categories::RuleParams;
use weibao_domain::child::{Category, CategorySet, Risk, SchoolStatus};
use weibao_domain::id_number::Sex;
use weibao_domain::record::ChildRecord;
use weibao_domain::stats::ledger::{figures_of, ChildFacts, Figure};

use crate::db::{Conn, Store};
use crate::error::StoreError;
use crate::on;

/// A counters row's level: the record's own division, or its county's sum.
const VILLAGE: i32 = 0;
const COUNTY: i32 = 1;

/// Rows a statement writes at most (5 binds each, well within both bind limits).
const BATCH: usize = 2000;

/// What a record contributes: where it counts, whether only designated readers see it,
/// and the facts its tiles are read from.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    pub division: String,
    pub sensitive: bool,
    pub facts: ChildFacts,
}

impl Counted {
    pub(crate) fn of_record(r: &ChildRecord) -> Counted {
        let idn = r.id_number();
        Counted {
            division: r.division().full(),
            sensitive: r.has(Category::AffectedByHiv),
            facts: ChildFacts {
                birth_date: idn.birth_date(),
                sex: idn.sex(),
                school: r.school_status,
                categories: r.categories,
                risk: r.risk,
            },
        }
    }
}

/// The counted columns as the children table keeps them.
#[derive(sqlx::FromRow)]
struct CountedRow {
    division_code: String,
    birth_date: NaiveDate,
    sex: String,
    school_status: String,
    category_bits: i64,
    risk: String,
    sensitive: bool,
}

const COUNTED_COLUMNS: &str =
    "division_code, birth_date, sex, school_status, category_bits, risk, sensitive";

impl From<CountedRow> for Counted {
    fn from(r: CountedRow) -> Counted {
        Counted {
            division: r.division_code,
            sensitive: r.sensitive,
            facts: ChildFacts {
                birth_date: r.birth_date,
                sex: if r.sex == Sex::Female.label() {
                    Sex::Female
                } else {
                    Sex::Male
                },
                school: SchoolStatus::parse_label(&r.school_status),
                categories: CategorySet::from_bits(r.category_bits as u32),
                risk: Risk::parse_label(&r.risk).unwrap_or(Risk::Low),
            },
        }
    }
}

/// The day and the rules a county's counters are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CountedFor {
    pub as_of: NaiveDate,
    pub adult_age: u32,
    pub left_behind_max_age: u32,
}

impl CountedFor {
    pub(crate) fn new(as_of: NaiveDate, params: &RuleParams) -> CountedFor {
        CountedFor {
            as_of,
            adult_age: params.adult_age,
            left_behind_max_age: params.left_behind_max_age,
        }
    }

    fn rules_text(self) -> String {
        format!("{}/{}", self.adult_age, self.left_behind_max_age)
    }

    /// None for a clock written before its first build ("": not built).
    fn parse(as_of: NaiveDate, rules: &str) -> Option<CountedFor> {
        let (adult, left) = rules.split_once('/')?;
        Some(CountedFor {
            as_of,
            adult_age: adult.parse().ok()?,
            left_behind_max_age: left.parse().ok()?,
        })
    }

    fn params(self) -> RuleParams {
        RuleParams {
            adult_age: self.adult_age,
            left_behind_max_age: self.left_behind_max_age,
            ..RuleParams::default()
        }
    }
}

/// A counter's key: level, division, sensitive, figure.
type Key = (i32, String, bool, String);

/// Adds `sign` times each of the record's tiles, at its village and its county.
fn add(into: &mut BTreeMap<Key, i64>, county: &str, c: &Counted, sign: i64, at: CountedFor) {
    let county_full = format!("{county:0<12}");
    for figure in figures_of(&c.facts, &at.params(), at.as_of) {
        let key = figure.key();
        for (level, division) in [(VILLAGE, &c.division), (COUNTY, &county_full)] {
            *into
                .entry((level, division.clone(), c.sensitive, key.clone()))
                .or_default() += sign;
        }
    }
}

/// The clock of a county in a write: made (unbuilt) when missing, so that a rebuild
/// begun meanwhile waits for this write, and on PostgreSQL held shared to the commit,
/// so that a rebuild cannot count between this write and its counters.
async fn clock_for_write(
    mut conn: Conn<'_>,
    county: &str,
) -> Result<Option<CountedFor>, StoreError> {
    let row: Option<(NaiveDate, String)> = match conn.re() {
        Conn::Sqlite(c) => {
            sqlx::query_as("SELECT as_of, rules FROM stat_clocks WHERE county_code = $1")
                .bind(county)
                .fetch_optional(&mut *c)
                .await?
        }
        Conn::Pg(c) => {
            sqlx::query(
                "INSERT INTO stat_clocks (county_code, as_of, rules) VALUES ($1, '1970-01-01', '')
                 ON CONFLICT (county_code) DO NOTHING",
            )
            .bind(county)
            .execute(&mut *c)
            .await?;
            sqlx::query_as("SELECT as_of, rules FROM stat_clocks WHERE county_code = $1 FOR SHARE")
                .bind(county)
                .fetch_optional(&mut *c)
                .await?
        }
    };
    Ok(row.and_then(|(as_of, rules)| CountedFor::parse(as_of, &rules)))
}

/// Adds the differences to the counters, in key order (so that two writers lock the
/// rows they share in the same order).
async fn apply(
    mut conn: Conn<'_>,
    county: &str,
    deltas: BTreeMap<Key, i64>,
) -> Result<(), StoreError> {
    let rows: Vec<(Key, i64)> = deltas.into_iter().filter(|(_, n)| *n != 0).collect();
    let verb = conn.bulk_insert();
    for chunk in rows.chunks(BATCH) {
        on!(conn.re(), |c| {
            let mut qb = QueryBuilder::new(format!(
                "{verb} child_counts (county_code, level, division_code, sensitive, figure, n) "
            ));
            qb.push_values(chunk, |mut b, ((level, division, sensitive, figure), n)| {
                b.push_bind(county.to_string())
                    .push_bind(*level)
                    .push_bind(division.clone())
                    .push_bind(*sensitive)
                    .push_bind(figure.clone())
                    .push_bind(*n);
            });
            qb.push(
                " ON CONFLICT (county_code, level, division_code, sensitive, figure)
                  DO UPDATE SET n = child_counts.n + excluded.n",
            );
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Counts records added to a county (`sign` 1) or taken from it (-1), in the caller's
/// transaction.
pub(crate) async fn count(
    mut conn: Conn<'_>,
    county: &str,
    records: &[&Counted],
    sign: i64,
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let Some(at) = clock_for_write(conn.re(), county).await? else {
        return Ok(());
    };
    let mut deltas = BTreeMap::new();
    for c in records {
        add(&mut deltas, county, c, sign, at);
    }
    apply(conn, county, deltas).await
}

/// The counted columns of one record as stored now (None when there is no such row).
pub(crate) async fn counted_now(
    mut conn: Conn<'_>,
    county: &str,
    id: &str,
) -> Result<Option<Counted>, StoreError> {
    let row: Option<CountedRow> = on!(conn.re(), |c| sqlx::query_as(&format!(
        "SELECT {COUNTED_COLUMNS} FROM children WHERE county_code = $1 AND id = $2"
    ))
    .bind(county)
    .bind(id)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row.map(Counted::from))
}

/// Counts a record's change from `before` to `after` (either absent), in one county.
pub(crate) async fn recount(
    mut conn: Conn<'_>,
    county: &str,
    before: Option<&Counted>,
    after: Option<&Counted>,
) -> Result<(), StoreError> {
    let Some(at) = clock_for_write(conn.re(), county).await? else {
        return Ok(());
    };
    let mut deltas = BTreeMap::new();
    if let Some(b) = before {
        add(&mut deltas, county, b, -1, at);
    }
    if let Some(a) = after {
        add(&mut deltas, county, a, 1, at);
    }
    apply(conn, county, deltas).await
}

/// The counters a county's records give for `at`, from scratch.
async fn from_records(
    mut conn: Conn<'_>,
    county: &str,
    at: CountedFor,
) -> Result<BTreeMap<Key, i64>, StoreError> {
    let rows: Vec<CountedRow> = on!(conn.re(), |c| sqlx::query_as(&format!(
        "SELECT {COUNTED_COLUMNS} FROM children WHERE county_code = $1"
    ))
    .bind(county)
    .fetch_all(&mut *c)
    .await)?;
    let mut counts = BTreeMap::new();
    for row in rows {
        add(&mut counts, county, &Counted::from(row), 1, at);
    }
    Ok(counts)
}

/// The counters as stored for a county.
async fn stored(mut conn: Conn<'_>, county: &str) -> Result<BTreeMap<Key, i64>, StoreError> {
    let rows: Vec<(i32, String, bool, String, i64)> = on!(conn.re(), |c| sqlx::query_as(
        "SELECT level, division_code, sensitive, figure, n FROM child_counts
         WHERE county_code = $1"
    )
    .bind(county)
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(l, d, s, f, n)| ((l, d, s, f), n))
        .collect())
}

impl Store {
    /// The day and rules a county's counters must be for now: today, under the county's
    /// category rules in force today.
    pub(crate) async fn counted_for_now(&self, county: &str) -> Result<CountedFor, StoreError> {
        let today = self.clock.today();
        let code = weibao_domain::DivisionCode::parse(county)
            .map_err(|e| StoreError::Config(format!("区划代码 {county}：{e}")))?;
        let params = self.rule_book(Some(code)).await?.on(today).clone();
        Ok(CountedFor::new(today, &params))
    }

    /// Rebuilds a county's counters from its records for `at`, unless they are for it
    /// already (a rebuild that raced this one did it). Returns whether it rebuilt.
    pub(crate) async fn rebuild_counts(
        &self,
        county: &str,
        at: CountedFor,
    ) -> Result<bool, StoreError> {
        let county = county.to_string();
        let store = self.clone();
        self.on_writer(async move {
            let mut tx = store.begin().await?;
            let current: Option<(NaiveDate, String)> = match tx.conn() {
                Conn::Sqlite(c) => {
                    sqlx::query_as("SELECT as_of, rules FROM stat_clocks WHERE county_code = $1")
                        .bind(&county)
                        .fetch_optional(&mut *c)
                        .await?
                }
                Conn::Pg(c) => {
                    sqlx::query(
                        "INSERT INTO stat_clocks (county_code, as_of, rules)
                         VALUES ($1, '1970-01-01', '') ON CONFLICT (county_code) DO NOTHING",
                    )
                    .bind(&county)
                    .execute(&mut *c)
                    .await?;
                    sqlx::query_as(
                        "SELECT as_of, rules FROM stat_clocks WHERE county_code = $1 FOR UPDATE",
                    )
                    .bind(&county)
                    .fetch_optional(&mut *c)
                    .await?
                }
            };
            if current.and_then(|(d, r)| CountedFor::parse(d, &r)) == Some(at) {
                return Ok(false);
            }
            on!(tx.conn(), |c| sqlx::query(
                "DELETE FROM child_counts WHERE county_code = $1"
            )
            .bind(&county)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            let counts = from_records(tx.conn(), &county, at).await?;
            apply(tx.conn(), &county, counts).await?;
            on!(tx.conn(), |c| sqlx::query(
                "INSERT INTO stat_clocks (county_code, as_of, rules) VALUES ($1, $2, $3)
                 ON CONFLICT (county_code) DO UPDATE SET as_of = excluded.as_of,
                     rules = excluded.rules"
            )
            .bind(&county)
            .bind(at.as_of)
            .bind(at.rules_text())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    /// Makes the counters of every county under `under` (everywhere: None) current,
    /// rebuilding those that are not: the background job after midnight and after a bulk
    /// load, so that the day's first reader does not wait for the rebuild. Returns how many
    /// counties were rebuilt.
    pub async fn refresh_counts(
        &self,
        under: Option<weibao_domain::DivisionCode>,
    ) -> Result<usize, StoreError> {
        let (lo, hi) = under.map_or(("0".repeat(12), "9".repeat(12)), |d| d.subtree_bounds());
        let counties = self.county_prefixes(&lo, &hi).await?;
        self.current_counts(&counties).await
    }

    /// Makes the counters of these counties current (today, today's rules), rebuilding
    /// those that are not; returns how many it rebuilt.
    pub(crate) async fn current_counts(&self, counties: &[String]) -> Result<usize, StoreError> {
        let clocks: BTreeMap<String, Option<CountedFor>> = {
            let (Some(lo), Some(hi)) = (counties.first(), counties.last()) else {
                return Ok(0);
            };
            let mut conn = self.read().await?;
            let rows: Vec<(String, NaiveDate, String)> = on!(conn.conn(), |c| sqlx::query_as(
                "SELECT county_code, as_of, rules FROM stat_clocks
                 WHERE county_code BETWEEN $1 AND $2"
            )
            .bind(lo)
            .bind(hi)
            .fetch_all(&mut *c)
            .await)?;
            rows.into_iter()
                .map(|(c, d, r)| (c, CountedFor::parse(d, &r)))
                .collect()
        };
        let mut rebuilt = 0;
        for county in counties {
            let want = self.counted_for_now(county).await?;
            if clocks.get(county).copied().flatten() != Some(want)
                && self.rebuild_counts(county, want).await?
            {
                rebuilt += 1;
            }
        }
        Ok(rebuilt)
    }

    /// Recomputes every built county's counters from its records, and every county's visit
    /// days from its visits, and names each counter that differs (`weibao stats check`, and the database check).
    pub async fn check_counts(&self) -> Result<Vec<String>, StoreError> {
        let clocks: Vec<(String, NaiveDate, String)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT county_code, as_of, rules FROM stat_clocks ORDER BY county_code"
            )
            .fetch_all(&mut *c)
            .await)?
        };
        let mut problems = Vec::new();
        for (county, as_of, rules) in clocks {
            let Some(at) = CountedFor::parse(as_of, &rules) else {
                continue;
            };
            // Read both on the writer, so that no write lands between the two reads.
            let store = self.clone();
            let c = county.clone();
            let (want, have) = self
                .on_writer(async move {
                    let mut tx = store.begin().await?;
                    let want = from_records(tx.conn(), &c, at).await?;
                    let have = stored(tx.conn(), &c).await?;
                    drop(tx);
                    Ok((want, have))
                })
                .await?;
            let keys: std::collections::BTreeSet<&Key> = want.keys().chain(have.keys()).collect();
            for key in keys {
                let (w, h) = (
                    want.get(key).copied().unwrap_or(0),
                    have.get(key).copied().unwrap_or(0),
                );
                if w != h {
                    let (level, division, sensitive, figure) = key;
                    let figure = Figure::parse_key(figure)
                        .map(Figure::label)
                        .unwrap_or_else(|| figure.clone());
                    problems.push(format!(
                        "统计计数 {county} {}{division}{}“{figure}”：记录数 {w}，计数 {h}",
                        if *level == COUNTY { "全县 " } else { "" },
                        if *sensitive { "（敏感）" } else { "" },
                    ));
                }
            }
        }
        problems.extend(self.check_visit_days().await?);
        Ok(problems)
    }
}
