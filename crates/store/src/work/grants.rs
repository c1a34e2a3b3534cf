//! Access grants: a member unit reads a child's record while a referral (or a case task)
//! to it is open, and for a set time after it ends (configurable, default 30 days); the
//! ledger checks these rows, never the modules that write them.

use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;

/// Days a unit keeps reading a child after the referral that opened it ends.
pub const GRANT_GRACE_DAYS_DEFAULT: i64 = 30;

/// Opens (or reopens) a unit's access to a child, for as long as `source_id` is open.
pub(crate) async fn grant(
    tx: &mut Tx,
    county: &str,
    child_id: &str,
    unit_id: &str,
    source_id: &str,
) -> Result<(), StoreError> {
    super::exec(
        tx,
        "INSERT INTO access_grants (county_code, child_id, unit_id, source_id, until_ms)
         VALUES ($1, $2, $3, $4, NULL)
         ON CONFLICT (county_code, child_id, unit_id, source_id) DO UPDATE SET until_ms = NULL",
        vec![
            county.into(),
            child_id.into(),
            unit_id.into(),
            source_id.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Ends the grants `source_id` opened: they last `grace_ms` more.
pub(crate) async fn end_grants(
    tx: &mut Tx,
    county: &str,
    source_id: &str,
    until_ms: i64,
) -> Result<(), StoreError> {
    super::exec(
        tx,
        "UPDATE access_grants SET until_ms = $3
         WHERE county_code = $1 AND source_id = $2 AND until_ms IS NULL",
        vec![county.into(), source_id.into(), until_ms.into()],
    )
    .await?;
    Ok(())
}

impl Store {
    /// Whether `unit_id` may read the child now.
    pub(crate) async fn unit_may_read(
        &self,
        county: &str,
        child_id: &str,
        unit_id: &str,
    ) -> Result<bool, StoreError> {
        let now = self.now_ms();
        let mut c = self.read().await?;
        let row: Option<(i32,)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT 1 FROM access_grants
             WHERE county_code = $1 AND child_id = $2 AND unit_id = $3
               AND (until_ms IS NULL OR until_ms > $4) LIMIT 1"
        )
        .bind(county)
        .bind(child_id)
        .bind(unit_id)
        .bind(now)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(row.is_some())
    }

    /// The days a unit keeps access after a referral ends (setting `referral_access_days`).
    pub(crate) async fn grant_grace_ms(
        &self,
        at: weibao_domain::DivisionCode,
    ) -> Result<i64, StoreError> {
        let days = self
            .setting_json(
                crate::settings::REFERRAL_ACCESS_DAYS,
                Some(at),
                self.clock.today(),
            )
            .await?
            .and_then(|v| v.as_i64())
            .filter(|d| (0..=365).contains(d))
            .unwrap_or(GRANT_GRACE_DAYS_DEFAULT);
        Ok(days * 86_400_000)
    }
}
