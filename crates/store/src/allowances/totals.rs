//! Totals of what locked rolls paid (per type, division, month and year, and the people
//! covered), as reports quote them, and the yearly budgets rolls are checked against.

use std::collections::BTreeMap;

use serde::Serialize;
use weibao_domain::access::{Action, Scope};
use weibao_domain::{DivisionCode, Fen, Invalid, Level, Month};

use super::month_of;
use super::standards::county_range;
use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// Paid for one type in the year.
#[derive(Debug, Clone, Serialize)]
pub struct TypeTotal {
    pub type_code: String,
    pub label: String,
    /// The name reports group by (孤儿基本生活费 for both orphan types).
    pub group: String,
    pub amount: Fen,
    /// Children paid anything of this type in the year.
    pub people: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthTotal {
    pub month: Month,
    pub amount: Fen,
    pub people: i64,
}

/// Paid in one division directly below the one asked about.
#[derive(Debug, Clone, Serialize)]
pub struct DivisionTotal {
    pub division: String,
    pub name: String,
    pub amount: Fen,
    pub people: i64,
}

/// What was paid in a division's subtree in a year (locked rolls only).
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub division: DivisionCode,
    pub year: i32,
    /// The latest month paid in the year.
    pub through: Option<Month>,
    pub by_type: Vec<TypeTotal>,
    pub by_month: Vec<MonthTotal>,
    pub by_division: Vec<DivisionTotal>,
    pub total: Fen,
    /// Children paid anything in the year, each counted once.
    pub people: i64,
    /// As a report writes it: "2023年累计发放孤儿基本生活费12.36万元，…，共惠及N人".
    pub sentence: String,
}

/// A county's budget for a type and year, and what locked rolls have paid of it.
#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub year: i32,
    pub type_code: String,
    pub amount: Fen,
    pub spent: Fen,
}

