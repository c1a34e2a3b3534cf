//! Pre-employment record checks (入职查询): the restricted list and the questions asked of
//! it. The rules of the inputs are the domain's (weibao_domain::record_checks).
//!
//! The list is write-only. An entry is sealed (name, 身份证号, offence, source) and found
//! only by the blind index of its 身份证号; no function here returns an entry, its name or
//! its number, and none lists the list: loading answers how many were added, removing how
//! many were withdrawn, a question 有/无相关记录. The list is matched across every county
//! (a person convicted elsewhere applies here).
//!
//! Who: the office of a county, or its police liaison, loads and withdraws entries; an
//! institution (a reporter account of a school, kindergarten, training or care
//! institution), a member unit's liaison or the office asks, with the person's signed
//! consent as a file, and sees its own unit's questions and answers. Every question is
//! audited with the asking unit, and limited: DAILY_CHECKS_PER_UNIT people a day per unit,
//! HOURLY_CHECKS_PER_ACCOUNT single questions an hour per account.

use weibao_domain::access::{Action, Role, Scope};
use weibao_domain::record_checks::{
    masked_name, query_number, CheckPurpose, CheckResult, ListEntryInput, Query, QueryInput,
    DAILY_CHECKS_PER_UNIT, HOURLY_CHECKS_PER_ACCOUNT, MAX_BATCH_ROWS,
};
use weibao_domain::work::UnitKind;
use weibao_domain::{DivisionCode, Invalid};

use crate::audit::{append, AuditEvent};
use crate::crypto::random_bytes;
use crate::db::Store;
use crate::error::StoreError;
use crate::files::Owner;
use crate::on;
use crate::work::new_id;

/// A question asked and its answer, as the asking unit (or the office) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCheck {
    pub id: String,
    /// The number for the institution's file (RC20261205-7K3QX9PM).
    pub number: String,
    pub unit_id: String,
    pub unit_name: String,
    /// The person asked about, as the asker typed the name; the office sees it masked.
    pub name: String,
    /// The 身份证号, masked (first 4 and last 4).
    pub id_masked: String,
    pub post: String,
    pub purpose: CheckPurpose,
    pub result: CheckResult,
    pub batch_id: Option<String>,
    pub asked_at: i64,
}

#[derive(sqlx::FromRow)]
struct CheckRow {
    id: String,
    number: String,
    unit_id: String,
    unit_name: String,
    details: String,
    post: String,
    purpose: String,
    result: String,
    batch_id: Option<String>,
    asked_at: i64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CheckDetails {
    name: String,
    id_masked: String,
}

#[derive(serde::Serialize)]
struct EntryDetails<'a> {
    name: &'a str,
    id_number: &'a str,
    offence: &'a str,
    source: &'a str,
}

/// What loading a sheet of entries did: counts, never names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListLoaded {
    pub added: usize,
    /// Already on the list (loaded before by this county): not added twice.
    pub already: usize,
}

/// Most entries one load may carry.
pub const MAX_LIST_LOAD: usize = 5000;
/// Most questions listed at once.
const MAX_LISTED: i64 = 1000;
/// Most files with one question (the consent).
const CONSENT_FILES: usize = 1;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

impl Store {
    /// The county whose list the caller keeps: the office's, or the police liaison's
    /// (any other unit's liaison is refused).
    async fn list_keeper_county(&self, scope: &Scope) -> Result<String, StoreError> {
        scope.check_role(Action::LoadRecordList)?;
        if scope.is_system() {
            return Err(StoreError::Forbidden);
        }
        if scope.role == Role::Unit {
            let unit = match &scope.unit_id {
                Some(id) => self.unit_by_id(id).await?,
                None => None,
            };
            match unit {
                Some(u) if u.kind == UnitKind::Police && u.active => return Ok(u.county_code),
                _ => return Err(StoreError::Forbidden),
            }
        }
        Ok(scope.county_code())
    }

