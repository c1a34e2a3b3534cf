//! The committee's work over HTTP on every backend: a task of the plan in its lead unit's
//! inbox, supervised with a deadline in working days and escalated to the office head when
//! it runs late, progress from the lead and co-responsible units, closing by the lead;
//! notices acknowledged unit by unit; joint meetings against the yearly minimum; members
//! and duties. And in the browser: a 督办 to a unit, which reports progress and closes it.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde_json::{json, Value};
use weibao_domain::access::{Role, Scope};
use weibao_domain::work::calendar::end_of_day_ms;
use weibao_domain::work::UnitKind;
use weibao_domain::DivisionCode;

use super::reports_pages::{add_user, fits_the_phone, sign_in};
use super::support::{Browser, TestApp};
use super::COUNTY;

const DAY: i64 = 86_400_000;

fn unit_id(app: &TestApp, kind: UnitKind) -> String {
    app.block_on(
        app.store
            .county_unit(DivisionCode::parse(COUNTY).unwrap(), kind),
    )
    .unwrap()
    .id
}

fn inbox_kinds(app: &TestApp, token: &str) -> Vec<(String, Value)> {
    let (status, body) = app.get("/api/v1/inbox", Some(token));
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap().to_string(), i.clone()))
        .collect()
}

/// Moves the test clock forward to 10:00 Beijing time of the next Friday (a week on if
/// today is one).
fn to_next_friday(app: &TestApp) {
    let today = app.store.clock().today();
    let mut days = (Weekday::Fri.num_days_from_monday() as i64
        - today.weekday().num_days_from_monday() as i64)
        .rem_euclid(7);
    if days == 0 {
        days = 7;
    }
    let friday = today + Duration::days(days);
    let target = end_of_day_ms(friday) - 14 * 3_600_000; // 10:00 of that day
    app.store
        .clock()
        .advance_ms(target - app.store.clock().now_ms());
    assert_eq!(app.store.clock().today(), friday);
}

