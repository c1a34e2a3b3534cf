//! The working-day calendar in the database: the shipped years are loaded at start-up
//! when missing; the office loads later years from a file or the UI. Deadlines read it
//! through a short-lived cache (a year's notice changes once a year; two servers see a
//! new one within a minute).

use std::sync::{Arc, RwLock};

use chrono::NaiveDate;
use weibao_domain::access::{Action, Scope};
use weibao_domain::work::calendar::SHIPPED;
use weibao_domain::work::{Calendar, YearCalendar};

use super::exec;
use crate::audit::{append, AuditEvent};
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;

/// How long a read calendar is used before it is read again.
const CACHE_MS: i64 = 60_000;

/// The cache: when it was read, and what.
#[derive(Default)]
pub(crate) struct CalendarCache(RwLock<Option<(i64, Arc<Calendar>)>>);

/// A loaded year as the office sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarYear {
    pub year: i32,
    pub source: String,
    pub holidays: usize,
    pub workdays: usize,
    pub loaded_at: i64,
    pub loaded_by: String,
}

async fn write_year(tx: &mut Tx, y: &YearCalendar, now: i64, by: &str) -> Result<(), StoreError> {
    exec(
        tx,
        "DELETE FROM calendar_days WHERE year = $1",
        vec![i64::from(y.year).into()],
    )
    .await?;
    exec(
        tx,
        "DELETE FROM calendar_years WHERE year = $1",
        vec![i64::from(y.year).into()],
    )
    .await?;
    exec(
        tx,
        "INSERT INTO calendar_years (year, source, loaded_at, loaded_by) VALUES ($1, $2, $3, $4)",
        vec![
            i64::from(y.year).into(),
            y.source.clone().into(),
            now.into(),
            by.into(),
        ],
    )
    .await?;
    for (kind, days) in [("holiday", &y.holidays), ("workday", &y.workdays)] {
        for (day, note) in days {
            exec(
                tx,
                "INSERT INTO calendar_days (day, year, kind, note) VALUES ($1, $2, $3, $4)",
                vec![
                    (*day).into(),
                    i64::from(y.year).into(),
                    kind.into(),
                    note.clone().into(),
                ],
            )
            .await?;
        }
    }
    Ok(())
}

impl Store {
    /// Loads the shipped years that the database does not have (at start-up; never
    /// replaces a year the office loaded).
    pub(crate) async fn ensure_calendar(&self) -> Result<(), StoreError> {
        let have: Vec<(i32,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT year FROM calendar_years"
            )
            .fetch_all(&mut *c)
            .await)?
        };
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let mut any = false;
        for text in SHIPPED {
            let y = YearCalendar::parse(text).expect("the shipped calendars parse");
            if !have.iter().any(|(h,)| *h == y.year) {
                write_year(&mut tx, &y, now, "system").await?;
                any = true;
            }
        }
        if any {
            tx.commit().await?;
            self.forget_calendar();
        }
        Ok(())
    }

    /// Loads (or replaces) a year's notice, written as [`YearCalendar::parse`] reads it.
    pub async fn load_calendar(
        &self,
        scope: &Scope,
        text: &str,
    ) -> Result<CalendarYear, StoreError> {
        scope.check_role(Action::ManageUnits)?;
        let y = YearCalendar::parse(text).map_err(|e| StoreError::invalid("calendar", e))?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        write_year(&mut tx, &y, now, &scope.username).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "calendar.load", y.year.to_string()).detail(format!(
                "holidays={} workdays={}",
                y.holidays.len(),
                y.workdays.len()
            )),
        )
        .await?;
        tx.commit().await?;
        self.forget_calendar();
        Ok(CalendarYear {
            year: y.year,
            source: y.source,
            holidays: y.holidays.len(),
            workdays: y.workdays.len(),
            loaded_at: now,
            loaded_by: scope.username.clone(),
        })
    }

    /// The loaded years.
    pub async fn calendar_years(&self) -> Result<Vec<CalendarYear>, StoreError> {
        let mut c = self.read().await?;
        let rows: Vec<(i32, String, i64, String, i64, i64)> = on!(c.conn(), |c| {
            sqlx::query_as(
            "SELECT y.year, y.source, y.loaded_at, y.loaded_by,
                    (SELECT COUNT(*) FROM calendar_days d WHERE d.year = y.year AND d.kind = 'holiday'),
                    (SELECT COUNT(*) FROM calendar_days d WHERE d.year = y.year AND d.kind = 'workday')
             FROM calendar_years y ORDER BY y.year"
        )
        .fetch_all(&mut *c)
        .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(year, source, loaded_at, loaded_by, h, w)| CalendarYear {
                year,
                source,
                holidays: h as usize,
                workdays: w as usize,
                loaded_at,
                loaded_by,
            })
            .collect())
    }

    fn forget_calendar(&self) {
        *self.calendar.0.write().expect("calendar cache") = None;
    }

    /// The calendar of every loaded year.
    pub async fn calendar(&self) -> Result<Arc<Calendar>, StoreError> {
        let now = self.now_ms();
        if let Some((at, cal)) = self.calendar.0.read().expect("calendar cache").as_ref() {
            if now - at < CACHE_MS {
                return Ok(cal.clone());
            }
        }
        let rows: Vec<(i32, String, NaiveDate, String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT y.year, y.source, d.day, d.kind, d.note
                 FROM calendar_days d JOIN calendar_years y ON y.year = d.year ORDER BY d.day"
            )
            .fetch_all(&mut *c)
            .await)?
        };
        let mut years: std::collections::BTreeMap<i32, YearCalendar> = Default::default();
        for (year, source, day, kind, note) in rows {
            let y = years.entry(year).or_insert_with(|| YearCalendar {
                year,
                holidays: Default::default(),
                workdays: Default::default(),
                source,
            });
            if kind == "holiday" {
                y.holidays.insert(day, note);
            } else {
                y.workdays.insert(day, note);
            }
        }
        let cal = Arc::new(Calendar::new(years.into_values()));
        *self.calendar.0.write().expect("calendar cache") = Some((now, cal.clone()));
        Ok(cal)
    }
}
