//! Events: what the ledger and visits tell the modules built on them, written in the
//! same transaction as the change (so nothing is told that did not happen, and nothing
//! that happened goes untold) and consumed once by a worker. The ledger and visits know
//! only this table, never the modules that read it.

use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::script::{Script, Val};

/// A visit found danger on 安全 or 监护: a report is opened for it.
pub const EVENT_VISIT_DANGER: &str = "visit.danger";
/// A child moved to another county: what follows the child moves with it.
pub const EVENT_CHILD_MOVED: &str = "child.moved";

/// An event waiting to be consumed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Event {
    pub county_code: String,
    pub id: String,
    pub kind: String,
    pub subject_id: String,
    pub payload: String,
    pub created_at: i64,
}

/// Adds an event's insert to a script of the change that causes it.
pub(crate) fn event_to(
    script: &mut Script,
    county: &str,
    kind: &'static str,
    subject_id: &str,
    payload: &serde_json::Value,
    now: i64,
) {
    script.push(
        "INSERT INTO events (county_code, id, kind, subject_id, payload, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            county.into(),
            super::new_id().into(),
            Val::from(kind),
            subject_id.into(),
            payload.to_string().into(),
            now.into(),
        ],
    );
}

impl Store {
    /// Events not consumed yet, oldest first.
    pub async fn pending_events(&self, limit: i64) -> Result<Vec<Event>, StoreError> {
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT county_code, id, kind, subject_id, payload, created_at FROM events
             WHERE consumed_at IS NULL ORDER BY created_at, id LIMIT $1"
        )
        .bind(limit)
        .fetch_all(&mut *c)
        .await)?)
    }
}
