//! Accounts (用户), sign-in with lockout, and sessions.

use weibao_domain::access::{parse_unit, Action, Role, Scope};
use weibao_domain::{DivisionCode, Invalid};

use crate::audit::{append, AuditEvent};
use crate::crypto::{hash_password, password_policy, random_token, sm3_hex, verify_password};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::{LOCK_MS, MAX_FAILED_LOGINS, SESSION_IDLE_MS, SESSION_MAX_MS};

/// A user account as the rest of the system sees it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub division: DivisionCode,
    pub unit: Option<String>,
    pub phone: Option<String>,
    pub must_change_password: bool,
    pub locked_until: Option<i64>,
    pub disabled: bool,
    pub designated: bool,
    pub created_at: i64,
    /// The unit of the registry a liaison or institution acts for.
    pub unit_id: Option<String>,
    /// The office head (未保办主任).
    pub head: bool,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    division_code: String,
    unit: Option<String>,
    phone: Option<String>,
    password_hash: String,
    must_change_password: bool,
    password_changed_at: i64,
    locked_until: Option<i64>,
    disabled: bool,
    designated: bool,
    created_at: i64,
    unit_id: Option<String>,
    head: bool,
}

impl UserRow {
    fn into_user(self) -> User {
        User {
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            role: Role::parse(&self.role).expect("stored roles are valid"),
            division: DivisionCode::parse(&self.division_code).expect("stored codes are valid"),
            unit: self.unit,
            phone: self.phone,
            must_change_password: self.must_change_password,
            locked_until: self.locked_until,
            disabled: self.disabled,
            designated: self.designated,
            created_at: self.created_at,
            unit_id: self.unit_id,
            head: self.head,
        }
    }
}

const USER_COLUMNS: &str = "id, username, display_name, role, division_code, unit, phone, \
     password_hash, must_change_password, password_changed_at, locked_until, disabled, designated, \
     created_at, unit_id, head";

/// The password rules an installation may set (`weibao settings set --key password_policy`,
/// platform-wide): how many days a password lasts (0: no expiry) and how many earlier
/// passwords a new one may not repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordRules {
    pub max_age_days: u32,
    pub history: u32,
}

impl Default for PasswordRules {
    /// 等保 level 3 practice: change every 90 days, none of the last 5 again.
    fn default() -> Self {
        PasswordRules {
            max_age_days: 90,
            history: 5,
        }
    }
}

/// A session joined with its account: handle, username, display name, role, division,
/// kind, created, last seen, address, user agent.
type SessionRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
);

/// The settings key of [`PasswordRules`].
pub const PASSWORD_POLICY: &str = "password_policy";

/// A signed-in session as the security administrator sees it (never its token).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActiveSession {
    /// The session's handle: the SM3 hash of its token (not usable to sign in).
    pub handle: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub kind: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: String,
    pub user_agent: String,
}

/// A new account. `must_change_password` is set for temporary passwords handed out in the UI.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub division: DivisionCode,
    pub unit: Option<String>,
    pub phone: Option<String>,
    pub password: String,
    pub must_change_password: bool,
    /// May handle 受艾滋病影响儿童 records (a designated handler).
    pub designated: bool,
}

/// Browser sessions carry a CSRF token; API tokens are sent as `Authorization: Bearer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Web,
    Api,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Api => "api",
        }
    }
}

/// How a sign-in ended.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in: `token` is the secret the client keeps (only its hash is stored).
    Success {
        token: String,
        csrf_token: String,
        user: Box<User>,
        expires_at: i64,
    },
    /// Unknown user, wrong password or disabled account: the answer does not say which.
    WrongCredentials,
    /// Too many failures: locked until unix ms.
    Locked { until_ms: i64 },
    /// The password was right and the account signs in with a second factor: ask for
    /// the authenticator's code (the attempt is not counted as a failure).
    CodeRequired,
}

