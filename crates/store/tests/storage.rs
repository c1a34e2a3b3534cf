//! The storage suite: every test runs on SQLite and on a real PostgreSQL server.

#[path = "storage/allowances.rs"]
mod allowances;
#[path = "storage/finding.rs"]
mod finding;

use weibao_domain::access::{Role, Scope};
use weibao_domain::DivisionCode;
use weibao_store::testing::TestDb;
use weibao_store::{
    DivisionImportRow, LoginOutcome, NewUser, SessionKind, Store, StoreError, LOCK_MS,
    SESSION_IDLE_MS,
};

const PASSWORD: &str = "Weibao@2026";

#[path = "storage/reports.rs"]
mod reports;
#[path = "storage/stats.rs"]
mod stats;
use reports::refer_child_to_police;

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

fn row(c: &str, name: &str) -> DivisionImportRow {
    DivisionImportRow {
        code: code(c),
        name: name.into(),
    }
}

/// A county with two townships of two villages each.
fn tree() -> Vec<DivisionImportRow> {
    vec![
        row("510812200201", "甲村"),
        row("51", "四川省"),
        row("5108", "广元市"),
        row("510812", "朝天区"),
        row("510812100", "朝天镇"),
        row("510812200", "麻柳乡"),
        row("510812100201", "朝天村"),
        row("510812100202", "清河村"),
        row("510812200202", "乙村"),
        row("510811", "利州区"),
        row("510811100", "东坝街道"),
        row("510811100201", "丙村"),
    ]
}

async fn seeded(db: &TestDb) {
    db.store
        .import_divisions(&Scope::system(), &tree(), |_| {})
        .await
        .unwrap();
}

async fn add_user(store: &Store, username: &str, role: Role, at: &str) -> weibao_store::User {
    store
        .create_user(
            &Scope::system(),
            NewUser {
                username: username.into(),
                display_name: username.into(),
                role,
                division: code(at),
                unit: role.needs_unit().then(|| "公安".into()),
                phone: None,
                password: PASSWORD.into(),
                must_change_password: false,
                designated: false,
            },
        )
        .await
        .unwrap()
}

fn scope_of(u: &weibao_store::User) -> Scope {
    Scope::new(&u.id, &u.username, u.role, u.division, u.unit.clone())
        .with_unit_id(u.unit_id.clone())
        .with_head(u.head)
}

async fn login(store: &Store, username: &str, password: &str) -> LoginOutcome {
    store
        .login(username, password, SessionKind::Api, "127.0.0.1", "test")
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_are_idempotent_and_refuse_an_edited_history() {
    for db in TestDb::all().await {
        assert!(db.store.migrate().await.unwrap().is_empty(), "{}", db.label);
        db.raw("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
            .await
            .unwrap();
        let err = db.store.migrate().await.unwrap_err();
        assert!(
            err.to_string().contains("内容已被修改"),
            "{}: {err}",
            db.label
        );
    }
}

#[tokio::test]
async fn reimport_renames_and_adds_without_breaking_references() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let director = add_user(&db.store, "dir-a", Role::Director, "510812100201").await;
        let renamed = vec![
            row("510812100201", "朝天村（新）"),
            row("510812100203", "新设村"),
            row("510812100201", "朝天村（新）"),
        ];
        let changed = db
            .store
            .import_divisions(&Scope::system(), &renamed, |_| {})
            .await
            .unwrap();
        assert_eq!(changed, 2, "{}: one rename and one new code", db.label);
        let again = db
            .store
            .import_divisions(&Scope::system(), &renamed, |_| {})
            .await
            .unwrap();
        assert_eq!(
            again, 0,
            "{}: an identical import changes nothing",
            db.label
        );
        let s = scope_of(&director);
        let village = db.store.division(&s, code("510812100201")).await.unwrap();
        assert_eq!(village.name, "朝天村（新）");
        let kids = db
            .store
            .division_children(&Scope::system(), code("510812100"))
            .await
            .unwrap();
        assert_eq!(
            kids.iter().map(|k| k.code.as_str()).collect::<Vec<_>>(),
            ["510812100201", "510812100202", "510812100203"]
        );
        assert_eq!(db.store.user_count().await.unwrap(), 1);
        assert!(matches!(
            login(&db.store, "dir-a", PASSWORD).await,
            LoginOutcome::Success { .. }
        ));
    }
}

#[tokio::test]
async fn only_admins_import_divisions() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let office = add_user(&db.store, "office", Role::Office, "510812").await;
        let err = db
            .store
            .import_divisions(&scope_of(&office), &tree(), |_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Forbidden), "{}", db.label);
    }
}

#[tokio::test]
async fn directors_and_supervisors_reach_nothing_outside_their_subtree() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let dir = scope_of(&add_user(&db.store, "dir", Role::Director, "510812100201").await);
        let sup = scope_of(&add_user(&db.store, "sup", Role::Supervisor, "510812100").await);
        let s = &db.store;
        assert!(s.division(&dir, code("510812100201")).await.is_ok());
        for outside in ["510812100202", "510812100", "510812", "510812200201", "51"] {
            assert!(
                matches!(
                    s.division(&dir, code(outside)).await,
                    Err(StoreError::NotFound)
                ),
                "{}: director reached {outside}",
                db.label
            );
            assert!(matches!(
                s.division_children(&dir, code(outside)).await,
                Err(StoreError::NotFound)
            ));
        }
        assert_eq!(
            s.division_children(&sup, code("510812100"))
                .await
                .unwrap()
                .len(),
            2
        );
        for outside in ["510812200", "510812200201", "510812", "5108"] {
            assert!(
                matches!(
                    s.division_children(&sup, code(outside)).await,
                    Err(StoreError::NotFound)
                ),
                "{}: supervisor reached {outside}",
                db.label
            );
        }
        // Lists are cut to the subtree too.
        let users = s.list_users(&sup, None).await.unwrap();
        assert_eq!(
            users
                .iter()
                .map(|u| u.username.as_str())
                .collect::<Vec<_>>(),
            ["sup", "dir"]
        );
        assert!(matches!(
            s.list_users(&sup, Some(code("510812200"))).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.list_users(&dir, None).await,
            Err(StoreError::Forbidden)
        ));
    }
}

#[tokio::test]
async fn accounts_are_checked_against_role_division_and_policy() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let office = scope_of(&add_user(&db.store, "office", Role::Office, "510812").await);
        let new = |username: &str, role: Role, at: &str, password: &str| NewUser {
            username: username.into(),
            display_name: "张三".into(),
            role,
            division: code(at),
            unit: None,
            phone: None,
            password: password.into(),
            must_change_password: true,
            designated: false,
        };
        let field_of = |e: StoreError| match e {
            StoreError::Invalid { field, invalid } => (field, invalid.message),
            other => panic!("expected a field error, got {other:?}"),
        };
        let s = &db.store;
        let (field, msg) = field_of(
            s.create_user(&office, new("dir1", Role::Director, "510812100", PASSWORD))
                .await
                .unwrap_err(),
        );
        assert_eq!(field, "division");
        assert!(msg.contains("儿童主任的所属区划必须是村级"), "{msg}");
        let (field, msg) = field_of(
            s.create_user(&office, new("unit1", Role::Unit, "510812", PASSWORD))
                .await
                .unwrap_err(),
        );
        assert_eq!((field, msg.contains("成员单位")), ("unit", true));
        let (field, _) = field_of(
            s.create_user(
                &office,
                new("dir2", Role::Director, "510812100201", "abcdefgh"),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!(field, "password");
        let (field, _) = field_of(
            s.create_user(
                &office,
                new("Bad Name", Role::Director, "510812100201", PASSWORD),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!(field, "username");
        assert!(matches!(
            s.create_user(&office, new("adm1", Role::Admin, "510812", PASSWORD))
                .await,
            Err(StoreError::Forbidden)
        ));
        assert!(matches!(
            s.create_user(&office, new("off1", Role::Office, "510811", PASSWORD))
                .await,
            Err(StoreError::NotFound)
        ));
        let made = s
            .create_user(
                &office,
                new("dir3", Role::Director, "510812100201", PASSWORD),
            )
            .await
            .unwrap();
        assert!(made.must_change_password);
        let dup = s
            .create_user(
                &office,
                new("dir3", Role::Director, "510812100202", PASSWORD),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                dup,
                StoreError::Conflict {
                    field: "username",
                    ..
                }
            ),
            "{}: {dup:?}",
            db.label
        );
    }
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes() {
    for db in TestDb::all().await {
        seeded(&db).await;
        add_user(&db.store, "sup", Role::Supervisor, "510812100").await;
        for i in 1..=4 {
            assert!(
                matches!(
                    login(&db.store, "sup", "Wrong#pass1").await,
                    LoginOutcome::WrongCredentials
                ),
                "{}: attempt {i}",
                db.label
            );
        }
        assert!(matches!(
            login(&db.store, "sup", "Wrong#pass1").await,
            LoginOutcome::Locked { .. }
        ));
        // Locked: even the right password is refused.
        assert!(matches!(
            login(&db.store, "sup", PASSWORD).await,
            LoginOutcome::Locked { .. }
        ));
        db.store.clock().advance_ms(LOCK_MS - 60_000);
        assert!(matches!(
            login(&db.store, "sup", PASSWORD).await,
            LoginOutcome::Locked { .. }
        ));
        db.store.clock().advance_ms(61_000);
        assert!(matches!(
            login(&db.store, "sup", PASSWORD).await,
            LoginOutcome::Success { .. }
        ));
        assert!(matches!(
            login(&db.store, "nobody", PASSWORD).await,
            LoginOutcome::WrongCredentials
        ));
    }
}

#[tokio::test]
async fn idle_sessions_end_after_thirty_minutes() {
    for db in TestDb::all().await {
        seeded(&db).await;
        add_user(&db.store, "sup", Role::Supervisor, "510812100").await;
        let LoginOutcome::Success { token, .. } = login(&db.store, "sup", PASSWORD).await else {
            panic!("login failed")
        };
        let live = db
            .store
            .session(&token)
            .await
            .unwrap()
            .expect("live session");
        assert_eq!(live.scope.role, Role::Supervisor);
        assert_eq!(live.scope.home(), Some(code("510812100")));
        db.store.clock().advance_ms(SESSION_IDLE_MS - 120_000);
        assert!(
            db.store.session(&token).await.unwrap().is_some(),
            "{}",
            db.label
        );
        // Use moved the idle window on.
        db.store.clock().advance_ms(SESSION_IDLE_MS - 60_000);
        assert!(
            db.store.session(&token).await.unwrap().is_some(),
            "{}",
            db.label
        );
        db.store.clock().advance_ms(SESSION_IDLE_MS + 1);
        assert!(
            db.store.session(&token).await.unwrap().is_none(),
            "{}",
            db.label
        );
        assert!(db.store.session(&"0".repeat(64)).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn changing_the_password_clears_the_first_login_flag_and_ends_other_sessions() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        s.create_user(
            &office,
            NewUser {
                username: "newdir".into(),
                display_name: "李四".into(),
                role: Role::Director,
                division: code("510812100201"),
                unit: None,
                phone: None,
                password: "Temp#2026a".into(),
                must_change_password: true,
                designated: false,
            },
        )
        .await
        .unwrap();
        let LoginOutcome::Success { token: first, .. } = login(s, "newdir", "Temp#2026a").await
        else {
            panic!()
        };
        let LoginOutcome::Success { token: second, .. } = login(s, "newdir", "Temp#2026a").await
        else {
            panic!()
        };
        let me = s.session(&second).await.unwrap().unwrap();
        assert!(me.must_change_password);
        let err = s
            .change_password(&me.scope, &second, "wrong", "New#Pass2026", "")
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::Invalid {
                field: "old_password",
                ..
            }
        ));
        let err = s
            .change_password(&me.scope, &second, "Temp#2026a", "Temp#2026a", "")
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::Invalid {
                field: "new_password",
                ..
            }
        ));
        s.change_password(&me.scope, &second, "Temp#2026a", "New#Pass2026", "")
            .await
            .unwrap();
        assert!(
            !s.session(&second)
                .await
                .unwrap()
                .unwrap()
                .must_change_password
        );
        assert!(s.session(&first).await.unwrap().is_none(), "{}", db.label);
        assert!(matches!(
            login(s, "newdir", "New#Pass2026").await,
            LoginOutcome::Success { .. }
        ));
    }
}

