//! Early warnings (预警) kept: the domain's rules evaluated over what the ledger, visits
//! and reports hold of a child, when the child changes (the web layer names the children
//! its writes touched) and nightly for every child (overdue visits and silences grow with
//! the calendar alone). A warning lasts while its rule goes on firing, with its facts
//! refreshed; it goes to the village's director and the township's station as work
//! items; a person decides on it (raise the child's risk level through the ledger, or keep
//! it, with a reason). It never changes the child by itself.

use std::collections::HashMap;

use chrono::NaiveDate;
use weibao_domain::access::{Action, Scope};
use weibao_domain::child::Risk;
use weibao_domain::finding::warnings::{
    evaluate, gather, ParentChange, Warning, WarningDecision, WarningRule, WarningRules,
};
use weibao_domain::record::ChildPatch;
use weibao_domain::work::{UnitKind, WorkKind};
use weibao_domain::{DivisionCode, Level};

use crate::audit::{append_many, append_to, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::work::units::unit_for;
use crate::work::{add_work_to, close_work, locate_in, new_id, NewWork, WorkOwner};

/// The locator's kind (and the work items' subject kind) of a warning.
pub const WARNING_KIND: &str = "warning";

/// A warning as kept, its facts opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWarning {
    pub county_code: String,
    pub id: String,
    pub child_id: String,
    pub child_name: String,
    pub division_code: String,
    pub rule: WarningRule,
    pub facts: String,
    pub raised_at: i64,
    pub updated_at: i64,
    pub ended_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub decided_name: String,
    /// "raise" or "keep", empty until decided.
    pub decision: String,
    /// The level it was raised to ("高"), when raised.
    pub risk_to: String,
    pub reason: String,
}

#[derive(sqlx::FromRow)]
struct WarningRow {
    county_code: String,
    id: String,
    child_id: String,
    child_name: String,
    division_code: String,
    rule: String,
    facts: String,
    raised_at: i64,
    updated_at: i64,
    ended_at: Option<i64>,
    decided_at: Option<i64>,
    decided_name: String,
    decision: String,
    risk_to: String,
    reason: String,
}

const WARNING_SELECT: &str = "SELECT w.county_code, w.id, w.child_id, ch.name AS child_name,
        w.division_code, w.rule, w.facts, w.raised_at, w.updated_at, w.ended_at, w.decided_at,
        w.decided_name, w.decision, w.risk_to, w.reason
    FROM warnings w JOIN children ch ON ch.county_code = w.county_code AND ch.id = w.child_id";

/// What one evaluation changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WarningChanges {
    pub raised: usize,
    pub refreshed: usize,
    pub ended: usize,
}

impl WarningChanges {
    fn add(&mut self, o: WarningChanges) {
        self.raised += o.raised;
        self.refreshed += o.refreshed;
        self.ended += o.ended;
    }
}

/// Which warnings to list.
#[derive(Debug, Clone, Default)]
pub struct WarningFilter {
    pub division: Option<DivisionCode>,
    pub rule: Option<WarningRule>,
    /// Only those no one has decided on yet.
    pub undecided: bool,
    pub child_id: Option<String>,
}

/// Most warnings listed at once.
const MAX_LISTED: i64 = 500;
/// Children evaluated per step of the nightly sweep.
const SWEEP_STEP: i64 = 500;

impl WarningRow {
    fn open(self, store: &Store) -> Result<StoredWarning, StoreError> {
        let keys = store.keys()?;
        let facts = keys.open(&format!("warnings.facts:{}", self.id), &self.facts)?;
        let reason = if self.reason.is_empty() {
            String::new()
        } else {
            keys.open(&format!("warnings.reason:{}", self.id), &self.reason)?
        };
        Ok(StoredWarning {
            rule: WarningRule::parse(&self.rule).ok_or_else(|| {
                StoreError::Config(format!("预警 {} 的规则 {} 无法识别", self.id, self.rule))
            })?,
            county_code: self.county_code,
            id: self.id,
            child_id: self.child_id,
            child_name: self.child_name,
            division_code: self.division_code,
            facts,
            raised_at: self.raised_at,
            updated_at: self.updated_at,
            ended_at: self.ended_at,
            decided_at: self.decided_at,
            decided_name: self.decided_name,
            decision: self.decision,
            risk_to: self.risk_to,
            reason,
        })
    }
}

