//! Home visits (入户探访): the visit records, each child's schedule (next-due date), the QR
//! cards (爱心陪伴卡), photos, idempotent submission, worklists and alerts of danger.

use chrono::{DateTime, Duration, NaiveDate};
use serde::Serialize;
use sqlx::QueryBuilder;
use weibao_domain::access::{Action, Scope};
use weibao_domain::categories::{birth_cutoff, effective_categories};
use weibao_domain::child::{Category, CategorySet, Risk};
use weibao_domain::visit::{
    cst, DueReason, LastVisit, PolicyBook, ScheduleFacts, VisitContext, VisitInput, VisitPolicy,
    VisitRecord,
};
use weibao_domain::{DivisionCode, Invalid, Level};

use crate::audit::{append, append_after, append_to, lock_head_values, AuditEvent, LOCK_HEAD};
use crate::children::{invalid_field, StoredChild};
use crate::crypto::sm3_hex;
use crate::db::{Conn, Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::Total;

/// The setting key of the visit policy.
pub const VISIT_POLICY: &str = "visit_policy";
/// A visit's author may correct it for this long; later only a supervisor.
pub const CORRECTION_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// The largest photo accepted (phones resize before upload; this is for those that do not).
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;
/// Worklists show what is due within this many days (and everything overdue).
pub const DUE_HORIZON_DAYS: i64 = 7;

/// A visit as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredVisit {
    pub id: String,
    pub child_id: String,
    #[serde(skip)]
    pub county_code: String,
    pub division_code: String,
    pub author_id: String,
    pub author_name: String,
    pub record: VisitRecord,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl StoredVisit {
    /// Whether `scope` may correct this visit now, for a child living in `division`: its
    /// author within 24 hours, later the township's supervisor. (The store's
    /// [`Store::correct_visit`] and the pages' "更正" button both ask this.)
    pub fn correctable_by(&self, scope: &Scope, division: DivisionCode, now_ms: i64) -> bool {
        let may_review = scope.check(Action::ReviewVisits, division).is_ok();
        let own_in_time = scope.user_id == self.author_id
            && now_ms - self.created_at < CORRECTION_WINDOW_MS
            && scope.check(Action::RecordVisits, division).is_ok();
        may_review || own_in_time
    }
}

/// One earlier version of a visit.
#[derive(Debug, Clone, Serialize)]
pub struct VisitVersion {
    pub version: i64,
    pub at: i64,
    pub actor_name: String,
    pub record: VisitRecord,
}

/// A child on a worklist.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DueItem {
    pub child_id: String,
    pub name: String,
    pub division_code: String,
    pub due_date: NaiveDate,
    pub reason: String,
    pub risk: String,
    pub last_visit_on: Option<NaiveDate>,
    #[sqlx(skip)]
    pub overdue: bool,
    #[sqlx(skip)]
    pub days_overdue: i64,
}

impl DueItem {
    pub fn reason_label(&self) -> &'static str {
        DueReason::parse(&self.reason)
            .map(|r| r.label())
            .unwrap_or("定期探访")
    }
}

/// Visit progress of one division below the one asked about.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub division_code: String,
    pub name: String,
    /// Children in the active ledger.
    pub children: i64,
    pub overdue: i64,
    /// Due within the horizon (not yet overdue).
    pub due_soon: i64,
    /// Visits recorded in the last 30 days.
    pub visits_30d: i64,
}

impl Progress {
    /// 按期探访率: the share of children whose visit is not overdue, in per cent.
    pub fn on_time_percent(&self) -> f64 {
        if self.children == 0 {
            100.0
        } else {
            (self.children - self.overdue) as f64 * 100.0 / self.children as f64
        }
    }
}

/// What a child's card shows (never the ID number).
#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub child_id: String,
    pub token: String,
    pub child_name: String,
    pub village: String,
    pub director_name: Option<String>,
    pub director_phone: Option<String>,
}

/// An alert raised by a finding of danger.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Alert {
    pub id: String,
    pub child_id: String,
    pub division_code: String,
    pub visit_id: String,
    pub kind: String,
    pub summary: String,
    pub raised_at: i64,
    pub raised_by: String,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub resolution: String,
    #[sqlx(skip)]
    pub child_name: String,
}

/// A stored photo's bytes.
pub struct Photo {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct VisitRow {
    county_code: String,
    id: String,
    child_id: String,
    division_code: String,
    author_id: String,
    author_name: String,
    details: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

const VISIT_COLUMNS: &str = "county_code, id, child_id, division_code, author_id, author_name, \
     details, version, created_at, updated_at";

impl VisitRow {
    fn into_visit(self) -> Result<StoredVisit, StoreError> {
        let record = serde_json::from_str(&self.details)
            .map_err(|e| StoreError::Config(format!("探访记录 {} 的内容无法读取：{e}", self.id)))?;
        Ok(StoredVisit {
            id: self.id,
            child_id: self.child_id,
            county_code: self.county_code,
            division_code: self.division_code,
            author_id: self.author_id,
            author_name: self.author_name,
            record,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// 26 characters of base32 from 16 random bytes: what a card's QR code carries.
fn card_token() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut buf = [0u8; 17];
    getrandom::fill(&mut buf[..16]).expect("operating system random source");
    let mut out = String::with_capacity(26);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in buf {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 && out.len() < 26 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    out
}

/// The image type from the bytes themselves (the declared type is not trusted).
pub(crate) fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn ms_to_cst(ms: i64) -> DateTime<chrono::FixedOffset> {
    DateTime::from_timestamp_millis(ms)
        .expect("clock within range")
        .with_timezone(&cst())
}

pub(crate) fn cst_date_of_ms(ms: i64) -> NaiveDate {
    ms_to_cst(ms).date_naive()
}

/// The subtree condition: one county exactly (one shard on Citus) when the division lies
/// within a county, else a range of counties; then the division range.
fn push_subtree<'a, DB: sqlx::Database>(
    qb: &mut QueryBuilder<'a, DB>,
    within: DivisionCode,
    lo: &str,
    hi: &str,
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if within.level() >= Level::County {
        qb.push("county_code = ").push_bind(within.county_code());
    } else {
        qb.push("county_code >= ")
            .push_bind(lo[..6].to_string())
            .push(" AND county_code <= ")
            .push_bind(hi[..6].to_string());
    }
    if within.level() > Level::County {
        qb.push(" AND division_code >= ")
            .push_bind(lo.to_string())
            .push(" AND division_code <= ")
            .push_bind(hi.to_string());
    }
}

/// A worklist's conditions: the subtree, due by `horizon`, still a minor, and sensitive
/// records only for designated users.
fn push_due_filters<'a, DB: sqlx::Database>(
    qb: &mut QueryBuilder<'a, DB>,
    within: DivisionCode,
    due: &DueQuery,
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    NaiveDate: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let (lo, hi) = within.subtree_bounds();
    if within.level() == Level::Township {
        // Not a range on division_code: the database then walks the county's due-date
        // index in order and stops after a page, instead of sorting the whole township.
        qb.push("county_code = ")
            .push_bind(within.county_code())
            .push(" AND substr(division_code, 1, 9) = ")
            .push_bind(lo[..9].to_string());
    } else {
        push_subtree(qb, within, &lo, &hi);
    }
    qb.push(" AND due_on <= ").push_bind(due.horizon);
    qb.push(" AND birth_date > ").push_bind(due.cutoff);
    if !due.designated {
        qb.push(" AND sensitive = FALSE");
    }
}

/// A worklist's order: most urgent first ([`Store::due_across`] merges in the same).
const DUE_ORDER: &str = " ORDER BY due_on, division_code, name, id";

/// How far a city's or province's worklist pages: each page reads this many rows from
/// every county, so deeper pages belong to the county lists.
pub const REGION_DUE_ROWS: i64 = 2_000;

/// One walk of a worklist ([`Store::due_walk`]): its conditions, the rows wanted and how
/// far to count.
#[derive(Debug, Clone, Copy)]
struct DueQuery {
    horizon: NaiveDate,
    cutoff: NaiveDate,
    designated: bool,
    limit: i64,
    offset: i64,
    cap: i64,
}

/// Marks a worklist's overdue rows.
fn finish_due(mut items: Vec<DueItem>, today: NaiveDate) -> Vec<DueItem> {
    for i in &mut items {
        i.overdue = today > i.due_date;
        i.days_overdue = (today - i.due_date).num_days().max(0);
    }
    items
}

/// The division level directly below `code`'s (for progress tables).
fn child_prefix_len(code: DivisionCode) -> Option<usize> {
    match code.level() {
        Level::Province => Some(4),
        Level::City => Some(6),
        Level::County => Some(9),
        Level::Township => Some(12),
        Level::Village => None,
    }
}

/// What [`Store::write_visit`] writes: a checked visit and what it rests on.
struct VisitWrite {
    scope: Scope,
    child: StoredChild,
    record: VisitRecord,
    policy: VisitPolicy,
    id: String,
    now: i64,
    key: Option<String>,
    request_hash: String,
    ip: String,
}

impl Store {
    /// The writes of [`Store::record_visit`], on the writer ([`Store::on_writer`]). False:
    /// the idempotency key was already taken (nothing written).
    async fn write_visit(&self, w: &VisitWrite) -> Result<bool, StoreError> {
        let VisitWrite {
            scope,
            child,
            record,
            policy,
            id,
            now,
            key,
            request_hash,
            ip,
        } = w;
        let (child_id, county) = (child.id.as_str(), &child.county_code);
        let (now, idempotency_key) = (*now, key.as_deref());
        let division = child.record.division();
        // First round trip (one on SQLite, the savepoint in front): claim the idempotency
        // key, lock the audit chain's head, and read the head, the child's latest visit
        // and who holds the key.
        let mut tx = self.begin_deferred().await?;
        let mut first = Script::default();
        if let Some(key) = idempotency_key {
            first.push(
                "INSERT INTO idempotency_keys (county_code, user_id, key, request_hash, resource_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                vec![
                    county.as_str().into(),
                    scope.user_id.as_str().into(),
                    key.into(),
                    request_hash.as_str().into(),
                    id.as_str().into(),
                    now.into(),
                ],
            );
        }
        first.push(LOCK_HEAD, lock_head_values(county));
        first.push(
            "SELECT h.seq, h.hash, v.id, v.details, v.visited_at,
                    (SELECT k.resource_id FROM idempotency_keys k
                     WHERE k.county_code = $1 AND k.user_id = $3 AND k.key = $4)
             FROM audit_heads h LEFT JOIN (
                 SELECT id, details, visited_at FROM visits WHERE county_code = $1 AND child_id = $2
                 ORDER BY visited_at DESC, id DESC LIMIT 1
             ) v ON TRUE
             WHERE h.county_code = $1",
            vec![
                county.as_str().into(),
                child_id.into(),
                scope.user_id.as_str().into(),
                idempotency_key.unwrap_or("").into(),
            ],
        );
        type First = (
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let (seq, head_hash, prev_id, prev_details, prev_at, holder): First =
            first.fetch_last(&mut tx).await?;
        if idempotency_key.is_some() && holder.as_deref() != Some(id.as_str()) {
            // Another request with this key got there first (PostgreSQL waits for it
            // above; on SQLite it may sit in the same group commit): once that is
            // durable, the caller answers with its result.
            tx.commit().await?;
            return Ok(false);
        }
        let details = serde_json::to_string(&record).expect("visits serialise");
        // Whether this visit is now the child's latest (a back-dated one is not): the
        // newest on file before it, compared in the list's own order (time, then id).
        let at = record.visited_at.timestamp_millis();
        let prev = match (prev_id, prev_details, prev_at) {
            (Some(pid), Some(pdetails), Some(pat)) => {
                let last = last_visit_of(&pid, &pdetails)?;
                Some((pid, pat, last))
            }
            _ => None,
        };
        let is_latest = prev
            .as_ref()
            .is_none_or(|(pid, pat, _)| (at, id.as_str()) > (*pat, pid.as_str()));
        let last = match prev {
            Some((_, _, last)) if !is_latest => last,
            _ => LastVisit {
                on: record.visited_on(),
                danger: record.danger(),
                planned: record.next_visit,
            },
        };
        let mut risk = child.record.risk;
        let mut head = Some((seq, head_hash));
        if is_latest && record.risk_after != child.record.risk {
            // The risk change appends to the chain itself: the visit's entry follows it.
            self.change_risk(&mut tx, scope, child, record.risk_after, now)
                .await?;
            risk = record.risk_after;
            head = None;
        }
        // The writes, sent as one round trip (script.rs): the visit, its first version,
        // the schedule, the alert, the audit entry and the chain's new head.
        let mut script = Script::default();
        script.push(
            "INSERT INTO visits (county_code, id, child_id, division_code, author_id, author_name,
                 visited_at, method, danger, risk_after, details, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)",
            vec![
                county.as_str().into(),
                id.as_str().into(),
                child_id.into(),
                division.full().into(),
                scope.user_id.as_str().into(),
                scope.username.as_str().into(),
                at.into(),
                record.method.label().into(),
                record.danger().into(),
                record.risk_after.label().into(),
                details.as_str().into(),
                now.into(),
            ],
        );
        version_to(&mut script, county, id, 1, now, scope, &details);
        crate::stats::visits::count_to(&mut script, county.as_str(), cst_date_of_ms(at), 1);
        let facts = ScheduleFacts {
            categories: child.effective,
            risk,
            registered_on: cst_date_of_ms(child.created_at),
            last_visit: Some(last),
        };
        schedule_to(&mut script, county, &child.id, policy, &facts);
        if record.danger() {
            alert_to(&mut script, child, id, record, now, scope);
        }
        let event = AuditEvent::by(scope, "visit.create", id.as_str())
            .in_county(county.as_str())
            .from_ip(ip)
            .detail(format!("child={child_id}"));
        match head {
            Some(head) => append_after(&mut script, head, now, &event),
            None => append_to(&mut tx, &mut script, now, &event).await?,
        }
        script.run_and_commit(tx).await?;
        Ok(true)
    }
}

/// The visit policy book from the versions of [`VISIT_POLICY`] (settings.rs).
pub(crate) fn policy_book_of(versions: Vec<(NaiveDate, String)>) -> PolicyBook {
    PolicyBook::new(
        versions
            .iter()
            .filter_map(|(_, v)| serde_json::from_str::<VisitPolicy>(v).ok())
            .collect(),
    )
}

impl Store {
    /// The visit policy's versions in force at a division.
    pub async fn visit_policy(&self, at: Option<DivisionCode>) -> Result<PolicyBook, StoreError> {
        Ok(policy_book_of(
            self.setting_versions(VISIT_POLICY, at).await?,
        ))
    }

