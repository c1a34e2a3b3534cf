//! Finding every child over HTTP on every backend: a department's list uploaded by the
//! office is matched in the background against the ledger by 身份证号 (the child's, a
//! guardian's, a listed child's), each finding explained and sent to its village to
//! verify; a verified village's task closes; the list's file is deleted when its retention
//! period ends, its findings kept. And in the browser: a 低保 list shows a missing child,
//! added to the ledger from the task.

use serde_json::{json, Value};
use weibao_domain::access::Role;

use super::reports_pages::{add_user, fits_the_phone, sign_in};
use super::support::{multipart, Browser, TestApp};
use super::{child_id, VILLAGE_A1, VILLAGE_A2};

fn sheet(headers: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    weibao_sheets::write_table(
        "名单",
        headers,
        rows.iter().map(|r| {
            r.iter()
                .map(|c| weibao_sheets::OutCell::Text(c.clone()))
                .collect()
        }),
    )
    .unwrap()
}

/// Uploads a list and waits for its matching to end.
fn upload(app: &TestApp, token: &str, kind: &str, bytes: &[u8]) -> (Value, Value) {
    let (ct, body) = multipart(&[("kind", kind)], &[("file", "名单.xlsx", bytes)]);
    let (status, _, answer) = app.raw(
        "POST",
        "/api/v1/department-lists",
        &[
            ("authorization", &format!("Bearer {token}")),
            ("content-type", &ct),
        ],
        Some(&body),
    );
    let uploaded: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    assert_eq!(status, 202, "{}: {uploaded}", app.label);
    let id = uploaded["list"]["id"].as_str().unwrap().to_string();
    for _ in 0..300 {
        let (status, list) = app.get(&format!("/api/v1/department-lists/{id}"), Some(token));
        assert_eq!(status, 200, "{list}");
        if list["state"] != "running" {
            return (list, uploaded["reading"].clone());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{}: matching did not end", app.label);
}

fn findings(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/list-findings{query}"), Some(token));
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

#[test]
fn lists_are_matched_by_child_and_by_guardian_and_each_finding_is_verified_in_its_village() {
    for app in TestApp::all() {
        let at = app.label;
        let office = app.token("office");
        let dir = app.token("dir-a1");
        let dad = child_id(40, 101);
        let granny = child_id(70, 202);
        // In the ledger: 张小明 (father a guardian with his number, 外出务工) and 李小红
        // (grandmother her guardian), in 朝天村.
        let in_ledger = |name: &str, seq: u32, guardian: Value| {
            let (status, c) = app.post(
                "/api/v1/children",
                Some(&dir),
                json!({"name": name, "id_number": child_id(9, seq), "division": VILLAGE_A1,
                       "school_status": "小学",
                       "father": {"status": "外出务工", "since": "2024-02-01"},
                       "mother": {"status": "在家"},
                       "guardians": [guardian]}),
            );
            assert_eq!(status, 201, "{at}: {c}");
            c["id"].as_str().unwrap().to_string()
        };
        let ming = in_ledger(
            "张小明",
            301,
            json!({"name": "张某", "relationship": "父亲", "id_number": dad, "phone": "13812345678"}),
        );
        let hong = in_ledger(
            "李小红",
            302,
            json!({"name": "王某", "relationship": "祖母", "id_number": granny, "actual_caregiver": true}),
        );
        let missing = child_id(6, 303);
        // A number whose check digit is wrong.
        let wrong = {
            let n = child_id(40, 105);
            let last = if n.ends_with('0') { '1' } else { '0' };
            format!("{}{last}", &n[..17])
        };

        // 司法's list: the father in prison, with a child the ledger lacks; a row with a
        // wrong number is left out and said so.
        let prison = sheet(
            &[
                "序号",
                "姓名",
                "公民身份号码",
                "服刑场所",
                "子女姓名",
                "子女身份证号",
                "户籍所在村",
            ],
            &[
                vec![
                    "1".into(),
                    "张某".into(),
                    dad.clone(),
                    "省第一监狱".into(),
                    "张小亮".into(),
                    missing.clone(),
                    "青云村".into(),
                ],
                vec![
                    "2".into(),
                    "错号".into(),
                    wrong.clone(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                ],
            ],
        );
        let (list, reading) = upload(&app, &office, "prison", &prison);
        assert_eq!(list["state"], "done", "{at}: {list}");
        assert_eq!(
            (list["rows"].as_i64(), list["done_rows"].as_i64()),
            (Some(1), Some(1)),
            "{at}"
        );
        assert_eq!(
            (list["changed"].as_i64(), list["missing"].as_i64()),
            (Some(1), Some(1)),
            "{at}: {list}"
        );
        assert_eq!(reading["errors"][0]["row"], 3, "{at}: {reading}");
        let list_id = list["id"].as_str().unwrap().to_string();

        let all = findings(&app, &office, &format!("?list_id={list_id}"));
        assert_eq!(all.len(), 2, "{at}: {all:?}");
        let changed = all.iter().find(|f| f["kind"] == "changed").unwrap();
        assert_eq!(changed["child_id"], json!(ming), "{at}");
        assert_eq!(
            changed["explanation"],
            "司法服刑人员名单：父亲张某服刑（省第一监狱），台账中父亲情况为“外出务工”",
            "{at}"
        );
        let gone = all.iter().find(|f| f["kind"] == "missing").unwrap();
        assert_eq!(
            (
                gone["child_id"].clone(),
                gone["division_code"].as_str(),
                gone["id_number"].as_str()
            ),
            (Value::Null, Some(VILLAGE_A2), Some(missing.as_str())),
            "{at}: the row's village; {gone}"
        );
        assert_eq!(
            gone["explanation"],
            "父亲张某在司法服刑人员名单（服刑）（省第一监狱），孩子张小亮不在台账",
            "{at}"
        );
        // Each village sees its own: 朝天村's director the change, not 青云村's child.
        let mine = findings(&app, &dir, "");
        assert_eq!(mine.len(), 1, "{at}: {mine:?}");
        assert_eq!(mine[0]["child_id"], json!(ming));
        let (_, inbox) = app.get("/api/v1/inbox", Some(&dir));
        assert!(
            inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["kind"] == "list_verification"),
            "{at}: {inbox}"
        );
        // Verified: updated; the village's task is done.
        let answer = |token: &str, id: &Value, body: Value| {
            app.post(
                &format!("/api/v1/list-findings/{}/answer", id.as_str().unwrap()),
                Some(token),
                body,
            )
        };
        let (status, done) = answer(&dir, &mine[0]["id"], json!({"answer": "updated"}));
        assert_eq!(
            (status, done["answer"].as_str()),
            (200, Some("updated")),
            "{at}: {done}"
        );
        let (_, inbox) = app.get("/api/v1/inbox", Some(&dir));
        assert!(
            !inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["kind"] == "list_verification"),
            "{at}: closed with its last finding: {inbox}"
        );
        assert_eq!(
            answer(&dir, &mine[0]["id"], json!({"answer": "updated"})).0,
            409,
            "{at}"
        );
        // The missing child: not 'added' before they are in the ledger; not applicable needs
        // a reason; another village's director cannot see it.
        assert_eq!(
            answer(&dir, &gone["id"], json!({"answer": "added"})).0,
            404,
            "{at}"
        );
        let sup = app.token("sup-a");
        let refused = answer(&sup, &gone["id"], json!({"answer": "added"}));
        assert_eq!(
            (refused.0, refused.1["error"]["code"].as_str()),
            (422, Some("not_in_ledger")),
            "{at}: {}",
            refused.1
        );
        let refused = answer(&sup, &gone["id"], json!({"answer": "not_applicable"}));
        assert_eq!(refused.1["error"]["field"], "note", "{at}");
        let (status, _) = app.post(
            "/api/v1/children",
            Some(&sup),
            json!({"name": "张小亮", "id_number": missing, "division": VILLAGE_A2,
                   "father": {"status": "服刑在押"}}),
        );
        assert_eq!(status, 201, "{at}");
        let (status, added) = answer(&sup, &gone["id"], json!({"answer": "added"}));
        assert_eq!(status, 200, "{at}: {added}");
        assert!(
            added["child_id"].is_string(),
            "{at}: linked to the new record"
        );

        // A child already recorded as the list says finds nothing; the grandmother's
        // death asks who looks after 李小红.
        let death = sheet(
            &["姓名", "身份证号", "注销原因"],
            &[vec!["王某".into(), granny.clone(), "死亡".into()]],
        );
        let (list, _) = upload(&app, &office, "death", &death);
        let found = findings(
            &app,
            &office,
            &format!("?list_id={}", list["id"].as_str().unwrap()),
        );
        assert_eq!(found.len(), 1, "{at}: {found:?}");
        assert_eq!(found[0]["child_id"], json!(hong));
        assert_eq!(
            found[0]["explanation"],
            "公安死亡注销名单：监护人祖母王某已死亡注销（死亡），需核实李小红的监护照料",
            "{at}"
        );

        // Only the office uploads; a director gets 403.
        let (ct, body) = multipart(&[("kind", "dibao")], &[("file", "名单.xlsx", &death)]);
        let (status, _, _) = app.raw(
            "POST",
            "/api/v1/department-lists",
            &[
                ("authorization", &format!("Bearer {dir}")),
                ("content-type", &ct),
            ],
            Some(&body),
        );
        assert_eq!(status, 403, "{at}");
    }
}

#[test]
fn a_lists_file_is_deleted_after_its_retention_period_and_its_findings_stay() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    let list = sheet(
        &["姓名", "身份证号", "家庭住址"],
        &[vec![
            "赵小雨".into(),
            child_id(8, 401),
            "朝天镇朝天村二组".into(),
        ]],
    );
    let (found, _) = upload(&app, &office, "dibao", &list);
    assert_eq!(found["missing"], 1, "{found}");
    let id = found["id"].as_str().unwrap().to_string();
    let (_, f) = app.get(
        &format!("/api/v1/list-findings?list_id={id}"),
        Some(&office),
    );
    assert_eq!(
        f["items"][0]["division_code"], VILLAGE_A1,
        "found by the address: {f}"
    );
    // 89 days on: kept; past 90: the file is gone, the finding is not.
    app.store.clock().advance_ms(89 * 86_400_000);
    assert_eq!(app.block_on(app.store.expire_dept_lists()).unwrap(), 0);
    app.store.clock().advance_ms(2 * 86_400_000);
    assert_eq!(app.block_on(app.store.expire_dept_lists()).unwrap(), 1);
    assert_eq!(
        app.block_on(app.store.expire_dept_lists()).unwrap(),
        0,
        "once"
    );
    // (The office's password has expired by now: read through the store.)
    let office = weibao_domain::access::Scope::new(
        "office",
        "office",
        Role::Office,
        weibao_domain::DivisionCode::parse("510812").unwrap(),
        None,
    );
    let list = app.block_on(app.store.dept_list(&office, &id)).unwrap();
    assert!(list.deleted_at.is_some(), "{list:?}");
    let refused = app.block_on(app.store.dept_list_file(&office, &id, ""));
    assert!(
        matches!(
            refused,
            Err(weibao_store::StoreError::Conflict {
                code: "list_file_deleted",
                ..
            })
        ),
        "{refused:?}"
    );
    let kept = app
        .block_on(app.store.list_findings(
            &office,
            &weibao_store::FindingFilter {
                list_id: Some(id.clone()),
                ..Default::default()
            },
        ))
        .unwrap();
    assert_eq!(kept.len(), 1, "the finding stays");
}

#[test]
fn browser_a_dibao_list_shows_a_missing_child_who_is_added_from_the_task() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    add_user(&app, "office-b", Role::Office, "510812", None);
    let number = child_id(7, 501);
    let list = sheet(
        &[
            "户主姓名",
            "成员姓名",
            "成员身份证号",
            "与户主关系",
            "所在村",
        ],
        &[vec![
            "赵某".into(),
            "赵小雨".into(),
            number.clone(),
            "子".into(),
            "朝天村".into(),
        ]],
    );
    let path = std::env::temp_dir().join(format!("dibao-{}.xlsx", std::process::id()));
    std::fs::write(&path, &list).unwrap();

    sign_in(&browser, &app, "office-b");
    browser.goto(&format!("{}/findings/lists", app.base));
    browser.wait_for_text("h1", "部门名单比对");
    browser.select("#upload select[name=kind]", "dibao");
    browser.fill("#upload input[name=file]", path.to_str().unwrap());
    browser.click("#upload button[type=submit]");
    browser.wait_for_text("#notice", "正在比对");
    // The page refreshes itself until the match is done.
    browser.wait_for_text("#lists .state", "不在台账 1");
    fits_the_phone(&browser, "the lists page");

    // 朝天村's director finds it in the inbox and registers the child from the task.
    sign_in(&browser, &app, "dir-a1");
    browser.goto(&format!("{}/inbox", app.base));
    browser.wait_for_text("main", "名单比对待核实");
    browser.click("a[href^='/findings']");
    browser.wait_for_text(".explanation", "赵小雨");
    fits_the_phone(&browser, "the findings page");
    browser.click("a[id^='add-']");
    browser.wait_for_text("h1", "登记");
    assert_eq!(
        browser.eval("return document.querySelector('input[name=id_number]').value"),
        json!(number)
    );
    std::fs::remove_file(&path).ok();
}

