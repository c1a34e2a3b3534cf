//! The protection network over HTTP on every backend: places at their level, people
//! appointed and leaving (the post shows vacant, the record stays), training this year,
//! coverage counted from it, and who may keep it; the coverage page.

use serde_json::{json, Value};

use super::support::TestApp;
use super::{COUNTY, TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A1, VILLAGE_A2};

fn coverage(app: &TestApp, token: &str, division: &str) -> Value {
    let (status, body) = app.get(
        &format!("/api/v1/network/coverage?division={division}"),
        Some(token),
    );
    assert_eq!(status, 200, "{}: {body}", app.label);
    body
}

fn vacant(c: &Value, code: &str, post: &str) -> Option<Value> {
    c["vacancies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["division"] == format!("{code:0<12}") && v["post"] == post)
        .cloned()
}

#[test]
fn a_director_who_leaves_leaves_a_vacancy_and_coverage_counts_what_is_recorded() {
    for app in TestApp::all() {
        let at = app.label;
        let office = app.token("office");
        let before = coverage(&app, &office, TOWNSHIP_A);
        let villages = before["villages"].as_i64().unwrap();
        assert!(villages > 2, "{at}: {before}");
        assert_eq!(before["director_vacancies"], villages, "{at}");
        assert_eq!(before["townships"], 1, "{at}: a township counts itself");

        // A station and a work point, each at its level; a second station is refused.
        let (status, station) = app.post(
            "/api/v1/network/places",
            Some(&office),
            json!({"kind": "station", "division": TOWNSHIP_A, "name": "朝天镇未成年人保护工作站",
                   "opened_on": "2024-05-01", "staff": 3}),
        );
        assert_eq!(status, 201, "{at}: {station}");
        let (status, again) = app.post(
            "/api/v1/network/places",
            Some(&office),
            json!({"kind": "station", "division": TOWNSHIP_A, "name": "另一个工作站"}),
        );
        assert_eq!(status, 409, "{at}: {again}");
        let (status, wrong) = app.post(
            "/api/v1/network/places",
            Some(&office),
            json!({"kind": "work_point", "division": TOWNSHIP_A, "name": "儿童之家"}),
        );
        assert_eq!(
            (status, wrong["error"]["field"].as_str()),
            (422, Some("division")),
            "{at}: {wrong}"
        );
        let (status, _) = app.post(
            "/api/v1/network/places",
            Some(&office),
            json!({"kind": "work_point", "division": VILLAGE_A1, "name": "朝天村儿童之家"}),
        );
        assert_eq!(status, 201, "{at}");

        // The township's supervisor appoints the village's director, linked to an account.
        let sup = app.token("sup-a");
        let (status, director) = app.post(
            "/api/v1/network/people",
            Some(&sup),
            json!({"name": "李芳", "post": "director", "division": VILLAGE_A1,
                   "qualification": "certified_social_worker", "certificate": "assistant",
                   "phone": "139 1234 5678", "appointed_on": "2023-03-01", "username": "DIR-A1"}),
        );
        assert_eq!(status, 201, "{at}: {director}");
        assert_eq!(director["phone"], "13912345678", "{at}");
        assert!(
            director["user_id"].is_string(),
            "{at}: the account is linked"
        );
        let id = director["id"].as_str().unwrap().to_string();
        // A supervisor of another township cannot; a director may only read.
        let (status, _) = app.post(
            "/api/v1/network/people",
            Some(&app.token("sup-b")),
            json!({"name": "王强", "post": "director", "division": VILLAGE_A2}),
        );
        assert_eq!(status, 404, "{at}");
        let (status, _) = app.post(
            "/api/v1/network/people",
            Some(&app.token("dir-a2")),
            json!({"name": "王强", "post": "director", "division": VILLAGE_A2}),
        );
        assert_eq!(status, 403, "{at}");
        // A director is appointed to a village, not a township.
        let (status, refused) = app.post(
            "/api/v1/network/people",
            Some(&sup),
            json!({"name": "王强", "post": "director", "division": TOWNSHIP_A}),
        );
        assert_eq!(
            (status, refused["error"]["field"].as_str()),
            (422, Some("division")),
            "{at}: {refused}"
        );

        let now = coverage(&app, &office, TOWNSHIP_A);
        assert_eq!(
            (
                &now["stations"],
                &now["work_points"],
                &now["directors"],
                &now["untrained_directors"]
            ),
            (&json!(1), &json!(1), &json!(1), &json!(1)),
            "{at}: {now}"
        );
        assert_eq!(now["director_vacancies"], villages - 1, "{at}");
        assert!(vacant(&now, VILLAGE_A1, "director").is_none(), "{at}");
        assert!(vacant(&now, TOWNSHIP_A, "supervisor").is_some(), "{at}");
        // The county's figures and its row for the township say the same.
        let county = coverage(&app, &office, COUNTY);
        let row = county["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["division"] == format!("{TOWNSHIP_A:0<12}"))
            .unwrap()
            .clone();
        assert_eq!(
            (&row["directors"], &row["stations"]),
            (&json!(1), &json!(1)),
            "{at}"
        );
        assert_eq!(county["directors"], 1, "{at}");
        let b = county["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["division"] == format!("{TOWNSHIP_B:0<12}"))
            .unwrap()
            .clone();
        assert_eq!(b["directors"], 0, "{at}");

        // Training this year counts.
        let (status, trained) = app.post(
            &format!("/api/v1/network/people/{id}/trainings"),
            Some(&sup),
            json!({"held_on": app.store.clock().today().to_string(), "hours": 3.5,
                   "topic": "儿童主任业务培训"}),
        );
        assert_eq!(status, 201, "{at}: {trained}");
        assert_eq!(trained["training_hours"], 3.5, "{at}");
        assert_eq!(
            coverage(&app, &office, TOWNSHIP_A)["untrained_directors"],
            0,
            "{at}"
        );

        // She leaves: the village's post is vacant from that day, her record stays.
        let today = app.store.clock().today().to_string();
        let (status, left) = app.post(
            &format!("/api/v1/network/people/{id}/leave"),
            Some(&office),
            json!({"left_on": today, "reason": "调任乡镇工作"}),
        );
        assert_eq!(status, 200, "{at}: {left}");
        let (status, twice) = app.post(
            &format!("/api/v1/network/people/{id}/leave"),
            Some(&office),
            json!({"left_on": today, "reason": "调任乡镇工作"}),
        );
        assert_eq!(status, 409, "{at}: {twice}");
        let after = coverage(&app, &office, TOWNSHIP_A);
        assert_eq!(after["directors"], 0, "{at}");
        assert_eq!(after["director_vacancies"], villages, "{at}");
        let v = vacant(&after, VILLAGE_A1, "director").expect("the village's post is vacant");
        assert_eq!(v["since"], today, "{at}");
        let (_, current) = app.get(
            &format!("/api/v1/network/people?division={VILLAGE_A1}"),
            Some(&office),
        );
        assert_eq!(current["items"], json!([]), "{at}");
        let (_, all) = app.get(
            &format!("/api/v1/network/people?division={VILLAGE_A1}&former=true"),
            Some(&office),
        );
        assert_eq!(
            all["items"][0]["left_reason"], "调任乡镇工作",
            "{at}: {all}"
        );
    }
}

#[test]
fn the_coverage_page_shows_the_figures_and_links_each_township() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    let (status, _) = app.post(
        "/api/v1/network/people",
        Some(&office),
        json!({"name": "赵敏", "post": "supervisor", "division": TOWNSHIP_A}),
    );
    assert_eq!(status, 201);
    let cookie = app.cookie("office");
    let (status, _, html) = app.raw(
        "GET",
        &format!("/network?division={COUNTY}"),
        &[("cookie", &cookie)],
        None,
    );
    let html = String::from_utf8(html).unwrap();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<dd id=\"supervisors\">1 人</dd>"), "{html}");
    assert!(html.contains(&format!("href=\"/network?division={TOWNSHIP_A:0<12}\"")));
    // A township's page lists its people.
    let (_, _, html) = app.raw(
        "GET",
        &format!("/network?division={TOWNSHIP_A}"),
        &[("cookie", &cookie)],
        None,
    );
    assert!(String::from_utf8(html).unwrap().contains("赵敏"));
    // Member units see none of it.
    let (status, _) = app.get(
        &format!("/api/v1/network/coverage?division={COUNTY}"),
        Some(&app.token("auditor")),
    );
    assert_eq!(status, 403);
}

