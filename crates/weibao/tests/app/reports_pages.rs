//! The pages of reports, referrals and cases: a report from the public page through
//! triage, referral, acceptance, a conference and a closed case in a phone's browser; and
//! over HTTP the urgent banner, what a reporting institution sees, sealed reports, the
//! public page's limits and forms that come back with the store's words.

use std::time::Duration;

use serde_json::json;
use weibao_domain::access::{Role, Scope};
use weibao_domain::reports::{Institution, ReportInput, Reporter};
use weibao_domain::work::UnitKind;
use weibao_domain::DivisionCode;
use weibao_store::{NewReport, NewUser};

use super::support::{url_encode, Browser, TestApp, PASSWORD};

pub(super) fn add_user(
    app: &TestApp,
    username: &str,
    role: Role,
    at: &str,
    unit: Option<&str>,
) -> String {
    app.block_on(app.store.create_user(
        &Scope::system(),
        NewUser {
            username: username.into(),
            display_name: format!("测试{username}"),
            role,
            division: DivisionCode::parse(at).unwrap(),
            unit: unit.map(Into::into),
            phone: None,
            password: PASSWORD.into(),
            must_change_password: false,
            designated: false,
        },
    ))
    .unwrap()
    .id
}

/// A urlencoded body from pairs.
fn body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A signed-in page user: the cookie and the session's CSRF token.
struct PageUser {
    cookie: String,
    csrf: String,
}

impl PageUser {
    fn new(app: &TestApp, username: &str) -> PageUser {
        let cookie = app.cookie(username);
        let csrf = app.csrf_of(&cookie);
        PageUser { cookie, csrf }
    }

    /// Posts a form with the token: status, Location and the page.
    fn post(&self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let mut all = fields.to_vec();
        all.push(("_csrf", &self.csrf));
        app.raw_with_location(
            "POST",
            path,
            &[
                ("cookie", &self.cookie),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            Some(body(&all).as_bytes()),
        )
    }

    fn get(&self, app: &TestApp, path: &str) -> (u16, String) {
        app.text(path, Some(&self.cookie))
    }
}

/// The report id in a redirect to its page.
fn report_id(location: &str) -> String {
    location
        .strip_prefix("/reports/")
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("not a report page: {location}"))
        .to_string()
}

const URGENT_REPORT: &[(&str, &str)] = &[
    ("channel", "phone"),
    ("situations", "s4"),
    ("urgency", "urgent"),
    ("description", "孩子被锁在屋里，身上有伤，家长醉酒"),
    ("division", "510812100200"),
    ("reporter_name", "王某"),
    ("reporter_phone", "13812345678"),
];

#[test]
fn an_urgent_report_puts_a_banner_on_every_office_page_until_it_is_acknowledged() {
    let app = TestApp::sqlite();
    let office = PageUser::new(&app, "office");
    let (_, home) = office.get(&app, "/");
    assert!(
        !home.contains("urgent-banner"),
        "no banner without urgent reports"
    );
    let (status, location, page) = office.post(&app, "/reports", URGENT_REPORT);
    assert_eq!(status, 303, "{page}");
    let id = report_id(&location);
    for path in ["/", "/divisions/510812", "/reports", "/children"] {
        let (status, html) = office.get(&app, path);
        assert_eq!(status, 200, "{path}");
        assert!(
            html.contains("id=\"urgent-banner\"") && html.contains("有 1 条紧急报告待确认"),
            "{path} shows the banner"
        );
    }
    // Other roles pay nothing and see nothing of it.
    let supervisor = PageUser::new(&app, "sup-a");
    assert!(!supervisor.get(&app, "/").1.contains("urgent-banner"));
    // The township's supervisor reads the report and sees where it went, but the
    // referral is the police's and the office's: no link to it.
    let (_, seen) = supervisor.get(&app, &format!("/reports/{id}"));
    assert!(seen.contains("朝天区公安局") && !seen.contains("href=\"/referrals/"));
    assert!(
        !seen.contains("王某") && !seen.contains("13812345678"),
        "reporter masked"
    );
    // The report went to the police at once, and waits for the office's acknowledgement.
    let (_, report) = office.get(&app, &format!("/reports/{id}"));
    assert!(report.contains("id=\"urgent-box\"") && report.contains("确认已知悉"));
    assert!(report.contains("朝天区公安局"), "referred to the police");
    let (status, location, _) = office.post(&app, &format!("/reports/{id}/acknowledge"), &[]);
    assert_eq!(
        (status, location.as_str()),
        (303, format!("/reports/{id}?notice=acknowledged").as_str())
    );
    for path in ["/", "/reports"] {
        assert!(
            !office.get(&app, path).1.contains("urgent-banner"),
            "{path}: gone once acknowledged"
        );
    }
}

