//! The ledger's kin keys (table `child_kin`): what a department's list is matched against,
//! kept beside each record on every write so that matching a county of a million children
//! reads one narrow table and never opens a sealed record. The ledger writes it; the
//! list matching reads it (and fills the row of a record written before the table
//! existed, the first time its county is matched).

use sqlx::QueryBuilder;
use weibao_domain::child::{ParentStatus, SchoolStatus, Support};
use weibao_domain::record::ChildRecord;

use crate::db::Conn;
use crate::error::StoreError;
use crate::keys::FieldKeys;
use crate::on;

/// One child's row: the record's matching facts, the guardians' blind indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChildKin {
    pub child_id: String,
    pub division: String,
    pub name: String,
    pub id_index: String,
    pub school: Option<SchoolStatus>,
    pub support: Vec<Support>,
    pub disabled: bool,
    pub father: ParentStatus,
    pub mother: ParentStatus,
    /// (relation, blind index) of each guardian and parent whose 身份证号 the record
    /// holds (a parent who is also a guardian once).
    pub relatives: Vec<(String, String)>,
}

impl ChildKin {
    /// The row of a record (`id_index` is the record's own blind index, computed once by
    /// the caller for the record's row too; `division` its village, which the sealed
    /// details do not repeat).
    pub(crate) fn of(
        keys: &FieldKeys,
        id: &str,
        id_index: &str,
        division: String,
        r: &ChildRecord,
    ) -> ChildKin {
        let mut relatives: Vec<(String, String)> = r
            .guardians
            .iter()
            .filter(|g| !g.id_number.is_empty())
            .map(|g| (g.relationship.clone(), keys.index(&g.id_number)))
            .collect();
        for (relation, p) in [("父亲", &r.father), ("母亲", &r.mother)] {
            if p.id_number.is_empty() {
                continue;
            }
            let key = keys.index(&p.id_number);
            match relatives.iter_mut().find(|(_, k)| *k == key) {
                // Recorded as a guardian too: the parent's relation is the one the words use.
                Some(found) => found.0 = relation.to_string(),
                None => relatives.push((relation.to_string(), key)),
            }
        }
        ChildKin {
            child_id: id.to_string(),
            division,
            name: r.name.clone(),
            id_index: id_index.to_string(),
            school: r.school_status,
            support: r.support.clone(),
            disabled: r.disability.is_some(),
            father: r.father.status,
            mother: r.mother.status,
            relatives,
        }
    }

    fn kin_text(&self) -> String {
        let clean = |s: &str| s.replace(['\t', '\n'], " ");
        self.relatives
            .iter()
            .map(|(rel, key)| format!("{}\t{key}", clean(rel)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn support_bits(&self) -> i64 {
        self.support.iter().map(|s| 1i64 << (*s as u32)).sum()
    }
}

/// A row as it is read back.
pub(crate) type KinRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    bool,
    String,
    String,
    String,
);

/// The columns [`KinRow`] reads, in order.
pub(crate) const KIN_COLUMNS: &str = "child_id, division_code, name, id_index, school_status,
    support_bits, disabled, father, mother, kin";

impl From<KinRow> for ChildKin {
    fn from(r: KinRow) -> ChildKin {
        let (child_id, division, name, id_index, school, bits, disabled, father, mother, kin) = r;
        ChildKin {
            child_id,
            division,
            name,
            id_index,
            school: SchoolStatus::parse_label(&school),
            support: Support::ALL
                .iter()
                .copied()
                .filter(|s| bits & (1i64 << (*s as u32)) != 0)
                .collect(),
            disabled,
            father: ParentStatus::parse_label(&father).unwrap_or(ParentStatus::Unknown),
            mother: ParentStatus::parse_label(&mother).unwrap_or(ParentStatus::Unknown),
            relatives: kin
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(rel, key)| (rel.to_string(), key.to_string()))
                .collect(),
        }
    }
}

/// Writes (or rewrites) the rows of a county's children, one multi-row statement
/// (callers keep batches within the bind limits: 11 binds a row): the ledger's own
/// writes, which are the record as it now is.
pub(crate) async fn put_kin(
    conn: Conn<'_>,
    county: &str,
    rows: &[ChildKin],
) -> Result<(), StoreError> {
    insert_kin(conn, county, rows, Conflict::Rewrite).await
}

/// Writes the rows records lack, read from the records a moment before: a row the
/// ledger wrote in between is the newer one and stays.
pub(crate) async fn add_missing_kin(
    conn: Conn<'_>,
    county: &str,
    rows: &[ChildKin],
) -> Result<(), StoreError> {
    insert_kin(conn, county, rows, Conflict::Keep).await
}

/// What a row already there becomes.
enum Conflict {
    Rewrite,
    Keep,
}

async fn insert_kin(
    conn: Conn<'_>,
    county: &str,
    rows: &[ChildKin],
    conflict: Conflict,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let verb = conn.bulk_insert();
    on!(conn, |c| {
        let mut qb = QueryBuilder::new(format!(
            "{verb} child_kin (county_code, child_id, division_code, name, id_index,
                 school_status, support_bits, disabled, father, mother, kin) "
        ));
        qb.push_values(rows, |mut b, k| {
            b.push_bind(county.to_string())
                .push_bind(k.child_id.clone())
                .push_bind(k.division.clone())
                .push_bind(k.name.clone())
                .push_bind(k.id_index.clone())
                .push_bind(k.school.map(|s| s.label()).unwrap_or("").to_string())
                .push_bind(k.support_bits())
                .push_bind(k.disabled)
                .push_bind(k.father.label().to_string())
                .push_bind(k.mother.label().to_string())
                .push_bind(k.kin_text());
        });
        qb.push(match conflict {
            Conflict::Rewrite => {
                " ON CONFLICT (county_code, child_id) DO UPDATE SET
                 division_code = excluded.division_code, name = excluded.name,
                 id_index = excluded.id_index, school_status = excluded.school_status,
                 support_bits = excluded.support_bits, disabled = excluded.disabled,
                 father = excluded.father, mother = excluded.mother, kin = excluded.kin"
            }
            Conflict::Keep => " ON CONFLICT (county_code, child_id) DO NOTHING",
        });
        qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Drops a child's row (the record left the county, or its keys changed: the next match
/// writes it again from the record).
pub(crate) async fn drop_kin(conn: Conn<'_>, county: &str, id: &str) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "DELETE FROM child_kin WHERE county_code = $1 AND child_id = $2"
    )
    .bind(county)
    .bind(id)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
