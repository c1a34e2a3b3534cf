//! Allowances (基本生活保障): standards, applications and their steps, the monthly rolls
//! (发放名册) and totals, on the county's rows; read from the ledger, never written into it.

mod cases;
mod rolls;
mod standards;
mod synth;
mod totals;

use chrono::NaiveDate;
use serde::Serialize;
use weibao_domain::allowances::{
    AllowanceRuleBook, AllowanceRules, ChildStanding, EndCause, FiledAs, Status, TypeBook,
};
use weibao_domain::child::{CategorySet, Disability, OrphanCare, SchoolStatus};
use weibao_domain::{DivisionCode, Fen, Month};

use crate::db::Store;
use crate::error::StoreError;
use crate::on;

pub use cases::{BulkOutcome, CaseFilter, Eligible, NewApplication};
pub use rolls::{Payee, RollChange, RollLine, RollPage, StoredRoll, TypeSum};
pub use standards::NewStandard;
pub use totals::{Budget, DivisionTotal, MonthTotal, Totals, TypeTotal};

/// The setting of the local allowance rules (adult age, continuing in school, local types).
pub const ALLOWANCE_RULES: &str = "allowance_rules";
/// The setting of the banks' file layouts (columns and their headers).
pub const ALLOWANCE_BANK_LAYOUTS: &str = "allowance_bank_layouts";

/// Most documents (photos or scans) on one application.
pub const MAX_DOCUMENTS: usize = 10;
/// Most applications one bulk decision takes.
pub const MAX_BULK: usize = 10_000;

/// A standard version as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredStandard {
    pub id: String,
    pub type_code: String,
    pub division: DivisionCode,
    pub from: Month,
    pub to: Option<Month>,
    pub amount: Option<Fen>,
    pub follows_type: Option<String>,
    pub follows_percent: Option<u32>,
    pub note: String,
    pub created_at: i64,
    pub created_by: String,
}

/// One step of a case: who, when, what they decided and why.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CaseStep {
    pub seq: i64,
    /// filed, township, county, stop, handover_out, handover_in, account, document, end
    pub step: String,
    /// approve, reject, or empty for steps without a decision.
    pub decision: String,
    pub reason: String,
    pub actor_id: String,
    pub actor_name: String,
    pub at: i64,
}

impl CaseStep {
    /// The step as people read it: 乡镇查验, 县级确认, 停发, ...
    pub fn label(&self) -> &'static str {
        match self.step.as_str() {
            "filed" => "提出申请",
            "township" => "乡镇查验",
            "county" => "县级确认",
            "stop" => "停发",
            "end" => "停发（名册核查）",
            "handover_out" => "迁出交接",
            "handover_in" => "迁入接续",
            "account" => "变更账户",
            "document" => "补充材料",
            _ => "其他",
        }
    }

    pub fn decision_label(&self) -> &'static str {
        match self.decision.as_str() {
            "approve" => "同意",
            "reject" => "不同意",
            _ => "",
        }
    }
}

/// An application or case, as its page and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct AllowanceCase {
    pub id: String,
    #[serde(skip)]
    pub county_code: String,
    pub child_id: String,
    pub child_name: String,
    pub division: DivisionCode,
    pub type_code: String,
    pub status: Status,
    /// Seen only by users designated for 受艾滋病影响儿童.
    pub sensitive: bool,
    pub filed_as: FiledAs,
    pub applicant: String,
    pub bank_name: String,
    pub account_holder: String,
    pub account_masked: String,
    pub documents: Vec<String>,
    pub note: String,
    /// Why the child looked eligible when the application was filed.
    pub eligibility: String,
    pub filed_by_name: String,
    pub filed_at: i64,
    pub confirmed_at: Option<i64>,
    pub start_month: Option<Month>,
    pub end_month: Option<Month>,
    pub end_cause: Option<EndCause>,
    pub end_on: Option<NaiveDate>,
    pub end_reason: String,
    /// Handed over from this case of another county.
    pub from_case: Option<String>,
    /// Past months are to be settled (adjustment lines) in the next roll.
    pub reconcile: bool,
    pub version: i64,
    pub updated_at: i64,
    pub steps: Vec<CaseStep>,
}

/// The columns of a case row (`c.` aliased).
pub(crate) const CASE_COLUMNS: &str = "c.county_code, c.id, c.child_id, c.division_code, \
     c.type_code, c.status, c.sensitive, c.filed_as, c.applicant, c.bank_name, c.account_holder, \
     c.bank_account, c.account_masked, c.documents, c.note, c.eligibility, c.filed_by, \
     c.filed_by_name, c.filed_at, c.confirmed_at, c.start_month, c.end_month, c.end_cause, \
     c.end_on, c.end_reason, c.from_case, c.reconcile_at, c.version, c.updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CaseRow {
    pub county_code: String,
    pub id: String,
    pub child_id: String,
    pub division_code: String,
    pub type_code: String,
    pub status: String,
    pub sensitive: bool,
    pub filed_as: String,
    pub applicant: String,
    pub bank_name: String,
    pub account_holder: String,
    pub bank_account: String,
    pub account_masked: String,
    pub documents: String,
    pub note: String,
    pub eligibility: String,
    #[allow(dead_code)]
    pub filed_by: String,
    pub filed_by_name: String,
    pub filed_at: i64,
    pub confirmed_at: Option<i64>,
    pub start_month: Option<String>,
    pub end_month: Option<String>,
    pub end_cause: Option<String>,
    pub end_on: Option<String>,
    pub end_reason: String,
    pub from_case: Option<String>,
    pub reconcile_at: Option<i64>,
    pub version: i64,
    pub updated_at: i64,
}