/// A county's roster the way it keeps one: a merged title, a running number, a header
/// naming the 儿童之家 and the 儿童主任, a township's own row for its station and its
/// supervisor, dates as text and as Excel dates. `phone` fills 青云村's director's phone.
fn county_roster(phone: &str) -> Vec<u8> {
    roster_sheet(&[
        [
            "朝天镇",
            "",
            "朝天镇未成年人保护工作站",
            "赵敏",
            "乡镇干部",
            "13900001111",
            "2022-09-01",
        ],
        [
            "朝天镇",
            "朝天村",
            "朝天村儿童之家",
            "李芳",
            "村委委员",
            "139 1234 5678",
            "2023年3月1日",
        ],
        [
            "朝天镇",
            "青云村",
            "青云村儿童之家",
            "王强",
            "大学生村官",
            phone,
            "date:2024-05-10",
        ],
        ["大滩镇", "横梁村", "", "陈红", "社工", "", ""],
    ])
}

/// The roster sheet of [`county_roster`] with these rows (township, village, 儿童之家,
/// name, qualification, phone, appointed; "date:" for an Excel date).
fn roster_sheet(rows: &[[&str; 7]]) -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.merge_range(
        0,
        0,
        0,
        7,
        "朝天区未成年人保护工作网络花名册",
        &Format::new().set_bold(),
    )
    .unwrap();
    let headers = [
        "序号",
        "乡镇（街道）",
        "村（社区）",
        "儿童之家名称",
        "儿童主任\n姓名",
        "人员身份",
        "联系电话",
        "任职时间",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy/m/d");
    for (i, r) in rows.iter().enumerate() {
        let row = 2 + i as u32;
        ws.write_number(row, 0, (i + 1) as f64).unwrap();
        for (c, v) in r.iter().enumerate() {
            let col = 1 + c as u16;
            if let Some(d) = v.strip_prefix("date:") {
                let d = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
                use chrono::Datelike;
                let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                    .unwrap();
                ws.write_datetime_with_format(row, col, &dt, &date).unwrap();
            } else if !v.is_empty() {
                ws.write_string(row, col, *v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

/// Posts a roster to the import; `commit` false is the dry run.
fn import_roster(app: &TestApp, token: &str, bytes: &[u8], commit: bool) -> (u16, Value) {
    let boundary = "weibao-roster-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"花名册.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, _, answer) = app.raw(
        "POST",
        &format!(
            "/api/v1/network/import?division={COUNTY}&dry_run={}",
            !commit
        ),
        &[
            ("authorization", &format!("Bearer {token}")),
            (
                "content-type",
                &format!("multipart/form-data; boundary={boundary}"),
            ),
        ],
        Some(&body),
    );
    (
        status,
        serde_json::from_slice(&answer).unwrap_or(Value::Null),
    )
}

#[test]
fn a_county_roster_imports_all_or_nothing_once_and_exports_to_read_back() {
    use calamine::Reader;
    for app in TestApp::all() {
        let at = app.label;
        let office = app.token("office");
        let before = coverage(&app, &office, COUNTY);
        assert_eq!(
            (&before["stations"], &before["directors"]),
            (&json!(0), &json!(0)),
            "{at}"
        );

        // One bad phone refuses the whole sheet, by row and field, and records nothing.
        let (status, refused) = import_roster(&app, &office, &county_roster("12345"), true);
        assert_eq!(status, 422, "{at}: {refused}");
        let errors = refused["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{at}: {refused}");
        assert_eq!(
            (&errors[0]["row"], &errors[0]["field"]),
            (&json!(5), &json!("phone")),
            "{at}: {refused}"
        );
        assert_eq!(coverage(&app, &office, COUNTY)["directors"], 0, "{at}");

        // The dry run says what each column is read as and what would be added.
        let good = county_roster("13800001111");
        let (status, dry) = import_roster(&app, &office, &good, false);
        assert_eq!(status, 200, "{at}: {dry}");
        let field_of = |header: &str| {
            dry["columns"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["header"].as_str().unwrap().contains(header))
                .map(|c| c["field"].clone())
                .unwrap()
        };
        assert_eq!(field_of("儿童之家"), json!("place_name"), "{at}: {dry}");
        assert_eq!(field_of("姓名"), json!("name"), "{at}");
        assert_eq!(field_of("村"), json!("village"), "{at}");
        assert_eq!(field_of("任职"), json!("appointed_on"), "{at}");
        assert_eq!(
            (&dry["dry_run"], &dry["places_added"], &dry["people_added"]),
            (&json!(true), &json!(3), &json!(4)),
            "{at}: {dry}"
        );
        assert_eq!(coverage(&app, &office, COUNTY)["directors"], 0, "{at}");

        // The real run: the township's row is its station and its supervisor, each
        // village's row its work point and its director.
        let (status, done) = import_roster(&app, &office, &good, true);
        assert_eq!(status, 200, "{at}: {done}");
        assert_eq!(done["imported"], 7, "{at}: {done}");
        let a = coverage(&app, &office, TOWNSHIP_A);
        assert_eq!(
            (
                &a["stations"],
                &a["work_points"],
                &a["supervisors"],
                &a["directors"]
            ),
            (&json!(1), &json!(2), &json!(1), &json!(2)),
            "{at}: {a}"
        );
        assert_eq!(coverage(&app, &office, TOWNSHIP_B)["directors"], 1, "{at}");
        let (_, people) = app.get(
            &format!("/api/v1/network/people?division={TOWNSHIP_A}"),
            Some(&office),
        );
        let person = |name: &str| {
            people["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("{at}: {name} in {people}"))
        };
        assert_eq!(
            (
                &person("王强")["appointed_on"],
                &person("王强")["qualification"]
            ),
            (&json!("2024-05-10"), &json!("college_official")),
            "{at}"
        );
        assert_eq!(person("李芳")["appointed_on"], "2023-03-01", "{at}");
        assert_eq!(person("李芳")["phone"], "13912345678", "{at}");
        assert_eq!(
            (&person("赵敏")["post"], &person("赵敏")["division"]),
            (&json!("supervisor"), &json!(format!("{TOWNSHIP_A:0<12}"))),
            "{at}"
        );

        // The same sheet again adds nothing.
        let (status, again) = import_roster(&app, &office, &good, true);
        assert_eq!(status, 200, "{at}: {again}");
        assert_eq!(
            (
                &again["imported"],
                &again["places_existing"],
                &again["people_existing"]
            ),
            (&json!(0), &json!(3), &json!(4)),
            "{at}: {again}"
        );

        // The export holds every place and person, and reads back as nothing new.
        let (status, _, bytes) = app.raw(
            "GET",
            &format!("/api/v1/network/export.xlsx?division={COUNTY}"),
            &[("authorization", &format!("Bearer {office}"))],
            None,
        );
        assert_eq!(status, 200, "{at}: {}", String::from_utf8_lossy(&bytes));
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
        let sheet = book.worksheet_range_at(0).unwrap().unwrap();
        let rows: Vec<Vec<String>> = sheet
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(rows.len(), 1 + 4, "{at}: {rows:?}");
        let qingyun = rows
            .iter()
            .find(|r| r.contains(&"王强".to_string()))
            .unwrap();
        assert!(
            qingyun.contains(&"青云村儿童之家".to_string())
                && qingyun.contains(&"13800001111".to_string())
                && qingyun[1].starts_with("青云村")
                && qingyun[2] == format!("{VILLAGE_A2:0<12}"),
            "{at}: {qingyun:?}"
        );
        let (status, back) = import_roster(&app, &office, &bytes, false);
        assert_eq!(status, 200, "{at}: {back}");
        assert_eq!(
            (
                &back["rows_good"],
                &back["imported"],
                &back["people_existing"]
            ),
            (&json!(4), &json!(0), &json!(4)),
            "{at}: {back}"
        );

        // A township's supervisor imports only within the township; a director not at all.
        let (status, _, _) = app.raw(
            "GET",
            &format!("/api/v1/network/export.xlsx?division={COUNTY}"),
            &[("authorization", &format!("Bearer {}", app.token("sup-a")))],
            None,
        );
        assert_eq!(status, 404, "{at}");
        let (status, _, _) = app.raw(
            "GET",
            &format!("/api/v1/network/export.xlsx?division={VILLAGE_A1}"),
            &[("authorization", &format!("Bearer {}", app.token("dir-a1")))],
            None,
        );
        assert_eq!(status, 403, "{at}");
    }
}

#[test]
fn a_supervisor_imports_the_townships_roster_on_a_phone() {
    let Some(browser) = super::support::Browser::start(360, 740) else {
        return;
    };
    let app = TestApp::sqlite();
    let dir = super::support::TempDir::new();
    let bad = dir.path().join("bad.xlsx");
    let good = dir.path().join("good.xlsx");
    std::fs::write(
        &bad,
        roster_sheet(&[["大滩镇", "横梁村", "", "陈红", "社工", "", ""]]),
    )
    .unwrap();
    std::fs::write(
        &good,
        roster_sheet(&[
            ["朝天镇", "", "朝天镇未成年人保护工作站", "赵敏", "", "", ""],
            [
                "朝天镇",
                "青云村",
                "青云村儿童之家",
                "王强",
                "村委委员",
                "",
                "",
            ],
        ]),
    )
    .unwrap();
    browser.goto(&format!("{}/login", app.base));
    browser.fill("input[name=username]", "sup-a");
    browser.fill("input[name=password]", super::PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "我的工作");
    browser.goto(&format!("{}/network?division={TOWNSHIP_A}", app.base));
    browser.click("#roster summary");
    // Another township's village is refused by row, and nothing is offered to commit.
    browser.fill("#import-form input[type=file]", bad.to_str().unwrap());
    browser.click("#import-form button[type=submit]");
    browser.wait_for_text("#import-report", "发现 1 处问题");
    assert!(browser.text("#import-errors").contains("横梁村"));
    assert_eq!(browser.count("#import-commit"), 0);
    browser.fill("#import-form input[type=file]", good.to_str().unwrap());
    browser.click("#import-form button[type=submit]");
    browser.wait_for_text("#import-report h2", "检查通过");
    assert!(
        browser
            .text("#import-summary")
            .contains("将新增阵地 2 个、人员 2 名"),
        "{}",
        browser.text("#import-report")
    );
    assert_eq!(
        coverage(&app, &app.token("sup-a"), TOWNSHIP_A)["directors"],
        0,
        "the dry run saved nothing"
    );
    browser.click("#import-commit");
    browser.wait_for_text("#import-done", "新增阵地 2 个、人员 2 名");
    let after = coverage(&app, &app.token("sup-a"), TOWNSHIP_A);
    assert_eq!(
        (
            &after["stations"],
            &after["supervisors"],
            &after["directors"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{after}"
    );
}