    fn now_cst(&self) -> DateTime<chrono::FixedOffset> {
        ms_to_cst(self.now_ms())
    }

    /// Records a visit. With an idempotency key, a repeat of the same request (also one
    /// racing the first) returns the first one's visit and `true`; the key with a different
    /// request is a conflict.
    pub async fn record_visit(
        &self,
        scope: &Scope,
        child_id: &str,
        input: VisitInput,
        idempotency_key: Option<&str>,
        ip: &str,
    ) -> Result<(StoredVisit, bool), StoreError> {
        let (child, policy) = self
            .child_with_policy(scope, child_id, Action::RecordVisits)
            .await?;
        let request_hash = sm3_hex(format!("{input:?}").as_bytes());
        if let Some(key) = idempotency_key {
            if key.is_empty() || key.len() > 100 || !key.is_ascii() {
                return Err(StoreError::invalid(
                    "Idempotency-Key",
                    Invalid::new(
                        "idempotency_key",
                        "Idempotency-Key 应为 1 到 100 个 ASCII 字符（如 UUID）",
                    ),
                ));
            }
        }
        let division = child.record.division();
        let today = self.clock.today();
        let policy = policy.on(today).clone();
        let ctx = VisitContext {
            now: self.now_cst(),
            left_behind: child.effective.contains(Category::RuralLeftBehind),
            risk: child.record.risk,
        };
        // A repeat of an accepted request is answered by the key's claim below (no read
        // here for every first submission); one that would now fail the checks (a date
        // grown too old, say) still gets its first answer.
        let checked = match input.apply(None, &ctx).map_err(invalid_field) {
            Ok(record) => self
                .check_photos(&child, &record.photos)
                .await
                .map(|()| record),
            Err(e) => Err(e),
        };
        let record = match (checked, idempotency_key) {
            (Ok(record), _) => record,
            (Err(e), None) => return Err(e),
            (Err(e), Some(key)) => {
                return match self
                    .replay(scope, &child.county_code, key, &request_hash)
                    .await?
                {
                    Some(found) => Ok((found, true)),
                    None => Err(e),
                }
            }
        };
        // Time-ordered (UUIDv7): each new visit lands at the end of the county's visits and
        // versions instead of on a random page of a table of millions.
        let id = uuid::Uuid::now_v7().to_string();
        let county = child.county_code.clone();
        let now = self.now_ms();
        let write = VisitWrite {
            scope: scope.clone(),
            child: child.clone(),
            record: record.clone(),
            policy,
            id: id.clone(),
            now,
            key: idempotency_key.map(str::to_string),
            request_hash: request_hash.clone(),
            ip: ip.to_string(),
        };
        let store = self.clone();
        let claimed = self
            .on_writer(async move { store.write_visit(&write).await })
            .await?;
        if let Some(key) = idempotency_key.filter(|_| !claimed) {
            // Another request with this key got there first (PostgreSQL waits for it;
            // on SQLite it may sit in the same group commit): now that it is durable,
            // answer with its result.
            return match self.replay(scope, &county, key, &request_hash).await? {
                Some(found) => Ok((found, true)),
                None => Err(StoreError::Conflict {
                    field: "Idempotency-Key",
                    code: "idempotency_in_flight",
                    message: "相同的提交正在处理，请稍后刷新查看".into(),
                }),
            };
        }
        self.child_changed(child_id);
        // What was just written, as a read would return it (one read fewer per visit).
        let visit = StoredVisit {
            id,
            child_id: child_id.to_string(),
            county_code: county,
            division_code: division.full(),
            author_id: scope.user_id.clone(),
            author_name: scope.username.clone(),
            record,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        Ok((visit, false))
    }

    /// The visit an idempotency key already produced, if any.
    async fn replay(
        &self,
        scope: &Scope,
        county: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Option<StoredVisit>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(String, String)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT request_hash, resource_id FROM idempotency_keys
             WHERE county_code = $1 AND user_id = $2 AND key = $3"
        )
        .bind(county)
        .bind(&scope.user_id)
        .bind(key)
        .fetch_optional(&mut *c)
        .await)?;
        drop(conn);
        let Some((hash, visit_id)) = row else {
            return Ok(None);
        };
        if hash != request_hash {
            return Err(StoreError::Conflict {
                field: "Idempotency-Key",
                code: "idempotency_key_reused",
                message: "这个 Idempotency-Key 已用于另一份不同的提交；新的提交请使用新的键".into(),
            });
        }
        let mut conn = self.read().await?;
        let child: Option<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT child_id FROM visits WHERE county_code = $1 AND id = $2"
        )
        .bind(county)
        .bind(&visit_id)
        .fetch_optional(&mut *c)
        .await)?;
        drop(conn);
        match child {
            Some((child_id,)) => Ok(Some(self.visit_in(county, &child_id, &visit_id).await?)),
            None => Ok(None),
        }
    }

