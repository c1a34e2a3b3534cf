//! The registry of units: each county's protection office and member units (made when
//! first needed, named after the county), its townships, and the agencies the office
//! registers. A unit's group robot webhook is sealed like personal data: its key is a
//! secret.

use serde::{Deserialize, Serialize};
use weibao_domain::access::{Action, Scope};
use weibao_domain::work::UnitKind;
use weibao_domain::{DivisionCode, Invalid, Level};

use super::outbox::WebhookKind;
use super::{exec, new_id};
use crate::audit::{append, AuditEvent};
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;

/// A contact person of a unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitContact {
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub phone: String,
}

/// A unit of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub id: String,
    pub county_code: String,
    pub division_code: String,
    pub kind: UnitKind,
    pub name: String,
    pub contacts: Vec<UnitContact>,
    /// The kind of group robot configured, if any (the URL never leaves the store).
    pub webhook: Option<WebhookKind>,
    pub active: bool,
    /// Its written duties (部门职责), item by item.
    pub duties: Vec<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UnitRow {
    id: String,
    county_code: String,
    division_code: String,
    kind: String,
    name: String,
    contacts: String,
    webhook_kind: String,
    active: bool,
    duties: String,
}

pub(crate) const UNIT_COLUMNS: &str =
    "id, county_code, division_code, kind, name, contacts, webhook_kind, active, duties";

impl UnitRow {
    pub(crate) fn into_unit(self) -> Unit {
        Unit {
            kind: UnitKind::parse(&self.kind).unwrap_or(UnitKind::Other),
            contacts: serde_json::from_str(&self.contacts).unwrap_or_default(),
            webhook: WebhookKind::parse(&self.webhook_kind),
            duties: serde_json::from_str(&self.duties).unwrap_or_default(),
            id: self.id,
            county_code: self.county_code,
            division_code: self.division_code,
            name: self.name,
            active: self.active,
        }
    }
}

/// A unit the office registers (an agency, a township's station under another name).
#[derive(Debug, Clone)]
pub struct NewUnit {
    pub kind: UnitKind,
    pub name: String,
    pub division: DivisionCode,
    pub contacts: Vec<UnitContact>,
}

fn check_name(name: &str) -> Result<String, StoreError> {
    let n = name.trim();
    if !(2..=60).contains(&n.chars().count()) {
        return Err(StoreError::invalid(
            "name",
            Invalid::new(
                "unit_name",
                "单位名称应为 2 到 60 个字，如：朝天区阳光社会工作服务中心",
            ),
        ));
    }
    Ok(n.to_string())
}

fn check_contacts(contacts: Vec<UnitContact>) -> Result<Vec<UnitContact>, StoreError> {
    if contacts.len() > 10 {
        return Err(StoreError::invalid(
            "contacts",
            Invalid::new("too_many", "联系人最多 10 位"),
        ));
    }
    contacts
        .into_iter()
        .map(|c| {
            let name = weibao_domain::child::parse_person_name("联系人姓名", &c.name)
                .map_err(|e| StoreError::invalid("contacts", e))?;
            let phone = match c.phone.trim() {
                "" => String::new(),
                p => weibao_domain::child::parse_phone("联系人电话", p)
                    .map_err(|e| StoreError::invalid("contacts", e))?,
            };
            Ok(UnitContact {
                name,
                title: c.title.trim().chars().take(30).collect(),
                phone,
            })
        })
        .collect()
}

impl Store {
    /// The units of the counties within the caller's reach (names are not personal data;
    /// every working account sees whom work can go to).
    pub async fn list_units(&self, scope: &Scope) -> Result<Vec<Unit>, StoreError> {
        scope
            .check_role(Action::ViewReports)
            .or_else(|_| scope.check_role(Action::ManageUnits))?;
        let prefix = scope
            .home()
            .map(|h| {
                if h.level() <= Level::County {
                    h.prefix()
                } else {
                    h.county_code()
                }
            })
            .unwrap_or_default();
        let sql = format!(
            "SELECT {UNIT_COLUMNS} FROM units WHERE county_code LIKE $1 ORDER BY county_code, kind, name LIMIT 5000"
        );
        let mut c = self.read().await?;
        let rows: Vec<UnitRow> = on!(c.conn(), |c| sqlx::query_as(&sql)
            .bind(format!("{prefix}%"))
            .fetch_all(&mut *c)
            .await)?;
        Ok(rows.into_iter().map(UnitRow::into_unit).collect())
    }