/// A stored month ('YYYY-MM'); a value the code did not write reads as none.
pub(crate) fn month_of(text: Option<&str>) -> Option<Month> {
    text.and_then(|t| Month::parse("月份", t).ok())
}

pub(crate) fn date_of(text: Option<&str>) -> Option<NaiveDate> {
    text.and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

impl CaseRow {
    pub(crate) fn into_case(self, child_name: String, steps: Vec<CaseStep>) -> AllowanceCase {
        AllowanceCase {
            division: DivisionCode::parse(&self.division_code)
                .unwrap_or_else(|_| DivisionCode::parse(&self.county_code).expect("county")),
            status: Status::parse(&self.status).unwrap_or(Status::Filed),
            filed_as: FiledAs::parse(&self.filed_as).unwrap_or(FiledAs::Village),
            documents: serde_json::from_str(&self.documents).unwrap_or_default(),
            start_month: month_of(self.start_month.as_deref()),
            end_month: month_of(self.end_month.as_deref()),
            end_cause: self.end_cause.as_deref().and_then(EndCause::parse),
            end_on: date_of(self.end_on.as_deref()),
            id: self.id,
            county_code: self.county_code,
            child_id: self.child_id,
            child_name,
            type_code: self.type_code,
            sensitive: self.sensitive,
            applicant: self.applicant,
            bank_name: self.bank_name,
            account_holder: self.account_holder,
            account_masked: self.account_masked,
            note: self.note,
            eligibility: self.eligibility,
            filed_by_name: self.filed_by_name,
            filed_at: self.filed_at,
            confirmed_at: self.confirmed_at,
            end_reason: self.end_reason,
            from_case: self.from_case,
            reconcile: self.reconcile_at.is_some(),
            version: self.version,
            updated_at: self.updated_at,
            steps,
        }
    }
}

/// The Beijing date of a time (what "the month after confirmation" counts from).
pub(crate) fn beijing_date(ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms + 8 * 3_600_000)
        .expect("clock within range")
        .date_naive()
}

/// The ledger facts eligibility reads, from a child's plain columns (and, where a type
/// asks for them, the sealed details' way of care and disability).
pub(crate) fn standing(
    birth_date: NaiveDate,
    category_bits: i64,
    school_status: &str,
    details: Option<&SealedFacts>,
) -> ChildStanding {
    ChildStanding {
        birth_date,
        categories: CategorySet::from_bits(category_bits as u32),
        orphan_care: details.and_then(|d| d.orphan_care),
        disability: details.and_then(|d| d.disability),
        school_status: SchoolStatus::parse_label(school_status),
    }
}

/// What eligibility needs from a record's sealed details.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct SealedFacts {
    #[serde(default)]
    pub orphan_care: Option<OrphanCare>,
    #[serde(default)]
    pub disability: Option<Disability>,
}

