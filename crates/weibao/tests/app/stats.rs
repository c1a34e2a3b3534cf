//! The statistics over HTTP: the overview's tiles lead to lists of the same size, each
//! reader gets the figures of their own subtree, and in the browser the county drills down
//! to a village's list on a phone.

use serde_json::json;

use super::support::{Browser, TestApp, PASSWORD};
use super::{child_id, COUNTY, TOWNSHIP_A, VILLAGE_A1, VILLAGE_A2, VILLAGE_B1};

/// Three children: an orphan and a left-behind child in 朝天镇, one more in 大滩镇.
fn register(app: &TestApp, office: &str) {
    let migrant = json!({"status": "外出务工", "since": "2024-02-01"});
    for (name, seq, village, body) in [
        ("张小花", 901, VILLAGE_A1, json!({"categories": ["孤儿"]})),
        (
            "李小明",
            902,
            VILLAGE_A2,
            json!({"father": migrant, "mother": migrant}),
        ),
        ("王小兰", 903, VILLAGE_B1, json!({"risk": "高"})),
    ] {
        let mut b = body;
        b["name"] = json!(name);
        b["id_number"] = json!(child_id(8, seq));
        b["division"] = json!(village);
        let (status, res) = app.post("/api/v1/children", Some(office), b);
        assert_eq!(status, 201, "{}: {res}", app.label);
    }
}

fn tile<'a>(body: &'a serde_json::Value, dim: &str, key: &str) -> &'a serde_json::Value {
    body[dim]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == key)
        .unwrap_or_else(|| panic!("no tile {key} in {dim}: {body}"))
}

#[test]
fn the_overview_counts_what_its_lists_show_within_each_readers_reach() {
    for app in TestApp::all() {
        let office = app.token("office");
        register(&app, &office);
        let (status, body) = app.get(
            &format!("/api/v1/stats/overview?division={COUNTY}"),
            Some(&office),
        );
        assert_eq!(status, 200, "{}: {body}", app.label);
        assert_eq!(body["children"], 3, "{}: {body}", app.label);
        assert_eq!(tile(&body, "categories", "孤儿")["count"], 1);
        assert_eq!(tile(&body, "categories", "农村留守儿童")["count"], 1);
        assert_eq!(tile(&body, "risks", "高")["count"], 1);
        assert_eq!(tile(&body, "age_bands", "6-13")["count"], 3);
        // Every tile's list has as many children as the tile says.
        for dim in ["categories", "sexes", "age_bands", "risks", "schools"] {
            for t in body[dim].as_array().unwrap() {
                let Some(list) = t["list"].as_str() else {
                    continue;
                };
                let (status, l) = app.get(list, Some(&office));
                assert_eq!(status, 200, "{list}: {l}");
                assert_eq!(l["total"], t["count"], "{}: {list}", app.label);
            }
        }
        // The townships one level down, and each one's own overview.
        let parts = body["parts"].as_array().unwrap();
        let a = parts
            .iter()
            .find(|p| p["division"] == format!("{TOWNSHIP_A}000"))
            .unwrap();
        assert_eq!(a["children"], 2, "{body}");
        assert_eq!(a["categories"]["孤儿"], 1);
        let (_, township) = app.get(a["overview"].as_str().unwrap(), Some(&office));
        assert_eq!(township["children"], 2, "{township}");
        assert!(
            township["parts"].as_array().unwrap().len() >= 2,
            "{township}"
        );
        // Reports, cases and the 督办 figures are the office's; a director sees the ledger.
        assert!(
            body["reports"].is_object() && body["cases"].is_array(),
            "{body}"
        );
        let sup = app.token("sup-a");
        let (status, _) = app.get(
            &format!("/api/v1/stats/overview?division={COUNTY}"),
            Some(&sup),
        );
        assert!(matches!(status, 403 | 404), "{}: {status}", app.label);
        let (status, mine) = app.get("/api/v1/stats/overview", Some(&sup));
        assert_eq!(status, 200);
        assert_eq!(
            mine["children"], 2,
            "{}: the supervisor's township",
            app.label
        );
        assert!(mine["reports"].is_null(), "{mine}");
        let dir = app.token("dir-a1");
        let (_, village) = app.get("/api/v1/stats/overview", Some(&dir));
        assert_eq!(village["children"], 1, "{village}");
        assert!(village["parts"].as_array().unwrap().is_empty());
        // A period that ends before it starts names its field and changes nothing.
        let (status, bad) = app.get(
            "/api/v1/stats/overview?from=2026-06-02&to=2026-06-01",
            Some(&office),
        );
        assert_eq!(
            (status, bad["error"]["field"].as_str()),
            (422, Some("from")),
            "{bad}"
        );
    }
}

