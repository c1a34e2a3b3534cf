//! Work items: everything someone must do by a date, in one table with its deadline in an
//! indexed column (computed once, by the domain's calendar and rules): the inbox, the
//! due-soon and overdue lists, supervision (督办) and its escalation, the daily digests.

use weibao_domain::access::{Action, Role, Scope};
use weibao_domain::work::{Calendar, Deadline, DeadlineRules, Span, UnitKind, WorkKind};
use weibao_domain::{DivisionCode, Invalid, Level};

use super::{exec, new_id, notify};
use crate::audit::{append, AuditEvent};
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::script::Script;

/// Whose work it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkOwner {
    Unit(String),
    User(String),
}

/// A work item to add.
#[derive(Debug, Clone)]
pub struct NewWork {
    pub county: String,
    pub kind: WorkKind,
    /// report, referral, case
    pub subject_kind: &'static str,
    pub subject_id: String,
    /// No personal data.
    pub title: String,
    pub owner: WorkOwner,
    pub urgency: i32,
    /// The deadline.
    pub due: Deadline,
    pub sealed: bool,
}

/// 督办 levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supervision {
    /// 督办
    Supervised = 1,
    /// 挂牌督办 (serious matters)
    Listed = 2,
    /// 限时整改 (an order to put something right by a date)
    Rectify = 3,
}

impl Supervision {
    pub fn parse(s: &str) -> Option<Supervision> {
        match s.trim() {
            "supervised" | "督办" => Some(Supervision::Supervised),
            "listed" | "挂牌督办" => Some(Supervision::Listed),
            "rectify" | "限时整改" => Some(Supervision::Rectify),
            _ => None,
        }
    }

    pub fn from_level(n: i32) -> Option<Supervision> {
        match n {
            1 => Some(Supervision::Supervised),
            2 => Some(Supervision::Listed),
            3 => Some(Supervision::Rectify),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Supervision::Supervised => "supervised",
            Supervision::Listed => "listed",
            Supervision::Rectify => "rectify",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Supervision::Supervised => "督办",
            Supervision::Listed => "挂牌督办",
            Supervision::Rectify => "限时整改",
        }
    }
}

/// A work item as listed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WorkItem {
    pub county_code: String,
    pub id: String,
    pub kind: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub title: String,
    pub owner_unit_id: Option<String>,
    pub owner_user_id: Option<String>,
    pub urgency: i32,
    pub due_at: Option<i64>,
    pub due_guessed: bool,
    pub state: String,
    pub supervision: i32,
    pub supervision_due_at: Option<i64>,
    pub supervision_note: String,
    pub escalated_at: Option<i64>,
    pub created_at: i64,
    pub done_at: Option<i64>,
}

pub(crate) const WORK_COLUMNS: &str = "county_code, id, kind, subject_kind, subject_id, title,
    owner_unit_id, owner_user_id, urgency, due_at, due_guessed, state, supervision,
    supervision_due_at, supervision_note, escalated_at, created_at, done_at";

impl WorkItem {
    pub fn work_kind(&self) -> Option<WorkKind> {
        WorkKind::parse(&self.kind)
    }

    /// Past its deadline (or its supervision's) at `now`.
    pub fn overdue(&self, now: i64) -> bool {
        self.state == "open"
            && (self.due_at.is_some_and(|d| d < now)
                || self.supervision_due_at.is_some_and(|d| d < now))
    }
}

/// Adds a work item in the transaction of the change that makes it.
pub(crate) async fn add_work(tx: &mut Tx, w: &NewWork, now: i64) -> Result<String, StoreError> {
    let mut s = Script::default();
    let id = add_work_to(&mut s, w, now);
    s.run(tx.conn()).await?;
    Ok(id)
}

/// Adds a work item's writes to a script of the change that makes it (sent with the
/// change's own writes in one round trip); returns its id.
pub(crate) fn add_work_to(s: &mut Script, w: &NewWork, now: i64) -> String {
    let id = new_id();
    let (unit, user) = match &w.owner {
        WorkOwner::Unit(u) => (Some(u.clone()), None),
        WorkOwner::User(u) => (None, Some(u.clone())),
    };
    s.push(
        "INSERT INTO work_items (county_code, id, kind, subject_kind, subject_id, title,
             owner_unit_id, owner_user_id, urgency, due_at, due_guessed, state, sealed, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $13)",
        vec![
            w.county.clone().into(),
            id.clone().into(),
            w.kind.as_str().into(),
            w.subject_kind.into(),
            w.subject_id.clone().into(),
            w.title.clone().into(),
            unit.into(),
            user.into(),
            i64::from(w.urgency).into(),
            w.due.at_ms.into(),
            (!w.due.guessed_years.is_empty()).into(),
            w.sealed.into(),
            now.into(),
        ],
    );
    super::locate_in(s, &id, &w.county, "work");
    id
}

