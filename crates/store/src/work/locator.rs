//! Where a report, referral, case, conference or work item lives (its county), by id: a
//! lookup by id goes to one shard on a cluster.

use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::script::Script;

/// Adds the locator row of a new record to a script.
pub(crate) fn locate_in(script: &mut Script, id: &str, county: &str, kind: &'static str) {
    script.push(
        "INSERT INTO locator (id, county_code, kind) VALUES ($1, $2, $3)",
        vec![id.into(), county.into(), kind.into()],
    );
}

impl Store {
    /// The county of a record of `kind`, or None when there is none such.
    pub(crate) async fn locate_record(
        &self,
        id: &str,
        kind: &str,
    ) -> Result<Option<String>, StoreError> {
        if id.len() > 64 {
            return Ok(None);
        }
        let mut c = self.read().await?;
        let row: Option<(String,)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT county_code FROM locator WHERE id = $1 AND kind = $2"
        )
        .bind(id)
        .bind(kind)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(row.map(|(c,)| c))
    }
}

/// Moves a record's locator to another county (a transfer across counties).
pub(crate) async fn relocate(tx: &mut Tx, id: &str, county: &str) -> Result<(), StoreError> {
    super::exec(
        tx,
        "UPDATE locator SET county_code = $2 WHERE id = $1",
        vec![id.into(), county.into()],
    )
    .await?;
    Ok(())
}
