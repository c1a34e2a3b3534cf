//! The application from outside: the JSON API and pages over real HTTP (on SQLite and
//! PostgreSQL), the command line, and the UI in a real headless Chromium.

mod support;

#[path = "app/activities.rs"]
mod activities;
#[path = "app/allowances.rs"]
mod allowances;
#[path = "app/committee.rs"]
mod committee;
#[path = "app/finding.rs"]
mod finding;
#[path = "app/import_corpus.rs"]
mod import_corpus;
#[path = "app/network.rs"]
mod network;
#[path = "app/offline.rs"]
mod offline;
#[path = "app/proposals.rs"]
mod proposals;
#[path = "app/record_checks.rs"]
mod record_checks;
#[path = "app/reports.rs"]
mod reports;
#[path = "app/reports_pages.rs"]
mod reports_pages;
#[path = "app/stats.rs"]
mod stats;
#[path = "app/warnings.rs"]
mod warnings;

use serde_json::json;
use support::{Browser, TestApp, PASSWORD};

const COUNTY: &str = "510812";
const TOWNSHIP_A: &str = "510812100"; // 朝天镇
const TOWNSHIP_B: &str = "510812101"; // 大滩镇
const VILLAGE_A1: &str = "510812100200"; // 朝天村
const VILLAGE_A2: &str = "510812100202"; // 青云村
const VILLAGE_B1: &str = "510812101200"; // 横梁村

// ---- API -------------------------------------------------------------------------------

#[test]
fn login_returns_a_token_that_opens_the_division_tree() {
    for app in TestApp::all() {
        let token = app.token("office");
        let (status, body) = app.get(
            &format!("/api/v1/divisions/{COUNTY}/children"),
            Some(&token),
        );
        assert_eq!(status, 200, "{}: {body}", app.label);
        let items = body.as_array().unwrap();
        assert_eq!(items.len(), 12, "{}: 朝天区 has 12 townships", app.label);
        assert_eq!(
            items[0],
            json!({"code": "510812100000", "name": "朝天镇", "level": "township"})
        );
        // Short and 12-digit forms of the path mean the same division.
        let (_, long) = app.get("/api/v1/divisions/510812000000/children", Some(&token));
        assert_eq!(long, body);
        let (status, village) = app.get(
            &format!("/api/v1/divisions/{TOWNSHIP_A}/children"),
            Some(&token),
        );
        assert_eq!(status, 200);
        assert!(village
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["level"] == "village" && v["code"].as_str().unwrap().len() == 12));
    }
}

#[test]
fn out_of_range_and_malformed_parameters_are_refused_in_json_not_clamped() {
    let app = TestApp::sqlite();
    let token = app.token("office");
    for (path, field) in [
        ("/api/v1/children?per_page=201", "per_page"),
        ("/api/v1/children?per_page=0", "per_page"),
        ("/api/v1/children?page=0", "page"),
        ("/api/v1/children?page=100001", "page"),
        ("/api/v1/visits/due?per_page=500", "per_page"),
        ("/api/v1/children?age_min=151", "age_min"),
        ("/api/v1/children?sort=random", "sort"),
    ] {
        let (status, body) = app.get(path, Some(&token));
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(body["error"]["field"], field, "{path}");
    }
    // What the query parser itself refuses comes back as JSON too.
    let (status, body) = app.get("/api/v1/children?page=-1", Some(&token));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_query");
    let (status, body) = app.get("/api/v1/children?per_page=200", Some(&token));
    assert_eq!((status, body["per_page"].as_u64()), (200, Some(200)));
    // An upload that is not multipart is refused in JSON.
    let (status, ct, body) = app.raw(
        "POST",
        "/api/v1/children/import?division=510812",
        &[
            ("authorization", &format!("Bearer {token}")),
            ("content-type", "text/plain"),
        ],
        Some(b"hello"),
    );
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(ct.starts_with("application/json"), "{ct}");
    // An optional body may be null, but not another JSON value.
    let (status, _) = app.send(
        "POST",
        "/api/v1/auth/totp/setup",
        Some(&token),
        Some("null".into()),
    );
    assert_eq!(status, 200);
    let (status, body) = app.send(
        "POST",
        "/api/v1/auth/totp/setup",
        Some(&token),
        Some(r#"["123456"]"#.into()),
    );
    assert_eq!(status, 422, "{body}");
}

#[test]
fn the_api_refuses_without_a_token_and_explains_bad_input() {
    for app in TestApp::all() {
        let (status, body) = app.get(&format!("/api/v1/divisions/{COUNTY}/children"), None);
        assert_eq!(status, 401, "{}", app.label);
        assert_eq!(body["error"]["code"], "unauthorized");
        let (status, _) = app.get("/api/v1/me", Some(&"f".repeat(64)));
        assert_eq!(status, 401);
        let (status, body) = app.get("/api/v1/nothing-here", None);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("no_such_route"))
        );
        let token = app.token("office");
        let (status, body) = app.get("/api/v1/divisions/51081x/children", Some(&token));
        assert_eq!(status, 422);
        assert_eq!(body["error"]["field"], "code");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("区划代码"));
        let (status, body) = app.send("POST", "/api/v1/auth/login", None, Some("{not json".into()));
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "malformed_json");
        let (status, body) = app.post("/api/v1/auth/login", None, json!({"username": "office"}));
        assert_eq!(status, 422, "{body}");
        let (status, body) = app.post(
            "/api/v1/auth/login",
            None,
            json!({"username": "office", "password": "Wrong#2026"}),
        );
        assert_eq!(status, 401);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("用户名或密码错误"));
    }
}

#[test]
fn a_director_and_a_supervisor_reach_nothing_outside_their_subtree_through_the_api() {
    for app in TestApp::all() {
        let director = app.token("dir-a1");
        let supervisor = app.token("sup-a");
        let children = |token: &str, code: &str| {
            app.get(&format!("/api/v1/divisions/{code}/children"), Some(token))
                .0
        };
        let one =
            |token: &str, code: &str| app.get(&format!("/api/v1/divisions/{code}"), Some(token)).0;
        assert_eq!(children(&director, VILLAGE_A1), 200);
        assert_eq!(one(&director, VILLAGE_A1), 200);
        for outside in [
            VILLAGE_A2, VILLAGE_B1, TOWNSHIP_A, TOWNSHIP_B, COUNTY, "5108", "51",
        ] {
            assert_eq!(
                children(&director, outside),
                404,
                "{}: director → {outside}",
                app.label
            );
            assert_eq!(
                one(&director, outside),
                404,
                "{}: director → {outside}",
                app.label
            );
        }
        assert_eq!(children(&supervisor, TOWNSHIP_A), 200);
        assert_eq!(one(&supervisor, VILLAGE_A2), 200);
        for outside in [TOWNSHIP_B, VILLAGE_B1, COUNTY, "5108"] {
            assert_eq!(
                children(&supervisor, outside),
                404,
                "{}: supervisor → {outside}",
                app.label
            );
        }
        // Account lists follow the same subtree, and directors may not list accounts at all.
        let (status, body) = app.get("/api/v1/users", Some(&supervisor));
        assert_eq!(status, 200);
        let names: Vec<&str> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["sup-a", "dir-a1", "dir-a2"], "{}", app.label);
        assert_eq!(
            app.get(
                &format!("/api/v1/users?division={TOWNSHIP_B}"),
                Some(&supervisor)
            )
            .0,
            404
        );
        assert_eq!(app.get("/api/v1/users", Some(&director)).0, 403);
    }
}

#[test]
fn an_account_made_with_a_temporary_password_must_change_it_first() {
    for app in TestApp::all() {
        let office = app.token("office");
        let (status, body) = app.post(
            "/api/v1/users",
            Some(&office),
            json!({"username": "wang", "display_name": "王五", "role": "director",
                   "division": VILLAGE_B1, "password": "Temp#2026x"}),
        );
        assert_eq!(status, 201, "{}: {body}", app.label);
        assert_eq!(body["division"], VILLAGE_B1);
        assert_eq!(body["must_change_password"], true);
        let (status, body) = app.post(
            "/api/v1/users",
            Some(&office),
            json!({"username": "wang", "display_name": "王五", "role": "director",
                   "division": VILLAGE_B1, "password": "Temp#2026x"}),
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (409, Some("username"))
        );
        let (status, body) = app.post(
            "/api/v1/users",
            Some(&office),
            json!({"username": "zhao", "display_name": "赵六", "role": "supervisor",
                   "division": VILLAGE_B1, "password": "Temp#2026x"}),
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("division")),
            "{body}"
        );
        // A supervisor may not create accounts; an office may not create an admin.
        let sup = app.token("sup-a");
        let (status, _) = app.post(
            "/api/v1/users",
            Some(&sup),
            json!({"username": "x1x", "display_name": "x",
            "role": "director", "division": VILLAGE_A1, "password": "Temp#2026x"}),
        );
        assert_eq!(status, 403);
        let (status, _) = app.post(
            "/api/v1/users",
            Some(&office),
            json!({"username": "x2x", "display_name": "x",
            "role": "admin", "division": COUNTY, "password": "Temp#2026x"}),
        );
        assert_eq!(status, 403);

        let (status, login) = app.post(
            "/api/v1/auth/login",
            None,
            json!({"username": "wang", "password": "Temp#2026x"}),
        );
        assert_eq!(status, 200);
        assert_eq!(login["must_change_password"], true);
        let token = login["token"].as_str().unwrap().to_string();
        let (status, body) = app.get(&format!("/api/v1/divisions/{VILLAGE_B1}"), Some(&token));
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("password_change_required"))
        );
        let (status, body) = app.post(
            "/api/v1/auth/password",
            Some(&token),
            json!({"old_password": "Temp#2026x", "new_password": "short"}),
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("new_password"))
        );
        let (status, _) = app.post(
            "/api/v1/auth/password",
            Some(&token),
            json!({"old_password": "Temp#2026x", "new_password": "Mine#2026yy"}),
        );
        assert_eq!(status, 204);
        assert_eq!(
            app.get(&format!("/api/v1/divisions/{VILLAGE_B1}"), Some(&token))
                .0,
            200
        );
    }
}

#[test]
fn five_wrong_passwords_lock_the_account_with_423() {
    for app in TestApp::all() {
        let wrong = json!({"username": "sup-b", "password": "Wrong#2026"});
        for _ in 0..4 {
            assert_eq!(app.post("/api/v1/auth/login", None, wrong.clone()).0, 401);
        }
        let (status, body) = app.post("/api/v1/auth/login", None, wrong);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (423, Some("account_locked")),
            "{}",
            app.label
        );
        let right = json!({"username": "sup-b", "password": PASSWORD});
        assert_eq!(app.post("/api/v1/auth/login", None, right).0, 423);
    }
}