/// The user behind a live session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub scope: Scope,
    pub display_name: String,
    pub csrf_token: String,
    pub must_change_password: bool,
    pub kind: SessionKind,
    /// When the session ends if left idle from now.
    pub expires_at: i64,
}

/// A username as people type it, folded to the one form accounts are kept under:
/// trimmed, full-width letters and digits (a phone's Chinese keyboard) made half-width,
/// Unicode lower case. `DirA`, ` dira ` and `ＤＩＲＡ` are one account.
pub fn fold_username(input: &str) -> String {
    input
        .trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .trim()
        .to_string()
}

fn validate_username(input: &str) -> Result<String, Invalid> {
    let folded = fold_username(input);
    let s = folded.as_str();
    let ok_len = (3..=32).contains(&s.len());
    let ok_chars = s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok_len && ok_chars && !s.is_empty() {
        Ok(s.to_string())
    } else {
        Err(Invalid::new(
            "username_format",
            format!(
                "用户名“{s}”不可用：只能包含字母、数字和 . _ -（不区分大小写），长度 3 到 32 位"
            ),
        ))
    }
}

impl Store {
    /// For synthetic ledgers (`weibao gen`): a child director (`d<village code>`) for every
    /// village and a child supervisor (`s<township code>`) for every township under
    /// `under`, all with `password` (hashed once: the data is fictional) and a first-login
    /// password change. Existing usernames are left alone. Returns (directors, supervisors)
    /// added.
    pub async fn add_synthetic_staff(
        &self,
        scope: &Scope,
        under: DivisionCode,
        password: &str,
    ) -> Result<(u64, u64), StoreError> {
        if !scope.is_system() {
            return Err(StoreError::Forbidden);
        }
        password_policy(password).map_err(|e| StoreError::invalid("password", e))?;
        let villages = self.villages_within(scope, under).await?;
        let hash = hash_password(password.to_string()).await;
        let now = self.now_ms();
        // (username, display name, role, division)
        let mut staff: Vec<(String, String, Role, String)> = Vec::new();
        let mut last_township = String::new();
        for (code, name, township) in &villages {
            let t = code.full()[..9].to_string();
            if t != last_township {
                staff.push((
                    format!("s{t}"),
                    format!("{township}儿童督导员"),
                    Role::Supervisor,
                    format!("{t}000"),
                ));
                last_township = t;
            }
            staff.push((
                format!("d{}", code.full()),
                format!("{name}儿童主任"),
                Role::Director,
                code.full(),
            ));
        }
        let mut added = (0u64, 0u64);
        let mut tx = self.begin().await?;
        for batch in staff.chunks(500) {
            let ids: Vec<String> = batch
                .iter()
                .map(|_| uuid::Uuid::new_v4().to_string())
                .collect();
            let inserted: Vec<(String,)> = on!(tx.conn(), |c| {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO users (id, username, display_name, role, division_code,
                         password_hash, must_change_password, password_changed_at, created_at) ",
                );
                qb.push_values(
                    batch.iter().zip(&ids),
                    |mut b, ((user, name, role, div), id)| {
                        b.push_bind(id.clone())
                            .push_bind(user.clone())
                            .push_bind(name.clone())
                            .push_bind(role.as_str())
                            .push_bind(div.clone())
                            .push_bind(hash.clone())
                            .push_bind(true)
                            .push_bind(now)
                            .push_bind(now);
                    },
                );
                qb.push(" ON CONFLICT (username) DO NOTHING RETURNING role");
                qb.build_query_as().fetch_all(&mut *c).await
            })?;
            for (role,) in inserted {
                if role == Role::Director.as_str() {
                    added.0 += 1;
                } else {
                    added.1 += 1;
                }
            }
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "user.generate", under.full())
                .in_county(under.county_code())
                .detail(format!("directors={} supervisors={}", added.0, added.1)),
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Creates an account inside the caller's subtree, with a role the caller may assign.
    pub async fn create_user(&self, scope: &Scope, new: NewUser) -> Result<User, StoreError> {
        scope.check(Action::ManageUsers, new.division)?;
        if !scope.is_system() && !scope.role.may_assign(new.role) {
            return Err(StoreError::Forbidden);
        }
        let username =
            validate_username(&new.username).map_err(|e| StoreError::invalid("username", e))?;
        let display_name = new.display_name.trim().to_string();
        if display_name.is_empty() || display_name.chars().count() > 40 {
            return Err(StoreError::invalid(
                "display_name",
                Invalid::new("display_name_empty", "姓名不能为空，且不超过 40 个字"),
            ));
        }
        if let Some(level) = new.role.home_level() {
            if new.division.level() != level {
                return Err(StoreError::invalid(
                    "division",
                    Invalid::new(
                        "division_level",
                        format!(
                            "{}的所属区划必须是{}（{} 位代码），实际为{}",
                            new.role.label(),
                            level.label(),
                            level.prefix_len(),
                            new.division.level().label()
                        ),
                    ),
                ));
            }
        }
        let unit = match (new.role.needs_unit(), new.unit.as_deref().map(str::trim)) {
            (true, Some(u)) if !u.is_empty() => {
                Some(parse_unit(u).map_err(|e| StoreError::invalid("unit", e))?)
            }
            (true, _) => {
                return Err(StoreError::invalid(
                    "unit",
                    Invalid::new(
                        "unit_missing",
                        format!("{}必须填写所属成员单位", new.role.label()),
                    ),
                ))
            }
            (false, Some(u)) if !u.is_empty() => {
                return Err(StoreError::invalid(
                    "unit",
                    Invalid::new(
                        "unit_not_allowed",
                        format!("{}不属于成员单位，请不要填写单位", new.role.label()),
                    ),
                ))
            }
            (false, _) => None,
        };
        if !self.division_exists(new.division).await? {
            return Err(StoreError::invalid(
                "division",
                Invalid::new(
                    "division_unknown",
                    format!(
                        "区划代码 {} 不在区划库中：请先导入区划（weibao divisions import）",
                        new.division
                    ),
                ),
            ));
        }
        password_policy(&new.password).map_err(|e| StoreError::invalid("password", e))?;
        let hash = hash_password(new.password.clone()).await;
        let now = self.now_ms();
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            username,
            display_name,
            role: new.role,
            division: new.division,
            unit,
            phone: new.phone.filter(|p| !p.trim().is_empty()),
            must_change_password: new.must_change_password,
            locked_until: None,
            disabled: false,
            designated: new.designated,
            created_at: now,
            unit_id: None,
            head: false,
        };
        let mut user = user;
        let mut tx = self.begin().await?;
        // A liaison acts for its county's unit of that kind (a reporting institution only
        // names the system it belongs to: it never reads what is referred to that unit).
        if let Some(kind) = user
            .unit
            .as_deref()
            .filter(|_| user.role == Role::Unit)
            .and_then(weibao_domain::work::UnitKind::from_member_unit)
        {
            let unit = crate::work::units::unit_for(&mut tx, user.division, kind, now).await?;
            user.unit_id = Some(unit.id);
        }
        let inserted = on!(tx.conn(), |c| {
            sqlx::query(
            "INSERT INTO users (id, username, display_name, role, division_code, unit, phone,
                                password_hash, must_change_password, password_changed_at, created_at,
                                designated, unit_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (username) DO NOTHING"
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(user.division.full())
        .bind(&user.unit)
        .bind(&user.phone)
        .bind(&hash)
        .bind(user.must_change_password)
        .bind(now)
        .bind(now)
        .bind(user.designated)
        .bind(&user.unit_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if inserted == 0 {
            return Err(StoreError::Conflict {
                field: "username",
                code: "username_taken",
                message: format!("用户名“{}”已被使用，请换一个", user.username),
            });
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "user.create", &user.id)
                .in_county(user.division.county_code())
                .detail(format!(
                    "username={} role={} division={}",
                    user.username,
                    user.role,
                    user.division.full()
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// An account within the caller's reach.
    pub async fn user(&self, scope: &Scope, id: &str) -> Result<User, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?
        };
        let user = row.ok_or(StoreError::NotFound)?.into_user();
        if !scope.is_system() && !scope.reaches(user.division) {
            return Err(StoreError::NotFound);
        }
        Ok(user)
    }

    /// Makes an office account the office head (未保办主任) or not: the head approves the
    /// closing of cases and receives late supervised items.
    pub async fn set_head(&self, scope: &Scope, id: &str, head: bool) -> Result<User, StoreError> {
        let user = self.user(scope, id).await?;
        scope.check(Action::ManageUsers, user.division)?;
        if user.role != Role::Office {
            return Err(StoreError::invalid(
                "head",
                Invalid::new("head_office_only", "只有未保办工作人员可以设为未保办主任"),
            ));
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "UPDATE users SET head = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(head)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "user.head", id)
                .in_county(user.division.county_code())
                .detail(head.to_string()),
        )
        .await?;
        tx.commit().await?;
        self.user(scope, id).await
    }

    /// Accounts whose home division lies within `within` (default: the caller's home).
    pub async fn list_users(
        &self,
        scope: &Scope,
        within: Option<DivisionCode>,
    ) -> Result<Vec<User>, StoreError> {
        scope.check_role(Action::ViewUsers)?;
        let (lo, hi) = match within.or(scope.home()) {
            Some(code) => {
                scope.check(Action::ViewUsers, code)?;
                code.subtree_bounds()
            }
            None => ("000000000000".into(), "999999999999".into()),
        };
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE division_code BETWEEN $1 AND $2
             ORDER BY division_code, username LIMIT 2000"
        );
        let rows: Vec<UserRow> = on!(conn.conn(), |c| sqlx::query_as(&sql)
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&mut *c)
            .await)?;
        Ok(rows.into_iter().map(UserRow::into_user).collect())
    }

    /// How many accounts exist (an empty database has none: `--demo` then seeds).
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        let mut conn = self.read().await?;
        let (n,): (i64,) = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT COUNT(*) FROM users"
        )
        .fetch_one(&mut *c)
        .await)?;
        Ok(n)
    }

    /// Signs in: checks lockout, verifies the Argon2id hash, counts failures (5 lock the
    /// account for 15 minutes), opens a session, and audits the attempt either way.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        kind: SessionKind,
        ip: &str,
        user_agent: &str,
    ) -> Result<LoginOutcome, StoreError> {
        self.login_with_code(username, password, None, kind, ip, user_agent)
            .await
    }

    /// [`Store::login`] with the second factor's code, for accounts that have one.
    pub async fn login_with_code(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
        kind: SessionKind,
        ip: &str,
        user_agent: &str,
    ) -> Result<LoginOutcome, StoreError> {
        let typed = username.trim();
        let folded = fold_username(typed);
        let username = folded.as_str();
        let now = self.now_ms();
        let row = {
            let mut conn = self.read().await?;
            // The folded name first; an account made before names were folded keeps
            // signing in as it was written.
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE username = $1 OR username = $2
                 ORDER BY CASE WHEN username = $1 THEN 0 ELSE 1 END LIMIT 1"
            );
            on!(conn.conn(), |c| sqlx::query_as::<_, UserRow>(&sql)
                .bind(username)
                .bind(typed)
                .fetch_optional(&mut *c)
                .await)?
        };
        let failure = |county: String, detail: &str| AuditEvent {
            county_code: county,
            actor_id: String::new(),
            actor_name: username.chars().take(64).collect(),
            action: "auth.login".into(),
            target: username.chars().take(64).collect(),
            outcome: "failed".into(),
            ip: ip.into(),
            detail: detail.into(),
        };
        let Some(row) = row else {
            // Same work as a real check, so response time does not reveal unknown names.
            let _ = verify_password(password.into(), dummy_hash().await).await;
            self.audit(failure("000000".into(), "unknown user")).await?;
            return Ok(LoginOutcome::WrongCredentials);
        };
        let user_id = row.id.clone();
        let county = DivisionCode::parse(&row.division_code)
            .map(|c| c.county_code())
            .unwrap_or_else(|_| "000000".into());
        if let Some(until) = row.locked_until.filter(|u| *u > now) {
            self.audit(failure(county, "locked").outcome("denied"))
                .await?;
            return Ok(LoginOutcome::Locked { until_ms: until });
        }
        if row.disabled {
            let _ = verify_password(password.into(), dummy_hash().await).await;
            self.audit(failure(county, "disabled")).await?;
            return Ok(LoginOutcome::WrongCredentials);
        }
        let mut password_ok = verify_password(password.into(), row.password_hash.clone()).await;
        if password_ok && self.totp_enabled(&user_id).await? {
            match code.map(str::trim).filter(|c| !c.is_empty()) {
                None => return Ok(LoginOutcome::CodeRequired),
                // A wrong code counts as a wrong password toward the lock.
                Some(c) => password_ok = self.totp_check(&user_id, c).await?,
            }
        }
        if !password_ok {
            let mut tx = self.begin().await?;
            let (failed,): (i32,) = on!(tx.conn(), |c| sqlx::query_as(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1
                 RETURNING failed_logins"
            )
            .bind(&user_id)
            .fetch_one(&mut *c)
            .await)?;
            let locked = failed >= MAX_FAILED_LOGINS;
            if locked {
                on!(tx.conn(), |c| sqlx::query(
                    "UPDATE users SET failed_logins = 0, locked_until = $2 WHERE id = $1"
                )
                .bind(&user_id)
                .bind(now + LOCK_MS)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
            }
            let detail = if locked {
                format!("wrong password ({failed}); locked")
            } else {
                format!("wrong password ({failed})")
            };
            append(&mut tx, now, &failure(county, &detail)).await?;
            tx.commit().await?;
            return Ok(if locked {
                LoginOutcome::Locked {
                    until_ms: now + LOCK_MS,
                }
            } else {
                LoginOutcome::WrongCredentials
            });
        }
        let token = random_token();
        let csrf_token = random_token();
        let rules = self.password_rules().await?;
        let expired = rules.max_age_days > 0
            && now - row.password_changed_at > i64::from(rules.max_age_days) * 86_400_000;
        let mut row = row;
        row.must_change_password |= expired;
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL,
                 must_change_password = $2 WHERE id = $1"
        )
        .bind(&user_id)
        .bind(row.must_change_password)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, kind, csrf_token, created_at, last_seen_at,
                                   ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7)"
        )
        .bind(sm3_hex(token.as_bytes()))
        .bind(&user_id)
        .bind(kind.as_str())
        .bind(&csrf_token)
        .bind(now)
        .bind(ip)
        .bind(user_agent.chars().take(200).collect::<String>())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent {
                county_code: county,
                actor_id: user_id.clone(),
                actor_name: row.username.clone(),
                action: "auth.login".into(),
                target: row.username.clone(),
                outcome: "ok".into(),
                ip: ip.into(),
                detail: kind.as_str().into(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(LoginOutcome::Success {
            token,
            csrf_token,
            user: Box::new(row.into_user()),
            expires_at: now + SESSION_IDLE_MS,
        })
    }

    /// The live session for `token`, or None when unknown, idle too long, too old, or the
    /// account is disabled. Touches the session at most once a minute.
    pub async fn session(&self, token: &str) -> Result<Option<SessionUser>, StoreError> {
        if token.len() != 64 {
            return Ok(None);
        }
        let id_hash = sm3_hex(token.as_bytes());
        let now = self.now_ms();
        let mut conn = self.read().await?;
        #[derive(sqlx::FromRow)]
        struct Row {
            kind: String,
            csrf_token: String,
            created_at: i64,
            last_seen_at: i64,
            user_id: String,
            username: String,
            display_name: String,
            role: String,
            division_code: String,
            unit: Option<String>,
            must_change_password: bool,
            disabled: bool,
            designated: bool,
            unit_id: Option<String>,
            head: bool,
        }
        let row: Option<Row> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT s.kind, s.csrf_token, s.created_at, s.last_seen_at, u.id AS user_id,
                    u.username, u.display_name, u.role, u.division_code, u.unit,
                    u.must_change_password, u.disabled, u.designated, u.unit_id, u.head
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = $1"
        )
        .bind(&id_hash)
        .fetch_optional(&mut *c)
        .await)?;
        drop(conn);
        let Some(row) = row else { return Ok(None) };
        if row.disabled
            || now - row.last_seen_at > SESSION_IDLE_MS
            || now - row.created_at > SESSION_MAX_MS
        {
            self.delete_session_hash(&id_hash).await?;
            return Ok(None);
        }
        if now - row.last_seen_at > 60_000 {
            let mut tx = self.begin().await?;
            on!(tx.conn(), |c| sqlx::query(
                "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1"
            )
            .bind(&id_hash)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            tx.commit().await?;
        }
        let role = Role::parse(&row.role).expect("stored roles are valid");
        let home = DivisionCode::parse(&row.division_code).expect("stored codes are valid");
        Ok(Some(SessionUser {
            scope: Scope::new(row.user_id, row.username, role, home, row.unit)
                .with_designated(row.designated)
                .with_unit_id(row.unit_id)
                .with_head(row.head && role == Role::Office),
            display_name: row.display_name,
            csrf_token: row.csrf_token,
            must_change_password: row.must_change_password,
            kind: if row.kind == "api" {
                SessionKind::Api
            } else {
                SessionKind::Web
            },
            expires_at: now.max(row.last_seen_at) + SESSION_IDLE_MS,
        }))
    }

    /// Ends the session of `token` (sign-out).
    pub async fn logout(&self, scope: &Scope, token: &str, ip: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "DELETE FROM sessions WHERE id_hash = $1"
        )
        .bind(sm3_hex(token.as_bytes()))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            self.now_ms(),
            &AuditEvent::by(scope, "auth.logout", &scope.username).from_ip(ip),
        )
        .await?;
        tx.commit().await
    }

    async fn delete_session_hash(&self, id_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "DELETE FROM sessions WHERE id_hash = $1"
        )
        .bind(id_hash)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await
    }

    /// Changes the caller's own password: the old one must be right, the new one must pass
    /// the policy and differ. Clears the first-login flag; other sessions of the user end.
    pub async fn change_password(
        &self,
        scope: &Scope,
        current_token: &str,
        old: &str,
        new: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        let stored: Option<(String,)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT password_hash FROM users WHERE id = $1"
            )
            .bind(&scope.user_id)
            .fetch_optional(&mut *c)
            .await)?
        };
        let Some((stored,)) = stored else {
            return Err(StoreError::NotFound);
        };
        if !verify_password(old.into(), stored).await {
            return Err(StoreError::invalid(
                "old_password",
                Invalid::new("old_password_wrong", "原密码不正确，请重新输入"),
            ));
        }
        if old == new {
            return Err(StoreError::invalid(
                "new_password",
                Invalid::new("password_reused", "新密码不能与原密码相同"),
            ));
        }
        password_policy(new).map_err(|e| StoreError::invalid("new_password", e))?;
        let rules = self.password_rules().await?;
        let earlier: Vec<(String,)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT password_hash FROM password_history WHERE user_id = $1
                 ORDER BY changed_at DESC LIMIT $2"
            )
            .bind(&scope.user_id)
            .bind(i64::from(rules.history.saturating_sub(1)))
            .fetch_all(&mut *c)
            .await)?
        };
        for (h,) in earlier {
            if verify_password(new.into(), h).await {
                return Err(StoreError::invalid(
                    "new_password",
                    Invalid::new(
                        "password_reused",
                        format!(
                            "新密码不能与最近 {} 次使用过的密码相同，请换一个",
                            rules.history
                        ),
                    ),
                ));
            }
        }
        let hash = hash_password(new.into()).await;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        // The password being replaced joins the history; older ones beyond it go.
        let (old_hash,): (String,) = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT password_hash FROM users WHERE id = $1"
        )
        .bind(&scope.user_id)
        .fetch_one(&mut *c)
        .await)?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO password_history (user_id, changed_at, password_hash) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING"
        )
        .bind(&scope.user_id)
        .bind(now)
        .bind(&old_hash)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        on!(tx.conn(), |c| sqlx::query(
            "DELETE FROM password_history WHERE user_id = $1 AND changed_at NOT IN
               (SELECT changed_at FROM password_history WHERE user_id = $1
                ORDER BY changed_at DESC LIMIT $2)"
        )
        .bind(&scope.user_id)
        .bind(i64::from(rules.history.max(1)))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        on!(tx.conn(), |c| sqlx::query(
            "UPDATE users SET password_hash = $2, must_change_password = $3,
                              password_changed_at = $4 WHERE id = $1"
        )
        .bind(&scope.user_id)
        .bind(&hash)
        .bind(false)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        on!(tx.conn(), |c| sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2"
        )
        .bind(&scope.user_id)
        .bind(sm3_hex(current_token.as_bytes()))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "user.password", &scope.user_id).from_ip(ip),
        )
        .await?;
        tx.commit().await
    }
}

