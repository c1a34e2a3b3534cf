//! Several writes sent as one round trip.
//!
//! sqlx runs each SQLite connection on a thread of its own, and every statement is a
//! message to that thread and an answer back: on a 2-core virtual machine that costs about
//! as much as the statement itself (scripts/bench, `weibao db limits`). A query text holding
//! several statements is one message, so a visit's writes (the visit, its first version,
//! the schedule, the alert, the audit entry and the chain's head) cost one round trip
//! instead of six. Parameters are numbered across the whole text. PostgreSQL binds
//! parameters to one statement at a time, so there the statements go one by one in the
//! same transaction.
//!
//! sqlx 0.8 runs every statement of such a text (its tests in storage.rs check each write
//! landed); its authors mean to drop multi-statement prepared queries in a later version,
//! when this falls back to the PostgreSQL path.

use chrono::NaiveDate;

use crate::db::{Conn, Tx};
use crate::error::StoreError;

/// A value bound to a statement of a [`Script`].
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    Date(NaiveDate),
    OptDate(Option<NaiveDate>),
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}

impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}

impl From<&String> for Val {
    fn from(s: &String) -> Val {
        Val::Text(s.clone())
    }
}

impl From<Option<String>> for Val {
    fn from(s: Option<String>) -> Val {
        Val::OptText(s)
    }
}

impl From<i64> for Val {
    fn from(n: i64) -> Val {
        Val::Int(n)
    }
}

impl From<Option<i64>> for Val {
    fn from(n: Option<i64>) -> Val {
        Val::OptInt(n)
    }
}

impl From<bool> for Val {
    fn from(b: bool) -> Val {
        Val::Bool(b)
    }
}

impl From<NaiveDate> for Val {
    fn from(d: NaiveDate) -> Val {
        Val::Date(d)
    }
}

impl From<Option<NaiveDate>> for Val {
    fn from(d: Option<NaiveDate>) -> Val {
        Val::OptDate(d)
    }
}

/// Statements with `$1…$n` parameters of their own, run in order.
#[derive(Default)]
pub(crate) struct Script {
    statements: Vec<(&'static str, Vec<Val>)>,
}

macro_rules! bind_all {
    ($q:expr, $vals:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match v {
                Val::Text(s) => q.bind(s),
                Val::OptText(s) => q.bind(s),
                Val::Int(n) => q.bind(n),
                Val::OptInt(n) => q.bind(n),
                Val::Bool(b) => q.bind(b),
                Val::Date(d) => q.bind(d),
                Val::OptDate(d) => q.bind(d),
            };
        }
        q
    }};
}

impl Script {
    pub(crate) fn push(&mut self, sql: &'static str, vals: Vec<Val>) -> &mut Script {
        self.statements.push((sql, vals));
        self
    }

    /// Nothing to run.
    pub(crate) fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Runs every statement and commits `tx`: on SQLite the savepoint's release travels
    /// in the same round trip as the statements.
    pub(crate) async fn run_and_commit(self, mut tx: Tx) -> Result<(), StoreError> {
        let closing = tx.closing();
        self.run_closing(tx.conn(), closing).await?;
        tx.commit_released().await
    }

    /// Runs every statement; returns the rows they changed together.
    pub(crate) async fn run(self, conn: Conn<'_>) -> Result<u64, StoreError> {
        self.run_closing(conn, None).await
    }

    async fn run_closing(self, conn: Conn<'_>, closing: Option<&str>) -> Result<u64, StoreError> {
        match conn {
            Conn::Sqlite(c) => {
                let (mut text, vals) = self.sqlite_text(None);
                if let Some(closing) = closing {
                    text.push_str(closing);
                }
                let q = bind_all!(sqlx::query(&text), vals);
                Ok(q.execute(&mut *c).await?.rows_affected())
            }
            Conn::Pg(c) => {
                let mut n = 0;
                for (sql, v) in self.statements {
                    let q = bind_all!(sqlx::query(sql), v);
                    n += q.execute(&mut *c).await?.rows_affected();
                }
                Ok(n)
            }
        }
    }

    /// Runs the statements on `tx`, the last a query answering one row, decoded as `T`.
    /// On SQLite this is one round trip, with the savepoint of a deferred begin
    /// ([`crate::db::Store::begin_deferred`]) in front.
    pub(crate) async fn fetch_last<T>(self, tx: &mut Tx) -> Result<T, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let opening = tx.take_opening();
        match tx.conn() {
            Conn::Sqlite(c) => {
                let (text, vals) = self.sqlite_text(opening);
                let q = bind_all!(sqlx::query_as::<_, T>(&text), vals);
                Ok(q.fetch_one(&mut *c).await?)
            }
            Conn::Pg(c) => {
                let mut statements = self.statements;
                let (last, last_vals) = statements.pop().expect("a query to answer");
                for (sql, v) in statements {
                    bind_all!(sqlx::query(sql), v).execute(&mut *c).await?;
                }
                let q = bind_all!(sqlx::query_as::<_, T>(last), last_vals);
                Ok(q.fetch_one(&mut *c).await?)
            }
        }
    }

    /// The statements as one SQLite text, parameters numbered across it.
    fn sqlite_text(self, opening: Option<&str>) -> (String, Vec<Val>) {
        let mut text = String::new();
        if let Some(opening) = opening {
            text.push_str(opening);
            text.push_str(";\n");
        }
        let mut vals = Vec::new();
        for (sql, v) in self.statements {
            text.push_str(&renumber(sql, vals.len()));
            text.push_str(";\n");
            vals.extend(v);
        }
        (text, vals)
    }
}

/// `sql` with each `$k` turned into `$(k + offset)`.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    while let Some(ch) = chars.next() {
        out.push(ch);
        if ch == '$' {
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            match digits.parse::<usize>() {
                Ok(k) => out.push_str(&(k + offset).to_string()),
                Err(_) => out.push_str(&digits),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::renumber;

    #[test]
    fn parameters_are_renumbered_past_the_earlier_statements() {
        assert_eq!(
            renumber("UPDATE t SET a = $2 WHERE id = $1 AND b = $10", 3),
            "UPDATE t SET a = $5 WHERE id = $4 AND b = $13"
        );
        assert_eq!(renumber("SELECT '$' || $1", 0), "SELECT '$' || $1");
    }
}