#[tokio::test]
async fn passwords_expire_and_recent_ones_may_not_come_back() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        add_user(s, "dir", Role::Director, "510812100201").await;
        // Three earlier passwords remembered; a password lasts 30 days.
        s.put_setting(
            &Scope::system(),
            weibao_store::PASSWORD_POLICY,
            None,
            chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            &serde_json::json!({"max_age_days": 30, "history": 3}),
        )
        .await
        .unwrap();
        let mut current = PASSWORD.to_string();
        for next in ["Second#2026", "Third#2026x"] {
            let LoginOutcome::Success { token, .. } = login(s, "dir", &current).await else {
                panic!("{}", db.label)
            };
            let me = s.session(&token).await.unwrap().unwrap();
            s.change_password(&me.scope, &token, &current, next, "")
                .await
                .unwrap();
            current = next.to_string();
        }
        let LoginOutcome::Success { token, user, .. } = login(s, "dir", &current).await else {
            panic!()
        };
        assert!(!user.must_change_password);
        let me = s.session(&token).await.unwrap().unwrap();
        for earlier in [PASSWORD, "Second#2026"] {
            let err = s
                .change_password(&me.scope, &token, &current, earlier, "")
                .await
                .unwrap_err();
            assert!(
                matches!(&err, StoreError::Invalid { field: "new_password", invalid } if invalid.message.contains("最近 3 次")),
                "{}: {err:?}",
                db.label
            );
        }
        // Thirty-one days on, the password has expired: the sign-in works but must change it.
        s.clock().advance_ms(31 * 86_400_000);
        let LoginOutcome::Success { token, user, .. } = login(s, "dir", &current).await else {
            panic!()
        };
        assert!(user.must_change_password, "{}", db.label);
        assert!(
            s.session(&token)
                .await
                .unwrap()
                .unwrap()
                .must_change_password
        );
    }
}

#[tokio::test]
async fn the_security_officer_lists_and_ends_sessions_within_reach_and_nobody_else_can() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let security = scope_of(&add_user(s, "sec", Role::Security, "510812").await);
        let admin = scope_of(&add_user(s, "adm", Role::Admin, "510812").await);
        add_user(s, "dir", Role::Director, "510812100201").await;
        add_user(s, "far", Role::Director, "510811100201").await;
        let LoginOutcome::Success { token, .. } = login(s, "dir", PASSWORD).await else {
            panic!()
        };
        let LoginOutcome::Success { token: far, .. } = login(s, "far", PASSWORD).await else {
            panic!()
        };
        let sessions = s.list_sessions(&security).await.unwrap();
        let mine: Vec<&str> = sessions.iter().map(|x| x.username.as_str()).collect();
        assert!(
            mine.contains(&"dir") && !mine.contains(&"far"),
            "{}: {mine:?}",
            db.label
        );
        assert!(
            sessions
                .iter()
                .all(|x| x.handle != token && !x.handle.is_empty()),
            "the token itself is never shown"
        );
        assert!(matches!(
            s.list_sessions(&admin).await,
            Err(StoreError::Forbidden)
        ));
        let handle = &sessions
            .iter()
            .find(|x| x.username == "dir")
            .unwrap()
            .handle;
        assert!(matches!(
            s.end_session(&admin, handle, "").await,
            Err(StoreError::Forbidden)
        ));
        let far_handle = weibao_store::sm3_hex(far.as_bytes());
        assert!(matches!(
            s.end_session(&security, &far_handle, "").await,
            Err(StoreError::NotFound)
        ));
        s.end_session(&security, handle, "").await.unwrap();
        assert!(s.session(&token).await.unwrap().is_none(), "{}", db.label);
        assert!(s.session(&far).await.unwrap().is_some());
        let audit = db
            .texts("SELECT action || ' ' || target FROM audit_log WHERE action = 'session.end'")
            .await;
        assert_eq!(audit, ["session.end dir"], "{}", db.label);
    }
}

/// Writes a few audited events, so that a chain has entries 1..=n.
async fn audited_history(db: &TestDb) {
    seeded(db).await;
    add_user(&db.store, "sup", Role::Supervisor, "510812100").await;
    for _ in 0..3 {
        login(&db.store, "sup", "Wrong#pass1").await;
    }
    login(&db.store, "sup", PASSWORD).await;
}

async fn first_break(db: &TestDb) -> Option<(String, i64)> {
    db.store
        .verify_audit()
        .await
        .unwrap()
        .err()
        .map(|b| (b.county_code, b.seq))
}

const UNLOCK_SQLITE: &str = "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;";
const UNLOCK_PG: &str = "DROP TRIGGER audit_log_no_change ON audit_log;";
async fn unlock(db: &TestDb) {
    let sql = if db.label == "sqlite" {
        UNLOCK_SQLITE
    } else {
        UNLOCK_PG
    };
    db.raw(sql).await.unwrap();
}

#[tokio::test]
async fn the_audit_log_refuses_updates_and_deletes() {
    for db in TestDb::all().await {
        audited_history(&db).await;
        assert!(
            db.raw("UPDATE audit_log SET outcome = 'ok'").await.is_err(),
            "{}",
            db.label
        );
        assert!(
            db.raw("DELETE FROM audit_log").await.is_err(),
            "{}",
            db.label
        );
        assert!(matches!(db.store.verify_audit().await.unwrap(), Ok(n) if n >= 5));
    }
}

#[tokio::test]
async fn verify_names_an_altered_entry() {
    for db in TestDb::all().await {
        audited_history(&db).await;
        unlock(&db).await;
        db.raw("UPDATE audit_log SET outcome = 'ok' WHERE county_code = '510812' AND seq = 2")
            .await
            .unwrap();
        assert_eq!(
            first_break(&db).await,
            Some(("510812".into(), 2)),
            "{}",
            db.label
        );
    }
}

#[tokio::test]
async fn verify_names_a_deleted_entry() {
    for db in TestDb::all().await {
        audited_history(&db).await;
        unlock(&db).await;
        db.raw("DELETE FROM audit_log WHERE county_code = '510812' AND seq = 2")
            .await
            .unwrap();
        assert_eq!(
            first_break(&db).await,
            Some(("510812".into(), 2)),
            "{}",
            db.label
        );
    }
}

#[tokio::test]
async fn verify_names_a_removed_tail() {
    for db in TestDb::all().await {
        audited_history(&db).await;
        unlock(&db).await;
        let (n,): (i64,) = {
            let entries = db.store.recent_audit(&Scope::system(), 100).await.unwrap();
            (entries.iter().filter(|e| e.county_code == "510812").count() as i64,)
        };
        db.raw(&format!(
            "DELETE FROM audit_log WHERE county_code = '510812' AND seq = {n}"
        ))
        .await
        .unwrap();
        assert_eq!(
            first_break(&db).await,
            Some(("510812".into(), n)),
            "{}",
            db.label
        );
    }
}

#[tokio::test]
async fn verify_names_an_inserted_entry() {
    for db in TestDb::all().await {
        audited_history(&db).await;
        // A forged entry placed between 1 and 2: shift the tail up and write seq 2 anew.
        unlock(&db).await;
        db.raw(
            "UPDATE audit_log SET seq = seq + 1000 WHERE county_code = '510812' AND seq >= 2;
             UPDATE audit_log SET seq = seq - 999 WHERE county_code = '510812' AND seq >= 1002;
             INSERT INTO audit_log (county_code, seq, at, actor_id, actor_name, action, target,
                 outcome, ip, detail, prev_hash, hash)
             SELECT county_code, 2, at, actor_id, 'forger', action, target, outcome, ip, detail,
                 hash, hash FROM audit_log WHERE county_code = '510812' AND seq = 1;",
        )
        .await
        .unwrap();
        assert_eq!(
            first_break(&db).await,
            Some(("510812".into(), 2)),
            "{}",
            db.label
        );
    }
}

#[tokio::test]
async fn concurrent_writers_keep_one_unbroken_chain() {
    for db in TestDb::all().await {
        seeded(&db).await;
        add_user(&db.store, "sup", Role::Supervisor, "510812100").await;
        let mut tasks = Vec::new();
        for i in 0..24 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                let pw = if i % 3 == 0 { PASSWORD } else { "Wrong#pass1" };
                store
                    .login("sup", pw, SessionKind::Api, "127.0.0.1", "t")
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let checked = db
            .store
            .verify_audit()
            .await
            .unwrap()
            .expect("chain intact");
        // The import, the account, and 24 sign-in attempts.
        assert!(checked >= 26, "{}: {checked}", db.label);
    }
}

// ---- the children's ledger ---------------------------------------------------------------

