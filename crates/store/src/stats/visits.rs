//! Visits made per county and day (visit_days), kept with every visit written, corrected
//! or moved with its child: a county's or province's visits of any period add up a few
//! hundred rows. Below a county the visits are counted from their own index.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::QueryBuilder;

use crate::db::{Conn, Store};
use crate::error::StoreError;
use crate::on;
use crate::script::Script;

/// The statement that counts one visit more (or less) on a day, for a visit's script.
pub(crate) fn count_to(script: &mut Script, county: &str, day: NaiveDate, n: i64) {
    script.push(
        "INSERT INTO visit_days (county_code, day, n) VALUES ($1, $2, $3)
         ON CONFLICT (county_code, day) DO UPDATE SET n = visit_days.n + excluded.n",
        vec![county.into(), day.into(), n.into()],
    );
}

/// Adds the differences, in day order.
pub(crate) async fn count(
    mut conn: Conn<'_>,
    county: &str,
    days: &BTreeMap<NaiveDate, i64>,
) -> Result<(), StoreError> {
    let rows: Vec<(&NaiveDate, &i64)> = days.iter().filter(|(_, n)| **n != 0).collect();
    let verb = conn.bulk_insert();
    for chunk in rows.chunks(1000) {
        on!(conn.re(), |c| {
            let mut qb = QueryBuilder::new(format!("{verb} visit_days (county_code, day, n) "));
            qb.push_values(chunk, |mut b, (day, n)| {
                b.push_bind(county.to_string())
                    .push_bind(**day)
                    .push_bind(**n);
            });
            qb.push(" ON CONFLICT (county_code, day) DO UPDATE SET n = visit_days.n + excluded.n");
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// A county's visits per day, counted from the visits themselves.
pub(crate) async fn from_visits(
    mut conn: Conn<'_>,
    county: &str,
) -> Result<BTreeMap<NaiveDate, i64>, StoreError> {
    let times: Vec<(i64,)> = on!(conn.re(), |c| sqlx::query_as(
        "SELECT visited_at FROM visits WHERE county_code = $1"
    )
    .bind(county)
    .fetch_all(&mut *c)
    .await)?;
    let mut days = BTreeMap::new();
    for (t,) in times {
        *days.entry(crate::visits::cst_date_of_ms(t)).or_default() += 1;
    }
    Ok(days)
}

async fn stored(mut conn: Conn<'_>, county: &str) -> Result<BTreeMap<NaiveDate, i64>, StoreError> {
    let rows: Vec<(NaiveDate, i64)> = on!(conn.re(), |c| sqlx::query_as(
        "SELECT day, n FROM visit_days WHERE county_code = $1 AND n <> 0"
    )
    .bind(county)
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows.into_iter().collect())
}

impl Store {
    /// Recounts a county's visit days from its visits (after a bulk load of visits).
    pub(crate) async fn rebuild_visit_days(&self, county: &str) -> Result<(), StoreError> {
        let county = county.to_string();
        let store = self.clone();
        self.on_writer(async move {
            let mut tx = store.begin().await?;
            on!(tx.conn(), |c| sqlx::query(
                "DELETE FROM visit_days WHERE county_code = $1"
            )
            .bind(&county)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            let days = from_visits(tx.conn(), &county).await?;
            count(tx.conn(), &county, &days).await?;
            tx.commit().await
        })
        .await
    }

    /// Names each county and day whose count differs from its visits.
    pub(crate) async fn check_visit_days(&self) -> Result<Vec<String>, StoreError> {
        let counties: Vec<String> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_scalar(
                "SELECT county_code FROM visits UNION SELECT county_code FROM visit_days
                 ORDER BY 1"
            )
            .fetch_all(&mut *c)
            .await)?
        };
        let mut problems = Vec::new();
        for county in counties {
            let store = self.clone();
            let c = county.clone();
            let (want, have) = self
                .on_writer(async move {
                    let mut tx = store.begin().await?;
                    let want = from_visits(tx.conn(), &c).await?;
                    let have = stored(tx.conn(), &c).await?;
                    drop(tx);
                    Ok((want, have))
                })
                .await?;
            let days: std::collections::BTreeSet<&NaiveDate> =
                want.keys().chain(have.keys()).collect();
            for day in days {
                let (w, h) = (
                    want.get(day).copied().unwrap_or(0),
                    have.get(day).copied().unwrap_or(0),
                );
                if w != h {
                    problems.push(format!(
                        "探访计数 {county} {day}：探访记录 {w} 次，计数 {h}"
                    ));
                }
            }
        }
        Ok(problems)
    }

    /// Visits made in a county range per day within [from, to].
    pub(crate) async fn visit_days_between(
        &self,
        counties: (&str, &str),
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        let mut conn = self.read().await?;
        Ok(on!(conn.conn(), |c| sqlx::query_as(
            "SELECT day, CAST(SUM(n) AS BIGINT) FROM visit_days
             WHERE county_code BETWEEN $1 AND $2 AND day BETWEEN $3 AND $4
             GROUP BY day ORDER BY day"
        )
        .bind(counties.0)
        .bind(counties.1)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await)?)
    }
}