impl Store {
    /// The allowance rules in force at a division (all versions).
    pub async fn allowance_rules(
        &self,
        at: Option<DivisionCode>,
    ) -> Result<AllowanceRuleBook, StoreError> {
        let versions = self
            .setting_versions(ALLOWANCE_RULES, at)
            .await?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_str::<AllowanceRules>(&v).ok())
            .collect();
        Ok(AllowanceRuleBook::new(versions))
    }

    /// The allowance types of a division today: the national ones and its local ones.
    pub async fn allowance_types(&self, at: Option<DivisionCode>) -> Result<TypeBook, StoreError> {
        let rules = self.allowance_rules(at).await?;
        Ok(TypeBook::new(&rules.on(self.clock.today()).local_types))
    }

    /// The names of division codes (12-digit), for lists that show places.
    pub async fn division_names_of(
        &self,
        codes: Vec<String>,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut codes = codes;
        codes.sort();
        codes.dedup();
        let mut out = std::collections::HashMap::new();
        for chunk in codes.chunks(500) {
            let mut conn = self.read().await?;
            let rows: Vec<(String, String)> = on!(conn.conn(), |c| {
                let mut qb =
                    sqlx::QueryBuilder::new("SELECT code, name FROM divisions WHERE code IN (");
                let mut sep = qb.separated(", ");
                for code in chunk {
                    sep.push_bind(code.as_str());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(&mut *c).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// The county an application's or roll's rows live in.
    pub(crate) async fn locate_allowance(&self, id: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT county_code FROM allowance_locator WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(row.map(|(c,)| c))
    }

    /// The latest month with a locked roll in `county` (what a new standard may not
    /// reach back into, and what past months are settled through).
    pub(crate) async fn latest_locked_month(
        &self,
        county: &str,
    ) -> Result<Option<Month>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(Option<String>,)> = on!(conn.conn(), |c| {
            sqlx::query_as(
            "SELECT MAX(month) FROM allowance_rolls WHERE county_code = $1 AND status = 'locked'"
        )
        .bind(county)
        .fetch_optional(&mut *c)
        .await
        })?;
        Ok(month_of(row.and_then(|(m,)| m).as_deref()))
    }

    /// The sealed facts of some children of one county, by id (only for types that ask
    /// for the way of care or a disability).
    pub(crate) async fn sealed_facts(
        &self,
        county: &str,
        child_ids: &[String],
    ) -> Result<std::collections::HashMap<String, SealedFacts>, StoreError> {
        let keys = self.keys()?;
        let mut out = std::collections::HashMap::new();
        for chunk in child_ids.chunks(500) {
            let rows: Vec<(String, String)> = {
                let mut conn = self.read().await?;
                on!(conn.conn(), |c| {
                    let mut qb = sqlx::QueryBuilder::new(
                        "SELECT id, details FROM children WHERE county_code = ",
                    );
                    qb.push_bind(county).push(" AND id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(")");
                    qb.build_query_as().fetch_all(&mut *c).await
                })?
            };
            for (id, sealed) in rows {
                let details = keys.open(&format!("children.details:{id}"), &sealed)?;
                let facts: SealedFacts = serde_json::from_str(&details).unwrap_or_default();
                out.insert(id, facts);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// Seals with the current key what allowances keep sealed and is not (key rotation):
    /// the cases' bank accounts and the copies of numbers and accounts in rolls' lines (a
    /// locked roll's values stay the same; only their sealing changes). `current` is the
    /// LIKE pattern of values sealed with the current key.
    pub(crate) async fn reseal_allowances(
        &self,
        keys: &crate::keys::FieldKeys,
        current: &str,
    ) -> Result<u64, StoreError> {
        let mut done = 0u64;
        loop {
            let rows: Vec<(String, String, String)> = {
                let mut c = self.read().await?;
                on!(c.conn(), |c| sqlx::query_as(
                    "SELECT county_code, id, bank_account FROM allowance_cases
                     WHERE bank_account <> '' AND bank_account NOT LIKE $1 LIMIT 500"
                )
                .bind(current)
                .fetch_all(&mut *c)
                .await)?
            };
            if rows.is_empty() {
                break;
            }
            let mut tx = self.begin().await?;
            for (county, id, sealed) in rows {
                let aad = account_aad(&id);
                let plain = keys.open(&aad, &sealed)?;
                on!(tx.conn(), |c| {
                    sqlx::query(
                    "UPDATE allowance_cases SET bank_account = $3 WHERE county_code = $1 AND id = $2"
                )
                .bind(&county)
                .bind(&id)
                .bind(keys.seal(&aad, &plain))
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
                })?;
                done += 1;
            }
            tx.commit().await?;
        }
        type LineRow = (String, String, i64, String, String, String, String);
        loop {
            let rows: Vec<LineRow> = {
                let mut c = self.read().await?;
                on!(c.conn(), |c| {
                    sqlx::query_as(
                    "SELECT county_code, roll_id, line_no, case_id, child_id, id_number, bank_account
                     FROM allowance_roll_lines
                     WHERE (id_number <> '' AND id_number NOT LIKE $1)
                        OR (bank_account <> '' AND bank_account NOT LIKE $1)
                     LIMIT 500"
                )
                .bind(current)
                .fetch_all(&mut *c)
                .await
                })?
            };
            if rows.is_empty() {
                break;
            }
            let mut tx = self.begin().await?;
            for (county, roll, line, case_id, child_id, number, account) in rows {
                let reseal = |aad: &str, v: &str| -> Result<String, StoreError> {
                    if v.is_empty() {
                        Ok(String::new())
                    } else {
                        Ok(keys.seal(aad, &keys.open(aad, v)?))
                    }
                };
                let number = reseal(&id_number_aad(&child_id), &number)?;
                let account = reseal(&account_aad(&case_id), &account)?;
                on!(tx.conn(), |c| sqlx::query(
                    "UPDATE allowance_roll_lines SET id_number = $4, bank_account = $5
                     WHERE county_code = $1 AND roll_id = $2 AND line_no = $3"
                )
                .bind(&county)
                .bind(&roll)
                .bind(line)
                .bind(&number)
                .bind(&account)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
                done += 1;
            }
            tx.commit().await?;
        }
        Ok(done)
    }
}

/// Seals a bank account for its case.
pub(crate) fn account_aad(case_id: &str) -> String {
    format!("allowance_cases.bank_account:{case_id}")
}

/// The roll lines keep the sealed 身份证号 exactly as the ledger sealed it (its own
/// place in the ledger opens it).
pub(crate) fn id_number_aad(child_id: &str) -> String {
    format!("children.id_number:{child_id}")
}
