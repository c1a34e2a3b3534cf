//! Allowances from outside: an application from the village to a locked roll over the API
//! on every backend, its bank files read back (calamine; GBK decoded) and checked line by
//! line against the roll, refusals of bad input, the command line, and the whole path in
//! a phone-sized Chromium.

use calamine::{Data, Reader};
use serde_json::{json, Value};

use super::support::{jpeg, Browser, TestApp, PASSWORD};
use super::{child_id, COUNTY, VILLAGE_A1, VILLAGE_A2};

/// This month and the next, as the app's clock sees them.
fn this_month(app: &TestApp) -> weibao_domain::Month {
    weibao_domain::Month::of(app.store.clock().today())
}

/// Moves the app's clock to the 2nd of next month.
fn next_month(app: &TestApp) {
    let today = app.store.clock().today();
    let target = this_month(app).next().first_day() + chrono::Duration::days(1);
    app.store
        .clock()
        .advance_ms((target - today).num_days() * 86_400_000);
}

/// An orphan of a 低保 household (孤儿 and 困境儿童 implied) in `village`.
fn orphan(app: &TestApp, token: &str, name: &str, seq: u32, village: &str) -> String {
    let (status, body) = app.post(
        "/api/v1/children",
        Some(token),
        json!({"name": name, "id_number": child_id(10, seq), "division": village,
               "father": {"status": "死亡", "since": "2020-01-01"},
               "mother": {"status": "死亡", "since": "2021-01-01"},
               "support": ["低保"], "school_status": "小学",
               "guardians": [{"name": "王秀兰", "relationship": "祖母", "capacity": "有",
                              "actual_caregiver": true}]}),
    );
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn standard(app: &TestApp, office: &str, type_code: &str, yuan: i64) {
    let (status, body) = app.post(
        "/api/v1/allowances/standards",
        Some(office),
        json!({"type": type_code, "division": COUNTY, "amount_fen": yuan * 100,
               "from_month": this_month(app).plus(-3).to_string(), "to_month": null}),
    );
    assert_eq!(status, 201, "{body}");
}

/// Files, checks and confirms; returns the application's id.
fn confirmed(app: &TestApp, dir: &str, child: &str, type_code: &str, account: &str) -> String {
    let (status, body) = app.post(
        "/api/v1/allowances/applications",
        Some(dir),
        json!({"child_id": child, "type": type_code, "bank_name": "四川农信",
               "account_holder": "王秀兰", "bank_account": account}),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    for (who, step) in [("sup-a", "township"), ("office", "county")] {
        let (status, body) = app.post(
            &format!("/api/v1/allowances/applications/{id}/decisions"),
            Some(&app.token(who)),
            json!({"step": step, "decision": "approve", "reason": "核实无误"}),
        );
        assert_eq!(status, 200, "{who}: {body}");
    }
    id
}

/// The payees a roll should send the bank: each application's net in line order.
fn payees_of(app: &TestApp, office: &str, roll: &str) -> Vec<(String, String, i64)> {
    let (status, page) = app.get(
        &format!("/api/v1/allowances/rolls/{roll}?per_page=200"),
        Some(office),
    );
    assert_eq!(status, 200, "{page}");
    let mut out: Vec<(String, String, i64)> = Vec::new();
    for l in page["lines"].as_array().unwrap() {
        let app_id = l["application_id"].as_str().unwrap().to_string();
        match out.iter_mut().find(|p| p.0 == app_id) {
            Some(p) => p.2 += l["amount_fen"].as_i64().unwrap(),
            None => out.push((
                app_id,
                l["child_name"].as_str().unwrap().to_string(),
                l["amount_fen"].as_i64().unwrap(),
            )),
        }
    }
    out.retain(|p| p.2 > 0);
    out
}

fn download(app: &TestApp, token: &str, path: &str) -> (u16, String, Vec<u8>) {
    app.raw(
        "GET",
        path,
        &[("authorization", &format!("Bearer {token}"))],
        None,
    )
}

/// The bank file's rows by header: (header → cell text) per row.
fn xlsx_rows(bytes: &[u8]) -> Vec<std::collections::HashMap<String, String>> {
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let mut rows = range.rows();
    let headers: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    rows.map(|r| {
        headers
            .iter()
            .cloned()
            .zip(r.iter().map(|c| match c {
                // Amounts are numbers shown with two decimals: read back as 分.
                Data::Float(f) => format!("{}", (f * 100.0).round() as i64),
                Data::Int(i) => format!("{}", i * 100),
                other => other.to_string(),
            }))
            .collect()
    })
    .collect()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            l.split(',')
                .map(|c| c.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

#[test]
fn an_application_goes_from_the_village_to_a_locked_roll_and_its_bank_files_match_it_line_by_line()
{
    for app in TestApp::all() {
        let office = app.token("office");
        let dir = app.token("dir-a1");
        standard(&app, &office, "orphan_scattered", 1694);
        let (status, body) = app.post(
            "/api/v1/allowances/standards",
            Some(&office),
            json!({"type": "factually_unsupported", "division": COUNTY, "amount_fen": null,
                   "follows_type": "orphan_scattered", "follows_percent": 100,
                   "from_month": this_month(&app).plus(-3).to_string()}),
        );
        assert_eq!(status, 201, "{body}");
        let a = orphan(&app, &dir, "孙小梅", 701, VILLAGE_A1);
        let b = orphan(&app, &dir, "孙小兰", 702, VILLAGE_A1);
        // The village sees both proposed, with the reason.
        let (_, proposals) = app.get("/api/v1/allowances/proposals", Some(&dir));
        let items = proposals["items"].as_array().unwrap();
        assert!(
            items.iter().any(|p| p["child_id"] == a.as_str()
                && p["type"] == "orphan_scattered"
                && p["reason"].as_str().unwrap().contains("登记为孤儿")),
            "{}: {proposals}",
            app.label
        );
        // Filing: a director's village only, the account sealed and shown masked.
        let (status, filed) = app.post(
            "/api/v1/allowances/applications",
            Some(&dir),
            json!({"child_id": a, "type": "orphan_scattered", "filed_as": "guardian_form",
                   "applicant": "王秀兰（祖母）", "bank_name": "四川农信",
                   "account_holder": "王秀兰", "bank_account": "6217 0000 1234 5678 901"}),
        );
        assert_eq!(status, 201, "{filed}");
        assert_eq!(
            (filed["status"].as_str(), filed["account_masked"].as_str()),
            (Some("filed"), Some("6217***********8901"))
        );
        let id_a = filed["id"].as_str().unwrap().to_string();
        // A document, stored like a visit photo under the child.
        let boundary = "allowance-doc";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        body.extend(jpeg(7));
        body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        let ct = format!("multipart/form-data; boundary={boundary}");
        let (status, _, doc) = app.raw(
            "POST",
            &format!("/api/v1/allowances/applications/{id_a}/documents"),
            &[
                ("authorization", &format!("Bearer {dir}")),
                ("content-type", &ct),
            ],
            Some(&body),
        );
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&doc));
        let doc: Value = serde_json::from_slice(&doc).unwrap();
        let (status, _, _) = download(
            &app,
            &office,
            &format!(
                "/api/v1/children/{a}/photos/{}",
                doc["id"].as_str().unwrap()
            ),
        );
        assert_eq!(status, 200);
        // Steps in order: the county waits for the township; the village decides nothing.
        let decide = |token: &str, step: &str| {
            app.post(
                &format!("/api/v1/allowances/applications/{id_a}/decisions"),
                Some(token),
                json!({"step": step, "decision": "approve", "reason": "核实无误"}),
            )
        };
        assert_eq!(decide(&office, "county").0, 409);
        assert_eq!(decide(&dir, "township").0, 403);
        assert_eq!(decide(&app.token("sup-a"), "township").0, 200);
        let (status, done) = decide(&office, "county");
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["status"], "confirmed");
        assert_eq!(done["start_month"], this_month(&app).next().to_string());
        assert_eq!(done["documents"].as_array().unwrap().len(), 1);
        let steps: Vec<&str> = done["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(steps, ["filed", "document", "township", "county"]);
        let id_b = confirmed(&app, &dir, &b, "orphan_scattered", "6217000099998888777");
        next_month(&app);
        // A month later every session has ended.
        let office = app.token("office");
        let month = this_month(&app).to_string();
        let (status, roll) = app.post(
            "/api/v1/allowances/rolls",
            Some(&office),
            json!({"division": COUNTY, "month": month}),
        );
        assert_eq!(status, 201, "{}: {roll}", app.label);
        assert_eq!(
            (roll["lines_total"].as_i64(), roll["total_fen"].as_i64()),
            (Some(2), Some(338_800))
        );
        assert_eq!(
            roll["changes"].as_array().unwrap().len(),
            0,
            "no roll last month"
        );
        let roll_id = roll["id"].as_str().unwrap().to_string();
        // A correction by hand before locking: it goes to b's payment.
        let (status, adjusted) = app.post(
            &format!("/api/v1/allowances/rolls/{roll_id}/adjustments"),
            Some(&office),
            json!({"application_id": id_b, "for_month": month, "amount_fen": 10_000,
                   "reason": "银行退回后重新发放"}),
        );
        assert_eq!(status, 200, "{adjusted}");
        assert_eq!(adjusted["total_fen"], 348_800);
        let (status, locked) = app.post(
            &format!("/api/v1/allowances/rolls/{roll_id}/lock"),
            Some(&office),
            json!(null),
        );
        assert_eq!(status, 200, "{locked}");
        assert_eq!(locked["status"], "locked");
        // Locked: nothing changes it any more.
        for (path, body) in [
            (
                format!("/api/v1/allowances/rolls/{roll_id}/lock"),
                json!({}),
            ),
            (
                format!("/api/v1/allowances/rolls/{roll_id}/adjustments"),
                json!({"application_id": id_b, "for_month": month, "amount_fen": 1, "reason": "x"}),
            ),
            (
                "/api/v1/allowances/rolls".to_string(),
                json!({"division": COUNTY, "month": month}),
            ),
        ] {
            let (status, body) = app.post(&path, Some(&office), body);
            assert_eq!(status, 409, "{path}: {body}");
        }
        // The bank files, read back, say exactly what the roll pays, line by line.
        let want = payees_of(&app, &office, &roll_id);
        assert_eq!(want.len(), 2);
        let (status, ct, bytes) = download(
            &app,
            &office,
            &format!("/api/v1/allowances/rolls/{roll_id}/export.xlsx"),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        assert!(ct.contains("spreadsheetml"), "{ct}");
        let rows = xlsx_rows(&bytes);
        assert_eq!(rows.len(), want.len());
        for (row, (_, name, fen)) in rows.iter().zip(&want) {
            assert_eq!(&row["姓名"], name);
            assert_eq!(row["金额（元）"], fen.to_string(), "{row:?}");
            assert!(
                row["身份证号"].contains("**********"),
                "masked by default: {row:?}"
            );
        }
        let row_of = |name: &str| rows.iter().find(|r| r["姓名"] == name).unwrap();
        assert_eq!(
            row_of("孙小梅")["银行账号"],
            "6217000012345678901",
            "the account in full"
        );
        assert_eq!(row_of("孙小兰")["备注"], "银行退回后重新发放");
        assert_eq!(row_of("孙小兰")["金额（元）"], "179400");
        // CSV in GBK, with the full 身份证号 (the office may; the export is audited).
        let (status, ct, bytes) = download(
            &app,
            &office,
            &format!("/api/v1/allowances/rolls/{roll_id}/export.csv?encoding=gbk&full_id=true"),
        );
        assert_eq!(status, 200);
        assert_eq!(ct, "text/csv");
        assert!(std::str::from_utf8(&bytes).is_err(), "GBK, not UTF-8");
        let (text, _, bad) = encoding_rs::GBK.decode(&bytes);
        assert!(!bad);
        let csv = csv_rows(&text);
        assert_eq!(csv[0][1], "姓名");
        assert_eq!(csv.len(), want.len() + 1);
        for (row, (_, name, fen)) in csv[1..].iter().zip(&want) {
            assert_eq!(&row[1], name);
            assert_eq!(row[6], weibao_domain::Fen(*fen).yuan());
        }
        let full = csv.iter().find(|r| r[1] == "孙小梅").unwrap();
        assert_eq!(full[2], child_id(10, 701), "the full number when asked");
        // The same rows in UTF-8, the number masked when not asked for.
        let (_, _, utf8) = download(
            &app,
            &office,
            &format!("/api/v1/allowances/rolls/{roll_id}/export.csv"),
        );
        let plain = csv_rows(std::str::from_utf8(&utf8).unwrap());
        assert_eq!(plain.len(), csv.len());
        for (p, g) in plain.iter().zip(&csv) {
            assert_eq!((&p[1], &p[6]), (&g[1], &g[6]));
        }
        assert!(plain[1][2].contains("**********"));
        // A roll is the county office's: the township reads totals, not the payees.
        let sup = app.token("sup-a");
        assert_eq!(
            download(
                &app,
                &sup,
                &format!("/api/v1/allowances/rolls/{roll_id}/export.xlsx")
            )
            .0,
            403
        );
        assert_eq!(
            app.get(&format!("/api/v1/allowances/rolls/{roll_id}"), Some(&sup))
                .0,
            403
        );
        let (status, totals) = app.get(
            &format!("/api/v1/allowances/totals?year={}", this_month(&app).year()),
            Some(&sup),
        );
        assert_eq!(status, 200);
        assert_eq!(
            (totals["total_fen"].as_i64(), totals["people"].as_i64()),
            (Some(348_800), Some(2))
        );
        assert!(
            totals["sentence"]
                .as_str()
                .unwrap()
                .contains("孤儿基本生活费0.35万元，共惠及2人"),
            "{totals}"
        );
        // Reading, exporting and revealing are in the audit log.
        let actions = app.block_on(async {
            app.store
                .recent_audit(&weibao_domain::access::Scope::system(), 500)
                .await
                .unwrap()
        });
        assert!(actions
            .iter()
            .any(|e| e.action == "allowance.roll.export" && e.detail.contains("full_id=true")));
        assert!(actions.iter().any(|e| e.action == "allowance.roll.lock"));
    }
}

#[test]
fn bad_allowance_input_is_refused_naming_the_field_and_changes_nothing() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    let dir = app.token("dir-a1");
    let child = orphan(&app, &dir, "赵小错", 711, VILLAGE_A1);
    let month = this_month(&app).to_string();
    for (path, token, body, field) in [
        (
            "/api/v1/allowances/standards",
            &office,
            json!({"type": "orphan_scattered", "division": COUNTY, "amount_fen": 100, "from_month": "2026-13"}),
            "from_month",
        ),
        (
            "/api/v1/allowances/standards",
            &office,
            json!({"type": "orphan_scattered", "division": COUNTY, "amount_fen": -1, "from_month": month}),
            "amount_fen",
        ),
        (
            "/api/v1/allowances/standards",
            &office,
            json!({"type": "orphan_scattered", "division": COUNTY, "amount_fen": 100, "follows_type": "distressed", "from_month": month}),
            "amount_fen",
        ),
        (
            "/api/v1/allowances/standards",
            &office,
            json!({"type": "no_such_type", "division": COUNTY, "amount_fen": 100, "from_month": month}),
            "type",
        ),
        (
            "/api/v1/allowances/standards",
            &office,
            json!({"type": "orphan_scattered", "division": COUNTY, "amount_fen": 100, "from_month": month, "to_month": this_month(&app).plus(-1).to_string()}),
            "to_month",
        ),
        (
            "/api/v1/allowances/applications",
            &dir,
            json!({"child_id": child, "type": "orphan_scattered", "bank_account": "6217x0001234"}),
            "bank_account",
        ),
        (
            "/api/v1/allowances/applications",
            &dir,
            json!({"child_id": child, "type": "factually_unsupported"}),
            "type",
        ),
        (
            "/api/v1/allowances/decisions",
            &office,
            json!({"ids": [], "step": "county", "decision": "approve", "reason": "x"}),
            "ids",
        ),
        (
            "/api/v1/allowances/rolls",
            &office,
            json!({"division": "510812100", "month": month}),
            "division",
        ),
        (
            "/api/v1/allowances/rolls",
            &office,
            json!({"division": COUNTY, "month": this_month(&app).plus(2).to_string()}),
            "month",
        ),
        (
            "/api/v1/allowances/budgets",
            &office,
            json!({"division": COUNTY, "year": 2026, "type": "orphan_scattered", "amount_fen": 1_000_000_000_001_i64}),
            "amount_fen",
        ),
    ] {
        let (status, answer) = app.post(path, Some(token), body.clone());
        assert_eq!(status, 422, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{path} {body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{message}"
        );
    }
    // A reason that is only spaces is not a reason.
    let (status, filed) = app.post(
        "/api/v1/allowances/applications",
        Some(&dir),
        json!({"child_id": child, "type": "orphan_scattered"}),
    );
    assert_eq!(status, 201, "{filed}");
    let id = filed["id"].as_str().unwrap();
    let (status, answer) = app.post(
        &format!("/api/v1/allowances/applications/{id}/decisions"),
        Some(&app.token("sup-a")),
        json!({"step": "township", "decision": "approve", "reason": "　 "}),
    );
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (422, Some("reason")),
        "{answer}"
    );
    let (status, answer) = app.get(
        "/api/v1/allowances/rolls/none/export.csv?encoding=latin1",
        Some(&office),
    );
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (422, Some("encoding")),
        "{answer}"
    );
    // Nothing was written: no standard, one application, still waiting for the township.
    let (_, standards) = app.get("/api/v1/allowances/standards", Some(&office));
    assert_eq!(standards["items"], json!([]));
    let (_, list) = app.get("/api/v1/allowances/applications", Some(&office));
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["status"], "filed");
    // Other villages' children are not there to apply for.
    let other = orphan(&app, &app.token("dir-a2"), "钱小邻", 712, VILLAGE_A2);
    let (status, _) = app.post(
        "/api/v1/allowances/applications",
        Some(&dir),
        json!({"child_id": other, "type": "orphan_scattered"}),
    );
    assert_eq!(status, 404);
}

