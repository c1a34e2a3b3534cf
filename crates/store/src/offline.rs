//! Offline visits (离线探访): the phones that hold a director's worklist for the road, and
//! what the worklist carries.
//!
//! A phone registers once after sign-in and gets a random 256-bit key, handed out once and
//! never kept here: the phone holds it as a non-extractable WebCrypto key and encrypts all it
//! keeps with it. The server keeps only the device's row: whose it is, when it last
//! synced, how many children it holds, and whether the office revoked it. A revoked device,
//! or any device of a disabled account, is told so on its next contact (without a
//! session: the device id is an unguessable 122-bit UUID and says nothing else) and wipes
//! itself.

use base64::Engine;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use weibao_domain::access::{Action, Scope};
use weibao_domain::child::Category;
use weibao_domain::visit::{CheckItem, Finding};

use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// How many children a phone downloads at most (a village has tens to a few hundred; a
/// township supervisor's worklist is cut to its most urgent).
pub const MAX_OFFLINE_CHILDREN: i64 = 1000;

/// Setting: days a phone keeps its downloaded data without contact (1 to 90; default 7).
pub const OFFLINE_DAYS: &str = "offline_days";
const OFFLINE_DAYS_DEFAULT: i64 = 7;

/// One phone that holds (or held) downloaded data.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OfflineDevice {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub label: String,
    pub created_at: i64,
    pub last_sync_at: i64,
    pub children: i64,
    pub revoked_at: Option<i64>,
    pub wiped_at: Option<i64>,
}

/// What a device is told on contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    Active,
    /// Revoked by the office, signed out (wiped), or its account disabled: wipe.
    Revoked,
}

/// One child of the downloaded worklist: what a visit needs and no more.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineChild {
    pub id: String,
    pub version: i64,
    pub name: String,
    pub division_code: String,
    pub place: String,
    pub risk: &'static str,
    pub categories: Vec<&'static str>,
    pub left_behind: bool,
    pub caregiver: String,
    pub due_date: NaiveDate,
    pub overdue: bool,
    /// The check items the form asks for this child.
    pub checks: Vec<&'static str>,
    /// SHA-256 (hex) of the card's token: the phone finds the child of a scanned card by it
    /// and never keeps the token.
    pub card_hash: Option<String>,
    pub last_visit: Option<LastVisit>,
}

/// The last visit's findings, for the next visitor.
#[derive(Debug, Clone, PartialEq)]
pub struct LastVisit {
    pub on: NaiveDate,
    pub risk_after: &'static str,
    /// Items not found normal, as "item：finding（note）".
    pub findings: Vec<String>,
    pub needs: String,
}

/// The hash a phone looks a card up by (lowercase hex SHA-256 of the token).
pub fn card_hash(token: &str) -> String {
    crate::crypto::hex(&Sha256::digest(
        token.trim().to_ascii_lowercase().as_bytes(),
    ))
}

const DEVICE_COLUMNS: &str = "d.id, d.user_id, u.username, u.display_name, d.label,
    d.created_at, d.last_sync_at, d.children, d.revoked_at, d.wiped_at";

