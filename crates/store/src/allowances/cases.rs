//! Applications and cases: filing (with documents and the sealed bank account), 乡镇查验
//! and 县级确认 (one by one or many at once, each recorded), stopping, the account, and the
//! children who look eligible but have no application yet (应保尽保).

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::QueryBuilder;
use weibao_domain::access::{Action, Denied, Scope};
use weibao_domain::allowances::{
    self, after, eligible, mask_account, parse_bank_account, parse_text, start_month,
    ChildStanding, Decision, EndCause, FiledAs, Status, Step, TypeDef,
};
use weibao_domain::child::Category;
use weibao_domain::{DivisionCode, Invalid, Level};

use super::{
    account_aad, beijing_date, standing, AllowanceCase, CaseRow, CaseStep, SealedFacts,
    CASE_COLUMNS, MAX_BULK, MAX_DOCUMENTS,
};
use crate::audit::{append, append_many, AuditEvent};
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::Total;

/// An application as filed.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub child_id: String,
    pub type_code: String,
    pub filed_as: FiledAs,
    /// The guardian who applies (on whose behalf the village files).
    pub applicant: String,
    pub bank_name: String,
    pub account_holder: String,
    pub bank_account: Option<String>,
    pub note: String,
}

/// Filters of the application list; `division` means the subtree.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub division: Option<DivisionCode>,
    pub status: Option<Status>,
    pub type_code: Option<String>,
    pub child_id: Option<String>,
    pub page: u32,
    pub per_page: u32,
}

/// A child who looks eligible for a type and has no application for it yet.
#[derive(Debug, Clone)]
pub struct Eligible {
    pub child_id: String,
    pub child_name: String,
    pub division: String,
    pub type_code: String,
    pub type_label: String,
    pub reason: String,
}

/// What became of one application of a bulk decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkOutcome {
    Done(Status),
    /// Unknown, outside the caller's subtree, or hidden from the caller.
    NotFound,
    /// The caller's role may not take this step there.
    Forbidden,
    /// The application is not at this step (or changed meanwhile).
    Conflict(String),
    /// The child no longer meets the type's conditions.
    NotEligible(String),
}

/// Most proposals listed at once.
const MAX_PROPOSALS: usize = 500;

/// Rows of a multi-row statement.
const CHUNK: usize = 500;

/// Passes when the scope may do any of `actions` at `at`: 403 only when it may do none of
/// them anywhere, 404 outside its subtree.
pub(crate) fn check_any(
    scope: &Scope,
    actions: &[Action],
    at: DivisionCode,
) -> Result<(), StoreError> {
    let mut denied = Denied::Forbidden;
    for a in actions {
        match scope.check(*a, at) {
            Ok(()) => return Ok(()),
            Err(Denied::NotFound) => denied = Denied::NotFound,
            Err(Denied::Forbidden) => {}
        }
    }
    Err(denied.into())
}