#[test]
fn a_reporting_institution_sees_its_own_reports_and_no_one_elses() {
    let app = TestApp::sqlite();
    add_user(&app, "school-a", Role::Reporter, "510812", Some("教育"));
    add_user(&app, "hospital-b", Role::Reporter, "510812", Some("卫健"));
    let mut ids = vec![];
    for (user, unit, kind) in [
        ("school-a", "朝天镇中心小学", "school"),
        ("hospital-b", "朝天区人民医院", "hospital"),
    ] {
        let reporter = PageUser::new(&app, user);
        let (status, html) = reporter.get(&app, "/reports/new");
        assert_eq!(status, 200);
        assert!(
            !html.contains("name=\"channel\" required"),
            "a reporting institution files mandatory reports only"
        );
        let (status, location, page) = reporter.post(
            &app,
            "/reports",
            &[
                ("channel", "phone"),
                ("situations", "s4"),
                ("description", "学生身上多处淤青"),
                ("division", "510812"),
                ("reporter_name", "王老师"),
                ("reporter_unit", unit),
                ("reporter_institution", kind),
            ],
        );
        assert_eq!(status, 303, "{page}");
        ids.push(report_id(&location));
    }
    let school = PageUser::new(&app, "school-a");
    let (status, list) = school.get(&app, "/reports");
    assert_eq!(status, 200);
    assert!(list.contains(&format!("data-id=\"{}\"", ids[0])));
    assert!(!list.contains(&format!("data-id=\"{}\"", ids[1])));
    let (status, own) = school.get(&app, &format!("/reports/{}", ids[0]));
    assert_eq!(status, 200);
    assert!(own.contains("强制报告") && own.contains("朝天镇中心小学"));
    for office_action in [
        "triage",
        "acknowledge",
        "refer",
        "reply",
        "merge",
        "case",
        "link-child",
    ] {
        assert!(
            !own.contains(&format!("/{office_action}\"")),
            "no office action ({office_action})"
        );
    }
    assert!(
        own.contains(&format!("action=\"/reports/{}/attachments\"", ids[0])),
        "the filer may add a photo or a scan"
    );
    assert_eq!(school.get(&app, &format!("/reports/{}", ids[1])).0, 404);
    let (_, home) = school.get(&app, "/");
    assert!(
        home.contains("本单位提交的强制报告") && home.contains(&format!("/reports/{}", ids[0]))
    );
    assert!(!home.contains(&format!("/reports/{}", ids[1])));
    // Cases and referrals are not theirs to see.
    assert_eq!(school.get(&app, "/cases").0, 403);
    assert_eq!(school.get(&app, "/referrals").0, 403);
    // The office sees both, and who reported; the village's director sees neither name.
    let office = PageUser::new(&app, "office");
    let (_, list) = office.get(&app, "/reports");
    assert!(ids.iter().all(|id| list.contains(id.as_str())));
    let (_, page) = office.get(&app, &format!("/reports/{}", ids[1]));
    assert!(page.contains("朝天区人民医院"));
}