#[test]
fn one_address_trying_many_accounts_gets_429_and_imports_are_rate_limited() {
    let app = TestApp::sqlite();
    // Wrong passwords on 20 different (unknown) accounts: each answers 401...
    for n in 0..20 {
        let (status, body) = app.post(
            "/api/v1/auth/login",
            None,
            json!({"username": format!("guess-{n}"), "password": "Wrong#2026x"}),
        );
        assert_eq!(status, 401, "{body}");
    }
    // ...then the address is refused, even with a right password, with Retry-After.
    let refused = match ureq::post(&format!("{}/api/v1/auth/login", app.base))
        .send_json(json!({"username": "office", "password": PASSWORD}))
    {
        Err(ureq::Error::Status(429, r)) => r,
        other => panic!("expected 429: {other:?}"),
    };
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=600).contains(&wait), "{wait}");
    let body: serde_json::Value = refused.into_json().unwrap();
    assert_eq!(body["error"]["code"], "too_many_logins", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("秒后再试"));
    // The login form says so too.
    let (status, _, page) = app.raw(
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(format!("username=office&password={}", support::url_encode(PASSWORD)).as_bytes()),
    );
    assert_eq!(status, 429);
    assert!(String::from_utf8_lossy(&page).contains("过于频繁"));
    // Ten minutes later the address may try again.
    app.store.clock().advance_ms(10 * 60 * 1000);
    let token = app.token("office");

    // Imports: ten a minute per account, then 429.
    for _ in 0..10 {
        let (status, _) = upload(
            &app,
            &token,
            &format!("/api/v1/children/import?division={COUNTY}"),
            b"not a workbook",
        );
        assert_eq!(status, 422);
    }
    let (status, body) = upload(
        &app,
        &token,
        &format!("/api/v1/children/import?division={COUNTY}"),
        b"not a workbook",
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("too_many_imports")),
        "{body}"
    );
}

#[test]
fn the_security_officer_ends_a_session_and_the_auditor_exports_the_log() {
    let app = TestApp::sqlite();
    app.block_on(app.store.create_user(
        &weibao_domain::access::Scope::system(),
        weibao_store::NewUser {
            username: "sec".into(),
            display_name: "安全管理员".into(),
            role: weibao_domain::access::Role::Security,
            division: COUNTY.parse().unwrap(),
            unit: None,
            phone: None,
            password: PASSWORD.into(),
            must_change_password: false,
            designated: false,
        },
    ))
    .unwrap();
    let dir = app.token("dir-a1");
    let sec = app.token("sec");
    let (status, list) = app.get("/api/v1/sessions", Some(&sec));
    assert_eq!(status, 200, "{list}");
    let session = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == "dir-a1")
        .expect("the director's session is listed")
        .clone();
    assert!(!list.to_string().contains(&dir), "tokens are never listed");
    let (status, _, _) = app.raw(
        "DELETE",
        &format!("/api/v1/sessions/{}", session["handle"].as_str().unwrap()),
        &[("authorization", &format!("Bearer {sec}"))],
        None,
    );
    assert_eq!(status, 204);
    assert_eq!(
        app.get("/api/v1/me", Some(&dir)).0,
        401,
        "the session is over"
    );
    // The page shows sessions too, with a button per session.
    let cookie = app.cookie("sec");
    let (status, html) = app.text("/sessions", Some(&cookie));
    assert_eq!(status, 200);
    assert!(html.contains("在线会话") && html.contains("/end"), "{html}");

    // The auditor exports the log between two dates; the export is itself audited.
    let auditor = app.cookie("auditor");
    let today = app.store.clock().today();
    let (status, _, bytes) = app.raw(
        "GET",
        &format!(
            "/audit/export.xlsx?from={}&to={today}",
            today - chrono::Duration::days(1)
        ),
        &[("cookie", &auditor)],
        None,
    );
    assert_eq!(status, 200);
    let aliases = weibao_sheets::HeaderMatcher::new(vec![
        ("action".into(), vec!["操作".into()]),
        ("target".into(), vec!["对象".into()]),
    ]);
    let table = weibao_sheets::read_table(&bytes, &aliases, &["action"], 10_000).unwrap();
    let actions: Vec<String> = table
        .rows
        .iter()
        .map(|r| r.cells["action"].text())
        .collect();
    assert!(actions.iter().any(|a| a == "session.end"), "{actions:?}");
    assert!(actions.iter().filter(|a| *a == "auth.login").count() >= 3);
    let (_, html) = app.text("/audit", Some(&auditor));
    assert!(html.contains("audit.export"), "the export is in the log");
    let (status, _, _) = app.raw(
        "GET",
        "/audit/export.xlsx?from=2026-13-01&to=2026-01-01",
        &[("cookie", &auditor)],
        None,
    );
    assert_eq!(status, 422);
}

#[test]
fn an_office_account_turns_on_two_step_sign_in_and_then_needs_its_code() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    // Directors are not offered it.
    let (status, _) = app.post(
        "/api/v1/auth/totp/setup",
        Some(&app.token("dir-a1")),
        json!({}),
    );
    assert_eq!(status, 403);
    let (status, setup) = app.post("/api/v1/auth/totp/setup", Some(&office), json!({}));
    assert_eq!(status, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_string();
    assert!(setup["uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    // Until a code confirms it, nothing changes at sign-in.
    app.token("office");
    let code = |at: i64| weibao_store::code_for(&secret, at).unwrap();
    let now = || app.store.clock().now_ms();
    let (status, body) = app.post(
        "/api/v1/auth/totp/enable",
        Some(&office),
        json!({"code": "000000"}),
    );
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("code")),
        "{body}"
    );
    let (status, _) = app.post(
        "/api/v1/auth/totp/enable",
        Some(&office),
        json!({"code": code(now())}),
    );
    assert_eq!(status, 204);
    let login = |totp: Option<String>| {
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"username": "office", "password": PASSWORD, "totp": totp}),
        )
    };
    let (status, body) = login(None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("totp_required")),
        "{body}"
    );
    let (status, _) = login(Some("000000".into()));
    assert_eq!(status, 401);
    // The next step's code (the enabling one is used up), then the same one again: refused.
    app.store.clock().advance_ms(30_000);
    let fresh = code(now());
    assert_eq!(login(Some(fresh.clone())).0, 200);
    assert_eq!(login(Some(fresh)).0, 401, "a code works once");
    // A session alone cannot swap in another authenticator: the current code is needed.
    let (status, body) = app.post("/api/v1/auth/totp/setup", Some(&office), json!({}));
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("code")),
        "{body}"
    );
    let (status, _) = login(None);
    assert_eq!(status, 401, "still on");
    // The login form asks for it too.
    let (status, _, page) = app.raw(
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(format!("username=office&password={}", support::url_encode(PASSWORD)).as_bytes()),
    );
    assert_eq!(status, 401);
    assert!(String::from_utf8_lossy(&page).contains("两步验证"));
    app.store.clock().advance_ms(30_000);
    let (status, _, _) = app.raw(
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(
            format!(
                "username=office&password={}&totp={}",
                support::url_encode(PASSWORD),
                code(now())
            )
            .as_bytes(),
        ),
    );
    assert_eq!(status, 303);
}

#[test]
fn sign_ins_and_writes_are_audited_and_the_chain_verifies() {
    for app in TestApp::all() {
        app.token("office");
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"username": "office", "password": "nope"}),
        );
        let entries = app
            .block_on(
                app.store
                    .recent_audit(&weibao_domain::access::Scope::system(), 50),
            )
            .unwrap();
        let logins: Vec<(&str, &str)> = entries
            .iter()
            .filter(|e| e.action == "auth.login" && e.target == "office")
            .map(|e| (e.outcome.as_str(), e.ip.as_str()))
            .collect();
        assert_eq!(
            logins,
            [("failed", "127.0.0.1"), ("ok", "127.0.0.1")],
            "{}",
            app.label
        );
        assert!(entries.iter().any(|e| e.action == "user.create"));
        assert!(app.block_on(app.store.verify_audit()).unwrap().is_ok());
    }
}

#[test]
fn openapi_health_and_metrics_are_served() {
    let app = TestApp::sqlite();
    let (status, doc) = app.get("/api/v1/openapi.json", None);
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let op = &doc["paths"]["/api/v1/divisions/{code}/children"]["get"];
    assert_eq!(op["x-weibao-access"], "view_divisions");
    assert!(op["x-weibao-roles"]
        .as_array()
        .unwrap()
        .contains(&json!("director")));
    assert_eq!(
        doc["paths"]["/api/v1/users"]["post"]["x-weibao-roles"],
        json!(["admin", "office"])
    );
    assert_eq!(app.text("/healthz", None).0, 200);
    app.get(&format!("/api/v1/divisions/{COUNTY}/children"), None);
    let (status, metrics) = app.text("/metrics", None);
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"weibao_http_requests_total{method="GET",route="/api/v1/divisions/{code}/children",status="401"} 1"#),
        "{metrics}"
    );
    // SQLite's group commit: the writes so far (users, audit entries), in no more commits.
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    let (transactions, commits) = (
        counter("weibao_sqlite_transactions_total "),
        counter("weibao_sqlite_commits_total "),
    );
    assert!(
        transactions > 0 && commits > 0 && commits <= transactions,
        "{metrics}"
    );
}

// ---- the ledger over the API -------------------------------------------------------------

fn child_id(years_ago: i32, seq: u32) -> String {
    use chrono::Datelike;
    let t = chrono::Utc::now().date_naive();
    let birth = chrono::NaiveDate::from_ymd_opt(t.year() - years_ago, 3, 7).unwrap();
    let first17 = format!("510812{}{:03}", birth.format("%Y%m%d"), seq);
    format!(
        "{first17}{}",
        weibao_domain::id_number::check_char(first17.as_bytes())
    )
}