impl Store {
    /// A case row the caller may act on (`actions`: any of them), with the child's name.
    pub(crate) async fn allowance_case_row(
        &self,
        scope: &Scope,
        id: &str,
        actions: &[Action],
    ) -> Result<(CaseRow, String), StoreError> {
        if !actions.iter().any(|a| scope.check_role(*a).is_ok()) {
            return Err(StoreError::Forbidden);
        }
        let Some(county) = self.locate_allowance(id).await? else {
            return Err(StoreError::NotFound);
        };
        let mut conn = self.read().await?;
        #[derive(sqlx::FromRow)]
        struct WithName {
            #[sqlx(flatten)]
            row: CaseRow,
            child_name: Option<String>,
        }
        let found: Option<WithName> = on!(conn.conn(), |c| sqlx::query_as(&format!(
            "SELECT {CASE_COLUMNS}, ch.name AS child_name FROM allowance_cases c
             LEFT JOIN children ch ON ch.county_code = c.county_code AND ch.id = c.child_id
             WHERE c.county_code = $1 AND c.id = $2"
        ))
        .bind(&county)
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
        drop(conn);
        let Some(found) = found else {
            return Err(StoreError::NotFound);
        };
        let division = DivisionCode::parse(&found.row.division_code)
            .map_err(|e| StoreError::Config(e.message))?;
        check_any(scope, actions, division)?;
        if found.row.sensitive && !scope.designated {
            return Err(StoreError::NotFound);
        }
        let name = found.child_name.unwrap_or_else(|| "（已迁出本县）".into());
        Ok((found.row, name))
    }

    async fn case_steps(&self, county: &str, id: &str) -> Result<Vec<CaseStep>, StoreError> {
        let mut conn = self.read().await?;
        Ok(on!(conn.conn(), |c| sqlx::query_as(
            "SELECT seq, step, decision, reason, actor_id, actor_name, at FROM allowance_steps
             WHERE county_code = $1 AND case_id = $2 ORDER BY seq"
        )
        .bind(county)
        .bind(id)
        .fetch_all(&mut *c)
        .await)?)
    }

    /// An application with its steps, for a caller who may see it (audited as a read).
    pub async fn application(
        &self,
        scope: &Scope,
        id: &str,
        ip: &str,
    ) -> Result<AllowanceCase, StoreError> {
        let (row, name) = self
            .allowance_case_row(scope, id, &[Action::ViewAllowances])
            .await?;
        let steps = self.case_steps(&row.county_code, id).await?;
        self.audit(
            AuditEvent::by(scope, "allowance.read", id)
                .in_county(&row.county_code)
                .from_ip(ip),
        )
        .await?;
        Ok(row.into_case(name, steps))
    }

    async fn reload_case(&self, scope: &Scope, id: &str) -> Result<AllowanceCase, StoreError> {
        let (row, name) = self
            .allowance_case_row(scope, id, &[Action::ViewAllowances])
            .await?;
        let steps = self.case_steps(&row.county_code, id).await?;
        Ok(row.into_case(name, steps))
    }

    /// Files an application for a child of the caller's village (or township): the type
    /// must be configured, the ledger must show the child eligible, and the child may hold
    /// one open application per type and one basic living allowance at a time.
    pub async fn create_application(
        &self,
        scope: &Scope,
        new: NewApplication,
        ip: &str,
    ) -> Result<AllowanceCase, StoreError> {
        let keys = self.keys()?;
        scope.check_role(Action::ApplyAllowances)?;
        let child = self
            .child_by_id(scope, &new.child_id, Action::ViewChildren)
            .await?;
        let division = child.record.division();
        scope.check(Action::ApplyAllowances, division)?;
        let today = self.clock.today();
        let rules = self.allowance_rules(Some(division)).await?;
        let rules = rules.on(today);
        let types = weibao_domain::allowances::TypeBook::new(&rules.local_types);
        let def = types
            .require("保障类型", &new.type_code)
            .map_err(|e| StoreError::invalid("type", e))?
            .clone();
        if def.designated_only && !scope.designated {
            return Err(StoreError::Forbidden);
        }
        let facts = ChildStanding {
            birth_date: child.record.id_number().birth_date(),
            categories: child.effective,
            orphan_care: child.record.orphan_care,
            disability: child.record.disability,
            school_status: child.record.school_status,
        };
        let reason = eligible(&def, &facts, rules, today).map_err(|why| {
            StoreError::invalid(
                "type",
                Invalid::new(
                    "not_eligible",
                    format!(
                        "该儿童不符合{}的条件：{why}。请先核实并更新儿童台账",
                        def.label
                    ),
                ),
            )
        })?;
        let text = |field: &'static str, label: &str, v: &str| {
            parse_text(label, v, false).map_err(|e| StoreError::invalid(field, e))
        };
        let applicant = text("applicant", "申请人", &new.applicant)?;
        let bank_name = text("bank_name", "开户银行", &new.bank_name)?;
        let account_holder = text("account_holder", "账户户名", &new.account_holder)?;
        let note = text("note", "备注", &new.note)?;
        let account = match new.bank_account.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(a) => {
                Some(parse_bank_account(a).map_err(|e| StoreError::invalid("bank_account", e))?)
            }
        };
        let county = child.county_code.clone();
        self.check_open_cases(&county, &child.id, &def, &types)
            .await?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now_ms();
        let sensitive = def.designated_only || child.record.has(Category::AffectedByHiv);
        let mut tx = self.begin().await?;
        let inserted = on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO allowance_cases (county_code, id, child_id, division_code, type_code,
                 status, sensitive, filed_as, applicant, bank_name, account_holder, bank_account,
                 account_masked, documents, note, eligibility, filed_by, filed_by_name, filed_at,
                 version, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'filed', $6, $7, $8, $9, $10, $11, $12, '[]', $13, $14,
                 $15, $16, $17, 1, $17)
             ON CONFLICT DO NOTHING"
        )
        .bind(&county)
        .bind(&id)
        .bind(&child.id)
        .bind(division.full())
        .bind(&def.code)
        .bind(sensitive)
        .bind(new.filed_as.as_str())
        .bind(&applicant)
        .bind(&bank_name)
        .bind(&account_holder)
        .bind(
            account
                .as_ref()
                .map(|a| keys.seal(&account_aad(&id), a))
                .unwrap_or_default(),
        )
        .bind(account.as_deref().map(mask_account).unwrap_or_default())
        .bind(&note)
        .bind(&reason)
        .bind(&scope.user_id)
        .bind(&scope.username)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if inserted == 0 {
            return Err(StoreError::Conflict {
                field: "type",
                code: "application_exists",
                message: format!("该儿童已有{}的申请或正在保障中", def.label),
            });
        }
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO allowance_locator (id, county_code) VALUES ($1, $2)"
        )
        .bind(&id)
        .bind(&county)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        insert_step(
            &mut tx,
            &county,
            &id,
            1,
            "filed",
            "",
            &format!(
                "{}：{reason}{}",
                new.filed_as.label(),
                if note.is_empty() {
                    String::new()
                } else {
                    format!("。{note}")
                }
            ),
            scope,
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "allowance.apply", &id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("child={} type={}", child.id, def.code)),
        )
        .await?;
        tx.commit().await?;
        self.reload_case(scope, &id).await
    }

    /// Refuses a second open application of a type, and a second basic living allowance.
    async fn check_open_cases(
        &self,
        county: &str,
        child_id: &str,
        def: &TypeDef,
        types: &weibao_domain::allowances::TypeBook,
    ) -> Result<(), StoreError> {
        let open: Vec<(String, String)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT type_code, status FROM allowance_cases
                 WHERE county_code = $1 AND child_id = $2
                   AND status IN ('filed', 'checked', 'confirmed')"
            )
            .bind(county)
            .bind(child_id)
            .fetch_all(&mut *c)
            .await)?
        };
        for (code, status) in open {
            let status = Status::parse(&status).unwrap_or(Status::Filed);
            if code == def.code {
                return Err(StoreError::Conflict {
                    field: "type",
                    code: "application_exists",
                    message: format!(
                        "该儿童已有{}的申请（{}），不能重复申请",
                        def.label,
                        status.label()
                    ),
                });
            }
            if def.exclusive && types.get(&code).is_some_and(|t| t.exclusive) {
                return Err(StoreError::Conflict {
                    field: "type",
                    code: "exclusive_allowance",
                    message: format!(
                        "该儿童已有{}（{}）：孤儿、事实无人抚养、受艾滋病影响、困境儿童的基本生活保障只能享受一项",
                        types.label(&code),
                        status.label()
                    ),
                });
            }
        }
        Ok(())
    }

    /// A page of applications within the caller's subtree, newest first.
    pub async fn list_applications(
        &self,
        scope: &Scope,
        filter: &CaseFilter,
    ) -> Result<(Vec<AllowanceCase>, Total), StoreError> {
        scope.check_role(Action::ViewAllowances)?;
        let within = filter
            .division
            .or(scope.home())
            .unwrap_or(DivisionCode::parse("11").expect("a province"));
        if !scope.is_system() || filter.division.is_some() {
            scope.check(Action::ViewAllowances, within)?;
        }
        let per_page = i64::from(filter.per_page.clamp(1, 200));
        let offset = (i64::from(filter.page.max(1)) - 1) * per_page;
        let cap = Total::cap_for(offset, per_page);
        let all = scope.is_system() && filter.division.is_none();
        let designated = scope.designated;
        let (lo, hi) = within.subtree_bounds();
        macro_rules! filters {
            ($qb:expr) => {{
                if !all {
                    if within.level() >= Level::County {
                        $qb.push("c.county_code = ").push_bind(within.county_code());
                    } else {
                        $qb.push("c.county_code >= ")
                            .push_bind(lo[..6].to_string())
                            .push(" AND c.county_code <= ")
                            .push_bind(hi[..6].to_string());
                    }
                    if within.level() > Level::County {
                        $qb.push(" AND c.division_code >= ")
                            .push_bind(lo.clone())
                            .push(" AND c.division_code <= ")
                            .push_bind(hi.clone());
                    }
                } else {
                    $qb.push("1 = 1");
                }
                if let Some(s) = filter.status {
                    $qb.push(" AND c.status = ").push_bind(s.as_str());
                }
                if let Some(t) = &filter.type_code {
                    $qb.push(" AND c.type_code = ").push_bind(t.clone());
                }
                if let Some(child) = &filter.child_id {
                    $qb.push(" AND c.child_id = ").push_bind(child.clone());
                }
                if !designated {
                    $qb.push(" AND c.sensitive = FALSE");
                }
            }};
        }
        let mut conn = self.read().await?;
        let counted: i64 = on!(conn.conn(), |c| {
            let mut qb =
                QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM allowance_cases c WHERE ");
            filters!(qb);
            qb.push(" LIMIT ").push_bind(cap + 1).push(") capped");
            qb.build_query_scalar().fetch_one(&mut *c).await
        })?;
        #[derive(sqlx::FromRow)]
        struct WithName {
            #[sqlx(flatten)]
            row: CaseRow,
            child_name: Option<String>,
        }
        let rows: Vec<WithName> = on!(conn.conn(), |c| {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {CASE_COLUMNS}, ch.name AS child_name FROM allowance_cases c
                 LEFT JOIN children ch ON ch.county_code = c.county_code AND ch.id = c.child_id
                 WHERE "
            ));
            filters!(qb);
            qb.push(" ORDER BY c.updated_at DESC, c.id LIMIT ")
                .push_bind(per_page)
                .push(" OFFSET ")
                .push_bind(offset);
            qb.build_query_as().fetch_all(&mut *c).await
        })?;
        Ok((
            rows.into_iter()
                .map(|w| {
                    let name = w.child_name.unwrap_or_else(|| "（已迁出本县）".into());
                    w.row.into_case(name, Vec::new())
                })
                .collect(),
            Total::from_capped(counted, cap),
        ))
    }

    /// 乡镇查验 or 县级确认 of one application; the refusals are the API's (404, 403, 409
    /// when it waits for another step, 422 when the child no longer qualifies).
    pub async fn decide_application(
        &self,
        scope: &Scope,
        id: &str,
        step: Step,
        decision: Decision,
        reason: &str,
        ip: &str,
    ) -> Result<AllowanceCase, StoreError> {
        let outcome = self
            .decide_applications(scope, &[id.to_string()], step, decision, reason, ip)
            .await?
            .into_iter()
            .next()
            .map(|(_, o)| o)
            .unwrap_or(BulkOutcome::NotFound);
        match outcome {
            BulkOutcome::Done(_) => self.reload_case(scope, id).await,
            BulkOutcome::NotFound => Err(StoreError::NotFound),
            BulkOutcome::Forbidden => Err(StoreError::Forbidden),
            BulkOutcome::Conflict(message) => Err(StoreError::Conflict {
                field: "step",
                code: "wrong_step",
                message,
            }),
            BulkOutcome::NotEligible(message) => Err(StoreError::invalid(
                "decision",
                Invalid::new("not_eligible", message),
            )),
        }
    }

    /// The same decision on many applications at once (a county confirming its month's
    /// checked applications), each checked and recorded on its own: its step, its audit
    /// entry. Returns what became of each, in the order given.
    pub async fn decide_applications(
        &self,
        scope: &Scope,
        ids: &[String],
        step: Step,
        decision: Decision,
        reason: &str,
        ip: &str,
    ) -> Result<Vec<(String, BulkOutcome)>, StoreError> {
        let action = match step {
            Step::Township => Action::ReviewAllowances,
            Step::County => Action::ConfirmAllowances,
        };
        scope.check_role(action)?;
        let reason =
            parse_text("理由", reason, true).map_err(|e| StoreError::invalid("reason", e))?;
        if ids.len() > MAX_BULK {
            return Err(StoreError::invalid(
                "ids",
                Invalid::new(
                    "too_many",
                    format!(
                        "一次最多处理 {MAX_BULK} 份申请，实际为 {} 份，请分批",
                        ids.len()
                    ),
                ),
            ));
        }
        let mut outcome: HashMap<String, BulkOutcome> = HashMap::new();
        // Where each lives.
        let mut by_county: HashMap<String, Vec<String>> = HashMap::new();
        let mut unique: Vec<&String> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(CHUNK) {
            let rows: Vec<(String, String)> = {
                let mut conn = self.read().await?;
                on!(conn.conn(), |c| {
                    let mut qb = QueryBuilder::new(
                        "SELECT id, county_code FROM allowance_locator WHERE id IN (",
                    );
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id.as_str());
                    }
                    qb.push(")");
                    qb.build_query_as().fetch_all(&mut *c).await
                })?
            };
            for (id, county) in rows {
                by_county.entry(county).or_default().push(id);
            }
        }
        let today = self.clock.today();
        let now = self.now_ms();
        for (county, ids) in by_county {
            let done = self
                .decide_in_county(
                    scope, &county, &ids, step, decision, &reason, ip, today, now,
                )
                .await?;
            outcome.extend(done);
        }
        Ok(ids
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    outcome.get(id).cloned().unwrap_or(BulkOutcome::NotFound),
                )
            })
            .collect())
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide_in_county(
        &self,
        scope: &Scope,
        county: &str,
        ids: &[String],
        step: Step,
        decision: Decision,
        reason: &str,
        ip: &str,
        today: NaiveDate,
        now: i64,
    ) -> Result<HashMap<String, BulkOutcome>, StoreError> {
        let action = match step {
            Step::Township => Action::ReviewAllowances,
            Step::County => Action::ConfirmAllowances,
        };
        #[derive(sqlx::FromRow)]
        struct Candidate {
            #[sqlx(flatten)]
            row: CaseRow,
            birth_date: Option<NaiveDate>,
            category_bits: Option<i64>,
            school_status: Option<String>,
        }
        let mut rows: Vec<Candidate> = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut conn = self.read().await?;
            let part: Vec<Candidate> = on!(conn.conn(), |c| {
                let mut qb = QueryBuilder::new(format!(
                    "SELECT {CASE_COLUMNS}, ch.birth_date, ch.category_bits, ch.school_status
                     FROM allowance_cases c LEFT JOIN children ch
                       ON ch.county_code = c.county_code AND ch.id = c.child_id
                     WHERE c.county_code = "
                ));
                qb.push_bind(county).push(" AND c.id IN (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(id.as_str());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(&mut *c).await
            })?;
            rows.extend(part);
        }
        let mut out = HashMap::new();
        let expected = match step {
            Step::Township => Status::Filed,
            Step::County => Status::Checked,
        };
        let rules = match rows.first() {
            Some(r) => {
                let at = DivisionCode::parse(&r.row.division_code)
                    .map_err(|e| StoreError::Config(e.message))?;
                self.allowance_rules(Some(at)).await?
            }
            None => return Ok(out),
        };
        let rules = rules.on(today);
        let types = weibao_domain::allowances::TypeBook::new(&rules.local_types);
        // The sealed facts of those whose type asks for them (county step only).
        let confirming = step == Step::County && decision == Decision::Approve;
        let need_details: Vec<String> = if confirming {
            rows.iter()
                .filter(|r| {
                    types
                        .get(&r.row.type_code)
                        .is_some_and(|t| t.orphan_care.is_some() || t.disability)
                })
                .map(|r| r.row.child_id.clone())
                .collect()
        } else {
            Vec::new()
        };
        let details = self.sealed_facts(county, &need_details).await?;
        let mut passing: Vec<&CaseRow> = Vec::new();
        for r in &rows {
            let id = r.row.id.clone();
            let Ok(division) = DivisionCode::parse(&r.row.division_code) else {
                out.insert(id, BulkOutcome::NotFound);
                continue;
            };
            match scope.check(action, division) {
                Err(Denied::NotFound) => {
                    out.insert(id, BulkOutcome::NotFound);
                    continue;
                }
                Err(Denied::Forbidden) => {
                    out.insert(id, BulkOutcome::Forbidden);
                    continue;
                }
                Ok(()) => {}
            }
            if r.row.sensitive && !scope.designated {
                out.insert(id, BulkOutcome::NotFound);
                continue;
            }
            let status = Status::parse(&r.row.status).unwrap_or(Status::Filed);
            if let Err(message) = allowances::after(status, step, decision) {
                out.insert(id, BulkOutcome::Conflict(message));
                continue;
            }
            if confirming {
                let (Some(birth), Some(bits)) = (r.birth_date, r.category_bits) else {
                    out.insert(
                        id,
                        BulkOutcome::NotEligible("该儿童已不在本县台账中（可能已迁出）".into()),
                    );
                    continue;
                };
                let Some(def) = types.get(&r.row.type_code) else {
                    out.insert(
                        id,
                        BulkOutcome::NotEligible(format!(
                            "保障类型 {} 已不在本地配置中",
                            r.row.type_code
                        )),
                    );
                    continue;
                };
                let facts = standing(
                    birth,
                    bits,
                    r.school_status.as_deref().unwrap_or(""),
                    details.get(&r.row.child_id),
                );
                if let Err(why) = eligible(def, &facts, rules, today) {
                    out.insert(
                        id,
                        BulkOutcome::NotEligible(format!(
                            "该儿童已不符合{}的条件：{why}",
                            def.label
                        )),
                    );
                    continue;
                }
            }
            passing.push(&r.row);
        }
        if passing.is_empty() {
            return Ok(out);
        }
        let new_status = after(expected, step, decision).expect("checked above");
        let (start, reconcile) = if new_status == Status::Confirmed {
            let start = start_month(beijing_date(now));
            let locked = self.latest_locked_month(county).await?;
            (
                Some(start),
                locked.is_some_and(|l| start <= l).then_some(now),
            )
        } else {
            (None, None)
        };
        let event = match step {
            Step::Township => "allowance.township",
            Step::County => "allowance.county",
        };
        let mut tx = self.begin().await?;
        let mut done: Vec<(String, i64)> = Vec::with_capacity(passing.len());
        for chunk in passing.chunks(CHUNK) {
            let part: Vec<(String, i64)> = on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new("UPDATE allowance_cases SET status = ");
                qb.push_bind(new_status.as_str())
                    .push(", version = version + 1, updated_at = ")
                    .push_bind(now);
                if new_status == Status::Confirmed {
                    qb.push(", confirmed_at = ")
                        .push_bind(now)
                        .push(", start_month = ")
                        .push_bind(start.map(|m| m.to_string()))
                        .push(", reconcile_at = ")
                        .push_bind(reconcile);
                }
                qb.push(" WHERE county_code = ")
                    .push_bind(county)
                    .push(" AND status = ")
                    .push_bind(expected.as_str())
                    .push(" AND id IN (");
                let mut sep = qb.separated(", ");
                for r in chunk {
                    sep.push_bind(r.id.as_str());
                }
                qb.push(") RETURNING id, version");
                qb.build_query_as().fetch_all(&mut *c).await
            })?;
            done.extend(part);
        }
        let text = match (new_status, start) {
            (Status::Confirmed, Some(s)) => format!("{reason}（自 {s} 起发放）"),
            _ => reason.to_string(),
        };
        for chunk in done.chunks(CHUNK) {
            on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO allowance_steps (county_code, case_id, seq, step, decision,
                         reason, actor_id, actor_name, at) ",
                );
                qb.push_values(chunk, |mut b, (id, version)| {
                    b.push_bind(county)
                        .push_bind(id.as_str())
                        .push_bind(*version)
                        .push_bind(step.as_str())
                        .push_bind(decision.as_str())
                        .push_bind(text.as_str())
                        .push_bind(scope.user_id.as_str())
                        .push_bind(scope.username.as_str())
                        .push_bind(now);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        let events: Vec<AuditEvent> = done
            .iter()
            .map(|(id, _)| {
                AuditEvent::by(scope, event, id)
                    .in_county(county)
                    .from_ip(ip)
                    .detail(format!("decision={}", decision.as_str()))
            })
            .collect();
        append_many(&mut tx, now, county, &events).await?;
        tx.commit().await?;
        for (id, _) in &done {
            out.insert(id.clone(), BulkOutcome::Done(new_status));
        }
        for r in passing {
            out.entry(r.id.clone()).or_insert_with(|| {
                BulkOutcome::Conflict("该申请刚被他人处理，请刷新后查看".into())
            });
        }
        Ok(out)
    }

    /// Stops a case from the month after `on` (death, the category lost, school ended,
    /// other). Months already paid past it come back as adjustments in the next roll.
    pub async fn stop_case(
        &self,
        scope: &Scope,
        id: &str,
        cause: EndCause,
        on: NaiveDate,
        reason: &str,
        ip: &str,
    ) -> Result<AllowanceCase, StoreError> {
        let (row, _) = self
            .allowance_case_row(scope, id, &[Action::ConfirmAllowances])
            .await?;
        if !EndCause::RECORDED.contains(&cause) {
            return Err(StoreError::invalid(
                "cause",
                Invalid::new(
                    "cause_automatic",
                    format!(
                        "“{}”由系统按台账自动停发，无需手工登记；可选：{}",
                        cause.label(),
                        EndCause::RECORDED
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                ),
            ));
        }
        let reason =
            parse_text("停发说明", reason, true).map_err(|e| StoreError::invalid("reason", e))?;
        let today = self.clock.today();
        if on > today {
            return Err(StoreError::invalid(
                "date",
                Invalid::new(
                    "date_future",
                    format!("停发原因发生的日期 {on} 晚于今天 {today}：请在发生后登记"),
                ),
            ));
        }
        if Status::parse(&row.status) != Some(Status::Confirmed) {
            return Err(StoreError::Conflict {
                field: "status",
                code: "not_paying",
                message: format!(
                    "该申请当前为“{}”，只有保障中的对象可以停发",
                    Status::parse(&row.status)
                        .map(|s| s.label())
                        .unwrap_or("未知")
                ),
            });
        }
        let ending = allowances::Ending::new(cause, on, &format!("{}：{reason}", cause.label()));
        let locked = self.latest_locked_month(&row.county_code).await?;
        let now = self.now_ms();
        let reconcile = locked.is_some_and(|l| ending.last_month < l).then_some(now);
        let mut tx = self.begin().await?;
        let n = on!(tx.conn(), |c| sqlx::query(
            "UPDATE allowance_cases SET status = 'ended', end_month = $3, end_cause = $4,
                 end_on = $5, end_reason = $6, reconcile_at = COALESCE(reconcile_at, $7),
                 version = version + 1, updated_at = $8
             WHERE county_code = $1 AND id = $2 AND version = $9"
        )
        .bind(&row.county_code)
        .bind(id)
        .bind(ending.last_month.to_string())
        .bind(cause.as_str())
        .bind(on.to_string())
        .bind(&ending.reason)
        .bind(reconcile)
        .bind(now)
        .bind(row.version)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(changed_meanwhile());
        }
        insert_step(
            &mut tx,
            &row.county_code,
            id,
            row.version + 1,
            "stop",
            "",
            &ending.reason,
            scope,
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "allowance.stop", id)
                .in_county(&row.county_code)
                .from_ip(ip)
                .detail(format!("cause={} on={on}", cause.as_str())),
        )
        .await?;
        tx.commit().await?;
        self.reload_case(scope, id).await
    }

    /// Sets the bank account a case is paid to (sealed like a 身份证号).
    pub async fn update_account(
        &self,
        scope: &Scope,
        id: &str,
        bank_name: &str,
        account_holder: &str,
        account: &str,
        ip: &str,
    ) -> Result<AllowanceCase, StoreError> {
        let keys = self.keys()?;
        let (row, _) = self
            .allowance_case_row(
                scope,
                id,
                &[Action::ApplyAllowances, Action::ConfirmAllowances],
            )
            .await?;
        let account =
            parse_bank_account(account).map_err(|e| StoreError::invalid("bank_account", e))?;
        let bank_name = parse_text("开户银行", bank_name, true)
            .map_err(|e| StoreError::invalid("bank_name", e))?;
        let holder = parse_text("账户户名", account_holder, true)
            .map_err(|e| StoreError::invalid("account_holder", e))?;
        if !Status::parse(&row.status).is_some_and(Status::is_open) {
            return Err(StoreError::Conflict {
                field: "status",
                code: "case_closed",
                message: "该申请已结束（未通过或已停发），不能再变更账户".into(),
            });
        }
        let now = self.now_ms();
        let masked = mask_account(&account);
        let mut tx = self.begin().await?;
        let n = on!(tx.conn(), |c| sqlx::query(
            "UPDATE allowance_cases SET bank_name = $3, account_holder = $4, bank_account = $5,
                 account_masked = $6, version = version + 1, updated_at = $7
             WHERE county_code = $1 AND id = $2 AND version = $8"
        )
        .bind(&row.county_code)
        .bind(id)
        .bind(&bank_name)
        .bind(&holder)
        .bind(keys.seal(&account_aad(id), &account))
        .bind(&masked)
        .bind(now)
        .bind(row.version)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(changed_meanwhile());
        }
        insert_step(
            &mut tx,
            &row.county_code,
            id,
            row.version + 1,
            "account",
            "",
            &format!("{bank_name} {masked}（户名 {holder}）"),
            scope,
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "allowance.account", id)
                .in_county(&row.county_code)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await?;
        self.reload_case(scope, id).await
    }

    /// Adds a document (a photo or scan of a certificate, a form) to an open application;
    /// stored like visit photos, under the child. Returns the photo's id.
    pub async fn add_document(
        &self,
        scope: &Scope,
        id: &str,
        bytes: Vec<u8>,
        ip: &str,
    ) -> Result<String, StoreError> {
        let (row, _) = self
            .allowance_case_row(
                scope,
                id,
                &[
                    Action::ApplyAllowances,
                    Action::ReviewAllowances,
                    Action::ConfirmAllowances,
                ],
            )
            .await?;
        if !Status::parse(&row.status).is_some_and(Status::is_open) {
            return Err(StoreError::Conflict {
                field: "status",
                code: "case_closed",
                message: "该申请已结束（未通过或已停发），不能再补充材料".into(),
            });
        }
        let mut documents: Vec<String> = serde_json::from_str(&row.documents).unwrap_or_default();
        if documents.len() >= MAX_DOCUMENTS {
            return Err(StoreError::invalid(
                "file",
                Invalid::new(
                    "too_many_documents",
                    format!("每份申请最多 {MAX_DOCUMENTS} 份材料，已满"),
                ),
            ));
        }
        let child = self
            .child_by_id(scope, &row.child_id, Action::ViewChildren)
            .await?;
        let photo = self.store_child_photo(scope, &child, bytes, ip).await?;
        if documents.contains(&photo) {
            return Ok(photo);
        }
        documents.push(photo.clone());
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let n = on!(tx.conn(), |c| sqlx::query(
            "UPDATE allowance_cases SET documents = $3, version = version + 1, updated_at = $4
             WHERE county_code = $1 AND id = $2 AND version = $5"
        )
        .bind(&row.county_code)
        .bind(id)
        .bind(serde_json::to_string(&documents).expect("ids serialise"))
        .bind(now)
        .bind(row.version)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(changed_meanwhile());
        }
        insert_step(
            &mut tx,
            &row.county_code,
            id,
            row.version + 1,
            "document",
            "",
            &format!("材料 {photo}"),
            scope,
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "allowance.document", id)
                .in_county(&row.county_code)
                .from_ip(ip)
                .detail(format!("photo={photo}")),
        )
        .await?;
        tx.commit().await?;
        Ok(photo)
    }

    /// Children in the caller's subtree who look eligible for a type and have no open
    /// application for it (and, for a basic living allowance, none for another): 应保尽保.
    pub async fn eligible_candidates(
        &self,
        scope: &Scope,
        division: DivisionCode,
    ) -> Result<Vec<Eligible>, StoreError> {
        scope.check(Action::ViewAllowances, division)?;
        if division.level() < Level::County {
            return Err(StoreError::invalid(
                "division",
                Invalid::new(
                    "division_level",
                    "应保尽保核查按县（区）、乡镇或村进行：请选择县级或以下区划",
                ),
            ));
        }
        let today = self.clock.today();
        let county = division.county_code();
        let rules = self.allowance_rules(Some(division)).await?;
        let rules = rules.on(today);
        let types = weibao_domain::allowances::TypeBook::new(&rules.local_types);
        let mask: i64 = types
            .all()
            .iter()
            .flat_map(|t| {
                t.categories
                    .iter()
                    .copied()
                    .chain(t.disability.then_some(Category::Disabled))
            })
            .map(|c| i64::from(c.bit()))
            .fold(0, |a, b| a | b);
        let cutoff = weibao_domain::categories::birth_cutoff(rules.adult_age, today);
        let (lo, hi) = division.subtree_bounds();
        #[derive(sqlx::FromRow)]
        struct Candidate {
            id: String,
            name: String,
            division_code: String,
            birth_date: NaiveDate,
            category_bits: i64,
            school_status: String,
            sensitive: bool,
        }
        let candidates: Vec<Candidate> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| {
                sqlx::query_as(
                "SELECT id, name, division_code, birth_date, category_bits, school_status, sensitive
                 FROM children
                 WHERE county_code = $1 AND division_code BETWEEN $2 AND $3
                   AND birth_date > $4 AND (category_bits & $5) <> 0
                 ORDER BY division_code, name, id"
            )
            .bind(&county)
            .bind(&lo)
            .bind(&hi)
            .bind(cutoff)
            .bind(mask)
            .fetch_all(&mut *c)
            .await
            })?
        };
        let candidates: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| !c.sensitive || scope.designated)
            .collect();
        let open: Vec<(String, String)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT child_id, type_code FROM allowance_cases
                 WHERE county_code = $1 AND division_code BETWEEN $2 AND $3
                   AND status IN ('filed', 'checked', 'confirmed')"
            )
            .bind(&county)
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&mut *c)
            .await)?
        };
        let mut held: HashMap<&str, Vec<&str>> = HashMap::new();
        for (child, t) in &open {
            held.entry(child.as_str()).or_default().push(t.as_str());
        }
        let need: Vec<String> = candidates
            .iter()
            .filter(|c| {
                let bits = weibao_domain::child::CategorySet::from_bits(c.category_bits as u32);
                bits.contains(Category::Orphan) || bits.contains(Category::Disabled)
            })
            .map(|c| c.id.clone())
            .collect();
        let details: HashMap<String, SealedFacts> = self.sealed_facts(&county, &need).await?;
        let mut out = Vec::new();
        for c in &candidates {
            let facts = standing(
                c.birth_date,
                c.category_bits,
                &c.school_status,
                details.get(&c.id),
            );
            let mine = held.get(c.id.as_str()).cloned().unwrap_or_default();
            let mut has_exclusive = mine
                .iter()
                .any(|t| types.get(t).is_some_and(|d| d.exclusive));
            for def in types.all() {
                if mine.contains(&def.code.as_str()) || (def.exclusive && has_exclusive) {
                    continue;
                }
                if def.designated_only && !scope.designated {
                    continue;
                }
                if let Ok(reason) = eligible(def, &facts, rules, today) {
                    has_exclusive |= def.exclusive;
                    out.push(Eligible {
                        child_id: c.id.clone(),
                        child_name: c.name.clone(),
                        division: c.division_code.clone(),
                        type_code: def.code.clone(),
                        type_label: def.label.clone(),
                        reason,
                    });
                    if out.len() >= MAX_PROPOSALS {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }
}

pub(crate) fn changed_meanwhile() -> StoreError {
    StoreError::Conflict {
        field: "version",
        code: "changed_meanwhile",
        message: "该申请刚被他人修改，请刷新后重试".into(),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_step(
    tx: &mut Tx,
    county: &str,
    case_id: &str,
    seq: i64,
    step: &str,
    decision: &str,
    reason: &str,
    scope: &Scope,
    at: i64,
) -> Result<(), StoreError> {
    on!(tx.conn(), |c| sqlx::query(
        "INSERT INTO allowance_steps (county_code, case_id, seq, step, decision, reason,
             actor_id, actor_name, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(county)
    .bind(case_id)
    .bind(seq)
    .bind(step)
    .bind(decision)
    .bind(reason)
    .bind(&scope.user_id)
    .bind(&scope.username)
    .bind(at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
