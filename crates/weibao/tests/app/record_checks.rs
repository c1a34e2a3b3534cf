//! Pre-employment record checks (入职查询) over HTTP on every backend: the office and the
//! police liaison load the restricted list, institutions ask with the signed consent and
//! hear only 有/无相关记录 with a query number, a batch sheet is answered row by row, bad
//! input changes nothing, the account's hourly limit holds, and the list is matched but
//! never read: every record-check route, tried by every role, never answers a listed
//! person's name, number or record.

use serde_json::{json, Value};
use weibao_domain::access::Role;
use weibao_sheets::OutCell;

use super::reports_pages::{add_user, fits_the_phone, sign_in};
use super::support::{jpeg, Browser, TestApp};
use super::COUNTY;

/// Adults' numbers: listed, listed by the police, never listed.
const LISTED: &str = "11010519491231002X";
const BY_POLICE: &str = "510812198506152016";
const CLEAR: &str = "110105198001011238";
const LISTED_NAME: &str = "甲某某";
const POLICE_NAME: &str = "乙某某";
const SOURCE: &str = "（2019）川0812刑初12号";

fn ask(app: &TestApp, token: &str, name: &str, id: &str) -> (u16, Value) {
    app.post_multipart(
        "/api/v1/record-checks",
        token,
        &[("name", name), ("id_number", id), ("post", "体育教师")],
        &[("consent", "授权书.jpg", &jpeg(7))],
    )
}

fn sheet(headers: &[&str], rows: &[&[&str]]) -> Vec<u8> {
    weibao_sheets::write_table(
        "名单",
        headers,
        rows.iter()
            .map(|r| r.iter().map(|c| OutCell::Text(c.to_string())).collect()),
    )
    .unwrap()
}

fn size(app: &TestApp, token: &str) -> i64 {
    let (status, body) = app.get("/api/v1/record-list/size", Some(token));
    assert_eq!(status, 200, "{body}");
    body["size"].as_i64().unwrap()
}