#[test]
fn children_are_created_listed_read_and_changed_through_the_api() {
    for app in TestApp::all() {
        let dir = app.token("dir-a1");
        let id = child_id(9, 321);
        let (status, body) = app.post("/api/v1/children", Some(&dir), json!({
            "name": "张小花", "id_number": id, "division": VILLAGE_A1,
            "father": {"status": "外出务工", "since": "2024-02-01", "place": "广东省东莞市"},
            "mother": {"status": "外出务工", "since": "2024-02-01"},
            "guardians": [{"name": "李秀兰", "relationship": "祖母", "phone": "13812345678", "actual_caregiver": true}]
        }));
        assert_eq!(status, 201, "{}: {body}", app.label);
        let child = body["id"].as_str().unwrap().to_string();
        assert_eq!(body["division"], VILLAGE_A1);
        assert_eq!(
            body["id_number"],
            format!("{}**********{}", &id[..4], &id[14..])
        );
        assert_eq!(body["categories"], json!(["农村留守儿童"]));
        assert_eq!(body["guardians"][0]["phone"], "138****5678");
        // 422 names the field; 409 for an ID already in the ledger.
        let mut bad = id.clone();
        bad.replace_range(17..18, if id.ends_with('1') { "2" } else { "1" });
        let (status, body) = app.post(
            "/api/v1/children",
            Some(&dir),
            json!({"name": "甲", "id_number": bad, "division": VILLAGE_A1}),
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("id_number")),
            "{body}"
        );
        let (status, body) = app.post(
            "/api/v1/children",
            Some(&dir),
            json!({"name": "甲", "id_number": child_id(18, 1), "division": VILLAGE_A1}),
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("id_number")),
            "an adult: {body}"
        );
        let (status, body) = app.post(
            "/api/v1/children",
            Some(&dir),
            json!({"name": "乙", "id_number": id, "division": VILLAGE_A1}),
        );
        assert_eq!(status, 409, "{body}");
        let (status, _) = app.post(
            "/api/v1/children",
            Some(&dir),
            json!({"name": "丙", "division": VILLAGE_A1}),
        );
        assert_eq!(status, 422);
        // List: masked IDs, 12-digit divisions, filters.
        let (status, list) = app.get(
            &format!("/api/v1/children?division={TOWNSHIP_A}&category=农村留守儿童"),
            Some(&app.token("sup-a")),
        );
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["id"], child.as_str());
        assert!(list["items"][0]["id_number"]
            .as_str()
            .unwrap()
            .contains("**********"));
        // Read, reveal, patch, history.
        let (status, full) = app.get(&format!("/api/v1/children/{child}?reveal=true"), Some(&dir));
        assert_eq!(
            (status, full["id_number"].as_str()),
            (200, Some(id.as_str()))
        );
        assert_eq!(full["guardians"][0]["phone"], "13812345678");
        let (status, body) = app.send(
            "PATCH",
            &format!("/api/v1/children/{child}"),
            Some(&dir),
            Some(json!({"risk": "高"}).to_string()),
        );
        assert_eq!(
            (status, body["risk"].as_str(), body["version"].as_i64()),
            (200, Some("高"), Some(2)),
            "{body}"
        );
        let (status, body) = app.send(
            "PATCH",
            &format!("/api/v1/children/{child}?version=1"),
            Some(&dir),
            Some(json!({"risk": "低"}).to_string()),
        );
        assert_eq!(status, 409, "{body}");
        let (status, body) = app.send(
            "PATCH",
            &format!("/api/v1/children/{child}"),
            Some(&dir),
            Some(json!({"division": VILLAGE_A2}).to_string()),
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("division"))
        );
        let (status, body) = app.send(
            "PATCH",
            &format!("/api/v1/children/{child}"),
            Some(&dir),
            Some(json!({"colour": "red"}).to_string()),
        );
        assert_eq!(
            status, 422,
            "unknown fields are refused, not ignored: {body}"
        );
        let (_, history) = app.get(&format!("/api/v1/children/{child}/history"), Some(&dir));
        assert_eq!(
            history[0]["changes"][0],
            json!({"field": "risk", "label": "风险等级", "old": "低", "new": "高"})
        );
        assert_eq!(history.as_array().unwrap().len(), 2);
    }
}

#[test]
fn the_ledger_api_answers_404_outside_the_subtree_and_403_to_roles_without_it() {
    for app in TestApp::all() {
        let dir = app.token("dir-a1");
        let (_, body) = app.post(
            "/api/v1/children",
            Some(&dir),
            json!({"name": "张小花", "id_number": child_id(8, 1), "division": VILLAGE_A1}),
        );
        let child = body["id"].as_str().unwrap().to_string();
        for (user, expected) in [
            ("dir-a2", 404),
            ("dir-b1", 404),
            ("sup-b", 404),
            ("sup-a", 200),
            ("office", 200),
            ("auditor", 403),
        ] {
            let token = app.token(user);
            let (status, _) = app.get(&format!("/api/v1/children/{child}"), Some(&token));
            assert_eq!(status, expected, "{}: {user} GET", app.label);
            let (status, _) = app.get(&format!("/api/v1/children/{child}/history"), Some(&token));
            assert_eq!(status, expected, "{}: {user} history", app.label);
            let (status, _) = app.send(
                "PATCH",
                &format!("/api/v1/children/{child}"),
                Some(&token),
                Some(json!({"notes": "x"}).to_string()),
            );
            assert_eq!(status, expected, "{}: {user} PATCH", app.label);
        }
        // Registering in someone else's village.
        let (status, _) = app.post(
            "/api/v1/children",
            Some(&app.token("dir-a2")),
            json!({"name": "乙", "id_number": child_id(8, 2), "division": VILLAGE_A1}),
        );
        assert_eq!(status, 404);
        assert_eq!(
            app.get("/api/v1/children", Some(&app.token("auditor"))).0,
            403
        );
        let (status, body) = app.get("/api/v1/children", Some(&app.token("dir-a2")));
        assert_eq!((status, body["total"].as_i64()), (200, Some(0)));
    }
}

#[test]
fn a_transfer_is_accepted_by_the_receiving_village() {
    for app in TestApp::all() {
        let dir = app.token("dir-a1");
        let (_, body) = app.post(
            "/api/v1/children",
            Some(&dir),
            json!({"name": "张小花", "id_number": child_id(8, 7), "division": VILLAGE_A1}),
        );
        let child = body["id"].as_str().unwrap().to_string();
        let (status, t) = app.post(
            &format!("/api/v1/children/{child}/transfer"),
            Some(&dir),
            json!({"to_division": VILLAGE_B1, "reason": "随祖母迁居"}),
        );
        assert_eq!(status, 201, "{t}");
        let receiver = app.token("dir-b1");
        let (_, incoming) = app.get("/api/v1/transfers/incoming", Some(&receiver));
        assert_eq!(incoming.as_array().unwrap().len(), 1);
        let tid = incoming[0]["id"].as_str().unwrap();
        assert_eq!(
            app.post(
                &format!("/api/v1/transfers/{tid}/decision"),
                Some(&dir),
                json!({"accept": true})
            )
            .0,
            404
        );
        let (status, done) = app.post(
            &format!("/api/v1/transfers/{tid}/decision"),
            Some(&receiver),
            json!({"accept": true}),
        );
        assert_eq!(
            (status, done["status"].as_str()),
            (200, Some("accepted")),
            "{done}"
        );
        assert_eq!(
            app.get(&format!("/api/v1/children/{child}"), Some(&dir)).0,
            404
        );
        let (_, moved) = app.get(&format!("/api/v1/children/{child}"), Some(&receiver));
        assert_eq!(moved["division"], VILLAGE_B1);
    }
}

