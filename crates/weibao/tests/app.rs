//! The application from outside: the JSON API and pages over real HTTP (on SQLite and
//! PostgreSQL), the command line, and the UI in a real headless Chromium.

mod support;

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
    let set_cookie = app.login_cookie_header("office");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
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
    // 139 directors, 12 supervisors, admin, office, auditor, a police liaison, a school.
    assert_eq!(users, 139 + 12 + 5);
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
