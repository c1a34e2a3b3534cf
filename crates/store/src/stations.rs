//! Protection stations (未成年人保护工作站), one per township: the places of the network
//! (network/) of kind `station`, as the division pages show them.

use weibao_domain::access::{Action, Scope};
use weibao_domain::{DivisionCode, Invalid, Level};

use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Station {
    pub county_code: String,
    pub id: String,
    pub division_code: String,
    pub name: String,
}

impl Store {
    /// Opens the station of a township (at most one each).
    pub async fn create_station(
        &self,
        scope: &Scope,
        township: DivisionCode,
        name: &str,
    ) -> Result<Station, StoreError> {
        scope.check(Action::ManageUsers, township)?;
        if township.level() != Level::Township {
            return Err(StoreError::invalid(
                "division",
                Invalid::new(
                    "division_level",
                    format!(
                        "工作站应设在乡级区划（9 位代码），{township} 是{}",
                        township.level().label()
                    ),
                ),
            ));
        }
        let station = Station {
            county_code: township.county_code(),
            id: uuid::Uuid::new_v4().to_string(),
            division_code: township.full(),
            name: name.trim().to_string(),
        };
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let inserted = on!(tx.conn(), |c| {
            sqlx::query(
            "INSERT INTO stations (county_code, id, division_code, name, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING"
        )
        .bind(&station.county_code)
        .bind(&station.id)
        .bind(&station.division_code)
        .bind(&station.name)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if inserted == 0 {
            return Err(StoreError::Conflict {
                field: "division",
                code: "station_exists",
                message: format!("{township} 已设有工作站"),
            });
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "station.create", &station.id).in_county(&station.county_code),
        )
        .await?;
        tx.commit().await?;
        Ok(station)
    }

    /// The stations within the caller's reach under `within`.
    pub async fn list_stations(
        &self,
        scope: &Scope,
        within: DivisionCode,
    ) -> Result<Vec<Station>, StoreError> {
        scope.check(Action::ViewDivisions, within)?;
        let (lo, hi) = within.subtree_bounds();
        let mut conn = self.read().await?;
        Ok(on!(conn.conn(), |c| sqlx::query_as(
            "SELECT county_code, id, division_code, name FROM stations
             WHERE division_code BETWEEN $1 AND $2 AND kind = 'station' AND closed_on IS NULL
             ORDER BY division_code"
        )
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *c)
        .await)?)
    }
}