#[test]
fn a_county_setting_changes_which_categories_the_facts_imply() {
    let app = TestApp::sqlite();
    let url = app.db_url();
    let office = app.token("office");
    let six_months_ago =
        (chrono::Utc::now().date_naive() - chrono::Duration::days(190)).to_string();
    let body = |seq: u32| {
        json!({"name": "张小花", "id_number": child_id(9, seq), "division": VILLAGE_A1,
        "father": {"status": "外出务工", "since": six_months_ago}, "mother": {"status": "外出务工", "since": six_months_ago}})
    };
    let (_, before) = app.post("/api/v1/children", Some(&office), body(71));
    assert_eq!(before["categories"], json!(["农村留守儿童"]));
    let rules = r#"{"effective_from":"2020-01-01","restriction_min_months":6,"lost_contact_min_months":6,"left_behind_max_age":16,"left_behind_min_months":12,"adult_age":18}"#;
    let out = support::weibao(
        &[
            "--database",
            &url,
            "settings",
            "set",
            "--key",
            "category_rules",
            "--region",
            COUNTY,
            "--from",
            "2020-01-01",
            "--value",
            rules,
        ],
        None,
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = support::weibao(
        &[
            "--database",
            &url,
            "settings",
            "set",
            "--key",
            "category_rules",
            "--from",
            "2020-01-01",
            "--value",
            "{\"adult_age\":\"x\"}",
        ],
        None,
        None,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--value"));
    let (_, after) = app.post("/api/v1/children", Some(&office), body(72));
    assert_eq!(
        after["categories"],
        json!([]),
        "12 months now needed in this county"
    );
    // The earlier record is now flagged with the reason.
    let (_, first) = app.get(
        &format!("/api/v1/children/{}", before["id"].as_str().unwrap()),
        Some(&office),
    );
    let message = first["discrepancies"][0]["message"].as_str().unwrap();
    assert!(message.contains("未满 12 个月"), "{message}");
}

// ---- Excel in and out ---------------------------------------------------------------------

/// A ledger the way a township keeps it: a merged title row, a note, a blank row, headers
/// in their own order and words, dates and IDs in every form, stray spaces, full-width
/// characters, a lower-case x.
fn messy_ledger(rows: &[[&str; 6]]) -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let title = Format::new().set_bold();
    ws.merge_range(0, 0, 0, 6, "朝天镇困境儿童动态台账（2026年）", &title)
        .unwrap();
    ws.write_string(1, 0, "填报单位：朝天镇人民政府").unwrap();
    let headers = [
        "序号",
        "所在村",
        "儿童姓名",
        "公民身份号码",
        "父亲情况",
        "父亲外出时间",
        "联系电话",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(3, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (i, r) in rows.iter().enumerate() {
        let row = 4 + i as u32 + (i as u32 / 2); // a blank row after every two
        ws.write_number(row, 0, (i + 1) as f64).unwrap();
        ws.write_string(row, 1, r[0]).unwrap();
        ws.write_string(row, 2, r[1]).unwrap();
        if let Some(n) = r[2].strip_prefix("num:") {
            ws.write_number(row, 3, n.parse::<f64>().unwrap()).unwrap();
        } else {
            ws.write_string(row, 3, r[2]).unwrap();
        }
        ws.write_string(row, 4, r[3]).unwrap();
        if let Some(d) = r[4].strip_prefix("date:") {
            let d = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
            use chrono::Datelike;
            let dt =
                ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).unwrap();
            ws.write_datetime_with_format(row, 5, &dt, &date).unwrap();
        } else {
            ws.write_string(row, 5, r[4]).unwrap();
        }
        ws.write_string(row, 6, r[5]).unwrap();
    }
    wb.save_to_buffer().unwrap()
}

fn multipart(bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "weibao-test-boundary-7311";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ledger.xlsx\"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn upload(app: &TestApp, token: &str, path: &str, bytes: &[u8]) -> (u16, serde_json::Value) {
    let (ct, body) = multipart(bytes);
    let res = ureq::post(&format!("{}{path}", app.base))
        .set("authorization", &format!("Bearer {token}"))
        .set("content-type", &ct)
        .send_bytes(&body);
    let res = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = res.status();
    (
        status,
        serde_json::from_str(&res.into_string().unwrap()).unwrap(),
    )
}

#[test]
fn a_messy_township_ledger_is_checked_row_by_row_then_imported_whole() {
    for app in TestApp::all() {
        let sup = app.token("sup-a");
        let good_id = child_id(9, 11);
        let x_id = {
            // One with a lower-case x check character, if this sequence gives one.
            let mut seq = 12;
            loop {
                let id = child_id(7, seq);
                if id.ends_with('X') {
                    break id.to_lowercase();
                }
                seq += 1;
            }
        };
        let old_style = child_id(5, 13);
        let rows = [
            [
                "朝天村",
                " 张小花 ",
                &good_id,
                "外出务工",
                "date:2024-02-01",
                "138 1234 5678",
            ],
            [
                "青云村",
                "李小军",
                &x_id,
                "外出务工",
                "2024年3月5日",
                "13912345678",
            ],
            [
                "朝天村村民委员会",
                "王　小明",
                &format!("num:{}", &old_style[..15]),
                "在家",
                "",
                "",
            ],
            ["不存在村", "赵六", &child_id(6, 14), "在家", "", ""],
            [
                "朝天村",
                "钱七",
                &format!("num:{old_style}"),
                "在家",
                "",
                "",
            ],
            ["朝天村", "孙八", &good_id, "死亡", "2023.05.06", ""],
        ];
        let ledger = messy_ledger(&rows);
        let (status, report) = upload(
            &app,
            &sup,
            &format!("/api/v1/children/import?division={TOWNSHIP_A}&dry_run=true"),
            &ledger,
        );
        assert_eq!(status, 200, "{}: {report}", app.label);
        assert_eq!(report["header_row"], 4);
        assert_eq!(report["rows_read"], 6);
        let errors: Vec<(i64, String)> = report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["row"].as_i64().unwrap(),
                    e["field"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        // Rows 5, 6 | blank 7 | 8, 9 | blank 10 | 11, 12 as Excel numbers them.
        assert_eq!(
            errors,
            [
                (8, "id_number".to_string()),
                (9, "village".into()),
                (11, "id_number".into()),
                (12, "id_number".into())
            ],
            "{}: {report}",
            app.label
        );
        let msgs: Vec<&str> = report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert!(msgs[2].contains("存成了数字"), "{msgs:?}");
        assert!(
            msgs[3].contains("第 5 行"),
            "duplicate within the file names the first row: {msgs:?}"
        );
        // A commit with bad rows imports nothing.
        let (status, report) = upload(
            &app,
            &sup,
            &format!("/api/v1/children/import?division={TOWNSHIP_A}&dry_run=false"),
            &ledger,
        );
        assert_eq!((status, report["imported"].as_i64()), (422, Some(0)));
        assert_eq!(app.get("/api/v1/children", Some(&sup)).1["total"], 0);
        // The good rows alone import whole.
        let clean = messy_ledger(&rows[..2]);
        let (status, report) = upload(
            &app,
            &sup,
            &format!("/api/v1/children/import?division={TOWNSHIP_A}&dry_run=false"),
            &clean,
        );
        assert_eq!(
            (status, report["imported"].as_i64()),
            (200, Some(2)),
            "{report}"
        );
        let (_, list) = app.get(
            &format!("/api/v1/children?division={TOWNSHIP_A}&sort=name"),
            Some(&sup),
        );
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["张小花", "李小军"]);
        let one = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "李小军")
            .unwrap();
        assert!(one["id_number"].as_str().unwrap().ends_with('X'));
        // Not a workbook: a clear refusal naming the file.
        let (status, body) = upload(
            &app,
            &sup,
            &format!("/api/v1/children/import?division={TOWNSHIP_A}"),
            b"name,id\n",
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("file")),
            "{body}"
        );
        // Outside the subtree.
        let (status, _) = upload(
            &app,
            &sup,
            &format!("/api/v1/children/import?division={TOWNSHIP_B}"),
            &clean,
        );
        assert_eq!(status, 404);
    }
}

#[test]
fn an_export_opens_as_a_workbook_with_masked_ids_and_neutralised_formulas() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    let id = child_id(10, 41);
    app.post(
        "/api/v1/children",
        Some(&office),
        json!({"name": "=HYPERLINK(\"x\")", "id_number": id, "division": VILLAGE_A1}),
    );
    app.post(
        "/api/v1/children",
        Some(&office),
        json!({"name": "李四", "id_number": child_id(6, 42), "division": VILLAGE_B1, "risk": "高"}),
    );
    let res = ureq::get(&format!(
        "{}/api/v1/children/export.xlsx?risk=%E9%AB%98",
        app.base
    ))
    .set("authorization", &format!("Bearer {office}"))
    .call()
    .unwrap();
    assert_eq!(
        res.header("content-type").unwrap(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut res.into_reader(), &mut bytes).unwrap();
    let aliases = weibao_sheets::HeaderMatcher::new(vec![
        ("name".into(), vec!["姓名".into()]),
        ("id".into(), vec!["身份证号（脱敏）".into()]),
    ]);
    let table = weibao_sheets::read_table(&bytes, &aliases, &["name"], 1000).unwrap();
    assert_eq!(table.rows.len(), 1, "the risk filter applies to the export");
    assert_eq!(table.rows[0].cells["name"].text(), "李四");
    let res = ureq::get(&format!("{}/api/v1/children/export.xlsx", app.base))
        .set("authorization", &format!("Bearer {office}"))
        .call()
        .unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut res.into_reader(), &mut bytes).unwrap();
    let table = weibao_sheets::read_table(&bytes, &aliases, &["name"], 1000).unwrap();
    let texts: Vec<String> = table.rows.iter().map(|r| r.cells["id"].text()).collect();
    assert!(texts.iter().all(|t| t.contains("**********")), "{texts:?}");
    assert!(!texts.iter().any(|t| t == &id));
    let formula = table
        .rows
        .iter()
        .find(|r| r.cells["name"].text().contains("HYPERLINK"))
        .unwrap();
    assert!(
        !formula.cells["name"].text().starts_with('='),
        "a name starting with = is not a formula"
    );
    // Units may read but not export; the export is audited.
    assert_eq!(
        app.get("/api/v1/children/export.xlsx", Some(&app.token("auditor")))
            .0,
        403
    );
    let entries = app
        .block_on(
            app.store
                .recent_audit(&weibao_domain::access::Scope::system(), 20),
        )
        .unwrap();
    assert!(entries
        .iter()
        .any(|e| e.action == "child.export" && e.detail == "rows=2"));
}