#[test]
fn the_check_command_recounts_the_counters_and_names_one_that_is_off() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    register(&app, &office);
    // Reading the overview builds the county's counters.
    let (status, _) = app.get("/api/v1/stats/overview", Some(&office));
    assert_eq!(status, 200);
    let url = app.db_url();
    let out = super::support::weibao(&["--database", &url, "stats", "check"], None, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("一致"));
    app.block_on(
        app.db()
            .raw("UPDATE child_counts SET n = n - 1 WHERE figure = 'risk:高' AND level = 1"),
    )
    .unwrap();
    let out = super::support::weibao(&["--database", &url, "stats", "check"], None, None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("高风险") && err.contains("记录数 1，计数 0"),
        "{err}"
    );
}

/// The sheet's rows as text, for finding a line by its label.
fn sheet_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn the_statistics_table_gives_each_line_with_the_period_before_and_a_year_before() {
    for app in TestApp::all() {
        let office = app.token("office");
        register(&app, &office);
        // One visit today: in the period before a period that starts tomorrow.
        let (_, list) = app.get(
            &format!("/api/v1/children?division={COUNTY}&q=李小明"),
            Some(&office),
        );
        let child = list["items"][0]["id"].as_str().unwrap().to_string();
        let (status, body) =
            super::post_visit(&app, &office, &child, None, &super::visit_body(false));
        assert_eq!(status, 201, "{}: {body}", app.label);
        let today = app.store.clock().today();
        let (from, to) = (
            today + chrono::Duration::days(1),
            today + chrono::Duration::days(7),
        );
        let (status, headers, bytes) = app.raw(
            "GET",
            &format!("/api/v1/stats/report.xlsx?division={COUNTY}&from={from}&to={to}"),
            &[("authorization", &format!("Bearer {office}"))],
            None,
        );
        assert_eq!(
            status,
            200,
            "{}: {}",
            app.label,
            String::from_utf8_lossy(&bytes)
        );
        assert!(headers.contains("spreadsheetml"), "{headers}");
        let rows = sheet_rows(&bytes);
        assert!(
            rows[0][0].contains("朝天区未成年人保护工作统计表"),
            "{:?}",
            rows[0]
        );
        let line = |label: &str| {
            rows.iter()
                .find(|r| r[0] == label)
                .unwrap_or_else(|| panic!("{}: no line {label} in {rows:?}", app.label))
                .clone()
        };
        assert_eq!(line("台账儿童总数")[2], "3");
        assert_eq!(line("孤儿")[2], "1");
        assert_eq!(line("农村留守儿童")[2], "1");
        // A stock has no earlier values; a flow has both, with its change.
        assert_eq!(line("孤儿")[3], "—");
        let visits = line("走访儿童");
        assert_eq!(
            (
                &visits[1][..],
                &visits[2][..],
                &visits[3][..],
                &visits[4][..],
                &visits[5][..]
            ),
            ("人次", "0", "1", "下降100.0%", "0"),
            "{}",
            app.label
        );
        // A director's table is the village's, without the office's lines.
        let dir = app.token("dir-a1");
        let (status, _, bytes) = app.raw(
            "GET",
            "/api/v1/stats/report.xlsx",
            &[("authorization", &format!("Bearer {dir}"))],
            None,
        );
        assert_eq!(status, 200);
        let rows = sheet_rows(&bytes);
        assert!(
            rows.iter().any(|r| r[0] == "台账儿童总数" && r[2] == "1"),
            "{rows:?}"
        );
        assert!(!rows.iter().any(|r| r[0] == "受理报告"), "{rows:?}");
    }
}