#[test]
fn a_supervised_task_runs_late_over_working_days_escalates_and_is_closed_by_its_lead() {
    for app in TestApp::all() {
        let at = app.label;
        add_user(&app, "police", Role::Unit, COUNTY, Some("公安"));
        add_user(&app, "edu", Role::Unit, COUNTY, Some("教育"));
        let head = add_user(&app, "head", Role::Office, COUNTY, None);
        app.block_on(app.store.set_head(&Scope::system(), &head, true))
            .unwrap();
        let police_unit = unit_id(&app, UnitKind::Police);
        let edu_unit = unit_id(&app, UnitKind::Education);
        to_next_friday(&app);
        let today = app.store.clock().today();
        // Signed in after the clock moved (and again after each move below).
        let (office, police, edu) = (app.token("office"), app.token("police"), app.token("edu"));

        // The office gives task 6 to the police, with education working on it.
        let task = |number: &str, lead: &str, due: NaiveDate| {
            app.post(
                "/api/v1/committee/tasks",
                Some(&office),
                json!({"number": number, "title": "提升校园及周边安全管理", "lead_unit_id": lead,
                       "co_unit_ids": [edu_unit, lead], "due_on": due.to_string()}),
            )
        };
        let (status, made) = task("6", &police_unit, today + Duration::days(60));
        assert_eq!(status, 201, "{at}: {made}");
        assert_eq!(made["lead_unit"]["name"], "朝天区公安局", "{at}: {made}");
        assert_eq!(
            made["co_units"].as_array().unwrap().len(),
            1,
            "{at}: the lead is not also a co-responsible unit: {made}"
        );
        let id = made["id"].as_str().unwrap().to_string();
        let work_id = made["work_id"].as_str().unwrap().to_string();
        let (status, again) = task("6", &police_unit, today + Duration::days(60));
        assert_eq!(
            (status, again["error"]["code"].as_str()),
            (409, Some("task_number_taken")),
            "{at}: {again}"
        );
        let (status, bad) = task("7", "no-such-unit", today + Duration::days(60));
        assert_eq!(
            (status, bad["error"]["field"].as_str()),
            (422, Some("lead_unit_id")),
            "{at}: {bad}"
        );
        let (status, late) = task("8", &police_unit, today - Duration::days(1));
        assert_eq!(
            (status, late["error"]["field"].as_str()),
            (422, Some("due_on")),
            "{at}: {late}"
        );
        let (_, listed) = app.get("/api/v1/committee/tasks", Some(&office));
        assert_eq!(
            listed["items"].as_array().unwrap().len(),
            1,
            "{at}: refused tasks leave nothing: {listed}"
        );

        // The lead unit has it in its inbox; the co-responsible unit sees it in the plan.
        assert!(
            inbox_kinds(&app, &police)
                .iter()
                .any(|(k, i)| k == "plan_task" && i["subject_id"] == id.as_str()),
            "{at}"
        );
        let (_, edu_tasks) = app.get("/api/v1/committee/tasks", Some(&edu));
        assert_eq!(
            edu_tasks["items"][0]["id"],
            id.as_str(),
            "{at}: {edu_tasks}"
        );
        let (status, _) = app.get("/api/v1/committee/tasks", Some(&app.token("dir-a1")));
        assert_eq!(status, 403, "{at}: a village director has no committee");

        // 限时整改 in 3 working days from a Friday: not before Wednesday's end.
        let (status, supervised) = app.post(
            &format!("/api/v1/work/{work_id}/supervision"),
            Some(&office),
            json!({"level": "rectify", "working_days": 3, "note": "三个工作日内报送整改情况"}),
        );
        assert_eq!(status, 200, "{at}: {supervised}");
        assert_eq!(supervised["supervision"], "rectify", "{at}");
        let (_, seen) = app.get(&format!("/api/v1/committee/tasks/{id}"), Some(&police));
        assert_eq!(seen["task"]["supervision"], "rectify", "{at}: {seen}");
        let due = app
            .block_on(app.store.work_item(&Scope::system(), &work_id))
            .unwrap()
            .supervision_due_at
            .unwrap();
        let expected = app
            .block_on(app.store.deadline_after(
                app.store.clock().now_ms(),
                weibao_domain::work::Span::WorkingDays(3),
            ))
            .unwrap();
        assert_eq!(due, expected.at_ms, "{at}: the calendar's deadline");
        assert!(
            due >= end_of_day_ms(today + Duration::days(5)),
            "{at}: three working days from a Friday end on Wednesday at the earliest"
        );
        let (status, neither) = app.post(
            &format!("/api/v1/work/{work_id}/supervision"),
            Some(&office),
            json!({"level": "supervised", "note": "请办理"}),
        );
        assert_eq!(
            (status, neither["error"]["field"].as_str()),
            (422, Some("due_on")),
            "{at}: {neither}"
        );

        // A day before the deadline nothing escalates; past it, once, to the head.
        let now = app.store.clock().now_ms();
        app.store.clock().advance_ms(due - DAY - now);
        let head = app.token("head");
        assert_eq!(app.block_on(app.store.escalate_late()).unwrap(), 0, "{at}");
        assert!(
            !inbox_kinds(&app, &head)
                .iter()
                .any(|(_, i)| i["id"] == work_id.as_str()),
            "{at}"
        );
        app.store.clock().advance_ms(DAY + 1);
        let (office, police, edu, head) = (
            app.token("office"),
            app.token("police"),
            app.token("edu"),
            app.token("head"),
        );
        assert_eq!(app.block_on(app.store.escalate_late()).unwrap(), 1, "{at}");
        assert_eq!(app.block_on(app.store.escalate_late()).unwrap(), 0, "{at}");
        let escalated = inbox_kinds(&app, &head)
            .into_iter()
            .find(|(_, i)| i["id"] == work_id.as_str())
            .unwrap_or_else(|| panic!("{at}: the late task reaches the head"));
        assert!(escalated.1["escalated_at"].is_string(), "{at}");
        let (_, seen) = app.get(&format!("/api/v1/committee/tasks/{id}"), Some(&office));
        assert!(seen["task"]["escalated_at"].is_string(), "{at}: {seen}");
        assert_eq!(seen["task"]["overdue"], true, "{at}: {seen}");

        // Progress from both units; only the lead closes it.
        let progress = |token: &str, note: &str, done: bool| {
            app.post(
                &format!("/api/v1/committee/tasks/{id}/progress"),
                Some(token),
                json!({"note": note, "done": done}),
            )
        };
        let (status, body) = progress(&edu, "已完成辖区学校周边排查", false);
        assert_eq!(status, 201, "{at}: {body}");
        // With its files: a photo once however often it is sent, no other kinds.
        let photo = super::support::jpeg(4);
        let (status, file) = upload(&app, &edu, &id, "排查照片.jpg", &photo);
        assert_eq!(status, 201, "{at}: {file}");
        assert!(
            file["unit"]["name"].as_str().unwrap().contains("教育"),
            "{at}: {file}"
        );
        let (status, again) = upload(&app, &edu, &id, "又一次.jpg", &photo);
        assert_eq!((status, &again["id"]), (201, &file["id"]), "{at}: {again}");
        let (status, refused) = upload(&app, &edu, &id, "说明.txt", b"plain text");
        assert_eq!(
            (status, refused["error"]["field"].as_str()),
            (422, Some("file")),
            "{at}: {refused}"
        );
        let (status, _, bytes) = app.raw(
            "GET",
            &format!(
                "/api/v1/committee/tasks/{id}/files/{}",
                file["id"].as_str().unwrap()
            ),
            &[("authorization", &format!("Bearer {police}"))],
            None,
        );
        assert_eq!(
            (status, bytes == photo),
            (200, true),
            "{at}: the lead reads it"
        );
        let (_, seen) = app.get(&format!("/api/v1/committee/tasks/{id}"), Some(&office));
        assert_eq!(
            (
                seen["files"].as_array().map(Vec::len),
                &seen["files"][0]["name"]
            ),
            (Some(1), &json!("排查照片.jpg")),
            "{at}: {seen}"
        );
        let (status, body) = progress(&edu, "全部完成", true);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("lead_closes")),
            "{at}: {body}"
        );
        let (status, body) = progress(&police, "  ", false);
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("note")),
            "{at}: {body}"
        );
        let (status, body) = progress(&police, "已整治周边网吧 3 家，设置护学岗 12 个", true);
        assert_eq!(status, 201, "{at}: {body}");
        assert_eq!(body["task"]["state"], "done", "{at}: {body}");
        assert_eq!(
            body["progress"].as_array().unwrap().len(),
            2,
            "{at}: {body}"
        );
        assert_eq!(
            body["progress"][1]["unit"]["id"],
            police_unit.as_str(),
            "{at}"
        );
        assert!(
            !inbox_kinds(&app, &police)
                .iter()
                .any(|(_, i)| i["subject_id"] == id.as_str()),
            "{at}: a closed task leaves the inbox"
        );
        assert!(
            !inbox_kinds(&app, &head)
                .iter()
                .any(|(_, i)| i["id"] == work_id.as_str()),
            "{at}: and the head's"
        );
        let (status, body) = progress(&police, "补充", false);
        assert_eq!(status, 409, "{at}: {body}");
        let (status, body) = upload(&app, &police, &id, "补充.jpg", &super::support::jpeg(5));
        assert_eq!(
            status, 409,
            "{at}: a closed task takes no more files: {body}"
        );
        let (_, open) = app.get("/api/v1/committee/tasks?state=open", Some(&office));
        assert_eq!(open["items"].as_array().unwrap().len(), 0, "{at}: {open}");
    }
}

