//! The timeline of a report, referral or case: who did what, when and why. The detail
//! may name people and is sealed.

use weibao_domain::access::Scope;

use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::script::Script;

/// One step as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: i64,
    pub actor_name: String,
    pub actor_unit: String,
    pub action: String,
    pub detail: String,
}

/// Records a step on `subject_id` (a report, referral or case) in the transaction of the
/// change.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_step(
    store: &Store,
    tx: &mut Tx,
    county: &str,
    subject_id: &str,
    scope: &Scope,
    actor_unit: &str,
    action: &str,
    detail: &str,
    now: i64,
) -> Result<(), StoreError> {
    let mut s = Script::default();
    record_step_to(
        store, &mut s, county, subject_id, scope, actor_unit, action, detail, now,
    )?;
    s.run(tx.conn()).await?;
    Ok(())
}

/// [`record_step`]'s insert, added to a script of the change it records (one round trip
/// with the change's own writes).
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_step_to(
    store: &Store,
    s: &mut Script,
    county: &str,
    subject_id: &str,
    scope: &Scope,
    actor_unit: &str,
    action: &str,
    detail: &str,
    now: i64,
) -> Result<(), StoreError> {
    let id = super::new_id();
    let sealed = store.keys()?.seal(&format!("timeline.detail:{id}"), detail);
    s.push(
        "INSERT INTO timeline (county_code, subject_id, id, at, actor_id, actor_name, actor_unit,
             action, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            county.into(),
            subject_id.into(),
            id.into(),
            now.into(),
            scope.user_id.clone().into(),
            // The platform itself (a public filing, a visit's finding): no account to name.
            if scope.is_system() {
                String::new()
            } else {
                scope.username.clone()
            }
            .into(),
            actor_unit.into(),
            action.into(),
            sealed.into(),
        ],
    );
    Ok(())
}

impl Store {
    /// The timeline of subjects (a report and its referrals, say), oldest first. The
    /// caller has already been allowed to read them.
    pub(crate) async fn timeline_of(
        &self,
        county: &str,
        subject_ids: &[String],
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let keys = self.keys()?;
        let mut out = Vec::new();
        let mut c = self.read().await?;
        for subject in subject_ids {
            let rows: Vec<(String, i64, String, String, String, String)> =
                on!(c.conn(), |c| sqlx::query_as(
                    "SELECT id, at, actor_name, actor_unit, action, detail FROM timeline
                 WHERE county_code = $1 AND subject_id = $2 ORDER BY at, id"
                )
                .bind(county)
                .bind(subject)
                .fetch_all(&mut *c)
                .await)?;
            for (id, at, actor_name, actor_unit, action, detail) in rows {
                out.push(TimelineEntry {
                    at,
                    actor_name,
                    actor_unit,
                    action,
                    detail: keys.open(&format!("timeline.detail:{id}"), &detail)?,
                });
            }
        }
        out.sort_by_key(|e| e.at);
        Ok(out)
    }
}
