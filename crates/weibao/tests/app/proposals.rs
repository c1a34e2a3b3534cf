//! Proposals (建议提案办理) over HTTP on every backend: registered and assigned, opinions
//! from a co-unit, the lead unit's reply, the office's review (退回 sends it back with a new
//! deadline), the proposer's rating (不满意 reopens it), nothing rated before a reply has
//! passed review, overdue past three months or the county's own span. And in the browser:
//! a proposal from assignment to a rated reply.

use chrono::Duration;
use serde_json::{json, Value};
use weibao_domain::access::{Role, Scope};
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

fn open_work(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    let (status, body) = app.get("/api/v1/inbox", Some(token));
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["subject_id"] == id)
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .collect()
}

fn code(v: &(u16, Value)) -> (u16, Option<&str>) {
    (v.0, v.1["error"]["code"].as_str())
}

#[test]
fn a_proposal_is_replied_reviewed_and_rated_and_dissatisfied_it_is_handled_again() {
    for app in TestApp::all() {
        let at = app.label;
        add_user(&app, "civil", Role::Unit, COUNTY, Some("民政"));
        add_user(&app, "edu", Role::Unit, COUNTY, Some("教育"));
        add_user(&app, "police", Role::Unit, COUNTY, Some("公安"));
        let civil_unit = unit_id(&app, UnitKind::CivilAffairs);
        let edu_unit = unit_id(&app, UnitKind::Education);
        let (office, civil, edu, police) = (
            app.token("office"),
            app.token("civil"),
            app.token("edu"),
            app.token("police"),
        );
        let today = app.store.clock().today();
        let assigned = today - Duration::days(10);
        let register = |number: &str| {
            app.post(
                "/api/v1/proposals",
                Some(&office),
                json!({"kind": "suggestion", "number": number, "session": "区十届人大三次会议",
                       "title": "关于加强农村留守儿童关爱保护的建议", "proposer": "王某某",
                       "co_signers": ["李某", "张某", "李某"], "key": true,
                       "assigned_on": assigned.to_string(), "lead_unit_id": civil_unit,
                       "co_unit_ids": [edu_unit, civil_unit],
                       "supervisor": "区政府督查室"}),
            )
        };
        let (status, made) = register("37");
        assert_eq!(status, 201, "{at}: {made}");
        let p = &made["proposal"];
        let id = p["id"].as_str().unwrap().to_string();
        assert_eq!(p["state"], "assigned", "{at}");
        assert_eq!(
            p["co_signers"],
            json!(["李某", "张某"]),
            "{at}: deduplicated"
        );
        assert_eq!(
            p["co_units"].as_array().unwrap().len(),
            1,
            "{at}: the lead is not its own co-unit: {p}"
        );
        // Three calendar months from assignment, at the day's end (Beijing).
        let due = assigned
            .checked_add_months(chrono::Months::new(3))
            .unwrap()
            .to_string();
        assert!(
            p["due_at"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{due}T23:59:59")),
            "{at}: {p}"
        );
        assert_eq!(
            code(&register("37")),
            (409, Some("proposal_number_taken")),
            "{at}"
        );
        let (status, future) = app.post(
            "/api/v1/proposals",
            Some(&office),
            json!({"kind": "proposal", "number": "9", "title": "t", "proposer": "p",
                   "assigned_on": (today + Duration::days(1)).to_string(),
                   "lead_unit_id": civil_unit}),
        );
        assert_eq!(
            (status, future["error"]["field"].as_str()),
            (422, Some("assigned_on")),
            "{at}: {future}"
        );
        assert_eq!(
            app.post(
                "/api/v1/proposals",
                Some(&civil),
                json!({"kind": "proposal",
                "number": "10", "title": "t", "proposer": "p", "lead_unit_id": civil_unit})
            )
            .0,
            403,
            "{at}: a unit does not register proposals"
        );

        // The lead unit has the reply in its inbox; the co-unit sees it; others do not.
        assert_eq!(open_work(&app, &civil, &id), ["proposal_reply"], "{at}");
        assert_eq!(
            app.get(&format!("/api/v1/proposals/{id}"), Some(&edu)).0,
            200
        );
        assert_eq!(
            app.get(&format!("/api/v1/proposals/{id}"), Some(&police)).0,
            404,
            "{at}: a unit not on it does not see it"
        );
        let (_, listed) = app.get("/api/v1/proposals", Some(&police));
        assert_eq!(listed["items"], json!([]), "{at}");

        // Nothing rated or reviewed before a reply.
        let rate = |s: &str, feedback: &str| {
            app.post(
                &format!("/api/v1/proposals/{id}/rating"),
                Some(&office),
                json!({"satisfaction": s, "feedback": feedback}),
            )
        };
        let review = |passed: bool, reason: &str| {
            app.post(
                &format!("/api/v1/proposals/{id}/review"),
                Some(&office),
                json!({"passed": passed, "reason": reason}),
            )
        };
        assert_eq!(
            code(&rate("satisfied", "")),
            (409, Some("proposal_state")),
            "{at}"
        );
        assert_eq!(
            code(&review(true, "")),
            (409, Some("proposal_state")),
            "{at}"
        );

        // The co-unit's opinion; the co-unit cannot reply, the lead cannot send an opinion.
        let (status, opined) = app.post(
            &format!("/api/v1/proposals/{id}/opinions"),
            Some(&edu),
            json!({"note": "建议将留守儿童纳入学校关爱台账"}),
        );
        assert_eq!(status, 201, "{at}: {opined}");
        assert_eq!(opined["steps"][0]["unit"]["id"], edu_unit.as_str(), "{at}");
        let reply = |token: &str, class: &str, text: &str| {
            app.post(
                &format!("/api/v1/proposals/{id}/reply"),
                Some(token),
                json!({"class": class, "reply": text}),
            )
        };
        assert_eq!(
            code(&reply(&edu, "A", "答复")),
            (409, Some("lead_replies")),
            "{at}"
        );
        assert_eq!(
            code(&app.post(
                &format!("/api/v1/proposals/{id}/opinions"),
                Some(&civil),
                json!({"note": "x"})
            )),
            (409, Some("not_co_unit")),
            "{at}"
        );
        let (status, bad) = reply(&civil, "D", "答复");
        assert_eq!(
            (status, bad["error"]["field"].as_str()),
            (422, Some("class")),
            "{at}"
        );

        // The reply: the item is done; a second reply waits for the review.
        let (status, replied) = reply(&civil, "B", "已将留守儿童关爱列入年度计划");
        assert_eq!(status, 200, "{at}: {replied}");
        assert_eq!(replied["proposal"]["state"], "replied", "{at}");
        assert_eq!(replied["proposal"]["class"], "B", "{at}");
        assert!(open_work(&app, &civil, &id).is_empty(), "{at}");
        assert_eq!(
            code(&reply(&civil, "A", "再答")),
            (409, Some("proposal_state"))
        );
        assert_eq!(
            code(&app.post(
                &format!("/api/v1/proposals/{id}/opinions"),
                Some(&edu),
                json!({"note": "晚到的意见"})
            )),
            (409, Some("proposal_state")),
            "{at}: no opinions once replied"
        );

        // 退回 needs a reason, then sends it back with a new deadline in the inbox.
        let (status, no_reason) = review(false, " ");
        assert_eq!(
            (status, no_reason["error"]["field"].as_str()),
            (422, Some("reason")),
            "{at}: {no_reason}"
        );
        let (status, returned) = review(false, "答复过于笼统，请补充具体措施");
        assert_eq!(status, 200, "{at}: {returned}");
        assert_eq!(returned["proposal"]["state"], "returned", "{at}");
        assert_eq!(open_work(&app, &civil, &id), ["proposal_rework"], "{at}");

        // Replied again, passed; 不满意 needs the proposer's words and reopens it.
        assert_eq!(
            reply(&civil, "A", "已建立留守儿童关爱台账，覆盖全部 139 个村").0,
            200
        );
        assert_eq!(
            code(&rate("satisfied", "")),
            (409, Some("proposal_state")),
            "{at}"
        );
        assert_eq!(review(true, "").0, 200, "{at}");
        let (status, no_words) = rate("dissatisfied", "");
        assert_eq!(
            (status, no_words["error"]["field"].as_str()),
            (422, Some("feedback")),
            "{at}"
        );
        let (status, reopened) = rate("dissatisfied", "措施未落实到村");
        assert_eq!(status, 200, "{at}: {reopened}");
        assert_eq!(reopened["proposal"]["state"], "reopened", "{at}");
        assert_eq!(reopened["proposal"]["satisfaction"], "dissatisfied", "{at}");
        assert_eq!(open_work(&app, &civil, &id), ["proposal_rework"], "{at}");

        // Handled again to 满意: closed, and a closed one is not rated twice.
        assert_eq!(reply(&civil, "A", "已落实到村，每村设关爱专干").0, 200);
        assert_eq!(review(true, "").0, 200);
        let (status, rated) = rate("satisfied", "");
        assert_eq!(status, 200, "{at}: {rated}");
        assert_eq!(rated["proposal"]["state"], "rated", "{at}");
        assert_eq!(
            code(&rate("basic", "")),
            (409, Some("proposal_state")),
            "{at}"
        );
        let steps: Vec<&str> = rated["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            [
                "opinion", "reply", "returned", "reply", "passed", "rated", "reply", "passed",
                "rated"
            ],
            "{at}"
        );
        assert!(open_work(&app, &civil, &id).is_empty(), "{at}");
        assert!(
            app.block_on(app.store.verify_audit()).unwrap().is_ok(),
            "{at}: every step in an unbroken audit chain"
        );
    }
}