#[test]
fn cli_generates_allowance_cases_and_makes_and_exports_a_roll() {
    let app = TestApp::sqlite();
    let url = app.db_url();
    let run = |args: &[&str]| {
        let out =
            super::support::weibao(&[&["--database", url.as_str()], args].concat(), None, None);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let text = run(&[
        "gen",
        "--children",
        "400",
        "--under",
        COUNTY,
        "--seed",
        "5",
        "--no-visits",
        "--allowances",
        "40",
        "--allowances-checked",
        "5",
    ]);
    assert!(
        text.contains("已生成保障对象 40 名（已确认）、待县级确认的申请 5 份"),
        "{text}"
    );
    // Confirmed 62 days ago: paid from the month after, so this month's roll pays them.
    let text = run(&["allowances", "roll", "--division", COUNTY, "--lock"]);
    assert!(
        text.contains("40 人，40 行") && text.contains("已锁定"),
        "{text}"
    );
    let roll = text
        .split("发放名册 ")
        .nth(1)
        .and_then(|t| t.split('：').next())
        .unwrap()
        .to_string();
    let dir = super::support::TempDir::new();
    let xlsx = dir.path().join("roll.xlsx");
    let text = run(&[
        "allowances",
        "export",
        "--roll",
        &roll,
        "--out",
        xlsx.to_str().unwrap(),
    ]);
    assert!(text.contains("已导出 40 行"), "{text}");
    let rows = xlsx_rows(&std::fs::read(&xlsx).unwrap());
    let office = app.token("office");
    let want = payees_of(&app, &office, &roll);
    assert_eq!(rows.len(), want.len());
    for (row, (_, name, fen)) in rows.iter().zip(&want) {
        assert_eq!((&row["姓名"], &row["金额（元）"]), (name, &fen.to_string()));
    }
    let csv = dir.path().join("roll.csv");
    run(&[
        "allowances",
        "export",
        "--roll",
        &roll,
        "--out",
        csv.to_str().unwrap(),
        "--encoding",
        "gbk",
    ]);
    let raw = std::fs::read(&csv).unwrap();
    let (text, _, bad) = encoding_rs::GBK.decode(&raw);
    assert!(!bad);
    assert_eq!(csv_rows(&text).len(), 41, "a header and 40 payees");
    // The checked ones wait for the county, who confirms them in one action.
    let (_, checked) = app.get(
        "/api/v1/allowances/applications?status=checked",
        Some(&office),
    );
    let ids: Vec<&str> = checked["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    let (status, result) = app.post(
        "/api/v1/allowances/decisions",
        Some(&office),
        json!({"ids": ids, "step": "county", "decision": "approve", "reason": "批量确认"}),
    );
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["done"], 5, "{result}");
}

