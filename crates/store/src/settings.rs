//! Local configuration (本地参数): values by key, region and effective date, so that a
//! province or county can set its own rule parameters without a code change.

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use weibao_domain::access::Scope;
use weibao_domain::categories::{RuleBook, RuleParams};
use weibao_domain::DivisionCode;

use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// Setting keys.
pub const CATEGORY_RULES: &str = "category_rules";
pub const DISTRESS_SUBTYPES: &str = "distress_subtypes";
pub const IMPORT_HEADER_ALIASES: &str = "import_header_aliases";

/// Every key `weibao settings set` accepts, with what its value must look like.
pub const SETTING_KEYS: &[(&str, &str)] = &[
    (
        CATEGORY_RULES,
        r#"{"effective_from":"2026-01-01","restriction_min_months":6,"lost_contact_min_months":6,"left_behind_max_age":16,"left_behind_min_months":3,"adult_age":18}"#,
    ),
    (
        DISTRESS_SUBTYPES,
        r#"["家庭经济困难","自身困难","监护缺失","监护不当"]"#,
    ),
    (
        crate::visits::VISIT_POLICY,
        r#"{"effective_from":"2026-01-01","rules":[{"min_risk":"高","every":"1m"},{"categories":["孤儿","事实无人抚养儿童","困境儿童"],"every":"1m"},{"categories":["农村留守儿童"],"every":"3m"}],"default_every":"3m","first_visit_days":7,"danger_followup_days":3}"#,
    ),
    (
        IMPORT_HEADER_ALIASES,
        r#"{"name":["孩子姓名"],"village":["所属村居"]}"#,
    ),
    (
        crate::accounts::PASSWORD_POLICY,
        r#"{"max_age_days":90,"history":5}"#,
    ),
];

/// The 困境儿童 sub-types when nothing is configured (国发〔2016〕36号's three groups).
pub fn default_distress_subtypes() -> Vec<String> {
    ["家庭经济困难", "自身困难", "监护缺失", "监护不当"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

impl Store {
    /// All versions of `key` that apply to `at`: the most specific region (the division
    /// itself, then each ancestor, then the national default) that has any.
    async fn setting_versions(
        &self,
        key: &str,
        at: Option<DivisionCode>,
    ) -> Result<Vec<(NaiveDate, String)>, StoreError> {
        let mut regions: Vec<String> = match at {
            Some(code) => code
                .ancestors()
                .into_iter()
                .chain([code])
                .rev()
                .map(|c| c.full())
                .collect(),
            None => Vec::new(),
        };
        regions.push(String::new());
        let mut conn = self.read().await?;
        for region in regions {
            let rows: Vec<(String, String)> = on!(conn.conn(), |c| sqlx::query_as(
                "SELECT effective_from, value FROM settings
                 WHERE key = $1 AND region_code = $2 ORDER BY effective_from"
            )
            .bind(key)
            .bind(&region)
            .fetch_all(&mut *c)
            .await)?;
            if !rows.is_empty() {
                return Ok(rows
                    .into_iter()
                    .filter_map(|(d, v)| Some((NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?, v)))
                    .collect());
            }
        }
        Ok(Vec::new())
    }

    /// The raw JSON of every version of `key` that applies to `at`, earliest first.
    pub(crate) async fn setting_versions_json(
        &self,
        key: &str,
        at: Option<DivisionCode>,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .setting_versions(key, at)
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    async fn setting_on<T: DeserializeOwned>(
        &self,
        key: &str,
        at: Option<DivisionCode>,
        date: NaiveDate,
    ) -> Result<Option<T>, StoreError> {
        let versions = self.setting_versions(key, at).await?;
        let chosen = versions
            .iter()
            .rev()
            .find(|(from, _)| *from <= date)
            .or(versions.first());
        Ok(chosen.and_then(|(_, v)| serde_json::from_str(v).ok()))
    }

    /// A setting's value in force at a division on a date, as JSON (None: not set).
    pub async fn setting_json(
        &self,
        key: &str,
        at: Option<DivisionCode>,
        date: NaiveDate,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.setting_on(key, at, date).await
    }

    /// The category rule parameters in force at a division (all versions, for dates).
    pub async fn rule_book(&self, at: Option<DivisionCode>) -> Result<RuleBook, StoreError> {
        let versions = self.setting_versions(CATEGORY_RULES, at).await?;
        let params: Vec<RuleParams> = versions
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_str(&v).ok())
            .collect();
        Ok(RuleBook::new(params))
    }

    /// The configured 困境儿童 sub-types at a division on a date.
    pub async fn distress_subtypes(
        &self,
        at: Option<DivisionCode>,
        date: NaiveDate,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .setting_on(DISTRESS_SUBTYPES, at, date)
            .await?
            .unwrap_or_else(default_distress_subtypes))
    }

    /// Sets a value for a region from a date (command line and administrators).
    pub async fn put_setting<T: Serialize>(
        &self,
        scope: &Scope,
        key: &str,
        region: Option<DivisionCode>,
        effective_from: NaiveDate,
        value: &T,
    ) -> Result<(), StoreError> {
        if !scope.is_system() && scope.role != weibao_domain::access::Role::Admin {
            return Err(StoreError::Forbidden);
        }
        if let Some(r) = region {
            if !scope.reaches(r) {
                return Err(StoreError::NotFound);
            }
        }
        let value = serde_json::to_string(value).expect("settings serialise");
        let region_code = region.map(|r| r.full()).unwrap_or_default();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO settings (key, region_code, effective_from, value, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (key, region_code, effective_from)
             DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
                           updated_by = excluded.updated_by"
        )
        .bind(key)
        .bind(&region_code)
        .bind(effective_from.to_string())
        .bind(&value)
        .bind(now)
        .bind(&scope.username)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "settings.put", key).detail(format!(
                "region={region_code} from={effective_from} value={value}"
            )),
        )
        .await?;
        tx.commit().await
    }
}