    /// Every photo a visit names must have been uploaded for this child.
    async fn check_photos(&self, child: &StoredChild, photos: &[String]) -> Result<(), StoreError> {
        if photos.is_empty() {
            return Ok(());
        }
        let mut conn = self.read().await?;
        for p in photos {
            let found: Option<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
                "SELECT id FROM photos WHERE county_code = $1 AND child_id = $2 AND id = $3"
            )
            .bind(&child.county_code)
            .bind(&child.id)
            .bind(p)
            .fetch_optional(&mut *c)
            .await)?;
            if found.is_none() {
                return Err(StoreError::invalid(
                    "photos",
                    Invalid::new(
                        "photo_unknown",
                        format!("照片 {p} 不存在或不属于该儿童，请重新上传照片"),
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What a corrected visit changes: the child's risk (a new version of the record), the
    /// schedule, and an alert when it found danger.
    #[allow(clippy::too_many_arguments)]
    async fn after_visit(
        &self,
        tx: &mut Tx,
        scope: &Scope,
        child: &StoredChild,
        policy: &VisitPolicy,
        record: &VisitRecord,
        visit_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let county = child.county_code.as_str();
        let mut risk = child.record.risk;
        // A later visit already on file decides the child's current risk, not a back-dated one.
        let last = latest_visit(tx.conn(), county, &child.id).await?;
        let is_latest = last.as_ref().map(|(id, _, _)| id.as_str()) == Some(visit_id);
        if is_latest && record.risk_after != child.record.risk {
            self.change_risk(tx, scope, child, record.risk_after, now)
                .await?;
            risk = record.risk_after;
        }
        let facts = ScheduleFacts {
            categories: child.effective,
            risk,
            registered_on: cst_date_of_ms(child.created_at),
            last_visit: last.map(|(_, _, l)| l),
        };
        let mut script = Script::default();
        schedule_to(&mut script, county, &child.id, policy, &facts);
        if record.danger() {
            let open: Option<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
                "SELECT id FROM alerts WHERE county_code = $1 AND visit_id = $2"
            )
            .bind(county)
            .bind(visit_id)
            .fetch_optional(&mut *c)
            .await)?;
            if open.is_none() {
                alert_to(&mut script, child, visit_id, record, now, scope);
            }
        }
        script.run(tx.conn()).await?;
        Ok(())
    }

    /// A visit changed the child's risk: a new version of the record.
    async fn change_risk(
        &self,
        tx: &mut Tx,
        scope: &Scope,
        child: &StoredChild,
        risk: Risk,
        now: i64,
    ) -> Result<(), StoreError> {
        let keys = self.keys()?;
        let county = child.county_code.as_str();
        let mut updated = child.record.clone();
        updated.risk = risk;
        let changes = weibao_domain::record::diff(Some(&child.record), &updated);
        let version = child.version + 1;
        let n = crate::children::update_row(
            tx.conn(),
            &keys,
            county,
            &child.id,
            &updated,
            child.version,
            version,
            now,
        )
        .await?;
        if n == 0 {
            return Err(StoreError::Conflict {
                field: "version",
                code: "stale_version",
                message: "该儿童记录刚被他人修改，请重新提交".into(),
            });
        }
        crate::children::insert_version(
            tx.conn(),
            &keys,
            county,
            &child.id,
            version,
            now,
            scope,
            "visit",
            &changes,
        )
        .await
    }

    /// A visit by id, without a scope (callers have checked the child).
    async fn visit_in(
        &self,
        county: &str,
        child_id: &str,
        visit_id: &str,
    ) -> Result<StoredVisit, StoreError> {
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {VISIT_COLUMNS} FROM visits WHERE county_code = $1 AND child_id = $2 AND id = $3"
        );
        let row: Option<VisitRow> = on!(conn.conn(), |c| sqlx::query_as(&sql)
            .bind(county)
            .bind(child_id)
            .bind(visit_id)
            .fetch_optional(&mut *c)
            .await)?;
        row.ok_or(StoreError::NotFound)?.into_visit()
    }

    /// One visit of a child the caller may see.
    pub async fn visit(
        &self,
        scope: &Scope,
        child_id: &str,
        visit_id: &str,
    ) -> Result<StoredVisit, StoreError> {
        let child = self
            .child_by_id(scope, child_id, Action::ViewChildren)
            .await?;
        self.visit_in(&child.county_code, child_id, visit_id).await
    }

    /// A child's visits, newest first.
    pub async fn child_visits(
        &self,
        scope: &Scope,
        child_id: &str,
    ) -> Result<Vec<StoredVisit>, StoreError> {
        let child = self
            .child_by_id(scope, child_id, Action::ViewChildren)
            .await?;
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {VISIT_COLUMNS} FROM visits WHERE county_code = $1 AND child_id = $2
             ORDER BY visited_at DESC, id"
        );
        let rows: Vec<VisitRow> = on!(conn.conn(), |c| sqlx::query_as(&sql)
            .bind(&child.county_code)
            .bind(child_id)
            .fetch_all(&mut *c)
            .await)?;
        rows.into_iter().map(VisitRow::into_visit).collect()
    }