#[test]
fn the_restricted_list_is_matched_but_never_read() {
    for app in TestApp::all() {
        let at = app.label;
        add_user(&app, "police", Role::Unit, COUNTY, Some("公安"));
        add_user(&app, "edu", Role::Unit, COUNTY, Some("教育"));
        add_user(&app, "school", Role::Reporter, COUNTY, Some("教育"));
        let (office, police, edu, school) = (
            app.token("office"),
            app.token("police"),
            app.token("edu"),
            app.token("school"),
        );

        // The office loads one person; loading them again adds no one.
        let entry = json!({"entries": [{"name": LISTED_NAME, "id_number": LISTED,
                                        "offence": "sexual", "source": SOURCE}]});
        let (status, loaded) = app.post("/api/v1/record-list", Some(&office), entry.clone());
        assert_eq!(status, 201, "{at}: {loaded}");
        assert_eq!(
            (loaded["added"].as_i64(), loaded["size"].as_i64()),
            (Some(1), Some(1))
        );
        let (_, again) = app.post("/api/v1/record-list", Some(&office), entry);
        assert_eq!(
            (again["added"].as_i64(), again["already"].as_i64()),
            (Some(0), Some(1))
        );
        // One bad entry refuses the whole load, naming it.
        let (status, refused) = app.post(
            "/api/v1/record-list",
            Some(&office),
            json!({"entries": [{"name": "丙某", "id_number": CLEAR, "offence": "abuse"},
                               {"name": "丁某", "id_number": "110105198001011239", "offence": "abuse"}]}),
        );
        assert_eq!(status, 422, "{at}: {refused}");
        assert_eq!(refused["error"]["field"], "id_number");
        assert!(refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("第 2 条"));
        assert_eq!(
            size(&app, &office),
            1,
            "{at}: nothing of a refused load is kept"
        );

        // The police liaison loads from its sheet; another unit's liaison may not.
        let police_sheet = sheet(
            &["序号", "姓名", "身份证号码", "违法犯罪类别", "记录来源"],
            &[&["1", POLICE_NAME, BY_POLICE, "暴力伤害", SOURCE]],
        );
        let (status, loaded) = app.post_multipart(
            "/api/v1/record-list/import",
            &police,
            &[],
            &[("file", "名单.xlsx", &police_sheet)],
        );
        assert_eq!(status, 201, "{at}: {loaded}");
        assert_eq!(loaded["added"], 1);
        let (status, _) = app.post_multipart(
            "/api/v1/record-list/import",
            &edu,
            &[],
            &[("file", "名单.xlsx", &police_sheet)],
        );
        assert_eq!(
            status, 403,
            "{at}: only the police liaison among units loads"
        );

        // A school asks: 有 for the listed, 无 for anyone else, with a number; the answer
        // holds nothing of the record.
        let (status, found) = ask(&app, &school, "甲某某", LISTED);
        assert_eq!(status, 201, "{at}: {found}");
        assert_eq!(found["result"], "found");
        assert_eq!(found["result_label"], "有相关记录");
        assert!(found["number"].as_str().unwrap().starts_with("RC"));
        assert_eq!(found["id_number_masked"], "1101**********002X");
        let text = found.to_string();
        assert!(!text.contains(SOURCE) && !text.contains("sexual") && !text.contains("性侵"));
        let (_, clear) = ask(&app, &school, "王某", CLEAR);
        assert_eq!(clear["result"], "clear", "{at}: {clear}");
        assert_ne!(clear["number"], found["number"]);
        let (_, by_police) = ask(&app, &school, "乙某", BY_POLICE);
        assert_eq!(
            by_police["result"], "found",
            "{at}: the police's entries match too"
        );

        // Without the consent, with a mistyped number, or about a child: refused, nothing
        // recorded.
        let (status, refused) = app.post_multipart(
            "/api/v1/record-checks",
            &school,
            &[("name", "王某"), ("id_number", CLEAR), ("post", "保育员")],
            &[],
        );
        assert_eq!(
            (status, refused["error"]["field"].as_str()),
            (422, Some("consent"))
        );
        let (status, refused) = ask(&app, &school, "王某", "110105198001011239");
        assert_eq!(
            (status, refused["error"]["field"].as_str()),
            (422, Some("id_number"))
        );
        let (status, refused) = ask(&app, &school, "小明", "51081220150307001X");
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (422, Some("id_number_age")),
            "{at}"
        );
        let (_, mine) = app.get("/api/v1/record-checks", Some(&school));
        assert_eq!(mine["items"].as_array().unwrap().len(), 3, "{at}: {mine}");
        // The school's own list shows the names it typed; the office's masks them.
        assert!(mine.to_string().contains("王某"));
        let (_, all) = app.get("/api/v1/record-checks", Some(&office));
        assert_eq!(all["items"].as_array().unwrap().len(), 3, "{at}");
        assert!(!all.to_string().contains("王某\""), "{at}: {all}");
        // Another unit does not see the school's questions.
        let (_, theirs) = app.get("/api/v1/record-checks", Some(&edu));
        assert!(
            theirs["items"].as_array().unwrap().is_empty(),
            "{at}: {theirs}"
        );

        // Every route of the module, by every role: nothing answers who is on the list.
        let roles = [
            "admin", "office", "sup-a", "dir-a1", "police", "edu", "school", "auditor",
        ];
        let batch = sheet(
            &["姓名", "身份证号", "岗位"],
            &[&["甲某某", LISTED, "教师"]],
        );
        for user in roles {
            let token = if user == "admin" {
                add_user(&app, "admin-r", Role::Admin, COUNTY, None);
                app.token("admin-r")
            } else {
                app.token(user)
            };
            let mut answers = vec![
                app.get("/api/v1/record-checks", Some(&token)),
                app.get("/api/v1/record-list/size", Some(&token)),
                ask(&app, &token, "甲某某", LISTED),
                app.post_multipart(
                    "/api/v1/record-checks/batch",
                    &token,
                    &[],
                    &[("file", "复查.xlsx", &batch), ("consent", "名单.pdf", b"%PDF-1.4 x")],
                ),
                app.post(
                    "/api/v1/record-list",
                    Some(&token),
                    json!({"entries": [{"name": LISTED_NAME, "id_number": LISTED, "offence": "sexual"}]}),
                ),
            ];
            let (status, _, xlsx) = app.raw(
                "GET",
                "/api/v1/record-checks/export.xlsx",
                &[("authorization", &format!("Bearer {token}"))],
                None,
            );
            if status == 200 {
                let table = weibao_sheets::read_table(
                    &xlsx,
                    &weibao_sheets::HeaderMatcher::new(vec![
                        ("name".into(), vec!["姓名".into()]),
                        ("id".into(), vec!["身份证号".into()]),
                    ]),
                    &["id"],
                    1000,
                )
                .unwrap();
                for r in table.rows {
                    let id = r.cells["id"].text();
                    assert!(
                        id.contains('*'),
                        "{at}: {user}'s export shows a full number"
                    );
                }
            }
            if user == "auditor" {
                // The audit log names who asked, never whom about or what was found.
                let cookie = app.cookie("auditor");
                let (status, _, page) = app.raw("GET", "/audit", &[("cookie", &cookie)], None);
                let page = String::from_utf8_lossy(&page).to_string();
                assert!(page.contains("record_check.ask"), "{at}: {status}");
                answers.push((status, Value::String(page)));
            }
            for (status, body) in answers {
                let text = body.to_string();
                assert!(
                    !text.contains(LISTED)
                        && !text.contains(BY_POLICE)
                        && !text.contains(SOURCE)
                        && !text.contains(POLICE_NAME),
                    "{at}: {user} read the list ({status}): {text}"
                );
                assert!(
                    !text.contains("sexual") && !text.contains("violence"),
                    "{at}: {user} learnt a listed offence ({status}): {text}"
                );
            }
        }

        // A batch sheet: one bad row refuses it all, naming the row; a good one is answered
        // row by row and comes back as a sheet for the file.
        let bad = sheet(
            &["姓名", "身份证号", "岗位"],
            &[
                &["王某", CLEAR, "教师"],
                &["李某", "11010519800101123", "保安"],
            ],
        );
        let (status, refused) = app.post_multipart(
            "/api/v1/record-checks/batch",
            &school,
            &[],
            &[
                ("file", "复查.xlsx", &bad),
                ("consent", "名单.jpg", &jpeg(9)),
            ],
        );
        assert_eq!(status, 422, "{at}: {refused}");
        assert!(refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("第 3 行"));
        let good = sheet(
            &["姓名", "身份证号码", "拟聘岗位", "查询类型"],
            &[
                &["王某", CLEAR, "教师", "在职定期查询"],
                &["乙某", BY_POLICE, "保安", "在职定期查询"],
            ],
        );
        let (status, answered) = app.post_multipart(
            "/api/v1/record-checks/batch",
            &school,
            &[],
            &[
                ("file", "复查.xlsx", &good),
                ("consent", "名单.jpg", &jpeg(10)),
            ],
        );
        assert_eq!(status, 201, "{at}: {answered}");
        let items = answered["items"].as_array().unwrap();
        let results: Vec<&str> = items
            .iter()
            .map(|i| i["result"].as_str().unwrap())
            .collect();
        assert_eq!(results, ["clear", "found"], "{at}");
        assert_eq!(items[0]["purpose"], "periodic");
        let batch_id = items[0]["batch_id"].as_str().unwrap();
        let (status, _, xlsx) = app.raw(
            "GET",
            &format!("/api/v1/record-checks/export.xlsx?batch={batch_id}"),
            &[("authorization", &format!("Bearer {school}"))],
            None,
        );
        assert_eq!(status, 200);
        let table = weibao_sheets::read_table(
            &xlsx,
            &weibao_sheets::HeaderMatcher::new(vec![
                ("result".into(), vec!["查询结果".into()]),
                ("number".into(), vec!["查询编号".into()]),
            ]),
            &["result", "number"],
            100,
        )
        .unwrap();
        let got: Vec<String> = table
            .rows
            .iter()
            .map(|r| r.cells["result"].text())
            .collect();
        assert_eq!(got, ["无相关记录", "有相关记录"], "{at}");

        // A wrong entry withdrawn: the person is clear again.
        let (status, gone) = app.post(
            "/api/v1/record-list/withdrawals",
            Some(&office),
            json!({"id_number": LISTED, "reason": "错录，经核实非本人"}),
        );
        assert_eq!(
            (status, gone["withdrawn"].as_u64()),
            (200, Some(1)),
            "{at}: {gone}"
        );
        let (_, now_clear) = ask(&app, &school, "甲某某", LISTED);
        assert_eq!(now_clear["result"], "clear", "{at}");
    }
}