use weibao_domain::record::{ChildPatch, GuardianInput, ParentInput};
use weibao_store::{ChildFilter, ChildStatus};

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A valid 身份证号 for a child born `years_ago` years ago.
fn child_id(years_ago: i32, seq: u32) -> String {
    use chrono::Datelike;
    let t = today();
    let birth = chrono::NaiveDate::from_ymd_opt(t.year() - years_ago, 1, 15).unwrap();
    let first17 = format!("510812{}{:03}", birth.format("%Y%m%d"), seq);
    format!(
        "{first17}{}",
        weibao_domain::id_number::check_char(first17.as_bytes())
    )
}

fn migrant() -> Option<ParentInput> {
    Some(ParentInput {
        status: Some("外出务工".into()),
        since: Some("2023-01-01".into()),
        ..Default::default()
    })
}

fn patch(name: &str, id: &str, village: &str) -> ChildPatch {
    ChildPatch {
        name: Some(name.into()),
        id_number: Some(id.into()),
        division: Some(village.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_child_is_registered_once_platform_wide_and_the_conflict_says_where() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir_a = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let dir_b = scope_of(&add_user(s, "dir-b", Role::Director, "510811100201").await);
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let id = child_id(9, 101);
        let mut p = patch("张小花", &id, "510812100201");
        p.father = migrant();
        p.mother = migrant();
        let child = s.create_child(&dir_a, p, "").await.unwrap();
        assert_eq!(child.version, 1);
        assert_eq!(child.county_code, "510812");
        // Categories left out are what the facts imply: both parents away, rural, 9 years old.
        assert!(
            child
                .record
                .has(weibao_domain::child::Category::RuralLeftBehind),
            "{}",
            db.label
        );
        assert!(child.discrepancies.is_empty());
        assert_eq!(
            child.record.director_id.as_deref(),
            Some(dir_a.user_id.as_str())
        );
        // Another county's director: conflict naming the place only.
        let err = s
            .create_child(&dir_b, patch("张小花", &id, "510811100201"), "")
            .await
            .unwrap_err();
        match err {
            StoreError::Conflict { field, message, .. } => {
                assert_eq!(field, "id_number");
                assert!(
                    message.contains("朝天区甲") || message.contains("朝天镇朝天村"),
                    "{message}"
                );
                assert!(
                    !message.contains(&child.id),
                    "the record id is not revealed: {message}"
                );
            }
            other => panic!("{}: expected a conflict, got {other:?}", db.label),
        }
        // The county office may see it: the message points at the record.
        let err = s
            .create_child(&office, patch("张小花", &id, "510812100202"), "")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { message, .. } if message.contains(&child.id)),
            "{err:?}"
        );
        // Outside the subtree the record does not exist.
        assert!(matches!(
            s.read_child(&dir_b, &child.id, false, "").await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.create_child(&dir_a, patch("李四", &child_id(5, 1), "510812100202"), "")
                .await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn adults_and_bad_ids_are_refused_by_field() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let err = s
            .create_child(&dir, patch("王五", &child_id(19, 5), "510812100201"), "")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Invalid {
                    field: "id_number",
                    ..
                }
            ),
            "{err:?}"
        );
        let mut bad = child_id(8, 5);
        bad.pop();
        bad.push(if bad.ends_with('1') { '2' } else { '1' });
        let err = s
            .create_child(&dir, patch("王五", &bad, "510812100201"), "")
            .await
            .unwrap_err();
        match err {
            StoreError::Invalid { field, invalid } => {
                assert_eq!(field, "id_number");
                assert!(
                    invalid.message.contains("校验位应为"),
                    "{}",
                    invalid.message
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn every_change_is_a_version_and_the_village_changes_only_by_transfer() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let child = s
            .create_child(&dir, patch("赵六", &child_id(7, 9), "510812100201"), "")
            .await
            .unwrap();
        let change = ChildPatch {
            risk: Some("高".into()),
            address: Some("一组 3 号".into()),
            ..Default::default()
        };
        let updated = s
            .update_child(&dir, &child.id, change, Some(1), "")
            .await
            .unwrap();
        assert_eq!(updated.version, 2);
        // A stale edit is refused rather than silently overwriting.
        let stale = ChildPatch {
            risk: Some("低".into()),
            ..Default::default()
        };
        assert!(matches!(
            s.update_child(&dir, &child.id, stale, Some(1), "").await,
            Err(StoreError::Conflict {
                field: "version",
                ..
            })
        ));
        let history = s.child_history(&dir, &child.id).await.unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].kind, "update");
        let fields: Vec<(&str, &str, &str)> = history[0]
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.old.as_str(), c.new.as_str()))
            .collect();
        assert_eq!(
            fields,
            [("address", "", "一组 3 号"), ("risk", "低", "高")],
            "{}",
            db.label
        );
        // Moving the child out by editing the village is refused.
        let moving = ChildPatch {
            division: Some("510812100202".into()),
            ..Default::default()
        };
        assert!(matches!(
            s.update_child(&dir, &child.id, moving, None, "").await,
            Err(StoreError::Invalid {
                field: "division",
                ..
            })
        ));
        // Nothing changed: no new version.
        let same = ChildPatch {
            risk: Some("高".into()),
            ..Default::default()
        };
        assert_eq!(
            s.update_child(&dir, &child.id, same, None, "")
                .await
                .unwrap()
                .version,
            2
        );
    }
}