#[test]
fn browser_takes_an_application_from_the_village_to_a_locked_roll_and_its_export_on_a_phone() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    let office = app.token("office");
    standard(&app, &office, "orphan_scattered", 1694);
    let child = orphan(&app, &app.token("dir-a1"), "周小禾", 721, VILLAGE_A1);
    let login = |user: &str| {
        browser.goto(&format!("{}/login", app.base));
        browser.fill("input[name=username]", user);
        browser.fill("input[name=password]", PASSWORD);
        browser.click("button[type=submit]");
        browser.wait_for_text("h1", "我的工作");
    };
    let narrow = || {
        let width = browser.eval("return document.documentElement.scrollWidth");
        assert!(
            width.as_i64().unwrap() <= 360,
            "{} is {width} px wide",
            browser.url()
        );
    };
    // The village: the child is proposed; the form shows which types fit and why.
    login("dir-a1");
    browser.click("nav.modules a[href='/allowances']");
    browser.wait_for_text("#proposals", "周小禾");
    narrow();
    browser.click(&format!(
        "#proposals a[href*='child={child}'][href*='orphan_scattered']"
    ));
    browser.wait_for_text("h1", "生活保障申请");
    assert_eq!(
        browser.eval("return document.querySelector('input[name=type]:checked').value"),
        json!("orphan_scattered")
    );
    assert!(browser
        .text("#application-form")
        .contains("不符合：台账未登记为事实无人抚养儿童"));
    browser.fill("input[name=bank_name]", "四川农信朝天支行");
    browser.fill("input[name=bank_account]", "6217 0000 1234 5678 901");
    let photo = super::support::TempDir::new();
    let file = photo.path().join("死亡证明.jpg");
    std::fs::write(&file, jpeg(3)).unwrap();
    browser.fill("input[name=documents]", file.to_str().unwrap());
    narrow();
    browser.screenshot("allowance-form-360");
    browser.click("#application-form button[type=submit]");
    browser.wait_for_text("#notice", "申请已提交");
    assert_eq!(browser.count(".previews img"), 1);
    assert_eq!(browser.text("#status"), "待乡镇查验");
    browser.click("button.link");
    // The township checks it.
    login("sup-a");
    browser.goto(&format!("{}/allowances", app.base));
    browser.click("#application-list a");
    browser.wait_for_text("#decision h2", "乡镇查验");
    browser.fill("textarea[name=reason]", "已入户核实，材料齐全");
    browser.click("#decision button[value=approve]");
    browser.wait_for_text("#notice", "已办理");
    assert_eq!(browser.text("#status"), "待县级确认");
    browser.click("button.link");
    // The county confirms what waits, ticked in its list.
    login("office");
    browser.goto(&format!("{}/allowances", app.base));
    browser.wait_for_text("#applications h2", "待县级确认");
    browser.click("#select-all");
    browser.click("#bulk-form button[type=submit]");
    browser.wait_for_text("#notice", "已办理 1 份");
    // Next month's roll: generated, reviewed, locked, exported (a new session: a month
    // later the old one has ended).
    next_month(&app);
    let office = app.token("office");
    login("office");
    browser.goto(&format!("{}/allowances/rolls", app.base));
    browser.set_value("input[name=month]", &this_month(&app).to_string());
    browser.click("#roll-form button[type=submit]");
    browser.wait_for_text("#notice", "名册已生成");
    assert!(browser.text("#roll-total").contains("1,694.00"));
    narrow();
    browser.screenshot("allowance-roll-360");
    browser.click("#lock-button");
    browser.wait_for_text("#notice", "名册已锁定");
    assert_eq!(browser.count("#export-form"), 1);
    // The export, fetched as the page's link does it (the session's cookie).
    let roll = browser
        .eval("return document.getElementById('export-form').dataset.roll")
        .as_str()
        .unwrap()
        .to_string();
    let got = browser.eval(&format!(
        "const x = new XMLHttpRequest(); x.open('GET', '/api/v1/allowances/rolls/{roll}/export.xlsx', false); \
         x.overrideMimeType('text/plain; charset=x-user-defined'); x.send(); \
         return [x.status, x.getResponseHeader('content-type'), x.responseText.length]"
    ));
    assert_eq!(got[0], 200, "{got}");
    assert!(got[1].as_str().unwrap().contains("spreadsheetml"));
    assert!(got[2].as_u64().unwrap() > 1000, "{got}");
    let (_, _, bytes) = download(
        &app,
        &office,
        &format!("/api/v1/allowances/rolls/{roll}/export.xlsx"),
    );
    let rows = xlsx_rows(&bytes);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["姓名"].as_str(), rows[0]["金额（元）"].as_str()),
        ("周小禾", "169400")
    );
    // The summary prints on A4.
    browser.goto(&format!("{}/allowances/rolls/{roll}/summary", app.base));
    browser.wait_for_text("#summary-total", "1,694.00");
    let pdf = browser.print_pdf("allowance-summary");
    assert!(pdf.starts_with(b"%PDF"));
    // The 公示 list: masked names, the village only.
    browser.goto(&format!("{}/allowances/notice", app.base));
    browser.wait_for_text("#notice-list", "周*禾");
    assert!(!browser.text("#notice-list").contains("周小禾"));
    browser.screenshot("allowance-notice");
}
