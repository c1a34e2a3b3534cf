//! What can go wrong in the store, in terms the web layer maps to answers.

use weibao_domain::access::Denied;
use weibao_domain::Invalid;

#[derive(Debug)]
pub enum StoreError {
    /// Not there, or outside the caller's subtree (never say which).
    NotFound,
    /// The caller's role does not allow this.
    Forbidden,
    /// A value failed a domain rule; `field` is the API field name.
    Invalid {
        field: &'static str,
        invalid: Invalid,
    },
    /// Conflicts with what exists (duplicate username, ...).
    Conflict {
        field: &'static str,
        code: &'static str,
        message: String,
    },
    /// Too many requests of a kind in a window (pre-employment checks against fishing);
    /// the message says when to try again.
    TooMany { code: &'static str, message: String },
    /// The account is locked until the given unix ms.
    Locked { until_ms: i64 },
    /// Bad configuration (database URL, data directory).
    Config(String),
    /// The database failed; logged, never shown.
    Db(sqlx::Error),
}

impl StoreError {
    pub fn invalid(field: &'static str, invalid: Invalid) -> StoreError {
        StoreError::Invalid { field, invalid }
    }

    /// A unique index refused the write (someone else wrote the same thing first).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(d)) if d.is_unique_violation())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(e)
    }
}

impl From<Denied> for StoreError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::NotFound => StoreError::NotFound,
            Denied::Forbidden => StoreError::Forbidden,
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotFound => f.write_str("记录不存在或无权查看"),
            StoreError::Forbidden => f.write_str("当前角色无权进行此操作"),
            StoreError::Invalid { invalid, .. } => f.write_str(&invalid.message),
            StoreError::Conflict { message, .. } | StoreError::TooMany { message, .. } => {
                f.write_str(message)
            }
            StoreError::Locked { .. } => f.write_str("账户已锁定，请 15 分钟后再试"),
            StoreError::Config(m) => f.write_str(m),
            StoreError::Db(e) => write!(f, "数据库错误：{e}"),
        }
    }
}

impl std::error::Error for StoreError {}