/// Marks the open work items of `kinds` on a subject done.
pub(crate) async fn close_work(
    tx: &mut Tx,
    county: &str,
    subject_id: &str,
    kinds: &[WorkKind],
    now: i64,
) -> Result<(), StoreError> {
    for k in kinds {
        exec(
            tx,
            "UPDATE work_items SET state = 'done', done_at = $4
             WHERE county_code = $1 AND subject_id = $2 AND kind = $3 AND state = 'open'",
            vec![
                county.into(),
                subject_id.into(),
                k.as_str().into(),
                now.into(),
            ],
        )
        .await?;
    }
    Ok(())
}

impl Store {
    /// The deadline rules in force in a county (setting `deadline_rules`).
    pub(crate) async fn deadline_rules(&self, county: &str) -> Result<DeadlineRules, StoreError> {
        let at = DivisionCode::parse(county).ok();
        let value = self
            .setting_json(crate::settings::DEADLINE_RULES, at, self.clock.today())
            .await?;
        Ok(value
            .and_then(|v| DeadlineRules::parse(&v, &weibao_domain::reports::Channel::codes()).ok())
            .unwrap_or_default())
    }

    /// When work of `kind` started at `from_ms` falls due in `county`, for an item that
    /// came by `channel`.
    pub(crate) async fn due(
        &self,
        county: &str,
        kind: WorkKind,
        channel: Option<&str>,
        from_ms: i64,
    ) -> Result<Deadline, StoreError> {
        let span = self.deadline_rules(county).await?.span(kind, channel);
        Ok(self.calendar().await?.deadline(from_ms, span))
    }

    /// A deadline `span` after `from_ms` over the loaded calendar.
    pub async fn deadline_after(&self, from_ms: i64, span: Span) -> Result<Deadline, StoreError> {
        let cal: std::sync::Arc<Calendar> = self.calendar().await?;
        Ok(cal.deadline(from_ms, span))
    }

    /// The units the caller acts for: their own (a liaison, an institution), a supervisor's
    /// township, an office's county offices.
    pub(crate) async fn units_of(&self, scope: &Scope) -> Result<Vec<String>, StoreError> {
        let Some(home) = scope.home() else {
            return Ok(vec![]);
        };
        let (kind, prefix) = match scope.role {
            // A reporting institution's account belongs to a member unit's system (a school
            // to 教育) but never acts for that unit: it has its own reports only.
            Role::Unit => return Ok(scope.unit_id.iter().cloned().collect()),
            Role::Office if home.level() <= Level::County => (UnitKind::Office, home.prefix()),
            Role::Supervisor => (UnitKind::Township, home.prefix()),
            _ => return Ok(vec![]),
        };
        let mut c = self.read().await?;
        let rows: Vec<(String,)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT id FROM units WHERE kind = $1 AND division_code LIKE $2 AND active
             ORDER BY county_code LIMIT 500"
        )
        .bind(kind.code())
        .bind(format!("{prefix}%"))
        .fetch_all(&mut *c)
        .await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// What needs the caller's action, most urgent and soonest due first: items of their
    /// units and their own; closures to approve and late supervised items for the office
    /// head.
    pub async fn inbox(&self, scope: &Scope, limit: i64) -> Result<Vec<WorkItem>, StoreError> {
        scope.check_role(Action::ViewReports)?;
        let units = self.units_of(scope).await?;
        let mut out: Vec<WorkItem> = Vec::new();
        let mut c = self.read().await?;
        // Closures wait for the head alone. Each owner's first `limit` items are read off
        // its open-work index in this very order (urgency descending, then due), so a
        // unit with 100k open items costs a page, not a sort of all of them.
        let not_closures = if scope.head {
            ""
        } else {
            " AND kind <> 'closure_approval'"
        };
        let by_unit = format!(
            "SELECT {WORK_COLUMNS} FROM work_items WHERE owner_unit_id = $1 AND state = 'open'
             {not_closures} ORDER BY urgency DESC, due_at LIMIT $2"
        );
        for unit in &units {
            let rows: Vec<WorkItem> = on!(c.conn(), |c| sqlx::query_as(&by_unit)
                .bind(unit)
                .bind(limit)
                .fetch_all(&mut *c)
                .await)?;
            out.extend(rows);
        }
        let by_user = format!(
            "SELECT {WORK_COLUMNS} FROM work_items WHERE owner_user_id = $1 AND state = 'open'
             {not_closures} ORDER BY urgency DESC, due_at LIMIT $2"
        );
        let rows: Vec<WorkItem> = on!(c.conn(), |c| sqlx::query_as(&by_user)
            .bind(&scope.user_id)
            .bind(limit)
            .fetch_all(&mut *c)
            .await)?;
        out.extend(rows);
        if scope.head {
            if let Some(home) = scope.home() {
                // A county's head (the usual case) reads the index by its county; a head
                // above a county, every county under it.
                let (county_is, county) = if home.level() >= Level::County {
                    ("county_code = $1", home.county_code())
                } else {
                    ("county_code LIKE $1", format!("{}%", home.prefix()))
                };
                let late = format!(
                    "SELECT {WORK_COLUMNS} FROM work_items WHERE {county_is}
                       AND state = 'open' AND escalated_at IS NOT NULL
                     ORDER BY escalated_at LIMIT $2"
                );
                let rows: Vec<WorkItem> = on!(c.conn(), |c| sqlx::query_as(&late)
                    .bind(&county)
                    .bind(limit)
                    .fetch_all(&mut *c)
                    .await)?;
                for r in rows {
                    if !out.iter().any(|o| o.id == r.id) {
                        out.push(r);
                    }
                }
            }
        }
        out.sort_by(|a, b| {
            b.urgency.cmp(&a.urgency).then(
                a.due_at
                    .unwrap_or(i64::MAX)
                    .cmp(&b.due_at.unwrap_or(i64::MAX)),
            )
        });
        out.truncate(limit as usize);
        Ok(out)
    }

