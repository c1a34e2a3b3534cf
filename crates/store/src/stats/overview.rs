//! A division's figures at a glance (统计概览): the ledger's tiles from the counters, and
//! each later module's figures read with the caller's scope. A module the caller may not
//! read is absent, not zero.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use weibao_domain::access::{Action, Role, Scope};
use weibao_domain::money::Fen;
use weibao_domain::month::Month;
use weibao_domain::reports::case::CaseState;
use weibao_domain::reports::{ReportState, Situation};
use weibao_domain::stats::ledger::Figure;
use weibao_domain::stats::period::Period;
use weibao_domain::work::calendar::start_of_day_ms;
use weibao_domain::{DivisionCode, Level};

use crate::db::Store;
use crate::error::StoreError;
use crate::network::Coverage;
use crate::on;
use crate::visits::Progress;

/// The Beijing-time millisecond range of a period: [from 00:00, the day after `to` 00:00).
/// Flows (visits made, reports received, allowances paid) are counted over the period;
/// stocks (children, open cases, overdue visits) are as of now.
fn ms(p: Period) -> (i64, i64) {
    (
        start_of_day_ms(p.from),
        start_of_day_ms(p.to + chrono::Duration::days(1)),
    )
}

/// The ledger's tiles under a division, and per division one level down.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerFigures {
    pub totals: BTreeMap<Figure, i64>,
    /// (12-digit code, name, tiles), in code order; empty for a village.
    pub parts: Vec<(String, String, BTreeMap<Figure, i64>)>,
}

impl LedgerFigures {
    pub fn get(&self, f: Figure) -> i64 {
        self.totals.get(&f).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone, Default)]