#[tokio::test]
async fn a_transfer_to_another_county_moves_the_record_and_its_history() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir_a = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let dir_c = scope_of(&add_user(s, "dir-c", Role::Director, "510811100201").await);
        let child = s
            .create_child(&dir_a, patch("钱七", &child_id(6, 3), "510812100201"), "")
            .await
            .unwrap();
        s.update_child(
            &dir_a,
            &child.id,
            ChildPatch {
                notes: Some("随祖母".into()),
                ..Default::default()
            },
            None,
            "",
        )
        .await
        .unwrap();
        let t = s
            .request_transfer(&dir_a, &child.id, code("510811100201"), "随祖母迁居", "")
            .await
            .unwrap();
        // While pending: the sender still holds the record; the receiver sees the request.
        assert_eq!(
            s.read_child(&dir_a, &child.id, false, "")
                .await
                .unwrap()
                .status,
            ChildStatus::Transferring
        );
        let incoming = s.incoming_transfers(&dir_c).await.unwrap();
        assert_eq!(incoming.len(), 1);
        assert!(s.incoming_transfers(&dir_a).await.unwrap().is_empty());
        // Only the receiving side decides.
        assert!(matches!(
            s.decide_transfer(&dir_a, &t.id, true, "", "").await,
            Err(StoreError::NotFound)
        ));
        s.decide_transfer(&dir_c, &t.id, true, "已核实", "")
            .await
            .unwrap();
        let moved = s.read_child(&dir_c, &child.id, false, "").await.unwrap();
        assert_eq!(moved.county_code, "510811", "{}", db.label);
        assert_eq!(moved.record.division(), code("510811100201"));
        assert_eq!(moved.status, ChildStatus::Active);
        assert_eq!(
            moved.record.director_id.as_deref(),
            Some(dir_c.user_id.as_str())
        );
        let history = s.child_history(&dir_c, &child.id).await.unwrap();
        assert_eq!(
            history.iter().map(|v| v.kind.as_str()).collect::<Vec<_>>(),
            ["transfer", "update", "create"]
        );
        assert!(matches!(
            s.read_child(&dir_a, &child.id, false, "").await,
            Err(StoreError::NotFound)
        ));
        // Still one registration: the ID cannot be registered again anywhere.
        let again = s
            .create_child(&dir_a, patch("钱七", &child_id(6, 3), "510812100201"), "")
            .await;
        assert!(matches!(again, Err(StoreError::Conflict { .. })));
        assert!(db.store.verify_audit().await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn lists_filter_search_and_page_within_the_subtree() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let sup = scope_of(&add_user(s, "sup", Role::Supervisor, "510812100").await);
        let mut left_behind = patch("张小花", &child_id(10, 1), "510812100201");
        left_behind.father = migrant();
        left_behind.mother = migrant();
        s.create_child(&office, left_behind, "").await.unwrap();
        let mut teen = patch("李大山", &child_id(16, 2), "510812100202");
        teen.father = migrant();
        teen.mother = migrant();
        teen.categories = Some(vec!["农村留守儿童".into()]);
        teen.risk = Some("高".into());
        s.create_child(&office, teen, "").await.unwrap();
        s.create_child(
            &office,
            patch("王小明", &child_id(3, 3), "510812200201"),
            "",
        )
        .await
        .unwrap();
        let list = |scope: &Scope, f: ChildFilter| {
            let s = s.clone();
            let scope = scope.clone();
            async move {
                let (rows, total) = s
                    .list_children(
                        &scope,
                        &ChildFilter {
                            per_page: 50,
                            page: 1,
                            ..f
                        },
                    )
                    .await
                    .unwrap();
                (
                    rows.into_iter().map(|r| r.name).collect::<Vec<_>>(),
                    total.count,
                )
            }
        };
        assert_eq!(
            list(&office, ChildFilter::default()).await.1,
            3,
            "{}",
            db.label
        );
        assert_eq!(
            list(&sup, ChildFilter::default()).await,
            (vec!["张小花".into(), "李大山".into()], 2)
        );
        // 留守 ends at 16: the 16-year-old keeps the recorded category but leaves the filter.
        let f = ChildFilter {
            category: Some(weibao_domain::child::Category::RuralLeftBehind),
            ..Default::default()
        };
        assert_eq!(list(&office, f).await.0, ["张小花"]);
        let f = ChildFilter {
            q: Some("zxh".into()),
            ..Default::default()
        };
        assert_eq!(list(&office, f).await.0, ["张小花"]);
        let f = ChildFilter {
            q: Some("大山".into()),
            ..Default::default()
        };
        assert_eq!(list(&office, f).await.0, ["李大山"]);
        let f = ChildFilter {
            q: Some(child_id(3, 3)),
            ..Default::default()
        };
        assert_eq!(list(&office, f).await.0, ["王小明"]);
        let f = ChildFilter {
            age_min: Some(0),
            age_max: Some(5),
            ..Default::default()
        };
        assert_eq!(list(&office, f).await.0, ["王小明"]);
        let f = ChildFilter {
            risk: Some(weibao_domain::child::Risk::High),
            ..Default::default()
        };
        assert_eq!(list(&office, f).await.0, ["李大山"]);
        // Paging.
        let (rows, total) = s
            .list_children(
                &office,
                &ChildFilter {
                    per_page: 2,
                    page: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!((rows.len(), total.count), (1, 3));
        // A supervisor cannot list another township.
        let f = ChildFilter {
            division: Some(code("510812200")),
            ..Default::default()
        };
        assert!(matches!(
            s.list_children(&sup, &f).await,
            Err(StoreError::NotFound)
        ));
        // Rows show the masked number only.
        let (rows, _) = s
            .list_children(
                &office,
                &ChildFilter {
                    per_page: 10,
                    page: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(rows.iter().all(|r| r.id_masked.contains("**********")));
    }
}

#[tokio::test]
async fn children_affected_by_hiv_are_seen_only_by_designated_users() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let designated = office.clone().with_designated(true);
        let mut p = patch("周某", &child_id(8, 8), "510812100201");
        p.categories = Some(vec!["受艾滋病影响儿童".into()]);
        assert!(matches!(
            s.create_child(&office, p.clone(), "").await,
            Err(StoreError::Forbidden)
        ));
        let child = s.create_child(&designated, p, "").await.unwrap();
        assert!(matches!(
            s.read_child(&office, &child.id, false, "").await,
            Err(StoreError::NotFound)
        ));
        let (_, total) = s
            .list_children(
                &office,
                &ChildFilter {
                    per_page: 10,
                    page: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(total.count, 0, "{}", db.label);
        let (_, total) = s
            .list_children(
                &designated,
                &ChildFilter {
                    per_page: 10,
                    page: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(total.count, 1);
    }
}

#[tokio::test]
async fn reading_and_revealing_a_record_are_audited_and_units_may_not_reveal() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let unit = scope_of(&add_user(s, "police", Role::Unit, "510812").await);
        let child = s
            .create_child(&dir, patch("孙八", &child_id(11, 4), "510812100201"), "")
            .await
            .unwrap();
        s.read_child(&dir, &child.id, true, "10.0.0.9")
            .await
            .unwrap();
        // A member unit reads a child only through a referral to it.
        assert!(matches!(
            s.read_child(&unit, &child.id, false, "").await,
            Err(StoreError::NotFound)
        ));
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        refer_child_to_police(s, &office, &child.id).await;
        s.read_child(&unit, &child.id, false, "10.0.0.8")
            .await
            .unwrap();
        assert!(matches!(
            s.read_child(&unit, &child.id, true, "").await,
            Err(StoreError::Forbidden)
        ));
        let log = s.recent_audit(&Scope::system(), 50).await.unwrap();
        let reads: Vec<(&str, &str, &str)> = log
            .iter()
            .filter(|e| e.target == child.id && e.action.starts_with("child.re"))
            .map(|e| (e.action.as_str(), e.actor_name.as_str(), e.ip.as_str()))
            .collect();
        assert_eq!(
            reads,
            [
                ("child.read", "police", "10.0.0.8"),
                ("child.reveal", "dir-a", "10.0.0.9")
            ],
            "{}",
            db.label
        );
    }
}

#[tokio::test]
async fn a_bulk_import_is_all_or_nothing() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let existing = s
            .create_child(
                &office,
                patch("已在册", &child_id(9, 9), "510812100201"),
                "",
            )
            .await
            .unwrap();
        let t = today();
        let rec = |name: &str, id: &str| {
            (
                patch(name, id, "510812100202")
                    .apply(None, t, 18, &[])
                    .unwrap(),
                false,
            )
        };
        let batch = vec![
            rec("甲", &child_id(4, 11)),
            rec("乙", &child_id(4, 12)),
            rec("丙", &existing.record.id_number().to_string()),
        ];
        let err = s
            .import_children(&office, code("510812"), batch, "", |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { .. }),
            "{}: {err:?}",
            db.label
        );
        let (_, total) = s
            .list_children(
                &office,
                &ChildFilter {
                    per_page: 10,
                    page: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(total.count, 1, "nothing of the failed import is visible");
        let batch = vec![rec("甲", &child_id(4, 11)), rec("乙", &child_id(4, 12))];
        assert_eq!(
            s.import_children(&office, code("510812"), batch, "", |_| {})
                .await
                .unwrap(),
            2
        );
        let (_, total) = s
            .list_children(
                &office,
                &ChildFilter {
                    per_page: 10,
                    page: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(total.count, 3);
    }
}

#[tokio::test]
async fn list_counts_stop_ten_pages_ahead_and_say_so() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let t = today();
        // 1,050 children named 张…, 20 named 李…: a name search matches more than its cap.
        let mut batch = Vec::new();
        for i in 0..1070u32 {
            let given: String = i
                .to_string()
                .bytes()
                .map(|d| {
                    "零一二三四五六七八九"
                        .chars()
                        .nth((d - b'0') as usize)
                        .unwrap()
                })
                .collect();
            let name = if i < 1050 { "张" } else { "李" }.to_string() + &given;
            let id = child_id(4 + (i / 500) as i32, i % 500);
            let record = patch(&name, &id, "510812100201")
                .apply(None, t, 18, &[])
                .unwrap();
            batch.push((record, false));
        }
        s.import_children(&office, code("510812"), batch, "", |_| {})
            .await
            .unwrap();
        let list = |q: Option<&str>, page: u32| {
            let s = s.clone();
            let office = office.clone();
            let q = q.map(str::to_string);
            async move {
                let filter = ChildFilter {
                    q,
                    page,
                    per_page: 50,
                    ..Default::default()
                };
                let (rows, total) = s.list_children(&office, &filter).await.unwrap();
                (rows.len(), total.count, total.exact)
            }
        };
        // Counts stop ten pages past the page asked for (500 rows for page 1 of 50) and say
        // there are more, for the whole ledger as for a search of 张.
        assert_eq!(list(None, 1).await, (50, 500, false), "{}", db.label);
        assert_eq!(list(Some("张"), 1).await, (50, 500, false), "{}", db.label);
        assert_eq!(
            weibao_store::Total::from_capped(1001, 1000).caption(),
            "1,000 名以上"
        );
        // Paging on counts further: page 12 (rows 551–600) counts to 1,050, page 21
        // (rows 1,001–1,050) sees all 1,050 of 张 and that there are no more.
        assert_eq!(list(None, 12).await, (50, 1050, false), "{}", db.label);
        assert_eq!(list(None, 13).await, (50, 1070, true), "{}", db.label);
        assert_eq!(list(Some("张"), 21).await, (50, 1050, true), "{}", db.label);
        assert_eq!(list(Some("李"), 1).await, (20, 20, true), "{}", db.label);
    }
}

// ---- Home visits ------------------------------------------------------------------------

use weibao_domain::visit::{CheckInput, CheckItem, VisitInput};

/// The common visit: 30 minutes, every check normal (and parents' weekly contact when
/// the child is left behind), `danger` on 安全 when asked.
pub(crate) fn visit_input(left_behind: bool, danger: bool) -> VisitInput {
    let mut checks: Vec<CheckInput> = CheckItem::CORE
        .iter()
        .map(|i| CheckInput {
            item: i.label().into(),
            finding: if danger && *i == CheckItem::Safety {
                "危险".into()
            } else {
                "正常".into()
            },
            note: (danger && *i == CheckItem::Safety).then(|| "家中无人看护，屋顶漏雨".into()),
        })
        .collect();
    if left_behind {
        checks.push(CheckInput {
            item: "父母每周联系".into(),
            finding: "正常".into(),
            note: None,
        });
    }
    VisitInput {
        duration_minutes: Some(30),
        checks: Some(checks),
        ..Default::default()
    }
}

async fn left_behind_child(s: &Store, dir: &Scope, name: &str, seq: u32) -> String {
    let mut p = patch(name, &child_id(9, seq), "510812100201");
    p.father = migrant();
    p.mother = migrant();
    s.create_child(dir, p, "").await.unwrap().id
}

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

#[tokio::test]
async fn a_regions_worklist_merges_its_counties_most_urgent_first() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir_a = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let dir_c = scope_of(&add_user(s, "dir-c", Role::Director, "510811100201").await);
        let city = scope_of(&add_user(s, "city", Role::Office, "5108").await);
        let left_behind_in = |village: &str, name: &str, seq: u32| {
            let mut p = patch(name, &child_id(9, seq), village);
            p.father = migrant();
            p.mother = migrant();
            p
        };
        let today = s.clock().today();
        // 朝天区: one child in danger (a follow-up in 3 days), one new (due in 7);
        // 利州区: one new (due in 7), one visited (due in three months: not on the list).
        let urgent = left_behind_child(s, &dir_a, "张甲", 301).await;
        let mut danger = visit_input(true, true);
        danger.risk_after = Some("高".into());
        s.record_visit(&dir_a, &urgent, danger, None, "")
            .await
            .unwrap();
        let new_a = left_behind_child(s, &dir_a, "王丙", 303).await;
        let new_c = s
            .create_child(&dir_c, left_behind_in("510811100201", "李乙", 302), "")
            .await
            .unwrap()
            .id;
        let visited = s
            .create_child(&dir_c, left_behind_in("510811100201", "赵丁", 304), "")
            .await
            .unwrap()
            .id;
        s.record_visit(&dir_c, &visited, visit_input(true, false), None, "")
            .await
            .unwrap();
        let page = |per_page: i64, n: i64| {
            let s = s.clone();
            let city = city.clone();
            async move {
                let (items, total) = s
                    .due_list(&city, Some(code("5108")), n, per_page)
                    .await
                    .unwrap();
                let rows: Vec<(String, chrono::NaiveDate)> = items
                    .into_iter()
                    .map(|i| (i.child_id, i.due_date))
                    .collect();
                (rows, total.count, total.exact)
            }
        };
        // The city's list runs across both counties in due order; on the same day, the
        // lower division code first (利州区 510811 before 朝天区 510812).
        assert_eq!(
            page(2, 1).await,
            (
                vec![
                    (urgent.clone(), today + days(3)),
                    (new_c.clone(), today + days(7))
                ],
                3,
                true
            ),
            "{}",
            db.label
        );
        assert_eq!(
            page(2, 2).await,
            (vec![(new_a.clone(), today + days(7))], 3, true),
            "{}",
            db.label
        );
        assert_eq!(page(1, 2).await.0, vec![(new_c, today + days(7))]);
        assert_eq!(page(1, 4).await.0, vec![]);
        // The county's own list is unchanged by the merge.
        let (county, _) = s
            .due_list(&city, Some(code("510812")), 1, 50)
            .await
            .unwrap();
        let ids: Vec<String> = county.into_iter().map(|i| i.child_id).collect();
        assert_eq!(ids, vec![urgent, new_a]);
        // A region's list pages only through its most urgent rows, and says where the rest
        // are.
        let deep = weibao_store::REGION_DUE_ROWS / 50 + 1;
        let err = s
            .due_list(&city, Some(code("5108")), deep, 50)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid { field: "page", invalid } if invalid.message.contains("请选择一个县区")),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn visits_move_the_due_date_and_danger_raises_an_alert() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let sup = scope_of(&add_user(s, "sup-a", Role::Supervisor, "510812100").await);
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let other_sup = scope_of(&add_user(s, "sup-b", Role::Supervisor, "510812200").await);
        let id = left_behind_child(s, &dir, "张小花", 201).await;
        let today = s.clock().today();
        // A newly registered child is due within 7 days.
        let (due, reason, last) = s
            .child_schedule(&s.read_child(&dir, &id, false, "").await.unwrap())
            .await
            .unwrap();
        assert_eq!(
            (due, reason.as_str(), last),
            (today + days(7), "first", None)
        );
        let (items, total) = s.due_list(&dir, None, 1, 50).await.unwrap();
        assert_eq!(total.count, 1, "{}", db.label);
        assert_eq!(items[0].child_id, id);
        assert!(!items[0].overdue);

        // A left-behind child's visit must answer the parents' weekly contact.
        let err = s
            .record_visit(&dir, &id, visit_input(false, false), None, "")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid { field: "checks", invalid } if invalid.message.contains("父母每周联系")),
            "{err:?}"
        );
        let (v, replayed) = s
            .record_visit(&dir, &id, visit_input(true, false), None, "")
            .await
            .unwrap();
        assert!(!replayed);
        assert_eq!(v.author_id, dir.user_id);
        let child = s.read_child(&dir, &id, false, "").await.unwrap();
        let (due, reason, last) = s.child_schedule(&child).await.unwrap();
        // 留守 at low risk: quarterly.
        assert_eq!(reason, "regular");
        assert_eq!(last, Some(today));
        assert_eq!(
            due,
            today.checked_add_months(chrono::Months::new(3)).unwrap()
        );
        assert_eq!(s.due_list(&dir, None, 1, 50).await.unwrap().1.count, 0);
        assert!(s.open_alerts(&sup).await.unwrap().is_empty());

        // Danger on 安全, risk raised to 高: a follow-up within 3 days, an alert for the
        // township's supervisor and the county office (not another township's), and the
        // child's risk changes as a new version of the record.
        let mut danger = visit_input(true, true);
        danger.risk_after = Some("高".into());
        s.record_visit(&dir, &id, danger, None, "").await.unwrap();
        let child = s.read_child(&dir, &id, false, "").await.unwrap();
        assert_eq!(child.record.risk, weibao_domain::child::Risk::High);
        let (due, reason, _) = s.child_schedule(&child).await.unwrap();
        assert_eq!((due, reason.as_str()), (today + days(3), "followup"));
        let history = s.child_history(&dir, &id).await.unwrap();
        assert_eq!(history[0].kind, "visit");
        let alerts = s.open_alerts(&sup).await.unwrap();
        assert_eq!(alerts.len(), 1, "{}", db.label);
        assert!(
            alerts[0].summary.contains("屋顶漏雨"),
            "{}",
            alerts[0].summary
        );
        assert_eq!(alerts[0].child_name, "张小花");
        assert_eq!(s.open_alerts(&office).await.unwrap().len(), 1);
        assert!(s.open_alerts(&other_sup).await.unwrap().is_empty());
        assert!(s.open_alerts(&dir).await.unwrap().is_empty());
        // The child's page shows the same alert to those who close it.
        let on_page = s.child_alerts(&sup, &child).await.unwrap();
        assert_eq!(on_page.len(), 1);
        assert_eq!(on_page[0].id, alerts[0].id);
        assert!(s.child_alerts(&dir, &child).await.unwrap().is_empty());
        // Directors do not close alerts; supervisors do, saying what was done.
        assert!(matches!(
            s.resolve_alert(&dir, &id, &alerts[0].id, "已处理", "")
                .await,
            Err(StoreError::Forbidden)
        ));
        assert!(matches!(
            s.resolve_alert(&sup, &id, &alerts[0].id, " ", "").await,
            Err(StoreError::Invalid {
                field: "resolution",
                ..
            })
        ));
        s.resolve_alert(
            &sup,
            &id,
            &alerts[0].id,
            "已联系派出所，安排亲属临时照料",
            "",
        )
        .await
        .unwrap();
        assert!(s.open_alerts(&office).await.unwrap().is_empty());
        assert!(s.child_alerts(&sup, &child).await.unwrap().is_empty());

        // Three days later the follow-up is overdue; the township sees it in its progress.
        s.clock().advance_ms(4 * 24 * 3600 * 1000);
        let (items, _) = s.due_list(&sup, None, 1, 50).await.unwrap();
        assert!(items[0].overdue && items[0].days_overdue == 1, "{items:?}");
        let progress = s.visit_progress(&sup, code("510812100")).await.unwrap();
        let village = progress
            .iter()
            .find(|p| p.division_code == "510812100201")
            .unwrap();
        assert_eq!(
            (village.children, village.overdue, village.visits_30d),
            (1, 1, 2)
        );
        assert_eq!(village.on_time_percent(), 0.0);
        let township = s.visit_progress(&office, code("510812")).await.unwrap();
        assert_eq!(
            township
                .iter()
                .find(|p| p.division_code == "510812100000")
                .map(|p| p.overdue),
            Some(1)
        );
        assert!(matches!(
            s.visit_progress(&sup, code("510812200")).await,
            Err(StoreError::NotFound)
        ));
        // A city's office: counted county by county, side by side.
        let city = scope_of(&add_user(s, "city", Role::Office, "5108").await);
        let counties = s.visit_progress(&city, code("5108")).await.unwrap();
        let count = |c: &str| {
            counties
                .iter()
                .find(|p| p.division_code == c)
                .map(|p| (p.children, p.overdue))
        };
        assert_eq!(count("510812000000"), Some((1, 1)), "{counties:?}");
        assert_eq!(count("510811000000"), Some((0, 0)));
        assert!(db.store.verify_audit().await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn one_visit_per_idempotency_key_even_when_retries_race() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let id = left_behind_child(s, &dir, "李小军", 202).await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (s, dir, id) = (s.clone(), dir.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                s.record_visit(&dir, &id, visit_input(true, false), Some("k-1"), "")
                    .await
            }));
        }
        let mut ids = Vec::new();
        let mut replays = 0;
        for t in tasks {
            let (v, replayed) = t.await.unwrap().unwrap();
            ids.push(v.id);
            replays += usize::from(replayed);
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{}: {ids:?}", db.label);
        assert_eq!(replays, 7);
        assert_eq!(s.child_visits(&dir, &id).await.unwrap().len(), 1);
        // The same key with a different request is refused; a new key makes a new visit.
        let mut other = visit_input(true, false);
        other.duration_minutes = Some(45);
        assert!(matches!(
            s.record_visit(&dir, &id, other.clone(), Some("k-1"), "")
                .await,
            Err(StoreError::Conflict {
                code: "idempotency_key_reused",
                ..
            })
        ));
        s.record_visit(&dir, &id, other, Some("k-2"), "")
            .await
            .unwrap();
        assert_eq!(s.child_visits(&dir, &id).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn a_retry_gets_its_first_answer_even_when_the_checks_would_now_refuse_it() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let id = left_behind_child(s, &dir, "李小军", 204).await;
        // A visit back-dated to the edge of what may be recorded late…
        let at = chrono::Utc::now() + chrono::Duration::hours(8)
            - chrono::Duration::days(weibao_domain::visit::MAX_BACKDATE_DAYS - 1);
        let mut input = visit_input(true, false);
        input.visited_at = Some(at.format("%Y-%m-%d %H:%M").to_string());
        let (first, replayed) = s
            .record_visit(&dir, &id, input.clone(), Some("late-1"), "")
            .await
            .unwrap();
        assert!(!replayed);
        // …retried two days later, when it is too old to record anew: the first answer.
        s.clock().advance_ms(2 * 86_400_000);
        let (again, replayed) = s
            .record_visit(&dir, &id, input.clone(), Some("late-1"), "")
            .await
            .unwrap();
        assert!(replayed, "{}", db.label);
        assert_eq!(again.id, first.id);
        // Without the key (or with a new one) it is refused by field, and nothing is added.
        assert!(matches!(
            s.record_visit(&dir, &id, input, Some("late-2"), "").await,
            Err(StoreError::Invalid {
                field: "visited_at",
                ..
            })
        ));
        assert_eq!(s.child_visits(&dir, &id).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn settings_resolve_each_key_at_its_own_most_specific_region() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let admin = scope_of(&add_user(s, "admin", Role::Admin, "510812").await);
        let village = DivisionCode::parse("510812100201").unwrap();
        let township = DivisionCode::parse("510812100").unwrap();
        // Sub-types set for the county, the visit policy for one township: a village
        // under it reads each from its own region, read together in one query.
        s.put_setting(
            &admin,
            weibao_store::DISTRESS_SUBTYPES,
            Some(DivisionCode::parse("510812").unwrap()),
            chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            &vec!["县里的类型".to_string()],
        )
        .await
        .unwrap();
        let policy: serde_json::Value = serde_json::from_str(
            r#"{"effective_from":"2020-01-01","rules":[],"default_every":"2m","first_visit_days":5,"danger_followup_days":2}"#,
        )
        .unwrap();
        s.put_setting(
            &admin,
            weibao_store::VISIT_POLICY,
            Some(township),
            chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            &policy,
        )
        .await
        .unwrap();
        let today = s.clock().today();
        assert_eq!(
            s.distress_subtypes(Some(village), today).await.unwrap(),
            ["县里的类型"],
            "{}",
            db.label
        );
        assert_eq!(
            s.visit_policy(Some(village))
                .await
                .unwrap()
                .on(today)
                .first_visit_days,
            5
        );
        // Elsewhere in the county: the county's sub-types, the default policy.
        let other = DivisionCode::parse("510812200201").unwrap();
        assert_eq!(
            s.distress_subtypes(Some(other), today).await.unwrap(),
            ["县里的类型"]
        );
        assert_ne!(
            s.visit_policy(Some(other))
                .await
                .unwrap()
                .on(today)
                .first_visit_days,
            5
        );
    }
}

/// The smallest JPEG-looking bytes (the store checks the signature, not the picture).
fn jpeg(tag: u8) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.extend(std::iter::repeat_n(tag, 64));
    b.extend([0xFF, 0xD9]);
    b
}

