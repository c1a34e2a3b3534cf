//! Local configuration (本地参数): values by key, region and effective date, so that a
//! province or county can set its own rule parameters without a code change.

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use weibao_domain::access::Scope;
use weibao_domain::categories::RuleBook;
use weibao_domain::DivisionCode;

use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// Setting keys.
pub const CATEGORY_RULES: &str = "category_rules";
pub const DISTRESS_SUBTYPES: &str = "distress_subtypes";
pub const IMPORT_HEADER_ALIASES: &str = "import_header_aliases";
/// How long each kind of work may take (weibao_domain::work::DeadlineRules).
pub const DEADLINE_RULES: &str = "deadline_rules";
/// Days a member unit keeps reading a child after the referral that opened it ends.
pub const REFERRAL_ACCESS_DAYS: &str = "referral_access_days";

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
        DEADLINE_RULES,
        r#"{"referral_reply":{"days":30},"referral_reply.hotline":{"working_days":5},"urgent_ack":{"hours":1},"referral_response":{"working_days":2}}"#,
    ),
    (REFERRAL_ACCESS_DAYS, "30"),
    (crate::offline::OFFLINE_DAYS, "7"),
    (crate::committee::MEETINGS_PER_YEAR, "2"),
    (
        crate::accounts::PASSWORD_POLICY,
        r#"{"max_age_days":90,"history":5}"#,
    ),
    (
        crate::allowances::ALLOWANCE_RULES,
        r#"{"effective_from":"2026-01-01","adult_age":18,"school_continues":["orphan_scattered","orphan_institutional"],"school_until_age":22,"local_types":[{"code":"local_festival","label":"节日慰问金","categories":["困境儿童"],"public_notice":true}]}"#,
    ),
    (
        crate::allowances::ALLOWANCE_BANK_LAYOUTS,
        r#"[{"name":"农商银行代发","columns":["seq","name","id_number","account","amount_yuan"],"headers":{"amount_yuan":"金额"}}]"#,
    ),
    (crate::finding::LIST_RETENTION_DAYS, "90"),
    (
        crate::finding::WARNING_RULES,
        r#"{"overdue_days":15,"attention_visits":2,"parent_change_days":30,"guardian_age":70,"parent_silence_days":90}"#,
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
    pub(crate) async fn setting_versions(
        &self,
        key: &str,
        at: Option<DivisionCode>,
    ) -> Result<Vec<(NaiveDate, String)>, StoreError> {
        Ok(self
            .settings_for(&[key], at)
            .await?
            .pop()
            .unwrap_or_default())
    }

    /// [`Self::setting_versions`] of several keys, read together: one query (a visit reads
    /// three settings, at up to six regions each, and every query is a round trip).
    pub(crate) async fn settings_for(
        &self,
        keys: &[&str],
        at: Option<DivisionCode>,
    ) -> Result<Vec<Vec<(NaiveDate, String)>>, StoreError> {
        // Most specific first: the division, its ancestors upwards, the national default.
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
        let list = |from: usize, n: usize| {
            (from..from + n)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sql = format!(
            "SELECT key, region_code, effective_from, value FROM settings
             WHERE key IN ({}) AND region_code IN ({}) ORDER BY effective_from",
            list(1, keys.len()),
            list(1 + keys.len(), regions.len())
        );
        let mut conn = self.read().await?;
        let rows: Vec<(String, String, String, String)> = on!(conn.conn(), |c| {
            let mut q = sqlx::query_as(&sql);
            for k in keys {
                q = q.bind(*k);
            }
            for r in &regions {
                q = q.bind(r);
            }
            q.fetch_all(&mut *c).await
        })?;
        drop(conn);
        Ok(keys
            .iter()
            .map(|key| {
                let mine = rows.iter().filter(|r| r.0 == *key);
                let Some(region) = regions.iter().find(|g| mine.clone().any(|r| r.1 == **g)) else {
                    return Vec::new();
                };
                mine.filter(|r| r.1 == *region)
                    .filter_map(|r| {
                        Some((
                            NaiveDate::parse_from_str(&r.2, "%Y-%m-%d").ok()?,
                            r.3.clone(),
                        ))
                    })
                    .collect()
            })
            .collect())
    }

    async fn setting_on<T: DeserializeOwned>(
        &self,
        key: &str,
        at: Option<DivisionCode>,
        date: NaiveDate,
    ) -> Result<Option<T>, StoreError> {
        Ok(version_on(&self.setting_versions(key, at).await?, date))
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
        Ok(rule_book_of(
            self.setting_versions(CATEGORY_RULES, at).await?,
        ))
    }

    /// The configured 困境儿童 sub-types at a division on a date.
    pub async fn distress_subtypes(
        &self,
        at: Option<DivisionCode>,
        date: NaiveDate,
    ) -> Result<Vec<String>, StoreError> {
        Ok(subtypes_on(
            &self.setting_versions(DISTRESS_SUBTYPES, at).await?,
            date,
        ))
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

/// The version of a setting in force on `date` (the earliest when none has started yet).
fn version_on<T: DeserializeOwned>(versions: &[(NaiveDate, String)], date: NaiveDate) -> Option<T> {
    let chosen = versions
        .iter()
        .rev()
        .find(|(from, _)| *from <= date)
        .or(versions.first());
    chosen.and_then(|(_, v)| serde_json::from_str(v).ok())
}

/// The category rule book from the versions of [`CATEGORY_RULES`].
pub(crate) fn rule_book_of(versions: Vec<(NaiveDate, String)>) -> RuleBook {
    RuleBook::new(
        versions
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_str(&v).ok())
            .collect(),
    )
}

/// The 困境儿童 sub-types on `date` from the versions of [`DISTRESS_SUBTYPES`].
pub(crate) fn subtypes_on(versions: &[(NaiveDate, String)], date: NaiveDate) -> Vec<String> {
    version_on(versions, date).unwrap_or_else(default_distress_subtypes)
}
