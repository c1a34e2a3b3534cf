//! The yearly assessment (考核): the county's scheme for a year (indicators and weights,
//! default weibao_domain::assessment::Scheme), the facts of each member unit and township
//! gathered from the platform's own records (work items, plan tasks, joint meetings, the
//! ledger and its visits, the network's training), scored by the domain, with the office's
//! manual points; ranked, published internally, each score traceable to what it counted.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use weibao_domain::access::{Action, Role, Scope};
use weibao_domain::assessment::{check_manual, score, Facts, Scheme, Scored, Subject, Timed};
use weibao_domain::work::calendar::end_of_day_ms;
use weibao_domain::{DivisionCode, Invalid, Level};

use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::work::{exec, new_id};

/// One unit's or township's result.
#[derive(Debug, Clone)]
pub struct Assessed {
    /// A unit's id, or a township's 12-digit code.
    pub subject_id: String,
    pub subject: Subject,
    pub name: String,
    pub scored: Scored,
    pub rank: usize,
}

/// A year's assessment of a county.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub year: i32,
    pub scheme: Scheme,
    pub published_at: Option<i64>,
    /// Ranked, best first.
    pub results: Vec<Assessed>,
}

/// A manual adjustment.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Points {
    pub id: String,
    pub subject_id: String,
    /// Tenths of a point.
    pub tenths: i64,
    pub reason: String,
    pub at: i64,
}

/// What a subject's score counted: each timed item (a reply, a supervised item, a task)
/// and each joint meeting, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// replies_on_time, supervised_on_time or tasks_done
    pub indicator: &'static str,
    pub work_id: String,
    /// report, referral, case, plan_task...
    pub subject_kind: String,
    pub subject_id: String,
    pub title: String,
    pub due_at: i64,
    pub done_at: Option<i64>,
}

/// The facts behind one subject, for its drill-down.
#[derive(Debug, Clone)]
pub struct Drill {
    pub assessed: Assessed,
    pub items: Vec<Counted>,
    /// Meetings held this year: (id, held_on, attended).
    pub meetings: Vec<(String, String, bool)>,
    pub points: Vec<Points>,
}

#[derive(sqlx::FromRow)]
struct WorkRow {
    id: String,
    kind: String,
    subject_kind: String,
    subject_id: String,
    title: String,
    owner_unit_id: String,
    due_at: Option<i64>,
    done_at: Option<i64>,
    state: String,
    supervision: i32,
    supervision_due_at: Option<i64>,
}

/// Everything gathered for a county's year.
struct Gathered {
    subjects: Vec<(String, Subject, String)>,
    facts: HashMap<String, Facts>,
    items: HashMap<String, Vec<Counted>>,
    meetings: Vec<(String, String, Vec<String>)>,
    points: Vec<Points>,
}

fn year_bounds(year: i32) -> Result<(i64, i64), StoreError> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| {
        StoreError::invalid(
            "year",
            Invalid::new("year_range", "考核年度应为 4 位年份，如 2026"),
        )
    })?;
    let start = end_of_day_ms(first) - 86_400_000 + 1;
    let end = end_of_day_ms(NaiveDate::from_ymd_opt(year, 12, 31).expect("31 December"));
    Ok((start, end))
}

fn check_year(year: i32) -> Result<(), StoreError> {
    if (2000..=2100).contains(&year) {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "year",
            Invalid::new("year_range", "考核年度应为 4 位年份，如 2026"),
        ))
    }
}