pub struct VisitFigures {
    /// Per division one level down (children, overdue, due soon, visits in 30 days).
    pub progress: Vec<Progress>,
    pub overdue: i64,
    pub due_soon: i64,
    /// Visits made in the period.
    pub done: i64,
    /// Visits made in each of the twelve months up to the period's end.
    pub by_month: Vec<(Month, i64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportFigures {
    /// Received in the period, of which hotline orders.
    pub received: i64,
    pub hotline: i64,
    /// Of those received in the period, closed (办结) by now.
    pub closed: i64,
    /// Open hotline orders past their reply deadline now.
    pub overdue: i64,
    /// Received in the period, by situation (a report may name several).
    pub by_situation: Vec<(Situation, i64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupervisionFigures {
    /// 督办 items whose deadline fell in the period, of which closed by it.
    pub due: i64,
    pub on_time: i64,
    /// Open and past the deadline now.
    pub overdue: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowanceFigures {
    /// Paid (locked rolls) in the period's last month, and in its year through it.
    pub month: Option<Month>,
    pub month_amount: Fen,
    pub month_people: i64,
    pub year_amount: Fen,
    pub year_people: i64,
}

#[derive(Debug, Clone)]
pub struct Overview {
    pub division: DivisionCode,
    pub name: String,
    /// From the province down to the division.
    pub path: Vec<(String, String)>,
    pub period: Period,
    pub ledger: LedgerFigures,
    pub network: Option<Coverage>,
    pub visits: Option<VisitFigures>,
    pub reports: Option<ReportFigures>,
    pub cases: Option<Vec<(CaseState, i64)>>,
    pub supervision: Option<SupervisionFigures>,
    pub allowances: Option<AllowanceFigures>,
}

/// A figure the caller may not see is left out; any other failure is the caller's.
fn shown<T>(r: Result<T, StoreError>) -> Result<Option<T>, StoreError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::Forbidden | StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The six-digit county range of a subtree.
fn county_range(d: DivisionCode) -> (String, String) {
    let (lo, hi) = d.subtree_bounds();
    (lo[..6].to_string(), hi[..6].to_string())
}

impl Store {
    /// Everything at a glance under `within` for `period`.
    pub async fn overview(
        &self,
        scope: &Scope,
        within: DivisionCode,
        period: Period,
    ) -> Result<Overview, StoreError> {
        scope.check(Action::ViewChildren, within)?;
        let path = self.division_path(&Scope::system(), within).await?;
        let name = path.last().map(|d| d.name.clone()).unwrap_or_default();
        let ledger = self.ledger_figures(scope, within).await?;
        let network = shown(self.coverage_from_counters(scope, within).await)?;
        let visits = shown(self.visit_figures(scope, within, period).await)?;
        let office = scope.is_system() || scope.role == Role::Office;
        let (reports, cases, supervision) = if office && scope.reaches(within) {
            (
                Some(self.report_figures(within, period).await?),
                Some(self.case_figures(within).await?),
                if within.level() <= Level::County {
                    Some(self.supervision_figures(within, period).await?)
                } else {
                    None
                },
            )
        } else {
            (None, None, None)
        };
        let allowances = shown(self.allowance_figures(scope, within, period).await)?;
        Ok(Overview {
            division: within,
            name,
            path: path.into_iter().map(|d| (d.code, d.name)).collect(),
            period,
            ledger,
            network,
            visits,
            reports,
            cases,
            supervision,
            allowances,
        })
    }

    /// The ledger's tiles under `within` as the caller's list would count them (without
    /// sensitive records for a reader not designated for them).
    /// The network's coverage, its children per village from the counters (made current
    /// by the ledger's figures just before) rather than counted from a million records.
    async fn coverage_from_counters(
        &self,
        scope: &Scope,
        within: DivisionCode,
    ) -> Result<crate::Coverage, StoreError> {
        scope.check(Action::ViewNetwork, within)?;
        let (clo, chi) = county_range(within);
        let (lo, hi) = within.subtree_bounds();
        let children: Vec<(String, i64)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT division_code, CAST(SUM(n) AS BIGINT) FROM child_counts
                 WHERE county_code BETWEEN $1 AND $2 AND level = 0
                   AND division_code BETWEEN $3 AND $4 AND figure = $5
                 GROUP BY division_code"
            )
            .bind(&clo)
            .bind(&chi)
            .bind(&lo)
            .bind(&hi)
            .bind(Figure::Children.key())
            .fetch_all(&mut *c)
            .await)?
        };
        self.coverage_with(scope, within, children).await
    }

    pub async fn ledger_figures(
        &self,
        scope: &Scope,
        within: DivisionCode,
    ) -> Result<LedgerFigures, StoreError> {
        scope.check(Action::ViewChildren, within)?;
        let (clo, chi) = county_range(within);
        let counties = if within.level() < Level::County {
            self.county_prefixes(&within.subtree_bounds().0, &within.subtree_bounds().1)
                .await?
        } else {
            vec![within.county_code()]
        };
        self.current_counts(&counties).await?;
        let part_len = within.level().child().map(|l| l.prefix_len());
        let (lo, hi) = within.subtree_bounds();
        let rows: Vec<(String, String, i64)> = {
            let mut conn = self.read().await?;
            let (level, dlo, dhi) = if within.level() < Level::County {
                (1i32, String::new(), "9".repeat(12))
            } else {
                (0i32, lo.clone(), hi.clone())
            };
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT division_code, figure, CAST(SUM(n) AS BIGINT) FROM child_counts
                 WHERE county_code BETWEEN $1 AND $2 AND level = $3
                   AND division_code BETWEEN $4 AND $5 AND (sensitive = FALSE OR $6)
                 GROUP BY division_code, figure"
            )
            .bind(&clo)
            .bind(&chi)
            .bind(level)
            .bind(&dlo)
            .bind(&dhi)
            .bind(scope.designated)
            .fetch_all(&mut *c)
            .await)?
        };
        let mut out = LedgerFigures::default();
        let mut parts: BTreeMap<String, BTreeMap<Figure, i64>> = BTreeMap::new();
        for (division, key, n) in rows {
            let Some(figure) = Figure::parse_key(&key) else {
                continue;
            };
            *out.totals.entry(figure).or_default() += n;
            if let Some(len) = part_len {
                let part = format!("{:0<12}", &division[..len]);
                *parts.entry(part).or_default().entry(figure).or_default() += n;
            }
        }
        out.totals.retain(|_, n| *n != 0);
        if part_len.is_some() {
            let names: Vec<(String, String)> = {
                let mut conn = self.read().await?;
                on!(conn.conn(), |c| sqlx::query_as(
                    "SELECT code, name FROM divisions WHERE parent_code = $1 ORDER BY code"
                )
                .bind(within.full())
                .fetch_all(&mut *c)
                .await)?
            };
            for (code, name) in names {
                let figures = parts.remove(&code).unwrap_or_default();
                out.parts.push((code, name, figures));
            }
            // Records under a code the divisions table lacks still count, under the code.
            for (code, figures) in parts {
                out.parts.push((code.clone(), code, figures));
            }
        }
        Ok(out)
    }

