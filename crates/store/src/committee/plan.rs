//! The implementation plan as numbered tasks (seed 003: 24 tasks, each with a lead and
//! co-responsible units), the units' progress on them, and notices (通报) every unit
//! acknowledges.
//!
//! A task is a work item of its lead unit (WorkKind::PlanTask): it sits in the unit's
//! inbox with its deadline, the office supervises it (督办, 挂牌督办, 限时整改) through the
//! engine's supervision, and a late supervised task escalates to the office head like any
//! other. A notice is a work item (WorkKind::NoticeAck) for each unit, done when the unit
//! acknowledges it.

use chrono::NaiveDate;
use weibao_domain::access::{Action, Role, Scope};
use weibao_domain::committee::TaskText;
use weibao_domain::work::{calendar::end_of_day_ms, Deadline, UnitKind, WorkKind};
use weibao_domain::{DivisionCode, Invalid};

use super::date_text;
use crate::audit::{append, AuditEvent};
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::work::{add_work, exec, locate_in, new_id, notify, NewWork, WorkOwner};

/// A task of the plan, with its work item's supervision.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PlanTask {
    pub county_code: String,
    pub id: String,
    pub year: i64,
    pub number: String,
    pub title: String,
    pub detail: String,
    pub lead_unit_id: String,
    /// JSON list of unit ids, as stored; see [`PlanTask::co_units`].
    pub co_unit_ids: String,
    pub due_on: String,
    /// open, done
    pub state: String,
    pub meeting_id: Option<String>,
    pub work_id: String,
    pub created_at: i64,
    pub done_at: Option<i64>,
    /// The work item's: 0 none, 1 督办, 2 挂牌督办, 3 限时整改.
    pub supervision: i32,
    pub supervision_due_at: Option<i64>,
    pub supervision_note: String,
    pub escalated_at: Option<i64>,
    pub due_at: Option<i64>,
}

impl PlanTask {
    pub fn co_units(&self) -> Vec<String> {
        serde_json::from_str(&self.co_unit_ids).unwrap_or_default()
    }

    /// Open past its deadline or its supervision's.
    pub fn overdue(&self, now: i64) -> bool {
        self.state == "open"
            && (self.due_at.is_some_and(|d| d < now)
                || self.supervision_due_at.is_some_and(|d| d < now))
    }

    fn involves(&self, units: &[String]) -> bool {
        units.contains(&self.lead_unit_id) || self.co_units().iter().any(|u| units.contains(u))
    }
}

const TASK_SELECT: &str = "SELECT t.county_code, t.id, t.year, t.number, t.title, t.detail,
        t.lead_unit_id, t.co_unit_ids, t.due_on, t.state, t.meeting_id, t.work_id, t.created_at,
        t.done_at, COALESCE(w.supervision, 0) AS supervision, w.supervision_due_at,
        COALESCE(w.supervision_note, '') AS supervision_note, w.escalated_at, w.due_at
    FROM plan_tasks t LEFT JOIN work_items w ON w.county_code = t.county_code AND w.id = t.work_id";

/// A task to add.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub year: i32,
    pub number: String,
    pub title: String,
    pub detail: String,
    pub lead_unit_id: String,
    pub co_unit_ids: Vec<String>,
    pub due_on: NaiveDate,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub year: Option<i32>,
    /// open, done
    pub state: Option<String>,
    pub unit_id: Option<String>,
}

/// A unit's report on a task.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TaskProgress {
    pub id: String,
    pub unit_id: String,
    pub note: String,
    pub done: bool,
    pub by_user: String,
    pub at: i64,
}

/// A notice (通报) to every unit.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Notice {
    pub county_code: String,
    pub id: String,
    pub title: String,
    pub body: String,
    pub issued_by: String,
    pub issued_at: i64,
}

/// A unit a notice went to, and when it acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeUnit {
    pub unit_id: String,
    pub acknowledged_at: Option<i64>,
}

/// Most tasks in one year's plan.
const MAX_TASKS: i64 = 1000;

