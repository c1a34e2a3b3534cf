//! The statistics page (/stats): a division's figures at a glance for a period, charts
//! drawn on the server, and the divisions one level down in a shaded table that drills
//! down to the village; every number links to the list behind it.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use weibao_domain::child::Category;
use weibao_domain::stats::ledger::Figure;
use weibao_domain::Level;
use weibao_store::{AllowanceFigures, CoverageRow, Overview, ReportFigures, SupervisionFigures};

use super::{render, store_error_page, Layout};
use crate::api::stats::{
    age_figures, category_figures, children_query, risk_figures, school_figures, sex_figures,
    OverviewQuery,
};
use crate::auth::PageAuth;
use crate::charts::{heat, Bars, Line};
use crate::text::grouped;
use crate::AppState;

/// The categories the division table has a column for (the ones every report quotes).
const COLUMNS: [Category; 4] = [
    Category::Orphan,
    Category::FactuallyUnsupported,
    Category::RuralLeftBehind,
    Category::Distressed,
];

struct PartRow {
    code: String,
    name: String,
    /// Whether the division has divisions below it to drill into.
    drill: bool,
    children: (String, u8),
    /// (count, shade, list)
    cells: Vec<(String, u8, String)>,
    overdue: (i64, u8),
    visits_30d: i64,
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    layout: Layout,
    name: String,
    division: String,
    path: Vec<(String, String)>,
    from: String,
    to: String,
    period_query: String,
    period_label: String,
    error: Option<(String, String)>,
    children: String,
    children_href: String,
    headline: Vec<(String, String, String)>,
    categories: Bars,
    ages: Bars,
    sexes: Bars,
    schools: Bars,
    risks: Bars,
    visits: Option<weibao_store::VisitFigures>,
    visit_trend: Option<Line>,
    network: Option<CoverageRow>,
    reports: Option<ReportFigures>,
    situations: Option<Bars>,
    cases: Option<Bars>,
    supervision: Option<SupervisionFigures>,
    allowances: Option<AllowanceFigures>,
    month_label: String,
    parts: Vec<PartRow>,
    part_columns: Vec<&'static str>,
    has_visits: bool,
}

fn bars(o: &Overview, title: &str, figures: impl IntoIterator<Item = Figure>) -> Bars {
    Bars::new(
        title,
        figures
            .into_iter()
            .map(|f| {
                (
                    f.label(),
                    o.ledger.get(f),
                    children_query(f, o.division).map(|q| format!("/children?{q}")),
                )
            })
            .collect(),
    )
}

fn page(caller: &crate::auth::Caller, o: Overview, error: Option<(String, String)>) -> StatsPage {
    let division = o.division.full();
    let period_query = format!("&from={}&to={}", o.period.from, o.period.to);
    let link = |f: Figure| {
        children_query(f, o.division)
            .map(|q| format!("/children?{q}"))
            .unwrap_or_default()
    };
    let max_of = |f: Figure| {
        o.ledger
            .parts
            .iter()
            .map(|p| p.2.get(&f).copied().unwrap_or(0))
            .max()
            .unwrap_or(0)
    };
    let max_overdue = o
        .visits
        .as_ref()
        .map(|v| v.progress.iter().map(|p| p.overdue).max().unwrap_or(0))
        .unwrap_or(0);
    let parts = o
        .ledger
        .parts
        .iter()
        .map(|(code, name, figures)| {
            let code_d = weibao_domain::DivisionCode::parse(code).ok();
            let n = |f: Figure| figures.get(&f).copied().unwrap_or(0);
            let progress = o
                .visits
                .as_ref()
                .and_then(|v| v.progress.iter().find(|p| &p.division_code == code));
            let overdue = progress.map(|p| p.overdue).unwrap_or(0);
            PartRow {
                drill: code_d.is_some_and(|d| d.level() < Level::Village),
                children: (
                    grouped(n(Figure::Children)),
                    heat(n(Figure::Children), max_of(Figure::Children)),
                ),
                cells: COLUMNS
                    .iter()
                    .map(|c| {
                        let f = Figure::Category(*c);
                        (
                            grouped(n(f)),
                            heat(n(f), max_of(f)),
                            code_d
                                .and_then(|d| children_query(f, d))
                                .map(|q| format!("/children?{q}"))
                                .unwrap_or_default(),
                        )
                    })
                    .collect(),
                overdue: (overdue, heat(overdue, max_overdue)),
                visits_30d: progress.map(|p| p.visits_30d).unwrap_or(0),
                code: code.clone(),
                name: name.clone(),
            }
        })
        .collect();
    let headline = COLUMNS
        .iter()
        .map(|c| {
            let f = Figure::Category(*c);
            (c.label().to_string(), grouped(o.ledger.get(f)), link(f))
        })
        .collect();
    StatsPage {
        layout: Layout::for_caller(caller, "/stats"),
        name: o.name.clone(),
        path: o.path.clone(),
        from: o.period.from.to_string(),
        to: o.period.to.to_string(),
        period_label: format!("统计期 {}", o.period.label()),
        period_query,
        error,
        children: grouped(o.ledger.get(Figure::Children)),
        children_href: link(Figure::Children),
        headline,
        categories: bars(&o, "儿童类别", category_figures()),
        ages: bars(&o, "年龄段", age_figures()),
        sexes: bars(&o, "性别", sex_figures()),
        schools: bars(&o, "就学情况", school_figures()),
        risks: bars(&o, "风险等级", risk_figures()),
        visit_trend: o.visits.as_ref().map(|v| {
            Line::new(
                "每月探访人次",
                v.by_month
                    .iter()
                    .map(|(m, n)| (format!("{}月", m.month()), *n))
                    .collect(),
            )
        }),
        network: o.network.as_ref().map(|c| c.total.clone()),
        situations: o
            .reports
            .as_ref()
            .filter(|r| !r.by_situation.is_empty())
            .map(|r| {
                Bars::new(
                    "按情形",
                    r.by_situation
                        .iter()
                        .map(|(s, n)| (s.label().chars().take(12).collect(), *n, None))
                        .collect(),
                )
            }),
        cases: o.cases.as_ref().map(|cs| {
            Bars::new(
                "个案",
                cs.iter()
                    .map(|(s, n)| {
                        (
                            s.label().to_string(),
                            *n,
                            Some(format!("/cases?state={}", s.code())),
                        )
                    })
                    .collect(),
            )
        }),
        month_label: o
            .allowances
            .as_ref()
            .and_then(|a| a.month)
            .map(|m| format!("{}年{}月", m.year(), m.month()))
            .unwrap_or_default(),
        has_visits: o.visits.is_some(),
        parts,
        part_columns: COLUMNS.iter().map(|c| c.label()).collect(),
        visits: o.visits,
        reports: o.reports,
        supervision: o.supervision,
        allowances: o.allowances,
        division,
    }
}

pub async fn stats(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let (division, period, error) = match q.parse(&state, &caller) {
        Ok((d, p)) => (d, p, None),
        Err(e) => {
            // Show this month with the reason the period was refused.
            let fallback = OverviewQuery {
                division: q.division.clone(),
                ..Default::default()
            };
            match fallback.parse(&state, &caller) {
                Ok((d, p)) => (
                    d,
                    p,
                    Some((e.field.unwrap_or_default().to_string(), e.message)),
                ),
                Err(e) => return super::error_page(e.status, &e.message),
            }
        }
    };
    match state.store.overview(caller.scope(), division, period).await {
        Ok(o) => render(&page(&caller, o, error)),
        Err(e) => store_error_page(e),
    }
}