#[test]
fn a_sealed_report_shows_a_non_reader_only_that_it_exists() {
    let app = TestApp::sqlite();
    let now = chrono::DateTime::from_timestamp_millis(app.store.clock().now_ms())
        .unwrap()
        .with_timezone(&weibao_domain::visit::cst());
    let report = ReportInput {
        channel: Some("mandatory".into()),
        situations: vec!["s2".into()],
        description: "女生自述被邻居侵害，保密描述".into(),
        reporter: Reporter {
            name: "李医生".into(),
            unit: "朝天区人民医院".into(),
            institution: Some(Institution::Hospital),
            ..Reporter::default()
        },
        ..ReportInput::default()
    }
    .check(now, None)
    .unwrap();
    let filed = app
        .block_on(app.store.file_report(
            &Scope::system(),
            NewReport {
                report,
                division: DivisionCode::parse("510812100200").unwrap(),
                child_id: None,
                visit_id: None,
                hotline_order: None,
                hotline_due_at: None,
            },
            "",
        ))
        .unwrap();
    let supervisor = PageUser::new(&app, "sup-a");
    let (status, page) = supervisor.get(&app, &format!("/reports/{}", filed.id));
    assert_eq!(status, 200);
    assert!(page.contains("此报告已封存") && page.contains("申请查看"));
    for secret in ["保密描述", "李医生", "朝天区人民医院", "不满十四周岁"] {
        assert!(!page.contains(secret), "{secret} is withheld");
    }
    let (_, list) = supervisor.get(&app, "/reports");
    assert!(list.contains("已封存") && !list.contains("不满十四周岁"));
    // A reason too short comes back with the store's words; a good one goes to the office.
    let path = format!("/reports/{}/access", filed.id);
    let (status, _, again) = supervisor.post(&app, &path, &[("reason", "看")]);
    assert_eq!(status, 422);
    assert!(again.contains("请写明需要查看的理由"), "{again}");
    let (status, location, _) = supervisor.post(&app, &path, &[("reason", "核实该女生的安置情况")]);
    assert_eq!(status, 303);
    assert!(location.ends_with("notice=access_requested"));
    let office = PageUser::new(&app, "office");
    let (status, sealed) = office.get(&app, "/sealed");
    assert_eq!(status, 200);
    assert!(sealed.contains("核实该女生的安置情况") && sealed.contains("sup-a"));
    assert_eq!(supervisor.get(&app, "/sealed").0, 403);
}

/// A fresh browser's visit to a public form: its cookie and the form's token.
fn public_form(app: &TestApp, path: &str) -> (String, String) {
    let res = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
        .get(&format!("{}{path}", app.base))
        .call()
        .unwrap();
    let cookie = res
        .header("set-cookie")
        .expect("the form sets its cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let html = res.into_string().unwrap();
    let marker = "name=\"form_token\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let token = html[start..start + 32].to_string();
    (cookie.split(';').next().unwrap().to_string(), token)
}

fn public_post(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let (status, _, html) = app.raw_with_location(
        "POST",
        path,
        &[
            ("cookie", cookie),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some(body(fields).as_bytes()),
    );
    (status, html)
}

fn tracking_code(html: &str) -> String {
    let marker = "id=\"tracking-code\">";
    let start = html.find(marker).expect("a tracking code") + marker.len();
    html[start..start + 23].to_string()
}

#[test]
fn the_public_page_is_rate_limited_and_tracking_reveals_nothing_for_an_unknown_code() {
    let app = TestApp::sqlite();
    let (cookie, token) = public_form(&app, "/report");
    let report = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, &str)> = vec![
            ("form_token", token.as_str()),
            ("situations", "s6"),
            ("description", "邻居家的孩子常年一个人在家"),
            ("division", "510812100000"),
            ("anonymous", "on"),
        ];
        f.extend_from_slice(extra);
        f
    };
    // Without the browser's own token, or with the trap field filled: nothing is filed,
    // what was typed comes back, and none of it counts toward the limit.
    let (status, html) = public_post(&app, "/report", "", &report(&[]));
    assert_eq!(status, 400);
    assert!(html.contains("页面已过期") && html.contains("邻居家的孩子常年一个人在家"));
    let (status, html) = public_post(&app, "/report", &cookie, &report(&[("website", "x")]));
    assert_eq!(status, 400, "{html}");
    // A refused input does not count either.
    let (status, html) = public_post(
        &app,
        "/report",
        &cookie,
        &[
            ("form_token", token.as_str()),
            ("situations", "s6"),
            ("description", " "),
            ("division", "510812100000"),
        ],
    );
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("请写明发生了什么"));
    let mut codes = vec![];
    for _ in 0..5 {
        let (status, html) = public_post(&app, "/report", &cookie, &report(&[]));
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("请立即抄写或截图保存查询码"));
        codes.push(tracking_code(&html));
    }
    let (status, html) = public_post(&app, "/report", &cookie, &report(&[]));
    assert_eq!(status, 429);
    assert!(html.contains("每小时最多提交 5 次举报") && html.contains("110"));
    // The tracking page: a known code shows the state only; an unknown one says so.
    let (cookie, token) = public_form(&app, "/report/track");
    let (status, html) = public_post(
        &app,
        "/report/track",
        &cookie,
        &[("form_token", &token), ("code", &codes[0].to_lowercase())],
    );
    assert_eq!(status, 200);
    assert!(html.contains("id=\"tracked-state\">待研判"), "{html}");
    assert!(
        !html.contains("邻居家的孩子"),
        "nothing of the report itself"
    );
    let (status, html) = public_post(
        &app,
        "/report/track",
        &cookie,
        &[("form_token", &token), ("code", "AAAAA-BBBBB-CCCCC-DDDDD")],
    );
    assert_eq!(status, 200);
    assert!(html.contains("没有找到与该查询码对应的举报"));
    assert!(!html.contains("tracked-state") && !html.contains("办理状态"));
    for _ in 0..18 {
        public_post(
            &app,
            "/report/track",
            &cookie,
            &[("form_token", &token), ("code", "AAAAA-BBBBB-CCCCC-DDDDE")],
        );
    }
    let (status, html) = public_post(
        &app,
        "/report/track",
        &cookie,
        &[("form_token", &token), ("code", &codes[1])],
    );
    assert_eq!(status, 429);
    assert!(html.contains("查询过于频繁"));
    // Nothing of the platform shows on these pages.
    let (_, page) = app.text("/report", None);
    assert!(!page.contains("nav class=\"modules\"") && !page.contains("儿童台账"));
}