#[test]
fn an_account_asking_one_by_one_is_stopped_after_its_hourly_share() {
    let app = TestApp::sqlite();
    add_user(&app, "school", Role::Reporter, COUNTY, Some("教育"));
    let school = app.token("school");
    let limit = weibao_domain::record_checks::HOURLY_CHECKS_PER_ACCOUNT;
    for i in 0..limit {
        let (status, body) = ask(&app, &school, "王某", CLEAR);
        assert_eq!(status, 201, "question {i}: {body}");
    }
    let (status, refused) = ask(&app, &school, "王某", CLEAR);
    assert_eq!(status, 429, "{refused}");
    assert_eq!(refused["error"]["code"], "too_many_checks");
    // An hour on, the account may ask again.
    app.store.clock().advance_ms(3_600_001);
    let school = app.token("school");
    assert_eq!(ask(&app, &school, "王某", CLEAR).0, 201);
}

#[test]
fn browser_a_school_asks_on_a_phone_and_the_office_sees_only_the_lists_size() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    add_user(&app, "school", Role::Reporter, COUNTY, Some("教育"));
    let (status, _) = app.post(
        "/api/v1/record-list",
        Some(&app.token("office")),
        json!({"entries": [{"name": LISTED_NAME, "id_number": LISTED, "offence": "sexual"}]}),
    );
    assert_eq!(status, 201);
    let dir = super::support::TempDir::new();
    let consent = dir.path().join("授权书.jpg");
    std::fs::write(&consent, jpeg(5)).unwrap();

    // The school asks about an applicant: a mistyped number is refused in the form with
    // what was typed kept; the right one is answered 无相关记录 with a number.
    sign_in(&browser, &app, "school");
    assert_eq!(
        browser.count("nav a[href='/record-checks']"),
        1,
        "in the menu"
    );
    browser.goto(&format!("{}/record-checks", app.base));
    browser.wait_for_text("h1", "入职查询");
    let ask = |name: &str, id: &str| {
        browser.fill("#ask input[name=name]", name);
        browser.fill("#ask input[name=id_number]", id);
        browser.fill("#ask input[name=post]", "保育员");
        browser.fill("#ask input[name=consent]", consent.to_str().unwrap());
        browser.click("#ask button[type=submit]");
    };
    ask("王某", "110105198001011239");
    browser.wait_for_text("#form-error", "校验位");
    assert_eq!(
        browser.eval("return document.querySelector('#ask input[name=name]').value"),
        json!("王某")
    );
    fits_the_phone(&browser, "the record-check page");
    browser.screenshot("record-check-360");
    ask("王某", CLEAR);
    browser.wait_for_text("#answers", "无相关记录");
    assert!(browser.text("#answers").contains("查询编号 RC"));
    browser.goto(&format!("{}/record-checks", app.base));
    ask("甲某某", LISTED);
    browser.wait_for_text("#answers", "有相关记录");
    assert_eq!(browser.count("#history li"), 2);
    assert!(
        !browser.text("main").contains(LISTED),
        "the number is masked"
    );
    assert_eq!(
        browser.count("#list"),
        0,
        "an institution sees nothing of the list"
    );

    // The office sees the list's size only.
    sign_in(&browser, &app, "office");
    browser.goto(&format!("{}/record-checks", app.base));
    assert_eq!(browser.text("#list-size"), "1");
    assert!(!browser.text("main").contains(LISTED_NAME));
}