#[tokio::test]
async fn photos_are_served_only_to_those_who_may_see_the_child() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let dir_b = scope_of(&add_user(s, "dir-b", Role::Director, "510812100202").await);
        let sup_other = scope_of(&add_user(s, "sup-b", Role::Supervisor, "510812200").await);
        let police = scope_of(&add_user(s, "police", Role::Unit, "510812").await);
        let admin = scope_of(&add_user(s, "admin", Role::Admin, "510812").await);
        let auditor = scope_of(&add_user(s, "auditor", Role::Auditor, "510812").await);
        let id = left_behind_child(s, &dir, "王小丫", 203).await;
        let photo = s.save_photo(&dir, &id, jpeg(1), "").await.unwrap();
        assert_eq!(s.save_photo(&dir, &id, jpeg(1), "").await.unwrap(), photo);
        let second = s.save_photo(&dir, &id, jpeg(2), "").await.unwrap();
        assert_ne!(second, photo);
        // Not an image: refused by field, nothing stored.
        assert!(matches!(
            s.save_photo(&dir, &id, b"<svg onload=alert(1)>".to_vec(), "")
                .await,
            Err(StoreError::Invalid { field: "file", .. })
        ));
        let mut input = visit_input(true, false);
        input.photos = Some(vec![photo.clone(), second.clone()]);
        let (v, _) = s.record_visit(&dir, &id, input, None, "").await.unwrap();
        assert_eq!(v.record.photos, [photo.clone(), second.clone()]);
        let mut bad = visit_input(true, false);
        bad.photos = Some(vec!["00000000-0000-0000-0000-000000000000".into()]);
        assert!(matches!(
            s.record_visit(&dir, &id, bad, None, "").await,
            Err(StoreError::Invalid {
                field: "photos",
                ..
            })
        ));
        assert_eq!(s.photo(&dir, &id, &photo, "").await.unwrap().bytes, jpeg(1));
        // A member unit sees no visit photos, referral or not.
        assert!(matches!(
            s.photo(&police, &id, &second, "").await,
            Err(StoreError::Forbidden)
        ));
        let p = s.photo(&dir, &id, &second, "").await.unwrap();
        assert_eq!((p.content_type.as_str(), p.bytes), ("image/jpeg", jpeg(2)));
        for outsider in [&dir_b, &sup_other] {
            assert!(matches!(
                s.photo(outsider, &id, &photo, "").await,
                Err(StoreError::NotFound)
            ));
        }
        for role in [&admin, &auditor] {
            assert!(matches!(
                s.photo(role, &id, &photo, "").await,
                Err(StoreError::Forbidden)
            ));
        }
        // A photo id of another child does not open through this child.
        let other = left_behind_child(s, &dir, "王小二", 204).await;
        assert!(matches!(
            s.photo(&dir, &other, &photo, "").await,
            Err(StoreError::NotFound)
        ));
        // Unit liaisons read but do not upload.
        assert!(matches!(
            s.save_photo(&police, &id, jpeg(3), "").await,
            Err(StoreError::Forbidden)
        ));
    }
}