/// Sends a file to a task.
fn upload(app: &TestApp, token: &str, task: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
    let boundary = "weibao-task-file";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, _, answer) = app.raw(
        "POST",
        &format!("/api/v1/committee/tasks/{task}/files"),
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
fn notices_are_acknowledged_unit_by_unit_and_meetings_are_counted_against_the_minimum() {
    for app in TestApp::all() {
        let at = app.label;
        add_user(&app, "police", Role::Unit, COUNTY, Some("公安"));
        add_user(&app, "edu", Role::Unit, COUNTY, Some("教育"));
        let (office, police) = (app.token("office"), app.token("police"));
        let office_unit = unit_id(&app, UnitKind::Office);
        let police_unit = unit_id(&app, UnitKind::Police);
        let edu_unit = unit_id(&app, UnitKind::Education);

        // A notice goes to every unit but the office; each acknowledges once.
        let (status, notice) = app.post(
            "/api/v1/committee/notices",
            Some(&office),
            json!({"title": "关于开展督导检查的通报", "body": "请各单位做好自查。"}),
        );
        assert_eq!(status, 201, "{at}: {notice}");
        assert_eq!(notice["units"], 2, "{at}: police and education: {notice}");
        let nid = notice["id"].as_str().unwrap().to_string();
        assert!(
            inbox_kinds(&app, &police)
                .iter()
                .any(|(k, _)| k == "notice_ack"),
            "{at}"
        );
        let ack = |token: &str| {
            app.send(
                "POST",
                &format!("/api/v1/committee/notices/{nid}/acknowledgement"),
                Some(token),
                None,
            )
        };
        assert_eq!(ack(&police).0, 204, "{at}");
        assert_eq!(ack(&police).0, 409, "{at}: once");
        assert_eq!(ack(&office).0, 409, "{at}: the office is not addressed");
        let (_, read) = app.get(&format!("/api/v1/committee/notices/{nid}"), Some(&office));
        assert_eq!(read["notice"]["acknowledged"], 1, "{at}: {read}");
        let acked: Vec<&Value> = read["units"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["acknowledged_at"].is_string())
            .collect();
        assert_eq!(acked.len(), 1, "{at}");
        assert_eq!(acked[0]["unit"]["id"], police_unit.as_str(), "{at}");
        assert!(
            !inbox_kinds(&app, &police)
                .iter()
                .any(|(k, _)| k == "notice_ack"),
            "{at}: acknowledged, gone from the inbox"
        );

        // Late in the year with no meeting: the office is warned, once.
        let today = app.store.clock().today();
        let december = NaiveDate::from_ymd_opt(today.year(), 12, 1).unwrap();
        if today < december {
            app.store
                .clock()
                .advance_ms(end_of_day_ms(december) - DAY / 2 - app.store.clock().now_ms());
        }
        let year = app.store.clock().today().year();
        let shortfall = |app: &TestApp| {
            inbox_kinds(app, &office)
                .into_iter()
                .any(|(k, _)| k == "meeting_shortfall")
        };
        assert!(!shortfall(&app), "{at}");
        assert!(
            app.block_on(app.store.check_meetings()).unwrap() >= 1,
            "{at}"
        );
        assert_eq!(app.block_on(app.store.check_meetings()).unwrap(), 0, "{at}");
        assert!(shortfall(&app), "{at}: the office sees the year run short");

        let meeting = |held_on: NaiveDate, resolutions: Value| {
            app.post(
                "/api/v1/committee/meetings",
                Some(&office),
                json!({"held_on": held_on.to_string(), "convener": "副区长", "unit_ids": [office_unit, police_unit, edu_unit],
                       "agenda": "研究年度任务", "minutes": "会议议定以下事项", "resolutions": resolutions}),
            )
        };
        let today = app.store.clock().today();
        let (status, body) = meeting(today + Duration::days(1), json!([]));
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("held_on")),
            "{at}: {body}"
        );
        let (status, first) = meeting(
            today,
            json!([{"number": "M1", "title": "开展寒假安全教育", "lead_unit_id": edu_unit,
                    "due_on": (today + Duration::days(20)).to_string()}]),
        );
        assert_eq!(status, 201, "{at}: {first}");
        let task_id = first["task_ids"][0].as_str().unwrap().to_string();
        let (_, task) = app.get(&format!("/api/v1/committee/tasks/{task_id}"), Some(&office));
        assert_eq!(
            task["task"]["meeting_id"], first["meeting"]["id"],
            "{at}: the resolution is a task of the meeting: {task}"
        );
        assert!(shortfall(&app), "{at}: one of two");
        let (status, _) = meeting(today, json!([]));
        assert_eq!(status, 201, "{at}");
        assert!(
            !shortfall(&app),
            "{at}: the second meeting ends the warning"
        );
        let (_, listed) = app.get(
            &format!("/api/v1/committee/meetings?year={year}"),
            Some(&office),
        );
        assert_eq!(
            (listed["held"].as_i64(), listed["minimum"].as_i64()),
            (Some(2), Some(2)),
            "{at}: {listed}"
        );
        assert_eq!(app.block_on(app.store.check_meetings()).unwrap(), 0, "{at}");

        // Members and duties.
        let (status, member) = app.post(
            "/api/v1/committee/members",
            Some(&office),
            json!({"unit_id": police_unit, "name": "王建国", "title": "副局长", "position": "member",
                   "phone": "138 0000 1111", "term_from": "2025-01-01"}),
        );
        assert_eq!(status, 201, "{at}: {member}");
        assert_eq!(member["phone"], "13800001111", "{at}");
        let (status, bad) = app.post(
            "/api/v1/committee/members",
            Some(&office),
            json!({"unit_id": "nope", "name": "王建国", "position": "member"}),
        );
        assert_eq!(
            (status, bad["error"]["field"].as_str()),
            (422, Some("unit_id")),
            "{at}: {bad}"
        );
        let (_, members) = app.get("/api/v1/committee/members", Some(&police));
        assert_eq!(
            members["items"][0]["unit_name"], "朝天区公安局",
            "{at}: {members}"
        );
        let (status, duties) = app.send(
            "PUT",
            &format!("/api/v1/committee/units/{police_unit}/duties"),
            Some(&office),
            Some(json!({"duties": ["及时受理强制报告", "依法查处侵害未成年人的案件"]}).to_string()),
        );
        assert_eq!(status, 200, "{at}: {duties}");
        let (status, refused) = app.send(
            "PUT",
            &format!("/api/v1/committee/units/{police_unit}/duties"),
            Some(&office),
            Some(json!({"duties": ["  "]}).to_string()),
        );
        assert_eq!(status, 422, "{at}: {refused}");
        let (status, _) = app.send(
            "PUT",
            &format!("/api/v1/committee/units/{police_unit}/duties"),
            Some(&police),
            Some(json!({"duties": ["改写"]}).to_string()),
        );
        assert_eq!(
            status, 403,
            "{at}: a liaison reads duties, the office writes them"
        );
        let (_, units) = app.get("/api/v1/committee/units", Some(&police));
        let police_row = units["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == police_unit.as_str())
            .cloned()
            .unwrap();
        assert_eq!(police_row["duties"].as_array().unwrap().len(), 2, "{at}");
        assert_eq!(police_row["liaisons"], json!(["police"]), "{at}");
    }
}