    async fn visit_figures(
        &self,
        scope: &Scope,
        within: DivisionCode,
        period: Period,
    ) -> Result<VisitFigures, StoreError> {
        let progress = if within.level() == Level::Village {
            Vec::new()
        } else {
            self.visit_progress(scope, within).await?
        };
        let (overdue, due_soon) = if within.level() == Level::Village {
            let t = self.village_due(scope, within).await?;
            (t.0, t.1)
        } else {
            (
                progress.iter().map(|p| p.overdue).sum(),
                progress.iter().map(|p| p.due_soon).sum(),
            )
        };
        let last = Month::of(period.to);
        let first = last.plus(-11);
        let (span_from, span_to) = (
            first.first_day().min(period.from),
            last.last_day().max(period.to),
        );
        let (clo, chi) = county_range(within);
        let days: Vec<(NaiveDate, i64)> = if within.level() <= Level::County {
            // A county or more: the visit days kept with every visit.
            self.visit_days_between((&clo, &chi), span_from, span_to)
                .await?
        } else {
            // A township or village: few enough visits to count from their index.
            let (lo, hi) = within.subtree_bounds();
            let times: Vec<(i64,)> = {
                let mut conn = self.read().await?;
                on!(conn.conn(), |c| sqlx::query_as(
                    "SELECT visited_at FROM visits
                     WHERE county_code BETWEEN $1 AND $2 AND division_code BETWEEN $3 AND $4
                       AND visited_at >= $5 AND visited_at < $6"
                )
                .bind(&clo)
                .bind(&chi)
                .bind(&lo)
                .bind(&hi)
                .bind(start_of_day_ms(span_from))
                .bind(start_of_day_ms(span_to + chrono::Duration::days(1)))
                .fetch_all(&mut *c)
                .await)?
            };
            let mut by_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
            for (t,) in times {
                *by_day.entry(crate::visits::cst_date_of_ms(t)).or_default() += 1;
            }
            by_day.into_iter().collect()
        };
        let mut by_month: Vec<(Month, i64)> = first.through(last).map(|m| (m, 0)).collect();
        let mut done = 0;
        for (day, n) in days {
            if (period.from..=period.to).contains(&day) {
                done += n;
            }
            if let Some(m) = by_month.iter_mut().find(|(m, _)| m.contains(day)) {
                m.1 += n;
            }
        }
        Ok(VisitFigures {
            progress,
            overdue,
            due_soon,
            done,
            by_month,
        })
    }

