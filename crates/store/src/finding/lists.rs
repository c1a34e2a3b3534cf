//! Departments' lists matched against the ledger (数据共享, 应保尽保): the office uploads a
//! list (低保, 残疾人证, 服刑, 辍学, 户籍, 医保…); its file is kept sealed until the county's
//! retention period ends (default 90 days), then deleted, what it found kept. Matching runs
//! in the background with its progress on the list's row: each row keyed by the blind
//! index of its 身份证号 (and of the children or parents it names), the ledger by its
//! children's and their guardians' numbers, the rules in weibao_domain::finding::matching.
//! Each finding goes to the village that must verify it: one work item per list and
//! village in its director's inbox (else its township's supervisor's, else the office's),
//! closed when every finding there is answered (added, updated, or not applicable with a
//! reason).

use std::collections::{HashMap, HashSet};

use base64::Engine;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use weibao_domain::access::{Action, Scope};
use weibao_domain::finding::matching::{
    find, Finding, FindingKind, Kin, Ledger, LedgerChild, ListKind, Listed, Relative,
};
use weibao_domain::id_number::IdNumber;
use weibao_domain::record::ChildRecord;
use weibao_domain::work::{UnitKind, WorkKind};
use weibao_domain::{DivisionCode, Invalid, Level};

use crate::audit::{append, AuditEvent};
use crate::child_kin::{add_missing_kin, ChildKin, KinRow, KIN_COLUMNS};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::work::{add_work, close_work, locate_in, new_id, NewWork, WorkOwner};

/// The setting: days an uploaded list's file is kept.
pub const LIST_RETENTION_DAYS: &str = "list_retention_days";
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
/// The setting: the county's early-warning thresholds (weibao_domain::finding::warnings).
pub const WARNING_RULES: &str = "warning_rules";
/// Rows matched (and their findings written) per step of the progress.
const STEP: usize = 2000;
const DAY_MS: i64 = 86_400_000;

/// A person a list row names beside its own (a child, a parent), as typed.
#[derive(Debug, Clone)]
pub struct KinInput {
    pub name: String,
    pub id_number: IdNumber,
}

/// One row of a department's list, read and checked.
#[derive(Debug, Clone)]
pub struct ListRowInput {
    pub row: u32,
    pub name: String,
    pub id_number: IdNumber,
    pub children: Vec<KinInput>,
    pub parents: Vec<KinInput>,
    pub detail: String,
    /// The village the row names, when it names one in the county.
    pub division: Option<DivisionCode>,
}

/// A list and where its matching stands.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeptList {
    pub county_code: String,
    pub id: String,
    pub kind: String,
    pub file_name: String,
    pub rows: i64,
    /// running, done, failed
    pub state: String,
    pub done_rows: i64,
    pub missing: i64,
    pub changed: i64,
    pub contradicts: i64,
    pub error: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
    pub delete_after: i64,
    pub deleted_at: Option<i64>,
}

/// What a finding holds sealed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Sealed {
    child_name: String,
    explanation: String,
    /// A missing child's number, to add them from the task.
    #[serde(default)]
    id_number: String,
}

#[derive(sqlx::FromRow)]
struct FindingRow {
    county_code: String,
    id: String,
    list_id: String,
    kind: String,
    row_no: i64,
    child_id: Option<String>,
    division_code: String,
    details: String,
    answer: Option<String>,
    answer_note: String,
    answered_at: Option<i64>,
    created_at: i64,
}

/// A finding as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFinding {
    pub county_code: String,
    pub id: String,
    pub list_id: String,
    pub kind: FindingKind,
    pub row: i64,
    pub child_id: Option<String>,
    pub child_name: String,
    /// A missing child's 身份证号 (to add them), else "".
    pub id_number: String,
    pub division_code: String,
    pub explanation: String,
    /// added, updated, not_applicable
    pub answer: Option<String>,
    pub answer_note: String,
    pub answered_at: Option<i64>,
    pub created_at: i64,
}

/// Which findings to list.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub list_id: Option<String>,
    /// Only those under this division (within the caller's reach).
    pub division: Option<DivisionCode>,
    /// Only those not answered yet.
    pub open: bool,
}