#[test]
fn cli_imports_and_exports_the_ledger() {
    let app = TestApp::sqlite();
    let url = app.db_url();
    let dir = support::TempDir::new();
    let file = dir.path().join("ledger.xlsx");
    let id = child_id(9, 51);
    std::fs::write(
        &file,
        messy_ledger(&[["朝天村", "张小花", &id, "外出务工", "2024-01-01", ""]]),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = support::weibao(
        &[
            "--database",
            &url,
            "import",
            "children",
            f,
            "--division",
            TOWNSHIP_A,
            "--dry-run",
        ],
        None,
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("试导入通过"));
    assert_eq!(
        app.get("/api/v1/children", Some(&app.token("office"))).1["total"],
        0,
        "a dry run changes nothing"
    );
    let out = support::weibao(
        &[
            "--database",
            &url,
            "import",
            "children",
            f,
            "--division",
            TOWNSHIP_A,
        ],
        None,
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        app.get("/api/v1/children", Some(&app.token("office"))).1["total"],
        1
    );
    let out_file = dir.path().join("out.xlsx");
    let out = support::weibao(
        &[
            "--database",
            &url,
            "export",
            "children",
            "--division",
            COUNTY,
            "--out",
            out_file.to_str().unwrap(),
        ],
        None,
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&out_file).unwrap();
    let aliases = weibao_sheets::HeaderMatcher::new(vec![
        ("name".into(), vec!["姓名".into()]),
        ("id".into(), vec!["身份证号（脱敏）".into()]),
    ]);
    let table = weibao_sheets::read_table(&bytes, &aliases, &["name"], 10).unwrap();
    assert_eq!(table.rows[0].cells["name"].text(), "张小花");
    let bad = dir.path().join("bad.xlsx");
    std::fs::write(
        &bad,
        messy_ledger(&[["不存在村", "张小花", &child_id(9, 52), "", "", ""]]),
    )
    .unwrap();
    let out = support::weibao(
        &[
            "--database",
            &url,
            "import",
            "children",
            bad.to_str().unwrap(),
            "--division",
            TOWNSHIP_A,
        ],
        None,
        None,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("第 5 行 [village]"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

// ---- pages -----------------------------------------------------------------------------

#[test]
fn pages_need_a_session_and_stay_inside_the_subtree() {
    for app in TestApp::all() {
        let (status, location) = app.page_redirect("/divisions/510812", None);
        assert_eq!(status, 303);
        assert_eq!(location, "/login?next=/divisions/510812");
        let director = app.cookie("dir-a1");
        let (status, html) = app.text(&format!("/divisions/{VILLAGE_A1}"), Some(&director));
        assert_eq!(status, 200, "{}", app.label);
        assert!(html.contains("朝天村村民委员会"));
        for outside in [VILLAGE_A2, TOWNSHIP_A, COUNTY, VILLAGE_B1] {
            let (status, html) = app.text(&format!("/divisions/{outside}"), Some(&director));
            assert_eq!(status, 404, "{}: director page → {outside}", app.label);
            assert!(
                !html.contains("青云村"),
                "no name of a division outside leaks"
            );
        }
        let supervisor = app.cookie("sup-a");
        assert_eq!(
            app.text(&format!("/divisions/{TOWNSHIP_A}"), Some(&supervisor))
                .0,
            200
        );
        assert_eq!(
            app.text(&format!("/divisions/{TOWNSHIP_B}"), Some(&supervisor))
                .0,
            404
        );
        assert_eq!(app.text("/users", Some(&director)).0, 403);
        assert_eq!(app.text("/audit", Some(&supervisor)).0, 403);
    }
}

#[test]
fn forms_refuse_a_missing_csrf_token_and_other_origins() {
    let app = TestApp::sqlite();
    let cookie = app.cookie("office");
    // Sign-out without the session's token is refused and the session lives on.
    let status = app.form("/logout", Some(&cookie), "_csrf=wrong", None).0;
    assert_eq!(status, 403);
    assert_eq!(app.text("/", Some(&cookie)).0, 200);
    // The API with a cookie needs the X-CSRF-Token header for writes.
    let (status, body) = app.send_with_cookie("POST", "/api/v1/auth/logout", &cookie, None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("csrf_failed"))
    );
    // Another site's form is refused before anything happens.
    let csrf = app.csrf_of(&cookie);
    let status = app
        .form(
            "/logout",
            Some(&cookie),
            &format!("_csrf={csrf}"),
            Some("http://evil.example"),
        )
        .0;
    assert_eq!(status, 403);
    assert_eq!(app.text("/", Some(&cookie)).0, 200);
    // With the token, from this site: signed out.
    let (status, headers) = app.form("/logout", Some(&cookie), &format!("_csrf={csrf}"), None);
    assert_eq!(status, 303, "{headers:?}");
    assert_eq!(app.page_redirect("/", Some(&cookie)).0, 303);
}

#[test]
fn every_page_carries_the_security_headers() {
    let app = TestApp::sqlite();
    let cookie = app.cookie("office");
    for path in ["/login", "/", "/divisions/510812", "/api/v1/openapi.json"] {
        let headers = app.headers(path, Some(&cookie));
        let csp = headers.get("content-security-policy").unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}"
        );
        assert_eq!(
            headers.get("x-content-type-options").map(String::as_str),
            Some("nosniff")
        );
        assert_eq!(
            headers.get("cache-control").map(String::as_str),
            Some("no-store"),
            "{path}"
        );
    }
    // An upload refused before it was read tells the client to drop the connection (the
    // server closes it), so a pooled client does not send its next request into a dead one.
    // (The body is small enough to be sent whole before the answer: a large one could meet
    // the closed connection while still being written.)
    let token = app.token("dir-a1");
    let refused = ureq::post(&format!("{}/api/v1/record-checks/batch", app.base))
        .set("authorization", &format!("Bearer {token}"))
        .set("content-type", "multipart/form-data; boundary=x")
        .send_bytes(&[b'a'; 2_000]);
    match refused {
        Err(ureq::Error::Status(403, res)) => {
            assert_eq!(res.header("connection"), Some("close"))
        }
        other => panic!("expected 403: {other:?}"),
    }
    let fine = ureq::get(&format!("{}/api/v1/me", app.base))
        .set("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(fine.header("connection"), None);
    let set_cookie = app.login_cookie_header("office");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP on loopback: {set_cookie}"
    );
    // Behind a TLS proxy the cookie is Secure; a sign-in with an old session's cookie
    // gets a new id and ends the old session (no fixation).
    let old = app.cookie("office");
    let form = format!("username=office&password={}", support::url_encode(PASSWORD));
    let res = ureq::AgentBuilder::new()
        .redirects(0)
        .build()
        .post(&format!("{}/login", app.base))
        .set("content-type", "application/x-www-form-urlencoded")
        .set("x-forwarded-proto", "https")
        .set("cookie", &old)
        .send_string(&form)
        .unwrap();
    assert_eq!(res.status(), 303);
    let fresh = res.header("set-cookie").unwrap().to_string();
    assert!(fresh.contains("; Secure"), "{fresh}");
    assert_ne!(fresh.split(';').next().unwrap(), old);
    let (status, location) = app.page_redirect("/", Some(&old));
    assert!(
        status == 303 && location.starts_with("/login"),
        "the old id is dead: {status} {location}"
    );
}

// ---- command line ----------------------------------------------------------------------

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["user", "add", "--help"],
        vec!["divisions", "import", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["backup", "--help"],
        vec!["restore", "--help"],
        vec!["db", "copy", "--help"],
        vec!["db", "check", "--help"],
        vec!["stats", "check", "--help"],
        vec!["keys", "rotate", "--help"],
    ] {
        let out = support::weibao(&args, None, None);
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("--data-dir"),
            "{args:?}"
        );
    }
}