/// Adds a task in `tx`: its row, its locator, the lead unit's work item, word to the lead
/// and co-responsible units. Units are checked by the caller.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_task(
    tx: &mut Tx,
    county: &str,
    task: &NewTask,
    text: &TaskText,
    meeting_id: Option<&str>,
    created_by: &str,
    now: i64,
) -> Result<String, StoreError> {
    let id = new_id();
    let work_id = add_work(
        tx,
        &NewWork {
            county: county.to_string(),
            kind: WorkKind::PlanTask,
            subject_kind: "plan_task",
            subject_id: id.clone(),
            title: format!("任务 {}：{}", text.number, text.title),
            owner: WorkOwner::Unit(task.lead_unit_id.clone()),
            urgency: 0,
            due: Deadline {
                at_ms: end_of_day_ms(task.due_on),
                guessed_years: vec![],
            },
            sealed: false,
        },
        now,
    )
    .await?;
    let inserted = exec(
        tx,
        "INSERT INTO plan_tasks (county_code, id, year, number, title, detail, lead_unit_id,
             co_unit_ids, due_on, state, meeting_id, work_id, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12, $13)
         ON CONFLICT DO NOTHING",
        vec![
            county.into(),
            id.clone().into(),
            i64::from(task.year).into(),
            text.number.clone().into(),
            text.title.clone().into(),
            text.detail.clone().into(),
            task.lead_unit_id.clone().into(),
            serde_json::to_string(&task.co_unit_ids)
                .expect("ids serialise")
                .into(),
            date_text(task.due_on).into(),
            meeting_id.map(String::from).into(),
            work_id.into(),
            created_by.into(),
            now.into(),
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict {
            field: "number",
            code: "task_number_taken",
            message: format!(
                "{} 年的计划中已有序号为 {} 的任务，请换一个序号",
                task.year, text.number
            ),
        });
    }
    let mut s = Script::default();
    locate_in(&mut s, &id, county, "plan_task");
    let link = format!("/committee/tasks/{id}");
    notify(
        &mut s,
        county,
        Some(&task.lead_unit_id),
        None,
        &format!(
            "未保委交办任务 {}（牵头），请于 {} 前完成",
            text.number, task.due_on
        ),
        &link,
        now,
        None,
    );
    for co in &task.co_unit_ids {
        notify(
            &mut s,
            county,
            Some(co),
            None,
            &format!(
                "未保委交办任务 {}（配合），请与牵头单位协同推进",
                text.number
            ),
            &link,
            now,
            None,
        );
    }
    s.run(tx.conn()).await?;
    Ok(id)
}

impl Store {
    /// Checks a new task: its text, its year, its deadline and its units (all of the
    /// county's registry, co-responsible units distinct and not the lead).
    pub(super) async fn check_task(
        &self,
        county: DivisionCode,
        task: &mut NewTask,
    ) -> Result<TaskText, StoreError> {
        let text = TaskText::check(&task.number, &task.title, &task.detail)
            .map_err(|(f, e)| StoreError::invalid(f, e))?;
        if !(2000..=2100).contains(&task.year) {
            return Err(StoreError::invalid(
                "year",
                Invalid::new("year_range", "计划年度应为 4 位年份，如 2026"),
            ));
        }
        if task.due_on < self.clock().today() {
            return Err(StoreError::invalid(
                "due_on",
                Invalid::new("due_past", "完成期限不能早于今天"),
            ));
        }
        self.committee_unit(county, &task.lead_unit_id, "lead_unit_id")
            .await?;
        task.lead_unit_id = task.lead_unit_id.trim().to_string();
        let mut co: Vec<String> = Vec::new();
        if task.co_unit_ids.len() > 40 {
            return Err(StoreError::invalid(
                "co_unit_ids",
                Invalid::new("too_many", "配合单位最多 40 个"),
            ));
        }
        for u in &task.co_unit_ids {
            let unit = self.committee_unit(county, u, "co_unit_ids").await?;
            if unit.id != task.lead_unit_id && !co.contains(&unit.id) {
                co.push(unit.id);
            }
        }
        task.co_unit_ids = co;
        Ok(text)
    }