/// How a finding was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The child was added to the ledger.
    Added,
    /// The child's record was brought up to date.
    Updated,
    /// Checked: nothing to do (the reason says why).
    NotApplicable,
}

impl Answer {
    pub fn parse(s: &str) -> Option<Answer> {
        match s {
            "added" => Some(Answer::Added),
            "updated" => Some(Answer::Updated),
            "not_applicable" => Some(Answer::NotApplicable),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Answer::Added => "added",
            Answer::Updated => "updated",
            Answer::NotApplicable => "not_applicable",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Answer::Added => "已纳入台账",
            Answer::Updated => "已更新台账",
            Answer::NotApplicable => "经核实不需处理",
        }
    }
}

const LIST_SELECT: &str = "SELECT county_code, id, kind, file_name, rows, state, done_rows,
        missing, changed, contradicts, error, uploaded_by, uploaded_at, delete_after, deleted_at
    FROM dept_lists";

/// The work item of a list's findings in one village.
fn check_id(list_id: &str, division: &str) -> String {
    format!("{list_id}.{division}")
}

impl Store {
    fn list_county(scope: &Scope, action: Action) -> Result<DivisionCode, StoreError> {
        scope.check_role(action)?;
        let home = scope.home().ok_or(StoreError::Forbidden)?;
        if home.level() < Level::County {
            return Err(StoreError::Forbidden);
        }
        DivisionCode::parse(&home.county_code()).map_err(|_| StoreError::Forbidden)
    }

