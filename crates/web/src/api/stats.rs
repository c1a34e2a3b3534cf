//! The figures over the API (统计): a division's overview for a period, every tile with
//! the list behind it.

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::child::{Category, Risk, SchoolStatus};
use weibao_domain::stats::ledger::{AgeBand, Figure, SexKey};
use weibao_domain::stats::period::Period;
use weibao_domain::DivisionCode;
use weibao_store::Overview;

use super::divisions::home_or;
use super::QueryParams;
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// Division (short or 12-digit code); default your home division.
    pub division: Option<String>,
    /// First day of the period (YYYY-MM-DD); default the first of this month.
    pub from: Option<NaiveDate>,
    /// Last day of the period; default today.
    pub to: Option<NaiveDate>,
}

impl OverviewQuery {
    /// The division and period asked for, checked.
    pub fn parse(
        &self,
        state: &AppState,
        caller: &crate::auth::Caller,
    ) -> Result<(DivisionCode, Period), ApiError> {
        let division = home_or(caller, self.division.as_deref())?;
        let period = Period::parse(self.from, self.to, state.store.clock().today())
            .map_err(|(field, e)| ApiError::invalid(field, e))?;
        Ok((division, period))
    }
}

/// The query string of the children's list behind a tile (for /children and
/// /api/v1/children alike); None for a tile no list filter selects (就学情况未填).
pub fn children_query(figure: Figure, division: DivisionCode) -> Option<String> {
    let mut parts: Vec<(&str, String)> = vec![("division", division.full())];
    match figure {
        Figure::Children => {}
        Figure::Category(c) => parts.push(("category", c.label().into())),
        Figure::Sex(s) => parts.push(("sex", s.label().into())),
        Figure::Age(b) => {
            let (lo, hi) = b.ages();
            parts.push(("age_min", lo.to_string()));
            parts.push(("age_max", hi.to_string()));
        }
        Figure::School(Some(s)) => parts.push(("school", s.label().into())),
        Figure::School(None) => return None,
        Figure::Risk(r) => parts.push(("risk", r.label().into())),
    }
    serde_urlencoded::to_string(&parts).ok()
}

/// One tile: its name, its count, and the list that shows the children behind it.
#[derive(Serialize, ToSchema)]
pub struct Tile {
    /// The value the list filters by (孤儿, 男, 0-5, 小学, 高 …).
    pub key: String,
    pub label: String,
    pub count: i64,
    /// The list behind the tile, e.g. /api/v1/children?division=…&category=孤儿 (null:
    /// no list selects it, as 就学情况未填).
    pub list: Option<String>,
}

/// Tiles of one dimension in a fixed order, each shown even when zero.
fn tiles(o: &Overview, figures: impl IntoIterator<Item = Figure>) -> Vec<Tile> {
    figures
        .into_iter()
        .map(|f| Tile {
            key: match f {
                Figure::Category(c) => c.label().into(),
                Figure::Sex(s) => s.label().into(),
                Figure::Age(b) => b.key().into(),
                Figure::Risk(r) => r.label().into(),
                _ => f.label(),
            },
            label: f.label(),
            count: o.ledger.get(f),
            list: children_query(f, o.division).map(|q| format!("/api/v1/children?{q}")),
        })
        .collect()
}

/// The tiles of each dimension, in the order the reports list them.
pub fn category_figures() -> impl Iterator<Item = Figure> {
    Category::ALL.iter().map(|c| Figure::Category(*c))
}

pub fn sex_figures() -> impl Iterator<Item = Figure> {
    [SexKey::Male, SexKey::Female].into_iter().map(Figure::Sex)
}

pub fn age_figures() -> impl Iterator<Item = Figure> {
    AgeBand::ALL.into_iter().map(Figure::Age)
}

pub fn school_figures() -> impl Iterator<Item = Figure> {
    SchoolStatus::ALL
        .iter()
        .map(|s| Figure::School(Some(*s)))
        .chain([Figure::School(None)])
}

pub fn risk_figures() -> impl Iterator<Item = Figure> {
    Risk::ALL.iter().rev().map(|r| Figure::Risk(*r))
}

/// A division one level down, with its figures.
#[derive(Serialize, ToSchema)]
pub struct PartView {
    pub division: String,
    pub name: String,
    pub children: i64,
    /// Children by category, keyed by the category's name.
    pub categories: std::collections::BTreeMap<String, i64>,
    /// Visits overdue now and made in the last 30 days (null: not shown to you).
    pub visits_overdue: Option<i64>,
    pub visits_30d: Option<i64>,
    /// This division's own overview.
    pub overview: String,
}