impl Store {
    /// The password rules in force (defaults when none are set).
    pub async fn password_rules(&self) -> Result<PasswordRules, StoreError> {
        let today = self.clock().today();
        Ok(self
            .setting_json(PASSWORD_POLICY, None, today)
            .await?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    /// The sessions alive now of accounts within the caller's subtree, most recent first.
    pub async fn list_sessions(&self, scope: &Scope) -> Result<Vec<ActiveSession>, StoreError> {
        scope.check_role(Action::ManageSessions)?;
        let now = self.now_ms();
        let rows: Vec<SessionRow> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT s.id_hash, u.username, u.display_name, u.role, u.division_code, s.kind,
                        s.created_at, s.last_seen_at, s.ip, s.user_agent
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.last_seen_at > $1 AND s.created_at > $2
                 ORDER BY s.last_seen_at DESC"
            )
            .bind(now - SESSION_IDLE_MS)
            .bind(now - SESSION_MAX_MS)
            .fetch_all(&mut *c)
            .await)?
        };
        Ok(rows
            .into_iter()
            .filter(|r| DivisionCode::parse(&r.4).is_ok_and(|d| scope.reaches(d)))
            .map(|r| ActiveSession {
                handle: r.0,
                username: r.1,
                display_name: r.2,
                role: r.3,
                kind: r.5,
                created_at: r.6,
                last_seen_at: r.7,
                ip: r.8,
                user_agent: r.9,
            })
            .collect())
    }

    /// Ends a session by its handle (the account's next request must sign in again).
    pub async fn end_session(
        &self,
        scope: &Scope,
        handle: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        scope.check_role(Action::ManageSessions)?;
        let Some(session) = self
            .list_sessions(scope)
            .await?
            .into_iter()
            .find(|s| s.handle == handle)
        else {
            return Err(StoreError::NotFound);
        };
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "DELETE FROM sessions WHERE id_hash = $1"
        )
        .bind(handle)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "session.end", &session.username)
                .from_ip(ip)
                .detail(format!("{} {}", session.kind, session.ip)),
        )
        .await?;
        tx.commit().await
    }
}

/// An Argon2id hash of a random password nobody knows, verified against when the user does
/// not exist so that response time does not reveal which usernames exist.
async fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return h.clone();
    }
    let h = hash_password(random_token()).await;
    DUMMY.get_or_init(|| h).clone()
}
