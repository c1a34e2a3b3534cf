//! The children's ledger (儿童信息台账): records, versions, the platform-wide ID registry,
//! lists with filters, and transfers between villages.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::QueryBuilder;
use weibao_domain::access::{Action, Scope};
use weibao_domain::categories::{
    birth_cutoff, check_categories, effective_categories, implied_categories, ChildFacts,
    Discrepancy, RuleParams,
};
use weibao_domain::child::{Category, CategorySet, Risk, SchoolStatus, Support};
use weibao_domain::record::{diff, ChildPatch, ChildRecord, FieldChange};
use weibao_domain::{DivisionCode, IdNumber, Invalid, Level, Sex};

use crate::audit::{append, AuditEvent};
use crate::child_kin::{put_kin, ChildKin};
use crate::db::{Conn, Store, Tx};
use crate::error::StoreError;
use crate::keys::FieldKeys;
use crate::on;
use crate::stats::ledger::Counted;
use crate::visits::first_due;
use crate::Total;

/// Rows per multi-row INSERT of an import (22 binds each: under both databases' limits).
const IMPORT_BATCH: usize = 500;

/// Where a record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildStatus {
    Active,
    /// A transfer to another village awaits acceptance.
    Transferring,
}

impl ChildStatus {
    fn as_str(self) -> &'static str {
        match self {
            ChildStatus::Active => "active",
            ChildStatus::Transferring => "transferring",
        }
    }

    fn parse(s: &str) -> ChildStatus {
        if s == "transferring" {
            ChildStatus::Transferring
        } else {
            ChildStatus::Active
        }
    }
}

/// A record as stored, with what the rules say about it today.
#[derive(Debug, Clone)]
pub struct StoredChild {
    pub id: String,
    pub county_code: String,
    pub record: ChildRecord,
    pub status: ChildStatus,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Categories still in force today (留守 ends at 16).
    pub effective: CategorySet,
    /// Where the recorded categories disagree with the facts.
    pub discrepancies: Vec<Discrepancy>,
    /// Still a minor (in the active ledger).
    pub active: bool,
}

/// One row of a ledger list (no personal details beyond what lists show).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChildSummary {
    pub id: String,
    pub county_code: String,
    pub division_code: String,
    pub division_name: Option<String>,
    pub name: String,
    pub id_masked: String,
    pub birth_date: NaiveDate,
    pub sex: String,
    pub school_status: String,
    pub support_bits: i64,
    pub category_bits: i64,
    pub risk: String,
    pub status: String,
    pub updated_at: i64,
}

impl ChildSummary {
    pub fn categories(&self) -> CategorySet {
        CategorySet::from_bits(self.category_bits as u32)
    }

    pub fn support(&self) -> Vec<Support> {
        Support::ALL
            .iter()
            .copied()
            .filter(|s| self.support_bits & (1 << (*s as u32)) != 0)
            .collect()
    }
}

/// How a list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildSort {
    /// By village, then name (the ledger's own order).
    #[default]
    Division,
    Name,
    /// Youngest first.
    Age,
    /// Highest risk first.
    Risk,
    /// Most recently changed first.
    Updated,
}

/// Filters of a ledger list; `division` always means the subtree.
#[derive(Debug, Clone, Default)]
pub struct ChildFilter {
    pub division: Option<DivisionCode>,
    pub category: Option<Category>,
    pub risk: Option<Risk>,
    pub sex: Option<Sex>,
    pub school: Option<SchoolStatus>,
    pub support: Option<Support>,
    /// Age band in completed years, inclusive.
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    /// Name (汉字), pinyin initials, or a 身份证号.
    pub q: Option<String>,
    /// Include those who have turned 18 (history).
    pub include_adults: bool,
    pub sort: ChildSort,
    pub page: u32,
    pub per_page: u32,
}

/// A version in a child's history.
#[derive(Debug, Clone, Serialize)]
pub struct ChildVersion {
    pub version: i64,
    pub at: i64,
    pub actor_name: String,
    pub kind: String,
    pub changes: Vec<FieldChange>,
}

/// A request to move a child to another village.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Transfer {
    pub county_code: String,
    pub id: String,
    pub child_id: String,
    pub from_division: String,
    pub to_division: String,
    pub status: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: String,
}

/// Details kept as JSON: everything the list does not filter on.
#[derive(Serialize, Deserialize)]
struct Details {
    #[serde(flatten)]
    record: ChildRecord,
}