    /// A unit by id, if the caller's counties hold it.
    pub async fn unit(&self, scope: &Scope, id: &str) -> Result<Unit, StoreError> {
        let unit = self.unit_by_id(id).await?.ok_or(StoreError::NotFound)?;
        let county = DivisionCode::parse(&unit.county_code).map_err(|_| StoreError::NotFound)?;
        if !scope.is_system()
            && !scope.reaches(county)
            && scope.home().map(|h| h.county_code()) != Some(unit.county_code.clone())
        {
            return Err(StoreError::NotFound);
        }
        Ok(unit)
    }

    pub(crate) async fn unit_by_id(&self, id: &str) -> Result<Option<Unit>, StoreError> {
        let sql = format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = $1");
        let mut c = self.read().await?;
        let row: Option<UnitRow> = on!(c.conn(), |c| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut *c)
            .await)?;
        Ok(row.map(UnitRow::into_unit))
    }

    /// Registers a unit (an agency, a township under its own name, another body).
    pub async fn create_unit(&self, scope: &Scope, new: NewUnit) -> Result<Unit, StoreError> {
        scope.check(Action::ManageUnits, new.division)?;
        if new.division.level() < Level::County {
            return Err(StoreError::invalid(
                "division",
                Invalid::new(
                    "division_level",
                    "单位所在区划应为县级或以下（6 位及以上代码）",
                ),
            ));
        }
        if !self.division_exists(new.division).await? {
            return Err(StoreError::NotFound);
        }
        let name = check_name(&new.name)?;
        let contacts = check_contacts(new.contacts)?;
        if new.kind.one_per_county() {
            return Err(StoreError::invalid(
                "kind",
                Invalid::new(
                    "unit_kind_fixed",
                    format!(
                        "{}每个县只有一个，已自动建立：请在单位列表中修改它的联系人，不必新建",
                        new.kind.label()
                    ),
                ),
            ));
        }
        let mut tx = self.begin().await?;
        let unit = insert_unit(
            &mut tx,
            &new.division.county_code(),
            new.division,
            new.kind,
            &name,
            &contacts,
            self.now_ms(),
        )
        .await?;
        append(
            &mut tx,
            self.now_ms(),
            &AuditEvent::by(scope, "unit.create", &unit.id)
                .in_county(&unit.county_code)
                .detail(format!("{} {}", new.kind.code(), name)),
        )
        .await?;
        tx.commit().await?;
        Ok(unit)
    }

    /// Changes a unit's contacts, its group robot (kind and URL; an empty URL removes it)
    /// and whether it is active.
    pub async fn update_unit(
        &self,
        scope: &Scope,
        id: &str,
        contacts: Option<Vec<UnitContact>>,
        webhook: Option<(Option<WebhookKind>, String)>,
        active: Option<bool>,
    ) -> Result<Unit, StoreError> {
        let unit = self.unit(scope, id).await?;
        let division =
            DivisionCode::parse(&unit.division_code).map_err(|e| StoreError::Config(e.message))?;
        scope.check(Action::ManageUnits, division)?;
        let now = self.now_ms();
        let keys = self.keys()?;
        let mut tx = self.begin().await?;
        if let Some(contacts) = contacts {
            let contacts = check_contacts(contacts)?;
            exec(
                &mut tx,
                "UPDATE units SET contacts = $2, updated_at = $3 WHERE id = $1",
                vec![
                    id.into(),
                    serde_json::to_string(&contacts)
                        .expect("contacts serialise")
                        .into(),
                    now.into(),
                ],
            )
            .await?;
        }
        if let Some((kind, url)) = webhook {
            let url = url.trim().to_string();
            let (kind, sealed) = match (kind, url.is_empty()) {
                (_, true) => (String::new(), String::new()),
                (None, false) => {
                    return Err(StoreError::invalid(
                        "webhook_kind",
                        Invalid::new(
                            "webhook_kind",
                            "请选择群机器人类型：wecom（企业微信）或 dingtalk（钉钉）",
                        ),
                    ))
                }
                (Some(k), false) => {
                    if !(url.starts_with("https://") || url.starts_with("http://"))
                        || url.len() > 500
                    {
                        return Err(StoreError::invalid(
                            "webhook_url",
                            Invalid::new("webhook_url", "群机器人地址应为 https:// 开头的网址（在群设置的“群机器人”中复制）"),
                        ));
                    }
                    (
                        k.code().to_string(),
                        keys.seal(&format!("units.webhook_url:{id}"), &url),
                    )
                }
            };
            exec(
                &mut tx,
                "UPDATE units SET webhook_kind = $2, webhook_url = $3, updated_at = $4 WHERE id = $1",
                vec![id.into(), kind.into(), sealed.into(), now.into()],
            )
            .await?;
        }
        if let Some(active) = active {
            exec(
                &mut tx,
                "UPDATE units SET active = $2, updated_at = $3 WHERE id = $1",
                vec![id.into(), active.into(), now.into()],
            )
            .await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "unit.update", id).in_county(&unit.county_code),
        )
        .await?;
        tx.commit().await?;
        self.unit(scope, id).await
    }

    /// The webhook of a unit, opened (for the delivery worker only).
    pub(crate) async fn unit_webhook(
        &self,
        id: &str,
    ) -> Result<Option<(WebhookKind, String)>, StoreError> {
        let mut c = self.read().await?;
        let row: Option<(String, String)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT webhook_kind, webhook_url FROM units WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
        drop(c);
        let Some((kind, url)) = row else {
            return Ok(None);
        };
        let Some(kind) = WebhookKind::parse(&kind) else {
            return Ok(None);
        };
        if url.is_empty() {
            return Ok(None);
        }
        let url = self
            .keys()?
            .open(&format!("units.webhook_url:{id}"), &url)?;
        Ok(Some((kind, url)))
    }
}