#[test]
fn the_work_report_is_drafted_from_the_figures_edited_kept_and_exported() {
    for app in TestApp::all() {
        let office = app.token("office");
        register(&app, &office);
        let (status, draft) = app.get(
            &format!(
                "/api/v1/stats/work-report/draft?division={COUNTY}&from=2026-01-01&to=2026-11-30"
            ),
            Some(&office),
        );
        assert_eq!(status, 200, "{}: {draft}", app.label);
        let body = draft["body"].as_str().unwrap();
        assert!(
            body.contains(
                "全区现有农村留守儿童1名、困境儿童0名、孤儿1名、事实无人抚养儿童0名，共3名儿童"
            ),
            "{}: {body}",
            app.label
        );
        assert!(body.contains("一、工作开展情况") && body.contains("三、下一步工作打算"));
        assert_eq!(draft["signer"], "朝天区未成年人保护工作委员会办公室");
        assert!(draft["id"].is_null(), "a draft is not kept");
        // The office edits and keeps it; an edit of a stale version is refused.
        let edited = format!("{body}\n（四）补充：全区开展寒假走访活动。");
        let (status, kept) = app.post(
            "/api/v1/stats/work-reports",
            Some(&office),
            json!({"division": COUNTY, "from": "2026-01-01", "to": "2026-11-30",
                   "title": draft["title"], "body": edited, "signer": draft["signer"],
                   "date": draft["date"]}),
        );
        assert_eq!(status, 201, "{}: {kept}", app.label);
        let id = kept["id"].as_str().unwrap().to_string();
        let (status, again) = app.post(
            "/api/v1/stats/work-reports",
            Some(&office),
            json!({"id": id, "version": 1, "title": "朝天区2026年工作情况报告", "body": edited,
                   "signer": draft["signer"], "date": draft["date"]}),
        );
        assert_eq!(
            (status, again["version"].as_i64()),
            (201, Some(2)),
            "{again}"
        );
        let (status, stale) = app.post(
            "/api/v1/stats/work-reports",
            Some(&office),
            json!({"id": id, "version": 1, "title": "x", "body": "y", "signer": "z", "date": "d"}),
        );
        assert_eq!(status, 409, "{stale}");
        let (status, missing) = app.post(
            "/api/v1/stats/work-reports",
            Some(&office),
            json!({"division": COUNTY, "title": "", "body": "y", "signer": "z", "date": "d"}),
        );
        assert_eq!(
            (status, missing["error"]["field"].as_str()),
            (422, Some("title")),
            "{missing}"
        );
        let (_, read) = app.get(&format!("/api/v1/stats/work-reports/{id}"), Some(&office));
        assert_eq!(read["title"], "朝天区2026年工作情况报告");
        let (status, ct, docx) = app.raw(
            "GET",
            read["docx"].as_str().unwrap(),
            &[("authorization", &format!("Bearer {office}"))],
            None,
        );
        assert_eq!(status, 200);
        assert!(ct.contains("wordprocessingml"), "{ct}");
        let text = weibao_sheets::docx::read_docx_text(&docx)
            .unwrap()
            .join("\n");
        assert!(text.contains("朝天区2026年工作情况报告") && text.contains("全区开展寒假走访活动"));
        // Another township's supervisor cannot read the county's report.
        let sup = app.token("sup-b");
        let (status, _) = app.get(&format!("/api/v1/stats/work-reports/{id}"), Some(&sup));
        assert_eq!(status, 404, "{}", app.label);
    }
}