#[derive(sqlx::FromRow)]
struct ChildRow {
    county_code: String,
    id: String,
    division_code: String,
    id_number: String,
    status: String,
    details: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

/// The columns of a [`ChildSummary`], for lists and exports (filters are pushed after).
/// The list's default order. county_code is the division code's first six digits: naming
/// it first lets a city- or province-wide list walk the list index instead of sorting.
pub(crate) const DIVISION_ORDER: &str =
    " ORDER BY ch.county_code, ch.division_code, ch.name, ch.id";

pub(crate) const SUMMARY_SELECT: &str =
    "SELECT ch.id, ch.county_code, ch.division_code, d.name AS division_name,
        ch.name, ch.id_masked, ch.birth_date, ch.sex, ch.school_status, ch.support_bits,
        ch.category_bits, ch.risk, ch.status, ch.updated_at
     FROM children ch LEFT JOIN divisions d ON d.code = ch.division_code WHERE ";

const CHILD_COLUMNS: &str =
    "county_code, id, division_code, id_number, status, details, version, created_at, updated_at";

/// Pinyin initials of a name, lower case: 张小花 → zxh. Letters pass through.
pub fn name_initials(name: &str) -> String {
    use pinyin::ToPinyin;
    name.chars()
        .filter_map(|c| match c.to_pinyin() {
            Some(p) => p.first_letter().chars().next(),
            None if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            None => None,
        })
        .collect()
}

fn facts_of(r: &ChildRecord) -> ChildFacts {
    ChildFacts {
        birth_date: r.id_number().birth_date(),
        hukou: r.hukou,
        father: r.father.clone(),
        mother: r.mother.clone(),
        disability: r.disability,
        health: r.health,
        support: r.support.clone(),
    }
}

pub(crate) fn invalid_field(e: weibao_domain::record::FieldError) -> StoreError {
    StoreError::Invalid {
        field: intern(e.field),
        invalid: e.invalid,
    }
}

/// Field names of nested inputs ("guardians[1].phone") are built at run time; errors carry
/// `&'static str`. The set is finite (fields x at most 10 guardians), so interning them
/// costs a few kilobytes once.
pub(crate) fn intern(field: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().expect("field name set");
    let set = names.get_or_insert_with(HashSet::new);
    if let Some(known) = set.get(field.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(field.into_boxed_str());
    set.insert(leaked);
    leaked
}

impl Store {
    async fn rules_for(&self, at: DivisionCode) -> Result<(RuleParams, Vec<String>), StoreError> {
        let (params, subtypes, _) = self.rules_and_policy(at).await?;
        Ok((params, subtypes))
    }

    /// The category rules, the 困境儿童 sub-types and the visit policy in force at a
    /// division today, read in one query.
    pub(crate) async fn rules_and_policy(
        &self,
        at: DivisionCode,
    ) -> Result<(RuleParams, Vec<String>, weibao_domain::visit::PolicyBook), StoreError> {
        use crate::settings::{rule_book_of, subtypes_on, CATEGORY_RULES, DISTRESS_SUBTYPES};
        let today = self.clock.today();
        let mut found = self
            .settings_for(
                &[
                    CATEGORY_RULES,
                    DISTRESS_SUBTYPES,
                    crate::visits::VISIT_POLICY,
                ],
                Some(at),
            )
            .await?
            .into_iter();
        let (rules, subtypes, policy) = (
            found.next().unwrap_or_default(),
            found.next().unwrap_or_default(),
            found.next().unwrap_or_default(),
        );
        Ok((
            rule_book_of(rules).on(today).clone(),
            subtypes_on(&subtypes, today),
            crate::visits::policy_book_of(policy),
        ))
    }

    fn stored(&self, row: ChildRow, params: &RuleParams) -> Result<StoredChild, StoreError> {
        let keys = self.keys()?;
        let details = keys.open(&format!("children.details:{}", row.id), &row.details)?;
        let number = keys.open(&format!("children.id_number:{}", row.id), &row.id_number)?;
        let mut record: ChildRecord = serde_json::from_str::<Details>(&details)
            .map(|d| d.record)
            .map_err(|e| StoreError::Config(format!("儿童记录 {} 的内容无法读取：{e}", row.id)))?;
        let today = self.clock.today();
        record.id_number = Some(
            IdNumber::parse(&number, today)
                .map_err(|e| StoreError::Config(format!("儿童记录 {}：{e}", row.id)))?,
        );
        record.division = Some(
            DivisionCode::parse(&row.division_code)
                .map_err(|e| StoreError::Config(format!("儿童记录 {}：{e}", row.id)))?,
        );
        let birth = record.id_number().birth_date();
        let facts = facts_of(&record);
        Ok(StoredChild {
            effective: effective_categories(record.categories, birth, params, today),
            discrepancies: check_categories(record.categories, &facts, params, today),
            active: weibao_domain::categories::in_active_ledger(birth, params, today),
            id: row.id,
            county_code: row.county_code,
            status: ChildStatus::parse(&row.status),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            record,
        })
    }

    /// Registers a child. Categories left out are set to what the facts imply.
    /// An ID already in the ledger is a conflict that says where the child is.
    pub async fn create_child(
        &self,
        scope: &Scope,
        patch: ChildPatch,
        ip: &str,
    ) -> Result<StoredChild, StoreError> {
        let keys = self.keys()?;
        scope.check_role(Action::EditChildren)?;
        let today = self.clock.today();
        // The division decides the local rules; parse it first to find them.
        let division = patch
            .division
            .as_deref()
            .map(DivisionCode::parse)
            .transpose()
            .map_err(|e| StoreError::invalid("division", e))?;
        let (params, subtypes) = match division {
            Some(d) => self.rules_for(d).await?,
            None => (RuleParams::default(), Vec::new()),
        };
        let categories_given = patch.categories.is_some();
        let mut record = patch
            .apply(None, today, params.adult_age, &subtypes)
            .map_err(invalid_field)?;
        let division = record.division();
        scope.check(Action::EditChildren, division)?;
        if !self.division_exists(division).await? {
            return Err(StoreError::invalid(
                "division",
                Invalid::new(
                    "division_unknown",
                    format!("村（居）代码 {division} 不在区划库中"),
                ),
            ));
        }
        if !categories_given {
            record.categories = implied_categories(&facts_of(&record), &params, today)
                .into_iter()
                .map(|i| i.category)
                .collect();
        }
        if record.has(Category::AffectedByHiv) && !scope.designated {
            return Err(StoreError::Forbidden);
        }
        if record.director_id.is_none() {
            record.director_id = self.village_director(division).await?;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let county = division.county_code();
        let now = self.now_ms();
        let due_on = first_due(self.visit_policy(Some(division)).await?.on(today), today);
        let mut tx = self.begin().await?;
        self.register_id(&mut tx, scope, &record, &county, &id)
            .await?;
        insert_child(
            tx.conn(),
            &keys,
            &county,
            &id,
            &record,
            ChildStatus::Active,
            1,
            now,
            due_on,
        )
        .await?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO child_locator (id, county_code) VALUES ($1, $2)"
        )
        .bind(&id)
        .bind(&county)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        insert_version(
            tx.conn(),
            &keys,
            &county,
            &id,
            1,
            now,
            scope,
            "create",
            &diff(None, &record),
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "child.create", &id)
                .in_county(&county)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await?;
        self.child_changed(&id);
        self.child_by_id(scope, &id, Action::ViewChildren).await
    }

    /// Claims the ID's registry entry for `child_id`, or answers the conflict.
    async fn register_id(
        &self,
        tx: &mut Tx,
        scope: &Scope,
        record: &ChildRecord,
        county: &str,
        child_id: &str,
    ) -> Result<(), StoreError> {
        let keys = self.keys()?;
        let index = keys.index(record.id_number().as_str());
        let inserted = on!(tx.conn(), |c| {
            sqlx::query(
            "INSERT INTO child_id_registry (id_index, county_code, child_id) VALUES ($1, $2, $3)
             ON CONFLICT (id_index) DO NOTHING"
        )
        .bind(&index)
        .bind(county)
        .bind(child_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if inserted == 1 {
            return Ok(());
        }
        // Who holds it. On a cluster the holder's registry row and its record commit on
        // different workers one after the other (there is no global snapshot), so a
        // registration racing this one may show its registry row before its record: then
        // the number is taken, and where is not known yet.
        let holder: Option<(String, String)> = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT county_code, child_id FROM child_id_registry WHERE id_index = $1"
        )
        .bind(&index)
        .fetch_optional(&mut *c)
        .await)?;
        let record: Option<(String, bool)> = match &holder {
            Some((other_county, other_id)) => on!(tx.conn(), |c| {
                sqlx::query_as(
                "SELECT division_code, sensitive FROM children WHERE county_code = $1 AND id = $2"
            )
            .bind(other_county)
            .bind(other_id)
            .fetch_optional(&mut *c)
            .await
            })?,
            None => None,
        };
        let (Some((_, other_id)), Some((division, sensitive))) = (holder, record) else {
            return Err(StoreError::Conflict {
                field: "id_number",
                code: "id_number_registered",
                message: "该身份证号刚刚已由另一处登记，请稍后在台账中查找该儿童".into(),
            });
        };
        let code = DivisionCode::parse(&division).map_err(|e| StoreError::Config(e.message))?;
        let place = self.place_name(code).await?;
        let visible = scope.reaches(code)
            && weibao_domain::access::allows(scope.role, Action::ViewChildren)
            && (!sensitive || scope.designated);
        Err(StoreError::Conflict {
            field: "id_number",
            code: "id_number_registered",
            message: if visible {
                format!("该身份证号已在台账中（{place}，记录 {other_id}），请直接打开该记录修改")
            } else {
                format!(
                    "该身份证号已登记在{place}。如儿童已搬到本村，请联系对方办理迁移（转出后由本村接收）"
                )
            },
        })
    }

    /// "四川省广元市朝天区朝天镇朝天村村民委员会" for a division code.
    pub async fn place_name(&self, code: DivisionCode) -> Result<String, StoreError> {
        let path = self.division_path(&Scope::system(), code).await?;
        Ok(path
            .iter()
            .filter(|d| d.level() >= Level::County)
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(""))
    }

    /// The village's director, if it has one.
    pub(crate) async fn village_director(
        &self,
        village: DivisionCode,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(String,)> = on!(conn.conn(), |c| {
            sqlx::query_as(
            "SELECT id FROM users WHERE division_code = $1 AND role = 'director' AND NOT disabled
             ORDER BY created_at LIMIT 1"
        )
        .bind(village.full())
        .fetch_optional(&mut *c)
        .await
        })?;
        Ok(row.map(|(id,)| id))
    }

    pub(crate) async fn locate(&self, id: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT county_code FROM child_locator WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(row.map(|(c,)| c))
    }

    /// Loads a record the caller may see for `action` (outside the subtree, sensitive
    /// without designation, or unknown: not found). Not audited: callers audit.
    pub(crate) async fn child_by_id(
        &self,
        scope: &Scope,
        id: &str,
        action: Action,
    ) -> Result<StoredChild, StoreError> {
        Ok(self.child_with_policy(scope, id, action).await?.0)
    }

    /// [`Self::child_by_id`], and the visit policy in force at the child's village.
    pub(crate) async fn child_with_policy(
        &self,
        scope: &Scope,
        id: &str,
        action: Action,
    ) -> Result<(StoredChild, weibao_domain::visit::PolicyBook), StoreError> {
        scope.check_role(action)?;
        // The county (the partition) from the locator, then the row. On SQLite both in one
        // statement (one round trip to the connection's thread); on PostgreSQL (Citus)
        // the county must be a value for the query to go to one shard.
        let (sql, county) = match self.backend() {
            crate::Backend::Sqlite => (
                format!(
                    "SELECT {CHILD_COLUMNS}, sensitive FROM children
                     WHERE county_code = (SELECT county_code FROM child_locator WHERE id = $1)
                       AND id = $1"
                ),
                None,
            ),
            crate::Backend::Postgres => match self.locate(id).await? {
                Some(county) => (
                    format!(
                        "SELECT {CHILD_COLUMNS}, sensitive FROM children
                         WHERE id = $1 AND county_code = $2"
                    ),
                    Some(county),
                ),
                None => return Err(StoreError::NotFound),
            },
        };
        let mut conn = self.read().await?;
        #[derive(sqlx::FromRow)]
        struct WithSensitive {
            #[sqlx(flatten)]
            row: ChildRow,
            sensitive: bool,
        }
        let found: Option<WithSensitive> = on!(conn.conn(), |c| {
            let q = sqlx::query_as(&sql).bind(id);
            match &county {
                Some(county) => q.bind(county),
                None => q,
            }
            .fetch_optional(&mut *c)
            .await
        })?;
        drop(conn);
        let Some(found) = found else {
            return Err(StoreError::NotFound);
        };
        let division = DivisionCode::parse(&found.row.division_code)
            .map_err(|e| StoreError::Config(e.message))?;
        scope.check(action, division)?;
        if found.sensitive && !scope.designated {
            return Err(StoreError::NotFound);
        }
        let (params, _, policy) = self.rules_and_policy(division).await?;
        Ok((self.stored(found.row, &params)?, policy))
    }

    /// A member unit reads a child only while a referral (or a case task) to it is open
    /// and for the grace days after (the grant rows the referral wrote); otherwise, and
    /// for 受艾滋病影响儿童 without designation, not found.
    async fn child_by_grant(&self, scope: &Scope, id: &str) -> Result<StoredChild, StoreError> {
        let unit = scope.unit_id.as_deref().ok_or(StoreError::NotFound)?;
        let (child, _) = self
            .child_with_policy(&Scope::system(), id, Action::ViewChildren)
            .await?;
        if !self.unit_may_read(&child.county_code, id, unit).await? {
            return Err(StoreError::NotFound);
        }
        if child
            .record
            .has(weibao_domain::child::Category::AffectedByHiv)
            && !scope.designated
        {
            return Err(StoreError::NotFound);
        }
        Ok(child)
    }

    /// Reads a record (audited as a read of personal data; `reveal` also audits that the
    /// full 身份证号 and phone numbers were shown, and needs a role that may see them).
    pub async fn read_child(
        &self,
        scope: &Scope,
        id: &str,
        reveal: bool,
        ip: &str,
    ) -> Result<StoredChild, StoreError> {
        let child = if scope.by_referral(Action::ViewChildren) {
            self.child_by_grant(scope, id).await?
        } else {
            self.child_by_id(scope, id, Action::ViewChildren).await?
        };
        if reveal {
            scope.check(Action::RevealChild, child.record.division())?;
        }
        let action = if reveal { "child.reveal" } else { "child.read" };
        self.audit(
            AuditEvent::by(scope, action, id)
                .in_county(&child.county_code)
                .from_ip(ip),
        )
        .await?;
        Ok(child)
    }

    /// Changes a record. The village cannot change here (that is a transfer, accepted by
    /// the receiving side); `expected_version`, when given, refuses a stale edit.
    pub async fn update_child(
        &self,
        scope: &Scope,
        id: &str,
        patch: ChildPatch,
        expected_version: Option<i64>,
        ip: &str,
    ) -> Result<StoredChild, StoreError> {
        let keys = self.keys()?;
        let current = self.child_by_id(scope, id, Action::EditChildren).await?;
        if let Some(d) = patch.division.as_deref() {
            let wanted = DivisionCode::parse(d).map_err(|e| StoreError::invalid("division", e))?;
            if wanted != current.record.division() {
                return Err(StoreError::invalid(
                    "division",
                    Invalid::new(
                        "division_by_transfer",
                        "儿童搬到其他村（居）须办理“迁移”，由迁入地确认接收；不能直接修改所在村",
                    ),
                ));
            }
        }
        if let Some(v) = expected_version.filter(|v| *v != current.version) {
            return Err(StoreError::Conflict {
                field: "version",
                code: "stale_version",
                message: format!(
                    "该记录已被他人修改（当前为第 {} 版，您编辑的是第 {v} 版），请刷新后重新修改",
                    current.version
                ),
            });
        }
        let division = current.record.division();
        let (params, subtypes) = self.rules_for(division).await?;
        let record = patch
            .apply(
                Some(&current.record),
                self.clock.today(),
                params.adult_age,
                &subtypes,
            )
            .map_err(invalid_field)?;
        let hiv_before = current.record.has(Category::AffectedByHiv);
        if record.has(Category::AffectedByHiv) != hiv_before && !scope.designated {
            return Err(StoreError::Forbidden);
        }
        let changes = diff(Some(&current.record), &record);
        // Unchanged only when the record is: a change the history text does not show
        // (a guardian's number differing only in its masked middle) is still saved.
        if changes.is_empty() && record == current.record {
            return Ok(current);
        }
        let now = self.now_ms();
        let version = current.version + 1;
        let county = current.county_code.clone();
        let mut tx = self.begin().await?;
        if record.id_number() != current.record.id_number() {
            on!(tx.conn(), |c| sqlx::query(
                "DELETE FROM child_id_registry WHERE id_index = $1"
            )
            .bind(keys.index(current.record.id_number().as_str()))
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            self.register_id(&mut tx, scope, &record, &county, id)
                .await?;
        }
        let updated = update_row(
            tx.conn(),
            &keys,
            &county,
            id,
            &record,
            current.version,
            version,
            now,
        )
        .await?;
        if updated == 0 {
            return Err(StoreError::Conflict {
                field: "version",
                code: "stale_version",
                message: "该记录刚被他人修改，请刷新后重新修改".into(),
            });
        }
        insert_version(
            tx.conn(),
            &keys,
            &county,
            id,
            version,
            now,
            scope,
            "update",
            &changes,
        )
        .await?;
        if record.categories != current.record.categories || record.risk != current.record.risk {
            let birth = record.id_number().birth_date();
            self.reschedule_child(
                &mut tx,
                &county,
                id,
                division,
                effective_categories(record.categories, birth, &params, self.clock.today()),
                record.risk,
                current.created_at,
            )
            .await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "child.update", id)
                .in_county(&county)
                .from_ip(ip)
                .detail(
                    changes
                        .iter()
                        .map(|c| c.field.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
        )
        .await?;
        tx.commit().await?;
        self.child_changed(id);
        self.child_by_id(scope, id, Action::ViewChildren).await
    }

    /// The record's versions, newest first.
    pub async fn child_history(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<Vec<ChildVersion>, StoreError> {
        let child = self.child_by_id(scope, id, Action::ViewChildren).await?;
        let mut conn = self.read().await?;
        let rows: Vec<(i64, i64, String, String, String)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT version, at, actor_name, kind, changes FROM child_versions
             WHERE county_code = $1 AND child_id = $2 ORDER BY version DESC"
        )
        .bind(&child.county_code)
        .bind(id)
        .fetch_all(&mut *c)
        .await)?;
        let keys = self.keys()?;
        rows.into_iter()
            .map(|(version, at, actor_name, kind, changes)| {
                let aad = format!("child_versions.changes:{id}:{version}");
                Ok(ChildVersion {
                    version,
                    at,
                    actor_name,
                    kind,
                    changes: serde_json::from_str(&keys.open(&aad, &changes)?).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// A page of the ledger within the caller's subtree, and how many match (up to a cap).
    pub async fn list_children(
        &self,
        scope: &Scope,
        filter: &ChildFilter,
    ) -> Result<(Vec<ChildSummary>, Total), StoreError> {
        let keys = self.keys()?;
        scope.check_role(Action::ViewChildren)?;
        let within = match filter.division.or(scope.home()) {
            Some(d) => {
                scope.check(Action::ViewChildren, d)?;
                Some(d)
            }
            None => None,
        };
        let today = self.clock.today();
        let params = self.rule_book(within).await?.on(today).clone();
        let mut conn = self.read().await?;
        let per_page = filter.per_page.clamp(1, 200) as i64;
        let offset = (filter.page.max(1) as i64 - 1) * per_page;
        let cap = Total::cap_for(offset, per_page);
        let counted: i64 = on!(conn.conn(), |c| {
            let mut qb =
                QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM children ch WHERE ");
            push_filters(&mut qb, &keys, scope, within, filter, &params, today);
            qb.push(" LIMIT ").push_bind(cap + 1).push(") capped");
            qb.build_query_scalar().fetch_one(&mut *c).await
        })?;
        let total = Total::from_capped(counted, cap);
        let rows: Vec<ChildSummary> = on!(conn.conn(), |c| {
            let mut qb = QueryBuilder::new(SUMMARY_SELECT);
            push_filters(&mut qb, &keys, scope, within, filter, &params, today);
            qb.push(match filter.sort {
                ChildSort::Division => DIVISION_ORDER,
                ChildSort::Name => " ORDER BY ch.name, ch.id",
                ChildSort::Age => " ORDER BY ch.birth_date DESC, ch.id",
                ChildSort::Risk => {
                    " ORDER BY CASE ch.risk WHEN '高' THEN 0 WHEN '中' THEN 1 ELSE 2 END, ch.division_code, ch.name, ch.id"
                }
                ChildSort::Updated => " ORDER BY ch.updated_at DESC, ch.id",
            });
            qb.push(" LIMIT ").push_bind(per_page);
            qb.push(" OFFSET ").push_bind(offset);
            qb.build_query_as().fetch_all(&mut *c).await
        })?;
        Ok((rows, total))
    }

    /// Every row matching the filter (no paging), for exports; audited with the count.
    pub async fn export_children(
        &self,
        scope: &Scope,
        filter: &ChildFilter,
        ip: &str,
    ) -> Result<Vec<ChildSummary>, StoreError> {
        let keys = self.keys()?;
        scope.check_role(Action::ExportChildren)?;
        let mut all = filter.clone();
        all.page = 1;
        all.per_page = 200;
        let within = match filter.division.or(scope.home()) {
            Some(d) => {
                scope.check(Action::ExportChildren, d)?;
                Some(d)
            }
            None => None,
        };
        let today = self.clock.today();
        let params = self.rule_book(within).await?.on(today).clone();
        let mut conn = self.read().await?;
        let rows: Vec<ChildSummary> = on!(conn.conn(), |c| {
            let mut qb = QueryBuilder::new(SUMMARY_SELECT);
            push_filters(&mut qb, &keys, scope, within, &all, &params, today);
            qb.push(" ORDER BY ch.division_code, ch.name, ch.id LIMIT 2000000");
            qb.build_query_as().fetch_all(&mut *c).await
        })?;
        drop(conn);
        self.audit(
            AuditEvent::by(
                scope,
                "child.export",
                within.map(|d| d.full()).unwrap_or_default(),
            )
            .in_county(
                within
                    .map(|d| d.county_code())
                    .unwrap_or_else(|| scope.county_code()),
            )
            .from_ip(ip)
            .detail(format!("rows={}", rows.len())),
        )
        .await?;
        Ok(rows)
    }

    /// Which of these 身份证号 are already in the ledger: (number, place name) pairs.
    pub async fn registered_ids(
        &self,
        ids: &[IdNumber],
    ) -> Result<Vec<(IdNumber, String)>, StoreError> {
        let keys = self.keys()?;
        let mut found = Vec::new();
        let mut conn = self.read().await?;
        for chunk in ids.chunks(500) {
            // Two lookups, not a join: on Citus the registry is sharded by the index and
            // the records by county, and a join across the two would need repartitioning.
            let registered: Vec<(String, String, String)> = on!(conn.conn(), |c| {
                let mut qb = QueryBuilder::new(
                    "SELECT id_index, county_code, child_id FROM child_id_registry
                     WHERE id_index IN (",
                );
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(keys.index(id.as_str()));
                }
                qb.push(")");
                qb.build_query_as().fetch_all(&mut *c).await
            })?;
            if registered.is_empty() {
                continue;
            }
            let places: Vec<(String, String, String)> = on!(conn.conn(), |c| {
                let mut qb =
                    QueryBuilder::new("SELECT county_code, id, division_code FROM children WHERE ");
                let mut sep = qb.separated(" OR ");
                for (_, county, child) in &registered {
                    sep.push("(county_code = ")
                        .push_bind_unseparated(county.clone())
                        .push_unseparated(" AND id = ")
                        .push_bind_unseparated(child.clone())
                        .push_unseparated(")");
                }
                qb.build_query_as().fetch_all(&mut *c).await
            })?;
            let rows = registered.into_iter().filter_map(|(index, county, child)| {
                places
                    .iter()
                    .find(|(c, i, _)| *c == county && *i == child)
                    .map(|(_, _, division)| (index, division.clone()))
            });
            for (index, division) in rows {
                if let Some(id) = chunk.iter().find(|i| keys.index(i.as_str()) == index) {
                    let place = match DivisionCode::parse(&division) {
                        Ok(code) => self.place_name(code).await?,
                        Err(_) => division,
                    };
                    found.push((id.clone(), place));
                }
            }
        }
        Ok(found)
    }

    /// Registers many children in one transaction (an Excel import's commit): all or
    /// none. Categories left empty are set from the facts; each village's director is
    /// made responsible. Returns how many were registered.
    pub async fn import_children(
        &self,
        scope: &Scope,
        within: DivisionCode,
        mut records: Vec<(ChildRecord, bool)>,
        ip: &str,
        mut progress: impl FnMut(usize),
    ) -> Result<usize, StoreError> {
        let keys = self.keys()?;
        scope.check(Action::EditChildren, within)?;
        let today = self.clock.today();
        let params = self.rule_book(Some(within)).await?.on(today).clone();
        let due_on = first_due(self.visit_policy(Some(within)).await?.on(today), today);
        // Each village's first director, looked up per row (a province has 60k villages).
        let mut directors: std::collections::HashMap<String, String> = Default::default();
        for (village, id) in self.directors_within(within).await? {
            directors.entry(village).or_insert(id);
        }
        for (record, categories_given) in records.iter_mut() {
            let division = record.division();
            scope.check(Action::EditChildren, division)?;
            if !within.contains(division) {
                return Err(StoreError::NotFound);
            }
            if !*categories_given {
                record.categories = implied_categories(&facts_of(record), &params, today)
                    .into_iter()
                    .map(|i| i.category)
                    .collect();
            }
            if record.has(Category::AffectedByHiv) && !scope.designated {
                return Err(StoreError::Forbidden);
            }
            if record.director_id.is_none() {
                record.director_id = directors.get(&division.full()).cloned();
            }
        }
        let now = self.now_ms();
        let rows: Vec<(String, String, ChildRecord)> = records
            .into_iter()
            .map(|(r, _)| {
                (
                    r.division().county_code(),
                    uuid::Uuid::new_v4().to_string(),
                    r,
                )
            })
            .collect();
        let total = rows.len();
        let rows = std::sync::Arc::new(rows);
        // Sealing (SM4, HMAC-SM3) takes about as long as writing: a second thread seals
        // batch k + 1 while the database writes batch k.
        let (sealed_tx, mut sealed_rx) = tokio::sync::mpsc::channel(2);
        let sealer = {
            let (rows, keys) = (rows.clone(), keys.clone());
            tokio::task::spawn_blocking(move || {
                for batch in rows.chunks(IMPORT_BATCH) {
                    let sealed: Vec<(SealedChild, String)> = batch
                        .iter()
                        .map(|(_, id, r)| {
                            let changes =
                                serde_json::to_string(&diff(None, r)).expect("changes serialise");
                            (
                                SealedChild::new(&keys, id, r),
                                keys.seal(&format!("child_versions.changes:{id}:1"), &changes),
                            )
                        })
                        .collect();
                    if sealed_tx.blocking_send(sealed).is_err() {
                        return; // the import stopped
                    }
                }
            })
        };
        let mut tx = self.begin().await?;
        let mut done = 0;
        for batch in rows.chunks(IMPORT_BATCH) {
            let Some(sealed) = sealed_rx.recv().await else {
                let why = match sealer.await {
                    Err(e) => e.to_string(),
                    Ok(()) => "加密线程提前结束".into(),
                };
                return Err(StoreError::Config(format!("导入时加密失败：{why}")));
            };
            let (sealed, changes): (Vec<SealedChild>, Vec<String>) = sealed.into_iter().unzip();
            // OR FAIL on SQLite (Conn::bulk_insert): no statement journal, whose cost grows
            // with the database; any failure fails the whole import anyway.
            let verb = tx.conn().bulk_insert();
            let inserted = on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new(format!(
                    "{verb} child_id_registry (id_index, county_code, child_id) "
                ));
                qb.push_values(batch.iter().zip(&sealed), |mut b, ((county, id, _), s)| {
                    b.push_bind(s.id_index.clone())
                        .push_bind(county.clone())
                        .push_bind(id.clone());
                });
                qb.push(" ON CONFLICT (id_index) DO NOTHING");
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
            if inserted as usize != batch.len() {
                // Someone registered one of these numbers since the dry run.
                return Err(StoreError::Conflict {
                    field: "id_number",
                    code: "id_number_registered",
                    message: "导入期间有身份证号已被他人登记，未导入任何记录，请重新校验后再导入"
                        .into(),
                });
            }
            on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new(format!("{verb} child_locator (id, county_code) "));
                qb.push_values(batch, |mut b, (county, id, _)| {
                    b.push_bind(id.clone()).push_bind(county.clone());
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
            let new_rows: Vec<NewChildRow> = batch
                .iter()
                .zip(sealed)
                .map(|((county, id, r), sealed)| NewChildRow {
                    county,
                    id,
                    record: r,
                    sealed,
                    status: ChildStatus::Active,
                    version: 1,
                    due_on,
                })
                .collect();
            insert_children(tx.conn(), &new_rows, now).await?;
            on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new(format!(
                    "{verb} child_versions (county_code, child_id, version, at, actor_id,
                         actor_name, kind, changes) "
                ));
                qb.push_values(
                    batch.iter().zip(&changes),
                    |mut b, ((county, id, _), ch)| {
                        b.push_bind(county.clone())
                            .push_bind(id.clone())
                            .push_bind(1i64)
                            .push_bind(now)
                            .push_bind(scope.user_id.clone())
                            .push_bind(scope.username.clone())
                            .push_bind("import")
                            .push_bind(ch.clone());
                    },
                );
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
            done += batch.len();
            progress(done);
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "child.import", within.full())
                .in_county(within.county_code())
                .from_ip(ip)
                .detail(format!("rows={total}")),
        )
        .await?;
        tx.commit().await?;
        // Many rows at once change the table's shape: keep the planner's statistics true.
        self.optimize().await?;
        Ok(total)
    }

    async fn directors_within(
        &self,
        within: DivisionCode,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let (lo, hi) = within.subtree_bounds();
        let mut conn = self.read().await?;
        Ok(on!(conn.conn(), |c| sqlx::query_as(
            "SELECT division_code, id FROM users WHERE role = 'director' AND NOT disabled
             AND division_code BETWEEN $1 AND $2 ORDER BY created_at"
        )
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *c)
        .await)?)
    }

    /// The villages under `within` (code, name), for resolving names in imports.
    pub async fn villages_within(
        &self,
        scope: &Scope,
        within: DivisionCode,
    ) -> Result<Vec<(DivisionCode, String, String)>, StoreError> {
        scope.check(Action::ViewDivisions, within)?;
        let (lo, hi) = within.subtree_bounds();
        let mut conn = self.read().await?;
        let rows: Vec<(String, String, Option<String>)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT v.code, v.name, t.name FROM divisions v
             LEFT JOIN divisions t ON t.code = v.parent_code
             WHERE v.level = 5 AND v.code BETWEEN $1 AND $2 ORDER BY v.code"
        )
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *c)
        .await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(code, name, township)| {
                Some((
                    DivisionCode::parse(&code).ok()?,
                    name,
                    township.unwrap_or_default(),
                ))
            })
            .collect())
    }

    /// Asks to move a child to another village; the receiving side accepts or refuses.
    pub async fn request_transfer(
        &self,
        scope: &Scope,
        child_id: &str,
        to: DivisionCode,
        reason: &str,
        ip: &str,
    ) -> Result<Transfer, StoreError> {
        let child = self
            .child_by_id(scope, child_id, Action::TransferChildren)
            .await?;
        if to.level() != Level::Village || !self.division_exists(to).await? {
            return Err(StoreError::invalid(
                "to_division",
                Invalid::new(
                    "division_level",
                    format!("迁入地应为区划库中的村（居），{to} 不是"),
                ),
            ));
        }
        if to == child.record.division() {
            return Err(StoreError::invalid(
                "to_division",
                Invalid::new("same_division", "迁入地与现所在村相同"),
            ));
        }
        if child.status == ChildStatus::Transferring {
            return Err(StoreError::Conflict {
                field: "child_id",
                code: "transfer_pending",
                message: "该儿童已有待接收的迁移申请，请等待对方处理或先撤回".into(),
            });
        }
        let now = self.now_ms();
        let transfer = Transfer {
            county_code: child.county_code.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            child_id: child_id.into(),
            from_division: child.record.division().full(),
            to_division: to.full(),
            status: "pending".into(),
            reason: reason.trim().into(),
            requested_by: scope.username.clone(),
            requested_at: now,
            decided_by: None,
            decided_at: None,
            decision_note: String::new(),
        };
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO child_transfers (county_code, id, child_id, from_division, to_division,
                 status, reason, requested_by, requested_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)"
        )
        .bind(&transfer.county_code)
        .bind(&transfer.id)
        .bind(child_id)
        .bind(&transfer.from_division)
        .bind(&transfer.to_division)
        .bind(&transfer.reason)
        .bind(&transfer.requested_by)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        set_status(
            tx.conn(),
            &child.county_code,
            child_id,
            ChildStatus::Transferring,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "child.transfer_request", child_id)
                .in_county(&child.county_code)
                .from_ip(ip)
                .detail(format!("to={}", to.full())),
        )
        .await?;
        tx.commit().await?;
        Ok(transfer)
    }

    /// Pending transfers into the caller's subtree.
    pub async fn incoming_transfers(&self, scope: &Scope) -> Result<Vec<Transfer>, StoreError> {
        scope.check_role(Action::TransferChildren)?;
        let (lo, hi) = match scope.home() {
            Some(h) => h.subtree_bounds(),
            None => ("000000000000".into(), "999999999999".into()),
        };
        let mut conn = self.read().await?;
        Ok(on!(conn.conn(), |c| sqlx::query_as(
            "SELECT * FROM child_transfers WHERE status = 'pending'
             AND to_division BETWEEN $1 AND $2 ORDER BY requested_at"
        )
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *c)
        .await)?)
    }

    /// The transfers of one child (any state), newest first.
    pub async fn child_transfers(
        &self,
        scope: &Scope,
        child_id: &str,
    ) -> Result<Vec<Transfer>, StoreError> {
        let child = self
            .child_by_id(scope, child_id, Action::ViewChildren)
            .await?;
        let mut conn = self.read().await?;
        Ok(on!(conn.conn(), |c| sqlx::query_as(
            "SELECT * FROM child_transfers WHERE county_code = $1 AND child_id = $2
             ORDER BY requested_at DESC"
        )
        .bind(&child.county_code)
        .bind(child_id)
        .fetch_all(&mut *c)
        .await)?)
    }

    /// The receiving village (or its township, or the office) accepts or refuses. On
    /// acceptance the record moves, with its history, to the new village — and to the new
    /// county's rows when the county changes — in one transaction.
    pub async fn decide_transfer(
        &self,
        scope: &Scope,
        transfer_id: &str,
        accept: bool,
        note: &str,
        ip: &str,
    ) -> Result<Transfer, StoreError> {
        let keys = self.keys()?;
        scope.check_role(Action::TransferChildren)?;
        let found: Option<Transfer> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT * FROM child_transfers WHERE id = $1"
            )
            .bind(transfer_id)
            .fetch_optional(&mut *c)
            .await)?
        };
        let Some(mut t) = found else {
            return Err(StoreError::NotFound);
        };
        let to = DivisionCode::parse(&t.to_division).map_err(|e| StoreError::Config(e.message))?;
        scope.check(Action::TransferChildren, to)?;
        if t.status != "pending" {
            return Err(StoreError::Conflict {
                field: "transfer",
                code: "transfer_decided",
                message: "该迁移申请已处理".into(),
            });
        }
        let now = self.now_ms();
        let old_county = t.county_code.clone();
        let new_county = to.county_code();
        let mut tx = self.begin().await?;
        let decided = on!(tx.conn(), |c| sqlx::query(
            "UPDATE child_transfers SET status = $3, decided_by = $4, decided_at = $5,
                 decision_note = $6
             WHERE county_code = $1 AND id = $2 AND status = 'pending'"
        )
        .bind(&old_county)
        .bind(transfer_id)
        .bind(if accept { "accepted" } else { "rejected" })
        .bind(&scope.username)
        .bind(now)
        .bind(note.trim())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if decided == 0 {
            return Err(StoreError::Conflict {
                field: "transfer",
                code: "transfer_decided",
                message: "该迁移申请已处理".into(),
            });
        }
        let row: ChildRow = {
            let sql =
                format!("SELECT {CHILD_COLUMNS} FROM children WHERE county_code = $1 AND id = $2");
            on!(tx.conn(), |c| sqlx::query_as(&sql)
                .bind(&old_county)
                .bind(&t.child_id)
                .fetch_one(&mut *c)
                .await)?
        };
        if accept {
            let params = self.rules_for(to).await?.0;
            let mut child = self.stored(row, &params)?;
            let from = child.record.division();
            child.record.division = Some(to);
            child.record.director_id = self.village_director(to).await?;
            let version = child.version + 1;
            if new_county == old_county {
                let n = update_row(
                    tx.conn(),
                    &keys,
                    &old_county,
                    &t.child_id,
                    &child.record,
                    child.version,
                    version,
                    now,
                )
                .await?;
                debug_assert_eq!(n, 1);
            } else {
                move_to_county(
                    &mut tx,
                    &keys,
                    &child,
                    &old_county,
                    &new_county,
                    version,
                    now,
                )
                .await?;
                // What later modules hold about the child (reports, cases) follows it:
                // they read this event; the ledger does not know them.
                let mut event = crate::script::Script::default();
                crate::work::event_to(
                    &mut event,
                    &new_county,
                    crate::work::EVENT_CHILD_MOVED,
                    &t.child_id,
                    &serde_json::json!({"from": old_county, "to": new_county, "division": to.full()}),
                    now,
                );
                event.run(tx.conn()).await?;
            }
            set_status(tx.conn(), &new_county, &t.child_id, ChildStatus::Active).await?;
            let changes = vec![FieldChange {
                field: "division".into(),
                label: "所在村（居）".into(),
                old: from.full(),
                new: to.full(),
            }];
            insert_version(
                tx.conn(),
                &keys,
                &new_county,
                &t.child_id,
                version,
                now,
                scope,
                "transfer",
                &changes,
            )
            .await?;
        } else {
            set_status(tx.conn(), &old_county, &t.child_id, ChildStatus::Active).await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(
                scope,
                if accept {
                    "child.transfer_accept"
                } else {
                    "child.transfer_reject"
                },
                &t.child_id,
            )
            .in_county(&new_county)
            .from_ip(ip)
            .detail(format!("transfer={transfer_id}")),
        )
        .await?;
        tx.commit().await?;
        t.status = if accept { "accepted" } else { "rejected" }.into();
        t.decided_by = Some(scope.username.clone());
        t.decided_at = Some(now);
        t.decision_note = note.trim().into();
        Ok(t)
    }
}