#[test]
fn browser_office_supervises_a_task_and_the_unit_reports_and_closes_it_on_a_phone() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    add_user(&app, "police-a", Role::Unit, COUNTY, Some("公安"));
    let police_unit = unit_id(&app, UnitKind::Police);

    // The office gives a task to the police from the committee page.
    sign_in(&browser, &app, "office");
    assert_eq!(
        browser.count("nav a[href='/committee']"),
        1,
        "委员会 in the menu"
    );
    browser.goto(&format!("{}/committee", app.base));
    browser.wait_for_text("h1", "委员会工作");
    fits_the_phone(&browser, "the committee page");
    browser.click("#new-task summary");
    browser.fill("#new-task input[name=number]", "6");
    browser.fill("#new-task input[name=title]", "提升校园及周边安全管理");
    browser.select("#new-task select[name=lead_unit_id]", &police_unit);
    let due = (app.store.clock().today() + Duration::days(30)).to_string();
    browser.set_value("#new-task input[name=due_on]", &due);
    browser.click("#new-task button[type=submit]");
    browser.wait_for_text("#notice", "任务已交办");
    assert!(browser.text("#lead").contains("朝天区公安局"));

    // A refused 督办 keeps what was typed; then 挂牌督办 in five working days.
    browser.click("#supervise summary");
    browser.select("#supervise select[name=level]", "listed");
    browser.fill("#supervise textarea[name=note]", "请限期报送整治情况");
    browser.click("#supervise button[type=submit]");
    browser.wait_for_text("#form-error", "督办期限");
    assert_eq!(
        browser.eval("return document.querySelector('#supervise textarea[name=note]').value"),
        json!("请限期报送整治情况")
    );
    browser.fill("#supervise input[name=working_days]", "5");
    browser.click("#supervise button[type=submit]");
    browser.wait_for_text("#notice", "已督办");
    browser.wait_for_text("#supervision", "挂牌督办");
    fits_the_phone(&browser, "the task page");
    browser.screenshot("committee-task-360");

    // The police see it in their inbox, report progress, then close it.
    sign_in(&browser, &app, "police-a");
    browser.goto(&format!("{}/inbox", app.base));
    browser.wait_for_text("main", "挂牌督办");
    browser.click("a[href^='/committee/tasks/']");
    browser.wait_for_text("h1", "任务 6");
    browser.fill(
        "#progress-form textarea[name=note]",
        "已排查校园周边网吧 5 家",
    );
    browser.click("#progress-form button[type=submit]");
    browser.wait_for_text("#notice", "进展已报告");
    assert!(browser
        .text("#progress")
        .contains("已排查校园周边网吧 5 家"));

    browser.fill(
        "#progress-form textarea[name=note]",
        "整治完毕，设置护学岗 12 个",
    );
    browser.click("#progress-form input[name=done]");
    // The closing report carries its photo.
    let dir = super::support::TempDir::new();
    let photo = dir.path().join("整治照片.jpg");
    std::fs::write(&photo, super::support::jpeg(6)).unwrap();
    browser.fill("#progress-form input[type=file]", photo.to_str().unwrap());
    browser.click("#progress-form button[type=submit]");
    browser.wait_for_text("#notice", "任务已办结");
    browser.wait_for_text("#task-state", "已办结");
    assert!(
        browser.text("#progress").contains("整治照片.jpg"),
        "the photo is listed with the progress"
    );
    assert_eq!(
        browser.count("#progress-form"),
        0,
        "a closed task takes no more reports"
    );
    fits_the_phone(&browser, "the closed task");
    browser.screenshot("committee-task-closed-360");

    // The office sees it done in the plan.
    sign_in(&browser, &app, "office");
    browser.goto(&format!("{}/committee", app.base));
    browser.wait_for_text("#tasks", "已办结");
}