    /// Keeps a department's list (its file sealed) and registers it for matching; the
    /// caller then runs [`Store::match_dept_list`] (in the background).
    pub async fn add_dept_list(
        &self,
        scope: &Scope,
        kind: ListKind,
        file_name: &str,
        bytes: &[u8],
        rows: usize,
        ip: &str,
    ) -> Result<DeptList, StoreError> {
        let county = Self::list_county(scope, Action::MatchLists)?;
        if rows == 0 {
            return Err(StoreError::invalid(
                "file",
                Invalid::new("list_empty", "名单中没有可比对的行（需要姓名和身份证号）"),
            ));
        }
        let county_code = county.county_code();
        let id = new_id();
        let keys = self.keys()?;
        let sealed = keys.seal(
            &format!("dept_lists.file:{id}"),
            &base64::engine::general_purpose::STANDARD.encode(bytes),
        );
        self.put_blob(&id, sealed.into_bytes(), "名单文件").await?;
        let days = self
            .setting_json(LIST_RETENTION_DAYS, Some(county), self.clock().today())
            .await?
            .and_then(|v| v.as_i64())
            .filter(|d| (1..=3650).contains(d))
            .unwrap_or(DEFAULT_RETENTION_DAYS);
        let now = self.now_ms();
        let name = keys.seal(&format!("dept_lists.file_name:{id}"), file_name);
        let mut tx = self.begin().await?;
        let mut s = Script::default();
        s.push(
            "INSERT INTO dept_lists (county_code, id, kind, file_name, rows, state, done_rows,
                 missing, changed, contradicts, error, uploaded_by, uploaded_at, delete_after)
             VALUES ($1, $2, $3, $4, $5, 'running', 0, 0, 0, 0, '', $6, $7, $8)",
            vec![
                county_code.clone().into(),
                id.clone().into(),
                kind.code().into(),
                name.into(),
                (rows as i64).into(),
                scope.user_id.clone().into(),
                now.into(),
                (now + days * DAY_MS).into(),
            ],
        );
        locate_in(&mut s, &id, &county_code, "dept_list");
        s.run(tx.conn()).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "list.upload", &id)
                .in_county(&county_code)
                .from_ip(ip)
                .detail(format!("kind={} rows={rows}", kind.code())),
        )
        .await?;
        tx.commit().await?;
        self.dept_list(scope, &id).await
    }

    /// The ledger of a county as the matching sees it: every child keyed, with the keys of
    /// the guardians whose numbers the ledger holds, read from the ledger's kin rows
    /// (child_kin.rs). Records without one (written before the table was kept) get it
    /// first, from the sealed record.
    async fn matching_ledger(&self, county: &str) -> Result<Ledger, StoreError> {
        self.fill_kin(county).await?;
        let rows: Vec<KinRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&format!(
                "SELECT {KIN_COLUMNS} FROM child_kin WHERE county_code = $1"
            ))
            .bind(county)
            .fetch_all(&mut *c)
            .await)?
        };
        let children = rows
            .into_iter()
            .map(|r| {
                let k = ChildKin::from(r);
                LedgerChild {
                    id: k.child_id,
                    name: k.name,
                    division: k.division,
                    key: k.id_index,
                    school: k.school,
                    disabled: k.disabled,
                    support: k.support,
                    father: k.father,
                    mother: k.mother,
                    relatives: k
                        .relatives
                        .into_iter()
                        .map(|(relation, key)| Relative { relation, key })
                        .collect(),
                }
            })
            .collect();
        Ok(Ledger::new(children))
    }

    /// Writes the kin rows a county's records lack (and drops those of records gone),
    /// when the two counts differ.
    async fn fill_kin(&self, county: &str) -> Result<(), StoreError> {
        let (records, kin): (i64, i64) = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT (SELECT count(*) FROM children WHERE county_code = $1),
                        (SELECT count(*) FROM child_kin WHERE county_code = $1)"
            )
            .bind(county)
            .fetch_one(&mut *c)
            .await)?
        };
        if records == kin {
            return Ok(());
        }
        let keys = self.keys()?;
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "DELETE FROM child_kin WHERE county_code = $1 AND NOT EXISTS
                (SELECT 1 FROM children c WHERE c.county_code = child_kin.county_code
                    AND c.id = child_kin.child_id)"
        )
        .bind(county)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        let mut after = String::new();
        loop {
            let rows: Vec<(String, String, String, String)> = {
                let mut c = self.read().await?;
                on!(c.conn(), |c| sqlx::query_as(
                    "SELECT c.id, c.id_index, c.division_code, c.details FROM children c
                     WHERE c.county_code = $1 AND c.id > $2 AND NOT EXISTS
                        (SELECT 1 FROM child_kin k WHERE k.county_code = $1 AND k.child_id = c.id)
                     ORDER BY c.id LIMIT 500"
                )
                .bind(county)
                .bind(&after)
                .fetch_all(&mut *c)
                .await)?
            };
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.0.clone();
            let mut kin = Vec::with_capacity(rows.len());
            for (id, index, division, details) in rows {
                let json = keys.open(&format!("children.details:{id}"), &details)?;
                let record: ChildRecord = serde_json::from_str(&json).map_err(|e| {
                    StoreError::Config(format!("儿童记录 {id} 的内容无法读取：{e}"))
                })?;
                kin.push(ChildKin::of(&keys, &id, &index, division, &record));
            }
            let mut tx = self.begin().await?;
            // A row the ledger wrote meanwhile (an edit since this read) is newer: kept.
            add_missing_kin(tx.conn(), county, &kin).await?;
            tx.commit().await?;
        }
    }

    /// Who verifies findings in a village: its director, else its township's supervisor,
    /// else the county office.
    async fn verifier(
        &self,
        county: DivisionCode,
        division: &str,
        cache: &mut HashMap<String, WorkOwner>,
    ) -> Result<WorkOwner, StoreError> {
        if let Some(o) = cache.get(division) {
            return Ok(o.clone());
        }
        let township: String = division.chars().take(9).collect();
        let found: Option<(String,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id FROM users WHERE NOT disabled AND
                    ((role = 'director' AND division_code = $1)
                     OR (role = 'supervisor' AND division_code = $2))
                 ORDER BY CASE role WHEN 'director' THEN 0 ELSE 1 END, created_at LIMIT 1"
            )
            .bind(division)
            .bind(&township)
            .fetch_optional(&mut *c)
            .await)?
        };
        let owner = match found {
            Some((id,)) => WorkOwner::User(id),
            None => WorkOwner::Unit(self.county_unit(county, UnitKind::Office).await?.id),
        };
        cache.insert(division.to_string(), owner.clone());
        Ok(owner)
    }

    /// Matches a registered list's rows against the ledger, step by step (the list's row
    /// shows the progress), writing the findings and the villages' work items. A failure
    /// is recorded on the list.
    pub async fn match_dept_list(
        &self,
        list_id: &str,
        rows: Vec<ListRowInput>,
    ) -> Result<DeptList, StoreError> {
        let result = self.match_rows(list_id, rows).await;
        if let Err(e) = &result {
            let county = self.locate_record(list_id, "dept_list").await?;
            let mut tx = self.begin().await?;
            let mut s = Script::default();
            s.push(
                "UPDATE dept_lists SET state = 'failed', error = $3
                 WHERE county_code = $1 AND id = $2",
                vec![
                    county.unwrap_or_default().into(),
                    list_id.into(),
                    format!("比对失败：{e}").into(),
                ],
            );
            s.run(tx.conn()).await?;
            tx.commit().await?;
        }
        result
    }

    async fn match_rows(
        &self,
        list_id: &str,
        rows: Vec<ListRowInput>,
    ) -> Result<DeptList, StoreError> {
        let county_code = self
            .locate_record(list_id, "dept_list")
            .await?
            .ok_or(StoreError::NotFound)?;
        let county = DivisionCode::parse(&county_code).map_err(|_| StoreError::NotFound)?;
        let list = self.dept_list(&Scope::system(), list_id).await?;
        let kind = ListKind::parse(&list.kind).ok_or(StoreError::NotFound)?;
        let started = std::time::Instant::now();
        let ledger = self.matching_ledger(&county_code).await?;
        tracing::info!(
            "名单比对 {list_id}：读取本县台账 {} 名儿童，用时 {:.1} 秒",
            ledger.len(),
            started.elapsed().as_secs_f64()
        );
        let keys = self.keys()?;
        let today = self.clock().today();
        let mut owners = HashMap::new();
        let mut checks: HashSet<String> = HashSet::new();
        let mut done = 0usize;
        let (mut missing, mut changed, mut contradicts) = (0i64, 0i64, 0i64);
        let mut pending: Option<tokio::task::JoinHandle<Result<(), StoreError>>> = None;
        // The steps; whatever ends them, the write under way is waited for (its error
        // reported, nothing committed after the list is marked failed).
        let steps: Result<(), StoreError> = async {
            for chunk in rows.chunks(STEP) {
                let listed: Vec<Listed> = chunk.iter().map(|r| keyed(r, &keys, today)).collect();
                let mut found = find(kind, &listed, &ledger);
                // A child the ledger of another county holds is not missing.
                let elsewhere = self
                    .registered_elsewhere(
                        found
                            .iter()
                            .filter(|f| f.kind == FindingKind::Missing)
                            .map(|f| f.child_key.clone())
                            .collect(),
                    )
                    .await?;
                found.retain(|f| {
                    f.kind != FindingKind::Missing || !elsewhere.contains(&f.child_key)
                });
                let by_row: HashMap<u32, &ListRowInput> =
                    chunk.iter().map(|r| (r.row, r)).collect();
                let now = self.now_ms();
                let mut s = Script::default();
                let mut new_checks = Vec::new();
                let mut rows_out: Vec<NewFinding> = Vec::with_capacity(found.len());
                for f in &found {
                    let row = by_row.get(&f.row);
                    let division = f
                        .division
                        .clone()
                        .or_else(|| {
                            row.and_then(|r| r.division)
                                .filter(|d| county.contains(*d))
                                .map(|d| d.to_string())
                        })
                        .unwrap_or_else(|| county_code.clone());
                    let number = if f.kind == FindingKind::Missing {
                        missing_number(f, row.copied(), &keys)
                    } else {
                        String::new()
                    };
                    match f.kind {
                        FindingKind::Missing => missing += 1,
                        FindingKind::Changed => changed += 1,
                        FindingKind::Contradicts => contradicts += 1,
                    }
                    let id = new_id();
                    let sealed = Sealed {
                        child_name: f.child_name.clone(),
                        explanation: f.explanation.clone(),
                        id_number: number,
                    };
                    let check = check_id(list_id, &division);
                    let details = keys.seal(
                        &format!("list_findings.details:{id}"),
                        &serde_json::to_string(&sealed).expect("serialises"),
                    );
                    if checks.insert(check.clone()) {
                        new_checks.push((check.clone(), division.clone()));
                    }
                    rows_out.push(NewFinding {
                        id,
                        kind: f.kind.code(),
                        row: f.row as i64,
                        child_id: f.child_id.clone(),
                        child_key: f.child_key.clone(),
                        division,
                        details,
                        check,
                    });
                }
                done += chunk.len();
                s.push(
                    "UPDATE dept_lists SET done_rows = $3, missing = $4, changed = $5,
                     contradicts = $6 WHERE county_code = $1 AND id = $2",
                    vec![
                        county_code.clone().into(),
                        list_id.into(),
                        (done as i64).into(),
                        missing.into(),
                        changed.into(),
                        contradicts.into(),
                    ],
                );
                // Owners and deadlines are looked up before the transaction (a county's office
                // unit may be made on the way, in a transaction of its own).
                let mut works = Vec::new();
                let due = self
                    .due(&county_code, WorkKind::ListVerification, None, now)
                    .await?;
                for (check, division) in new_checks {
                    let owner = self.verifier(county, &division, &mut owners).await?;
                    works.push(NewWork {
                        county: county_code.clone(),
                        kind: WorkKind::ListVerification,
                        subject_kind: "list_check",
                        subject_id: check,
                        title: format!("{}比对：请核实", kind.label()),
                        owner,
                        urgency: 0,
                        due: due.clone(),
                        sealed: false,
                    });
                }
                // This step's writes go on while the next step is matched and sealed (on the
                // other core); one step's writes at a time, in order.
                if let Some(writing) = pending.take() {
                    written(writing).await?;
                }
                let store = self.clone();
                let (county, list) = (county_code.clone(), list_id.to_string());
                pending = Some(tokio::spawn(async move {
                    let mut tx = store.begin().await?;
                    let mut rows_out = rows_out;
                    while !rows_out.is_empty() {
                        let rest = rows_out.split_off(rows_out.len().min(FINDINGS_PER_INSERT));
                        insert_findings(&mut tx, &county, &list, rows_out, now).await?;
                        rows_out = rest;
                    }
                    s.run(tx.conn()).await?;
                    for w in &works {
                        add_work(&mut tx, w, now).await?;
                    }
                    tx.commit().await
                }));
            }
            Ok(())
        }
        .await;
        let last = match pending.take() {
            Some(writing) => written(writing).await,
            None => Ok(()),
        };
        steps?;
        last?;
        let mut tx = self.begin().await?;
        let mut s = Script::default();
        s.push(
            "UPDATE dept_lists SET state = 'done' WHERE county_code = $1 AND id = $2",
            vec![county_code.clone().into(), list_id.into()],
        );
        s.run(tx.conn()).await?;
        tx.commit().await?;
        self.dept_list(&Scope::system(), list_id).await
    }

    /// Which of these blind indexes the platform's registry holds in any county.
    async fn registered_elsewhere(&self, keys: Vec<String>) -> Result<HashSet<String>, StoreError> {
        let mut out = HashSet::new();
        for chunk in keys.chunks(500) {
            if chunk.is_empty() {
                continue;
            }
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id_index FROM child_id_registry WHERE id_index IN ({})",
                marks.join(", ")
            );
            let found: Vec<(String,)> = {
                let mut c = self.read().await?;
                on!(c.conn(), |c| {
                    let mut q = sqlx::query_as(&sql);
                    for k in chunk {
                        q = q.bind(k);
                    }
                    q.fetch_all(&mut *c).await
                })?
            };
            out.extend(found.into_iter().map(|(k,)| k));
        }
        Ok(out)
    }

    /// A list, for the office of its county.
    pub async fn dept_list(&self, scope: &Scope, id: &str) -> Result<DeptList, StoreError> {
        let county = self
            .locate_record(id, "dept_list")
            .await?
            .ok_or(StoreError::NotFound)?;
        if !scope.is_system() {
            let mine = Self::list_county(scope, Action::MatchLists)?;
            if mine.county_code() != county {
                return Err(StoreError::NotFound);
            }
        }
        let sql = format!("{LIST_SELECT} WHERE county_code = $1 AND id = $2");
        let found: Option<DeptList> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?
        };
        let mut list = found.ok_or(StoreError::NotFound)?;
        list.file_name = self
            .keys()?
            .open(&format!("dept_lists.file_name:{id}"), &list.file_name)?;
        Ok(list)
    }

    /// The county's lists, newest first.
    pub async fn dept_lists(&self, scope: &Scope) -> Result<Vec<DeptList>, StoreError> {
        let county = Self::list_county(scope, Action::MatchLists)?.county_code();
        let sql =
            format!("{LIST_SELECT} WHERE county_code = $1 ORDER BY uploaded_at DESC LIMIT 500");
        let rows: Vec<DeptList> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .fetch_all(&mut *c)
                .await)?
        };
        let keys = self.keys()?;
        rows.into_iter()
            .map(|mut l| {
                l.file_name = keys.open(&format!("dept_lists.file_name:{}", l.id), &l.file_name)?;
                Ok(l)
            })
            .collect()
    }

    /// The findings the caller verifies or follows: the office its county's, a township
    /// or a village its own.
    pub async fn list_findings(
        &self,
        scope: &Scope,
        filter: &FindingFilter,
    ) -> Result<Vec<ListFinding>, StoreError> {
        scope.check_role(Action::VerifyFindings)?;
        let home = scope.home().ok_or(StoreError::Forbidden)?;
        let under = filter
            .division
            .filter(|d| home.contains(*d))
            .unwrap_or(home);
        let mut sql = String::from(
            "SELECT county_code, id, list_id, kind, row_no, child_id, division_code, details,
                 answer, answer_note, answered_at, created_at
             FROM list_findings WHERE county_code = $1 AND division_code LIKE $2",
        );
        let mut binds = vec![under.county_code(), format!("{}%", under.prefix())];
        if let Some(l) = &filter.list_id {
            binds.push(l.clone());
            sql.push_str(&format!(" AND list_id = ${}", binds.len()));
        }
        if filter.open {
            sql.push_str(" AND answer IS NULL");
        }
        sql.push_str(" ORDER BY division_code, list_id, row_no LIMIT 2000");
        let rows: Vec<FindingRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| {
                let mut q = sqlx::query_as(&sql);
                for b in &binds {
                    q = q.bind(b);
                }
                q.fetch_all(&mut *c).await
            })?
        };
        rows.into_iter().map(|r| self.opened_finding(r)).collect()
    }

    fn opened_finding(&self, r: FindingRow) -> Result<ListFinding, StoreError> {
        let json = self
            .keys()?
            .open(&format!("list_findings.details:{}", r.id), &r.details)?;
        let sealed: Sealed = serde_json::from_str(&json).unwrap_or_default();
        Ok(ListFinding {
            kind: FindingKind::parse(&r.kind).unwrap_or(FindingKind::Changed),
            county_code: r.county_code,
            id: r.id,
            list_id: r.list_id,
            row: r.row_no,
            child_id: r.child_id,
            child_name: sealed.child_name,
            id_number: sealed.id_number,
            division_code: r.division_code,
            explanation: sealed.explanation,
            answer: r.answer,
            answer_note: r.answer_note,
            answered_at: r.answered_at,
            created_at: r.created_at,
        })
    }

    /// One finding, if the caller verifies or follows its village.
    pub async fn list_finding(&self, scope: &Scope, id: &str) -> Result<ListFinding, StoreError> {
        scope.check_role(Action::VerifyFindings)?;
        let county = self
            .locate_record(id, "list_finding")
            .await?
            .ok_or(StoreError::NotFound)?;
        let found: Option<FindingRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT county_code, id, list_id, kind, row_no, child_id, division_code, details,
                     answer, answer_note, answered_at, created_at
                 FROM list_findings WHERE county_code = $1 AND id = $2"
            )
            .bind(&county)
            .bind(id)
            .fetch_optional(&mut *c)
            .await)?
        };
        let r = found.ok_or(StoreError::NotFound)?;
        let division = DivisionCode::parse(&r.division_code).map_err(|_| StoreError::NotFound)?;
        if !scope.reaches(division) {
            return Err(StoreError::NotFound);
        }
        self.opened_finding(r)
    }

    /// Settles a finding: added (the child is in the ledger now), updated (the record was
    /// corrected), or not applicable (with the reason). The village's work item closes
    /// with its last open finding.
    pub async fn answer_finding(
        &self,
        scope: &Scope,
        id: &str,
        answer: &str,
        note: &str,
        ip: &str,
    ) -> Result<ListFinding, StoreError> {
        let f = self.list_finding(scope, id).await?;
        let answer = Answer::parse(answer).ok_or_else(|| {
            StoreError::invalid(
                "answer",
                Invalid::new(
                    "choice",
                    "核实结果应为 added（已纳入台账）、updated（已更新台账）或 not_applicable（不需处理）",
                ),
            )
        })?;
        let note = note.trim();
        if note.chars().count() > 500 {
            return Err(StoreError::invalid(
                "note",
                Invalid::new("text_length", "核实说明不能超过 500 字"),
            ));
        }
        if answer == Answer::NotApplicable && note.is_empty() {
            return Err(StoreError::invalid(
                "note",
                Invalid::new(
                    "note_required",
                    "请写明不需处理的原因（如：已迁出本县、已满18周岁）",
                ),
            ));
        }
        if f.answer.is_some() {
            return Err(StoreError::Conflict {
                field: "answer",
                code: "already_answered",
                message: "该条比对结果已核实".into(),
            });
        }
        // Added: the child must be in the ledger now (by the same number).
        let child_id = match (answer, f.kind) {
            (Answer::Added, FindingKind::Missing) => {
                let index = self.keys()?.index(&f.id_number);
                let found: Option<(String,)> = {
                    let mut c = self.read().await?;
                    on!(c.conn(), |c| sqlx::query_as(
                        "SELECT child_id FROM child_id_registry WHERE id_index = $1"
                    )
                    .bind(&index)
                    .fetch_optional(&mut *c)
                    .await)?
                };
                match found {
                    Some((child,)) => Some(child),
                    None => {
                        return Err(StoreError::invalid(
                            "answer",
                            Invalid::new(
                                "not_in_ledger",
                                "台账中还没有这名儿童：请先在台账中登记，再标记为已纳入",
                            ),
                        ))
                    }
                }
            }
            (Answer::Added, _) => {
                return Err(StoreError::invalid(
                    "answer",
                    Invalid::new(
                        "choice",
                        "这名儿童已在台账中，请选择“已更新台账”或“不需处理”",
                    ),
                ))
            }
            _ => f.child_id.clone(),
        };
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let mut s = Script::default();
        s.push(
            "UPDATE list_findings SET answer = $3, answer_note = $4, answered_by = $5,
                 answered_at = $6, child_id = $7
             WHERE county_code = $1 AND id = $2 AND answer IS NULL",
            vec![
                f.county_code.clone().into(),
                id.into(),
                answer.code().into(),
                note.into(),
                scope.user_id.clone().into(),
                now.into(),
                child_id.into(),
            ],
        );
        s.run(tx.conn()).await?;
        let open: i64 = on!(tx.conn(), |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM list_findings
             WHERE county_code = $1 AND list_id = $2 AND division_code = $3 AND answer IS NULL"
        )
        .bind(&f.county_code)
        .bind(&f.list_id)
        .bind(&f.division_code)
        .fetch_one(&mut *c)
        .await)?;
        if open == 0 {
            close_work(
                &mut tx,
                &f.county_code,
                &check_id(&f.list_id, &f.division_code),
                &[WorkKind::ListVerification],
                now,
            )
            .await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "list.finding_answer", id)
                .in_county(&f.county_code)
                .from_ip(ip)
                .detail(answer.code().to_string()),
        )
        .await?;
        tx.commit().await?;
        self.list_finding(scope, id).await
    }

    /// Deletes the files of lists whose retention period has ended (the findings stay).
    /// Returns how many were deleted.
    pub async fn expire_dept_lists(&self) -> Result<usize, StoreError> {
        let now = self.now_ms();
        let due: Vec<(String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT county_code, id FROM dept_lists
                 WHERE deleted_at IS NULL AND delete_after <= $1 LIMIT 1000"
            )
            .bind(now)
            .fetch_all(&mut *c)
            .await)?
        };
        for (county, id) in &due {
            self.delete_blob(id).await?;
            let mut tx = self.begin().await?;
            let mut s = Script::default();
            s.push(
                "UPDATE dept_lists SET deleted_at = $3 WHERE county_code = $1 AND id = $2",
                vec![county.clone().into(), id.clone().into(), now.into()],
            );
            s.run(tx.conn()).await?;
            append(
                &mut tx,
                now,
                &AuditEvent::by(&Scope::system(), "list.file_deleted", id).in_county(county),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(due.len())
    }

    /// The list's file as uploaded, while it is kept (the read audited).
    pub async fn dept_list_file(
        &self,
        scope: &Scope,
        id: &str,
        ip: &str,
    ) -> Result<(String, Vec<u8>), StoreError> {
        let list = self.dept_list(scope, id).await?;
        if list.deleted_at.is_some() {
            return Err(StoreError::Conflict {
                field: "file",
                code: "list_file_deleted",
                message: "名单文件已按保存期限删除，比对结果仍在".into(),
            });
        }
        let sealed = self.get_blob(id, "名单文件").await?;
        let b64 = self.keys()?.open(
            &format!("dept_lists.file:{id}"),
            &String::from_utf8_lossy(&sealed),
        )?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| StoreError::Config(format!("名单文件无法读取：{e}")))?;
        self.audit(
            AuditEvent::by(scope, "list.file_read", id)
                .in_county(&list.county_code)
                .from_ip(ip),
        )
        .await?;
        Ok((list.file_name, bytes))
    }
}