#[test]
fn children_are_paired_with_helpers_contacts_are_logged_and_counted_by_division() {
    for app in TestApp::all() {
        let at = app.label;
        let (sup, dir1, dir2) = (app.token("sup-a"), app.token("dir-a1"), app.token("dir-a2"));
        let child = |token: &str, name: &str, seq: u32, village: &str| {
            let (status, c) = app.post(
                "/api/v1/children",
                Some(token),
                json!({"name": name, "id_number": child_id(10, seq), "division": village}),
            );
            assert_eq!(status, 201, "{at}: {c}");
            c["id"].as_str().unwrap().to_string()
        };
        let a = child(&dir1, "陈小一", 601, VILLAGE_A1);
        let _b = child(&dir1, "陈小二", 602, VILLAGE_A1);
        let c = child(&dir2, "陈小三", 603, VILLAGE_A2);
        let helper = |token: &str, body: Value| {
            let (status, h) = app.post("/api/v1/helpers", Some(token), body);
            assert_eq!(status, 201, "{at}: {h}");
            h["id"].as_str().unwrap().to_string()
        };
        let teacher = helper(
            &sup,
            json!({"name": "周老师", "kind": "teacher", "workplace": "朝天一小", "phone": "13812345678"}),
        );
        let volunteer = helper(&dir1, json!({"name": "吴志愿", "kind": "volunteer"}));
        let (status, bad) = app.post(
            "/api/v1/helpers",
            Some(&dir1),
            json!({"name": "某", "kind": "teacher", "phone": "12345"}),
        );
        assert_eq!(
            (status, bad["error"]["field"].as_str()),
            (422, Some("phone")),
            "{at}"
        );
        // The township's teacher serves every village below; a village's volunteer its own.
        let (_, seen) = app.get("/api/v1/helpers", Some(&dir2));
        let names: Vec<&str> = seen["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["周老师"], "{at}");

        let pair = |token: &str, child: &str, helper: &str| {
            app.post(
                "/api/v1/pairings",
                Some(token),
                json!({"child_id": child, "helper_id": helper}),
            )
        };
        let (status, p) = pair(&dir1, &a, &teacher);
        assert_eq!(status, 201, "{at}: {p}");
        let pairing = p["id"].as_str().unwrap().to_string();
        let (status, again) = pair(&dir1, &a, &volunteer);
        assert_eq!(
            (status, again["error"]["code"].as_str()),
            (409, Some("already_paired")),
            "{at}: one helper at a time"
        );
        assert_eq!(
            pair(&dir1, &c, &teacher).0,
            404,
            "{at}: another village's child"
        );
        assert_eq!(
            pair(&dir2, &c, &volunteer).1["error"]["field"],
            "helper_id",
            "{at}: another village's volunteer"
        );

        let today = app.store.clock().today();
        let contact = |body: Value| {
            app.post(
                &format!("/api/v1/pairings/{pairing}/contacts"),
                Some(&dir1),
                body,
            )
        };
        let (status, early) = contact(json!({"kind": "visit", "note": "看望",
            "contacted_on": (today - chrono::Duration::days(1)).to_string()}));
        assert_eq!(
            (status, early["error"]["field"].as_str()),
            (422, Some("contacted_on")),
            "{at}: before the pairing began"
        );
        let (status, logged) = contact(json!({"kind": "visit", "note": "上门辅导作业"}));
        assert_eq!(status, 201, "{at}: {logged}");
        assert_eq!(
            (
                logged["contacts"].as_i64(),
                logged["last_contact_on"].as_str()
            ),
            (Some(1), Some(today.to_string().as_str())),
            "{at}"
        );

        // On the page, a day that is no date is refused, not taken for today.
        let cookie = app.cookie("dir-a1");
        let csrf = app.csrf_of(&cookie);
        let (status, _) = app.form(
            "/pairing/contacts",
            Some(&cookie),
            &format!("_csrf={csrf}&pairing_id={pairing}&kind=phone&note=x&contacted_on=2026-13-01"),
            None,
        );
        assert_eq!(status, 422, "{at}");

        // The township's overview: by village, who has no helper, nobody silent yet.
        let (status, o) = app.get("/api/v1/pairings/overview", Some(&sup));
        assert_eq!(status, 200, "{at}: {o}");
        assert_eq!(
            (
                o["total"]["children"].as_i64(),
                o["total"]["paired"].as_i64(),
                o["total"]["contacted"].as_i64()
            ),
            (Some(3), Some(1), Some(1)),
            "{at}: {o}"
        );
        let row = |code: &str| {
            o["by_division"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["division_code"] == code)
                .map(|r| (r["children"].as_i64(), r["paired"].as_i64()))
        };
        assert_eq!(row(VILLAGE_A1), Some((Some(2), Some(1))), "{at}: {o}");
        assert_eq!(row(VILLAGE_A2), Some((Some(1), Some(0))), "{at}: {o}");
        assert_eq!(o["unpaired"].as_array().unwrap().len(), 2, "{at}");
        assert!(o["silent"].as_array().unwrap().is_empty(), "{at}");

        // Next quarter: the helper has not been in touch yet.
        let next =
            weibao_domain::finding::pairing::quarter_start(today + chrono::Duration::days(95));
        app.store
            .clock()
            .advance_ms((next - today).num_days() * 86_400_000 + 3_600_000);
        let township = weibao_domain::access::Scope::new(
            "sup-a",
            "sup-a",
            Role::Supervisor,
            weibao_domain::DivisionCode::parse("510812100").unwrap(),
            None,
        );
        let o = app
            .block_on(app.store.pairing_overview(&township, None))
            .unwrap();
        assert_eq!((o.total.paired, o.total.contacted), (1, 0), "{at}");
        assert_eq!(o.silent.len(), 1, "{at}");
        assert_eq!(o.silent[0].helper_name, "周老师");
        // Ended with a reason: the child has no helper again.
        let ended = app.block_on(app.store.end_pairing(&township, &pairing, " ", ""));
        assert!(
            matches!(
                ended,
                Err(weibao_store::StoreError::Invalid {
                    field: "reason",
                    ..
                })
            ),
            "{at}"
        );
        app.block_on(
            app.store
                .end_pairing(&township, &pairing, "儿童随父母迁居外地", ""),
        )
        .unwrap();
        let o = app
            .block_on(app.store.pairing_overview(&township, None))
            .unwrap();
        assert_eq!((o.total.paired, o.unpaired.len()), (0, 3), "{at}");
    }
}