#[test]
fn a_refused_form_comes_back_with_the_stores_words_and_what_was_typed() {
    let app = TestApp::sqlite();
    let office = PageUser::new(&app, "office");
    // The domain's refusal, naming the field.
    let (status, _, page) = office.post(
        &app,
        "/reports",
        &[
            ("channel", "walk_in"),
            ("situations", "s6"),
            ("situations", "hardship"),
            ("description", ""),
            ("place", "朝天镇中心小学门口"),
            ("division", "510812100200"),
            ("child_name", "张小花"),
        ],
    );
    assert_eq!(status, 422);
    assert!(page.contains("请写明发生了什么") && page.contains("data-field=\"description\""));
    assert!(page.contains("value=\"朝天镇中心小学门口\"") && page.contains("value=\"张小花\""));
    assert!(page.contains("value=\"hardship\" checked") && page.contains("value=\"s6\" checked"));
    // The store's refusal: a ledger child that is not there.
    let (status, _, page) = office.post(
        &app,
        "/reports",
        &[
            ("channel", "walk_in"),
            ("situations", "s6"),
            ("description", "孩子长期无人照料"),
            ("division", "510812100200"),
            ("child_id", "no-such-child"),
            ("reporter_name", "赵某"),
        ],
    );
    assert_eq!(status, 422);
    assert!(page.contains("不是台账中的儿童") && page.contains("孩子长期无人照料"));
    // On a report's page: a referral without its note keeps the chosen unit.
    let (_, location, _) = office.post(
        &app,
        "/reports",
        &[
            ("channel", "walk_in"),
            ("situations", "s6"),
            ("description", "孩子长期无人照料"),
            ("division", "510812100200"),
            ("reporter_name", "赵某"),
        ],
    );
    let id = report_id(&location);
    let (status, _, page) = office.post(
        &app,
        &format!("/reports/{id}/refer"),
        &[("to_unit", "kind:education"), ("note", "")],
    );
    assert_eq!(status, 422);
    assert!(page.contains("请写明转介事由") && page.contains("value=\"kind:education\" selected"));
    // A case that may not move yet answers 409 with the rule.
    let (status, location, _) = office.post(&app, &format!("/reports/{id}/case"), &[]);
    assert_eq!(status, 303);
    let case = location.split('?').next().unwrap().to_string();
    // A report without a ledger child finds its case too.
    let (_, report) = office.get(&app, &format!("/reports/{id}"));
    assert!(report.contains(&format!("href=\"{case}\" id=\"case-link\"")));
    office.post(&app, &format!("{case}/transition"), &[("to", "assessing")]);
    let (status, _, page) = office.post(&app, &format!("{case}/transition"), &[("to", "helping")]);
    assert_eq!(status, 409);
    assert!(page.contains("请先记录调查评估，再进入帮扶处置"));
    // The calendar keeps the text and names the line.
    let (status, _, page) = office.post(
        &app,
        "/calendar",
        &[("text", "year 2031\nholiday 2031-13-01 元旦")],
    );
    assert_eq!(status, 422);
    assert!(page.contains("第 2 行") && page.contains("holiday 2031-13-01 元旦"));
}