#[test]
fn cli_imports_divisions_adds_users_and_verifies_the_audit_chain() {
    let dir = support::TempDir::new();
    let csv = dir.path().join("mixed.csv");
    // Villages before their township, one file, any order.
    std::fs::write(
        &csv,
        "code,name,streetCode\n510812100200,\"朝天村村民委员会\",510812100\n51,\"四川省\",\n\
         5108,\"广元市\",\n510812,\"朝天区\",\n510812100,\"朝天镇\",\n",
    )
    .unwrap();
    let data = dir.path().to_str().unwrap();
    let out = support::weibao(
        &[
            "--data-dir",
            data,
            "divisions",
            "import",
            csv.to_str().unwrap(),
        ],
        None,
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("读取 5 条"));
    let add = |user: &str, role: &str, division: &str, password: &str| {
        support::weibao(
            &[
                "--data-dir",
                data,
                "user",
                "add",
                "--username",
                user,
                "--password-stdin",
                "--role",
                role,
                "--division",
                division,
            ],
            Some(password),
            None,
        )
    };
    let out = add("cun", "director", "510812100200", "Secret#2026\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = add("cun2", "director", "510812100", "Secret#2026\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--division") && err.contains("村级"), "{err}");
    let out = add("cun3", "director", "510812100200", "weak\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--password"),
        "weak password refused by field"
    );
    let out = support::weibao(&["--data-dir", data, "audit", "verify"], None, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Tamper with the file the way an intruder with disk access would.
    let db = dir.path().join("weibao.db");
    support::sqlite_exec(
        &db,
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor_name = 'x' WHERE seq = 1 AND county_code = '510812';",
    );
    let out = support::weibao(&["--data-dir", data, "audit", "verify"], None, None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("510812") && err.contains("第 1 条"), "{err}");
}

#[test]
fn cli_generates_a_ledger_and_measures_the_storage_beneath_it() {
    for app in TestApp::all() {
        let url = app.db_url();
        let before = app.get("/api/v1/children", Some(&app.token("office"))).1["total"]
            .as_i64()
            .unwrap();
        let args = [
            "--database",
            &url,
            "gen",
            "--children",
            "120",
            "--under",
            COUNTY,
        ];
        let out = support::weibao(&[&args[..], &["--seed", "3"]].concat(), None, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.contains("已生成 120 名儿童"), "{text}");
        let list = app.get("/api/v1/children", Some(&app.token("office"))).1;
        assert_eq!(
            list["total"].as_i64().unwrap(),
            before + 120,
            "{}",
            app.db().label
        );
        assert_eq!(list["total_exact"], true);
        // Staff for every village and township, signing in with the generated password.
        assert!(text.contains("儿童督导员"), "{text}");
        let (status, body) = app.post(
            "/api/v1/auth/login",
            None,
            json!({"username": format!("d{VILLAGE_B1}"), "password": "ChangeMe#2026"}),
        );
        assert_eq!(status, 200, "{body}");
        // Two years of visit records behind the schedules: a child of the generated ledger
        // with some, the newest being its last visit.
        let visits: u64 = text
            .split("探访记录 ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(visits > 120 * 4, "{text}");
        let office = app.token("office");
        let due = app
            .get(
                "/api/v1/visits/due?division=510812&per_page=200",
                Some(&office),
            )
            .1;
        let visited = due["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| !i["last_visit_on"].is_null())
            .expect("a child with a last visit");
        let id = visited["child_id"].as_str().unwrap();
        let (status, history) = app.get(&format!("/api/v1/children/{id}/visits"), Some(&office));
        assert_eq!(status, 200);
        let items = history["items"].as_array().unwrap();
        assert!(items.len() >= 2, "{history}");
        let newest = items[0]["visited_at"].as_str().unwrap();
        assert!(
            newest.starts_with(visited["last_visit_on"].as_str().unwrap()),
            "{history} {visited}"
        );
        // The storage's own limits: four figures, each from real writes and page reads
        // (no rows in the page would be an error), and the scratch table gone again, so a
        // second run starts as the first did.
        for _ in 0..2 {
            let out = support::weibao(
                &[
                    "--database",
                    &url,
                    "db",
                    "limits",
                    "--division",
                    COUNTY,
                    "--clients",
                    "3",
                    "--seconds",
                    "0.3",
                ],
                None,
                None,
            );
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let rates: Vec<f64> = text
                .lines()
                .filter_map(|l| l.split_whitespace().find(|w| w.ends_with("/s")))
                .map(|w| w.trim_end_matches("/s").parse().unwrap())
                .collect();
            assert_eq!(rates.len(), 4, "{text}");
            assert!(rates.iter().all(|r| *r > 0.0), "{text}");
        }
        let out = support::weibao(&["--database", &url, "db", "check"], None, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn cli_imports_the_real_nbs_files_under_one_county() {
    let Some(files) = support::shared_division_files() else {
        return;
    };
    let dir = support::TempDir::new();
    let data = dir.path().to_str().unwrap();
    let mut args = vec![
        "--data-dir",
        data,
        "divisions",
        "import",
        "--under",
        "510812",
    ];
    // Reverse order: villages first, provinces last.
    let names: Vec<String> = files
        .iter()
        .rev()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    args.extend(names.iter().map(String::as_str));
    let out = support::weibao(&args, None, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = TestApp::on_sqlite_dir(dir.path());
    let counts = app.block_on(app.store.division_counts()).unwrap();
    assert_eq!(counts, [1, 1, 1, 12, 139]);
}

#[test]
fn serve_demo_loads_chaotian_once_and_a_second_start_changes_nothing() {
    let dir = support::TempDir::new();
    let data = dir.path().to_str().unwrap();
    let first = support::Server::start(&[
        "--data-dir",
        data,
        "serve",
        "--demo",
        "--bind",
        "127.0.0.1:0",
    ]);
    assert!(first.stdout.contains("已载入演示数据"), "{}", first.stdout);
    assert!(first.stdout.contains(weibao::demo::DEMO_PASSWORD));
    let health = ureq::get(&format!("{}/healthz", first.base))
        .call()
        .unwrap();
    assert_eq!(health.status(), 200);
    let login = ureq::post(&format!("{}/api/v1/auth/login", first.base))
        .send_json(json!({"username": "dir-510812100200", "password": weibao::demo::DEMO_PASSWORD}))
        .unwrap();
    assert_eq!(login.status(), 200);
    let office = ureq::post(&format!("{}/api/v1/auth/login", first.base))
        .send_json(json!({"username": "office", "password": weibao::demo::DEMO_PASSWORD}))
        .unwrap()
        .into_json::<serde_json::Value>()
        .unwrap();
    let token = office["token"].as_str().unwrap().to_string();
    let count = |query: &str| {
        ureq::get(&format!("{}/api/v1/children{query}", first.base))
            .set("authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .into_json::<serde_json::Value>()
            .unwrap()["total"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(count(""), weibao::demo::DEMO_CHILDREN as i64);
    // The network 朝天区's work report describes, exactly.
    let network = ureq::get(&format!(
        "{}/api/v1/network/coverage?division=510812",
        first.base
    ))
    .set("authorization", &format!("Bearer {token}"))
    .call()
    .unwrap()
    .into_json::<serde_json::Value>()
    .unwrap();
    assert_eq!(
        [
            "stations",
            "work_points",
            "service_stations",
            "supervisors",
            "directors",
            "supervisor_vacancies",
            "director_vacancies"
        ]
        .map(|k| network[k].as_i64().unwrap()),
        [12, 139, 6, 12, 139, 0, 0],
        "{network}"
    );
    let left_behind = count("?category=%E5%86%9C%E6%9D%91%E7%95%99%E5%AE%88%E5%84%BF%E7%AB%A5");
    assert!(
        (100..300).contains(&left_behind),
        "about half are left behind: {left_behind}"
    );
    drop(first);

    let app = TestApp::on_sqlite_dir(dir.path());
    let counts = app.block_on(app.store.division_counts()).unwrap();
    assert_eq!(counts, [1, 1, 1, 12, 139]);
    let stations = app
        .block_on(app.store.list_stations(
            &weibao_domain::access::Scope::system(),
            "510812".parse().unwrap(),
        ))
        .unwrap();
    assert_eq!(stations.len(), 12);
    let users = app.block_on(app.store.user_count()).unwrap();
    // 139 directors, 12 supervisors, admin, office, the office head, auditor, security, a
    // police liaison, a school.
    assert_eq!(users, 139 + 12 + 7);
    // The committee: seed 003's plan of 24 tasks, the seed 001 duties of each unit, one
    // joint meeting of the two a year.
    let system = weibao_domain::access::Scope::system();
    let county = weibao_domain::DivisionCode::parse(weibao::demo::DEMO_COUNTY).unwrap();
    let tasks = app
        .block_on(app.store.plan_tasks(&system, county, &Default::default()))
        .unwrap();
    assert_eq!(tasks.len(), 24);
    assert!(tasks.iter().any(|t| t.number == "6" && t.supervision == 1));
    let with_duties = app
        .block_on(app.store.list_units(&system))
        .unwrap()
        .into_iter()
        .filter(|u| !u.duties.is_empty())
        .count();
    assert!(with_duties >= 20, "{with_duties} units with duties");
    let meetings = app
        .block_on(app.store.meetings(&system, county, None))
        .unwrap();
    assert_eq!(meetings.len(), 1);
    drop(app);

    let second = support::Server::start(&[
        "--data-dir",
        data,
        "serve",
        "--demo",
        "--bind",
        "127.0.0.1:0",
    ]);
    assert!(
        second.stdout.contains("--demo 未做任何改动"),
        "{}",
        second.stdout
    );
    drop(second);
    let app = TestApp::on_sqlite_dir(dir.path());
    assert_eq!(app.block_on(app.store.user_count()).unwrap(), users);
}

#[test]
fn user_add_works_while_the_server_runs() {
    let app = TestApp::sqlite();
    let url = app.db_url();
    let out = support::weibao(
        &[
            "--database",
            &url,
            "user",
            "add",
            "--username",
            "late",
            "--password-stdin",
            "--role",
            "supervisor",
            "--division",
            TOWNSHIP_B,
            "--unit",
            "公安",
        ],
        Some("Late#2026ab\n"),
        None,
    );
    assert!(!out.status.success(), "a supervisor with a unit is refused");
    let out = support::weibao(
        &[
            "--database",
            &url,
            "user",
            "add",
            "--username",
            "late",
            "--password-stdin",
            "--role",
            "supervisor",
            "--division",
            TOWNSHIP_B,
        ],
        Some("Late#2026ab\n"),
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, _) = app.post(
        "/api/v1/auth/login",
        None,
        json!({"username": "late", "password": "Late#2026ab"}),
    );
    assert_eq!(status, 200);
    let out = support::weibao(&["--database", &url, "migrate"], None, None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("已是最新"));
}

// ---- browser ---------------------------------------------------------------------------

#[test]
fn browser_logs_in_and_browses_from_county_to_village_on_a_phone_screen() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    browser.goto(&format!("{}/divisions/{TOWNSHIP_A}", app.base));
    // Not signed in: sent to the login page, and back after it.
    assert!(browser.url().contains("/login?next="), "{}", browser.url());
    browser.fill("input[name=username]", "office");
    browser.fill("input[name=password]", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "朝天镇");
    browser.click("a[href='/']");
    browser.wait_for_text("h1", "我的工作");
    browser.click("nav.modules a[href='/divisions']");
    browser.wait_for_text("h1", "朝天区");
    assert_eq!(browser.count("#children li"), 12);
    browser.click("#children a[href='/divisions/510812100000']");
    browser.wait_for_text("h1", "朝天镇");
    browser.click("#children a[href='/divisions/510812100200']");
    browser.wait_for_text("h1", "朝天村村民委员会");
    assert!(browser.text(".crumbs").contains("朝天区"));
    // Nothing is wider than the phone.
    let width = browser.eval("return document.documentElement.scrollWidth");
    assert!(
        width.as_i64().unwrap() <= 360,
        "page is {width} px wide on a 360 px screen"
    );
    browser.screenshot("browse-360");
}

#[test]
fn browser_shows_a_director_only_their_village() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    browser.goto(&format!("{}/login", app.base));
    browser.fill("input[name=username]", "dir-a1");
    browser.fill("input[name=password]", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "我的工作");
    browser.click("nav.modules a[href='/divisions']");
    browser.wait_for_text("h1", "朝天村村民委员会");
    browser.goto(&format!("{}/divisions/{VILLAGE_A2}", app.base));
    browser.wait_for_text("h1", "找不到页面");
    browser.goto(&format!("{}/divisions/{TOWNSHIP_A}", app.base));
    browser.wait_for_text("h1", "找不到页面");
}

#[test]
fn browser_forces_a_temporary_password_to_be_changed() {
    let Some(browser) = Browser::start(1024, 800) else {
        return;
    };
    let app = TestApp::sqlite();
    browser.goto(&format!("{}/login", app.base));
    browser.fill("input[name=username]", "office");
    browser.fill("input[name=password]", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "我的工作");
    browser.goto(&format!("{}/users", app.base));
    browser.click("details.card summary");
    browser.fill("input[name=username]", "liu");
    browser.fill("input[name=display_name]", "刘七");
    browser.select("select[name=role]", "director");
    browser.fill("input[name=division]", VILLAGE_A2);
    browser.fill("input[name=password]", "Temp#2026z");
    browser.click("form[action='/users'] button[type=submit]");
    browser.wait_for_text(".alert", "已创建账户 liu");
    browser.click("button.link");
    browser.wait_for_text("h1", "登录");
    browser.fill("input[name=username]", "liu");
    browser.fill("input[name=password]", "Temp#2026z");
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "修改密码");
    // Any other page sends them back until the password is changed.
    browser.goto(&format!("{}/divisions", app.base));
    browser.wait_for_text("h1", "修改密码");
    browser.fill("input[name=old_password]", "Temp#2026z");
    browser.fill("input[name=new_password]", "Liu#Own2026");
    browser.fill("input[name=confirm_password]", "Liu#Own2026");
    browser.click("form[action='/account/password'] button[type=submit]");
    browser.wait_for_text("h1", "我的工作");
}

#[test]
fn browser_registers_edits_and_sees_the_timeline_on_a_phone() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    browser.goto(&format!("{}/login", app.base));
    browser.fill("input[name=username]", "dir-a1");
    browser.fill("input[name=password]", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "我的工作");
    browser.click("nav.modules a[href='/children']");
    browser.wait_for_text("h1", "儿童台账");
    browser.click("a[href='/children/new']");
    browser.wait_for_text("h1", "登记儿童");
    // A wrong check character is flagged as it is typed, in the server's words.
    let id = child_id(9, 61);
    let mut wrong = id.clone();
    wrong.replace_range(17..18, if id.ends_with('1') { "2" } else { "1" });
    browser.fill("input[name=name]", "张小花");
    browser.fill("input[name=id_number]", &wrong);
    browser.click("input[name=address]");
    browser.wait_for_text("input[name=id_number] + .field-msg", "校验位应为");
    browser.fill("input[name=id_number]", &id);
    browser.click("input[name=address]");
    browser.fill("input[name=address]", "三组 12 号");
    browser.fill("input[name=father_name]", "张大山");
    let father = child_id(38, 62);
    browser.fill("input[name=father_id_number]", &father);
    browser.select("select[name=father_status]", "外出务工");
    browser.set_value("input[name=father_since]", "2024-02-01");
    browser.select("select[name=mother_status]", "外出务工");
    browser.set_value("input[name=mother_since]", "2024-03-01");
    browser.fill("input[name=g1_name]", "李秀兰");
    browser.fill("input[name=g1_relationship]", "祖母");
    browser.fill("input[name=g1_phone]", "13812345678");
    browser.click(".child-form button[type=submit]");
    browser.wait_for_text("h1", "张小花");
    assert!(
        browser.text("#categories").contains("农村留守儿童"),
        "categories from the facts"
    );
    assert!(
        browser.text("#id-number").contains("**********"),
        "masked by default"
    );
    let shown = browser.text("#father");
    assert!(
        shown.starts_with("张大山，外出务工")
            && shown.contains(&format!("{}**********{}", &father[..4], &father[14..])),
        "the father's name and masked number: {shown}"
    );
    browser.click(".head-row a.button[href$='/edit']");
    browser.wait_for_text("h1", "修改 张小花");
    // The father's number is not sent back to the form; left blank it stays.
    assert_eq!(
        browser.eval("return document.querySelector('input[name=father_id_number]').value"),
        ""
    );
    browser.select("select[name=risk]", "高");
    browser.fill("input[name=notes]", "祖母年迈，需重点关注");
    browser.click(".child-form button[type=submit]");
    browser.wait_for_text(".alert.ok", "已保存");
    browser.wait_for_text("#timeline", "风险等级");
    assert!(
        browser.text("#father").contains(&father[14..]),
        "kept through the edit"
    );
    let timeline = browser.text("#timeline");
    assert!(
        timeline.contains("低 → 高") && timeline.contains("登记"),
        "{timeline}"
    );
    let width = browser.eval("return document.documentElement.scrollWidth");
    assert!(
        width.as_i64().unwrap() <= 360,
        "page is {width} px wide on a 360 px screen"
    );
    browser.screenshot("child-360");
}

#[test]
fn browser_import_shows_the_dry_run_report_before_the_commit() {
    let Some(browser) = Browser::start(1024, 800) else {
        return;
    };
    let app = TestApp::sqlite();
    let dir = support::TempDir::new();
    let bad = dir.path().join("bad.xlsx");
    let good = dir.path().join("good.xlsx");
    let id = child_id(9, 81);
    std::fs::write(
        &bad,
        messy_ledger(&[
            ["朝天村", "张小花", &id, "外出务工", "2024-01-01", ""],
            ["无此村", "李四", &child_id(9, 82), "", "", ""],
        ]),
    )
    .unwrap();
    std::fs::write(
        &good,
        messy_ledger(&[["朝天村", "张小花", &id, "外出务工", "2024-01-01", ""]]),
    )
    .unwrap();
    browser.goto(&format!("{}/login", app.base));
    browser.fill("input[name=username]", "sup-a");
    browser.fill("input[name=password]", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "我的工作");
    browser.goto(&format!("{}/children/import", app.base));
    browser.fill("input[type=file]", bad.to_str().unwrap());
    browser.click("#import-form button[type=submit]");
    browser.wait_for_text("#import-report", "发现 1 处问题");
    assert!(browser
        .text("#import-errors")
        .contains("找不到村（居）“无此村”"));
    assert_eq!(
        browser.count("#import-commit"),
        0,
        "no commit while a row is bad"
    );
    browser.fill("input[type=file]", good.to_str().unwrap());
    browser.click("#import-form button[type=submit]");
    browser.wait_for_text("#import-report", "检查通过");
    assert_eq!(
        app.get("/api/v1/children", Some(&app.token("sup-a"))).1["total"],
        0,
        "the dry run saved nothing"
    );
    browser.click("#import-commit");
    browser.wait_for_text("#import-report", "已导入 1 名儿童");
    assert_eq!(
        app.get("/api/v1/children", Some(&app.token("sup-a"))).1["total"],
        1
    );
}

// ---- visits and cards --------------------------------------------------------------------

/// A left-behind child in 朝天村 registered through the API; returns its id.
fn left_behind_child(app: &TestApp, token: &str, name: &str, seq: u32) -> String {
    let (status, body) = app.post(
        "/api/v1/children",
        Some(token),
        json!({
            "name": name, "id_number": child_id(8, seq), "division": VILLAGE_A1,
            "father": {"status": "外出务工", "since": "2024-02-01"},
            "mother": {"status": "外出务工", "since": "2024-02-01"}
        }),
    );
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn visit_body(danger: bool) -> serde_json::Value {
    let checks: Vec<serde_json::Value> = ["生活", "就学", "健康", "心理", "安全", "监护", "父母每周联系"]
        .iter()
        .map(|item| {
            json!({"item": item, "finding": if danger && *item == "监护" { "危险" } else { "正常" }})
        })
        .collect();
    json!({"duration_minutes": 30, "checks": checks})
}

fn post_visit(
    app: &TestApp,
    token: &str,
    child: &str,
    key: Option<&str>,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {token}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(k) = key {
        headers.push(("idempotency-key", k));
    }
    let (status, _, bytes) = app.raw(
        "POST",
        &format!("/api/v1/children/{child}/visits"),
        &headers,
        Some(body.to_string().as_bytes()),
    );
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(json!(null)),
    )
}

fn tiny_jpeg(tag: u8) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.extend(std::iter::repeat_n(tag, 100));
    b.extend([0xFF, 0xD9]);
    b
}

#[test]
fn visits_over_the_api_are_idempotent_and_move_the_worklist() {
    for app in TestApp::all() {
        let dir = app.token("dir-a1");
        let child = left_behind_child(&app, &dir, "陈小雨", 401);
        let due = format!("/api/v1/visits/due?division={VILLAGE_A1}");
        let (status, list) = app.get(&due, Some(&dir));
        assert_eq!(status, 200, "{list}");
        let item = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["child_id"] == child.as_str())
            .cloned()
            .expect("a new child is due for a first visit");
        assert_eq!(item["overdue"], false);
        assert_eq!(item["reason"], "first");
        let total_before = list["total"].as_i64().unwrap();

        // Bad input: 422 naming the field, and nothing recorded.
        let mut bad = visit_body(false);
        bad["method"] = json!("上门");
        let (status, body) = post_visit(&app, &dir, &child, Some("bad-1"), &bad);
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("method")),
            "{body}"
        );
        assert!(body["error"]["message"].as_str().unwrap().contains("入户"));

        // The same key sent from eight threads at once: one visit, the same answer.
        let ids: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        let (status, body) =
                            post_visit(&app, &dir, &child, Some("visit-key-1"), &visit_body(false));
                        assert_eq!(status, 201, "{body}");
                        body["id"].as_str().unwrap().to_string()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.iter().all(|i| *i == ids[0]), "{}: {ids:?}", app.label);
        let (_, visits) = app.get(&format!("/api/v1/children/{child}/visits"), Some(&dir));
        assert_eq!(visits["total"], 1, "{}: {visits}", app.label);
        assert_eq!(visits["items"][0]["method"], "入户");
        // After the visit the child is no longer due; the worklist shrinks by one.
        let (_, list) = app.get(&due, Some(&dir));
        assert_eq!(list["total"].as_i64().unwrap(), total_before - 1);
        assert!(!list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["child_id"] == child.as_str()));

        // Another township's director cannot see or visit the child.
        let other = app.token("dir-b1");
        let (status, _) = post_visit(&app, &other, &child, None, &visit_body(false));
        assert_eq!(status, 404);
        // The county office reads the visits.
        let office = app.token("office");
        let (status, _) = app.get(&format!("/api/v1/children/{child}/visits"), Some(&office));
        assert_eq!(status, 200);

        // Danger found: the supervisor and the office see an alert; the supervisor closes it.
        let (status, body) = post_visit(&app, &dir, &child, Some("visit-key-2"), &visit_body(true));
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["danger"], true);
        let sup = app.token("sup-a");
        let (_, alerts) = app.get("/api/v1/alerts", Some(&sup));
        assert_eq!(alerts["items"].as_array().unwrap().len(), 1, "{alerts}");
        let (_, office_alerts) = app.get("/api/v1/alerts", Some(&app.token("office")));
        assert_eq!(office_alerts["items"].as_array().unwrap().len(), 1);
        let (_, other_sup) = app.get("/api/v1/alerts", Some(&app.token("sup-b")));
        assert!(other_sup["items"].as_array().unwrap().is_empty());
        let alert = alerts["items"][0]["id"].as_str().unwrap();
        let (status, _) = app.post(
            &format!("/api/v1/children/{child}/alerts/{alert}/resolve"),
            Some(&sup),
            json!({"resolution": "已复访，联系亲属临时照料"}),
        );
        assert_eq!(status, 204);
        let (_, alerts) = app.get("/api/v1/alerts", Some(&sup));
        assert!(alerts["items"].as_array().unwrap().is_empty());
        // The follow-up is due within 3 days and the township's progress counts the child.
        let (_, progress) = app.get(
            &format!("/api/v1/visits/progress?division={TOWNSHIP_A}"),
            Some(&sup),
        );
        let village = progress["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["division"] == VILLAGE_A1)
            .cloned()
            .unwrap();
        assert_eq!(village["visits_30d"], 2, "{progress}");
        // Corrections: the author now, the supervisor later.
        let visit = body["id"].as_str().unwrap();
        let (status, fixed) = app.send(
            "PATCH",
            &format!("/api/v1/children/{child}/visits/{visit}?version=1"),
            Some(&dir),
            Some(json!({"duration_minutes": 50}).to_string()),
        );
        assert_eq!(
            (status, fixed["version"].as_i64()),
            (200, Some(2)),
            "{fixed}"
        );
        assert_eq!(fixed["duration_minutes"], 50);
    }
}

