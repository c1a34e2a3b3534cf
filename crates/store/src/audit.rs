//! The audit log (审计日志): append-only, one SM3 hash chain per county, written in the same
//! transaction as the change it records.

use sm3::{Digest, Sm3};
use weibao_domain::access::{Action, Scope};

use crate::crypto::hex;
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::script::{Script, Val};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, to be recorded. `county_code` picks the chain: the county of the record
/// concerned (or of the actor's home for sign-ins), "000000" for national scope.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub county_code: String,
    pub actor_id: String,
    pub actor_name: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub ip: String,
    pub detail: String,
}

impl AuditEvent {
    /// An event done by `scope`, chained under the scope's county unless set otherwise.
    pub fn by(scope: &Scope, action: &str, target: impl Into<String>) -> AuditEvent {
        AuditEvent {
            county_code: scope.county_code(),
            actor_id: scope.user_id.clone(),
            actor_name: scope.username.clone(),
            action: action.into(),
            target: target.into(),
            outcome: "ok".into(),
            ip: String::new(),
            detail: String::new(),
        }
    }

    pub fn in_county(mut self, county_code: impl Into<String>) -> Self {
        self.county_code = county_code.into();
        self
    }

    pub fn outcome(mut self, outcome: &str) -> Self {
        self.outcome = outcome.into();
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn from_ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = ip.into();
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AuditEntry {
    pub county_code: String,
    pub seq: i64,
    pub at: i64,
    pub actor_id: String,
    pub actor_name: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub ip: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The entry's hash over its predecessor's hash and every field, each length-prefixed
    /// so that no two different entries hash the same input.
    fn compute_hash(&self) -> String {
        let mut h = Sm3::new();
        let seq = self.seq.to_string();
        let at = self.at.to_string();
        for field in [
            self.prev_hash.as_str(),
            &self.county_code,
            &seq,
            &at,
            &self.actor_id,
            &self.actor_name,
            &self.action,
            &self.target,
            &self.outcome,
            &self.ip,
            &self.detail,
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex(&h.finalize())
    }
}

/// The first entry that breaks a chain, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub county_code: String,
    pub seq: i64,
    pub reason: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "审计链 {} 第 {} 条：{}",
            self.county_code, self.seq, self.reason
        )
    }
}

/// Appends `event` inside `tx`, after the chain's current head (locked until commit).
pub(crate) async fn append(tx: &mut Tx, at: i64, event: &AuditEvent) -> Result<(), StoreError> {
    let mut script = Script::default();
    append_to(tx, &mut script, at, event).await?;
    script.run(tx.conn()).await?;
    Ok(())
}

/// Reads (and locks) the chain's head and adds the entry and the new head to `script`, so
/// that a caller sends them with its own writes in one round trip. Nothing else may append
/// to this county's chain in `tx` before the script runs.
pub(crate) async fn append_to(
    tx: &mut Tx,
    script: &mut Script,
    at: i64,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let head: (i64, String) = on!(tx.conn(), |c| sqlx::query_as(&format!(
        "{LOCK_HEAD} RETURNING seq, hash"
    ))
    .bind(&event.county_code)
    .bind(GENESIS)
    .fetch_one(&mut *c)
    .await)?;
    append_after(script, head, at, event);
    Ok(())
}

/// Creates the county's (`$1`) chain head at its first entry, and locks it: the no-op
/// update makes the upsert return the row and, on PostgreSQL, hold its lock to the end of
/// the transaction, which orders concurrent writers of one chain (SQLite has one writer at
/// a time).
pub(crate) const LOCK_HEAD: &str =
    "INSERT INTO audit_heads (county_code, seq, hash) VALUES ($1, 0, $2)
     ON CONFLICT (county_code) DO UPDATE SET seq = audit_heads.seq";

/// [`LOCK_HEAD`]'s values for `county`.
pub(crate) fn lock_head_values(county: &str) -> Vec<Val> {
    vec![county.into(), GENESIS.into()]
}

