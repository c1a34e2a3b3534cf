//! One-to-one pairing (结对帮扶): helpers registered by a level (a village's director, a
//! township's supervisor, the office), each paired with one child of the caller's division
//! for a period (a child has one helper at a time), contacts logged; the children with no
//! helper, the helpers silent this quarter, and the figures by division one level down.
//! A helper registered higher up (the township's teachers) is available to the villages
//! below it.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use weibao_domain::access::{Action, Scope};
use weibao_domain::finding::pairing::{check_contact, check_period, quarter_start, HelperInput};
use weibao_domain::{DivisionCode, Invalid, Level};

use crate::audit::{append, AuditEvent};
use crate::committee::date_text;
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::work::{locate_in, new_id};

/// A helper.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HelperRecord {
    pub county_code: String,
    pub id: String,
    pub name: String,
    pub kind: String,
    pub workplace: String,
    /// Sealed as stored; opened when read.
    pub phone: String,
    pub division_code: String,
    pub created_at: i64,
}

/// A pairing, with its helper's and child's names.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PairingRecord {
    pub county_code: String,
    pub id: String,
    pub child_id: String,
    pub child_name: String,
    pub helper_id: String,
    pub helper_name: String,
    pub helper_kind: String,
    pub division_code: String,
    pub starts_on: String,
    pub ends_on: Option<String>,
    pub ended_at: Option<i64>,
    pub last_contact_on: Option<String>,
    pub contacts: i64,
}

/// A child of the ledger with no helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpaired {
    pub child_id: String,
    pub name: String,
    pub division_code: String,
}

/// The figures of one division.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairingCount {
    pub division_code: String,
    pub name: String,
    pub children: i64,
    pub paired: i64,
    /// Paired children whose helper was in touch this quarter.
    pub contacted: i64,
}

/// Where pairing stands under a division.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairingOverview {
    pub quarter_start: String,
    pub unpaired: Vec<Unpaired>,
    /// Active pairings with no contact since the quarter began.
    pub silent: Vec<PairingRecord>,
    pub by_division: Vec<PairingCount>,
    pub total: PairingCount,
}

const PAIRING_SELECT: &str = "SELECT p.county_code, p.id, p.child_id, ch.name AS child_name,
        p.helper_id, h.name AS helper_name, h.kind AS helper_kind, p.division_code,
        p.starts_on, p.ends_on, p.ended_at, p.last_contact_on, p.contacts
    FROM pairings p
    JOIN children ch ON ch.county_code = p.county_code AND ch.id = p.child_id
    JOIN helpers h ON h.county_code = p.county_code AND h.id = p.helper_id";

/// Most rows listed at once.
const MAX_LISTED: usize = 500;