#[test]
fn cards_photos_and_reissue_respect_who_may_see_the_child() {
    for app in TestApp::all() {
        let dir = app.token("dir-a1");
        let child = left_behind_child(&app, &dir, "林小溪", 402);
        let auth = format!("Bearer {dir}");
        let (status, ct, svg) = app.raw(
            "GET",
            &format!("/api/v1/children/{child}/card.svg"),
            &[("authorization", &auth)],
            None,
        );
        assert_eq!(status, 200);
        assert!(ct.starts_with("image/svg+xml"), "{ct}");
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains("林小溪") && svg.contains("爱心陪伴卡"));
        assert!(
            !svg.contains(&child_id(8, 402)[..14]),
            "no ID number on the card"
        );
        // Another township's director: not found; the auditor: forbidden.
        for (user, expected) in [("dir-b1", 404), ("auditor", 403)] {
            let t = app.token(user);
            let (status, _, _) = app.raw(
                "GET",
                &format!("/api/v1/children/{child}/card.svg"),
                &[("authorization", &format!("Bearer {t}"))],
                None,
            );
            assert_eq!(status, expected, "{user}");
        }
        // The card's code opens the visit form (after login); a re-issue retires it.
        let cookie = app.cookie("dir-a1");
        let dir_scope = scope(&app, "dir-a1");
        let token =
            app.block_on(async { app.store.card(&dir_scope, &child, "").await.unwrap().token });
        let (status, location) = app.page_redirect(&format!("/k/{token}"), Some(&cookie));
        assert_eq!(status, 303);
        assert_eq!(location, format!("/children/{child}/visits/new"));
        let (status, to_login) = app.page_redirect(&format!("/k/{token}"), None);
        assert_eq!(status, 303);
        assert!(to_login.starts_with("/login?next="), "{to_login}");
        let (status, body) = app.post(
            &format!("/api/v1/children/{child}/card/reissue"),
            Some(&dir),
            json!({"reason": "遗失"}),
        );
        assert_eq!(status, 200, "{body}");
        let new_url = body["url"].as_str().unwrap();
        assert!(!new_url.contains(&token));
        let (status, page) = app.text(&format!("/k/{token}"), Some(&cookie));
        assert_eq!(status, 410);
        assert!(page.contains("已作废"), "{page}");
        let new_token = new_url.rsplit('/').next().unwrap();
        assert_eq!(
            app.page_redirect(&format!("/k/{new_token}"), Some(&cookie))
                .0,
            303
        );
        let other = app.cookie("dir-b1");
        assert_eq!(app.text(&format!("/k/{new_token}"), Some(&other)).0, 404);

        // Photos: uploaded by the director, served to whoever may see the child.
        let (status, body) = upload(
            &app,
            &dir,
            &format!("/api/v1/children/{child}/photos"),
            &tiny_jpeg(9),
        );
        assert_eq!(status, 201, "{body}");
        let photo = body["id"].as_str().unwrap().to_string();
        let (status, body) = upload(
            &app,
            &dir,
            &format!("/api/v1/children/{child}/photos"),
            b"MZ\x90\x00not an image",
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("file"))
        );
        let mut with_photo = visit_body(false);
        with_photo["photos"] = json!([photo]);
        let (status, body) = post_visit(&app, &dir, &child, None, &with_photo);
        assert_eq!(status, 201, "{body}");
        for (user, expected) in [
            ("dir-a1", 200),
            ("sup-a", 200),
            ("office", 200),
            ("sup-b", 404),
            ("dir-a2", 404),
            ("auditor", 403),
        ] {
            let t = app.token(user);
            let (status, ct, bytes) = app.raw(
                "GET",
                &format!("/api/v1/children/{child}/photos/{photo}"),
                &[("authorization", &format!("Bearer {t}"))],
                None,
            );
            assert_eq!(status, expected, "{user} on {}", app.label);
            if expected == 200 {
                assert_eq!((ct.as_str(), bytes), ("image/jpeg", tiny_jpeg(9)));
            }
        }
    }
}

