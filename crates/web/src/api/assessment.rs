//! The yearly assessment (考核) over the API, in the caller's county: the ranked result
//! (the office's at any time, the units' and townships' once published), a subject's
//! drill-down to the records it counted, the scheme (indicators and weights), the office's
//! manual points, publication, and the ranked result as an Excel workbook.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use weibao_domain::assessment::{Indicator, Scheme, Subject, Weighted};
use weibao_sheets::OutCell;
use weibao_store::{committee_county, Assessed, Assessment, StoreError};

use super::{JsonBody, PathParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::time::rfc3339;
use crate::AppState;

fn indicators() -> utoipa::openapi::Object {
    super::schema::one_of(Indicator::ALL.iter().map(|i| i.code()))
}

/// An indicator's line of a result.
#[derive(Serialize, ToSchema)]
pub struct ScoreLineView {
    pub indicator: String,
    pub label: String,
    pub weight: u32,
    /// Null: nothing to count (left out; the other indicators weigh more).
    pub numerator: Option<u64>,
    pub denominator: Option<u64>,
    /// One decimal.
    pub percent: Option<f64>,
}

/// A unit's or township's result.
#[derive(Serialize, ToSchema)]
pub struct AssessedView {
    pub rank: usize,
    /// A unit's id, or a township's 12-digit code.
    pub subject_id: String,
    /// unit or township
    pub kind: String,
    pub name: String,
    /// Out of 100: the weighted score, plus the manual points, within 0–100.
    pub total: f64,
    /// The weighted score alone (null: nothing to count).
    pub computed: Option<f64>,
    pub manual: f64,
    pub lines: Vec<ScoreLineView>,
}

fn round1(x: f64) -> f64 {
    // Adding 0.0 turns -0.0 (no manual points taken away) into 0.
    (x * 10.0).round() / 10.0 + 0.0
}

pub fn assessed_view(a: &Assessed) -> AssessedView {
    AssessedView {
        rank: a.rank,
        subject_id: a.subject_id.clone(),
        kind: match a.subject {
            Subject::Unit => "unit",
            Subject::Township => "township",
        }
        .into(),
        name: a.name.clone(),
        total: a.scored.total,
        computed: a.scored.computed.map(round1),
        manual: round1(a.scored.manual),
        lines: a
            .scored
            .lines
            .iter()
            .map(|l| ScoreLineView {
                indicator: l.indicator.code().into(),
                label: l.indicator.label().into(),
                weight: l.weight,
                numerator: l.share.map(|s| s.numerator),
                denominator: l.share.map(|s| s.denominator),
                percent: l.share.map(|s| round1(100.0 * s.ratio())),
            })
            .collect(),
    }
}

/// An indicator and its weight.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct WeightView {
    #[schema(schema_with = indicators)]
    pub indicator: String,
    #[schema(minimum = 1, maximum = 100)]
    pub weight: u32,
}

/// A year's scheme.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct SchemeView {
    #[schema(min_items = 1, max_items = 7)]
    pub indicators: Vec<WeightView>,
    /// Hours of training a year each supervisor and director should have.
    #[schema(minimum = 1, maximum = 200)]
    pub training_target_hours: u32,
}

fn scheme_view(s: &Scheme) -> SchemeView {
    SchemeView {
        indicators: s
            .indicators
            .iter()
            .map(|w| WeightView {
                indicator: w.indicator.code().into(),
                weight: w.weight,
            })
            .collect(),
        training_target_hours: s.training_target_hours,
    }
}

/// A year's ranked result.
#[derive(Serialize, ToSchema)]
pub struct AssessmentView {
    pub year: i32,
    pub published_at: Option<String>,
    pub scheme: SchemeView,
    pub items: Vec<AssessedView>,
}