    /// A visit's earlier versions, newest first.
    pub async fn visit_versions(
        &self,
        scope: &Scope,
        child_id: &str,
        visit_id: &str,
    ) -> Result<Vec<VisitVersion>, StoreError> {
        let visit = self.visit(scope, child_id, visit_id).await?;
        let mut conn = self.read().await?;
        let rows: Vec<(i64, i64, String, String)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT version, at, actor_name, details FROM visit_versions
             WHERE county_code = $1 AND visit_id = $2 ORDER BY version DESC"
        )
        .bind(&visit.county_code)
        .bind(visit_id)
        .fetch_all(&mut *c)
        .await)?;
        rows.into_iter()
            .map(|(version, at, actor_name, details)| {
                Ok(VisitVersion {
                    version,
                    at,
                    actor_name,
                    record: serde_json::from_str(&details)
                        .map_err(|e| StoreError::Config(format!("探访记录版本无法读取：{e}")))?,
                })
            })
            .collect()
    }

    /// Corrects a visit: its author within 24 hours, later the township's supervisor.
    /// A new version; the old one stays readable.
    pub async fn correct_visit(
        &self,
        scope: &Scope,
        child_id: &str,
        visit_id: &str,
        input: VisitInput,
        expected_version: Option<i64>,
        ip: &str,
    ) -> Result<StoredVisit, StoreError> {
        // A role that records no visits corrects none (403, not the 24-hour rule's 409).
        scope.check_role(Action::RecordVisits)?;
        let child = self
            .child_by_id(scope, child_id, Action::ViewChildren)
            .await?;
        let visit = self
            .visit_in(&child.county_code, child_id, visit_id)
            .await?;
        let now = self.now_ms();
        if !visit.correctable_by(scope, child.record.division(), now) {
            return Err(StoreError::Conflict {
                field: "visit",
                code: "correction_closed",
                message: "探访记录提交 24 小时后只能由乡镇儿童督导员更正".into(),
            });
        }
        if let Some(v) = expected_version.filter(|v| *v != visit.version) {
            return Err(StoreError::Conflict {
                field: "version",
                code: "stale_version",
                message: format!(
                    "该探访记录已被修改（当前为第 {} 版，您编辑的是第 {v} 版），请刷新后重新更正",
                    visit.version
                ),
            });
        }
        let today = self.clock.today();
        let policy = self
            .visit_policy(Some(child.record.division()))
            .await?
            .on(today)
            .clone();
        // Corrections are judged against the visit's own day, not the correction's.
        let ctx = VisitContext {
            now: self.now_cst(),
            left_behind: child.effective.contains(Category::RuralLeftBehind),
            risk: visit.record.risk_after,
        };
        let record = input
            .apply(Some(&visit.record), &ctx)
            .map_err(invalid_field)?;
        if record == visit.record {
            return Ok(visit);
        }
        self.check_photos(&child, &record.photos).await?;
        let county = child.county_code.clone();
        let details = serde_json::to_string(&record).expect("visits serialise");
        let version = visit.version + 1;
        let mut tx = self.begin().await?;
        let n = on!(tx.conn(), |c| sqlx::query(
            "UPDATE visits SET visited_at = $4, method = $5, danger = $6, risk_after = $7,
                 details = $8, version = $9, updated_at = $10
             WHERE county_code = $1 AND id = $2 AND version = $3"
        )
        .bind(&county)
        .bind(visit_id)
        .bind(visit.version)
        .bind(record.visited_at.timestamp_millis())
        .bind(record.method.label())
        .bind(record.danger())
        .bind(record.risk_after.label())
        .bind(&details)
        .bind(version)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::Conflict {
                field: "version",
                code: "stale_version",
                message: "该探访记录刚被他人更正，请刷新后重新更正".into(),
            });
        }
        insert_visit_version(tx.conn(), &county, visit_id, version, now, scope, &details).await?;
        let (was, is) = (
            cst_date_of_ms(visit.record.visited_at.timestamp_millis()),
            cst_date_of_ms(record.visited_at.timestamp_millis()),
        );
        if was != is {
            let days = std::collections::BTreeMap::from([(was, -1), (is, 1)]);
            crate::stats::visits::count(tx.conn(), &county, &days).await?;
        }
        self.after_visit(&mut tx, scope, &child, &policy, &record, visit_id, now)
            .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "visit.correct", visit_id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("child={child_id} version={version}")),
        )
        .await?;
        tx.commit().await?;
        self.child_changed(child_id);
        self.visit_in(&county, child_id, visit_id).await
    }

    /// Children due within [`DUE_HORIZON_DAYS`] or overdue in a subtree, most urgent first.
    pub async fn due_list(
        &self,
        scope: &Scope,
        division: Option<DivisionCode>,
        page: i64,
        per_page: i64,
    ) -> Result<(Vec<DueItem>, Total), StoreError> {
        scope.check_role(Action::ViewChildren)?;
        let within = division.or(scope.home()).ok_or(StoreError::NotFound)?;
        scope.check(Action::ViewChildren, within)?;
        let today = self.clock.today();
        let adult = self.rule_book(Some(within)).await?.on(today).adult_age;
        let offset = (page - 1).max(0) * per_page;
        let due = DueQuery {
            horizon: today + Duration::days(DUE_HORIZON_DAYS),
            cutoff: birth_cutoff(adult, today),
            designated: scope.designated,
            limit: per_page,
            offset,
            cap: Total::cap_for(offset, per_page),
        };
        let (items, counted) = if within.level() < Level::County {
            if offset + per_page > REGION_DUE_ROWS {
                return Err(StoreError::Invalid {
                    field: "page",
                    invalid: Invalid::new(
                        "page_too_deep",
                        format!(
                            "市、省范围的工作清单只列出最紧急的前 {REGION_DUE_ROWS} 名，\
                             请选择一个县区查看其余儿童"
                        ),
                    ),
                });
            }
            self.due_across(within, due).await?
        } else {
            self.due_walk(within, due).await?
        };
        Ok((
            finish_due(items, today),
            Total::from_capped(counted, due.cap),
        ))
    }

    /// A city's or province's worklist. One query over the region would sort every due
    /// child of every county (14 s for 山东's million children); instead each county's
    /// rows up to the end of the page come from its own due-date index, side by side on
    /// the read pool, and are merged in the worklist's order. Counts add up by county,
    /// each stopping at the cap.
    async fn due_across(
        &self,
        within: DivisionCode,
        due: DueQuery,
    ) -> Result<(Vec<DueItem>, i64), StoreError> {
        let (lo, hi) = within.subtree_bounds();
        let each = DueQuery {
            limit: due.offset + due.limit,
            offset: 0,
            ..due
        };
        let mut tasks = tokio::task::JoinSet::new();
        for county in self.county_prefixes(&lo, &hi).await? {
            let store = self.clone();
            tasks.spawn(async move {
                let county = DivisionCode::parse(&county).map_err(|e| {
                    StoreError::Config(format!("区划代码 {county} 无法读取：{}", e.message))
                })?;
                store.due_walk(county, each).await
            });
        }
        let mut items = Vec::new();
        let mut counted = 0;
        while let Some(done) = tasks.join_next().await {
            let (found, n) =
                done.map_err(|e| StoreError::Config(format!("工作清单任务失败：{e}")))??;
            items.extend(found);
            counted += n;
        }
        // DUE_ORDER's order.
        items.sort_by(|a, b| {
            (a.due_date, &a.division_code, &a.name, &a.child_id).cmp(&(
                b.due_date,
                &b.division_code,
                &b.name,
                &b.child_id,
            ))
        });
        let page = items
            .into_iter()
            .skip(due.offset as usize)
            .take(due.limit as usize)
            .collect();
        Ok((page, counted))
    }

    /// One walk of a worklist's index: `due.limit` rows from `due.offset`, most urgent
    /// first, and how many are due (counted to `due.cap + 1`).
    async fn due_walk(
        &self,
        within: DivisionCode,
        due: DueQuery,
    ) -> Result<(Vec<DueItem>, i64), StoreError> {
        let mut conn = self.read().await?;
        let counted: i64 = on!(conn.conn(), |c| {
            let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM children WHERE ");
            push_due_filters(&mut qb, within, &due);
            qb.push(" LIMIT ").push_bind(due.cap + 1).push(") capped");
            qb.build_query_scalar().fetch_one(&mut *c).await
        })?;
        if counted <= due.offset {
            return Ok((Vec::new(), counted));
        }
        let items: Vec<DueItem> = on!(conn.conn(), |c| {
            let mut qb = QueryBuilder::new(
                "SELECT id AS child_id, name, division_code, due_on AS due_date,
                     due_reason AS reason, risk, last_visit_on FROM children WHERE ",
            );
            push_due_filters(&mut qb, within, &due);
            qb.push(DUE_ORDER)
                .push(" LIMIT ")
                .push_bind(due.limit)
                .push(" OFFSET ")
                .push_bind(due.offset);
            qb.build_query_as().fetch_all(&mut *c).await
        })?;
        Ok((items, counted))
    }

    /// Visit progress of each division directly below `division` (villages of a township,
    /// townships of a county, ...).
    pub async fn visit_progress(
        &self,
        scope: &Scope,
        division: DivisionCode,
    ) -> Result<Vec<Progress>, StoreError> {
        scope.check(Action::ViewChildren, division)?;
        let Some(len) = child_prefix_len(division) else {
            return Ok(Vec::new());
        };
        let today = self.clock.today();
        let horizon = today + Duration::days(DUE_HORIZON_DAYS);
        let adult = self.rule_book(Some(division)).await?.on(today).adult_age;
        let cutoff = birth_cutoff(adult, today);
        let (lo, hi) = division.subtree_bounds();
        let month_ago = self.now_ms() - 30 * 24 * 3600 * 1000;
        let rows = if division.level() < Level::County {
            // A city or province: one query per county, run side by side on the read pool
            // (each walks one county's index range; the counts add up by prefix).
            let counties = self.county_prefixes(&lo, &hi).await?;
            let mut tasks = tokio::task::JoinSet::new();
            for county in counties {
                let store = self.clone();
                let designated = scope.designated;
                tasks.spawn(async move {
                    store
                        .count_due(&county, None, None, today, horizon, cutoff, designated)
                        .await
                });
            }
            let mut sums: std::collections::BTreeMap<String, (i64, i64, i64)> = Default::default();
            while let Some(done) = tasks.join_next().await {
                let found =
                    done.map_err(|e| StoreError::Config(format!("统计任务失败：{e}")))??;
                for (county, n, overdue, soon) in found {
                    let e = sums.entry(county[..len].to_string()).or_default();
                    e.0 += n;
                    e.1 += overdue;
                    e.2 += soon;
                }
            }
            sums.into_iter()
                .map(|(d, (n, o, s))| (d, n, o, s))
                .collect::<Vec<_>>()
        } else {
            self.count_due(
                &division.county_code(),
                Some(len),
                (division.level() > Level::County).then_some((lo.as_str(), hi.as_str())),
                today,
                horizon,
                cutoff,
                scope.designated,
            )
            .await?
        };
        let mut conn = self.read().await?;
        let visits: Vec<(String, i64)> = if division.level() < Level::County {
            // A city or province: the visits per county and day kept with every visit
            // (a few thousand rows), not the region's last month of visits (420,000 rows
            // for 山东's million children). Whole days: the 30 days ending today.
            on!(conn.conn(), |c| sqlx::query_as(&format!(
                "SELECT substr(county_code, 1, {len}) AS d, CAST(SUM(n) AS BIGINT)
                 FROM visit_days WHERE county_code BETWEEN $1 AND $2 AND day > $3
                 GROUP BY d"
            ))
            .bind(&lo[..6])
            .bind(&hi[..6])
            .bind(today - Duration::days(30))
            .fetch_all(&mut *c)
            .await)?
        } else {
            on!(conn.conn(), |c| {
                let mut qb = QueryBuilder::new(format!(
                    "SELECT substr(division_code, 1, {len}) AS d, COUNT(*) FROM visits WHERE "
                ));
                push_subtree(&mut qb, division, &lo, &hi);
                qb.push(" AND visited_at >= ").push_bind(month_ago);
                qb.push(" GROUP BY d");
                qb.build_query_as().fetch_all(&mut *c).await
            })?
        };
        let names: Vec<(String, String)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT code, name FROM divisions WHERE parent_code = $1 ORDER BY code"
        )
        .bind(division.full())
        .fetch_all(&mut *c)
        .await)?;
        let pad = |p: &str| format!("{p:0<12}");
        let mut out: Vec<Progress> = names
            .into_iter()
            .map(|(code, name)| Progress {
                division_code: code,
                name,
                children: 0,
                overdue: 0,
                due_soon: 0,
                visits_30d: 0,
            })
            .collect();
        for (d, n, overdue, soon) in rows {
            let code = pad(&d);
            match out.iter_mut().find(|p| p.division_code == code) {
                Some(p) => {
                    p.children = n;
                    p.overdue = overdue;
                    p.due_soon = soon;
                }
                None => out.push(Progress {
                    name: code.clone(),
                    division_code: code,
                    children: n,
                    overdue,
                    due_soon: soon,
                    visits_30d: 0,
                }),
            }
        }
        for (d, n) in visits {
            let code = pad(&d);
            if let Some(p) = out.iter_mut().find(|p| p.division_code == code) {
                p.visits_30d = n;
            }
        }
        Ok(out)
    }

    /// Overdue and due-soon children of one village (the progress table's row for it).
    pub(crate) async fn village_due(
        &self,
        scope: &Scope,
        village: DivisionCode,
    ) -> Result<(i64, i64), StoreError> {
        scope.check(Action::ViewChildren, village)?;
        let today = self.clock.today();
        let horizon = today + Duration::days(DUE_HORIZON_DAYS);
        let adult = self.rule_book(Some(village)).await?.on(today).adult_age;
        let (lo, hi) = village.subtree_bounds();
        let rows = self
            .count_due(
                &village.county_code(),
                Some(12),
                Some((lo.as_str(), hi.as_str())),
                today,
                horizon,
                birth_cutoff(adult, today),
                scope.designated,
            )
            .await?;
        Ok(rows
            .into_iter()
            .fold((0, 0), |(o, s), (_, _, overdue, soon)| {
                (o + overdue, s + soon)
            }))
    }

    /// The 6-digit county prefixes under a range of division codes (from the townships, so
    /// that cities without counties, such as 东莞, count too).
    pub(crate) async fn county_prefixes(
        &self,
        lo: &str,
        hi: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.read().await?;
        let rows: Vec<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT DISTINCT substr(code, 1, 6) FROM divisions
             WHERE code >= $1 AND code <= $2 AND level = 4"
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut *c)
        .await)?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    /// Children, overdue and due soon in one county (or the part of it between `range`),
    /// grouped by the first `key_len` digits of the division code (None: the county).
    #[allow(clippy::too_many_arguments)]
    async fn count_due(
        &self,
        county: &str,
        key_len: Option<usize>,
        range: Option<(&str, &str)>,
        today: NaiveDate,
        horizon: NaiveDate,
        cutoff: NaiveDate,
        designated: bool,
    ) -> Result<Vec<(String, i64, i64, i64)>, StoreError> {
        let mut conn = self.read().await?;
        Ok(on!(conn.conn(), |c| {
            let key = match key_len {
                Some(len) => format!("substr(division_code, 1, {len})"),
                None => "county_code".to_string(),
            };
            let mut qb = QueryBuilder::new(format!(
                "SELECT {key} AS d, COUNT(*), SUM(CASE WHEN due_on < "
            ));
            qb.push_bind(today)
                .push(" THEN 1 ELSE 0 END), SUM(CASE WHEN due_on >= ")
                .push_bind(today)
                .push(" AND due_on <= ")
                .push_bind(horizon)
                .push(" THEN 1 ELSE 0 END) FROM children WHERE county_code = ")
                .push_bind(county.to_string());
            if let Some((lo, hi)) = range {
                qb.push(" AND division_code >= ")
                    .push_bind(lo.to_string())
                    .push(" AND division_code <= ")
                    .push_bind(hi.to_string());
            }
            qb.push(" AND birth_date > ").push_bind(cutoff);
            if !designated {
                qb.push(" AND sensitive = FALSE");
            }
            qb.push(" GROUP BY d");
            qb.build_query_as().fetch_all(&mut *c).await
        })?)
    }

    /// Recomputes every schedule under `under` (after the policy changed). Returns how many
    /// children's due dates moved.
    pub async fn reschedule(
        &self,
        scope: &Scope,
        under: Option<DivisionCode>,
    ) -> Result<u64, StoreError> {
        self.reschedule_all(scope, under, None).await
    }

    /// For synthetic ledgers (`weibao gen`, benchmarks): gives every child under `under` a
    /// made-up last visit (four in five visited within 120 days, one in twenty of those with
    /// danger) and the schedule the policy derives from it; with `history`, also the visit
    /// records behind it: that last visit and the ones before it, every 40 to 70 days back
    /// over two years (about ten a child on average). Returns (schedules, visits written).
    pub async fn synthesize_schedules(
        &self,
        scope: &Scope,
        under: DivisionCode,
        seed: u64,
        history: bool,
        progress: impl FnMut(u64, u64),
    ) -> Result<(u64, u64), StoreError> {
        let mut visits = history.then(|| SyntheticVisits {
            rows: Vec::new(),
            written: 0,
        });
        let moved = self
            .reschedule_all_with(scope, Some(under), Some(seed), visits.as_mut(), progress)
            .await?;
        if visits.is_some() {
            // The synthetic histories went in as bulk inserts that skip repeats: recount.
            let (lo, hi) = under.subtree_bounds();
            for county in self.county_prefixes(&lo, &hi).await? {
                self.rebuild_visit_days(&county).await?;
            }
        }
        Ok((moved, visits.map_or(0, |v| v.written)))
    }

    async fn reschedule_all(
        &self,
        scope: &Scope,
        under: Option<DivisionCode>,
        synthetic: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.reschedule_all_with(scope, under, synthetic, None, |_, _| {})
            .await
    }

    async fn reschedule_all_with(
        &self,
        scope: &Scope,
        under: Option<DivisionCode>,
        synthetic: Option<u64>,
        mut history: Option<&mut SyntheticVisits>,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, StoreError> {
        if !scope.is_system() {
            return Err(StoreError::Forbidden);
        }
        let (lo, hi) = match under {
            Some(d) => d.subtree_bounds(),
            None => ("000000000000".to_string(), "999999999999".to_string()),
        };
        type Row = (
            String,
            String,
            String,
            i64,
            NaiveDate,
            String,
            i64,
            Option<NaiveDate>,
            bool,
            Option<NaiveDate>,
            NaiveDate,
        );
        let today = self.clock.today();
        // County by county, each walked along its primary key.
        let counties: Vec<String> = match under {
            Some(d) if d.level() >= Level::County => vec![d.county_code()],
            _ => {
                let mut conn = self.read().await?;
                let rows: Vec<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
                    "SELECT DISTINCT county_code FROM children
                     WHERE county_code >= $1 AND county_code <= $2 ORDER BY county_code"
                )
                .bind(&lo[..6])
                .bind(&hi[..6])
                .fetch_all(&mut *c)
                .await)?;
                rows.into_iter().map(|(c,)| c).collect()
            }
        };
        let mut county_index = 0;
        let mut after = String::new();
        let mut moved = 0;
        let mut books: std::collections::HashMap<
            String,
            (VisitPolicy, weibao_domain::categories::RuleParams),
        > = Default::default();
        // Few large transactions: each touches scattered rows, and a commit per thousand
        // rows would rewrite the same pages again and again.
        let mut tx = self.begin().await?;
        let mut batches = 0;
        while county_index < counties.len() {
            let county_code = &counties[county_index];
            let mut conn = self.read().await?;
            let rows: Vec<Row> = on!(conn.conn(), |c| {
                sqlx::query_as(
                    "SELECT county_code, id, division_code, category_bits, birth_date, risk,
                         created_at, last_visit_on, last_visit_danger, planned_on, due_on
                     FROM children WHERE county_code = $1 AND id > $2
                     ORDER BY id LIMIT 1000",
                )
                .bind(county_code)
                .bind(&after)
                .fetch_all(&mut *c)
                .await
            })?;
            drop(conn);
            let Some(last) = rows.last() else {
                county_index += 1;
                after.clear();
                continue;
            };
            after = last.1.clone();
            // A township or village: the county's other rows are skipped here (a division
            // condition in the query would make the database sort the county each time).
            let rows = rows
                .into_iter()
                .filter(|r| r.2.as_str() >= lo.as_str() && r.2.as_str() <= hi.as_str());
            for (county, id, division, bits, birth, risk, created, last_on, danger, planned, due) in
                rows
            {
                if !books.contains_key(&county) {
                    let at = DivisionCode::parse(&division).ok();
                    let policy = self.visit_policy(at).await?.on(today).clone();
                    let params = self.rule_book(at).await?.on(today).clone();
                    books.insert(county.clone(), (policy, params));
                }
                let (policy, params) = &books[&county];
                let last_visit = match synthetic {
                    None => last_on.map(|on| LastVisit {
                        on,
                        danger,
                        planned,
                    }),
                    // `is_multiple_of` needs Rust 1.87; the workspace supports 1.85.
                    #[allow(clippy::manual_is_multiple_of)]
                    Some(seed) => {
                        let h = u64::from_str_radix(
                            &sm3_hex(format!("{seed}:{id}").as_bytes())[..15],
                            16,
                        )
                        .unwrap_or(0);
                        (h % 5 != 0).then(|| LastVisit {
                            on: today - Duration::days(((h >> 8) % 120) as i64),
                            danger: (h >> 16) % 20 == 0,
                            planned: None,
                        })
                    }
                };
                let facts = ScheduleFacts {
                    categories: effective_categories(
                        CategorySet::from_bits(bits as u32),
                        birth,
                        params,
                        today,
                    ),
                    risk: Risk::parse_label(&risk).unwrap_or(Risk::Low),
                    registered_on: cst_date_of_ms(created),
                    last_visit,
                };
                if let (Some(h), Some(seed), Some(last)) =
                    (history.as_deref_mut(), synthetic, facts.last_visit)
                {
                    let left_behind = facts.categories.contains(Category::RuralLeftBehind);
                    h.add(
                        seed,
                        &county,
                        &id,
                        &division,
                        last,
                        left_behind,
                        facts.risk,
                        today,
                    );
                    if h.rows.len() >= SyntheticVisits::BATCH {
                        h.flush(&mut tx, scope, self.now_ms()).await?;
                    }
                }
                if synthetic.is_some() || policy.due(&facts).on != due {
                    write_schedule(tx.conn(), &county, &id, policy, &facts).await?;
                    moved += 1;
                }
            }
            progress(moved, history.as_ref().map_or(0, |h| h.written));
            batches += 1;
            // Visit histories are ten rows a child: commit more often, so that SQLite's WAL
            // (which every page read searches) stays small and is checkpointed as it goes.
            let every = if history.is_some() { 4 } else { 50 };
            if batches % every == 0 {
                tx.commit().await?;
                tx = self.begin().await?;
            }
        }
        if let Some(h) = history {
            h.flush(&mut tx, scope, self.now_ms()).await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// Recomputes one child's schedule after its record changed (categories, risk).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn reschedule_child(
        &self,
        tx: &mut Tx,
        county: &str,
        child_id: &str,
        division: DivisionCode,
        categories: CategorySet,
        risk: Risk,
        created_at: i64,
    ) -> Result<(), StoreError> {
        let policy = self
            .visit_policy(Some(division))
            .await?
            .on(self.clock.today())
            .clone();
        let last = latest_visit(tx.conn(), county, child_id).await?;
        let facts = ScheduleFacts {
            categories,
            risk,
            registered_on: cst_date_of_ms(created_at),
            last_visit: last.map(|(_, _, l)| l),
        };
        write_schedule(tx.conn(), county, child_id, &policy, &facts).await
    }

    /// The child's card, issuing the first one when none exists yet.
    pub async fn card(&self, scope: &Scope, child_id: &str, ip: &str) -> Result<Card, StoreError> {
        let child = self
            .child_by_id(scope, child_id, Action::RecordVisits)
            .await?;
        let mut cards = self.cards_of(scope, &[child], ip).await?;
        Ok(cards.remove(0))
    }

    /// The cards of every child in a village or township (for printing), issuing missing
    /// ones in one transaction.
    pub async fn cards_within(
        &self,
        scope: &Scope,
        division: DivisionCode,
        ip: &str,
    ) -> Result<Vec<Card>, StoreError> {
        scope.check(Action::RecordVisits, division)?;
        if division.level() < Level::Township {
            return Err(StoreError::invalid(
                "division",
                Invalid::new(
                    "division_too_wide",
                    "一次只能打印一个乡镇（街道）或村（居）的陪伴卡，请选择乡镇或村",
                ),
            ));
        }
        let ids = self.active_children_within(scope, division).await?;
        let mut children = Vec::with_capacity(ids.len());
        for id in ids {
            match self.child_by_id(scope, &id, Action::RecordVisits).await {
                Ok(c) if c.active => children.push(c),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        if children.is_empty() {
            return Ok(Vec::new());
        }
        self.cards_of(scope, &children, ip).await
    }

    async fn active_children_within(
        &self,
        scope: &Scope,
        division: DivisionCode,
    ) -> Result<Vec<String>, StoreError> {
        let (lo, hi) = division.subtree_bounds();
        let mut conn = self.read().await?;
        let rows: Vec<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT id FROM children WHERE county_code = $1 AND division_code >= $2
               AND division_code <= $3 AND (sensitive = $4 OR sensitive = FALSE)
             ORDER BY division_code, name, id"
        )
        .bind(division.county_code())
        .bind(&lo)
        .bind(&hi)
        .bind(scope.designated)
        .fetch_all(&mut *c)
        .await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn cards_of(
        &self,
        scope: &Scope,
        children: &[StoredChild],
        ip: &str,
    ) -> Result<Vec<Card>, StoreError> {
        let mut tokens: Vec<Option<String>> = Vec::with_capacity(children.len());
        {
            let mut conn = self.read().await?;
            for child in children {
                let (t,): (Option<String>,) = on!(conn.conn(), |c| sqlx::query_as(
                    "SELECT card_token FROM children WHERE county_code = $1 AND id = $2"
                )
                .bind(&child.county_code)
                .bind(&child.id)
                .fetch_one(&mut *c)
                .await)?;
                tokens.push(t);
            }
        }
        if tokens.iter().any(Option::is_none) {
            let now = self.now_ms();
            let mut tx = self.begin().await?;
            for (child, token) in children.iter().zip(tokens.iter_mut()) {
                if token.is_some() {
                    continue;
                }
                let new = card_token();
                let claimed = on!(tx.conn(), |c| sqlx::query(
                    "UPDATE children SET card_token = $3
                     WHERE county_code = $1 AND id = $2 AND card_token IS NULL"
                )
                .bind(&child.county_code)
                .bind(&child.id)
                .bind(&new)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
                if claimed == 0 {
                    // Issued by a concurrent request: use that one.
                    let (t,): (Option<String>,) = on!(tx.conn(), |c| sqlx::query_as(
                        "SELECT card_token FROM children WHERE county_code = $1 AND id = $2"
                    )
                    .bind(&child.county_code)
                    .bind(&child.id)
                    .fetch_one(&mut *c)
                    .await)?;
                    *token = t;
                    continue;
                }
                insert_card(tx.conn(), &new, &child.county_code, &child.id, now, scope).await?;
                append(
                    &mut tx,
                    now,
                    &AuditEvent::by(scope, "card.issue", &child.id)
                        .in_county(&child.county_code)
                        .from_ip(ip),
                )
                .await?;
                *token = Some(new);
            }
            tx.commit().await?;
        }
        let mut directors: std::collections::HashMap<
            Option<String>,
            (Option<String>, Option<String>),
        > = Default::default();
        let mut villages: std::collections::HashMap<DivisionCode, String> = Default::default();
        let mut out = Vec::with_capacity(children.len());
        for (child, token) in children.iter().zip(tokens) {
            let division = child.record.division();
            if let std::collections::hash_map::Entry::Vacant(e) = villages.entry(division) {
                e.insert(self.place_name(division).await?);
            }
            let director_key = child.record.director_id.clone();
            if !directors.contains_key(&director_key) {
                let found = match &director_key {
                    Some(id) => self.user_contact(id).await?,
                    None => (None, None),
                };
                directors.insert(director_key.clone(), found);
            }
            let (director_name, director_phone) = directors[&director_key].clone();
            out.push(Card {
                child_id: child.id.clone(),
                token: token.expect("every child has a token now"),
                child_name: child.record.name.clone(),
                village: weibao_domain::record::short_village_name(&villages[&division])
                    .to_string(),
                director_name,
                director_phone,
            });
        }
        Ok(out)
    }

    async fn user_contact(&self, id: &str) -> Result<(Option<String>, Option<String>), StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(String, Option<String>)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT display_name, phone FROM users WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(match row {
            Some((name, phone)) => (Some(name), phone),
            None => (None, None),
        })
    }

    /// Issues a new card; the old one's code stops working at once.
    pub async fn reissue_card(
        &self,
        scope: &Scope,
        child_id: &str,
        reason: &str,
        ip: &str,
    ) -> Result<Card, StoreError> {
        let child = self
            .child_by_id(scope, child_id, Action::RecordVisits)
            .await?;
        // Counted as sent, so that the API document's maxLength is the rule.
        if reason.trim().is_empty() || reason.chars().count() > 200 {
            return Err(StoreError::invalid(
                "reason",
                Invalid::new(
                    "reason_required",
                    "请写明补发原因（如：遗失、损坏、卡面信息泄露），200 字以内",
                ),
            ));
        }
        let reason = reason.trim();
        let now = self.now_ms();
        let new = card_token();
        let mut tx = self.begin().await?;
        let (old,): (Option<String>,) = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT card_token FROM children WHERE county_code = $1 AND id = $2"
        )
        .bind(&child.county_code)
        .bind(child_id)
        .fetch_one(&mut *c)
        .await)?;
        if let Some(old) = &old {
            on!(tx.conn(), |c| sqlx::query(
                "UPDATE cards SET revoked_at = $2, revoked_why = $3 WHERE token = $1"
            )
            .bind(old)
            .bind(now)
            .bind(reason)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        }
        on!(tx.conn(), |c| sqlx::query(
            "UPDATE children SET card_token = $3 WHERE county_code = $1 AND id = $2"
        )
        .bind(&child.county_code)
        .bind(child_id)
        .bind(&new)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        insert_card(tx.conn(), &new, &child.county_code, child_id, now, scope).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "card.reissue", child_id)
                .in_county(&child.county_code)
                .from_ip(ip)
                .detail(reason.to_string()),
        )
        .await?;
        tx.commit().await?;
        self.card(scope, child_id, ip).await
    }

    /// The child a scanned card leads to. A re-issued card's old code answers
    /// `card_revoked`; an unknown one, or a child the caller may not see, not found.
    pub async fn resolve_card(&self, scope: &Scope, token: &str) -> Result<String, StoreError> {
        // Only those who record visits open the visit form from a card: no token oracle
        // for the rest.
        scope.check_role(Action::RecordVisits)?;
        let token = token.trim().to_ascii_lowercase();
        if token.len() != 26 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(StoreError::NotFound);
        }
        let mut conn = self.read().await?;
        let row: Option<(String, Option<i64>)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT child_id, revoked_at FROM cards WHERE token = $1"
        )
        .bind(&token)
        .fetch_optional(&mut *c)
        .await)?;
        drop(conn);
        let Some((child_id, revoked)) = row else {
            return Err(StoreError::NotFound);
        };
        // Only someone who may see the child learns anything about the card.
        self.child_by_id(scope, &child_id, Action::ViewChildren)
            .await?;
        if revoked.is_some() {
            return Err(StoreError::Conflict {
                field: "card",
                code: "card_revoked",
                message: "这张陪伴卡已作废（已补发新卡），请使用新卡或联系儿童主任".into(),
            });
        }
        Ok(child_id)
    }

    /// Stores a photo for a child (the same bytes twice give the same id).
    pub async fn save_photo(
        &self,
        scope: &Scope,
        child_id: &str,
        bytes: Vec<u8>,
        ip: &str,
    ) -> Result<String, StoreError> {
        let child = self
            .child_by_id(scope, child_id, Action::RecordVisits)
            .await?;
        self.store_child_photo(scope, &child, bytes, ip).await
    }

    /// Stores a photo of `child` for a caller already allowed to (visit photos; an
    /// allowance application's documents): the same bytes twice give the same id.
    pub(crate) async fn store_child_photo(
        &self,
        scope: &Scope,
        child: &StoredChild,
        bytes: Vec<u8>,
        ip: &str,
    ) -> Result<String, StoreError> {
        let child_id = child.id.as_str();
        if bytes.len() > MAX_PHOTO_BYTES {
            return Err(StoreError::invalid(
                "file",
                Invalid::new(
                    "photo_too_large",
                    format!(
                        "照片不能超过 {} MB，请用手机拍照页面上传（会自动压缩）",
                        MAX_PHOTO_BYTES / 1024 / 1024
                    ),
                ),
            ));
        }
        let Some(content_type) = sniff_image(&bytes) else {
            return Err(StoreError::invalid(
                "file",
                Invalid::new("photo_type", "只能上传 JPEG、PNG 或 WebP 格式的照片"),
            ));
        };
        let digest = sm3_hex(&bytes);
        if let Some(id) = self.photo_by_digest(child, &digest).await? {
            return Ok(id);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let size = bytes.len() as i64;
        self.put_blob(&id, bytes, "照片").await?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let inserted = on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO photos (county_code, id, child_id, digest, content_type, size,
                 uploaded_by, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
        )
        .bind(&child.county_code)
        .bind(&id)
        .bind(child_id)
        .bind(&digest)
        .bind(content_type)
        .bind(size)
        .bind(&scope.user_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if inserted == 0 {
            // The same bytes are there already (perhaps in this group commit): wait for it.
            tx.commit().await?;
            return self
                .photo_by_digest(child, &digest)
                .await?
                .ok_or(StoreError::NotFound);
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "photo.upload", &id)
                .in_county(&child.county_code)
                .from_ip(ip)
                .detail(format!("child={child_id}")),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn photo_by_digest(
        &self,
        child: &StoredChild,
        digest: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT id FROM photos WHERE county_code = $1 AND child_id = $2 AND digest = $3"
        )
        .bind(&child.county_code)
        .bind(&child.id)
        .bind(digest)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(row.map(|(id,)| id))
    }

    /// A child's photo, for a caller who may see the child (audited).
    pub async fn photo(
        &self,
        scope: &Scope,
        child_id: &str,
        photo_id: &str,
        ip: &str,
    ) -> Result<Photo, StoreError> {
        let child = self
            .child_by_id(scope, child_id, Action::ViewChildren)
            .await?;
        let mut conn = self.read().await?;
        let row: Option<(String,)> = on!(conn.conn(), |c| {
            sqlx::query_as(
            "SELECT content_type FROM photos WHERE county_code = $1 AND child_id = $2 AND id = $3"
        )
        .bind(&child.county_code)
        .bind(child_id)
        .bind(photo_id)
        .fetch_optional(&mut *c)
        .await
        })?;
        drop(conn);
        let Some((content_type,)) = row else {
            return Err(StoreError::NotFound);
        };
        let bytes = self.get_blob(photo_id, "照片").await?;
        self.audit(
            AuditEvent::by(scope, "photo.read", photo_id)
                .in_county(&child.county_code)
                .from_ip(ip)
                .detail(format!("child={child_id}")),
        )
        .await?;
        Ok(Photo {
            content_type,
            bytes,
        })
    }

    /// Open alerts of one child the caller may see (for the child's page), newest first.
    pub async fn child_alerts(
        &self,
        scope: &Scope,
        child: &StoredChild,
    ) -> Result<Vec<Alert>, StoreError> {
        if scope
            .check(Action::ResolveAlerts, child.record.division())
            .is_err()
        {
            return Ok(Vec::new());
        }
        let mut conn = self.read().await?;
        let mut alerts: Vec<Alert> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT id, child_id, division_code, visit_id, kind, summary, raised_at, raised_by,
                 resolved_at, resolved_by, resolution
             FROM alerts WHERE county_code = $1 AND child_id = $2 AND resolved_at IS NULL
             ORDER BY raised_at DESC"
        )
        .bind(&child.county_code)
        .bind(&child.id)
        .fetch_all(&mut *c)
        .await)?;
        for a in &mut alerts {
            a.child_name = child.record.name.clone();
        }
        Ok(alerts)
    }

    /// Open alerts in the caller's subtree, newest first.
    pub async fn open_alerts(&self, scope: &Scope) -> Result<Vec<Alert>, StoreError> {
        if !weibao_domain::access::allows(scope.role, Action::ResolveAlerts) {
            return Ok(Vec::new());
        }
        let (lo, hi) = match scope.home() {
            Some(h) => h.subtree_bounds(),
            None => ("000000000000".into(), "999999999999".into()),
        };
        let mut conn = self.read().await?;
        let mut alerts: Vec<Alert> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT id, child_id, division_code, visit_id, kind, summary, raised_at, raised_by,
                 resolved_at, resolved_by, resolution
             FROM alerts WHERE resolved_at IS NULL AND division_code >= $1 AND division_code <= $2
             ORDER BY raised_at DESC LIMIT 200"
        )
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        let mut visible = Vec::with_capacity(alerts.len());
        for mut a in alerts.drain(..) {
            // Sensitive records stay hidden from those not designated.
            if let Ok(child) = self
                .child_by_id(scope, &a.child_id, Action::ViewChildren)
                .await
            {
                a.child_name = child.record.name.clone();
                visible.push(a);
            }
        }
        Ok(visible)
    }

    /// Closes an alert with what was done.
    pub async fn resolve_alert(
        &self,
        scope: &Scope,
        child_id: &str,
        alert_id: &str,
        resolution: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        let child = self
            .child_by_id(scope, child_id, Action::ViewChildren)
            .await?;
        scope.check(Action::ResolveAlerts, child.record.division())?;
        if resolution.trim().is_empty() || resolution.chars().count() > 1000 {
            return Err(StoreError::invalid(
                "resolution",
                Invalid::new(
                    "resolution_required",
                    "请写明处置情况（1000 字以内），如：已复访、已报告派出所、已转介",
                ),
            ));
        }
        let resolution = resolution.trim();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let n = on!(tx.conn(), |c| sqlx::query(
            "UPDATE alerts SET resolved_at = $4, resolved_by = $5, resolution = $6
             WHERE county_code = $1 AND child_id = $2 AND id = $3 AND resolved_at IS NULL"
        )
        .bind(&child.county_code)
        .bind(child_id)
        .bind(alert_id)
        .bind(now)
        .bind(&scope.username)
        .bind(resolution)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            drop(tx);
            let mut c = self.read().await?;
            let resolved: Option<(Option<String>,)> = on!(c.conn(), |c| {
                sqlx::query_as(
                "SELECT resolved_by FROM alerts WHERE county_code = $1 AND child_id = $2 AND id = $3"
            )
            .bind(&child.county_code)
            .bind(child_id)
            .bind(alert_id)
            .fetch_optional(&mut *c)
            .await
            })?;
            return Err(match resolved {
                Some((Some(by),)) => StoreError::Conflict {
                    field: "alert",
                    code: "alert_resolved",
                    message: format!("该预警已由 {by} 处理，无需再次处理"),
                },
                _ => StoreError::NotFound,
            });
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "alert.resolve", alert_id)
                .in_county(&child.county_code)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await
    }

    /// The schedule as stored for a child (for the child page).
    pub async fn child_schedule(
        &self,
        child: &StoredChild,
    ) -> Result<(NaiveDate, String, Option<NaiveDate>), StoreError> {
        let mut conn = self.read().await?;
        Ok(on!(conn.conn(), |c| {
            sqlx::query_as(
            "SELECT due_on, due_reason, last_visit_on FROM children WHERE county_code = $1 AND id = $2"
        )
        .bind(&child.county_code)
        .bind(&child.id)
        .fetch_one(&mut *c)
        .await
        })?)
    }
}