/// Waits for a step's writes; their error, or the task's end without one, is the match's.
async fn written(
    writing: tokio::task::JoinHandle<Result<(), StoreError>>,
) -> Result<(), StoreError> {
    writing
        .await
        .map_err(|e| StoreError::Config(format!("比对写入中断：{e}")))?
}

/// A list row keyed with the blind index.
fn keyed(r: &ListRowInput, keys: &crate::FieldKeys, today: NaiveDate) -> Listed {
    let kin = |k: &KinInput| Kin {
        name: k.name.clone(),
        key: keys.index(k.id_number.as_str()),
    };
    Listed {
        row: r.row,
        name: r.name.clone(),
        key: keys.index(r.id_number.as_str()),
        minor: r.id_number.age_on(today) < 18,
        male: r.id_number.sex() == weibao_domain::id_number::Sex::Male,
        children: r.children.iter().map(kin).collect(),
        parents: r.parents.iter().map(kin).collect(),
        detail: r.detail.clone(),
    }
}

/// A finding to write.
struct NewFinding {
    id: String,
    kind: &'static str,
    row: i64,
    child_id: Option<String>,
    child_key: String,
    division: String,
    details: String,
    check: String,
}

/// Findings per multi-row INSERT (11 binds each: under both databases' limits). One
/// statement per finding was a round trip each to SQLite's thread and a prepare of a
/// script thousands of statements long: half the time of a 1M-row list.
const FINDINGS_PER_INSERT: usize = 500;