    async fn report_figures(
        &self,
        within: DivisionCode,
        period: Period,
    ) -> Result<ReportFigures, StoreError> {
        let (clo, chi) = county_range(within);
        let (lo, hi) = within.subtree_bounds();
        let (from_ms, to_ms) = ms(period);
        let now = self.now_ms();
        let mut conn = self.read().await?;
        let rows: Vec<(String, String, Option<String>)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT situations, state, hotline_order FROM reports
             WHERE county_code BETWEEN $1 AND $2 AND division_code BETWEEN $3 AND $4
               AND created_at >= $5 AND created_at < $6 AND state <> 'merged'"
        )
        .bind(&clo)
        .bind(&chi)
        .bind(&lo)
        .bind(&hi)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *c)
        .await)?;
        let overdue: i64 = on!(conn.conn(), |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM reports
             WHERE county_code BETWEEN $1 AND $2 AND division_code BETWEEN $3 AND $4
               AND hotline_due_at IS NOT NULL AND hotline_due_at < $5 AND replied_at IS NULL
               AND state NOT IN ('closed', 'merged')"
        )
        .bind(&clo)
        .bind(&chi)
        .bind(&lo)
        .bind(&hi)
        .bind(now)
        .fetch_one(&mut *c)
        .await)?;
        let mut f = ReportFigures {
            overdue,
            ..ReportFigures::default()
        };
        let mut situations: BTreeMap<Situation, i64> = BTreeMap::new();
        for (named, state, hotline) in rows {
            f.received += 1;
            f.hotline += i64::from(hotline.is_some());
            f.closed += i64::from(ReportState::parse(&state) == Some(ReportState::Closed));
            for s in serde_json::from_str::<Vec<String>>(&named).unwrap_or_default() {
                if let Some(s) = Situation::parse(&s) {
                    *situations.entry(s).or_default() += 1;
                }
            }
        }
        f.by_situation = situations.into_iter().collect();
        Ok(f)
    }

    async fn case_figures(
        &self,
        within: DivisionCode,
    ) -> Result<Vec<(CaseState, i64)>, StoreError> {
        let (clo, chi) = county_range(within);
        let (lo, hi) = within.subtree_bounds();
        let mut conn = self.read().await?;
        let rows: Vec<(String, i64)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT state, COUNT(*) FROM cases
             WHERE county_code BETWEEN $1 AND $2 AND division_code BETWEEN $3 AND $4
             GROUP BY state"
        )
        .bind(&clo)
        .bind(&chi)
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *c)
        .await)?;
        let counted: BTreeMap<CaseState, i64> = rows
            .into_iter()
            .filter_map(|(s, n)| Some((CaseState::parse(&s)?, n)))
            .collect();
        Ok(CaseState::ALL
            .iter()
            .map(|s| (*s, counted.get(s).copied().unwrap_or(0)))
            .collect())
    }

    async fn supervision_figures(
        &self,
        within: DivisionCode,
        period: Period,
    ) -> Result<SupervisionFigures, StoreError> {
        let (clo, chi) = county_range(within);
        let (from_ms, to_ms) = ms(period);
        let now = self.now_ms();
        let mut conn = self.read().await?;
        let (due, on_time, overdue): (i64, i64, i64) = on!(conn.conn(), |c| {
            sqlx::query_as(
            "SELECT
                 COALESCE(SUM(CASE WHEN supervision_due_at >= $3 AND supervision_due_at < $4
                     THEN 1 ELSE 0 END), 0),
                 COALESCE(SUM(CASE WHEN supervision_due_at >= $3 AND supervision_due_at < $4
                     AND done_at IS NOT NULL AND done_at <= supervision_due_at THEN 1 ELSE 0 END), 0),
                 COALESCE(SUM(CASE WHEN state = 'open' AND supervision_due_at < $5
                     THEN 1 ELSE 0 END), 0)
             FROM work_items
             WHERE county_code BETWEEN $1 AND $2 AND supervision > 0
               AND supervision_due_at IS NOT NULL"
        )
        .bind(&clo)
        .bind(&chi)
        .bind(from_ms)
        .bind(to_ms)
        .bind(now)
        .fetch_one(&mut *c)
        .await
        })?;
        Ok(SupervisionFigures {
            due,
            on_time,
            overdue,
        })
    }

    async fn allowance_figures(
        &self,
        scope: &Scope,
        within: DivisionCode,
        period: Period,
    ) -> Result<AllowanceFigures, StoreError> {
        let month = Month::of(period.to);
        let mut f = AllowanceFigures {
            month: Some(month),
            ..AllowanceFigures::default()
        };
        if !(weibao_domain::month::FIRST_YEAR..=weibao_domain::month::LAST_YEAR)
            .contains(&month.year())
        {
            // A comparison before the platform's first year (a period of 2000 beside
            // 1999): nothing was paid through it, and the rolls cannot be asked.
            scope.check(Action::ViewAllowances, within)?;
            return Ok(f);
        }
        let t = self.allowance_totals(scope, within, month.year()).await?;
        for m in &t.by_month {
            if m.month <= month {
                f.year_amount = Fen(f.year_amount.fen() + m.amount.fen());
            }
            if m.month == month {
                f.month_amount = m.amount;
                f.month_people = m.people;
            }
        }
        f.year_people = t.people;
        Ok(f)
    }
}
