//! The storage suite: every test runs on SQLite and on a real PostgreSQL server.

use weibao_domain::access::{Role, Scope};
use weibao_domain::DivisionCode;
use weibao_store::testing::TestDb;
use weibao_store::{
    DivisionImportRow, LoginOutcome, NewUser, SessionKind, Store, StoreError, LOCK_MS,
    SESSION_IDLE_MS,
};

const PASSWORD: &str = "Weibao@2026";

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
            },
        )
        .await
        .unwrap()
}

fn scope_of(u: &weibao_store::User) -> Scope {
    Scope::new(&u.id, &u.username, u.role, u.division, u.unit.clone())
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
