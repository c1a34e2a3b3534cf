//! Synthetic allowance cases for scale tests (`weibao gen --allowances N`): confirmed
//! cases for children the ledger shows eligible, written in bulk, with their steps.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::QueryBuilder;
use weibao_domain::access::Scope;
use weibao_domain::allowances::{start_month, types};
use weibao_domain::child::{Category, CategorySet};
use weibao_domain::{DivisionCode, Fen, Month};

use super::{account_aad, NewStandard};
use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// Rows per multi-row INSERT (21 values a case).
const ROWS: usize = 500;

/// The standards `gen` sets where none exist: 社会散居孤儿 1,694.00 (seed 004's figure),
/// the rest illustrative.
pub(crate) const SYNTHETIC_STANDARDS: &[(&str, i64)] = &[
    (types::ORPHAN_SCATTERED, 169_400),
    (types::ORPHAN_INSTITUTIONAL, 210_000),
    (types::DISTRESSED, 60_000),
    (types::DISABILITY_TWO, 16_000),
    (types::STUDY_GRANT, 30_000),
];

impl Store {
    /// Adds `confirmed` confirmed cases (confirmed 62 days ago: paid from the month after)
    /// and `checked` cases waiting for the county, for children under `under` that the
    /// ledger shows eligible (事实无人抚养, then 孤儿, then 困境), one basic allowance each;
    /// and the standards when the division has none. Returns how many of each it made
    /// (fewer when there are not enough eligible children). Command line only.
    pub async fn synthesize_allowances(
        &self,
        scope: &Scope,
        under: DivisionCode,
        confirmed: usize,
        checked: usize,
        seed: u64,
    ) -> Result<(usize, usize), StoreError> {
        if !scope.is_system() {
            return Err(StoreError::Forbidden);
        }
        let keys = self.keys()?;
        let today = self.clock.today();
        if self.standards_at(scope, under).await?.is_empty() {
            let from = Month::new(2000, 1).expect("a month");
            for (code, fen) in SYNTHETIC_STANDARDS {
                self.create_standard(
                    scope,
                    NewStandard {
                        type_code: code.to_string(),
                        division: under,
                        amount: Some(Fen(*fen)),
                        follows_type: None,
                        follows_percent: None,
                        from,
                        to: None,
                        note: "gen".into(),
                    },
                    "gen",
                )
                .await?;
            }
            self.create_standard(
                scope,
                NewStandard {
                    type_code: types::FACTUALLY_UNSUPPORTED.into(),
                    division: under,
                    amount: None,
                    follows_type: Some(types::ORPHAN_SCATTERED.into()),
                    follows_percent: Some(100),
                    from,
                    to: None,
                    note: "gen".into(),
                },
                "gen",
            )
            .await?;
        }
        let cutoff = weibao_domain::categories::birth_cutoff(18, today);
        let (lo, hi) = under.subtree_bounds();
        let mask = [
            Category::Orphan,
            Category::FactuallyUnsupported,
            Category::Distressed,
        ]
        .iter()
        .map(|c| i64::from(c.bit()))
        .fold(0, |a, b| a | b);
        let children: Vec<(String, String, String, i64)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT county_code, id, division_code, category_bits FROM children ch
                 WHERE county_code BETWEEN $1 AND $2 AND division_code BETWEEN $3 AND $4
                   AND birth_date > $5 AND (category_bits & $6) <> 0 AND NOT sensitive
                   AND NOT EXISTS (SELECT 1 FROM allowance_cases a
                       WHERE a.county_code = ch.county_code AND a.child_id = ch.id)
                 ORDER BY county_code, id LIMIT $7"
            )
            .bind(&lo[..6])
            .bind(&hi[..6])
            .bind(&lo)
            .bind(&hi)
            .bind(cutoff)
            .bind(mask)
            .bind((confirmed + checked) as i64)
            .fetch_all(&mut *c)
            .await)?
        };
        let confirmed_on: NaiveDate = today - chrono::Duration::days(62);
        let confirmed_at = confirmed_on
            .and_hms_opt(2, 0, 0)
            .expect("a time")
            .and_utc()
            .timestamp_millis();
        let start = start_month(confirmed_on);
        let now = self.now_ms();
        let mut rng = seed | 1;
        let mut by_county: HashMap<String, Vec<Case>> = HashMap::new();
        for (i, (county, child, division, bits)) in children.into_iter().enumerate() {
            let set = CategorySet::from_bits(bits as u32);
            let type_code = if set.contains(Category::FactuallyUnsupported) {
                types::FACTUALLY_UNSUPPORTED
            } else if set.contains(Category::Orphan) {
                types::ORPHAN_SCATTERED
            } else {
                types::DISTRESSED
            };
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let account = format!("621700{:013}", rng % 10_000_000_000_000);
            let id = uuid::Uuid::new_v4().to_string();
            by_county.entry(county).or_default().push(Case {
                sealed: keys.seal(&account_aad(&id), &account),
                masked: weibao_domain::allowances::mask_account(&account),
                id,
                child,
                division,
                type_code,
                confirmed: i < confirmed,
            });
        }
        let (mut made_confirmed, mut made_checked) = (0, 0);
        for (county, cases) in by_county {
            for chunk in cases.chunks(ROWS) {
                let mut tx = self.begin().await?;
                on!(tx.conn(), |c| {
                    let mut qb = QueryBuilder::new(
                        "INSERT INTO allowance_cases (county_code, id, child_id, division_code,
                             type_code, status, sensitive, filed_as, applicant, bank_name,
                             account_holder, bank_account, account_masked, documents, note,
                             eligibility, filed_by, filed_by_name, filed_at, confirmed_at,
                             start_month, version, updated_at) ",
                    );
                    qb.push_values(chunk, |mut b, k| {
                        b.push_bind(&county)
                            .push_bind(&k.id)
                            .push_bind(&k.child)
                            .push_bind(&k.division)
                            .push_bind(k.type_code)
                            .push_bind(if k.confirmed { "confirmed" } else { "checked" })
                            .push_bind(false)
                            .push_bind("village")
                            .push_bind("监护人")
                            .push_bind("四川农信")
                            .push_bind("监护人")
                            .push_bind(&k.sealed)
                            .push_bind(&k.masked)
                            .push_bind("[]")
                            .push_bind("gen")
                            .push_bind("合成数据")
                            .push_bind("gen")
                            .push_bind("gen")
                            .push_bind(confirmed_at)
                            .push_bind(k.confirmed.then_some(confirmed_at))
                            .push_bind(k.confirmed.then(|| start.to_string()))
                            .push_bind(if k.confirmed { 3i64 } else { 2 })
                            .push_bind(confirmed_at);
                    });
                    qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
                })?;
                on!(tx.conn(), |c| {
                    let mut qb =
                        QueryBuilder::new("INSERT INTO allowance_locator (id, county_code) ");
                    qb.push_values(chunk, |mut b, k| {
                        b.push_bind(&k.id).push_bind(&county);
                    });
                    qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
                })?;
                let steps: Vec<(&Case, i64, &str)> = chunk
                    .iter()
                    .flat_map(|k| {
                        let mut s = vec![(k, 1, "filed"), (k, 2, "township")];
                        if k.confirmed {
                            s.push((k, 3, "county"));
                        }
                        s
                    })
                    .collect();
                for part in steps.chunks(ROWS) {
                    on!(tx.conn(), |c| {
                        let mut qb = QueryBuilder::new(
                            "INSERT INTO allowance_steps (county_code, case_id, seq, step,
                                 decision, reason, actor_id, actor_name, at) ",
                        );
                        qb.push_values(part, |mut b, (k, seq, step)| {
                            b.push_bind(&county)
                                .push_bind(&k.id)
                                .push_bind(*seq)
                                .push_bind(*step)
                                .push_bind(if *step == "filed" { "" } else { "approve" })
                                .push_bind("合成数据")
                                .push_bind("gen")
                                .push_bind("gen")
                                .push_bind(confirmed_at);
                        });
                        qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
                    })?;
                }
                let n = chunk.iter().filter(|k| k.confirmed).count();
                made_confirmed += n;
                made_checked += chunk.len() - n;
                tx.commit().await?;
            }
            let mut tx = self.begin().await?;
            append(
                &mut tx,
                now,
                &AuditEvent::by(scope, "allowance.synthesize", &county)
                    .in_county(&county)
                    .from_ip("gen"),
            )
            .await?;
            tx.commit().await?;
        }
        Ok((made_confirmed, made_checked))
    }
}

struct Case {
    id: String,
    child: String,
    division: String,
    type_code: &'static str,
    confirmed: bool,
    sealed: String,
    masked: String,
}