fn day_of_ms(ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&weibao_domain::visit::cst())
        .date_naive()
}

impl Store {
    /// The county's thresholds (setting `warning_rules`; defaults where not set).
    async fn warning_rules(&self, county: &str) -> Result<WarningRules, StoreError> {
        let at = DivisionCode::parse(county).ok();
        let value = self
            .setting_json(super::WARNING_RULES, at, self.clock.today())
            .await?;
        Ok(value
            .and_then(|v| WarningRules::parse(&v).ok())
            .unwrap_or_default())
    }

    /// Evaluates the rules for one child now and keeps what they find: a rule that fires
    /// and had no warning raises one (with its work items), one still firing has its facts
    /// refreshed, one that stopped ends (its work items closed). A child no longer in the
    /// active ledger ends all of theirs. An unknown child changes nothing.
    pub async fn evaluate_warnings(&self, child_id: &str) -> Result<WarningChanges, StoreError> {
        let system = Scope::system();
        let child = match self
            .child_by_id(&system, child_id, Action::ViewChildren)
            .await
        {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(WarningChanges::default()),
            Err(e) => return Err(e),
        };
        let county = child.county_code.clone();
        let today = self.clock.today();
        let fired: Vec<Warning> = if child.active {
            let rules = self.warning_rules(&county).await?;
            let (due_on, created_at): (Option<NaiveDate>, i64) = {
                let mut c = self.read().await?;
                on!(c.conn(), |c| sqlx::query_as(
                    "SELECT due_on, created_at FROM children WHERE county_code = $1 AND id = $2"
                )
                .bind(&county)
                .bind(child_id)
                .fetch_one(&mut *c)
                .await)?
            };
            let reports: Vec<(i64,)> = {
                let mut c = self.read().await?;
                on!(c.conn(), |c| sqlx::query_as(
                    "SELECT reported_at FROM reports WHERE county_code = $1 AND child_id = $2
                       AND state NOT IN ('closed', 'merged')"
                )
                .bind(&county)
                .bind(child_id)
                .fetch_all(&mut *c)
                .await)?
            };
            let visits: Vec<_> = self
                .child_visits(&system, child_id)
                .await?
                .into_iter()
                .map(|v| v.record)
                .collect();
            let changes: Vec<ParentChange> = self
                .child_history(&system, child_id)
                .await?
                .into_iter()
                .flat_map(|v| {
                    let on = day_of_ms(v.at);
                    v.changes.into_iter().map(move |c| ParentChange {
                        field: c.field,
                        old: c.old,
                        new: c.new,
                        on,
                    })
                })
                // A record's first version "changes" every field from nothing.
                .filter(|c| !c.old.is_empty())
                .collect();
            let signals = gather(
                &child.record,
                child.effective,
                due_on,
                &visits,
                reports.into_iter().map(|(at,)| day_of_ms(at)).collect(),
                &changes,
                Some(day_of_ms(created_at)),
                today,
            );
            evaluate(&rules, &signals, today)
        } else {
            vec![]
        };
        self.keep_warnings(
            &county,
            child_id,
            &child.record.division().full(),
            &merge_facts(fired),
        )
        .await
    }