// ---- the browser ---------------------------------------------------------------------------

pub(super) fn sign_in(browser: &Browser, app: &TestApp, username: &str) {
    browser.goto(&format!("{}/", app.base));
    if !browser.url().contains("/login") {
        browser.click("button.link");
        browser.wait_for_text("h1", "登录");
    }
    browser.fill("input[name=username]", username);
    browser.fill("input[name=password]", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "我的工作");
}

pub(super) fn fits_the_phone(browser: &Browser, what: &str) {
    let width = browser.eval("return document.documentElement.scrollWidth");
    assert!(
        width.as_i64().unwrap() <= 360,
        "{what} is {width} px wide on a 360 px screen"
    );
}

#[test]
fn browser_takes_a_public_report_through_triage_referral_a_conference_and_a_closed_case() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    add_user(&app, "police-a", Role::Unit, "510812", Some("公安"));
    let head = add_user(&app, "office-head", Role::Office, "510812", None);
    app.block_on(app.store.set_head(&Scope::system(), &head, true))
        .unwrap();
    let police_unit = app
        .block_on(app.store.list_units(&Scope::system()))
        .unwrap()
        .into_iter()
        .find(|u| u.kind == UnitKind::Police && u.county_code == "510812")
        .expect("the police unit, made with its liaison's account")
        .id;

    // Anyone reports, without signing in, and keeps the tracking code.
    browser.goto(&format!("{}/login", app.base));
    browser.click("a[href='/report']");
    browser.wait_for_text("h1", "我要举报");
    fits_the_phone(&browser, "the public report page");
    browser.screenshot("public-report-360");
    browser.click("input[name=situations][value=s4]");
    browser.fill(
        "textarea[name=description]",
        "邻居家的孩子身上经常有伤，晚上常听到打骂声",
    );
    browser.select("select[name=division]", "510812100000");
    browser.fill("input[name=child_age]", "9");
    browser.click("#anonymous");
    assert_eq!(
        browser.eval("return document.querySelector('[data-reporter-fields]').hidden"),
        json!(true),
        "an anonymous report hides the name and phone"
    );
    browser.click("#public-report button[type=submit]");
    browser.wait_for_text("h1", "举报已收到");
    let code = browser.text("#tracking-code");
    assert_eq!(code.len(), 23, "{code}");
    fits_the_phone(&browser, "the tracking code");
    browser.screenshot("public-filed-360");

    // The office triages it from its inbox and refers it to the police.
    sign_in(&browser, &app, "office");
    browser.wait_for_text(".card", "待研判的报告");
    fits_the_phone(&browser, "the office's home page");
    browser.screenshot("home-office-360");
    browser.click(".rows a[href^='/reports/']");
    browser.wait_for_text("h1", "报告 R");
    assert!(browser.text("#reporter").contains("匿名"));
    browser.select("#triage select[name=urgency]", "priority");
    browser.fill("#triage textarea[name=note]", "伤情反复出现，需公安核查");
    browser.click("#triage button[type=submit]");
    browser.wait_for_text("#notice", "研判已记录");
    let report_url = browser.url().split('?').next().unwrap().to_string();
    // The school's paper form, photographed, goes with the report.
    let photos = super::support::TempDir::new();
    let form_photo = photos.path().join("学校报告单.jpg");
    std::fs::write(&form_photo, super::support::jpeg(5)).unwrap();
    browser.fill(
        "#attachments input[name=file]",
        form_photo.to_str().unwrap(),
    );
    browser.click("#attachments button[type=submit]");
    browser.wait_for_text("#notice", "附件已上传");
    assert!(browser.text("#attachments").contains("学校报告单.jpg"));
    assert_eq!(browser.count("#attachments img.thumb"), 1);
    browser.click("#refer summary");
    assert_eq!(
        browser.eval("return document.querySelector('[data-consent-fields]').hidden"),
        json!(true),
        "no consent asked for a government unit"
    );
    browser.select("#refer select[name=to_unit]", "kind:police");
    browser.fill(
        "#refer textarea[name=note]",
        "请核查监护人是否存在殴打行为，并反馈处置情况",
    );
    browser.click("#refer button[type=submit]");
    browser.wait_for_text("#notice", "已转介");
    browser.wait_for_text("#referrals", "朝天区公安局");
    assert!(browser.text("#referrals").contains("待接收"));
    fits_the_phone(&browser, "the report page");
    browser.eval("window.scrollTo(0, 0)");
    browser.screenshot("report-360");
    browser.click("#link summary");
    browser.eval("document.getElementById('referrals').scrollIntoView()");
    browser.screenshot("report-actions-360");

    // The police liaison accepts it from the unit's inbox.
    sign_in(&browser, &app, "police-a");
    browser.wait_for_text(".card", "转介给本单位的事项");
    browser.click(".rows a[href^='/referrals/']");
    browser.wait_for_text("h1", "转介至 朝天区公安局");
    assert!(browser.text("#referral-due").contains("还剩"));
    fits_the_phone(&browser, "the referral page");
    browser.screenshot("referral-360");
    browser.click("#accept-referral");
    browser.wait_for_text("#notice", "已接收");
    browser.wait_for_text("#referral-state", "已接收");
    browser.click("#subject-link");
    browser.wait_for_text("h1", "报告 R");

    // The office opens a case and holds a conference whose decision goes to the police.
    sign_in(&browser, &app, "office");
    browser.goto(&report_url);
    browser.click("#open-case summary");
    browser.click("#open-case button[type=submit]");
    browser.wait_for_text("#notice", "已受理立案");
    browser.wait_for_text("#case-state", "受理");
    let case_url = browser.url().split('?').next().unwrap().to_string();
    browser.click("#conference-form summary");
    browser.click("#conference-form input[name=units][value='朝天区公安局']");
    browser.fill("#conference-form input[name=people]", "张警官、李主任");
    browser.fill(
        "#conference-form textarea[name=minutes]",
        "会商认为需入户核查并对监护人训诫",
    );
    browser.fill("input[name=d1_text]", "入户核查并训诫监护人");
    browser.select("select[name=d1_unit]", &police_unit);
    let due = (app.store.clock().today() + chrono::Duration::days(7)).to_string();
    browser.set_value("input[name=d1_due]", &due);
    browser.click("#conference-form button[type=submit]");
    browser.wait_for_text("#notice", "会商已记录");
    assert!(browser
        .text("#conferences")
        .contains("入户核查并训诫监护人"));
    assert!(browser.text("#tasks").contains("朝天区公安局"));
    // The case moves through its states; helping before an assessment is refused.
    browser.click("button[name=to][value=assessing]");
    browser.wait_for_text("#case-state", "调查评估");
    browser.click("button[name=to][value=helping]");
    browser.wait_for_text("#form-error", "请先记录调查评估");
    browser.click("#assessment summary");
    browser.fill(
        "textarea[name=assessment]",
        "经入户核查，监护人存在殴打行为，儿童轻微伤",
    );
    browser.click("#assessment button[type=submit]");
    browser.wait_for_text("#notice", "调查评估已记录");
    browser.click("button[name=to][value=helping]");
    browser.wait_for_text("#case-state", "帮扶处置");
    browser.click("#reply summary");
    browser.fill("textarea[name=reply]", "已对监护人训诫并开展家庭教育指导");
    browser.click("#reply button[type=submit]");
    browser.wait_for_text("#notice", "答复意见已记录");
    browser.click("button[name=to][value=follow_up]");
    browser.wait_for_text("#case-state", "回访");
    fits_the_phone(&browser, "the case page");
    browser.screenshot("case-360");
    browser.eval("document.getElementById('tasks').scrollIntoView()");
    browser.screenshot("case-plan-360");
    // The reporter's reply, then the request to close.
    browser.goto(&report_url);
    browser.click("#reply-form summary");
    browser.fill(
        "#reply-form textarea[name=reply]",
        "经核查情况属实，相关部门已依法处置，感谢您的举报",
    );
    browser.click("#reply-form input[name=close]");
    browser.click("#reply-form button[type=submit]");
    browser.wait_for_text("#notice", "报告已办结并答复");
    browser.goto(&case_url);
    browser.click("#closure summary");
    browser.fill("#closure textarea[name=note]", "回访无异常，申请结案");
    browser.click("#closure button[type=submit]");
    browser.wait_for_text("#notice", "结案申请已提交");
    assert_eq!(
        browser.count("button[name=to][value=closed]"),
        0,
        "only the head closes"
    );

    // The office head closes it from the inbox.
    sign_in(&browser, &app, "office-head");
    browser.wait_for_text(".card", "结案待审批");
    browser.click(".rows a[href^='/cases/']");
    browser.wait_for_text("h1", "个案 A");
    browser.click("button[name=to][value=closed]");
    browser.wait_for_text("#case-state", "结案");
    browser.screenshot("case-closed-360");

    // The public sees the outcome by the code, and nothing else.
    browser.goto(&format!("{}/", app.base));
    browser.click("button.link");
    browser.wait_for_text("h1", "登录");
    browser.click("a[href='/report/track']");
    browser.wait_for_text("h1", "查询举报进展");
    browser.fill("input[name=code]", &code.to_lowercase());
    browser.click("button[type=submit]");
    browser.wait_for_text("#tracked-state", "已办结");
    assert!(browser
        .text("#tracked-reply")
        .contains("相关部门已依法处置"));
    assert!(!browser.text("main").contains("邻居家的孩子"));
    fits_the_phone(&browser, "the tracking page");
    browser.screenshot("public-track-360");
    // ...and the office's other pages fit the phone too.
    sign_in(&browser, &app, "office");
    for (path, name) in [
        ("/reports", "reports-list-360"),
        ("/inbox", "inbox-360"),
        ("/cases", "cases-360"),
        ("/units", "units-360"),
        ("/calendar", "calendar-360"),
        ("/sealed", "sealed-360"),
        ("/reports/new", "report-new-360"),
    ] {
        browser.goto(&format!("{}{path}", app.base));
        browser.wait_for_text("h1", "");
        fits_the_phone(&browser, path);
        browser.screenshot(name);
    }
}