impl Store {
    /// What locked rolls paid in `division`'s subtree per type over the months
    /// `from..=to`, each with the children it paid in the last of them (期末人数): the
    /// statistical report's lines. `people` of a [`TypeTotal`] here is that month's.
    pub async fn allowance_paid(
        &self,
        scope: &Scope,
        division: DivisionCode,
        from: Month,
        to: Month,
    ) -> Result<Vec<TypeTotal>, StoreError> {
        scope.check(Action::ViewAllowances, division)?;
        let types = self.allowance_types(Some(division)).await?;
        let (clo, chi) = county_range(division);
        let (lo, hi) = division.subtree_bounds();
        let mut conn = self.read().await?;
        let rows: Vec<(String, String, i64, i64)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT t.month, t.type_code, CAST(SUM(t.people) AS BIGINT),
                 CAST(SUM(t.amount_fen) AS BIGINT)
             FROM allowance_roll_totals t
             JOIN allowance_rolls r ON r.county_code = t.county_code AND r.id = t.roll_id
             WHERE r.status = 'locked' AND t.county_code BETWEEN $1 AND $2
               AND t.division_code BETWEEN $3 AND $4 AND t.month BETWEEN $5 AND $6
             GROUP BY t.month, t.type_code"
        )
        .bind(&clo)
        .bind(&chi)
        .bind(&lo)
        .bind(&hi)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        let last = to.to_string();
        let mut paid: BTreeMap<String, (Fen, i64)> = BTreeMap::new();
        for (month, type_code, people, amount) in rows {
            let e = paid.entry(type_code).or_default();
            e.0 += Fen(amount);
            if month == last {
                e.1 += people;
            }
        }
        let mut out = Vec::new();
        for def in types.all() {
            let (amount, people) = paid.remove(&def.code).unwrap_or_default();
            out.push(TypeTotal {
                type_code: def.code.clone(),
                label: def.label.clone(),
                group: def.group_label().to_string(),
                amount,
                people,
            });
        }
        for (code, (amount, people)) in paid {
            out.push(TypeTotal {
                label: code.clone(),
                group: code.clone(),
                type_code: code,
                amount,
                people,
            });
        }
        Ok(out)
    }

    /// What locked rolls paid in `division`'s subtree in `year`.
    pub async fn allowance_totals(
        &self,
        scope: &Scope,
        division: DivisionCode,
        year: i32,
    ) -> Result<Totals, StoreError> {
        scope.check(Action::ViewAllowances, division)?;
        if !(weibao_domain::month::FIRST_YEAR..=weibao_domain::month::LAST_YEAR).contains(&year) {
            return Err(StoreError::invalid(
                "year",
                Invalid::new("year_range", "年份应在 2000 到 2099 之间"),
            ));
        }
        let types = self.allowance_types(Some(division)).await?;
        let (clo, chi) = county_range(division);
        let (lo, hi) = division.subtree_bounds();
        let len = division
            .level()
            .child()
            .unwrap_or(Level::Village)
            .prefix_len() as i32;
        let (from, to) = (format!("{year:04}-01"), format!("{year:04}-12"));
        let mut conn = self.read().await?;
        let rows: Vec<(String, String, String, i64, i64)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT t.month, t.type_code, substr(t.division_code, 1, $7) AS part,
                 CAST(SUM(t.people) AS BIGINT), CAST(SUM(t.amount_fen) AS BIGINT)
             FROM allowance_roll_totals t
             JOIN allowance_rolls r ON r.county_code = t.county_code AND r.id = t.roll_id
             WHERE r.status = 'locked' AND t.county_code BETWEEN $1 AND $2
               AND t.division_code BETWEEN $3 AND $4 AND t.month BETWEEN $5 AND $6
             GROUP BY t.month, t.type_code, part"
        )
        .bind(&clo)
        .bind(&chi)
        .bind(&lo)
        .bind(&hi)
        .bind(&from)
        .bind(&to)
        .bind(len)
        .fetch_all(&mut *c)
        .await)?;
        let people_by_type: Vec<(String, i64)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT type_code, COUNT(*) FROM allowance_recipients
             WHERE county_code BETWEEN $1 AND $2 AND division_code BETWEEN $3 AND $4
               AND year = $5 AND amount_fen > 0
             GROUP BY type_code"
        )
        .bind(&clo)
        .bind(&chi)
        .bind(&lo)
        .bind(&hi)
        .bind(year)
        .fetch_all(&mut *c)
        .await)?;
        let people_by_part: Vec<(String, i64)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT substr(division_code, 1, $6) AS part, COUNT(DISTINCT child_id)
             FROM allowance_recipients
             WHERE county_code BETWEEN $1 AND $2 AND division_code BETWEEN $3 AND $4
               AND year = $5 AND amount_fen > 0
             GROUP BY part"
        )
        .bind(&clo)
        .bind(&chi)
        .bind(&lo)
        .bind(&hi)
        .bind(year)
        .bind(len)
        .fetch_all(&mut *c)
        .await)?;
        let people: i64 = on!(conn.conn(), |c| sqlx::query_scalar(
            "SELECT COUNT(DISTINCT child_id) FROM allowance_recipients
             WHERE county_code BETWEEN $1 AND $2 AND division_code BETWEEN $3 AND $4
               AND year = $5 AND amount_fen > 0"
        )
        .bind(&clo)
        .bind(&chi)
        .bind(&lo)
        .bind(&hi)
        .bind(year)
        .fetch_one(&mut *c)
        .await)?;
        drop(conn);
        let mut by_type: BTreeMap<String, Fen> = BTreeMap::new();
        let mut by_month: BTreeMap<Month, (Fen, i64)> = BTreeMap::new();
        let mut by_part: BTreeMap<String, Fen> = BTreeMap::new();
        for (month, type_code, part, ppl, amount) in rows {
            *by_type.entry(type_code).or_default() += Fen(amount);
            if let Some(m) = month_of(Some(&month)) {
                let e = by_month.entry(m).or_default();
                e.0 += Fen(amount);
                e.1 += ppl;
            }
            *by_part.entry(part).or_default() += Fen(amount);
        }
        let total: Fen = by_type.values().copied().sum();
        let people_of = |t: &str| {
            people_by_type
                .iter()
                .find(|(x, _)| x == t)
                .map(|(_, n)| *n)
                .unwrap_or(0)
        };
        // Types in their book's order, then any no longer configured.
        let mut ordered: Vec<TypeTotal> = Vec::new();
        for def in types.all() {
            if let Some(amount) = by_type.remove(&def.code) {
                ordered.push(TypeTotal {
                    people: people_of(&def.code),
                    type_code: def.code.clone(),
                    label: def.label.clone(),
                    group: def.group_label().to_string(),
                    amount,
                });
            }
        }
        for (code, amount) in by_type {
            ordered.push(TypeTotal {
                people: people_of(&code),
                label: code.clone(),
                group: code.clone(),
                type_code: code,
                amount,
            });
        }
        let names = self
            .division_names_of(by_part.keys().map(|p| format!("{p:0<12}")).collect())
            .await?;
        let by_division = by_part
            .into_iter()
            .map(|(part, amount)| {
                let full = format!("{part:0<12}");
                DivisionTotal {
                    name: names.get(&full).cloned().unwrap_or_else(|| full.clone()),
                    people: people_by_part
                        .iter()
                        .find(|(p, _)| *p == part)
                        .map(|(_, n)| *n)
                        .unwrap_or(0),
                    division: full,
                    amount,
                }
            })
            .collect();
        let through = by_month.keys().next_back().copied();
        let sentence = sentence(year, through, &ordered, people);
        Ok(Totals {
            division,
            year,
            through,
            by_type: ordered,
            by_month: by_month
                .into_iter()
                .map(|(month, (amount, people))| MonthTotal {
                    month,
                    amount,
                    people,
                })
                .collect(),
            by_division,
            total,
            people,
            sentence,
        })
    }

    /// Sets a county's budget for a type and year (replacing the one set before).
    pub async fn set_budget(
        &self,
        scope: &Scope,
        division: DivisionCode,
        year: i32,
        type_code: &str,
        amount: Fen,
        ip: &str,
    ) -> Result<Budget, StoreError> {
        scope.check(Action::ManageAllowanceStandards, division)?;
        if !self.division_exists(division).await? {
            return Err(StoreError::NotFound);
        }
        if division.level() != Level::County {
            return Err(StoreError::invalid(
                "division",
                Invalid::new("division_level", "预算按县（区）设置：请填写 6 位县级代码"),
            ));
        }
        if !(weibao_domain::month::FIRST_YEAR..=weibao_domain::month::LAST_YEAR).contains(&year) {
            return Err(StoreError::invalid(
                "year",
                Invalid::new("year_range", "年份应在 2000 到 2099 之间"),
            ));
        }
        let types = self.allowance_types(Some(division)).await?;
        types
            .require("保障类型", type_code)
            .map_err(|e| StoreError::invalid("type", e))?;
        let county = division.county_code();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO allowance_budgets (county_code, year, type_code, amount_fen, updated_at,
                 updated_by)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (county_code, year, type_code) DO UPDATE SET
                 amount_fen = excluded.amount_fen, updated_at = excluded.updated_at,
                 updated_by = excluded.updated_by"
        )
        .bind(&county)
        .bind(year)
        .bind(type_code)
        .bind(amount.0)
        .bind(now)
        .bind(&scope.username)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(
                scope,
                "allowance.budget",
                format!("{county}:{year}:{type_code}"),
            )
            .in_county(&county)
            .from_ip(ip)
            .detail(format!("amount_fen={}", amount.0)),
        )
        .await?;
        tx.commit().await?;
        Ok(self
            .budgets(scope, division, year)
            .await?
            .into_iter()
            .find(|b| b.type_code == type_code)
            .expect("just set"))
    }

    /// A county's budgets of a year, with what locked rolls paid of each.
    pub async fn budgets(
        &self,
        scope: &Scope,
        division: DivisionCode,
        year: i32,
    ) -> Result<Vec<Budget>, StoreError> {
        scope.check(Action::ViewAllowances, division)?;
        let county = division.county_code();
        let mut conn = self.read().await?;
        let set: Vec<(String, i64)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT type_code, amount_fen FROM allowance_budgets
             WHERE county_code = $1 AND year = $2 ORDER BY type_code"
        )
        .bind(&county)
        .bind(year)
        .fetch_all(&mut *c)
        .await)?;
        let spent: Vec<(String, i64)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT t.type_code, CAST(SUM(t.amount_fen) AS BIGINT)
                 FROM allowance_roll_totals t
             JOIN allowance_rolls r ON r.county_code = t.county_code AND r.id = t.roll_id
             WHERE t.county_code = $1 AND r.status = 'locked' AND t.month BETWEEN $2 AND $3
             GROUP BY t.type_code"
        )
        .bind(&county)
        .bind(format!("{year:04}-01"))
        .bind(format!("{year:04}-12"))
        .fetch_all(&mut *c)
        .await)?;
        Ok(set
            .into_iter()
            .map(|(type_code, amount)| Budget {
                year,
                spent: spent
                    .iter()
                    .find(|(t, _)| *t == type_code)
                    .map(|(_, a)| Fen(*a))
                    .unwrap_or_default(),
                type_code,
                amount: Fen(amount),
            })
            .collect())
    }
}