/// Writes findings, and their locator rows, with one multi-row statement each.
async fn insert_findings(
    tx: &mut crate::db::Tx,
    county: &str,
    list_id: &str,
    rows: Vec<NewFinding>,
    now: i64,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let insert = tx.conn().bulk_insert();
    on!(tx.conn(), |c| {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "{insert} list_findings (county_code, id, list_id, kind, row_no, child_id,
                 child_index, division_code, details, work_id, answer, answer_note, created_at) "
        ));
        qb.push_values(rows, |mut b, r| {
            b.push_bind(county.to_string())
                .push_bind(r.id)
                .push_bind(list_id.to_string())
                .push_bind(r.kind)
                .push_bind(r.row)
                .push_bind(r.child_id)
                .push_bind(r.child_key)
                .push_bind(r.division)
                .push_bind(r.details)
                .push_bind(r.check)
                .push_unseparated(", NULL, ''")
                .push_bind(now);
        });
        qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    on!(tx.conn(), |c| {
        let mut qb = sqlx::QueryBuilder::new(format!("{insert} locator (id, county_code, kind) "));
        qb.push_values(ids, |mut b, id| {
            b.push_bind(id)
                .push_bind(county.to_string())
                .push_bind("list_finding");
        });
        qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The number of a missing child: the row's own, or that of the child the row names.
fn missing_number(f: &Finding, row: Option<&ListRowInput>, keys: &crate::FieldKeys) -> String {
    let Some(row) = row else {
        return String::new();
    };
    std::iter::once(&row.id_number)
        .chain(row.children.iter().map(|k| &k.id_number))
        .find(|n| keys.index(n.as_str()) == f.child_key)
        .map(|n| n.as_str().to_string())
        .unwrap_or_default()
}