#[derive(Serialize, ToSchema)]
pub struct NetworkView {
    pub townships: i64,
    pub townships_with_station: i64,
    pub villages: i64,
    pub villages_with_work_point: i64,
    pub stations: i64,
    pub work_points: i64,
    pub supervisors: i64,
    pub directors: i64,
    pub supervisor_vacancies: i64,
    pub director_vacancies: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MonthCount {
    /// YYYY-MM
    pub month: String,
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct VisitsView {
    /// Children whose visit is overdue now, and due within the coming days.
    pub overdue: i64,
    pub due_soon: i64,
    /// Visits made in the period.
    pub done: i64,
    /// Visits made in each of the twelve months up to the period's end.
    pub by_month: Vec<MonthCount>,
    /// The worklist of children due and overdue.
    pub list: String,
}

#[derive(Serialize, ToSchema)]
pub struct SituationCount {
    pub code: String,
    pub label: String,
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ReportsView {
    /// Reports received in the period, of which hotline orders, and of those closed.
    pub received: i64,
    pub hotline: i64,
    pub closed: i64,
    /// Open hotline orders past their reply deadline now.
    pub overdue: i64,
    pub by_situation: Vec<SituationCount>,
    pub list: String,
}

#[derive(Serialize, ToSchema)]
pub struct CaseCount {
    pub state: String,
    pub label: String,
    pub count: i64,
    pub list: String,
}

#[derive(Serialize, ToSchema)]
pub struct SupervisionView {
    /// 督办 items due in the period, of which closed by their deadline.
    pub due: i64,
    pub on_time: i64,
    /// Open and past the deadline now.
    pub overdue: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AllowancesView {
    /// The period's last month (YYYY-MM): paid in it, and in its year through it
    /// (locked rolls).
    pub month: String,
    pub month_amount_fen: i64,
    pub month_amount_wan: String,
    pub month_people: i64,
    pub year_amount_fen: i64,
    pub year_amount_wan: String,
    /// Children paid anything in the year.
    pub year_people: i64,
}

/// A division's figures at a glance. A module you may not read is null, not zero.
#[derive(Serialize, ToSchema)]
pub struct OverviewView {
    pub division: String,
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Children in the active ledger (under 18).
    pub children: i64,
    pub children_list: String,
    pub categories: Vec<Tile>,
    pub sexes: Vec<Tile>,
    /// 0-5, 6-13, 14-17
    pub age_bands: Vec<Tile>,
    pub schools: Vec<Tile>,
    pub risks: Vec<Tile>,
    /// The divisions one level down (none for a village).
    pub parts: Vec<PartView>,
    pub network: Option<NetworkView>,
    pub visits: Option<VisitsView>,
    pub reports: Option<ReportsView>,
    pub cases: Option<Vec<CaseCount>>,
    pub supervision: Option<SupervisionView>,
    pub allowances: Option<AllowancesView>,
}

impl OverviewView {
    pub fn of(o: &Overview) -> OverviewView {
        let division = o.division.full();
        let parts = o
            .ledger
            .parts
            .iter()
            .map(|(code, name, figures)| {
                let progress = o
                    .visits
                    .as_ref()
                    .and_then(|v| v.progress.iter().find(|p| &p.division_code == code));
                PartView {
                    division: code.clone(),
                    name: name.clone(),
                    children: figures.get(&Figure::Children).copied().unwrap_or(0),
                    categories: figures
                        .iter()
                        .filter_map(|(f, n)| match f {
                            Figure::Category(c) => Some((c.label().to_string(), *n)),
                            _ => None,
                        })
                        .collect(),
                    visits_overdue: progress.map(|p| p.overdue),
                    visits_30d: progress.map(|p| p.visits_30d),
                    overview: format!("/api/v1/stats/overview?division={code}"),
                }
            })
            .collect();
        OverviewView {
            name: o.name.clone(),
            from: o.period.from,
            to: o.period.to,
            children: o.ledger.get(Figure::Children),
            children_list: format!(
                "/api/v1/children?{}",
                children_query(Figure::Children, o.division).unwrap_or_default()
            ),
            categories: tiles(o, category_figures()),
            sexes: tiles(o, sex_figures()),
            age_bands: tiles(o, age_figures()),
            schools: tiles(o, school_figures()),
            risks: tiles(o, risk_figures()),
            parts,
            network: o.network.as_ref().map(|c| {
                let t = &c.total;
                NetworkView {
                    townships: t.townships,
                    townships_with_station: t.townships_with_station,
                    villages: t.villages,
                    villages_with_work_point: t.villages_with_work_point,
                    stations: t.stations,
                    work_points: t.work_points,
                    supervisors: t.supervisors,
                    directors: t.directors,
                    supervisor_vacancies: t.supervisor_vacancies,
                    director_vacancies: t.director_vacancies,
                }
            }),
            visits: o.visits.as_ref().map(|v| VisitsView {
                overdue: v.overdue,
                due_soon: v.due_soon,
                done: v.done,
                by_month: v
                    .by_month
                    .iter()
                    .map(|(m, n)| MonthCount {
                        month: m.to_string(),
                        count: *n,
                    })
                    .collect(),
                list: format!("/api/v1/visits/due?division={division}"),
            }),
            reports: o.reports.as_ref().map(|r| ReportsView {
                received: r.received,
                hotline: r.hotline,
                closed: r.closed,
                overdue: r.overdue,
                by_situation: r
                    .by_situation
                    .iter()
                    .map(|(s, n)| SituationCount {
                        code: s.code().into(),
                        label: s.label().into(),
                        count: *n,
                    })
                    .collect(),
                list: format!("/api/v1/reports?division={division}"),
            }),
            cases: o.cases.as_ref().map(|cases| {
                cases
                    .iter()
                    .map(|(s, n)| CaseCount {
                        state: s.code().into(),
                        label: s.label().into(),
                        count: *n,
                        list: format!("/api/v1/cases?state={}", s.code()),
                    })
                    .collect()
            }),
            supervision: o.supervision.as_ref().map(|s| SupervisionView {
                due: s.due,
                on_time: s.on_time,
                overdue: s.overdue,
            }),
            allowances: o.allowances.as_ref().map(|a| AllowancesView {
                month: a.month.map(|m| m.to_string()).unwrap_or_default(),
                month_amount_fen: a.month_amount.0,
                month_amount_wan: a.month_amount.wan(),
                month_people: a.month_people,
                year_amount_fen: a.year_amount.0,
                year_amount_wan: a.year_amount.wan(),
                year_people: a.year_people,
            }),
            division,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/stats/overview", tag = "stats", params(OverviewQuery),
    responses((status = 200, description = "区划的统计概览", body = OverviewView),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stats_overview(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<OverviewQuery>,
) -> Result<Json<OverviewView>, ApiError> {
    let (division, period) = q.parse(&state, &caller)?;
    let o = state
        .store
        .overview(caller.scope(), division, period)
        .await?;
    Ok(Json(OverviewView::of(&o)))
}

#[utoipa::path(get, path = "/api/v1/stats/report.xlsx", tag = "stats", params(OverviewQuery),
    responses((status = 200, description = "统计表（民政统计报表的行次：本期、上期、去年同期）",
               content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stats_report_xlsx(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<OverviewQuery>,
) -> Result<axum::response::Response, ApiError> {
    let (division, period) = q.parse(&state, &caller)?;
    let (name, bytes) =
        crate::stats_io::report_xlsx(&state.store, caller.scope(), division, period).await?;
    Ok(crate::download::download(
        bytes,
        crate::download::XLSX,
        "statistics.xlsx",
        &name,
    ))
}

// ---- the work report -------------------------------------------------------------------

/// A work report: a draft made from the figures, or one kept.
#[derive(Serialize, ToSchema)]
pub struct WorkReportView {
    /// Null for a draft not kept yet.
    pub id: Option<String>,
    pub division: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub title: String,
    /// One paragraph a line; "一、…" a heading, "（一）…" a sub-heading.
    pub body: String,
    pub signer: String,
    pub date: String,
    /// The kept version (0 for a draft); send it back to change the report.
    pub version: i64,
    pub author: Option<String>,
    /// The Word file of a kept report.
    pub docx: Option<String>,
}

impl WorkReportView {
    fn kept(s: weibao_store::StoredWorkReport) -> WorkReportView {
        WorkReportView {
            docx: Some(format!("/api/v1/stats/work-reports/{}/document.docx", s.id)),
            id: Some(s.id),
            division: s.division.full(),
            from: s.period.from,
            to: s.period.to,
            title: s.report.title,
            body: s.report.body,
            signer: s.report.signer,
            date: s.report.date,
            version: s.version,
            author: Some(s.author_name),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/stats/work-report/draft", tag = "stats", params(OverviewQuery),
    responses((status = 200, description = "按统计数据生成的工作报告草稿（未保存）", body = WorkReportView),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn draft_work_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<OverviewQuery>,
) -> Result<Json<WorkReportView>, ApiError> {
    let (division, period) = q.parse(&state, &caller)?;
    let r = state
        .store
        .draft_work_report(caller.scope(), division, period)
        .await?;
    Ok(Json(WorkReportView {
        id: None,
        division: division.full(),
        from: period.from,
        to: period.to,
        title: r.title,
        body: r.body,
        signer: r.signer,
        date: r.date,
        version: 0,
        author: None,
        docx: None,
    }))
}

/// A report to keep: new (no id), or a new version of a kept one.
#[derive(Deserialize, ToSchema)]
pub struct WorkReportRequest {
    /// The kept report to change, with the version read.
    pub id: Option<String>,
    pub version: Option<i64>,
    pub division: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub title: String,
    pub body: String,
    pub signer: String,
    pub date: String,
}

/// Keeps a report for a caller (the API and the page share it).
pub async fn keep(
    state: &AppState,
    caller: &crate::auth::Caller,
    req: WorkReportRequest,
) -> Result<weibao_store::StoredWorkReport, ApiError> {
    let report = weibao_domain::stats::work_report::WorkReport {
        title: req.title,
        body: req.body,
        signer: req.signer,
        date: req.date,
    };
    let scope = caller.scope();
    Ok(match req.id.as_deref().filter(|i| !i.is_empty()) {
        Some(id) => {
            let kept = state.store.work_report(scope, id).await?;
            let version = req.version.ok_or_else(|| {
                ApiError::invalid(
                    "version",
                    weibao_domain::Invalid::new(
                        "required",
                        "修改已保存的报告须附上读到的版本号 version",
                    ),
                )
            })?;
            state
                .store
                .keep_work_report(
                    scope,
                    kept.division,
                    kept.period,
                    Some((id, version)),
                    &report,
                    &caller.ip,
                )
                .await?
        }
        None => {
            let q = OverviewQuery {
                division: req.division,
                from: req.from,
                to: req.to,
            };
            let (division, period) = q.parse(state, caller)?;
            state
                .store
                .keep_work_report(scope, division, period, None, &report, &caller.ip)
                .await?
        }
    })
}

#[utoipa::path(post, path = "/api/v1/stats/work-reports", tag = "stats", request_body = WorkReportRequest,
    responses((status = 201, body = WorkReportView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn keep_work_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    super::JsonBody(req): super::JsonBody<WorkReportRequest>,
) -> Result<(axum::http::StatusCode, Json<WorkReportView>), ApiError> {
    let s = keep(&state, &caller, req).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(WorkReportView::kept(s)),
    ))
}

#[utoipa::path(get, path = "/api/v1/stats/work-reports/{id}", tag = "stats",
    params(("id" = String, Path)),
    responses((status = 200, body = WorkReportView), (status = 404, body = ErrorBody)))]
pub async fn get_work_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    super::PathParams(id): super::PathParams<String>,
) -> Result<Json<WorkReportView>, ApiError> {
    let s = state.store.work_report(caller.scope(), &id).await?;
    Ok(Json(WorkReportView::kept(s)))
}

#[utoipa::path(get, path = "/api/v1/stats/work-reports/{id}/document.docx", tag = "stats",
    params(("id" = String, Path)),
    responses((status = 200, description = "工作报告（Word 文档，可再编辑）",
               content((Vec<u8> = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))),
              (status = 404, body = ErrorBody)))]
pub async fn export_work_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    super::PathParams(id): super::PathParams<String>,
) -> Result<axum::response::Response, ApiError> {
    let s = state.store.work_report(caller.scope(), &id).await?;
    let bytes = weibao_sheets::docx::write_docx(
        &s.report.title,
        &crate::time::rfc3339(state.store.clock().now_ms()),
        &crate::stats_io::work_report_paragraphs(&s.report),
    )
    .map_err(|m| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "export_failed",
            m,
        )
    })?;
    Ok(crate::download::download(
        bytes,
        crate::download::DOCX,
        "work-report.docx",
        &format!("{}.docx", s.report.title),
    ))
}