#[tokio::test]
async fn a_reissued_card_stops_the_old_code() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let dir_c = scope_of(&add_user(s, "dir-c", Role::Director, "510811100201").await);
        add_user(s, "dir-z", Role::Director, "510812100202").await;
        let id = left_behind_child(s, &dir, "赵小明", 205).await;
        let card = s.card(&dir, &id, "").await.unwrap();
        assert_eq!(card.child_name, "赵小明");
        assert_eq!(card.director_name.as_deref(), Some("dir-a"));
        assert!(!card.token.contains(&id) && card.token.len() == 26);
        assert_eq!(s.card(&dir, &id, "").await.unwrap().token, card.token);
        assert_eq!(s.resolve_card(&dir, &card.token).await.unwrap(), id);
        assert!(matches!(
            s.resolve_card(&dir_c, &card.token).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.reissue_card(&dir, &id, "  ", "").await,
            Err(StoreError::Invalid {
                field: "reason",
                ..
            })
        ));
        let new = s.reissue_card(&dir, &id, "遗失", "").await.unwrap();
        assert_ne!(new.token, card.token);
        assert!(matches!(
            s.resolve_card(&dir, &card.token).await,
            Err(StoreError::Conflict {
                code: "card_revoked",
                ..
            })
        ));
        assert_eq!(s.resolve_card(&dir, &new.token).await.unwrap(), id);
        assert!(matches!(
            s.resolve_card(&dir, "abcdefghijkmnpqrstuvwxyz23").await,
            Err(StoreError::NotFound)
        ));
        // A township's print run issues the missing cards and keeps existing ones.
        left_behind_child(s, &dir, "赵小红", 206).await;
        let cards = s
            .cards_within(&dir, code("510812100201"), "")
            .await
            .unwrap();
        assert_eq!(cards.len(), 2);
        assert!(cards.iter().any(|c| c.token == new.token));
        assert!(matches!(
            s.cards_within(&dir, code("510812"), "").await,
            Err(StoreError::NotFound)
        ));
        assert!(db.store.verify_audit().await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn authors_correct_within_24_hours_then_only_the_supervisor() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let dir2 = scope_of(&add_user(s, "dir-a2", Role::Director, "510812100201").await);
        let sup = scope_of(&add_user(s, "sup-a", Role::Supervisor, "510812100").await);
        let id = left_behind_child(s, &dir, "孙小燕", 207).await;
        let (v, _) = s
            .record_visit(&dir, &id, visit_input(true, false), None, "")
            .await
            .unwrap();
        let fix = |minutes| VisitInput {
            duration_minutes: Some(minutes),
            ..Default::default()
        };
        assert!(matches!(
            s.correct_visit(&dir2, &id, &v.id, fix(40), None, "").await,
            Err(StoreError::Conflict {
                code: "correction_closed",
                ..
            })
        ));
        let v2 = s
            .correct_visit(&dir, &id, &v.id, fix(40), Some(1), "")
            .await
            .unwrap();
        assert_eq!((v2.version, v2.record.duration_minutes), (2, 40));
        assert!(matches!(
            s.correct_visit(&dir, &id, &v.id, fix(50), Some(1), "")
                .await,
            Err(StoreError::Conflict {
                code: "stale_version",
                ..
            })
        ));
        s.clock().advance_ms(25 * 3600 * 1000);
        assert!(matches!(
            s.correct_visit(&dir, &id, &v.id, fix(50), None, "").await,
            Err(StoreError::Conflict {
                code: "correction_closed",
                ..
            })
        ));
        // Danger found on review: the alert is raised by the correction.
        let mut review = fix(50);
        review.checks = visit_input(true, true).checks;
        let v3 = s
            .correct_visit(&sup, &id, &v.id, review, None, "")
            .await
            .unwrap();
        assert_eq!(v3.version, 3);
        assert_eq!(s.open_alerts(&sup).await.unwrap().len(), 1);
        let versions = s.visit_versions(&dir, &id, &v.id).await.unwrap();
        assert_eq!(
            versions
                .iter()
                .map(|x| (x.version, x.record.duration_minutes))
                .collect::<Vec<_>>(),
            [(3, 50), (2, 40), (1, 30)]
        );
        assert_eq!(versions[0].actor_name, "sup-a");
    }
}

#[tokio::test]
async fn visits_follow_a_child_to_another_county() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir_a = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let dir_c = scope_of(&add_user(s, "dir-c", Role::Director, "510811100201").await);
        let id = left_behind_child(s, &dir_a, "周小川", 208).await;
        let photo = s.save_photo(&dir_a, &id, jpeg(7), "").await.unwrap();
        let mut input = visit_input(true, false);
        input.photos = Some(vec![photo.clone()]);
        let (v, _) = s.record_visit(&dir_a, &id, input, None, "").await.unwrap();
        let card = s.card(&dir_a, &id, "").await.unwrap();
        let before = s
            .child_schedule(&s.read_child(&dir_a, &id, false, "").await.unwrap())
            .await
            .unwrap();
        let t = s
            .request_transfer(&dir_a, &id, code("510811100201"), "随父母迁居", "")
            .await
            .unwrap();
        s.decide_transfer(&dir_c, &t.id, true, "", "")
            .await
            .unwrap();
        let visits = s.child_visits(&dir_c, &id).await.unwrap();
        assert_eq!(visits.len(), 1, "{}", db.label);
        assert_eq!(visits[0].id, v.id);
        assert_eq!(s.visit_versions(&dir_c, &id, &v.id).await.unwrap().len(), 1);
        assert_eq!(
            s.photo(&dir_c, &id, &photo, "").await.unwrap().bytes,
            jpeg(7)
        );
        assert_eq!(s.resolve_card(&dir_c, &card.token).await.unwrap(), id);
        let moved = s.read_child(&dir_c, &id, false, "").await.unwrap();
        assert_eq!(s.child_schedule(&moved).await.unwrap(), before);
    }
}

#[tokio::test]
async fn a_new_visit_policy_moves_the_schedules_of_its_region_only() {
    use weibao_domain::visit::{Period, VisitPolicy, VisitRule};
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let dir_c = scope_of(&add_user(s, "dir-c", Role::Director, "510811100201").await);
        let here = left_behind_child(s, &dir, "郑小光", 301).await;
        let mut p = patch("郑小亮", &child_id(9, 302), "510811100201");
        p.father = migrant();
        p.mother = migrant();
        let there = s.create_child(&dir_c, p, "").await.unwrap().id;
        s.record_visit(&dir, &here, visit_input(true, false), None, "")
            .await
            .unwrap();
        s.record_visit(&dir_c, &there, visit_input(true, false), None, "")
            .await
            .unwrap();
        let schedule = |id: &str, who: &Scope| {
            let (s, id, who) = (s.clone(), id.to_string(), who.clone());
            async move {
                let child = s.read_child(&who, &id, false, "").await.unwrap();
                s.child_schedule(&child).await.unwrap().0
            }
        };
        let today = s.clock().today();
        let quarterly = today.checked_add_months(chrono::Months::new(3)).unwrap();
        assert_eq!(schedule(&here, &dir).await, quarterly);
        // 朝天区 visits left-behind children every 14 days from yesterday on.
        let policy = VisitPolicy {
            effective_from: today - days(1),
            rules: vec![VisitRule {
                categories: vec![weibao_domain::child::Category::RuralLeftBehind],
                min_risk: None,
                every: Period::Days(14),
            }],
            ..VisitPolicy::default()
        };
        s.put_setting(
            &Scope::system(),
            weibao_store::VISIT_POLICY,
            Some(code("510812")),
            today - days(1),
            &policy,
        )
        .await
        .unwrap();
        assert!(matches!(
            s.reschedule(&dir, None).await,
            Err(StoreError::Forbidden)
        ));
        let moved = s
            .reschedule(&Scope::system(), Some(code("510812")))
            .await
            .unwrap();
        assert_eq!(moved, 1, "{}", db.label);
        assert_eq!(schedule(&here, &dir).await, today + days(14));
        assert_eq!(
            schedule(&there, &dir_c).await,
            quarterly,
            "another county keeps its policy"
        );
        // New visits follow the new policy too.
        s.record_visit(&dir, &here, visit_input(true, false), None, "")
            .await
            .unwrap();
        assert_eq!(schedule(&here, &dir).await, today + days(14));
    }
}