/// Adds the entry after `head` (the chain's seq and hash, read under [`LOCK_HEAD`] in this
/// transaction) and the new head to `script`.
pub(crate) fn append_after(script: &mut Script, head: (i64, String), at: i64, event: &AuditEvent) {
    let (seq, prev_hash) = head;
    let mut e = AuditEntry {
        county_code: event.county_code.clone(),
        seq: seq + 1,
        at,
        actor_id: event.actor_id.clone(),
        actor_name: event.actor_name.clone(),
        action: event.action.clone(),
        target: event.target.clone(),
        outcome: event.outcome.clone(),
        ip: event.ip.clone(),
        detail: event.detail.clone(),
        prev_hash,
        hash: String::new(),
    };
    e.hash = e.compute_hash();
    script
        .push(
            "INSERT INTO audit_log (county_code, seq, at, actor_id, actor_name, action, target,
                                    outcome, ip, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            vec![
                e.county_code.clone().into(),
                e.seq.into(),
                e.at.into(),
                e.actor_id.clone().into(),
                e.actor_name.clone().into(),
                e.action.clone().into(),
                e.target.clone().into(),
                e.outcome.clone().into(),
                e.ip.clone().into(),
                e.detail.clone().into(),
                e.prev_hash.clone().into(),
                e.hash.clone().into(),
            ],
        )
        .push(
            "UPDATE audit_heads SET seq = $2, hash = $3 WHERE county_code = $1",
            vec![e.county_code.into(), e.seq.into(), e.hash.into()],
        );
}

/// Entries per multi-row INSERT of [`append_many`] (12 values each).
const MANY_ROWS: usize = 400;