async fn insert_card(
    conn: Conn<'_>,
    token: &str,
    county: &str,
    child_id: &str,
    now: i64,
    scope: &Scope,
) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO cards (token, county_code, child_id, issued_at, issued_by)
         VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(token)
    .bind(county)
    .bind(child_id)
    .bind(now)
    .bind(&scope.username)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A made-up visit: (county, visit id, child, division, visited_at ms, danger, risk,
/// details).
type SyntheticVisit = (
    String,
    String,
    String,
    String,
    i64,
    bool,
    &'static str,
    String,
);

/// Made-up visit records for a synthetic ledger, written in multi-row statements.
struct SyntheticVisits {
    rows: Vec<SyntheticVisit>,
    written: u64,
}

impl SyntheticVisits {
    const BATCH: usize = 500;

    /// A child's history: `last` and the visits before it, 40 to 70 days apart, back to
    /// two years ago; all by home visit, normal but for danger on 安全 now and then.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        seed: u64,
        county: &str,
        child: &str,
        division: &str,
        last: LastVisit,
        left_behind: bool,
        risk: Risk,
        today: NaiveDate,
    ) {
        let digest = sm3_hex(format!("{seed}:visits:{child}").as_bytes());
        let mut r = u64::from_str_radix(&digest[..15], 16).unwrap_or(1) | 1;
        let mut next = move || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r
        };
        let oldest = today - Duration::days(730);
        let mut on = last.on;
        let mut k = 0u32;
        while on >= oldest {
            let danger = if k == 0 {
                last.danger
            } else {
                next() % 50 == 0
            };
            let minutes = 8 * 60 + (next() % 600) as i64;
            let at = on.and_hms_opt(0, 0, 0).expect("midnight") + Duration::minutes(minutes);
            let visited_at = at
                .and_local_timezone(cst())
                .single()
                .expect("CST has no gaps");
            let checks = weibao_domain::visit::CheckItem::CORE
                .into_iter()
                .chain(left_behind.then_some(weibao_domain::visit::CheckItem::ParentContact))
                .map(|item| weibao_domain::visit::Check {
                    item,
                    finding: if danger && item == weibao_domain::visit::CheckItem::Safety {
                        weibao_domain::visit::Finding::Danger
                    } else {
                        weibao_domain::visit::Finding::Normal
                    },
                    note: String::new(),
                })
                .collect();
            let record = VisitRecord {
                visited_at,
                method: weibao_domain::visit::VisitMethod::Home,
                duration_minutes: 20 + (next() % 40) as u32,
                present: vec![
                    weibao_domain::visit::Present::Child,
                    weibao_domain::visit::Present::Guardian,
                ],
                caregiver: String::new(),
                entrustment: None,
                checks,
                needs: String::new(),
                help_given: String::new(),
                referral: String::new(),
                risk_after: risk,
                next_visit: None,
                notes: String::new(),
                photos: Vec::new(),
                location: None,
            };
            // The child's id with the visit's number in its last digits: the generator
            // walks each county's children in id order, so visits and the per-child index
            // grow at their ends instead of at random pages (5× faster at a million).
            let id = format!("{}{k:04x}", &child[..child.len().saturating_sub(4)]);
            self.rows.push((
                county.to_string(),
                id,
                child.to_string(),
                division.to_string(),
                visited_at.timestamp_millis(),
                record.danger(),
                risk.label(),
                serde_json::to_string(&record).expect("visits serialise"),
            ));
            on -= Duration::days(40 + (next() % 31) as i64);
            k += 1;
        }
    }

    async fn flush(&mut self, tx: &mut Tx, scope: &Scope, now: i64) -> Result<(), StoreError> {
        for batch in self.rows.chunks(Self::BATCH) {
            let added = on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO visits (county_code, id, child_id, division_code, author_id,
                         author_name, visited_at, method, danger, risk_after, details, version,
                         created_at, updated_at) ",
                );
                qb.push_values(
                    batch,
                    |mut b, (county, id, child, division, at, danger, risk, details)| {
                        b.push_bind(county.clone())
                            .push_bind(id.clone())
                            .push_bind(child.clone())
                            .push_bind(division.clone())
                            .push_bind(scope.user_id.clone())
                            .push_bind("模拟数据")
                            .push_bind(*at)
                            .push_bind("入户")
                            .push_bind(*danger)
                            .push_bind(*risk)
                            .push_bind(details.clone())
                            .push_bind(1i64)
                            .push_bind(*at)
                            .push_bind(*at);
                    },
                );
                // A second run with the same seed draws the same visits: kept once.
                qb.push(" ON CONFLICT DO NOTHING");
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
            on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO visit_versions (county_code, visit_id, version, at, actor_id,
                         actor_name, details) ",
                );
                qb.push_values(batch, |mut b, (county, id, _, _, _, _, _, details)| {
                    b.push_bind(county.clone())
                        .push_bind(id.clone())
                        .push_bind(1i64)
                        .push_bind(now)
                        .push_bind(scope.user_id.clone())
                        .push_bind("模拟数据")
                        .push_bind(details.clone());
                });
                qb.push(" ON CONFLICT DO NOTHING");
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
            self.written += added;
        }
        self.rows.clear();
        Ok(())
    }
}