    /// Adds a task to the county's plan; it goes to the lead unit's inbox.
    pub async fn add_task(
        &self,
        scope: &Scope,
        county: DivisionCode,
        mut task: NewTask,
        ip: &str,
    ) -> Result<PlanTask, StoreError> {
        self.check_committee(scope, Action::ManageCommittee, county)?;
        let text = self.check_task(county, &mut task).await?;
        let now = self.now_ms();
        let county_code = county.county_code();
        let mut tx = self.begin().await?;
        let id = insert_task(
            &mut tx,
            &county_code,
            &task,
            &text,
            None,
            &scope.user_id,
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "committee.task_add", &id)
                .in_county(&county_code)
                .from_ip(ip)
                .detail(format!("{} {}", task.year, text.number)),
        )
        .await?;
        tx.commit().await?;
        Ok(self.plan_task(scope, &id).await?.0)
    }

    /// The units the caller acts for: a liaison's unit, a supervisor's township, an
    /// office's county office.
    pub async fn acting_units(&self, scope: &Scope) -> Result<Vec<String>, StoreError> {
        self.units_of(scope).await
    }

    /// The plan's tasks: the office sees all of its county's, a unit (or a township) those
    /// it leads or works on.
    pub async fn plan_tasks(
        &self,
        scope: &Scope,
        county: DivisionCode,
        filter: &TaskFilter,
    ) -> Result<Vec<PlanTask>, StoreError> {
        self.check_committee(scope, Action::ViewCommittee, county)?;
        let sql = format!(
            "{TASK_SELECT} WHERE t.county_code = $1 AND ($2 = 0 OR t.year = $2)
               AND ($3 = '' OR t.state = $3)
             ORDER BY t.year DESC, t.created_at LIMIT $4"
        );
        let mut rows: Vec<PlanTask> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(county.county_code())
                .bind(i64::from(filter.year.unwrap_or(0)))
                .bind(filter.state.clone().unwrap_or_default())
                .bind(MAX_TASKS)
                .fetch_all(&mut *c)
                .await)?
        };
        if scope.role != Role::Office && !scope.is_system() {
            let mine = self.acting_units(scope).await?;
            rows.retain(|t| t.involves(&mine));
        }
        if let Some(u) = &filter.unit_id {
            rows.retain(|t| t.involves(std::slice::from_ref(u)));
        }
        rows.sort_by(|a, b| {
            b.year
                .cmp(&a.year)
                .then(number_order(&a.number).cmp(&number_order(&b.number)))
        });
        Ok(rows)
    }

    /// A task and its progress reports, for the office of its county or a unit on it.
    pub async fn plan_task(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<(PlanTask, Vec<TaskProgress>), StoreError> {
        scope.check_role(Action::ViewCommittee)?;
        let county = self
            .locate_record(id, "plan_task")
            .await?
            .ok_or(StoreError::NotFound)?;
        let sql = format!("{TASK_SELECT} WHERE t.county_code = $1 AND t.id = $2");
        let (task, progress) = {
            let mut c = self.read().await?;
            let task: Option<PlanTask> = on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?;
            let progress: Vec<TaskProgress> = on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, unit_id, note, done, by_user, at FROM plan_progress
                 WHERE county_code = $1 AND task_id = $2 ORDER BY at LIMIT 500"
            )
            .bind(&county)
            .bind(id)
            .fetch_all(&mut *c)
            .await)?;
            (task, progress)
        };
        let task = task.ok_or(StoreError::NotFound)?;
        let county_code = DivisionCode::parse(&county).map_err(|_| StoreError::NotFound)?;
        let office =
            scope.is_system() || (scope.role == Role::Office && scope.reaches(county_code));
        if !office && !task.involves(&self.acting_units(scope).await?) {
            return Err(StoreError::NotFound);
        }
        Ok((task, progress))
    }

    /// The unit the caller acts for on `task`: the lead unit, else a co-responsible one of
    /// theirs, else (the office) their own; 404 for anyone else.
    pub(super) async fn unit_on_task(
        &self,
        scope: &Scope,
        task: &PlanTask,
    ) -> Result<String, StoreError> {
        let mine = self.acting_units(scope).await?;
        if mine.contains(&task.lead_unit_id) {
            Ok(task.lead_unit_id.clone())
        } else if let Some(u) = task.co_units().into_iter().find(|u| mine.contains(u)) {
            Ok(u)
        } else if scope.role == Role::Office {
            Ok(mine.first().cloned().unwrap_or_default())
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// A unit reports progress on a task; `done` (the lead unit or the office) closes it and
    /// its work item, supervision included.
    pub async fn report_progress(
        &self,
        scope: &Scope,
        task_id: &str,
        note: &str,
        done: bool,
        ip: &str,
    ) -> Result<(PlanTask, Vec<TaskProgress>), StoreError> {
        let (task, _) = self.plan_task(scope, task_id).await?;
        let sent = note.chars().count();
        let note = note.trim();
        if note.is_empty() || sent > 2000 {
            return Err(StoreError::invalid(
                "note",
                Invalid::new("note_required", "请写明进展情况（2000 字以内）"),
            ));
        }
        if task.state != "open" {
            return Err(StoreError::Conflict {
                field: "id",
                code: "task_done",
                message: "该任务已办结；如需补充，请联系未保办".into(),
            });
        }
        let office = scope.role == Role::Office;
        let unit_id = self.unit_on_task(scope, &task).await?;
        if done && !(office || unit_id == task.lead_unit_id) {
            return Err(StoreError::Conflict {
                field: "done",
                code: "lead_closes",
                message: "任务由牵头单位报告完成；配合单位请报告进展".into(),
            });
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "INSERT INTO plan_progress (county_code, id, task_id, unit_id, note, done, by_user, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                task.county_code.clone().into(),
                new_id().into(),
                task_id.into(),
                unit_id.clone().into(),
                note.into(),
                done.into(),
                scope.user_id.clone().into(),
                now.into(),
            ],
        )
        .await?;
        if done {
            exec(
                &mut tx,
                "UPDATE plan_tasks SET state = 'done', done_at = $3
                 WHERE county_code = $1 AND id = $2 AND state = 'open'",
                vec![task.county_code.clone().into(), task_id.into(), now.into()],
            )
            .await?;
            exec(
                &mut tx,
                "UPDATE work_items SET state = 'done', done_at = $3
                 WHERE county_code = $1 AND id = $2 AND state = 'open'",
                vec![
                    task.county_code.clone().into(),
                    task.work_id.clone().into(),
                    now.into(),
                ],
            )
            .await?;
            // The office hears of it (a supervised task above all).
            let county =
                DivisionCode::parse(&task.county_code).map_err(|_| StoreError::NotFound)?;
            let office_unit =
                crate::work::units::unit_for(&mut tx, county, UnitKind::Office, now).await?;
            let mut s = Script::default();
            notify(
                &mut s,
                &task.county_code,
                Some(&office_unit.id),
                None,
                &format!("任务 {} 已报告完成，请查看", task.number),
                &format!("/committee/tasks/{task_id}"),
                now,
                None,
            );
            s.run(tx.conn()).await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "committee.progress", task_id)
                .in_county(&task.county_code)
                .from_ip(ip)
                .detail(if done { "done" } else { "progress" }),
        )
        .await?;
        tx.commit().await?;
        self.plan_task(&Scope::system(), task_id).await
    }

    /// Issues a notice to every active unit of the county but the office itself and the
    /// agencies: each gets it in its inbox to acknowledge.
    pub async fn issue_notice(
        &self,
        scope: &Scope,
        county: DivisionCode,
        title: &str,
        body: &str,
        ip: &str,
    ) -> Result<Notice, StoreError> {
        self.check_committee(scope, Action::ManageCommittee, county)?;
        let title_sent = title.chars().count();
        let title = title.trim();
        if title.is_empty() || title_sent > 100 {
            return Err(StoreError::invalid(
                "title",
                Invalid::new("title_required", "请填写通报标题（100 字以内）"),
            ));
        }
        let body_sent = body.chars().count();
        let body = body.trim();
        if body.is_empty() || body_sent > 10_000 {
            return Err(StoreError::invalid(
                "body",
                Invalid::new("body_required", "请填写通报内容（10000 字以内）"),
            ));
        }
        let county_code = county.county_code();
        let units: Vec<(String,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id FROM units WHERE county_code = $1 AND active
                   AND kind NOT IN ('office', 'agency') ORDER BY kind, name LIMIT 500"
            )
            .bind(&county_code)
            .fetch_all(&mut *c)
            .await)?
        };
        if units.is_empty() {
            return Err(StoreError::Conflict {
                field: "county",
                code: "no_units",
                message: "本县的单位名录中还没有成员单位，请先在“单位名录”中登记".into(),
            });
        }
        let now = self.now_ms();
        let due = self
            .deadline_after(now, WorkKind::NoticeAck.default_span())
            .await?;
        let id = new_id();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "INSERT INTO notices (county_code, id, title, body, issued_by, issued_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                county_code.clone().into(),
                id.clone().into(),
                title.into(),
                body.into(),
                scope.user_id.clone().into(),
                now.into(),
            ],
        )
        .await?;
        let mut s = Script::default();
        locate_in(&mut s, &id, &county_code, "notice");
        s.run(tx.conn()).await?;
        for (unit,) in &units {
            add_work(
                &mut tx,
                &NewWork {
                    county: county_code.clone(),
                    kind: WorkKind::NoticeAck,
                    subject_kind: "notice",
                    subject_id: id.clone(),
                    title: format!("通报：{title}"),
                    owner: WorkOwner::Unit(unit.clone()),
                    urgency: 0,
                    due: due.clone(),
                    sealed: false,
                },
                now,
            )
            .await?;
            let mut s = Script::default();
            notify(
                &mut s,
                &county_code,
                Some(unit),
                None,
                &format!("未保委办公室发布通报“{title}”，请阅后签收"),
                &format!("/committee/notices/{id}"),
                now,
                None,
            );
            s.run(tx.conn()).await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "committee.notice", &id)
                .in_county(&county_code)
                .from_ip(ip)
                .detail(format!("{} 个单位", units.len())),
        )
        .await?;
        tx.commit().await?;
        Ok(Notice {
            county_code,
            id,
            title: title.to_string(),
            body: body.to_string(),
            issued_by: scope.user_id.clone(),
            issued_at: now,
        })
    }

    /// The county's notices, newest first, with how many units acknowledged each.
    pub async fn notices(
        &self,
        scope: &Scope,
        county: DivisionCode,
    ) -> Result<Vec<(Notice, i64, i64)>, StoreError> {
        self.check_committee(scope, Action::ViewCommittee, county)?;
        let mut c = self.read().await?;
        let notices: Vec<Notice> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT county_code, id, title, body, issued_by, issued_at FROM notices
             WHERE county_code = $1 ORDER BY issued_at DESC LIMIT 200"
        )
        .bind(county.county_code())
        .fetch_all(&mut *c)
        .await)?;
        let counts: Vec<(String, i64, i64)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT subject_id, COUNT(*), SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END)
             FROM work_items WHERE county_code = $1 AND kind = 'notice_ack'
             GROUP BY subject_id"
        )
        .bind(county.county_code())
        .fetch_all(&mut *c)
        .await)?;
        Ok(notices
            .into_iter()
            .map(|n| {
                let (total, acked) = counts
                    .iter()
                    .find(|(id, _, _)| *id == n.id)
                    .map(|(_, t, a)| (*t, *a))
                    .unwrap_or((0, 0));
                (n, total, acked)
            })
            .collect())
    }

    /// A notice and, unit by unit, whether it was acknowledged.
    pub async fn notice(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<(Notice, Vec<NoticeUnit>), StoreError> {
        scope.check_role(Action::ViewCommittee)?;
        let county = self
            .locate_record(id, "notice")
            .await?
            .ok_or(StoreError::NotFound)?;
        let county_code = DivisionCode::parse(&county).map_err(|_| StoreError::NotFound)?;
        self.check_committee(scope, Action::ViewCommittee, county_code)?;
        let mut c = self.read().await?;
        let notice: Notice = on!(c.conn(), |c| sqlx::query_as(
            "SELECT county_code, id, title, body, issued_by, issued_at FROM notices
             WHERE county_code = $1 AND id = $2"
        )
        .bind(&county)
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?
        .ok_or(StoreError::NotFound)?;
        let units: Vec<(String, String, Option<i64>)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT owner_unit_id, state, done_at FROM work_items
             WHERE county_code = $1 AND subject_id = $2 AND kind = 'notice_ack'
             ORDER BY owner_unit_id"
        )
        .bind(&county)
        .bind(id)
        .fetch_all(&mut *c)
        .await)?;
        Ok((
            notice,
            units
                .into_iter()
                .map(|(unit_id, state, done_at)| NoticeUnit {
                    unit_id,
                    acknowledged_at: (state == "done").then_some(done_at).flatten(),
                })
                .collect(),
        ))
    }

    /// The caller's unit acknowledges a notice.
    pub async fn acknowledge_notice(
        &self,
        scope: &Scope,
        id: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        let (notice, units) = self.notice(scope, id).await?;
        let mine = self.acting_units(scope).await?;
        let addressed: Vec<&NoticeUnit> =
            units.iter().filter(|u| mine.contains(&u.unit_id)).collect();
        if addressed.is_empty() {
            return Err(StoreError::Conflict {
                field: "id",
                code: "not_addressed",
                message: "这份通报不是发给本单位的，无需签收".into(),
            });
        }
        if addressed.iter().all(|u| u.acknowledged_at.is_some()) {
            return Err(StoreError::Conflict {
                field: "id",
                code: "acknowledged",
                message: "本单位已签收这份通报".into(),
            });
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        for u in addressed {
            exec(
                &mut tx,
                "UPDATE work_items SET state = 'done', done_at = $4
                 WHERE county_code = $1 AND subject_id = $2 AND owner_unit_id = $3
                   AND kind = 'notice_ack' AND state = 'open'",
                vec![
                    notice.county_code.clone().into(),
                    id.into(),
                    u.unit_id.clone().into(),
                    now.into(),
                ],
            )
            .await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "committee.notice_ack", id)
                .in_county(&notice.county_code)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await
    }
}

/// Orders "2" before "10" and "二-3" after them: numbers by value, then the rest as text.
fn number_order(n: &str) -> (u64, String) {
    (
        n.trim().parse::<u64>().unwrap_or(u64::MAX),
        n.trim().to_string(),
    )
}