/// Every cell of the first sheet, row by row, as text.
fn sheet(bytes: &[u8]) -> Vec<Vec<String>> {
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
fn the_assessment_scores_units_from_their_records_drills_down_and_is_published() {
    for app in TestApp::all() {
        let at = app.label;
        add_user(&app, "police", Role::Unit, COUNTY, Some("公安"));
        add_user(&app, "edu", Role::Unit, COUNTY, Some("教育"));
        let office = app.token("office");
        let police_unit = unit_id(&app, UnitKind::Police);
        let edu_unit = unit_id(&app, UnitKind::Education);
        let today = app.store.clock().today();
        let year = today.year();

        // Each unit leads a task due in ten days; the police close theirs in time, the
        // education bureau does not; the police attend the year's one meeting.
        let mut work = Vec::new();
        for (n, lead) in [("A1", &police_unit), ("A2", &edu_unit)] {
            let (status, t) = app.post(
                "/api/v1/committee/tasks",
                Some(&office),
                json!({"year": year, "number": n, "title": "年度任务", "lead_unit_id": lead,
                       "due_on": (today + Duration::days(10)).to_string()}),
            );
            assert_eq!(status, 201, "{at}: {t}");
            work.push((
                t["id"].as_str().unwrap().to_string(),
                t["work_id"].as_str().unwrap().to_string(),
            ));
        }
        let (status, body) = app.post(
            &format!("/api/v1/committee/tasks/{}/progress", work[0].0),
            Some(&app.token("police")),
            json!({"note": "已完成", "done": true}),
        );
        assert_eq!(status, 201, "{at}: {body}");
        let (status, body) = app.post(
            "/api/v1/committee/meetings",
            Some(&office),
            json!({"held_on": today.to_string(), "convener": "副区长", "unit_ids": [police_unit],
                   "minutes": "会议纪要"}),
        );
        assert_eq!(status, 201, "{at}: {body}");
        app.store.clock().advance_ms(20 * DAY);
        let office = app.token("office");

        let result = |token: &str| {
            app.get(
                &format!("/api/v1/committee/assessments/{year}"),
                Some(token),
            )
        };
        let row = |a: &Value, id: &str| {
            a["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["subject_id"] == id)
                .cloned()
                .unwrap_or_else(|| panic!("{at}: {id} in {a}"))
        };
        let line = |r: &Value, indicator: &str| {
            r["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["indicator"] == indicator)
                .cloned()
                .unwrap()
        };
        let (status, a) = result(&office);
        assert_eq!(status, 200, "{at}: {a}");
        let police = row(&a, &police_unit);
        let edu = row(&a, &edu_unit);
        assert_eq!(
            (
                line(&police, "tasks_done")["numerator"].as_u64(),
                line(&police, "tasks_done")["denominator"].as_u64()
            ),
            (Some(1), Some(1)),
            "{at}: {police}"
        );
        assert_eq!(line(&edu, "tasks_done")["numerator"], 0, "{at}: {edu}");
        assert_eq!(
            line(&edu, "meetings_attended")["numerator"],
            0,
            "{at}: {edu}"
        );
        // Nothing else counted for either: the weighted mean of what was.
        assert_eq!(police["total"], 100.0, "{at}: {police}");
        assert_eq!(edu["total"], 0.0, "{at}: {edu}");
        assert_eq!(police["rank"], 1, "{at}");
        let townships = a["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "township")
            .count();
        assert!(townships >= 2, "{at}: townships are assessed too: {a}");

        // Manual points, refused out of range or for something not of the county.
        let points = |subject: &str, points: f64| {
            app.post(
                &format!("/api/v1/committee/assessments/{year}/points"),
                Some(&office),
                json!({"subject_id": subject, "points": points, "reason": "主动开展专项行动"}),
            )
        };
        assert_eq!(points(&edu_unit, 25.0).0, 422, "{at}");
        assert_eq!(points("nowhere", 2.0).0, 422, "{at}");
        let (status, body) = points(&edu_unit, 5.0);
        assert_eq!(status, 201, "{at}: {body}");
        // A scheme of tasks alone: meetings no longer weigh.
        let (status, body) = app.send(
            "PUT",
            &format!("/api/v1/committee/assessments/{year}/scheme"),
            Some(&office),
            Some(json!({"indicators": [{"indicator": "tasks_done", "weight": 10}, {"indicator": "tasks_done", "weight": 5}],
                        "training_target_hours": 12}).to_string()),
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("indicators")),
            "{at}: {body}"
        );
        let (status, body) = app.send(
            "PUT",
            &format!("/api/v1/committee/assessments/{year}/scheme"),
            Some(&office),
            Some(
                json!({"indicators": [{"indicator": "tasks_done", "weight": 10}],
                        "training_target_hours": 12})
                .to_string(),
            ),
        );
        assert_eq!(status, 200, "{at}: {body}");
        let (_, a) = result(&office);
        let edu = row(&a, &edu_unit);
        assert_eq!(
            (edu["computed"].as_f64(), edu["total"].as_f64()),
            (Some(0.0), Some(5.0)),
            "{at}: {edu}"
        );
        assert_eq!(edu["lines"].as_array().unwrap().len(), 1, "{at}: {edu}");

        // The drill-down names what was counted.
        let (status, drill) = app.get(
            &format!("/api/v1/committee/assessments/{year}/subjects/{edu_unit}"),
            Some(&office),
        );
        assert_eq!(status, 200, "{at}: {drill}");
        let items = drill["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{at}: {drill}");
        assert_eq!(items[0]["work_id"], work[1].1.as_str(), "{at}");
        assert_eq!(items[0]["on_time"], false, "{at}");
        assert_eq!(drill["meetings"][0]["attended"], false, "{at}");
        assert_eq!(drill["points"][0]["points"], 5.0, "{at}");

        // Units see it once published; then it is fixed.
        let police_token = app.token("police");
        assert_eq!(result(&police_token).0, 409, "{at}: not yet published");
        let publish = || {
            app.send(
                "POST",
                &format!("/api/v1/committee/assessments/{year}/publication"),
                Some(&office),
                None,
            )
        };
        assert_eq!(publish().0, 204, "{at}");
        assert_eq!(publish().0, 409, "{at}");
        let (status, seen) = result(&police_token);
        assert_eq!(status, 200, "{at}: {seen}");
        assert!(seen["published_at"].is_string(), "{at}");
        assert_eq!(
            points(&edu_unit, 1.0).0,
            409,
            "{at}: published results are fixed"
        );

        // The ranked result as a workbook.
        let (status, ct, bytes) = app.raw(
            "GET",
            &format!("/api/v1/committee/assessments/{year}/export.xlsx"),
            &[("authorization", &format!("Bearer {office}"))],
            None,
        );
        assert_eq!(status, 200, "{at}");
        assert!(ct.contains("spreadsheetml"), "{at}: {ct}");
        let rows = sheet(&bytes);
        assert_eq!(rows[0][0], "名次", "{at}");
        assert_eq!(rows[1][1], "朝天区公安局", "{at}: {rows:?}");
        assert_eq!(rows[1][3], "100", "{at}: {rows:?}");
    }
}