pub(crate) async fn insert_unit(
    tx: &mut Tx,
    county: &str,
    division: DivisionCode,
    kind: UnitKind,
    name: &str,
    contacts: &[UnitContact],
    now: i64,
) -> Result<Unit, StoreError> {
    let id = new_id();
    let inserted = exec(
        tx,
        "INSERT INTO units (id, county_code, division_code, kind, name, contacts, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (county_code, name) DO NOTHING",
        vec![
            id.clone().into(),
            county.into(),
            division.full().into(),
            kind.code().into(),
            name.into(),
            serde_json::to_string(contacts).expect("contacts serialise").into(),
            now.into(),
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict {
            field: "name",
            code: "unit_exists",
            message: format!("本县已有名为“{name}”的单位"),
        });
    }
    Ok(Unit {
        id,
        county_code: county.into(),
        division_code: division.full(),
        kind,
        name: name.into(),
        contacts: contacts.to_vec(),
        webhook: None,
        active: true,
        duties: vec![],
    })
}

/// The county's unit of `kind` (its office, its police...), made when first needed; or a
/// township's unit. `place` is the county (or township) whose unit is wanted.
pub(crate) async fn unit_for(
    tx: &mut Tx,
    place: DivisionCode,
    kind: UnitKind,
    now: i64,
) -> Result<Unit, StoreError> {
    let county = place.county_code();
    let (division, wanted_kind) = if kind == UnitKind::Township {
        (place.at_level(Level::Township), kind)
    } else {
        (
            DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?,
            kind,
        )
    };
    let sql = format!(
        "SELECT {UNIT_COLUMNS} FROM units WHERE county_code = $1 AND kind = $2 AND division_code = $3
         ORDER BY created_at LIMIT 1"
    );
    let found: Option<UnitRow> = on!(tx.conn(), |c| sqlx::query_as(&sql)
        .bind(&county)
        .bind(wanted_kind.code())
        .bind(division.full())
        .fetch_optional(&mut *c)
        .await)?;
    if let Some(row) = found {
        return Ok(row.into_unit());
    }
    let place_name: Option<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
        "SELECT name FROM divisions WHERE code = $1"
    )
    .bind(division.full())
    .fetch_optional(&mut *c)
    .await)?;
    let place_name = place_name.map(|(n,)| n).unwrap_or_else(|| division.full());
    let name = if kind == UnitKind::Township {
        format!("{place_name}人民政府（未成年人保护工作站）")
    } else {
        kind.default_name(&place_name)
    };
    match insert_unit(tx, &county, division, kind, &name, &[], now).await {
        Ok(u) => Ok(u),
        // A unit under that name made by hand: use it.
        Err(StoreError::Conflict { .. }) => {
            let sql =
                format!("SELECT {UNIT_COLUMNS} FROM units WHERE county_code = $1 AND name = $2");
            let row: UnitRow = on!(tx.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .bind(&name)
                .fetch_one(&mut *c)
                .await)?;
            Ok(row.into_unit())
        }
        Err(e) => Err(e),
    }
}

impl Store {
    /// The county's unit of a kind (made when first needed): the office, the police.
    pub async fn county_unit(
        &self,
        county: DivisionCode,
        kind: UnitKind,
    ) -> Result<Unit, StoreError> {
        let mut tx = self.begin().await?;
        let unit = unit_for(&mut tx, county, kind, self.now_ms()).await?;
        tx.commit().await?;
        Ok(unit)
    }
}