/// The scope of a fixture user (for calling the store directly).
fn scope(app: &TestApp, username: &str) -> weibao_domain::access::Scope {
    let token = app.token(username);
    app.block_on(async { app.store.session(&token).await.unwrap().unwrap().scope })
}

#[test]
fn browser_scans_a_card_records_a_visit_and_sees_the_worklist_change_on_a_phone() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    let dir = app.token("dir-a1");
    let child = left_behind_child(&app, &dir, "刘小禾", 403);
    let other = left_behind_child(&app, &dir, "刘小苗", 404);
    let dir_scope = scope(&app, "dir-a1");
    let token = app.block_on(async { app.store.card(&dir_scope, &child, "").await.unwrap().token });
    // The card's QR code is a URL of this server: opening it asks for a login first.
    browser.goto(&format!("{}/k/{token}", app.base));
    assert!(browser.url().contains("/login?next="), "{}", browser.url());
    browser.fill("input[name=username]", "dir-a1");
    browser.fill("input[name=password]", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "记录探访：刘小禾");
    // The common case needs no typing: defaults are 入户, 30 minutes, every check 正常.
    assert_eq!(browser.count("input[type=radio][value=正常]:checked"), 7);
    let width = browser.eval("return document.documentElement.scrollWidth");
    assert!(width.as_i64().unwrap() <= 360, "form is {width} px wide");
    // A draft survives leaving the page.
    browser.click("label.pill:has(input[name=duration_minutes][value='45'])");
    browser.fill("input[name=note_4]", "门锁已修好");
    browser.goto(&format!("{}/children/{child}/visits/new", app.base));
    browser.wait_for_text("#draft-note", "已恢复");
    assert_eq!(
        browser.eval("return document.querySelector('input[name=note_4]').value"),
        json!("门锁已修好")
    );
    assert_eq!(
        browser.eval("return document.querySelector('input[name=duration_minutes]:checked').value"),
        json!("45")
    );
    browser.screenshot("visit-form-360");
    browser.click("#submit-visit");
    browser.wait_for_text(".alert.ok", "探访已记录");
    assert!(browser.text("#visits").contains("入户"));
    // The worklist no longer lists this child; the other one is still due.
    browser.goto(&format!("{}/visits", app.base));
    browser.wait_for_text("h1", "探访工作");
    assert_eq!(
        browser.count(&format!("#due-list li[data-child='{child}']")),
        0
    );
    assert_eq!(
        browser.count(&format!("#due-list li[data-child='{other}']")),
        1
    );
    browser.screenshot("worklist-360");
    let (_, visits) = app.get(&format!("/api/v1/children/{child}/visits"), Some(&dir));
    assert_eq!(visits["total"], 1);
    assert_eq!(visits["items"][0]["duration_minutes"], 45);
    assert_eq!(visits["items"][0]["checks"][4]["note"], "门锁已修好");
    // The draft is gone once submitted.
    assert_eq!(
        browser.eval(&format!(
            "return localStorage.getItem('weibao:visit:{child}')"
        )),
        json!(null)
    );
    // Cards print 8 to an A4 sheet: 9 children make two printed pages.
    for seq in 0..7 {
        left_behind_child(
            &app,
            &dir,
            &format!("刘小{}", ["一", "二", "三", "四", "五", "六", "七"][seq]),
            410 + seq as u32,
        );
    }
    browser.goto(&format!("{}/cards/print?division={VILLAGE_A1}", app.base));
    assert_eq!(browser.count(".sheet .slot svg"), 9);
    assert_eq!(browser.count(".sheet"), 2);
    browser.screenshot("cards-print");
    let pdf = browser.print_pdf("cards-print");
    assert_eq!(count_pdf_pages(&pdf), 2, "two A4 pages for nine cards");
}

/// Page objects in a PDF ("/Type /Page", not "/Type /Pages").
fn count_pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
        + text.matches("/Type/Page").count()
        - text.matches("/Type/Pages").count()
}

#[test]
fn the_cluster_grows_by_a_worker_while_serving_and_loses_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    let Some(app) = TestApp::citus() else {
        return;
    };
    let cluster_dir = match std::env::var("WEIBAO_TEST_CITUS_DIR") {
        Ok(d) if !d.is_empty() => d,
        _ => panic!("WEIBAO_TEST_CITUS_DIR names the cluster scripts/citus started"),
    };
    let dir = app.token("dir-a1");
    let names = [
        "甲", "乙", "丙", "丁", "戊", "己", "庚", "辛", "壬", "癸", "子", "丑",
    ];
    let children: Vec<String> = (0..12)
        .map(|i| left_behind_child(&app, &dir, &format!("扩容{}", names[i]), 600 + i as u32))
        .collect();
    let before = app.block_on(app.db().pg_column("SELECT count(*) FROM children"));

    let stop = AtomicBool::new(false);
    let acked = Mutex::new(Vec::<String>::new());
    let failures = Mutex::new(Vec::<String>::new());
    let reads = std::sync::atomic::AtomicUsize::new(0);
    let moved = std::thread::scope(|s| {
        for t in 0..3usize {
            let (app, dir, children) = (&app, &dir, &children);
            let (stop, acked, failures, reads) = (&stop, &acked, &failures, &reads);
            s.spawn(move || {
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let child = &children[(t * 5 + n) % children.len()];
                    let key = format!("grow-{t}-{n}");
                    let (status, body) =
                        post_visit(app, dir, child, Some(&key), &visit_body(false));
                    if status == 201 {
                        acked
                            .lock()
                            .unwrap()
                            .push(body["id"].as_str().unwrap().to_string());
                    } else {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("visit {status} {body}"));
                    }
                    let (status, body) = app.get(&format!("/api/v1/children/{child}"), Some(dir));
                    if status == 200 {
                        reads.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("read {status} {body}"));
                    }
                    n += 1;
                }
            });
        }
        // However this thread leaves (a failed step panics), the load stops.
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = StopOnDrop(&stop);
        // While the load runs: a third worker joins and the shards spread onto it.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/citus");
        let out = std::process::Command::new(script)
            .args(["add-worker", &cluster_dir, "worker3"])
            .output()
            .expect("scripts/citus add-worker");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let node = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let (host, port) = node.split_once(':').unwrap();
        let db = app.db();
        app.block_on(db.add_citus_node(host, port.parse().unwrap()));
        app.block_on(db.pg_column("SELECT citus_rebalance_start()"));
        app.block_on(db.pg_column("SELECT citus_rebalance_wait()"));
        let moved: i64 = app
            .block_on(db.pg_column(&format!(
                "SELECT count(*) FROM pg_dist_shard_placement
                 WHERE nodename = '{host}' AND nodeport = {port}"
            )))
            .remove(0)
            .parse()
            .unwrap();
        // A little more load on the grown cluster.
        std::thread::sleep(std::time::Duration::from_millis(500));
        moved
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "requests failed: {failures:?}");
    assert!(moved > 0, "the rebalance moved no shard to the new worker");
    let acked = acked.into_inner().unwrap();
    assert!(
        acked.len() >= 10 && reads.into_inner() >= 10,
        "too little load to prove anything: {} visits",
        acked.len()
    );
    // Every acknowledged visit is there exactly once, and nothing else was added.
    let mut stored = app.block_on(app.db().pg_column("SELECT id FROM visits ORDER BY id"));
    let mut want = acked.clone();
    want.sort();
    stored.sort();
    assert_eq!(stored, want);
    assert_eq!(
        app.block_on(app.db().pg_column("SELECT count(*) FROM children")),
        before
    );
    // And the cluster still answers through the API after the move.
    let (status, list) = app.get(
        &format!("/api/v1/children/{}/visits", children[0]),
        Some(&dir),
    );
    assert_eq!(status, 200, "{list}");
    eprintln!(
        "grew the cluster under load: {} visits acknowledged and found, {moved} shard placements moved",
        acked.len()
    );
}