// ---- On a Citus cluster (run when the test cluster is configured) ----

/// The shard and the node (port) that hold `value` of `table`'s distribution column.
async fn placement(db: &TestDb, table: &str, value: &str) -> (String, String) {
    let shard = db
        .pg_column(&format!(
            "SELECT get_shard_id_for_distribution_column('{table}', '{value}')"
        ))
        .await
        .remove(0);
    let node = db
        .pg_column(&format!(
            "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = {shard}"
        ))
        .await
        .remove(0);
    (shard, node)
}

#[tokio::test]
async fn distribute_places_every_table_once_and_refuses_without_citus() {
    let Some(db) = TestDb::citus().await else {
        return;
    };
    // Every table the migrations made is in the plan, and placed as it says.
    let tables = db
        .pg_column("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        .await;
    let mut planned: Vec<String> = weibao_store::PLAN
        .iter()
        .map(|(t, _)| t.to_string())
        .collect();
    planned.sort();
    assert_eq!(
        tables, planned,
        "a table without a placement in cluster::PLAN"
    );
    for (table, placement) in weibao_store::PLAN {
        let kind = db
            .pg_column(&format!(
                "SELECT citus_table_type FROM citus_tables WHERE table_name = '{table}'::regclass"
            ))
            .await;
        let want = match placement {
            weibao_store::Placement::Reference => "reference",
            weibao_store::Placement::Distributed { .. } => "distributed",
        };
        assert_eq!(kind, vec![want.to_string()], "{table}");
    }
    // The county's tables share one colocation group.
    let groups = db
        .pg_column(
            "SELECT DISTINCT colocation_id FROM citus_tables
             WHERE distribution_column = 'county_code'",
        )
        .await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    // A second run changes nothing.
    let again = db.store.distribute(4).await.unwrap();
    assert!(again.iter().all(|t| !t.changed), "{again:?}");
    // SQLite and plain PostgreSQL refuse with a message that says what to do.
    let lite = TestDb::sqlite().await;
    let err = lite.store.distribute(4).await.unwrap_err().to_string();
    assert!(
        err.contains("SQLite") && err.contains("PostgreSQL"),
        "{err}"
    );
    if let Some(pg) = TestDb::postgres().await {
        let err = pg.store.distribute(4).await.unwrap_err().to_string();
        assert!(err.contains("Citus"), "{err}");
    }
}

#[tokio::test]
async fn migrations_written_after_distribution_apply_through_the_coordinator() {
    let Some(db) = TestDb::citus_bare().await else {
        return;
    };
    let s = &db.store;
    // An installation distributed before the visits module existed...
    s.migrate_until(2).await.unwrap();
    seeded(&db).await;
    s.distribute(4).await.unwrap();
    // (before 0003 the children table had no schedule: insert one row by hand)
    db.raw(
        "INSERT INTO children (county_code, id, division_code, name, name_initials, id_number,
             id_masked, id_index, birth_date, sex, hukou, school_status, support_bits,
             category_bits, risk, sensitive, status, details, version, created_at, updated_at)
         VALUES ('510812', 'c-old', '510812100201', '旧档', 'jd', 'x', 'x', 'x', '2015-01-01',
             '女', '农业', '在校', 0, 0, '低', false, 'active', '{}', 1, 0, 0)",
    )
    .await
    .unwrap();
    // ...then upgraded: 0003 alters the sharded children table, fills the new column and
    // creates tables, which are placed by the plan.
    let done = s.migrate_until(3).await.unwrap();
    assert_eq!(done, vec!["0003_visits"]);
    // (and the later ones, which seal the hand-made row)
    s.migrate().await.unwrap();
    // (accounts as they are written today, with the columns later migrations added)
    let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
    for table in ["visits", "alerts", "cards"] {
        let kind = db
            .pg_column(&format!(
                "SELECT citus_table_type FROM citus_tables WHERE table_name = '{table}'::regclass"
            ))
            .await;
        assert_eq!(kind, vec!["distributed".to_string()], "{table}");
    }
    let due = db
        .pg_column("SELECT due_on IS NOT NULL FROM children WHERE id = 'c-old'")
        .await;
    assert_eq!(due, vec!["true".to_string()]);
    // And the upgraded cluster works: a visit on a new record.
    let id = left_behind_child(s, &dir, "新档", 301).await;
    s.record_visit(&dir, &id, visit_input(true, false), None, "")
        .await
        .unwrap();
    assert_eq!(s.child_visits(&dir, &id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn one_record_per_id_across_shards_even_when_registrations_race() {
    let Some(db) = TestDb::citus().await else {
        return;
    };
    seeded(&db).await;
    // The premise: the two counties' records live on different shards and nodes.
    let a = placement(&db, "children", "510812").await;
    let b = placement(&db, "children", "510811").await;
    assert_ne!(a.0, b.0);
    assert_ne!(a.1, b.1);
    let s = &db.store;
    let dir_a = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
    let dir_b = scope_of(&add_user(s, "dir-b", Role::Director, "510811100201").await);
    for round in 0..5u32 {
        let id = child_id(8, 400 + round);
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (s, scope, village) = if i % 2 == 0 {
                (s.clone(), dir_a.clone(), "510812100201")
            } else {
                (s.clone(), dir_b.clone(), "510811100201")
            };
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                s.create_child(&scope, patch("并发", &id, village), "")
                    .await
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::Conflict { field, .. }) => assert_eq!(field, "id_number"),
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}");
    }
    let rows = db.pg_column("SELECT count(*) FROM children").await;
    assert_eq!(rows, vec!["5".to_string()]);
    let registry = db.pg_column("SELECT count(*) FROM child_id_registry").await;
    assert_eq!(registry, vec!["5".to_string()]);
}

#[tokio::test]
async fn a_transfer_moves_the_child_to_another_shard_group_whole() {
    let Some(db) = TestDb::citus().await else {
        return;
    };
    seeded(&db).await;
    assert_ne!(
        placement(&db, "children", "510812").await.0,
        placement(&db, "children", "510811").await.0
    );
    let s = &db.store;
    let dir_a = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
    let dir_c = scope_of(&add_user(s, "dir-c", Role::Director, "510811100201").await);
    let id = left_behind_child(s, &dir_a, "周小川", 208).await;
    for _ in 0..3 {
        s.record_visit(&dir_a, &id, visit_input(true, true), None, "")
            .await
            .unwrap();
    }
    let count = |table: &'static str, column: &'static str| {
        let db = &db;
        let id = id.clone();
        async move {
            db.pg_column(&format!(
                "SELECT county_code || ':' || count(*) FROM {table} WHERE {column} = '{id}'
                 GROUP BY county_code"
            ))
            .await
        }
    };
    let tables = [
        ("children", "id"),
        ("child_versions", "child_id"),
        ("visits", "child_id"),
        ("alerts", "child_id"),
    ];
    let mut before = Vec::new();
    for (t, c) in tables {
        let rows = count(t, c).await;
        assert_eq!(rows.len(), 1, "{t}: {rows:?}");
        assert!(rows[0].starts_with("510812:"), "{t}: {rows:?}");
        before.push(rows[0].trim_start_matches("510812:").to_string());
    }
    let t = s
        .request_transfer(&dir_a, &id, code("510811100201"), "随父母迁居", "")
        .await
        .unwrap();
    s.decide_transfer(&dir_c, &t.id, true, "", "")
        .await
        .unwrap();
    // Every row now in the new county's shard group, none left behind, none twice.
    for ((t, c), n) in tables.iter().zip(&before) {
        let rows = count(t, c).await;
        let n = if *t == "child_versions" {
            // the transfer itself is one more version
            (n.parse::<i64>().unwrap() + 1).to_string()
        } else {
            n.clone()
        };
        assert_eq!(rows, vec![format!("510811:{n}")], "{t}");
    }
    let locator = db
        .pg_column(&format!(
            "SELECT county_code FROM child_locator WHERE id = '{id}'"
        ))
        .await;
    assert_eq!(locator, vec!["510811".to_string()]);
}

#[tokio::test]
async fn a_villages_worklist_and_a_childs_page_touch_one_shard_and_a_city_list_all() {
    let Some(db) = TestDb::citus().await else {
        return;
    };
    seeded(&db).await;
    let s = &db.store;
    let dir_a = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
    let dir_c = scope_of(&add_user(s, "dir-c", Role::Director, "510811100201").await);
    let city = scope_of(&add_user(s, "city", Role::Office, "5108").await);
    let a = left_behind_child(s, &dir_a, "甲", 501).await;
    let mut p = patch("丙", &child_id(7, 502), "510811100201");
    p.father = migrant();
    s.create_child(&dir_c, p, "").await.unwrap();
    // A store whose connections refuse any query that needs more than one shard.
    let router_only = db
        .store_with(&[("citus.multi_task_query_log_level", "error")])
        .await;
    let (due, total) = router_only
        .due_list(&dir_a, Some(code("510812100201")), 1, 50)
        .await
        .unwrap();
    assert_eq!((due.len(), total.count), (1, 1));
    let page = router_only.read_child(&dir_a, &a, false, "").await.unwrap();
    assert_eq!(page.record.name, "甲");
    router_only
        .record_visit(&dir_a, &a, visit_input(true, false), Some("k"), "")
        .await
        .unwrap();
    assert_eq!(router_only.child_visits(&dir_a, &a).await.unwrap().len(), 1);
    // The same setting does refuse a city's list (so the checks above could fail)...
    let filter = ChildFilter {
        per_page: 50,
        ..Default::default()
    };
    assert!(router_only.list_children(&city, &filter).await.is_err());
    // ...which the ordinary store answers over every shard, correctly.
    let (rows, total) = s.list_children(&city, &filter).await.unwrap();
    assert_eq!(total.count, 2);
    let mut names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    names.sort();
    assert_eq!(names, vec!["丙", "甲"]);
}

#[tokio::test]
async fn concurrent_writes_share_commits_and_a_failed_one_takes_nothing_with_it() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let before = s.group_commit_stats();
        // 40 registrations at once, every fourth one the same new 身份证号: one of those
        // wins, the others fail inside the shared transaction (after writing a row) and
        // must leave nothing behind.
        let taken = child_id(9, 700);
        let mut tasks = Vec::new();
        for i in 0..40u32 {
            let (s, dir) = (s.clone(), dir.clone());
            let id = if i % 4 == 0 {
                taken.clone()
            } else {
                child_id(9, 701 + i)
            };
            tasks.push(tokio::spawn(async move {
                s.create_child(&dir, patch("并发", &id, "510812100201"), "")
                    .await
            }));
        }
        let (mut ok, mut refused) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::Conflict { field, .. }) => {
                    assert_eq!(field, "id_number");
                    refused += 1
                }
                Err(e) => panic!("{}: {e:?}", db.label),
            }
        }
        assert_eq!((ok, refused), (31, 9), "{}", db.label);
        // Every acknowledged record is there, and only those.
        let (_, total) = s
            .list_children(
                &dir,
                &ChildFilter {
                    per_page: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(total.count, 31, "{}", db.label);
        if db.label != "citus" {
            // The refused ones had written their locator row before the conflict.
            let stray = db
                .raw("DELETE FROM child_locator WHERE id NOT IN (SELECT id FROM children)")
                .await
                .unwrap();
            assert_eq!(stray, 0, "{}", db.label);
        }
        assert!(s.verify_audit().await.unwrap().is_ok(), "{}", db.label);
        if let (Some((t0, c0)), Some((t1, c1))) = (before, s.group_commit_stats()) {
            let (txs, commits) = (t1 - t0, c1 - c0);
            assert!(txs >= 31, "{txs} transactions");
            assert!(
                commits * 2 <= txs,
                "{txs} transactions in {commits} commits: no grouping"
            );
        }
    }
}