#[test]
fn every_page_of_a_report_its_referral_and_its_case_renders_on_every_backend() {
    for app in TestApp::all() {
        let label = app.label;
        add_user(&app, "police-a", Role::Unit, "510812", Some("公安"));
        let office = PageUser::new(&app, "office");
        let police = PageUser::new(&app, "police-a");
        let (_, location, page) = office.post(
            &app,
            "/reports",
            &[
                ("channel", "walk_in"),
                ("situations", "s6"),
                ("description", "孩子长期无人照料"),
                ("division", "510812100200"),
                ("reporter_name", "赵某"),
            ],
        );
        let id = report_id(&location);
        assert!(!id.is_empty(), "{label}: {page}");
        let (status, location, _) = office.post(
            &app,
            &format!("/reports/{id}/refer"),
            &[("to_unit", "kind:police"), ("note", "请核查")],
        );
        assert_eq!(status, 303, "{label}");
        let referral = location
            .split("#referral-")
            .nth(1)
            .expect("the new referral")
            .to_string();
        let (status, _, _) = police.post(&app, &format!("/referrals/{referral}/accept"), &[]);
        assert_eq!(status, 303, "{label}");
        let (_, location, _) = office.post(&app, &format!("/reports/{id}/case"), &[]);
        let case = location.split('?').next().unwrap().to_string();
        let police_unit = app
            .block_on(app.store.list_units(&Scope::system()))
            .unwrap()
            .into_iter()
            .find(|u| u.kind == UnitKind::Police && u.county_code == "510812")
            .unwrap()
            .id;
        for (path, fields) in [
            (
                format!("{case}/conferences"),
                vec![
                    ("people", "张警官"),
                    ("minutes", "会商纪要"),
                    ("d1_text", "入户核查"),
                    ("d1_unit", police_unit.as_str()),
                ],
            ),
            (
                format!("{case}/measures"),
                vec![("kind", "counselling"), ("detail", "心理疏导一次")],
            ),
        ] {
            let (status, _, page) = office.post(&app, &path, &fields);
            assert_eq!(status, 303, "{label} {path}: {page}");
        }
        for (who, path, shows) in [
            (&office, "/reports".to_string(), "被遗弃"),
            (&office, format!("/reports/{id}"), "朝天区公安局"),
            (&office, "/cases".to_string(), "受理"),
            (&office, case.clone(), "入户核查"),
            (&office, "/inbox".to_string(), "待办"),
            (&office, "/units".to_string(), "朝天区公安局"),
            (&office, "/calendar".to_string(), "2026 年"),
            (&office, "/sealed".to_string(), "暂无申请"),
            (&police, "/referrals".to_string(), "已接收"),
            (&police, format!("/referrals/{referral}"), "办结答复"),
            (&police, "/".to_string(), "转介给本单位的事项"),
            (&police, case.clone(), "心理疏导"),
        ] {
            let (status, html) = who.get(&app, &path);
            assert_eq!(status, 200, "{label} {path}");
            assert!(html.contains(shows), "{label} {path} shows {shows}");
        }
        let (status, html) = app.text("/report", None);
        assert_eq!(status, 200, "{label}");
        assert!(
            html.contains("朝天镇"),
            "{label}: the public page offers the townships"
        );
    }
}