impl Store {
    /// The county's scheme for a year (the default when none is set) and when it was
    /// published.
    async fn scheme_row(
        &self,
        county: &str,
        year: i32,
    ) -> Result<(Scheme, Option<i64>), StoreError> {
        let row: Option<(String, Option<i64>)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT scheme, published_at FROM assessment_schemes
                 WHERE county_code = $1 AND year = $2"
            )
            .bind(county)
            .bind(i64::from(year))
            .fetch_optional(&mut *c)
            .await)?
        };
        Ok(match row {
            Some((json, published)) => (serde_json::from_str(&json).unwrap_or_default(), published),
            None => (Scheme::default(), None),
        })
    }

    /// Sets a year's scheme (before it is published).
    pub async fn set_assessment_scheme(
        &self,
        scope: &Scope,
        county: DivisionCode,
        year: i32,
        scheme: Scheme,
        ip: &str,
    ) -> Result<Scheme, StoreError> {
        self.check_committee(scope, Action::ManageCommittee, county)?;
        check_year(year)?;
        let scheme = scheme
            .check()
            .map_err(|e| StoreError::invalid("indicators", e))?;
        let county_code = county.county_code();
        if self.scheme_row(&county_code, year).await?.1.is_some() {
            return Err(StoreError::Conflict {
                field: "year",
                code: "published",
                message: format!("{year} 年的考核结果已发布，不能再改指标"),
            });
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "INSERT INTO assessment_schemes (county_code, year, scheme, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (county_code, year) DO UPDATE SET scheme = $3, updated_at = $4",
            vec![
                county_code.clone().into(),
                i64::from(year).into(),
                serde_json::to_string(&scheme)
                    .expect("scheme serialises")
                    .into(),
                now.into(),
            ],
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "assessment.scheme", format!("{county_code}:{year}"))
                .in_county(&county_code)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await?;
        Ok(scheme)
    }

    /// Adds the office's manual points (±20, with a reason) to a unit or a township.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_assessment_points(
        &self,
        scope: &Scope,
        county: DivisionCode,
        year: i32,
        subject_id: &str,
        points: f64,
        reason: &str,
        ip: &str,
    ) -> Result<Points, StoreError> {
        self.check_committee(scope, Action::ManageCommittee, county)?;
        check_year(year)?;
        check_manual(points, reason).map_err(|(f, e)| StoreError::invalid(f, e))?;
        let county_code = county.county_code();
        let gathered = self.gather(&county_code, year).await?;
        if !gathered.subjects.iter().any(|(id, _, _)| id == subject_id) {
            return Err(StoreError::invalid(
                "subject_id",
                Invalid::new(
                    "subject_unknown",
                    "subject_id 应为本县一个成员单位的编号或一个乡镇（街道）的 12 位代码",
                ),
            ));
        }
        if self.scheme_row(&county_code, year).await?.1.is_some() {
            return Err(StoreError::Conflict {
                field: "year",
                code: "published",
                message: format!("{year} 年的考核结果已发布，不能再加减分"),
            });
        }
        let p = Points {
            id: new_id(),
            subject_id: subject_id.to_string(),
            tenths: (points * 10.0).round() as i64,
            reason: reason.trim().to_string(),
            at: self.now_ms(),
        };
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "INSERT INTO assessment_points (county_code, id, year, subject_id, tenths, reason,
                 by_user, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                county_code.clone().into(),
                p.id.clone().into(),
                i64::from(year).into(),
                p.subject_id.clone().into(),
                p.tenths.into(),
                p.reason.clone().into(),
                scope.user_id.clone().into(),
                p.at.into(),
            ],
        )
        .await?;
        append(
            &mut tx,
            p.at,
            &AuditEvent::by(scope, "assessment.points", &p.id)
                .in_county(&county_code)
                .from_ip(ip)
                .detail(format!("{subject_id} {}", p.tenths)),
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Publishes a year's result to the county's units and townships (internally); the
    /// scheme and points are fixed from then on.
    pub async fn publish_assessment(
        &self,
        scope: &Scope,
        county: DivisionCode,
        year: i32,
        ip: &str,
    ) -> Result<(), StoreError> {
        self.check_committee(scope, Action::ManageCommittee, county)?;
        check_year(year)?;
        let county_code = county.county_code();
        let (scheme, published) = self.scheme_row(&county_code, year).await?;
        if published.is_some() {
            return Err(StoreError::Conflict {
                field: "year",
                code: "published",
                message: format!("{year} 年的考核结果已发布"),
            });
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "INSERT INTO assessment_schemes (county_code, year, scheme, updated_at, published_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (county_code, year) DO UPDATE SET published_at = $4, updated_at = $4",
            vec![
                county_code.clone().into(),
                i64::from(year).into(),
                serde_json::to_string(&scheme)
                    .expect("scheme serialises")
                    .into(),
                now.into(),
            ],
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "assessment.publish", format!("{county_code}:{year}"))
                .in_county(&county_code)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await
    }

    /// A year's assessment, ranked: the office's at any time, the units' and townships'
    /// once published.
    pub async fn assessment(
        &self,
        scope: &Scope,
        county: DivisionCode,
        year: i32,
    ) -> Result<Assessment, StoreError> {
        self.check_committee(scope, Action::ViewCommittee, county)?;
        check_year(year)?;
        let county_code = county.county_code();
        let (scheme, published_at) = self.scheme_row(&county_code, year).await?;
        if published_at.is_none() && scope.role != Role::Office && !scope.is_system() {
            return Err(StoreError::Conflict {
                field: "year",
                code: "not_published",
                message: format!("{year} 年的考核结果尚未发布"),
            });
        }
        let g = self.gather(&county_code, year).await?;
        let (_, year_end) = year_bounds(year)?;
        let now = self.now_ms().min(year_end);
        let mut results: Vec<Assessed> = g
            .subjects
            .iter()
            .map(|(id, subject, name)| {
                let manual: Vec<f64> = g
                    .points
                    .iter()
                    .filter(|p| &p.subject_id == id)
                    .map(|p| p.tenths as f64 / 10.0)
                    .collect();
                let facts = g.facts.get(id).cloned().unwrap_or_default();
                Assessed {
                    subject_id: id.clone(),
                    subject: *subject,
                    name: name.clone(),
                    scored: score(*subject, &facts, &scheme, &manual, now),
                    rank: 0,
                }
            })
            .collect();
        results.sort_by(|a, b| {
            b.scored
                .total
                .total_cmp(&a.scored.total)
                .then(a.name.cmp(&b.name))
        });
        // Equal totals share a rank (1, 2, 2, 4).
        let mut last: Option<(f64, usize)> = None;
        for (i, r) in results.iter_mut().enumerate() {
            r.rank = match last {
                Some((t, rank)) if t == r.scored.total => rank,
                _ => i + 1,
            };
            last = Some((r.scored.total, r.rank));
        }
        Ok(Assessment {
            year,
            scheme,
            published_at,
            results,
        })
    }

    /// One subject's result and what it counted.
    pub async fn assessment_drill(
        &self,
        scope: &Scope,
        county: DivisionCode,
        year: i32,
        subject_id: &str,
    ) -> Result<Drill, StoreError> {
        let a = self.assessment(scope, county, year).await?;
        let assessed = a
            .results
            .into_iter()
            .find(|r| r.subject_id == subject_id)
            .ok_or(StoreError::NotFound)?;
        let mut g = self.gather(&county.county_code(), year).await?;
        Ok(Drill {
            items: g.items.remove(subject_id).unwrap_or_default(),
            meetings: g
                .meetings
                .iter()
                .map(|(id, held_on, units)| {
                    (
                        id.clone(),
                        held_on.clone(),
                        units.iter().any(|u| u == subject_id),
                    )
                })
                .collect(),
            points: g
                .points
                .into_iter()
                .filter(|p| p.subject_id == subject_id)
                .collect(),
            assessed,
        })
    }

    /// The facts of every member unit and township of a county in a year.
    async fn gather(&self, county: &str, year: i32) -> Result<Gathered, StoreError> {
        let (start, end) = year_bounds(year)?;
        let county_code = DivisionCode::parse(county).map_err(|e| StoreError::Config(e.message))?;
        let mut c = self.read().await?;
        let units: Vec<(String, String, String, String)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT id, kind, name, division_code FROM units WHERE county_code = $1 AND active
             AND kind NOT IN ('office', 'agency') ORDER BY name LIMIT 1000"
        )
        .bind(county)
        .fetch_all(&mut *c)
        .await)?;
        let (lo, hi) = county_code.subtree_bounds();
        let divisions: Vec<(String, String)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT code, name FROM divisions WHERE code >= $1 AND code <= $2 ORDER BY code"
        )
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *c)
        .await)?;
        let work: Vec<WorkRow> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT id, kind, subject_kind, subject_id, title, owner_unit_id, due_at, done_at,
                    state, supervision, supervision_due_at
             FROM work_items WHERE county_code = $1 AND owner_unit_id IS NOT NULL
               AND created_at >= $2 AND created_at <= $3"
        )
        .bind(county)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *c)
        .await)?;
        let meetings: Vec<(String, String, String)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT id, held_on, attendees FROM joint_meetings
             WHERE county_code = $1 AND held_on >= $2 AND held_on <= $3 ORDER BY held_on"
        )
        .bind(county)
        .bind(format!("{year}-01-01"))
        .bind(format!("{year}-12-31"))
        .fetch_all(&mut *c)
        .await)?;
        let points: Vec<Points> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT id, subject_id, tenths, reason, at FROM assessment_points
             WHERE county_code = $1 AND year = $2 ORDER BY at"
        )
        .bind(county)
        .bind(i64::from(year))
        .fetch_all(&mut *c)
        .await)?;
        let training: Vec<(String, String, i64)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT p.id, p.division_code, CAST(COALESCE(SUM(t.tenths), 0) AS BIGINT)
             FROM network_people p LEFT JOIN network_trainings t
               ON t.county_code = p.county_code AND t.person_id = p.id
              AND t.held_on >= $2 AND t.held_on <= $3
             WHERE p.county_code = $1 AND p.left_on IS NULL
               AND p.post IN ('supervisor', 'director')
             GROUP BY p.id, p.division_code"
        )
        .bind(county)
        .bind(format!("{year}-01-01"))
        .bind(format!("{year}-12-31"))
        .fetch_all(&mut *c)
        .await)?;
        let visited: Vec<(String, i64)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT substr(ch.division_code, 1, 9), COUNT(*) FROM children ch
             WHERE ch.county_code = $1 AND ch.sensitive = FALSE AND EXISTS (
                 SELECT 1 FROM visits v WHERE v.county_code = ch.county_code
                   AND v.child_id = ch.id AND v.visited_at >= $2 AND v.visited_at <= $3)
             GROUP BY substr(ch.division_code, 1, 9)"
        )
        .bind(county)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *c)
        .await)?;
        drop(c);
        // The ledger's children and overdue visits by township, as the visit worklist
        // counts them (this year's only: a past year's children are not counted again).
        let progress = if year == self.clock.today().year() {
            self.visit_progress(&Scope::system(), county_code).await?
        } else {
            Vec::new()
        };

        let mut subjects: Vec<(String, Subject, String)> = Vec::new();
        let mut township_of_unit: HashMap<String, String> = HashMap::new();
        for (id, kind, name, division) in &units {
            if kind == "township" {
                township_of_unit.insert(
                    id.clone(),
                    format!("{:0<12}", &division[..9.min(division.len())]),
                );
            } else {
                subjects.push((id.clone(), Subject::Unit, name.clone()));
            }
        }
        for (code, name) in &divisions {
            if DivisionCode::parse(code).is_ok_and(|d| d.level() == Level::Township) {
                subjects.push((code.clone(), Subject::Township, name.clone()));
            }
        }
        // Work counts for its owner, a township unit's for its township.
        let subject_of = |owner: &str| {
            township_of_unit
                .get(owner)
                .cloned()
                .unwrap_or_else(|| owner.to_string())
        };
        let mut facts: HashMap<String, Facts> = HashMap::new();
        let mut items: HashMap<String, Vec<Counted>> = HashMap::new();
        for w in &work {
            let who = subject_of(&w.owner_unit_id);
            let done_at = if w.state == "done" { w.done_at } else { None };
            let f = facts.entry(who.clone()).or_default();
            let mut count = |indicator: &'static str, due_at: i64| {
                items.entry(who.clone()).or_default().push(Counted {
                    indicator,
                    work_id: w.id.clone(),
                    subject_kind: w.subject_kind.clone(),
                    subject_id: w.subject_id.clone(),
                    title: w.title.clone(),
                    due_at,
                    done_at,
                });
                Timed { due_at, done_at }
            };
            if let (Some(due), true) = (w.due_at, w.kind == "referral_reply") {
                f.replies.push(count("replies_on_time", due));
            }
            if let (Some(due), true) = (w.due_at, w.kind == "plan_task") {
                f.tasks.push(count("tasks_done", due));
            }
            if let (Some(due), true) = (w.supervision_due_at, w.supervision > 0) {
                f.supervised.push(count("supervised_on_time", due));
            }
        }
        let meetings: Vec<(String, String, Vec<String>)> = meetings
            .into_iter()
            .map(|(id, held_on, attendees)| {
                let units: Vec<String> = serde_json::from_str(&attendees).unwrap_or_default();
                (id, held_on, units)
            })
            .collect();
        for (id, subject, _) in &subjects {
            if *subject == Subject::Unit {
                let f = facts.entry(id.clone()).or_default();
                f.meetings_held = meetings.len() as u64;
                f.meetings_attended =
                    meetings.iter().filter(|(_, _, u)| u.contains(id)).count() as u64;
            }
        }
        for (_, division, tenths) in &training {
            let township = format!("{:0<12}", &division[..9.min(division.len())]);
            let f = facts.entry(township).or_default();
            f.people += 1;
            f.training_tenths.push((*tenths).max(0) as u64);
        }
        for p in &progress {
            let township = format!("{:0<12}", &p.division_code[..9.min(p.division_code.len())]);
            let f = facts.entry(township).or_default();
            f.children = p.children.max(0) as u64;
            f.overdue = p.overdue.max(0) as u64;
        }
        if !progress.is_empty() {
            for (prefix, n) in &visited {
                let f = facts.entry(format!("{prefix:0<12}")).or_default();
                f.visited = (*n).max(0) as u64;
            }
        }
        Ok(Gathered {
            subjects,
            facts,
            items,
            meetings,
            points,
        })
    }
}