async fn insert_visit_version(
    conn: Conn<'_>,
    county: &str,
    visit_id: &str,
    version: i64,
    at: i64,
    scope: &Scope,
    details: &str,
) -> Result<(), StoreError> {
    let mut script = Script::default();
    version_to(&mut script, county, visit_id, version, at, scope, details);
    script.run(conn).await?;
    Ok(())
}

fn version_to(
    script: &mut Script,
    county: &str,
    visit_id: &str,
    version: i64,
    at: i64,
    scope: &Scope,
    details: &str,
) {
    script.push(
        "INSERT INTO visit_versions (county_code, visit_id, version, at, actor_id, actor_name, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            county.into(),
            visit_id.into(),
            version.into(),
            at.into(),
            scope.user_id.as_str().into(),
            scope.username.as_str().into(),
            details.into(),
        ],
    );
}

/// The child's latest visit (by when it happened, then id), its time (ms) and what
/// scheduling sees of it.
async fn latest_visit(
    conn: Conn<'_>,
    county: &str,
    child_id: &str,
) -> Result<Option<(String, i64, LastVisit)>, StoreError> {
    let row: Option<(String, String, i64)> = on!(conn, |c| sqlx::query_as(
        "SELECT id, details, visited_at FROM visits WHERE county_code = $1 AND child_id = $2
         ORDER BY visited_at DESC, id DESC LIMIT 1"
    )
    .bind(county)
    .bind(child_id)
    .fetch_optional(&mut *c)
    .await)?;
    let Some((id, details, at)) = row else {
        return Ok(None);
    };
    let last = last_visit_of(&id, &details)?;
    Ok(Some((id, at, last)))
}