#[test]
fn a_report_about_a_ledger_child_found_by_search_shows_on_the_childs_page() {
    let app = TestApp::sqlite();
    let child = super::left_behind_child(&app, &app.token("dir-a1"), "刘小禾", 520);
    let director = PageUser::new(&app, "dir-a1");
    let (status, html) = director.get(
        &app,
        &format!("/reports/new?child_q={}", url_encode("刘小禾")),
    );
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("/reports/new?child_id={child}")),
        "found by name"
    );
    let (_, html) = director.get(&app, &format!("/reports/new?child_id={child}"));
    assert!(html.contains("id=\"chosen-child\"") && html.contains("刘小禾"));
    let (_, html) = director.get(&app, "/reports/new?child_id=no-such-child");
    assert!(html.contains("id=\"child-unknown\""));
    let (status, location, page) = director.post(
        &app,
        "/reports",
        &[
            ("channel", "walk_in"),
            ("situations", "s6"),
            ("description", "祖母住院，孩子独自在家"),
            ("division", "510812100200"),
            ("child_id", &child),
            ("reporter_name", "刘某"),
        ],
    );
    assert_eq!(status, 303, "{page}");
    let id = report_id(&location);
    let (_, report) = director.get(&app, &format!("/reports/{id}"));
    assert!(report.contains(&format!("href=\"/children/{child}\"")));
    // The director who wrote it down knows who reported; the township's supervisor reads
    // the report, but not who reported it.
    assert!(report.contains("刘某"));
    let other = PageUser::new(&app, "sup-a");
    let (_, report) = other.get(&app, &format!("/reports/{id}"));
    assert!(report.contains("祖母住院"), "{report}");
    assert!(report.contains("（保密）") && !report.contains("刘某"));
    let (_, page) = director.get(&app, &format!("/children/{child}"));
    assert!(page.contains("id=\"child-reports\"") && page.contains(&format!("/reports/{id}")));
    // The office opens a case; the child's page lists it too.
    let office = PageUser::new(&app, "office");
    let (_, location, _) = office.post(&app, &format!("/reports/{id}/case"), &[]);
    let case = location.split('?').next().unwrap().to_string();
    let (_, page) = office.get(&app, &format!("/children/{child}"));
    assert!(page.contains(&format!("href=\"{case}\"")), "{case}");
    let (_, report) = office.get(&app, &format!("/reports/{id}"));
    assert!(report.contains(&format!("href=\"{case}\" id=\"case-link\"")));
}
