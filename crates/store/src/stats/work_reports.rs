//! Work reports (工作情况报告): drafted for a division and period from its figures (the
//! overview, the period before, the allowances paid), edited and kept by its author; the
//! kept text is what the print page and the Word file show. Every keep is audited.

use chrono::NaiveDate;
use weibao_domain::access::{Action, Scope};
use weibao_domain::child::Category;
use weibao_domain::reports::case::CaseState;
use weibao_domain::stats::ledger::{AgeBand, Figure};
use weibao_domain::stats::period::Period;
use weibao_domain::stats::work_report::{draft, NetworkLine, ReportFigures, WorkReport};
use weibao_domain::{DivisionCode, Fen, Level, Month};

use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// A report as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWorkReport {
    pub id: String,
    pub division: DivisionCode,
    pub period: Period,
    pub report: WorkReport,
    pub author_name: String,
    pub version: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    division_code: String,
    period_from: NaiveDate,
    period_to: NaiveDate,
    title: String,
    body: String,
    signer: String,
    date_text: String,
    author_name: String,
    version: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, division_code, period_from, period_to, title, body, signer,
    date_text, author_name, version, updated_at";

impl Row {
    fn stored(self) -> Result<StoredWorkReport, StoreError> {
        Ok(StoredWorkReport {
            division: DivisionCode::parse(&self.division_code)
                .map_err(|e| StoreError::Config(format!("工作报告 {}：{e}", self.id)))?,
            period: Period {
                from: self.period_from,
                to: self.period_to,
            },
            report: WorkReport {
                title: self.title,
                body: self.body,
                signer: self.signer,
                date: self.date_text,
            },
            author_name: self.author_name,
            version: self.version,
            updated_at: self.updated_at,
            id: self.id,
        })
    }
}

/// Who signs a division's report by default.
fn signer_of(place: &str, level: Level) -> String {
    match level {
        Level::Province | Level::City | Level::County => {
            format!("{place}未成年人保护工作委员会办公室")
        }
        Level::Township => format!("{place}未成年人保护工作站"),
        Level::Village => place.to_string(),
    }
}

impl Store {
    /// A draft of the division's report for the period, from the figures the caller sees.
    pub async fn draft_work_report(
        &self,
        scope: &Scope,
        division: DivisionCode,
        period: Period,
    ) -> Result<WorkReport, StoreError> {
        let o = self.overview(scope, division, period).await?;
        let before = self.overview(scope, division, period.previous()).await?;
        let n = |f: Figure| o.ledger.get(f);
        let allowances = if o.allowances.is_some() {
            let paid = self
                .allowance_paid(
                    scope,
                    division,
                    Month::of(period.from),
                    Month::of(period.to),
                )
                .await?;
            // By the group reports name (孤儿基本生活费 for both kinds of orphan).
            let mut groups: Vec<(String, Fen, i64)> = Vec::new();
            for t in paid {
                match groups.iter_mut().find(|g| g.0 == t.group) {
                    Some(g) => {
                        g.1 = Fen(g.1 .0 + t.amount.0);
                        g.2 += t.people;
                    }
                    None => groups.push((t.group, t.amount, t.people)),
                }
            }
            Some(groups)
        } else {
            None
        };
        let figures = ReportFigures {
            place: o.name.clone(),
            period: Some(period),
            children: n(Figure::Children),
            left_behind: n(Figure::Category(Category::RuralLeftBehind)),
            distressed: n(Figure::Category(Category::Distressed)),
            orphans: n(Figure::Category(Category::Orphan)),
            unsupported: n(Figure::Category(Category::FactuallyUnsupported)),
            ages: AgeBand::ALL.map(|b| n(Figure::Age(b))),
            network: o.network.as_ref().map(|c| {
                let t = &c.total;
                NetworkLine {
                    stations: t.stations,
                    work_points: t.work_points,
                    supervisors: t.supervisors,
                    directors: t.directors,
                    townships: t.townships,
                    townships_with_station: t.townships_with_station,
                    villages: t.villages,
                    villages_with_work_point: t.villages_with_work_point,
                    director_vacancies: t.director_vacancies,
                }
            }),
            visits: o.visits.as_ref().map(|v| {
                (
                    v.done,
                    before.visits.as_ref().map_or(0, |b| b.done),
                    v.overdue,
                )
            }),
            allowances,
            reports: o
                .reports
                .as_ref()
                .map(|r| (r.received, r.hotline, r.closed)),
            cases: o.cases.as_ref().map(|cs| {
                let total: i64 = cs.iter().map(|(_, n)| n).sum();
                let open: i64 = cs
                    .iter()
                    .filter(|(s, _)| !CaseState::is_final(*s))
                    .map(|(_, n)| n)
                    .sum();
                (total, open)
            }),
            supervision: o.supervision.as_ref().map(|s| (s.due, s.on_time)),
        };
        Ok(draft(
            &figures,
            period,
            &signer_of(&o.name, division.level()),
            self.clock.today(),
        ))
    }