impl Store {
    /// Registers the caller's phone; returns it and its data key (base64, 32 bytes), which
    /// is not kept here.
    pub async fn register_device(
        &self,
        scope: &Scope,
        label: &str,
        ip: &str,
    ) -> Result<(OfflineDevice, String), StoreError> {
        scope.check_role(Action::RecordVisits)?;
        let label: String = label.trim().chars().take(120).collect();
        let label = if label.is_empty() {
            "未命名设备".to_string()
        } else {
            label
        };
        let id = uuid::Uuid::new_v4().to_string();
        let key =
            base64::engine::general_purpose::STANDARD.encode(crate::crypto::random_bytes::<32>());
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO offline_devices (id, user_id, county_code, label, created_at,
                 last_sync_at, children)
             VALUES ($1, $2, $3, $4, $5, $5, 0)"
        )
        .bind(&id)
        .bind(&scope.user_id)
        .bind(scope.county_code())
        .bind(&label)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "offline.device.register", &id)
                .from_ip(ip)
                .detail(format!("label={label}")),
        )
        .await?;
        tx.commit().await?;
        let device = self.device(&id).await?.ok_or(StoreError::NotFound)?;
        Ok((device, key))
    }

    /// Days a phone at `at` keeps its data without contact (setting `offline_days`).
    pub async fn offline_days(
        &self,
        at: Option<weibao_domain::DivisionCode>,
    ) -> Result<i64, StoreError> {
        Ok(self
            .setting_json(OFFLINE_DAYS, at, self.clock.today())
            .await?
            .and_then(|v| v.as_i64())
            .filter(|d| (1..=90).contains(d))
            .unwrap_or(OFFLINE_DAYS_DEFAULT))
    }

    async fn device(&self, id: &str) -> Result<Option<OfflineDevice>, StoreError> {
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM offline_devices d JOIN users u ON u.id = d.user_id
             WHERE d.id = $1"
        );
        Ok(on!(conn.conn(), |c| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut *c)
            .await)?)
    }

    /// What an unauthenticated device learns about itself: active, or wipe.
    pub async fn device_state(&self, id: &str) -> Result<DeviceState, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(Option<i64>, Option<i64>, bool)> = on!(conn.conn(), |c| {
            sqlx::query_as(
                "SELECT d.revoked_at, d.wiped_at, u.disabled
                 FROM offline_devices d JOIN users u ON u.id = d.user_id WHERE d.id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *c)
            .await
        })?;
        Ok(match row {
            Some((None, None, false)) => DeviceState::Active,
            // An unknown id is told to wipe too: a phone whose row is gone holds nothing
            // it may keep.
            _ => DeviceState::Revoked,
        })
    }

    /// The caller's own device, refused when revoked (the phone then wipes).
    async fn own_device(&self, scope: &Scope, id: &str) -> Result<OfflineDevice, StoreError> {
        let device = self.device(id).await?;
        match device {
            Some(d) if d.user_id == scope.user_id => {
                if d.revoked_at.is_some() || d.wiped_at.is_some() {
                    Err(StoreError::Conflict {
                        field: "device",
                        code: "device_revoked",
                        message: "这台设备的离线数据已被收回，请重新登录后再下载".into(),
                    })
                } else {
                    Ok(d)
                }
            }
            _ => Err(StoreError::NotFound),
        }
    }

    /// The worklist a device downloads (children due within the worklist's horizon and
    /// overdue, most urgent first, at most [`MAX_OFFLINE_CHILDREN`]); records the sync.
    pub async fn offline_worklist(
        &self,
        scope: &Scope,
        device_id: &str,
        ip: &str,
    ) -> Result<Vec<OfflineChild>, StoreError> {
        scope.check_role(Action::RecordVisits)?;
        self.own_device(scope, device_id).await?;
        let per_page = 200;
        let mut due = Vec::new();
        let mut page = 1;
        loop {
            let (items, _) = self.due_list(scope, None, page, per_page).await?;
            let last = (items.len() as i64) < per_page;
            due.extend(items);
            if last || due.len() as i64 >= MAX_OFFLINE_CHILDREN {
                break;
            }
            page += 1;
        }
        due.truncate(MAX_OFFLINE_CHILDREN as usize);
        let mut out = Vec::with_capacity(due.len());
        // A village's name once, not once for each of its children.
        let mut places: std::collections::HashMap<String, String> = Default::default();
        for item in &due {
            let child = match self
                .child_by_id(scope, &item.child_id, Action::RecordVisits)
                .await
            {
                Ok(c) => c,
                // Moved away or out of reach since the list was read.
                Err(StoreError::NotFound | StoreError::Forbidden) => continue,
                Err(e) => return Err(e),
            };
            let token: Option<String> = {
                let mut conn = self.read().await?;
                let (t,): (Option<String>,) = on!(conn.conn(), |c| sqlx::query_as(
                    "SELECT card_token FROM children WHERE county_code = $1 AND id = $2"
                )
                .bind(&child.county_code)
                .bind(&child.id)
                .fetch_one(&mut *c)
                .await)?;
                t
            };
            let visits = self.child_visits(scope, &child.id).await?;
            let last_visit = visits
                .iter()
                .max_by_key(|v| v.record.visited_at)
                .map(|v| LastVisit {
                    on: v.record.visited_at.date_naive(),
                    risk_after: v.record.risk_after.label(),
                    findings: v
                        .record
                        .checks
                        .iter()
                        .filter(|c| c.finding != Finding::Normal)
                        .map(|c| {
                            if c.note.is_empty() {
                                format!("{}：{}", c.item.label(), c.finding.label())
                            } else {
                                format!("{}：{}（{}）", c.item.label(), c.finding.label(), c.note)
                            }
                        })
                        .collect(),
                    needs: v.record.needs.clone(),
                });
            let left_behind = child.effective.contains(Category::RuralLeftBehind);
            let division = child.record.division();
            let place = match places.get(&division.full()) {
                Some(p) => p.clone(),
                None => {
                    let p = self.place_name(division).await.unwrap_or_default();
                    places.insert(division.full(), p.clone());
                    p
                }
            };
            out.push(OfflineChild {
                id: child.id.clone(),
                version: child.version,
                name: child.record.name.clone(),
                division_code: child.record.division().full(),
                place,
                risk: child.record.risk.label(),
                categories: child.effective.iter().map(|c| c.label()).collect(),
                left_behind,
                caregiver: child
                    .record
                    .guardians
                    .iter()
                    .find(|g| g.actual_caregiver)
                    .map(|g| format!("{}（{}）", g.name, g.relationship))
                    .unwrap_or_default(),
                due_date: item.due_date,
                overdue: item.overdue,
                checks: CheckItem::CORE
                    .iter()
                    .copied()
                    .chain(left_behind.then_some(CheckItem::ParentContact))
                    .map(CheckItem::label)
                    .collect(),
                card_hash: token.as_deref().map(card_hash),
                last_visit,
            });
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "UPDATE offline_devices SET last_sync_at = $2, children = $3 WHERE id = $1"
        )
        .bind(device_id)
        .bind(now)
        .bind(out.len() as i64)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "offline.download", device_id)
                .from_ip(ip)
                .detail(format!("children={}", out.len())),
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A device's contact without a download (sending visits): notes when it synced.
    pub async fn device_contact(&self, scope: &Scope, device_id: &str) -> Result<(), StoreError> {
        scope.check_role(Action::RecordVisits)?;
        self.own_device(scope, device_id).await?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "UPDATE offline_devices SET last_sync_at = $2 WHERE id = $1"
        )
        .bind(device_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
        tx.commit().await?;
        Ok(())
    }

    /// The devices of the accounts within the office's reach, most recently synced first.
    pub async fn offline_devices(&self, scope: &Scope) -> Result<Vec<OfflineDevice>, StoreError> {
        scope.check_role(Action::ManageUsers)?;
        let within = scope.home().ok_or(StoreError::NotFound)?;
        let (lo, hi) = within.subtree_bounds();
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM offline_devices d JOIN users u ON u.id = d.user_id
             WHERE u.division_code >= $1 AND u.division_code <= $2
             ORDER BY d.last_sync_at DESC, d.id"
        );
        Ok(on!(conn.conn(), |c| sqlx::query_as(&sql)
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&mut *c)
            .await)?)
    }

    /// Ends a device's hold on data: the office revokes it (`wiped` false), or its owner
    /// signed out and wiped it (`wiped` true). Audited.
    pub async fn end_device(
        &self,
        scope: &Scope,
        device_id: &str,
        wiped: bool,
        ip: &str,
    ) -> Result<OfflineDevice, StoreError> {
        let device = self.device(device_id).await?.ok_or(StoreError::NotFound)?;
        if wiped {
            if device.user_id != scope.user_id {
                return Err(StoreError::NotFound);
            }
        } else {
            scope.check_role(Action::ManageUsers)?;
            let owner = self
                .devices_owner_division(&device.user_id)
                .await?
                .ok_or(StoreError::NotFound)?;
            scope.check(Action::ManageUsers, owner)?;
        }
        let now = self.now_ms();
        let column = if wiped { "wiped_at" } else { "revoked_at" };
        let mut tx = self.begin().await?;
        let sql =
            format!("UPDATE offline_devices SET {column} = COALESCE({column}, $2) WHERE id = $1");
        on!(tx.conn(), |c| sqlx::query(&sql)
            .bind(device_id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|_| ()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(
                scope,
                if wiped {
                    "offline.device.wipe"
                } else {
                    "offline.device.revoke"
                },
                device_id,
            )
            .from_ip(ip)
            .detail(format!("user={}", device.username)),
        )
        .await?;
        tx.commit().await?;
        self.device(device_id).await?.ok_or(StoreError::NotFound)
    }

    async fn devices_owner_division(
        &self,
        user_id: &str,
    ) -> Result<Option<weibao_domain::DivisionCode>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT division_code FROM users WHERE id = $1"
        )
        .bind(user_id)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(row.and_then(|(d,)| weibao_domain::DivisionCode::parse(&d).ok()))
    }
}