/// What the schedule needs of a stored visit's details.
fn last_visit_of(id: &str, details: &str) -> Result<LastVisit, StoreError> {
    let record: VisitRecord = serde_json::from_str(details)
        .map_err(|e| StoreError::Config(format!("探访记录 {id} 的内容无法读取：{e}")))?;
    Ok(LastVisit {
        on: record.visited_on(),
        danger: record.danger(),
        planned: record.next_visit,
    })
}

async fn write_schedule(
    conn: Conn<'_>,
    county: &str,
    child_id: &str,
    policy: &VisitPolicy,
    facts: &ScheduleFacts,
) -> Result<(), StoreError> {
    let mut script = Script::default();
    schedule_to(&mut script, county, child_id, policy, facts);
    script.run(conn).await?;
    Ok(())
}

/// The child's next due date and what it rests on.
fn schedule_to(
    script: &mut Script,
    county: &str,
    child_id: &str,
    policy: &VisitPolicy,
    facts: &ScheduleFacts,
) {
    let due = policy.due(facts);
    let last = facts.last_visit;
    script.push(
        "UPDATE children SET due_on = $3, due_reason = $4, last_visit_on = $5,
             last_visit_danger = $6, planned_on = $7
         WHERE county_code = $1 AND id = $2",
        vec![
            county.into(),
            child_id.into(),
            due.on.into(),
            due.reason.as_str().into(),
            last.map(|l| l.on).into(),
            last.is_some_and(|l| l.danger).into(),
            last.and_then(|l| l.planned).into(),
        ],
    );
}