    /// Loads people onto the restricted list: every row is checked first and one bad row
    /// refuses the whole load (naming the row and the field); people this county already
    /// listed are not added again. Answers counts only.
    pub async fn load_record_list(
        &self,
        scope: &Scope,
        entries: Vec<ListEntryInput>,
        ip: &str,
    ) -> Result<ListLoaded, StoreError> {
        let county = self.list_keeper_county(scope).await?;
        if entries.is_empty() || entries.len() > MAX_LIST_LOAD {
            return Err(StoreError::invalid(
                "entries",
                Invalid::new(
                    "entries_count",
                    format!("每次导入 1 到 {MAX_LIST_LOAD} 人；名单较大时请分批导入"),
                ),
            ));
        }
        let today = self.clock().today();
        let mut checked = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let entry = e.check(today).map_err(|(field, invalid)| {
                StoreError::invalid(
                    field,
                    Invalid::new(
                        invalid.code,
                        format!(
                            "第 {} 条：{}（整批未导入，请改正后重新导入）",
                            i + 1,
                            invalid.message
                        ),
                    ),
                )
            })?;
            checked.push(entry);
        }
        let keys = self.keys()?;
        let now = self.now_ms();
        let mut loaded = ListLoaded::default();
        let mut seen = std::collections::HashSet::new();
        let mut tx = self.begin().await?;
        for e in &checked {
            let index = keys.index(e.id_number.as_str());
            if !seen.insert(index.clone()) {
                loaded.already += 1;
                continue;
            }
            let there: Option<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
                "SELECT id FROM record_list
                 WHERE county_code = $1 AND id_index = $2 AND removed_at IS NULL LIMIT 1"
            )
            .bind(&county)
            .bind(&index)
            .fetch_optional(&mut *c)
            .await)?;
            if there.is_some() {
                loaded.already += 1;
                continue;
            }
            let id = new_id();
            let details = serde_json::to_string(&EntryDetails {
                name: &e.name,
                id_number: e.id_number.as_str(),
                offence: e.offence.code(),
                source: &e.source,
            })
            .expect("details serialise");
            on!(tx.conn(), |c| sqlx::query(
                "INSERT INTO record_list (county_code, id, id_index, details, loaded_by,
                     loaded_at, removed_at, removed_why)
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, '')"
            )
            .bind(&county)
            .bind(&id)
            .bind(&index)
            .bind(keys.seal(&format!("record_list.details:{id}"), &details))
            .bind(&scope.user_id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            loaded.added += 1;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "record_list.load", &county)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("added={} already={}", loaded.added, loaded.already)),
        )
        .await?;
        tx.commit().await?;
        Ok(loaded)
    }

    /// Withdraws a person from this county's list (a wrong entry, a record expunged), with
    /// the reason; answers how many entries were withdrawn (0 or 1).
    pub async fn withdraw_from_record_list(
        &self,
        scope: &Scope,
        id_number: &str,
        reason: &str,
        ip: &str,
    ) -> Result<u64, StoreError> {
        let county = self.list_keeper_county(scope).await?;
        let number = weibao_domain::IdNumber::parse(id_number, self.clock().today())
            .map_err(|e| StoreError::invalid("id_number", e))?;
        let reason = reason.trim();
        if reason.chars().count() < 4 || reason.chars().count() > 200 {
            return Err(StoreError::invalid(
                "reason",
                Invalid::new(
                    "reason_length",
                    "请填写撤销原因（4 到 200 字），如：错录，经核实非本人",
                ),
            ));
        }
        let index = self.keys()?.index(number.as_str());
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let removed = on!(tx.conn(), |c| sqlx::query(
            "UPDATE record_list SET removed_at = $3, removed_why = $4
             WHERE county_code = $1 AND id_index = $2 AND removed_at IS NULL"
        )
        .bind(&county)
        .bind(&index)
        .bind(now)
        .bind(reason)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "record_list.withdraw", &county)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("withdrawn={removed} reason={reason}")),
        )
        .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// How many people this county's list holds (a count is not a listing).
    pub async fn record_list_size(&self, scope: &Scope) -> Result<i64, StoreError> {
        let county = self.list_keeper_county(scope).await?;
        let mut c = self.read().await?;
        let (n,): (i64,) = on!(c.conn(), |c| sqlx::query_as(
            "SELECT COUNT(*) FROM record_list WHERE county_code = $1 AND removed_at IS NULL"
        )
        .bind(&county)
        .fetch_one(&mut *c)
        .await)?;
        Ok(n)
    }

    /// Who asks: the caller's unit of the registry (a member unit's liaison), the county
    /// office's for the office, or the institution's own account (a reporter account
    /// stands for its school or kindergarten): (county, id, name).
    async fn asking_unit(&self, scope: &Scope) -> Result<(String, String, String), StoreError> {
        scope.check_role(Action::CheckRecords)?;
        if scope.is_system() {
            return Err(StoreError::Forbidden);
        }
        match scope.role {
            Role::Office => {
                let county =
                    DivisionCode::parse(&scope.county_code()).map_err(|_| StoreError::Forbidden)?;
                let office = self.county_unit(county, UnitKind::Office).await?;
                Ok((office.county_code, office.id, office.name))
            }
            Role::Reporter => {
                let name: Option<(String,)> = {
                    let mut c = self.read().await?;
                    on!(c.conn(), |c| sqlx::query_as(
                        "SELECT display_name FROM users WHERE id = $1"
                    )
                    .bind(&scope.user_id)
                    .fetch_optional(&mut *c)
                    .await)?
                };
                let name = name.map(|(n,)| n).unwrap_or_else(|| scope.username.clone());
                Ok((scope.county_code(), scope.user_id.clone(), name))
            }
            _ => {
                let unit = match &scope.unit_id {
                    Some(id) => self.unit_by_id(id).await?,
                    None => None,
                };
                match unit {
                    Some(u) if u.active => Ok((u.county_code, u.id, u.name)),
                    _ => Err(StoreError::Conflict {
                        field: "unit",
                        code: "no_unit",
                        message: "您的账号未关联单位，无法查询；请联系未保办在账号中设置所属单位"
                            .into(),
                    }),
                }
            }
        }
    }

    /// Refuses when the unit (or, for single questions, the account) has asked too much.
    async fn check_limits(
        &self,
        county: &str,
        unit_id: &str,
        scope: &Scope,
        people: usize,
        single: bool,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        let mut c = self.read().await?;
        let (by_unit,): (i64,) = on!(c.conn(), |c| sqlx::query_as(
            "SELECT COUNT(*) FROM record_checks
             WHERE county_code = $1 AND unit_id = $2 AND asked_at > $3"
        )
        .bind(county)
        .bind(unit_id)
        .bind(now - DAY_MS)
        .fetch_one(&mut *c)
        .await)?;
        if by_unit + people as i64 > DAILY_CHECKS_PER_UNIT {
            return Err(StoreError::TooMany {
                code: "too_many_checks",
                message: format!(
                    "本单位 24 小时内已查询 {by_unit} 人，每日最多 {DAILY_CHECKS_PER_UNIT} 人；请明天再查，大批年度复查请分几天进行"
                ),
            });
        }
        if single {
            let (by_account,): (i64,) = on!(c.conn(), |c| sqlx::query_as(
                "SELECT COUNT(*) FROM record_checks
                 WHERE county_code = $1 AND asked_by = $2 AND asked_at > $3 AND batch_id IS NULL"
            )
            .bind(county)
            .bind(&scope.user_id)
            .bind(now - HOUR_MS)
            .fetch_one(&mut *c)
            .await)?;
            if by_account >= HOURLY_CHECKS_PER_ACCOUNT {
                return Err(StoreError::TooMany {
                    code: "too_many_checks",
                    message: format!(
                        "您 1 小时内已查询 {by_account} 次，每小时最多 {HOURLY_CHECKS_PER_ACCOUNT} 次；人数较多时请用批量查询（Excel）"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Asks about one person, with the signed consent (a photo or PDF scan); the answer is
    /// only 有/无相关记录, with its number.
    pub async fn check_record(
        &self,
        scope: &Scope,
        query: QueryInput,
        consent: (String, Vec<u8>),
        ip: &str,
    ) -> Result<RecordCheck, StoreError> {
        let (county, unit_id, unit_name) = self.asking_unit(scope).await?;
        let q = query
            .check(self.clock().today())
            .map_err(|(f, e)| StoreError::invalid(f, e))?;
        self.check_limits(&county, &unit_id, scope, 1, true).await?;
        let mut done = self
            .ask(
                scope,
                (&county, &unit_id, &unit_name),
                vec![q],
                None,
                consent,
                ip,
            )
            .await?;
        Ok(done.remove(0))
    }

    /// Asks about the people of a batch sheet (a yearly re-check), with one signed consent
    /// (the staff's signed list) for all; one bad row refuses the whole batch.
    pub async fn check_records_batch(
        &self,
        scope: &Scope,
        rows: Vec<QueryInput>,
        consent: (String, Vec<u8>),
        ip: &str,
    ) -> Result<Vec<RecordCheck>, StoreError> {
        let (county, unit_id, unit_name) = self.asking_unit(scope).await?;
        if rows.is_empty() || rows.len() > MAX_BATCH_ROWS {
            return Err(StoreError::invalid(
                "file",
                Invalid::new(
                    "rows_count",
                    format!("每次批量查询 1 到 {MAX_BATCH_ROWS} 人，请拆分后分批上传"),
                ),
            ));
        }
        let today = self.clock().today();
        let mut checked = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let q = r.check(today).map_err(|(field, invalid)| {
                StoreError::invalid(
                    field,
                    Invalid::new(
                        invalid.code,
                        format!(
                            "第 {} 行：{}（整批未查询，请改正后重新上传）",
                            i + 2,
                            invalid.message
                        ),
                    ),
                )
            })?;
            checked.push(q);
        }
        self.check_limits(&county, &unit_id, scope, checked.len(), false)
            .await?;
        self.ask(
            scope,
            (&county, &unit_id, &unit_name),
            checked,
            Some(new_id()),
            consent,
            ip,
        )
        .await
    }

    async fn ask(
        &self,
        scope: &Scope,
        (county, unit_id, unit_name): (&str, &str, &str),
        queries: Vec<Query>,
        batch_id: Option<String>,
        consent: (String, Vec<u8>),
        ip: &str,
    ) -> Result<Vec<RecordCheck>, StoreError> {
        if consent.1.is_empty() {
            return Err(StoreError::invalid(
                "consent",
                Invalid::new(
                    "consent_missing",
                    "请上传被查询人签字的授权书（照片或 PDF 扫描件）；批量查询可上传签字名单",
                ),
            ));
        }
        let staged = self
            .stage_file(&consent.0, consent.1)
            .await
            .map_err(|e| match e {
                StoreError::Invalid { invalid, .. } => StoreError::invalid("consent", invalid),
                other => other,
            })?;
        let keys = self.keys()?;
        let now = self.now_ms();
        let today = self.clock().today();
        let owner_id = batch_id.clone().unwrap_or_else(new_id);
        let mut tx = self.begin().await?;
        let file = self
            .keep_file(
                &mut tx,
                Owner {
                    county_code: county,
                    kind: "record_check",
                    id: &owner_id,
                },
                staged,
                &scope.user_id,
                CONSENT_FILES,
            )
            .await?;
        let mut answers = Vec::with_capacity(queries.len());
        let mut found = 0usize;
        for (i, q) in queries.iter().enumerate() {
            let index = keys.index(q.id_number.as_str());
            let listed: Option<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
                "SELECT id FROM record_list WHERE id_index = $1 AND removed_at IS NULL LIMIT 1"
            )
            .bind(&index)
            .fetch_optional(&mut *c)
            .await)?;
            let result = if listed.is_some() {
                found += 1;
                CheckResult::Found
            } else {
                CheckResult::Clear
            };
            // A single question's id is its consent's owner; a batch's rows each their own.
            let id = if batch_id.is_none() && i == 0 {
                owner_id.clone()
            } else {
                new_id()
            };
            let number = query_number(today, &random_bytes::<8>());
            let details = serde_json::to_string(&CheckDetails {
                name: q.name.clone(),
                id_masked: q.id_number.masked(),
            })
            .expect("details serialise");
            on!(tx.conn(), |c| sqlx::query(
                "INSERT INTO record_checks (county_code, id, number, unit_id, unit_name, asked_by,
                     details, id_index, post, purpose, result, batch_id, row_no, consent_id,
                     asked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            )
            .bind(county)
            .bind(&id)
            .bind(&number)
            .bind(unit_id)
            .bind(unit_name)
            .bind(&scope.user_id)
            .bind(keys.seal(&format!("record_checks.details:{id}"), &details))
            .bind(&index)
            .bind(&q.post)
            .bind(q.purpose.code())
            .bind(result.code())
            .bind(&batch_id)
            .bind(i as i64)
            .bind(&file.id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            answers.push(RecordCheck {
                id,
                number,
                unit_id: unit_id.to_string(),
                unit_name: unit_name.to_string(),
                name: q.name.clone(),
                id_masked: q.id_number.masked(),
                post: q.post.clone(),
                purpose: q.purpose,
                result,
                batch_id: batch_id.clone(),
                asked_at: now,
            });
        }
        let event = AuditEvent::by(scope, "record_check.ask", &owner_id)
            .in_county(county)
            .from_ip(ip)
            .detail(format!(
                "unit={unit_id} batch={} people={} found={found} first={}",
                batch_id.is_some(),
                answers.len(),
                answers[0].number
            ));
        append(&mut tx, now, &event).await?;
        tx.commit().await?;
        Ok(answers)
    }

    /// The questions the caller's unit asked (the office: every unit's in its county, the
    /// names masked), newest first; `batch` narrows to one batch.
    pub async fn record_checks(
        &self,
        scope: &Scope,
        batch: Option<&str>,
    ) -> Result<Vec<RecordCheck>, StoreError> {
        let (county, unit_id, _) = self.asking_unit(scope).await?;
        let office = scope.role == Role::Office;
        let rows: Vec<CheckRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, number, unit_id, unit_name, details, post, purpose, result,
                        batch_id, asked_at
                 FROM record_checks
                 WHERE county_code = $1 AND ($2 OR unit_id = $3)
                   AND ($4 = '' OR batch_id = $4)
                 ORDER BY asked_at DESC, row_no LIMIT $5"
            )
            .bind(&county)
            .bind(office)
            .bind(&unit_id)
            .bind(batch.unwrap_or(""))
            .bind(MAX_LISTED)
            .fetch_all(&mut *c)
            .await)?
        };
        let keys = self.keys()?;
        rows.into_iter()
            .map(|r| {
                let d: CheckDetails = serde_json::from_str(
                    &keys.open(&format!("record_checks.details:{}", r.id), &r.details)?,
                )
                .map_err(|e| StoreError::Config(format!("查询记录无法读取：{e}")))?;
                let own = r.unit_id == unit_id;
                Ok(RecordCheck {
                    id: r.id,
                    number: r.number,
                    unit_id: r.unit_id,
                    unit_name: r.unit_name,
                    name: if own { d.name } else { masked_name(&d.name) },
                    id_masked: d.id_masked,
                    post: r.post,
                    purpose: CheckPurpose::parse(&r.purpose).unwrap_or(CheckPurpose::Hiring),
                    result: CheckResult::parse(&r.result).unwrap_or(CheckResult::Clear),
                    batch_id: r.batch_id,
                    asked_at: r.asked_at,
                })
            })
            .collect()
    }
}