// ---- encryption at rest ------------------------------------------------------------------

fn guardian_with_phone() -> GuardianInput {
    GuardianInput {
        name: Some("李大山".into()),
        relationship: Some("祖父".into()),
        phone: Some("13912345678".into()),
        capacity: Some("有".into()),
        actual_caregiver: true,
        ..Default::default()
    }
}

/// Everything a stolen database file or dump shows of the children's records.
async fn at_rest(db: &TestDb) -> String {
    let mut all = db
        .texts("SELECT id_number || ' ' || details || ' ' || id_index FROM children")
        .await;
    all.extend(db.texts("SELECT changes FROM child_versions").await);
    all.join("\n")
}

#[tokio::test]
async fn numbers_phones_and_details_are_sealed_at_rest_and_still_found() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let id = child_id(9, 301);
        let mut p = patch("李小河", &id, "510812100201");
        p.guardians = Some(vec![guardian_with_phone()]);
        let child = s.create_child(&dir, p, "").await.unwrap();
        let notes = ChildPatch {
            notes: Some("住在河边的老屋".into()),
            ..Default::default()
        };
        s.update_child(&dir, &child.id, notes, None, "")
            .await
            .unwrap();

        let raw = at_rest(&db).await;
        for secret in [id.as_str(), "13912345678", "住在河边的老屋", "李大山"] {
            assert!(
                !raw.contains(secret),
                "{}: {secret} is stored in clear",
                db.label
            );
        }
        assert!(raw.contains("sm4g2:1:"), "{}", db.label);
        // Still found by the number, read back whole, and registered once.
        let f = ChildFilter {
            q: Some(id.clone()),
            per_page: 20,
            ..Default::default()
        };
        assert_eq!(
            s.list_children(&dir, &f).await.unwrap().1.count,
            1,
            "{}",
            db.label
        );
        let back = s.read_child(&dir, &child.id, true, "").await.unwrap();
        assert_eq!(back.record.id_number().as_str(), id);
        assert_eq!(back.record.guardians[0].phone, "13912345678");
        let history = s.child_history(&dir, &child.id).await.unwrap();
        assert!(history[0]
            .changes
            .iter()
            .any(|c| c.new.contains("住在河边")));
        let again = s
            .create_child(&dir, patch("李小河", &id, "510812100201"), "")
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict { .. })),
            "{}",
            db.label
        );
        // A value moved to another record does not open there.
        let other = s
            .create_child(&dir, patch("王小溪", &child_id(8, 302), "510812100201"), "")
            .await
            .unwrap();
        db.raw(&format!(
            "UPDATE children SET details = (SELECT details FROM children
               WHERE county_code = '510812' AND id = '{}') WHERE county_code = '510812' AND id = '{}'",
            child.id, other.id
        ))
        .await
        .unwrap();
        let swapped = s.read_child(&dir, &other.id, false, "").await;
        assert!(
            matches!(&swapped, Err(StoreError::Config(m)) if m.contains("无法解密")),
            "{}: {swapped:?}",
            db.label
        );

        // Another key file (or none) is refused before anything is written.
        let elsewhere = std::env::temp_dir().join(format!("weibao-keys-{}", uuid::Uuid::new_v4()));
        let missing = Store::open_with_keys(Some(&db.url), &elsewhere, None)
            .await
            .unwrap();
        let err = missing.migrate().await.unwrap_err().to_string();
        assert!(
            err.contains("不存在") && err.contains("--key-file"),
            "{err}"
        );
        weibao_store::FieldKeys::generate(&elsewhere.join("weibao.keys"))
            .write()
            .unwrap();
        let wrong = Store::open_with_keys(Some(&db.url), &elsewhere, None)
            .await
            .unwrap();
        let err = wrong.migrate().await.unwrap_err().to_string();
        assert!(err.contains("不符"), "{err}");
        std::fs::remove_dir_all(&elsewhere).unwrap();
    }
}

#[tokio::test]
async fn rotation_reseals_everything_and_retires_the_old_key_and_old_rows_get_sealed() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let dir = scope_of(&add_user(&db.store, "dir-a", Role::Director, "510812100201").await);
        let mut ids = Vec::new();
        for n in 0..3 {
            let mut p = patch("赵小林", &child_id(9, 400 + n), "510812100201");
            p.guardians = Some(vec![guardian_with_phone()]);
            ids.push(db.store.create_child(&dir, p, "").await.unwrap().id);
        }
        // Its own copy of the key file: rotation rewrites it.
        let own = std::env::temp_dir().join(format!("weibao-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&own).unwrap();
        let file = own.join("weibao.keys");
        std::fs::copy(weibao_store::testing::test_key_file(), &file).unwrap();
        let s = Store::open_with_keys(Some(&db.url), &own, Some(&file))
            .await
            .unwrap();
        s.migrate().await.unwrap();
        let office = scope_of(&add_user(&db.store, "office", Role::Office, "510812").await);
        let pending = s.totp_setup(&office, None).await.unwrap();
        let (id, done) = s.rotate_keys().await.unwrap();
        let after = s.totp_pending_uri(&office).await.unwrap().unwrap();
        assert_eq!(
            after.secret, pending.secret,
            "{}: the second factor survives",
            db.label
        );
        assert_eq!(
            (id, done.children, done.versions),
            (2, 3, 3),
            "{}",
            db.label
        );
        let raw = at_rest(&db).await;
        assert!(
            raw.contains("sm4g2:2:") && !raw.contains("sm4g2:1:"),
            "{}",
            db.label
        );
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("sm4 2 ") && !text.contains("sm4 1 "),
            "old key retired"
        );
        let back = s.read_child(&dir, &ids[0], true, "").await.unwrap();
        assert_eq!(back.record.guardians[0].phone, "13912345678");
        assert_eq!(
            s.list_children(
                &dir,
                &ChildFilter {
                    q: Some(child_id(9, 401)),
                    per_page: 20,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .1
            .count,
            1
        );
        // The old key file no longer opens this database.
        let old = weibao_store::testing::open(Some(&db.url), &own)
            .await
            .unwrap();
        assert!(old
            .migrate()
            .await
            .unwrap_err()
            .to_string()
            .contains("不符"));

        // Records from before encryption (clear values, no keys registered) are sealed
        // by the first start that has keys.
        let keys = weibao_store::FieldKeys::read(&file).unwrap().unwrap();
        let raw_row = db
            .texts(&format!(
                "SELECT details FROM children WHERE id = '{}'",
                ids[1]
            ))
            .await;
        let clear = keys
            .open(&format!("children.details:{}", ids[1]), &raw_row[0])
            .unwrap();
        db.raw(&format!(
            "UPDATE children SET id_number = '{}', details = '{}'
               WHERE county_code = '510812' AND id = '{}';
             DELETE FROM field_keys",
            child_id(9, 401),
            clear.replace('\'', "''"),
            ids[1]
        ))
        .await
        .unwrap();
        let reopened = Store::open_with_keys(Some(&db.url), &own, Some(&file))
            .await
            .unwrap();
        reopened.migrate().await.unwrap();
        let raw = at_rest(&db).await;
        assert!(
            !raw.contains(&child_id(9, 401)) && !raw.contains("13912345678"),
            "{}",
            db.label
        );
        let back = reopened.read_child(&dir, &ids[1], true, "").await.unwrap();
        assert_eq!(back.record.id_number().as_str(), child_id(9, 401));
        std::fs::remove_dir_all(&own).unwrap();
    }
}

#[tokio::test]
async fn usernames_are_one_account_whatever_their_case_or_width() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let made = add_user(&db.store, " DirA ", Role::Director, "510812100201").await;
        assert_eq!(made.username, "dira", "{}", db.label);
        for typed in ["dira", "DIRA", " DirA ", "ＤｉｒＡ"] {
            assert!(
                matches!(
                    login(&db.store, typed, PASSWORD).await,
                    LoginOutcome::Success { .. }
                ),
                "{}: {typed:?} should sign in",
                db.label
            );
        }
        // The same name in another case is the same account: 409, nothing created.
        let again = db
            .store
            .create_user(
                &Scope::system(),
                NewUser {
                    username: "dirA".into(),
                    display_name: "另一个".into(),
                    role: Role::Director,
                    division: code("510812100202"),
                    unit: None,
                    phone: None,
                    password: PASSWORD.into(),
                    must_change_password: false,
                    designated: false,
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                again,
                StoreError::Conflict {
                    code: "username_taken",
                    ..
                }
            ),
            "{}: {again:?}",
            db.label
        );
        // An account stored before names were folded keeps signing in as written.
        db.raw("UPDATE users SET username = 'OldName' WHERE username = 'dira'")
            .await
            .unwrap();
        assert!(
            matches!(
                login(&db.store, "OldName", PASSWORD).await,
                LoginOutcome::Success { .. }
            ),
            "{}",
            db.label
        );
        assert!(
            matches!(
                login(&db.store, "dira", PASSWORD).await,
                LoginOutcome::WrongCredentials
            ),
            "{}",
            db.label
        );
    }
}