/// An alert for a visit that found danger on 安全 or 监护, naming what was found.
fn alert_to(
    script: &mut Script,
    child: &StoredChild,
    visit_id: &str,
    record: &VisitRecord,
    now: i64,
    scope: &Scope,
) {
    let summary = record
        .checks
        .iter()
        .filter(|c| {
            c.finding == weibao_domain::visit::Finding::Danger && c.item.danger_needs_action()
        })
        .map(|c| {
            if c.note.is_empty() {
                format!("{}：危险", c.item.label())
            } else {
                format!("{}：危险（{}）", c.item.label(), c.note)
            }
        })
        .collect::<Vec<_>>()
        .join("；");
    script.push(
        "INSERT INTO alerts (county_code, id, child_id, division_code, visit_id, kind,
             summary, raised_at, raised_by)
         VALUES ($1, $2, $3, $4, $5, 'danger', $6, $7, $8)",
        vec![
            child.county_code.as_str().into(),
            uuid::Uuid::new_v4().to_string().into(),
            child.id.as_str().into(),
            child.record.division().full().into(),
            visit_id.into(),
            summary.clone().into(),
            now.into(),
            scope.username.as_str().into(),
        ],
    );
    // The reports module opens a report for it (an event: visits do not know reports).
    let guardianship = record.checks.iter().any(|c| {
        c.finding == weibao_domain::visit::Finding::Danger
            && c.item == weibao_domain::visit::CheckItem::Guardianship
    });
    crate::work::event_to(
        script,
        &child.county_code,
        crate::work::EVENT_VISIT_DANGER,
        &child.id,
        &serde_json::json!({
            "visit_id": visit_id,
            "child_id": child.id,
            "division": child.record.division().full(),
            "summary": summary,
            "author_name": scope.username,
            "guardianship": guardianship,
        }),
        now,
    );
}

/// Moves a child's visits, their versions, photos and alerts to another county's rows (a
/// transfer across counties), and points the child's cards at it.
pub(crate) async fn move_visits(
    tx: &mut Tx,
    child_id: &str,
    old: &str,
    new: &str,
) -> Result<(), StoreError> {
    let times: Vec<(i64,)> = on!(tx.conn(), |c| sqlx::query_as(
        "SELECT visited_at FROM visits WHERE county_code = $1 AND child_id = $2"
    )
    .bind(old)
    .bind(child_id)
    .fetch_all(&mut *c)
    .await)?;
    let mut days = std::collections::BTreeMap::new();
    for (t,) in times {
        *days.entry(cst_date_of_ms(t)).or_insert(0i64) += 1;
    }
    crate::stats::visits::count(tx.conn(), new, &days).await?;
    days.values_mut().for_each(|n| *n = -*n);
    crate::stats::visits::count(tx.conn(), old, &days).await?;
    let statements = [
        "INSERT INTO visit_versions (county_code, visit_id, version, at, actor_id, actor_name, details)
         SELECT $2, v.visit_id, v.version, v.at, v.actor_id, v.actor_name, v.details
         FROM visit_versions v JOIN visits w ON w.county_code = v.county_code AND w.id = v.visit_id
         WHERE v.county_code = $1 AND w.child_id = $3",
        "DELETE FROM visit_versions WHERE county_code = $1 AND visit_id IN
             (SELECT id FROM visits WHERE county_code = $1 AND child_id = $3) AND $2 <> ''",
        "INSERT INTO visits (county_code, id, child_id, division_code, author_id, author_name,
             visited_at, method, danger, risk_after, details, version, created_at, updated_at)
         SELECT $2, id, child_id, division_code, author_id, author_name, visited_at, method,
             danger, risk_after, details, version, created_at, updated_at
         FROM visits WHERE county_code = $1 AND child_id = $3",
        "DELETE FROM visits WHERE county_code = $1 AND child_id = $3 AND $2 <> ''",
        "INSERT INTO photos (county_code, id, child_id, digest, content_type, size, uploaded_by,
             uploaded_at)
         SELECT $2, id, child_id, digest, content_type, size, uploaded_by, uploaded_at
         FROM photos WHERE county_code = $1 AND child_id = $3",
        "DELETE FROM photos WHERE county_code = $1 AND child_id = $3 AND $2 <> ''",
        "INSERT INTO alerts (county_code, id, child_id, division_code, visit_id, kind, summary,
             raised_at, raised_by, resolved_at, resolved_by, resolution)
         SELECT $2, id, child_id, division_code, visit_id, kind, summary, raised_at, raised_by,
             resolved_at, resolved_by, resolution
         FROM alerts WHERE county_code = $1 AND child_id = $3",
        "DELETE FROM alerts WHERE county_code = $1 AND child_id = $3 AND $2 <> ''",
        "UPDATE cards SET county_code = $2 WHERE child_id = $3 AND county_code = $1",
    ];
    for sql in statements {
        on!(tx.conn(), |c| sqlx::query(sql)
            .bind(old)
            .bind(new)
            .bind(child_id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// The first visit's due date of a child registered `today`.
pub(crate) fn first_due(policy: &VisitPolicy, today: NaiveDate) -> NaiveDate {
    today + Duration::days(i64::from(policy.first_visit_days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_tokens_are_26_unambiguous_characters_and_differ() {
        let a = card_token();
        let b = card_token();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='9').contains(&c)));
        assert!(!a.contains('l') && !a.contains('o') && !a.contains('0') && !a.contains('1'));
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(
            sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<svg onload=alert(1)>"), None);
    }
}