    /// Writes what an evaluation found against the child's active warnings.
    async fn keep_warnings(
        &self,
        county: &str,
        child_id: &str,
        division: &str,
        fired: &[(WarningRule, String)],
    ) -> Result<WarningChanges, StoreError> {
        let active: Vec<(String, String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, rule, facts FROM warnings
                 WHERE county_code = $1 AND child_id = $2 AND ended_at IS NULL"
            )
            .bind(county)
            .bind(child_id)
            .fetch_all(&mut *c)
            .await)?
        };
        let keys = self.keys()?;
        let mut changes = WarningChanges::default();
        let now = self.now_ms();
        let mut s = Script::default();
        let mut ended = Vec::new();
        let mut by_rule: HashMap<String, (String, String)> = HashMap::new();
        for (id, rule, facts) in active {
            let facts = keys.open(&format!("warnings.facts:{id}"), &facts)?;
            by_rule.insert(rule, (id, facts));
        }
        for (id, rule) in by_rule
            .iter()
            .map(|(rule, (id, _))| (id.clone(), rule.clone()))
            .collect::<Vec<_>>()
        {
            if !fired.iter().any(|(r, _)| r.code() == rule) {
                s.push(
                    "UPDATE warnings SET ended_at = $3, updated_at = $3
                     WHERE county_code = $1 AND id = $2 AND ended_at IS NULL",
                    vec![county.into(), id.clone().into(), now.into()],
                );
                ended.push(id);
                changes.ended += 1;
            }
        }
        let mut raised = Vec::new();
        for (rule, facts) in fired {
            match by_rule.get(rule.code()) {
                Some((_, kept)) if kept == facts => {}
                Some((id, _)) => {
                    s.push(
                        "UPDATE warnings SET facts = $3, updated_at = $4
                         WHERE county_code = $1 AND id = $2",
                        vec![
                            county.into(),
                            id.clone().into(),
                            keys.seal(&format!("warnings.facts:{id}"), facts).into(),
                            now.into(),
                        ],
                    );
                    changes.refreshed += 1;
                }
                None => {
                    let id = new_id();
                    s.push(
                        "INSERT INTO warnings (county_code, id, child_id, division_code, rule,
                             facts, raised_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                        vec![
                            county.into(),
                            id.clone().into(),
                            child_id.into(),
                            division.into(),
                            rule.code().into(),
                            keys.seal(&format!("warnings.facts:{id}"), facts).into(),
                            now.into(),
                        ],
                    );
                    locate_in(&mut s, &id, county, WARNING_KIND);
                    raised.push((id, *rule));
                    changes.raised += 1;
                }
            }
        }
        if s.is_empty() {
            return Ok(changes);
        }
        // Owners and the deadline are looked up before the writer is taken.
        let place = DivisionCode::parse(division).map_err(|e| StoreError::Config(e.message))?;
        let director = if raised.is_empty() {
            None
        } else {
            self.village_director(place).await?
        };
        let due = if raised.is_empty() {
            None
        } else {
            Some(self.due(county, WorkKind::Warning, None, now).await?)
        };
        let mut tx = self.begin().await?;
        if let Some(due) = due {
            let township = if place.level() >= Level::Township {
                Some(unit_for(&mut tx, place, UnitKind::Township, now).await?)
            } else {
                None
            };
            let mut owners: Vec<WorkOwner> = Vec::new();
            owners.extend(director.map(WorkOwner::User));
            owners.extend(township.map(|u| WorkOwner::Unit(u.id)));
            if owners.is_empty() {
                let county_code =
                    DivisionCode::parse(county).map_err(|e| StoreError::Config(e.message))?;
                owners.push(WorkOwner::Unit(
                    unit_for(&mut tx, county_code, UnitKind::Office, now)
                        .await?
                        .id,
                ));
            }
            for (id, rule) in &raised {
                for owner in &owners {
                    add_work_to(
                        &mut s,
                        &NewWork {
                            county: county.into(),
                            kind: WorkKind::Warning,
                            subject_kind: WARNING_KIND,
                            subject_id: id.clone(),
                            // No personal data: it shows in inboxes and robots' messages.
                            title: format!("预警：{}", rule.label()),
                            owner: owner.clone(),
                            urgency: 1,
                            due: due.clone(),
                            sealed: false,
                        },
                        now,
                    );
                }
            }
        }
        let system = Scope::system();
        s.run(tx.conn()).await?;
        let raised_events: Vec<AuditEvent> = raised
            .iter()
            .map(|(id, rule)| {
                AuditEvent::by(&system, "warning.raise", id)
                    .in_county(county)
                    .detail(format!("{} child {child_id}", rule.code()))
            })
            .collect();
        append_many(&mut tx, now, county, &raised_events).await?;
        for id in &ended {
            close_work(&mut tx, county, id, &[WorkKind::Warning], now).await?;
        }
        tx.commit().await?;
        Ok(changes)
    }

    /// Evaluates every child of the active ledger (and ends the warnings of children who
    /// left it), step by step; `progress` hears (done, of). Returns what changed.
    pub async fn evaluate_all_warnings(
        &self,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<WarningChanges, StoreError> {
        let (total,): (i64,) = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT COUNT(*) FROM children"
            )
            .fetch_one(&mut *c)
            .await)?
        };
        let mut changes = WarningChanges::default();
        let mut after = (String::new(), String::new());
        let mut done = 0usize;
        loop {
            let ids: Vec<(String, String)> = {
                let mut c = self.read().await?;
                on!(c.conn(), |c| sqlx::query_as(
                    "SELECT county_code, id FROM children
                     WHERE county_code > $1 OR (county_code = $1 AND id > $2)
                     ORDER BY county_code, id LIMIT $3"
                )
                .bind(&after.0)
                .bind(&after.1)
                .bind(SWEEP_STEP)
                .fetch_all(&mut *c)
                .await)?
            };
            let Some(last) = ids.last().cloned() else {
                break;
            };
            for (_, id) in &ids {
                // One child's failure (a record that cannot be read, a race with the
                // round evaluating the same child) does not stop the night's sweep.
                match self.evaluate_warnings(id).await {
                    Ok(c) => changes.add(c),
                    Err(e) => tracing::warn!(child = %id, error = %e, "warnings not evaluated"),
                }
            }
            done += ids.len();
            progress(done, total.max(0) as usize);
            after = last;
        }
        // Warnings of children no longer in their county's ledger (moved away).
        let orphans: Vec<(String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT w.county_code, w.id FROM warnings w
                 WHERE w.ended_at IS NULL AND NOT EXISTS (SELECT 1 FROM children ch
                   WHERE ch.county_code = w.county_code AND ch.id = w.child_id)"
            )
            .fetch_all(&mut *c)
            .await)?
        };
        if !orphans.is_empty() {
            let now = self.now_ms();
            let mut tx = self.begin().await?;
            for (county, id) in &orphans {
                let mut s = Script::default();
                s.push(
                    "UPDATE warnings SET ended_at = $3, updated_at = $3
                     WHERE county_code = $1 AND id = $2",
                    vec![county.clone().into(), id.clone().into(), now.into()],
                );
                s.run(tx.conn()).await?;
                close_work(&mut tx, county, id, &[WorkKind::Warning], now).await?;
            }
            tx.commit().await?;
            changes.ended += orphans.len();
        }
        self.set_warning_mark("nightly", self.now_ms()).await?;
        Ok(changes)
    }

    /// When the nightly sweep last finished (unix ms), if ever.
    pub async fn warning_mark(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let mut c = self.read().await?;
        let row: Option<(i64,)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT at FROM warning_marks WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(row.map(|(at,)| at))
    }

    async fn set_warning_mark(&self, name: &str, at: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let mut s = Script::default();
        s.push(
            "INSERT INTO warning_marks (name, at) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET at = excluded.at",
            vec![name.into(), at.into()],
        );
        s.run(tx.conn()).await?;
        tx.commit().await
    }

    /// The active warnings within the caller's subtree (or a child's, when it is named),
    /// newest first.
    pub async fn list_warnings(
        &self,
        scope: &Scope,
        filter: &WarningFilter,
    ) -> Result<Vec<StoredWarning>, StoreError> {
        scope.check_role(Action::VerifyFindings)?;
        let within = filter
            .division
            .or(scope.home())
            .ok_or(StoreError::Forbidden)?;
        scope.check(Action::VerifyFindings, within)?;
        if within.level() < Level::County {
            // A warning is a county's work: a region above lists by county.
            return Err(StoreError::invalid(
                "division",
                weibao_domain::Invalid::new("division_level", "请选择一个县（区）或其下的乡镇、村"),
            ));
        }
        let mut sql = format!(
            "{WARNING_SELECT} WHERE w.county_code = $1 AND w.division_code LIKE $2
               AND w.ended_at IS NULL"
        );
        let mut binds: Vec<String> = vec![within.county_code(), format!("{}%", within.prefix())];
        if let Some(rule) = filter.rule {
            binds.push(rule.code().into());
            sql.push_str(&format!(" AND w.rule = ${}", binds.len()));
        }
        if let Some(child) = &filter.child_id {
            binds.push(child.clone());
            sql.push_str(&format!(" AND w.child_id = ${}", binds.len()));
        }
        if filter.undecided {
            sql.push_str(" AND w.decided_at IS NULL");
        }
        sql.push_str(&format!(
            " ORDER BY w.raised_at DESC, w.id LIMIT {MAX_LISTED}"
        ));
        let rows: Vec<WarningRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| {
                let mut q = sqlx::query_as(&sql);
                for b in &binds {
                    q = q.bind(b);
                }
                q.fetch_all(&mut *c).await
            })?
        };
        rows.into_iter().map(|r| r.open(self)).collect()
    }

    /// One warning the caller may see (ended ones too).
    pub async fn warning(&self, scope: &Scope, id: &str) -> Result<StoredWarning, StoreError> {
        scope.check_role(Action::VerifyFindings)?;
        let county = self
            .locate_record(id, WARNING_KIND)
            .await?
            .ok_or(StoreError::NotFound)?;
        let sql = format!("{WARNING_SELECT} WHERE w.county_code = $1 AND w.id = $2");
        let row: Option<WarningRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?
        };
        let row = row.ok_or(StoreError::NotFound)?;
        let division = DivisionCode::parse(&row.division_code).map_err(|_| StoreError::NotFound)?;
        if scope.check(Action::VerifyFindings, division).is_err() {
            return Err(StoreError::NotFound);
        }
        row.open(self)
    }

    /// A person's decision on a warning: raise the child's risk level (through the ledger,
    /// versioned and audited there) or keep it, with the reason. Closes its work items.
    pub async fn decide_warning(
        &self,
        scope: &Scope,
        id: &str,
        decision: &WarningDecision,
        ip: &str,
    ) -> Result<StoredWarning, StoreError> {
        let w = self.warning(scope, id).await?;
        let division = DivisionCode::parse(&w.division_code).map_err(|_| StoreError::NotFound)?;
        scope.check(Action::VerifyFindings, division)?;
        if w.decided_at.is_some() {
            return Err(StoreError::Conflict {
                field: "id",
                code: "warning_decided",
                message: format!("该预警已由{}研判，不能重复研判", w.decided_name),
            });
        }
        if w.ended_at.is_some() {
            return Err(StoreError::Conflict {
                field: "id",
                code: "warning_ended",
                message: "该预警的情形已消除，无需研判".into(),
            });
        }
        let mut risk_to = String::new();
        if let WarningDecision::Raise(risk, _) = decision {
            let child = self
                .child_by_id(scope, &w.child_id, Action::EditChildren)
                .await?;
            if rank(child.record.risk) >= rank(*risk) {
                return Err(StoreError::invalid(
                    "risk",
                    weibao_domain::Invalid::new(
                        "risk_not_higher",
                        format!(
                            "儿童当前风险等级为“{}”，提高后的等级应高于它；不需提高时请选择“维持”",
                            child.record.risk.label()
                        ),
                    ),
                ));
            }
            self.update_child(
                scope,
                &w.child_id,
                ChildPatch {
                    risk: Some(risk.label().into()),
                    ..ChildPatch::default()
                },
                None,
                ip,
            )
            .await?;
            risk_to = risk.label().into();
        }
        let now = self.now_ms();
        let keys = self.keys()?;
        let mut tx = self.begin().await?;
        let mut s = Script::default();
        s.push(
            "UPDATE warnings SET decided_at = $3, decided_by = $4, decided_name = $5,
                 decision = $6, risk_to = $7, reason = $8, updated_at = $3
             WHERE county_code = $1 AND id = $2 AND decided_at IS NULL",
            vec![
                w.county_code.clone().into(),
                id.into(),
                now.into(),
                scope.user_id.clone().into(),
                scope.username.clone().into(),
                decision.code().into(),
                risk_to.clone().into(),
                keys.seal(&format!("warnings.reason:{id}"), decision.reason())
                    .into(),
            ],
        );
        append_to(
            &mut tx,
            &mut s,
            now,
            &AuditEvent::by(scope, "warning.decide", id)
                .in_county(&w.county_code)
                .from_ip(ip)
                .detail(format!("{} {}", decision.code(), risk_to)),
        )
        .await?;
        s.run(tx.conn()).await?;
        close_work(&mut tx, &w.county_code, id, &[WorkKind::Warning], now).await?;
        tx.commit().await?;
        self.warning(scope, id).await
    }
}

fn rank(r: Risk) -> u8 {
    match r {
        Risk::Low => 0,
        Risk::Medium => 1,
        Risk::High => 2,
    }
}

/// One warning a rule: a rule that fired more than once (two guardians, two parents'
/// changes) keeps all its facts in one.
fn merge_facts(fired: Vec<Warning>) -> Vec<(WarningRule, String)> {
    let mut out: Vec<(WarningRule, String)> = Vec::new();
    for w in fired {
        match out.iter_mut().find(|(r, _)| *r == w.rule) {
            Some((_, facts)) => {
                facts.push('；');
                facts.push_str(&w.facts);
            }
            None => out.push((w.rule, w.facts)),
        }
    }
    out
}