    /// A unit's open items falling due before `until` (its due-soon and overdue list).
    pub async fn unit_due(
        &self,
        scope: &Scope,
        unit_id: &str,
        until: i64,
        limit: i64,
    ) -> Result<Vec<WorkItem>, StoreError> {
        scope.check_role(Action::ViewReports)?;
        let mine = self.units_of(scope).await?;
        if !(mine.iter().any(|u| u == unit_id) || scope.role == Role::Office || scope.is_system()) {
            return Err(StoreError::NotFound);
        }
        let unit = self.unit(scope, unit_id).await?;
        let sql = format!(
            "SELECT {WORK_COLUMNS} FROM work_items WHERE owner_unit_id = $1 AND state = 'open'
               AND due_at <= $2 ORDER BY due_at LIMIT $3"
        );
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(&sql)
            .bind(&unit.id)
            .bind(until)
            .bind(limit)
            .fetch_all(&mut *c)
            .await)?)
    }

    /// A work item the caller may see (their unit's or their own, or the office's county).
    pub async fn work_item(&self, scope: &Scope, id: &str) -> Result<WorkItem, StoreError> {
        let county = self
            .locate_record(id, "work")
            .await?
            .ok_or(StoreError::NotFound)?;
        let sql =
            format!("SELECT {WORK_COLUMNS} FROM work_items WHERE county_code = $1 AND id = $2");
        let item: Option<WorkItem> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?
        };
        let item = item.ok_or(StoreError::NotFound)?;
        let county_code = DivisionCode::parse(&county).map_err(|_| StoreError::NotFound)?;
        let office = scope.role == Role::Office && scope.reaches(county_code);
        let owner = item.owner_user_id.as_deref() == Some(&scope.user_id)
            || item
                .owner_unit_id
                .as_ref()
                .is_some_and(|u| scope.unit_id.as_ref() == Some(u));
        let mine = owner
            || self
                .units_of(scope)
                .await?
                .iter()
                .any(|u| item.owner_unit_id.as_ref() == Some(u));
        if !(scope.is_system() || office || mine) {
            return Err(StoreError::NotFound);
        }
        Ok(item)
    }

    /// Puts an item under supervision (督办 or 挂牌督办) with its own deadline; the owner
    /// is told. A supervised item that runs late escalates to the office head.
    pub async fn supervise(
        &self,
        scope: &Scope,
        id: &str,
        level: Supervision,
        due_at: i64,
        note: &str,
        ip: &str,
    ) -> Result<WorkItem, StoreError> {
        scope.check_role(Action::TriageReports)?;
        let item = self.work_item(scope, id).await?;
        let county = DivisionCode::parse(&item.county_code).map_err(|_| StoreError::NotFound)?;
        scope.check(Action::TriageReports, county)?;
        if item.state != "open" {
            return Err(StoreError::Conflict {
                field: "id",
                code: "work_closed",
                message: "该事项已办结，不能再督办".into(),
            });
        }
        let now = self.now_ms();
        if due_at <= now {
            return Err(StoreError::invalid(
                "due_at",
                Invalid::new("due_past", "督办期限应晚于现在"),
            ));
        }
        // Counted as sent: the API document's maxLength says the same.

        let note_sent = note.chars().count();

        let note = note.trim();
        if note.is_empty() || note_sent > 500 {
            return Err(StoreError::invalid(
                "note",
                Invalid::new("note_required", "请写明督办要求（500 字以内）"),
            ));
        }
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "UPDATE work_items SET supervision = $3, supervision_due_at = $4, supervision_note = $5,
                 escalated_at = NULL WHERE county_code = $1 AND id = $2",
            vec![
                item.county_code.clone().into(),
                id.into(),
                i64::from(level as i32).into(),
                due_at.into(),
                note.into(),
            ],
        )
        .await?;
        let mut s = Script::default();
        notify(
            &mut s,
            &item.county_code,
            item.owner_unit_id.as_deref(),
            item.owner_user_id.as_deref(),
            &format!(
                "未保办对您的 1 项待办事项进行了{}，请按期办理",
                level.label()
            ),
            "/inbox",
            now,
            None,
        );
        s.run(tx.conn()).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "work.supervise", id)
                .in_county(&item.county_code)
                .from_ip(ip)
                .detail(format!("{} until {due_at}", level.code())),
        )
        .await?;
        tx.commit().await?;
        self.work_item(scope, id).await
    }

    /// Escalates every supervised item now past its supervision deadline (once each): it
    /// goes to the office head's inbox, the head is told. Returns how many.
    pub async fn escalate_late(&self) -> Result<usize, StoreError> {
        let now = self.now_ms();
        let late: Vec<(String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT county_code, id FROM work_items
                 WHERE state = 'open' AND supervision > 0 AND supervision_due_at < $1
                   AND escalated_at IS NULL LIMIT 500"
            )
            .bind(now)
            .fetch_all(&mut *c)
            .await)?
        };
        if late.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        for (county, id) in &late {
            exec(
                &mut tx,
                "UPDATE work_items SET escalated_at = $3 WHERE county_code = $1 AND id = $2",
                vec![county.clone().into(), id.clone().into(), now.into()],
            )
            .await?;
            let heads: Vec<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
                "SELECT id FROM users WHERE role = 'office' AND head AND division_code LIKE $1"
            )
            .bind(format!("{}%", county))
            .fetch_all(&mut *c)
            .await)?;
            let mut s = Script::default();
            for (head,) in heads {
                notify(
                    &mut s,
                    county,
                    None,
                    Some(&head),
                    "有 1 项督办事项已逾期，请主任关注",
                    "/inbox",
                    now,
                    None,
                );
            }
            s.run(tx.conn()).await?;
        }
        tx.commit().await?;
        Ok(late.len())
    }

    /// A daily digest per unit: what falls due before the end of `tomorrow_end_ms` and what
    /// is overdue, once a day (keyed by `day`). Returns how many units were told.
    pub async fn send_digests(&self, day: &str, tomorrow_end_ms: i64) -> Result<usize, StoreError> {
        let now = self.now_ms();
        let rows: Vec<(String, String, i64, i64)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT county_code, owner_unit_id,
                        SUM(CASE WHEN due_at < $1 THEN 1 ELSE 0 END),
                        SUM(CASE WHEN due_at >= $1 THEN 1 ELSE 0 END)
                 FROM work_items
                 WHERE state = 'open' AND owner_unit_id IS NOT NULL AND due_at <= $2
                 GROUP BY county_code, owner_unit_id"
            )
            .bind(now)
            .bind(tomorrow_end_ms)
            .fetch_all(&mut *c)
            .await)?
        };
        if rows.is_empty() {
            return Ok(0);
        }
        let mut s = Script::default();
        for (county, unit, overdue, soon) in &rows {
            notify(
                &mut s,
                county,
                Some(unit),
                None,
                &format!("每日提醒：本单位有 {overdue} 项待办已逾期，{soon} 项明天到期"),
                "/inbox",
                now,
                Some(&format!("digest:{unit}:{day}")),
            );
        }
        let mut tx = self.begin().await?;
        s.run(tx.conn()).await?;
        tx.commit().await?;
        Ok(rows.len())
    }
}