#[test]
fn a_proposal_runs_overdue_after_three_months_or_the_countys_own_span() {
    for app in TestApp::all() {
        let at = app.label;
        add_user(&app, "civil", Role::Unit, COUNTY, Some("民政"));
        let civil_unit = unit_id(&app, UnitKind::CivilAffairs);
        // Passwords expire after three months: the first was assigned 85 days ago, so
        // that it falls due (three calendar months on) within the week.
        let today = app.store.clock().today();
        let register = |number: &str, assigned_on: chrono::NaiveDate| {
            let (status, made) = app.post(
                "/api/v1/proposals",
                Some(&app.token("office")),
                json!({"kind": "proposal", "number": number, "title": "关于未成年人网络保护的提案",
                       "proposer": "赵某", "lead_unit_id": civil_unit,
                       "assigned_on": assigned_on.to_string()}),
            );
            assert_eq!(status, 201, "{at}: {made}");
            made["proposal"]["id"].as_str().unwrap().to_string()
        };
        let first = register("1", today - Duration::days(85));
        let overdue = |token: &str| -> Vec<String> {
            let (status, body) = app.get("/api/v1/proposals?overdue=true", Some(token));
            assert_eq!(status, 200, "{body}");
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert!(overdue(&app.token("office")).is_empty(), "{at}");

        // The county sets 10 days for a proposal's reply: a new one is due in 10 days.
        app.block_on(app.store.put_setting(
            &Scope::system(),
            "deadline_rules",
            Some(DivisionCode::parse(COUNTY).unwrap()),
            app.store.clock().today(),
            &json!({"proposal_reply": {"days": 10}}),
        ))
        .unwrap();
        let second = register("2", today);
        app.store.clock().advance_ms(8 * DAY);
        assert_eq!(overdue(&app.token("office")), [first.as_str()], "{at}");
        assert_eq!(
            overdue(&app.token("civil")),
            [first.as_str()],
            "{at}: the lead unit sees its own overdue"
        );
        // Past its 10 days the second is late too; a reply takes one off the list.
        app.store.clock().advance_ms(3 * DAY);
        let mut late = overdue(&app.token("office"));
        late.sort();
        let mut both = vec![first.clone(), second.clone()];
        both.sort();
        assert_eq!(late, both, "{at}");
        let (status, _) = app.post(
            &format!("/api/v1/proposals/{second}/reply"),
            Some(&app.token("civil")),
            json!({"class": "C", "reply": "受财力所限，暂不能解决，已列入明年预算建议"}),
        );
        assert_eq!(status, 200, "{at}");
        assert_eq!(overdue(&app.token("office")), [first], "{at}");
    }
}

#[test]
fn browser_a_proposal_goes_from_assignment_to_a_rated_reply_on_a_phone() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    add_user(&app, "civil-a", Role::Unit, COUNTY, Some("民政"));
    let civil_unit = unit_id(&app, UnitKind::CivilAffairs);

    // The office registers it as assigned to 民政.
    sign_in(&browser, &app, "office");
    assert_eq!(browser.count("nav a[href='/proposals']"), 1, "in the menu");
    browser.goto(&format!("{}/proposals", app.base));
    browser.wait_for_text("h1", "建议提案办理");
    browser.click("#new-proposal summary");
    browser.fill("#new-proposal input[name=number]", "37");
    browser.fill(
        "#new-proposal input[name=title]",
        "关于加强农村留守儿童关爱保护的建议",
    );
    browser.select("#new-proposal select[name=lead_unit_id]", &civil_unit);
    // A proposer of spaces only passes the browser's check, not the server's.
    browser.fill("#new-proposal input[name=proposer]", "  ");
    browser.click("#new-proposal button[type=submit]");
    // Refused, what was typed kept.
    browser.wait_for_text("#form-error", "领衔代表");
    assert_eq!(
        browser.eval("return document.querySelector('#new-proposal input[name=number]').value"),
        json!("37")
    );
    fits_the_phone(&browser, "the proposals page");
    browser.fill("#new-proposal input[name=proposer]", "王某某");
    browser.click("#new-proposal button[type=submit]");
    browser.wait_for_text("#notice", "已登记");
    assert!(browser.text("#lead").contains("民政"));

    // 民政 finds it in its inbox and replies.
    sign_in(&browser, &app, "civil-a");
    browser.goto(&format!("{}/inbox", app.base));
    browser.wait_for_text("main", "建议提案待答复");
    browser.click("a[href^='/proposals/']");
    browser.wait_for_text("h1", "第 37 号");
    browser.select("#reply-form select[name=class]", "A");
    browser.fill(
        "#reply-form textarea[name=note]",
        "已建立留守儿童关爱台账，覆盖全部 139 个村",
    );
    browser.click("#reply-form button[type=submit]");
    browser.wait_for_text("#notice", "答复已提交");
    fits_the_phone(&browser, "the replied proposal");
    // Its formal reply letter: the draft, edited and kept, ready to export as Word.
    browser.click("#reply-document");
    browser.wait_for_text("#draft", "草稿");
    assert!(browser
        .eval("return document.querySelector('#document textarea[name=body]').value")
        .as_str()
        .unwrap()
        .contains("已建立留守儿童关爱台账"));
    browser.fill("#document input[name=doc_number]", "朝民函〔2026〕12号");
    browser.click("#document button[type=submit]");
    browser.wait_for_text("#notice", "答复函已保存");
    assert_eq!(
        browser.eval("return document.querySelector('#document input[name=doc_number]').value"),
        json!("朝民函〔2026〕12号")
    );
    assert!(browser
        .eval("return document.querySelector('#export-docx').getAttribute('href')")
        .as_str()
        .unwrap()
        .ends_with("/reply-document.docx"));
    fits_the_phone(&browser, "the reply document");

    // The office passes the reply and records 满意: closed.
    sign_in(&browser, &app, "office");
    browser.goto(&format!("{}/proposals", app.base));
    browser.click("#proposals a[href^='/proposals/']");
    browser.wait_for_text("#reply", "A 类");
    browser.click("#review button[type=submit]");
    browser.wait_for_text("#notice", "审核通过");
    browser.select("#rate select[name=satisfaction]", "satisfied");
    browser.click("#rate button[type=submit]");
    browser.wait_for_text("#notice", "办结");
    browser.wait_for_text("#proposal-state", "已办结");
    assert!(browser.text("#steps").contains("满意"));
    assert_eq!(browser.count("#rate"), 0, "rated once");
    fits_the_phone(&browser, "the rated proposal");
    browser.screenshot("proposal-rated-360");
}