    /// Keeps a report (a new one, or a new version of `id`, which must be at `version`).
    pub async fn keep_work_report(
        &self,
        scope: &Scope,
        division: DivisionCode,
        period: Period,
        existing: Option<(&str, i64)>,
        report: &WorkReport,
        ip: &str,
    ) -> Result<StoredWorkReport, StoreError> {
        scope.check(Action::ViewChildren, division)?;
        let report = report
            .checked()
            .map_err(|(field, invalid)| StoreError::invalid(field, invalid))?;
        let county = division.county_code();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let (id, version) = match existing {
            None => {
                let id = crate::work::new_id();
                on!(tx.conn(), |c| sqlx::query(
                    "INSERT INTO work_reports (county_code, id, division_code, period_from,
                         period_to, title, body, signer, date_text, author_id, author_name,
                         version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)"
                )
                .bind(&county)
                .bind(&id)
                .bind(division.full())
                .bind(period.from)
                .bind(period.to)
                .bind(&report.title)
                .bind(&report.body)
                .bind(&report.signer)
                .bind(&report.date)
                .bind(&scope.user_id)
                .bind(&scope.username)
                .bind(now)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
                (id, 1)
            }
            Some((id, version)) => {
                let n = on!(tx.conn(), |c| {
                    sqlx::query(
                    "UPDATE work_reports SET title = $4, body = $5, signer = $6, date_text = $7,
                         author_id = $8, author_name = $9, version = version + 1, updated_at = $10
                     WHERE county_code = $1 AND id = $2 AND version = $3"
                )
                .bind(&county)
                .bind(id)
                .bind(version)
                .bind(&report.title)
                .bind(&report.body)
                .bind(&report.signer)
                .bind(&report.date)
                .bind(&scope.user_id)
                .bind(&scope.username)
                .bind(now)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
                })?;
                if n == 0 {
                    return Err(StoreError::Conflict {
                        field: "version",
                        code: "stale_version",
                        message: "这份工作报告刚被他人修改，请刷新后再改".into(),
                    });
                }
                (id.to_string(), version + 1)
            }
        };
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "work_report.keep", &id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!(
                    "division={} version={version} chars={}",
                    division.full(),
                    report.body.chars().count()
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(StoredWorkReport {
            id,
            division,
            period,
            report,
            author_name: scope.username.clone(),
            version,
            updated_at: now,
        })
    }

    /// A kept report, for a reader who reaches its division (others: not found).
    pub async fn work_report(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<StoredWorkReport, StoreError> {
        scope.check_role(Action::ViewChildren)?;
        let rows: Vec<(String,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT county_code FROM work_reports WHERE id = $1"
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await)?
        };
        let Some((county,)) = rows.into_iter().next() else {
            return Err(StoreError::NotFound);
        };
        let row: Row = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM work_reports WHERE county_code = $1 AND id = $2"
            ))
            .bind(&county)
            .bind(id)
            .fetch_one(&mut *c)
            .await)?
        };
        let stored = row.stored()?;
        if !scope.reaches(stored.division) {
            return Err(StoreError::NotFound);
        }
        Ok(stored)
    }

    /// The reports kept for `division` itself, latest first (at most 50).
    pub async fn work_reports(
        &self,
        scope: &Scope,
        division: DivisionCode,
    ) -> Result<Vec<StoredWorkReport>, StoreError> {
        scope.check(Action::ViewChildren, division)?;
        let rows: Vec<Row> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM work_reports
                 WHERE county_code = $1 AND division_code = $2
                 ORDER BY created_at DESC LIMIT 50"
            ))
            .bind(division.county_code())
            .bind(division.full())
            .fetch_all(&mut *c)
            .await)?
        };
        rows.into_iter().map(Row::stored).collect()
    }
}