fn invalid((field, e): (&'static str, Invalid)) -> StoreError {
    StoreError::invalid(field, e)
}

impl Store {
    fn pairing_reach(scope: &Scope) -> Result<(String, DivisionCode), StoreError> {
        scope.check_role(Action::ManagePairing)?;
        let home = scope.home().ok_or(StoreError::Forbidden)?;
        if home.level() < Level::County {
            return Err(StoreError::Forbidden);
        }
        Ok((home.county_code(), home))
    }

    /// Registers a helper at the caller's division.
    pub async fn add_helper(
        &self,
        scope: &Scope,
        input: &HelperInput,
        ip: &str,
    ) -> Result<HelperRecord, StoreError> {
        let (county, home) = Self::pairing_reach(scope)?;
        let h = input.check().map_err(invalid)?;
        let id = new_id();
        let now = self.now_ms();
        let phone = self.keys()?.seal(&format!("helpers.phone:{id}"), &h.phone);
        let mut tx = self.begin().await?;
        let mut s = Script::default();
        s.push(
            "INSERT INTO helpers (county_code, id, name, kind, workplace, phone, division_code,
                 created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            vec![
                county.clone().into(),
                id.clone().into(),
                h.name.into(),
                h.kind.code().into(),
                h.workplace.into(),
                phone.into(),
                home.to_string().into(),
                scope.user_id.clone().into(),
                now.into(),
            ],
        );
        locate_in(&mut s, &id, &county, "helper");
        s.run(tx.conn()).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "pairing.helper", &id)
                .in_county(&county)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await?;
        self.helper(scope, &id).await
    }

    /// The helpers the caller may pair: registered within its division, or above it (a
    /// county's helpers are its, a few thousand at most: filtered here).
    pub async fn helpers(&self, scope: &Scope) -> Result<Vec<HelperRecord>, StoreError> {
        let (county, home) = Self::pairing_reach(scope)?;
        let rows: Vec<HelperRecord> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT county_code, id, name, kind, workplace, phone, division_code, created_at
                 FROM helpers WHERE county_code = $1 ORDER BY name, id LIMIT 5000"
            )
            .bind(&county)
            .fetch_all(&mut *c)
            .await)?
        };
        let keys = self.keys()?;
        rows.into_iter()
            .filter(|h| {
                DivisionCode::parse(&h.division_code)
                    .is_ok_and(|d| home.contains(d) || d.contains(home))
            })
            .map(|mut h| {
                h.phone = keys.open(&format!("helpers.phone:{}", h.id), &h.phone)?;
                Ok(h)
            })
            .collect()
    }

    async fn helper(&self, scope: &Scope, id: &str) -> Result<HelperRecord, StoreError> {
        self.helpers(scope)
            .await?
            .into_iter()
            .find(|h| h.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// The division of a ledger child the caller reaches.
    async fn child_in_reach(
        &self,
        scope: &Scope,
        county: &str,
        child_id: &str,
    ) -> Result<String, StoreError> {
        let found: Option<(String,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT division_code FROM children WHERE county_code = $1 AND id = $2"
            )
            .bind(county)
            .bind(child_id)
            .fetch_optional(&mut *c)
            .await)?
        };
        let (division,) = found.ok_or(StoreError::NotFound)?;
        let code = DivisionCode::parse(&division).map_err(|_| StoreError::NotFound)?;
        if !scope.reaches(code) {
            return Err(StoreError::NotFound);
        }
        Ok(division)
    }

    /// Pairs a child of the caller's division with a helper it may pair; a child has one
    /// helper at a time.
    pub async fn pair(
        &self,
        scope: &Scope,
        child_id: &str,
        helper_id: &str,
        starts_on: Option<NaiveDate>,
        ends_on: Option<NaiveDate>,
        ip: &str,
    ) -> Result<PairingRecord, StoreError> {
        let (county, _) = Self::pairing_reach(scope)?;
        let division = self.child_in_reach(scope, &county, child_id).await?;
        let helper = self.helper(scope, helper_id).await.map_err(|_| {
            StoreError::invalid(
                "helper_id",
                Invalid::new("helper_unknown", "帮扶人不在本辖区的帮扶人名册中，请先登记"),
            )
        })?;
        let today = self.clock().today();
        let (starts, ends) = check_period(starts_on, ends_on, today).map_err(invalid)?;
        if let Some(current) = self.active_pairing(&county, child_id, today).await? {
            return Err(StoreError::Conflict {
                field: "child_id",
                code: "already_paired",
                message: format!(
                    "该儿童已由{}结对帮扶；如需更换，请先结束原结对",
                    current.helper_name
                ),
            });
        }
        let id = new_id();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let mut s = Script::default();
        s.push(
            "INSERT INTO pairings (county_code, id, child_id, helper_id, division_code,
                 starts_on, ends_on, end_reason, contacts, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, '', 0, $8, $9)",
            vec![
                county.clone().into(),
                id.clone().into(),
                child_id.into(),
                helper.id.clone().into(),
                division.into(),
                date_text(starts).into(),
                ends.map(date_text).into(),
                scope.user_id.clone().into(),
                now.into(),
            ],
        );
        locate_in(&mut s, &id, &county, "pairing");
        s.run(tx.conn()).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "pairing.pair", &id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("child={child_id} helper={helper_id}")),
        )
        .await?;
        tx.commit().await?;
        self.pairing(scope, &id).await
    }

    async fn active_pairing(
        &self,
        county: &str,
        child_id: &str,
        today: NaiveDate,
    ) -> Result<Option<PairingRecord>, StoreError> {
        let sql = format!(
            "{PAIRING_SELECT} WHERE p.county_code = $1 AND p.child_id = $2
               AND p.ended_at IS NULL AND (p.ends_on IS NULL OR p.ends_on >= $3) LIMIT 1"
        );
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(&sql)
            .bind(county)
            .bind(child_id)
            .bind(date_text(today))
            .fetch_optional(&mut *c)
            .await)?)
    }

    /// One pairing, if its child is in the caller's division.
    pub async fn pairing(&self, scope: &Scope, id: &str) -> Result<PairingRecord, StoreError> {
        let (county, _) = Self::pairing_reach(scope)?;
        let sql = format!("{PAIRING_SELECT} WHERE p.county_code = $1 AND p.id = $2");
        let found: Option<PairingRecord> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?
        };
        let p = found.ok_or(StoreError::NotFound)?;
        let division = DivisionCode::parse(&p.division_code).map_err(|_| StoreError::NotFound)?;
        if !scope.reaches(division) {
            return Err(StoreError::NotFound);
        }
        Ok(p)
    }

    /// Logs a contact of an active pairing.
    pub async fn log_contact(
        &self,
        scope: &Scope,
        pairing_id: &str,
        kind: &str,
        on: Option<NaiveDate>,
        note: &str,
        ip: &str,
    ) -> Result<PairingRecord, StoreError> {
        let p = self.pairing(scope, pairing_id).await?;
        if p.ended_at.is_some() {
            return Err(StoreError::Conflict {
                field: "pairing",
                code: "pairing_ended",
                message: "该结对已结束，不能再登记联系".into(),
            });
        }
        let today = self.clock().today();
        let starts = NaiveDate::parse_from_str(&p.starts_on, "%Y-%m-%d").unwrap_or(today);
        let (kind, on, note) = check_contact(kind, on, note, starts, today).map_err(invalid)?;
        let id = new_id();
        let now = self.now_ms();
        let note = self
            .keys()?
            .seal(&format!("pairing_contacts.note:{id}"), &note);
        let day = date_text(on);
        let mut tx = self.begin().await?;
        let mut s = Script::default();
        s.push(
            "INSERT INTO pairing_contacts (county_code, id, pairing_id, contacted_on, kind, note,
                 by_user, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                p.county_code.clone().into(),
                id.clone().into(),
                pairing_id.into(),
                day.clone().into(),
                kind.code().into(),
                note.into(),
                scope.user_id.clone().into(),
                now.into(),
            ],
        );
        s.push(
            "UPDATE pairings SET contacts = contacts + 1,
                 last_contact_on = CASE WHEN last_contact_on IS NULL OR last_contact_on < $3
                                        THEN $3 ELSE last_contact_on END
             WHERE county_code = $1 AND id = $2",
            vec![p.county_code.clone().into(), pairing_id.into(), day.into()],
        );
        s.run(tx.conn()).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "pairing.contact", pairing_id)
                .in_county(&p.county_code)
                .from_ip(ip)
                .detail(kind.code().to_string()),
        )
        .await?;
        tx.commit().await?;
        self.pairing(scope, pairing_id).await
    }

    /// Ends a pairing (the child moved, the helper left), with the reason.
    pub async fn end_pairing(
        &self,
        scope: &Scope,
        id: &str,
        reason: &str,
        ip: &str,
    ) -> Result<PairingRecord, StoreError> {
        let p = self.pairing(scope, id).await?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(StoreError::invalid(
                "reason",
                Invalid::new("text_length", "请写明结束结对的原因（200 字以内）"),
            ));
        }
        if p.ended_at.is_some() {
            return Err(StoreError::Conflict {
                field: "pairing",
                code: "pairing_ended",
                message: "该结对已结束".into(),
            });
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let mut s = Script::default();
        s.push(
            "UPDATE pairings SET ended_at = $3, end_reason = $4
             WHERE county_code = $1 AND id = $2 AND ended_at IS NULL",
            vec![
                p.county_code.clone().into(),
                id.into(),
                now.into(),
                reason.into(),
            ],
        );
        s.run(tx.conn()).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "pairing.end", id)
                .in_county(&p.county_code)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await?;
        self.pairing(scope, id).await
    }

    /// Where pairing stands under `division` (default the caller's): the children with no
    /// helper, the helpers silent this quarter, and the figures one level down.
    pub async fn pairing_overview(
        &self,
        scope: &Scope,
        division: Option<DivisionCode>,
    ) -> Result<PairingOverview, StoreError> {
        let (county, home) = Self::pairing_reach(scope)?;
        let under = division.filter(|d| home.contains(*d)).unwrap_or(home);
        let today = self.clock().today();
        let quarter = date_text(quarter_start(today));
        let adult = today
            .with_year(today.year() - 18)
            .unwrap_or(today - chrono::Duration::days(18 * 365));
        type Row = (String, String, String, Option<String>, Option<String>);
        let rows: Vec<Row> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT ch.id, ch.name, ch.division_code, p.id, p.last_contact_on
                 FROM children ch
                 LEFT JOIN pairings p ON p.county_code = ch.county_code AND p.child_id = ch.id
                   AND p.ended_at IS NULL AND (p.ends_on IS NULL OR p.ends_on >= $3)
                 WHERE ch.county_code = $1 AND ch.division_code LIKE $2 AND ch.birth_date > $4
                 ORDER BY ch.division_code, ch.name, ch.id"
            )
            .bind(&county)
            .bind(format!("{}%", under.prefix()))
            .bind(date_text(today))
            .bind(adult)
            .fetch_all(&mut *c)
            .await)?
        };
        let len = under.level().child().unwrap_or(Level::Village).prefix_len();
        let mut counts: Vec<PairingCount> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut total = PairingCount::default();
        let mut unpaired = Vec::new();
        for (id, name, division, pairing, last) in rows {
            let key: String = division.chars().take(len).collect();
            let i = *index.entry(key.clone()).or_insert_with(|| {
                counts.push(PairingCount {
                    division_code: key,
                    ..PairingCount::default()
                });
                counts.len() - 1
            });
            let contacted = last.as_deref().is_some_and(|d| d >= quarter.as_str());
            for c in [&mut counts[i], &mut total] {
                c.children += 1;
                c.paired += pairing.is_some() as i64;
                c.contacted += contacted as i64;
            }
            if pairing.is_none() && unpaired.len() < MAX_LISTED {
                unpaired.push(Unpaired {
                    child_id: id,
                    name,
                    division_code: division,
                });
            }
        }
        let names = self
            .division_names_of(counts.iter().map(|c| c.division_code.clone()).collect())
            .await?;
        for c in &mut counts {
            c.name = names.get(&c.division_code).cloned().unwrap_or_default();
        }
        total.division_code = under.to_string();
        let sql = format!(
            "{PAIRING_SELECT} WHERE p.county_code = $1 AND p.division_code LIKE $2
               AND p.ended_at IS NULL AND (p.ends_on IS NULL OR p.ends_on >= $3)
               AND (p.last_contact_on IS NULL OR p.last_contact_on < $4)
             ORDER BY p.division_code, p.id LIMIT {MAX_LISTED}"
        );
        let silent: Vec<PairingRecord> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .bind(format!("{}%", under.prefix()))
                .bind(date_text(today))
                .bind(&quarter)
                .fetch_all(&mut *c)
                .await)?
        };
        Ok(PairingOverview {
            quarter_start: quarter,
            unpaired,
            silent,
            by_division: counts,
            total,
        })
    }
}