/// Moves a record and its versions to another county's rows (another shard group on
/// Citus), and points the locator and registry at it.
async fn move_to_county(
    tx: &mut Tx,
    keys: &FieldKeys,
    child: &StoredChild,
    old: &str,
    new: &str,
    version: i64,
    now: i64,
) -> Result<(), StoreError> {
    let id = child.id.as_str();
    insert_child(
        tx.conn(),
        keys,
        new,
        id,
        &child.record,
        child.status,
        version,
        now,
        // Overwritten from the old row just below.
        NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date"),
    )
    .await?;
    // The schedule and the card go with the child. Read, then written: on Citus the two
    // rows may sit on different shards, and one statement cannot span them.
    type Carried = (
        NaiveDate,
        String,
        Option<NaiveDate>,
        bool,
        Option<NaiveDate>,
        Option<String>,
        i64,
    );
    let carried: Carried = on!(tx.conn(), |c| sqlx::query_as(
        "SELECT due_on, due_reason, last_visit_on, last_visit_danger, planned_on, card_token,
             created_at
         FROM children WHERE county_code = $1 AND id = $2"
    )
    .bind(old)
    .bind(id)
    .fetch_one(&mut *c)
    .await)?;
    on!(tx.conn(), |c| sqlx::query(
        "UPDATE children SET due_on = $3, due_reason = $4, last_visit_on = $5,
             last_visit_danger = $6, planned_on = $7, card_token = $8, created_at = $9
         WHERE county_code = $1 AND id = $2"
    )
    .bind(new)
    .bind(id)
    .bind(carried.0)
    .bind(&carried.1)
    .bind(carried.2)
    .bind(carried.3)
    .bind(carried.4)
    .bind(&carried.5)
    .bind(carried.6)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    crate::visits::move_visits(tx, id, old, new).await?;
    let versions: Vec<(i64, i64, String, String, String, String)> =
        on!(tx.conn(), |c| sqlx::query_as(
            "SELECT version, at, actor_id, actor_name, kind, changes FROM child_versions
         WHERE county_code = $1 AND child_id = $2 ORDER BY version"
        )
        .bind(old)
        .bind(id)
        .fetch_all(&mut *c)
        .await)?;
    for (v, at, actor_id, actor_name, kind, changes) in versions {
        on!(tx.conn(), |c| {
            sqlx::query(
            "INSERT INTO child_versions (county_code, child_id, version, at, actor_id, actor_name, kind, changes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(new)
        .bind(id)
        .bind(v)
        .bind(at)
        .bind(&actor_id)
        .bind(&actor_name)
        .bind(&kind)
        .bind(&changes)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
    }
    let leaving = crate::stats::ledger::counted_now(tx.conn(), old, id).await?;
    crate::stats::ledger::recount(tx.conn(), old, leaving.as_ref(), None).await?;
    for sql in [
        "DELETE FROM child_versions WHERE county_code = $1 AND child_id = $2",
        "DELETE FROM child_kin WHERE county_code = $1 AND child_id = $2",
        "DELETE FROM children WHERE county_code = $1 AND id = $2",
    ] {
        on!(tx.conn(), |c| sqlx::query(sql)
            .bind(old)
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    on!(tx.conn(), |c| sqlx::query(
        "UPDATE child_locator SET county_code = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(new)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    on!(tx.conn(), |c| sqlx::query(
        "UPDATE child_id_registry SET county_code = $2 WHERE id_index = $1"
    )
    .bind(keys.index(child.record.id_number().as_str()))
    .bind(new)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

async fn set_status(
    conn: Conn<'_>,
    county: &str,
    id: &str,
    status: ChildStatus,
) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "UPDATE children SET status = $3 WHERE county_code = $1 AND id = $2"
    )
    .bind(county)
    .bind(id)
    .bind(status.as_str())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

fn details_json(record: &ChildRecord) -> String {
    #[derive(Serialize)]
    struct DetailsRef<'a> {
        #[serde(flatten)]
        record: &'a ChildRecord,
    }
    serde_json::to_string(&DetailsRef { record }).expect("records serialise")
}

/// The sealed columns of a new record, and the blind index of its number: the CPU-heavy
/// part of an insert, computed apart so that a bulk import seals the next batch on one
/// core while the database writes this one on the other.
pub(crate) struct SealedChild {
    id_number: String,
    id_index: String,
    details: String,
    kin: ChildKin,
}

impl SealedChild {
    pub(crate) fn new(keys: &FieldKeys, id: &str, r: &ChildRecord) -> SealedChild {
        let idn = r.id_number().as_str();
        let id_index = keys.index(idn);
        SealedChild {
            id_number: keys.seal(&format!("children.id_number:{id}"), idn),
            kin: ChildKin::of(keys, id, &id_index, r.division().full(), r),
            id_index,
            details: keys.seal(&format!("children.details:{id}"), &details_json(r)),
        }
    }
}

/// One row to insert into `children`.
pub(crate) struct NewChildRow<'a> {
    pub county: &'a str,
    pub id: &'a str,
    pub record: &'a ChildRecord,
    pub sealed: SealedChild,
    pub status: ChildStatus,
    pub version: i64,
    /// The first visit's due date (the visit policy's days after registration).
    pub due_on: NaiveDate,
}

/// Inserts rows with one multi-row statement (callers keep batches under
/// [`IMPORT_BATCH`], within both databases' bind limits).
pub(crate) async fn insert_children(
    mut conn: Conn<'_>,
    rows: &[NewChildRow<'_>],
    now: i64,
) -> Result<(), StoreError> {
    // OR FAIL on SQLite: no statement journal, whose cost grows with the database (see
    // Conn::bulk_insert); a failure fails the caller's whole transaction anyway.
    let verb = conn.bulk_insert();
    on!(conn.re(), |c| {
        let mut qb = QueryBuilder::new(format!(
            "{verb} children (county_code, id, division_code, name, name_initials,
                 id_number, id_masked, id_index, birth_date, sex, hukou, school_status,
                 support_bits, category_bits, risk, sensitive, director_id, status,
                 details, version, created_at, updated_at, due_on) "
        ));
        qb.push_values(rows, |mut b, row| {
            let r = row.record;
            let idn = r.id_number();
            b.push_bind(row.county.to_string())
                .push_bind(row.id.to_string())
                .push_bind(r.division().full())
                .push_bind(r.name.clone())
                .push_bind(name_initials(&r.name))
                .push_bind(row.sealed.id_number.clone())
                .push_bind(idn.masked())
                .push_bind(row.sealed.id_index.clone())
                .push_bind(idn.birth_date())
                .push_bind(idn.sex().label().to_string())
                .push_bind(r.hukou.label().to_string())
                .push_bind(r.school_status.map(|s| s.label()).unwrap_or("").to_string())
                .push_bind(r.support_bits() as i64)
                .push_bind(r.categories.bits() as i64)
                .push_bind(r.risk.label().to_string())
                .push_bind(r.has(Category::AffectedByHiv))
                .push_bind(r.director_id.clone())
                .push_bind(row.status.as_str().to_string())
                .push_bind(row.sealed.details.clone())
                .push_bind(row.version)
                .push_bind(now)
                .push_bind(now)
                .push_bind(row.due_on);
        });
        qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    // The kin rows, a statement per county (a batch is almost always one county).
    let mut counties: Vec<&str> = rows.iter().map(|r| r.county).collect();
    counties.sort_unstable();
    counties.dedup();
    for county in counties {
        let kin: Vec<ChildKin> = rows
            .iter()
            .filter(|r| r.county == county)
            .map(|r| r.sealed.kin.clone())
            .collect();
        put_kin(conn.re(), county, &kin).await?;
        let counted: Vec<Counted> = rows
            .iter()
            .filter(|r| r.county == county)
            .map(|r| Counted::of_record(r.record))
            .collect();
        crate::stats::ledger::count(conn.re(), county, &counted.iter().collect::<Vec<_>>(), 1)
            .await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_child(
    conn: Conn<'_>,
    keys: &FieldKeys,
    county: &str,
    id: &str,
    record: &ChildRecord,
    status: ChildStatus,
    version: i64,
    now: i64,
    due_on: NaiveDate,
) -> Result<(), StoreError> {
    let row = NewChildRow {
        county,
        id,
        record,
        sealed: SealedChild::new(keys, id, record),
        status,
        version,
        due_on,
    };
    insert_children(conn, &[row], now).await
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn update_row(
    mut conn: Conn<'_>,
    keys: &FieldKeys,
    county: &str,
    id: &str,
    r: &ChildRecord,
    old_version: i64,
    version: i64,
    now: i64,
) -> Result<u64, StoreError> {
    let idn = r.id_number();
    let id_index = keys.index(idn.as_str());
    let before = crate::stats::ledger::counted_now(conn.re(), county, id).await?;
    let n = on!(conn.re(), |c| sqlx::query(
        "UPDATE children SET division_code = $4, name = $5, name_initials = $6, id_number = $7,
             id_masked = $8, id_index = $9, birth_date = $10, sex = $11, hukou = $12,
             school_status = $13, support_bits = $14, category_bits = $15, risk = $16,
             sensitive = $17, director_id = $18, details = $19, version = $20, updated_at = $21
         WHERE county_code = $1 AND id = $2 AND version = $3"
    )
    .bind(county)
    .bind(id)
    .bind(old_version)
    .bind(r.division().full())
    .bind(&r.name)
    .bind(name_initials(&r.name))
    .bind(keys.seal(&format!("children.id_number:{id}"), idn.as_str()))
    .bind(idn.masked())
    .bind(&id_index)
    .bind(idn.birth_date())
    .bind(idn.sex().label())
    .bind(r.hukou.label())
    .bind(r.school_status.map(|s| s.label()).unwrap_or(""))
    .bind(r.support_bits() as i64)
    .bind(r.categories.bits() as i64)
    .bind(r.risk.label())
    .bind(r.has(Category::AffectedByHiv))
    .bind(&r.director_id)
    .bind(keys.seal(&format!("children.details:{id}"), &details_json(r)))
    .bind(version)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if n > 0 {
        put_kin(
            conn.re(),
            county,
            &[ChildKin::of(keys, id, &id_index, r.division().full(), r)],
        )
        .await?;
        let after = Counted::of_record(r);
        crate::stats::ledger::recount(conn, county, before.as_ref(), Some(&after)).await?;
    }
    Ok(n)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_version(
    conn: Conn<'_>,
    keys: &FieldKeys,
    county: &str,
    id: &str,
    version: i64,
    at: i64,
    scope: &Scope,
    kind: &str,
    changes: &[FieldChange],
) -> Result<(), StoreError> {
    on!(conn, |c| {
        sqlx::query(
        "INSERT INTO child_versions (county_code, child_id, version, at, actor_id, actor_name, kind, changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(county)
    .bind(id)
    .bind(version)
    .bind(at)
    .bind(&scope.user_id)
    .bind(&scope.username)
    .bind(kind)
    .bind(keys.seal(
        &format!("child_versions.changes:{id}:{version}"),
        &serde_json::to_string(changes).expect("changes serialise"),
    ))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The WHERE clause of a list: subtree (by county first, so a county's list stays on one
/// shard), sensitivity, the active ledger's age limit, then the filters.
pub(crate) fn push_filters<'a, DB: sqlx::Database>(
    qb: &mut QueryBuilder<'a, DB>,
    keys: &FieldKeys,
    scope: &Scope,
    within: Option<DivisionCode>,
    f: &ChildFilter,
    params: &RuleParams,
    today: NaiveDate,
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    NaiveDate: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    qb.push("1 = 1");
    if let Some(d) = within {
        let county = d.county_code();
        if d.level() >= Level::County {
            qb.push(" AND ch.county_code = ").push_bind(county);
        } else {
            let prefix = d.prefix();
            qb.push(" AND ch.county_code BETWEEN ")
                .push_bind(format!("{prefix:0<6}"))
                .push(" AND ")
                .push_bind(format!("{prefix:9<6}"));
        }
        if d.level() > Level::County {
            let (lo, hi) = d.subtree_bounds();
            qb.push(" AND ch.division_code BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
    }
    if !scope.designated {
        // "= FALSE" rather than "NOT": both databases can then use the index.
        qb.push(" AND ch.sensitive = FALSE");
    }
    if !f.include_adults {
        qb.push(" AND ch.birth_date > ")
            .push_bind(birth_cutoff(params.adult_age, today));
    }
    if let Some(c) = f.category {
        qb.push(" AND (ch.category_bits & ")
            .push_bind(c.bit() as i64)
            .push(") <> 0");
        if c == Category::RuralLeftBehind {
            qb.push(" AND ch.birth_date > ")
                .push_bind(birth_cutoff(params.left_behind_max_age, today));
        }
    }
    if let Some(r) = f.risk {
        qb.push(" AND ch.risk = ").push_bind(r.label().to_string());
    }
    if let Some(s) = f.sex {
        qb.push(" AND ch.sex = ").push_bind(s.label().to_string());
    }
    if let Some(s) = f.school {
        qb.push(" AND ch.school_status = ")
            .push_bind(s.label().to_string());
    }
    if let Some(s) = f.support {
        qb.push(" AND (ch.support_bits & ")
            .push_bind(1i64 << (s as u32))
            .push(") <> 0");
    }
    if let Some(max) = f.age_max {
        // Age <= max  ⇔  born after the cutoff for max + 1 years.
        qb.push(" AND ch.birth_date > ")
            .push_bind(birth_cutoff(max + 1, today));
    }
    if let Some(min) = f.age_min {
        qb.push(" AND ch.birth_date <= ")
            .push_bind(birth_cutoff(min, today));
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if let Ok(id) = IdNumber::parse(q, today) {
            qb.push(" AND ch.id_index = ")
                .push_bind(keys.index(id.as_str()));
        } else if q.chars().all(|c| c.is_ascii_alphabetic()) {
            qb.push(" AND ch.name_initials LIKE ")
                .push_bind(format!("{}%", q.to_ascii_lowercase()));
        } else {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            qb.push(" AND ch.name LIKE ")
                .push_bind(format!("%{escaped}%"))
                .push(" ESCAPE '\\'");
        }
    }
}