/// "2023年（截至9月）累计发放孤儿基本生活费12.36万元，事实无人抚养儿童生活补贴29.04万元，共惠及N人"
pub fn sentence(year: i32, through: Option<Month>, types: &[TypeTotal], people: i64) -> String {
    let Some(last) = through else {
        return format!("{year}年尚无已锁定的发放名册");
    };
    // Amounts by the groups reports use, in the types' order.
    let mut groups: Vec<(String, Fen)> = Vec::new();
    for t in types {
        match groups.iter_mut().find(|(g, _)| *g == t.group) {
            Some(g) => g.1 += t.amount,
            None => groups.push((t.group.clone(), t.amount)),
        }
    }
    let parts: Vec<String> = groups
        .into_iter()
        .filter(|(_, a)| a.0 > 0)
        .map(|(g, a)| format!("{g}{}万元", a.wan()))
        .collect();
    let until = if last.month() == 12 {
        String::new()
    } else {
        format!("（截至{}月）", last.month())
    };
    format!(
        "{year}年{until}累计发放{}，共惠及{people}人",
        if parts.is_empty() {
            "0.00万元".to_string()
        } else {
            parts.join("，")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(code: &str, group: &str, fen: i64) -> TypeTotal {
        TypeTotal {
            type_code: code.into(),
            label: code.into(),
            group: group.into(),
            amount: Fen(fen),
            people: 1,
        }
    }

    #[test]
    fn the_sentence_reads_as_the_seeds_write_it() {
        let types = [
            t("orphan_institutional", "孤儿基本生活费", 2_000_000),
            t("orphan_scattered", "孤儿基本生活费", 10_360_000),
            t(
                "factually_unsupported",
                "事实无人抚养儿童生活补贴",
                29_040_000,
            ),
        ];
        let m = |s: &str| Month::parse("月份", s).unwrap();
        assert_eq!(
            sentence(2023, Some(m("2023-09")), &types, 57),
            "2023年（截至9月）累计发放孤儿基本生活费12.36万元，事实无人抚养儿童生活补贴29.04万元，共惠及57人"
        );
        assert_eq!(
            sentence(2023, Some(m("2023-12")), &types[..1], 3),
            "2023年累计发放孤儿基本生活费2.00万元，共惠及3人"
        );
        assert_eq!(sentence(2024, None, &[], 0), "2024年尚无已锁定的发放名册");
    }
}