/// Appends `events`, all of `county`'s chain, inside `tx`: the head locked once and the
/// entries written a few hundred rows a statement, so that a bulk action (a county
/// confirming ten thousand applications) still records every item as its own entry.
pub(crate) async fn append_many(
    tx: &mut Tx,
    at: i64,
    county: &str,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let (mut seq, mut prev): (i64, String) = on!(tx.conn(), |c| sqlx::query_as(&format!(
        "{LOCK_HEAD} RETURNING seq, hash"
    ))
    .bind(county)
    .bind(GENESIS)
    .fetch_one(&mut *c)
    .await)?;
    let mut entries = Vec::with_capacity(events.len());
    for event in events {
        debug_assert_eq!(event.county_code, county, "one chain per call");
        seq += 1;
        let mut e = AuditEntry {
            county_code: county.to_string(),
            seq,
            at,
            actor_id: event.actor_id.clone(),
            actor_name: event.actor_name.clone(),
            action: event.action.clone(),
            target: event.target.clone(),
            outcome: event.outcome.clone(),
            ip: event.ip.clone(),
            detail: event.detail.clone(),
            prev_hash: prev,
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        entries.push(e);
    }
    for chunk in entries.chunks(MANY_ROWS) {
        on!(tx.conn(), |c| {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO audit_log (county_code, seq, at, actor_id, actor_name, action,
                     target, outcome, ip, detail, prev_hash, hash) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(&e.county_code)
                    .push_bind(e.seq)
                    .push_bind(e.at)
                    .push_bind(&e.actor_id)
                    .push_bind(&e.actor_name)
                    .push_bind(&e.action)
                    .push_bind(&e.target)
                    .push_bind(&e.outcome)
                    .push_bind(&e.ip)
                    .push_bind(&e.detail)
                    .push_bind(&e.prev_hash)
                    .push_bind(&e.hash);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    on!(tx.conn(), |c| sqlx::query(
        "UPDATE audit_heads SET seq = $2, hash = $3 WHERE county_code = $1"
    )
    .bind(county)
    .bind(seq)
    .bind(&prev)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

const VERIFY_PAGE: i64 = 5000;

impl Store {
    /// Records an event on its own (sign-in attempts, reads), in a transaction of its own.
    pub async fn audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        append(&mut tx, self.now_ms(), &event).await?;
        tx.commit().await
    }

    /// Walks every chain and returns the first broken entry: an altered entry fails its
    /// hash, an inserted or deleted one breaks the sequence or the link, a removed tail no
    /// longer matches the chain's head. Returns the number of entries checked when intact.
    pub async fn verify_audit(&self) -> Result<Result<u64, ChainBreak>, StoreError> {
        let mut conn = self.read().await?;
        let heads: Vec<(String, i64, String)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT county_code, seq, hash FROM audit_heads ORDER BY county_code"
        )
        .fetch_all(&mut *c)
        .await)?;
        let chains: Vec<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT DISTINCT county_code FROM audit_log ORDER BY county_code"
        )
        .fetch_all(&mut *c)
        .await)?;
        for (county,) in &chains {
            if !heads.iter().any(|(h, _, _)| h == county) {
                return Ok(Err(ChainBreak {
                    county_code: county.clone(),
                    seq: 1,
                    reason: "该链没有链头记录：条目是在审计机制之外写入的".into(),
                }));
            }
        }
        let mut checked = 0u64;
        for (county, head_seq, head_hash) in heads {
            let mut expected_seq = 1i64;
            let mut prev = GENESIS.to_string();
            loop {
                let page: Vec<AuditEntry> = on!(conn.conn(), |c| sqlx::query_as(
                    "SELECT * FROM audit_log WHERE county_code = $1 AND seq >= $2
                     ORDER BY seq LIMIT $3"
                )
                .bind(&county)
                .bind(expected_seq)
                .bind(VERIFY_PAGE)
                .fetch_all(&mut *c)
                .await)?;
                let len = page.len() as i64;
                for e in page {
                    let fail = |reason: String| ChainBreak {
                        county_code: county.clone(),
                        seq: expected_seq,
                        reason,
                    };
                    if e.seq != expected_seq {
                        return Ok(Err(fail(format!(
                            "序号不连续（应为 {expected_seq}，实际为 {}）：有条目被删除",
                            e.seq
                        ))));
                    }
                    if e.prev_hash != prev {
                        return Ok(Err(fail(
                            "前一条的哈希不符：有条目被插入、删除或改动".into(),
                        )));
                    }
                    if e.compute_hash() != e.hash {
                        return Ok(Err(fail("内容与其哈希不符：该条目被改动".into())));
                    }
                    prev = e.hash;
                    expected_seq += 1;
                    checked += 1;
                }
                if len < VERIFY_PAGE {
                    break;
                }
            }
            let last = expected_seq - 1;
            if last != head_seq || prev != head_hash {
                return Ok(Err(ChainBreak {
                    county_code: county.clone(),
                    seq: last + 1,
                    reason: format!(
                        "链头记录为第 {head_seq} 条，实际链只到第 {last} 条：末尾条目被删除或链头被改动"
                    ),
                }));
            }
        }
        Ok(Ok(checked))
    }

    /// Every entry within the caller's reach written in [from_ms, to_ms), oldest first, for
    /// the auditor's export; the export itself is audited.
    pub async fn audit_between(
        &self,
        scope: &Scope,
        from_ms: i64,
        to_ms: i64,
        ip: &str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        scope.check_role(Action::ViewAudit)?;
        let (lo, hi) = chains_within(scope);
        let rows: Vec<AuditEntry> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT * FROM audit_log WHERE county_code BETWEEN $1 AND $2
                   AND at >= $3 AND at < $4 ORDER BY at, county_code, seq"
            )
            .bind(&lo)
            .bind(&hi)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&mut *c)
            .await)?
        };
        self.audit(
            AuditEvent::by(scope, "audit.export", "audit_log")
                .from_ip(ip)
                .detail(format!("{} 条，{from_ms}..{to_ms}", rows.len())),
        )
        .await?;
        Ok(rows)
    }

    /// The newest entries within the caller's reach (auditors).
    pub async fn recent_audit(
        &self,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        scope.check_role(Action::ViewAudit)?;
        let (lo, hi) = chains_within(scope);
        let mut conn = self.read().await?;
        let rows: Vec<AuditEntry> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT * FROM audit_log WHERE county_code BETWEEN $1 AND $2
             ORDER BY at DESC, seq DESC LIMIT $3"
        )
        .bind(&lo)
        .bind(&hi)
        .bind(limit)
        .fetch_all(&mut *c)
        .await)?;
        Ok(rows)
    }
}

/// The range of chain (county) codes a scope reads: chains are per county, so a county or
/// lower sees its county's chain, a city or province the chains whose codes share its
/// prefix, the command line's system scope every chain.
fn chains_within(scope: &Scope) -> (String, String) {
    match scope.home() {
        None => ("000000".to_string(), "999999".to_string()),
        Some(home) => {
            let prefix = home.prefix();
            let prefix = &prefix[..prefix.len().min(6)];
            (format!("{prefix:0<6}"), format!("{prefix:9<6}"))
        }
    }
}