fn view(a: &Assessment) -> AssessmentView {
    AssessmentView {
        year: a.year,
        published_at: a.published_at.map(rfc3339),
        scheme: scheme_view(&a.scheme),
        items: a.results.iter().map(assessed_view).collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/committee/assessments/{year}", tag = "committee",
    params(("year" = i32, Path, minimum = 2000, maximum = 2100)),
    responses((status = 200, body = AssessmentView),
              (status = 409, description = "尚未发布（未保办以外的账号）", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn get_assessment(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(year): PathParams<i32>,
) -> Result<Json<AssessmentView>, ApiError> {
    let county = committee_county(caller.scope())?;
    let a = state.store.assessment(caller.scope(), county, year).await?;
    Ok(Json(view(&a)))
}

#[utoipa::path(put, path = "/api/v1/committee/assessments/{year}/scheme", tag = "committee",
    params(("year" = i32, Path, minimum = 2000, maximum = 2100)), request_body = SchemeView,
    responses((status = 200, body = SchemeView),
              (status = 409, description = "结果已发布", body = ErrorBody),
              (status = 422, description = "指标重复、权重或目标学时超出范围", body = ErrorBody)))]
pub async fn set_assessment_scheme(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(year): PathParams<i32>,
    JsonBody(req): JsonBody<SchemeView>,
) -> Result<Json<SchemeView>, ApiError> {
    let county = committee_county(caller.scope())?;
    let mut list = Vec::new();
    for w in &req.indicators {
        let indicator = super::schema::exact(Indicator::ALL, Indicator::code, &w.indicator)
            .ok_or_else(|| {
                ApiError::invalid(
                    "indicators",
                    weibao_domain::Invalid::new(
                        "indicator_unknown",
                        format!(
                            "考核指标“{}”无法识别，可选：{}",
                            w.indicator,
                            Indicator::codes().join("、")
                        ),
                    ),
                )
            })?;
        list.push(Weighted {
            indicator,
            weight: w.weight,
        });
    }
    let s = state
        .store
        .set_assessment_scheme(
            caller.scope(),
            county,
            year,
            Scheme {
                indicators: list,
                training_target_hours: req.training_target_hours,
            },
            &caller.ip,
        )
        .await?;
    Ok(Json(scheme_view(&s)))
}

/// Manual points for a unit or a township, with the reason.
#[derive(Deserialize, ToSchema)]
pub struct PointsRequest {
    pub subject_id: String,
    /// −20 to 20, not 0; one decimal kept.
    #[schema(minimum = -20, maximum = 20)]
    pub points: f64,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

/// Manual points recorded.
#[derive(Serialize, ToSchema)]
pub struct PointsView {
    pub id: String,
    pub subject_id: String,
    pub points: f64,
    pub reason: String,
    pub at: String,
}

#[utoipa::path(post, path = "/api/v1/committee/assessments/{year}/points", tag = "committee",
    params(("year" = i32, Path, minimum = 2000, maximum = 2100)), request_body = PointsRequest,
    responses((status = 201, body = PointsView),
              (status = 409, description = "结果已发布", body = ErrorBody),
              (status = 422, description = "对象不在本县、分值超出范围、缺少理由", body = ErrorBody)))]
pub async fn add_assessment_points(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(year): PathParams<i32>,
    JsonBody(req): JsonBody<PointsRequest>,
) -> Result<(StatusCode, Json<PointsView>), ApiError> {
    let county = committee_county(caller.scope())?;
    let p = state
        .store
        .add_assessment_points(
            caller.scope(),
            county,
            year,
            &req.subject_id,
            req.points,
            &req.reason,
            &caller.ip,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PointsView {
            id: p.id,
            subject_id: p.subject_id,
            points: p.tenths as f64 / 10.0,
            reason: p.reason,
            at: rfc3339(p.at),
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/committee/assessments/{year}/publication", tag = "committee",
    params(("year" = i32, Path, minimum = 2000, maximum = 2100)),
    responses((status = 204), (status = 409, description = "已发布", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn publish_assessment(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(year): PathParams<i32>,
) -> Result<StatusCode, ApiError> {
    let county = committee_county(caller.scope())?;
    state
        .store
        .publish_assessment(caller.scope(), county, year, &caller.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A record a score counted.
#[derive(Serialize, ToSchema)]
pub struct CountedView {
    /// replies_on_time, supervised_on_time or tasks_done
    pub indicator: String,
    pub work_id: String,
    /// What the work is about (referral, plan_task, case...) and its id.
    pub subject_kind: String,
    pub subject_id: String,
    pub title: String,
    pub due_at: String,
    pub done_at: Option<String>,
    pub on_time: bool,
}

/// A joint meeting of the year, and whether the unit attended.
#[derive(Serialize, ToSchema)]
pub struct MeetingCounted {
    pub id: String,
    pub held_on: String,
    pub attended: bool,
}

/// Manual points of a subject.
#[derive(Serialize, ToSchema)]
pub struct PointsLine {
    pub points: f64,
    pub reason: String,
    pub at: String,
}

/// A subject's result and what it counted.
#[derive(Serialize, ToSchema)]
pub struct DrillView {
    pub result: AssessedView,
    pub items: Vec<CountedView>,
    pub meetings: Vec<MeetingCounted>,
    pub points: Vec<PointsLine>,
}

#[utoipa::path(get, path = "/api/v1/committee/assessments/{year}/subjects/{subject_id}", tag = "committee",
    params(("year" = i32, Path, minimum = 2000, maximum = 2100), ("subject_id" = String, Path)),
    responses((status = 200, body = DrillView), (status = 404, body = ErrorBody),
              (status = 409, description = "尚未发布（未保办以外的账号）", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn assessment_subject(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams((year, subject_id)): PathParams<(i32, String)>,
) -> Result<Json<DrillView>, ApiError> {
    let county = committee_county(caller.scope())?;
    let d = state
        .store
        .assessment_drill(caller.scope(), county, year, &subject_id)
        .await?;
    Ok(Json(DrillView {
        result: assessed_view(&d.assessed),
        items: d
            .items
            .into_iter()
            .map(|c| CountedView {
                indicator: c.indicator.into(),
                on_time: c.done_at.is_some_and(|x| x <= c.due_at),
                work_id: c.work_id,
                subject_kind: c.subject_kind,
                subject_id: c.subject_id,
                title: c.title,
                due_at: rfc3339(c.due_at),
                done_at: c.done_at.map(rfc3339),
            })
            .collect(),
        meetings: d
            .meetings
            .into_iter()
            .map(|(id, held_on, attended)| MeetingCounted {
                id,
                held_on,
                attended,
            })
            .collect(),
        points: d
            .points
            .into_iter()
            .map(|p| PointsLine {
                points: p.tenths as f64 / 10.0,
                reason: p.reason,
                at: rfc3339(p.at),
            })
            .collect(),
    }))
}

/// The ranked result as a workbook: one row per unit or township, a column per indicator.
pub async fn workbook(a: &Assessment) -> Result<Vec<u8>, ApiError> {
    let mut headers: Vec<String> = ["名次", "单位或乡镇", "类别", "总分", "指标得分", "加减分"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for w in &a.scheme.indicators {
        headers.push(format!("{}（权重 {}）", w.indicator.label(), w.weight));
    }
    let rows: Vec<Vec<OutCell>> = a
        .results
        .iter()
        .map(|r| {
            let mut row = vec![
                OutCell::Number(r.rank as f64),
                OutCell::Text(r.name.clone()),
                OutCell::Text(
                    match r.subject {
                        Subject::Unit => "成员单位",
                        Subject::Township => "乡镇（街道）",
                    }
                    .into(),
                ),
                OutCell::Number(r.scored.total),
                r.scored
                    .computed
                    .map(|c| OutCell::Number(round1(c)))
                    .unwrap_or(OutCell::Empty),
                OutCell::Number(round1(r.scored.manual)),
            ];
            for w in &a.scheme.indicators {
                let cell = r
                    .scored
                    .lines
                    .iter()
                    .find(|l| l.indicator == w.indicator)
                    .and_then(|l| l.share)
                    .map(|s| {
                        OutCell::Text(format!(
                            "{}%（{}/{}）",
                            round1(100.0 * s.ratio()),
                            s.numerator,
                            s.denominator
                        ))
                    })
                    .unwrap_or(OutCell::Empty);
                row.push(cell);
            }
            row
        })
        .collect();
    let sheet = format!("{}年考核结果", a.year);
    tokio::task::spawn_blocking(move || {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        weibao_sheets::write_table(&sheet, &headers, rows)
    })
    .await
    .map_err(|e| StoreError::Config(format!("生成 Excel 失败：{e}")))?
    .map_err(|e| ApiError::invalid("year", weibao_domain::Invalid::new("export_failed", e)))
}

/// A workbook as a download named `name`.
pub fn xlsx_download(bytes: Vec<u8>, name: &str) -> Response {
    crate::download::download(bytes, crate::download::XLSX, "assessment.xlsx", name)
}

#[utoipa::path(get, path = "/api/v1/committee/assessments/{year}/export.xlsx", tag = "committee",
    params(("year" = i32, Path, minimum = 2000, maximum = 2100)),
    responses((status = 200, description = "考核结果（按名次，每个指标一列）",
               content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 409, description = "尚未发布（未保办以外的账号）", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn export_assessment(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(year): PathParams<i32>,
) -> Result<Response, ApiError> {
    let county = committee_county(caller.scope())?;
    let a = state.store.assessment(caller.scope(), county, year).await?;
    let bytes = workbook(&a).await?;
    Ok(xlsx_download(
        bytes,
        &format!("{year}年未成年人保护工作考核结果.xlsx"),
    ))
}