#[test]
fn the_work_report_pages_draft_keep_and_print() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    register(&app, &office);
    let cookie = app.cookie("office");
    let (status, page) = app.text(
        &format!("/stats/work-report?division={COUNTY}&from=2026-01-01&to=2026-06-30"),
        Some(&cookie),
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("全区现有农村留守儿童1名"), "{page}");
    let csrf = app.csrf_of(&cookie);
    let form = format!(
        "_csrf={csrf}&division={COUNTY}&from=2026-01-01&to=2026-06-30&title={}&body={}&signer={}&date={}",
        super::support::url_encode("朝天区上半年工作情况报告"),
        super::support::url_encode("一、工作开展情况\n（一）建立台账。全区共3名儿童纳入台账。"),
        super::support::url_encode("朝天区民政局"),
        super::support::url_encode("2026年7月2日"),
    );
    let (status, headers) = app.form("/stats/work-report", Some(&cookie), &form, Some(&app.base));
    assert_eq!(status, 303, "{headers:?}");
    let to = headers["location"].clone();
    assert!(to.starts_with("/stats/work-reports/"), "{to}");
    let (status, print) = app.text(&to, Some(&cookie));
    assert_eq!(status, 200);
    assert!(
        print.contains("<h1>朝天区上半年工作情况报告</h1>"),
        "{print}"
    );
    assert!(print.contains("<h2>一、工作开展情况</h2>"));
    assert!(print.contains("class=\"printable report\""));
    assert!(print.contains("document.docx"));
    // A refused keep shows the form again with what was typed.
    let bad = format!("_csrf={csrf}&division={COUNTY}&title=&body=x&signer=y&date=z");
    let (status, _) = app.form("/stats/work-report", Some(&cookie), &bad, Some(&app.base));
    assert_eq!(status, 422);
}

#[test]
fn the_overview_is_in_the_api_document() {
    let app = TestApp::sqlite();
    let (status, doc) = app.get("/api/v1/openapi.json", None);
    assert_eq!(status, 200);
    let path = &doc["paths"]["/api/v1/stats/overview"]["get"];
    assert!(path.is_object(), "missing from the document");
    let schema = &doc["components"]["schemas"]["OverviewView"]["properties"];
    assert!(schema["children"].is_object() && schema["categories"].is_object());
}

#[test]
fn browser_drills_from_the_county_to_a_villages_list_on_a_phone() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    let office = app.token("office");
    register(&app, &office);
    browser.goto(&format!("{}/login", app.base));
    browser.fill("input[name=username]", "office");
    browser.fill("input[name=password]", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "我的工作");
    browser.click("nav.modules a[href='/stats']");
    browser.wait_for_text("#stats-title", "朝天区");
    assert_eq!(browser.text("#tile-children strong"), "3");
    // The charts are drawn on the server: a bar per category, each a link to its list.
    assert!(browser.count("#by-category svg a") >= 8);
    browser.click(&format!(
        "#parts tr[data-division='{TOWNSHIP_A}000'] a.drill"
    ));
    browser.wait_for_text("#stats-title", "朝天镇");
    assert_eq!(browser.text("#tile-children strong"), "2");
    assert!(browser.text(".crumbs").contains("朝天区"));
    let width = browser.eval("return document.documentElement.scrollWidth");
    assert!(
        width.as_i64().unwrap() <= 360,
        "the page is {width} px wide on a 360 px screen"
    );
    browser.screenshot("stats-township-360");
    browser.eval("document.getElementById('parts').scrollIntoView(); return 1");
    browser.screenshot("stats-table-360");
    browser.eval("document.getElementById('by-category').scrollIntoView(); return 1");
    browser.screenshot("stats-charts-360");
    browser.click(&format!("#parts tr[data-division='{VILLAGE_A1}'] a.list"));
    browser.wait_for_text("h1", "儿童台账");
    assert!(browser.url().contains(&format!("division={VILLAGE_A1}")));
    assert!(browser.text("main").contains("张小花"));
    assert!(!browser.text("main").contains("李小明"));
}