#[test]
fn the_reply_document_is_drafted_from_the_figures_kept_as_edited_and_exported_as_word() {
    for app in TestApp::all() {
        let at = app.label;
        add_user(&app, "civil", Role::Unit, COUNTY, Some("民政"));
        add_user(&app, "edu", Role::Unit, COUNTY, Some("教育"));
        add_user(&app, "police", Role::Unit, COUNTY, Some("公安"));
        let civil_unit = unit_id(&app, UnitKind::CivilAffairs);
        let edu_unit = unit_id(&app, UnitKind::Education);
        let (office, civil, edu, police) = (
            app.token("office"),
            app.token("civil"),
            app.token("edu"),
            app.token("police"),
        );
        let today = app.store.clock().today();
        let (status, made) = app.post(
            "/api/v1/proposals",
            Some(&office),
            json!({"kind": "proposal", "number": "15", "session": "政协广元市朝天区七届三次全会",
                   "title": "关于加强全区未成年人关爱保护工作的建议", "proposer": "刘安泽",
                   "co_signers": ["徐丽娟"], "lead_unit_id": civil_unit,
                   "co_unit_ids": [edu_unit]}),
        );
        assert_eq!(status, 201, "{at}: {made}");
        let id = made["proposal"]["id"].as_str().unwrap().to_string();
        let (status, activity) = app.post(
            "/api/v1/activities",
            Some(&office),
            json!({"title": "防性侵安全教育进校园", "kind": "publicity",
                   "held_on": today.to_string(), "place": "中子镇中心小学",
                   "participants": 40, "children_reached": 35, "materials": 120}),
        );
        assert_eq!(status, 201, "{at}: {activity}");
        let doc_path = format!("/api/v1/proposals/{id}/reply-document");

        // The office's draft: the seeds' layout, the county's figures.
        let (status, draft) = app.get(&doc_path, Some(&office));
        assert_eq!(status, 200, "{at}: {draft}");
        assert_eq!(draft["kept"], false, "{at}");
        assert_eq!(
            draft["title"], "关于政协广元市朝天区七届三次全会第15号委员提案的答复",
            "{at}"
        );
        assert_eq!(draft["salutation"], "尊敬的刘安泽、徐丽娟委员：", "{at}");
        let body = draft["body"].as_str().unwrap();
        assert!(
            body.contains("活动1场次，参与40人次，覆盖儿童35人次，发放宣传资料120份。"),
            "{at}: {body}"
        );
        assert!(body.ends_with("此复。"), "{at}: {body}");
        // The lead unit drafts too, without the county's figures; a unit not on it sees
        // nothing of it.
        let (status, theirs) = app.get(&doc_path, Some(&civil));
        assert_eq!(status, 200, "{at}: {theirs}");
        assert!(!theirs["body"].as_str().unwrap().contains("场次"), "{at}");
        assert_eq!(app.get(&doc_path, Some(&police)).0, 404, "{at}");

        // Kept as edited, by the lead unit only; a refused edit keeps nothing.
        let mut edited = json!({
            "doc_number": "朝民函〔2026〕12号",
            "title": draft["title"], "salutation": draft["salutation"],
            "body": format!("{body}\n三、下一步工作\n（一）建强队伍。每年培训儿童主任两次。"),
            "signer": "广元市朝天区民政局", "date": "2026年12月6日",
            "footer": "联系人：张作\n联系电话：0839-8622541"
        });
        let put = |token: &str, doc: &Value| {
            app.send("PUT", &doc_path, Some(token), Some(doc.to_string()))
        };
        assert_eq!(
            code(&put(&edu, &edited)),
            (409, Some("lead_replies")),
            "{at}"
        );
        edited["signer"] = json!("  ");
        let refused = put(&civil, &edited);
        assert_eq!(
            (refused.0, refused.1["error"]["field"].as_str()),
            (422, Some("signer")),
            "{at}: {}",
            refused.1
        );
        assert!(
            refused.1["error"]["message"]
                .as_str()
                .unwrap()
                .contains("落款单位"),
            "{at}"
        );
        assert_eq!(app.get(&doc_path, Some(&civil)).1["kept"], false, "{at}");
        edited["signer"] = json!("广元市朝天区民政局");
        let (status, kept) = put(&civil, &edited);
        assert_eq!(status, 200, "{at}: {kept}");
        assert_eq!(kept["kept"], true, "{at}");
        assert_eq!(
            app.get(&doc_path, Some(&office)).1["doc_number"],
            "朝民函〔2026〕12号"
        );

        // The Word file holds what was kept, paragraph by paragraph.
        let (status, ct, docx) = app.raw(
            "GET",
            &format!("{doc_path}.docx"),
            &[("authorization", &format!("Bearer {civil}"))],
            None,
        );
        assert_eq!(status, 200, "{at}");
        assert_eq!(
            ct,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        let text = weibao_sheets::docx::read_docx_text(&docx).unwrap();
        assert_eq!(
            &text[..3],
            [
                "朝民函〔2026〕12号",
                "关于政协广元市朝天区七届三次全会第15号委员提案的答复",
                "尊敬的刘安泽、徐丽娟委员："
            ],
            "{at}"
        );
        for line in [
            "三、下一步工作",
            "（一）建强队伍。每年培训儿童主任两次。",
            "此复。",
            "广元市朝天区民政局",
            "2026年12月6日",
            "联系电话：0839-8622541",
        ] {
            assert!(text.iter().any(|t| t == line), "{at}: {line} in {text:?}");
        }

        // Files on the reply: checked, kept once, read back; a co-unit cannot add any.
        let files = format!("/api/v1/proposals/{id}/files");
        let pdf: &[u8] = b"%PDF-1.4 stamped reply";
        let (status, up) = app.post_multipart(&files, &civil, &[], &[("file", "答复函.pdf", pdf)]);
        assert_eq!(status, 201, "{at}: {up}");
        let (_, again) = app.post_multipart(&files, &civil, &[], &[("file", "again.pdf", pdf)]);
        assert_eq!(again["files"].as_array().unwrap().len(), 1, "{at}: {again}");
        let (status, bad) =
            app.post_multipart(&files, &civil, &[], &[("file", "x.txt", b"plain text")]);
        assert_eq!(
            (status, bad["error"]["field"].as_str()),
            (422, Some("file")),
            "{at}: {bad}"
        );
        assert_eq!(
            code(&app.post_multipart(&files, &edu, &[], &[("file", "e.pdf", pdf)])),
            (409, Some("lead_replies")),
            "{at}"
        );
        let url = up["files"][0]["url"].as_str().unwrap();
        let (status, _, bytes) = app.raw(
            "GET",
            url,
            &[("authorization", &format!("Bearer {office}"))],
            None,
        );
        assert_eq!((status, bytes.as_slice()), (200, pdf), "{at}");

        // Once the reply has passed review, neither changes.
        let (status, replied) = app.post(
            &format!("/api/v1/proposals/{id}/reply"),
            Some(&civil),
            json!({"class": "B", "reply": "见答复函"}),
        );
        assert_eq!(status, 200, "{at}: {replied}");
        let (status, passed) = app.post(
            &format!("/api/v1/proposals/{id}/review"),
            Some(&office),
            json!({"passed": true}),
        );
        assert_eq!(status, 200, "{at}: {passed}");
        assert_eq!(
            code(&put(&civil, &edited)),
            (409, Some("reply_closed")),
            "{at}"
        );
        assert_eq!(
            code(&app.post_multipart(
                &files,
                &civil,
                &[],
                &[("file", "late.pdf", b"%PDF-1.4 late")]
            )),
            (409, Some("reply_closed")),
            "{at}"
        );
        let (_, closed) = app.get(&doc_path, Some(&civil));
        assert_eq!(
            (closed["closed"].as_bool(), closed["kept"].as_bool()),
            (Some(true), Some(true))
        );
    }
}
