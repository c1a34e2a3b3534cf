//! Reports, referrals and cases over the JSON API, as the school, the office, the police
//! liaison and the office head use them; the group robot against a local receiver; 12345
//! order sheets in and out; a danger found on a visit becoming a report.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use weibao_domain::access::{Role, Scope};
use weibao_domain::DivisionCode;
use weibao_store::NewUser;

use super::support::{TestApp, PASSWORD};
use super::{child_id, upload, COUNTY, VILLAGE_A1};

fn add_user(app: &TestApp, username: &str, role: Role, at: &str, unit: Option<&str>) -> String {
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

/// The office head (未保办主任): an office account marked head.
fn add_head(app: &TestApp) {
    let id = add_user(app, "head", Role::Office, COUNTY, None);
    app.block_on(app.store.set_head(&Scope::system(), &id, true))
        .unwrap();
}

fn left_behind(app: &TestApp, name: &str, seq: u32) -> String {
    let (status, body) = app.post(
        "/api/v1/children",
        Some(&app.token("dir-a1")),
        json!({
            "name": name, "id_number": child_id(10, seq), "division": VILLAGE_A1,
            "father": {"status": "外出务工", "since": "2024-02-01"},
            "mother": {"status": "外出务工", "since": "2024-02-01"},
            "guardians": [{"name": "李秀兰", "relationship": "祖母", "phone": "13812345678", "actual_caregiver": true}]
        }),
    );
    assert_eq!(status, 201, "{}: {body}", app.label);
    body["id"].as_str().unwrap().to_string()
}

fn school_report(urgency: Option<&str>) -> Value {
    json!({
        "channel": "mandatory",
        "situations": ["s4"],
        "urgency": urgency,
        "description": "学生身上多处淤青，自述被继父殴打",
        "place": "朝天镇中心小学",
        "division": VILLAGE_A1,
        "child": {"name": "张小明", "sex": "男", "age": 10, "school": "朝天镇中心小学"},
        "reporter": {"name": "王老师", "unit": "朝天镇中心小学", "institution": "school", "phone": "13912345678"}
    })
}

fn send(app: &TestApp, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    app.send(method, path, Some(token), Some(body.to_string()))
}

fn inbox(app: &TestApp, token: &str) -> Value {
    let (status, body) = app.get("/api/v1/inbox", Some(token));
    assert_eq!(status, 200, "{body}");
    body
}

fn kinds(inbox: &Value) -> Vec<String> {
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_schools_report_is_referred_accepted_answered_and_its_case_closed_by_the_head() {
    for app in TestApp::all() {
        let at = app.label;
        add_user(&app, "school", Role::Reporter, COUNTY, Some("教育"));
        add_user(&app, "school2", Role::Reporter, COUNTY, Some("教育"));
        add_user(&app, "police", Role::Unit, COUNTY, Some("公安"));
        add_head(&app);
        let child = left_behind(&app, "张小明", 731);
        let (school, office, police) = (
            app.token("school"),
            app.token("office"),
            app.token("police"),
        );

        // Intake: 201 with an id; the school reads its own report, not another school.
        let (status, filed) = app.post("/api/v1/reports", Some(&school), school_report(None));
        assert_eq!(status, 201, "{at}: {filed}");
        let report = filed["id"].as_str().unwrap().to_string();
        assert_eq!(
            filed["urgency"], "priority",
            "the nine situations default to 优先"
        );
        let (status, _) = app.get(
            &format!("/api/v1/reports/{report}"),
            Some(&app.token("school2")),
        );
        assert_eq!(
            status, 404,
            "{at}: another school's report does not exist for it"
        );
        let (status, own) = app.get(&format!("/api/v1/reports/{report}"), Some(&school));
        assert_eq!(
            (status, own["reporter"]["masked"].as_bool()),
            (200, Some(false))
        );
        // A bad request names the field and files nothing.
        let mut bad = school_report(None);
        bad["situations"] = json!(["s10"]);
        let (status, body) = app.post("/api/v1/reports", Some(&school), bad);
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("situations")),
            "{body}"
        );

        // The township supervisor reads it with the reporter masked; the office in full.
        let (status, seen) = app.get(
            &format!("/api/v1/reports/{report}"),
            Some(&app.token("sup-a")),
        );
        assert_eq!(status, 200, "{at}: {seen}");
        assert_eq!(seen["reporter"]["masked"], true);
        assert_eq!(seen["reporter"]["name"], "（保密）");
        assert_eq!(seen["reporter"]["phone"], "");
        assert!(!seen.to_string().contains("13912345678"), "{seen}");
        let (_, full) = app.get(&format!("/api/v1/reports/{report}"), Some(&office));
        assert_eq!(full["reporter"]["name"], "王老师");
        assert!(
            kinds(&inbox(&app, &office)).contains(&"triage".to_string()),
            "{at}"
        );

        // The office links the ledger child and refers the report to the police's inbox;
        // a child id that is no ledger child is a bad value, not a missing report.
        let (status, body) = send(
            &app,
            "POST",
            &format!("/api/v1/reports/{report}/child"),
            &office,
            json!({"child_id": "no-such-child"}),
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("child_id")),
            "{at}: {body}"
        );
        let (status, body) = send(
            &app,
            "POST",
            &format!("/api/v1/reports/{report}/child"),
            &office,
            json!({"child_id": child}),
        );
        assert_eq!(status, 204, "{at}: {body}");
        // Before the referral the police read nothing of the child.
        let (status, _) = app.get(&format!("/api/v1/children/{child}"), Some(&police));
        assert_eq!(status, 404, "{at}");
        let (status, referral) = send(
            &app,
            "POST",
            &format!("/api/v1/reports/{report}/referrals"),
            &office,
            json!({"to_unit_kind": "police", "note": "请核查监护人是否存在殴打行为"}),
        );
        assert_eq!(status, 201, "{at}: {referral}");
        let referral = referral["id"].as_str().unwrap().to_string();
        let (status, seen) = app.get(&format!("/api/v1/children/{child}"), Some(&police));
        assert_eq!(
            (status, seen["name"].as_str()),
            (200, Some("张小明")),
            "{at}: {seen}"
        );
        let (_, seen) = app.get(&format!("/api/v1/reports/{report}"), Some(&police));
        assert_eq!(
            seen["reporter"]["name"], "王老师",
            "the handling unit sees who reported"
        );
        let police_inbox = inbox(&app, &police);
        assert!(
            kinds(&police_inbox).contains(&"referral_response".to_string()),
            "{police_inbox}"
        );
        let note = police_inbox["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["link"] == format!("/referrals/{referral}"))
            .unwrap_or_else(|| panic!("{at}: no notification for the referral: {police_inbox}"));
        assert_eq!(note["read"], false);
        // The ledger stays closed: no list, no visits.
        let (status, _) = app.get(
            &format!("/api/v1/children?division={COUNTY}"),
            Some(&police),
        );
        assert_eq!(status, 403, "{at}");

        // Accepted once; the notification clears; a second acceptance is refused.
        let (status, accepted) = send(
            &app,
            "POST",
            &format!("/api/v1/referrals/{referral}/accept"),
            &police,
            json!({}),
        );
        assert_eq!(
            (status, accepted["state"].as_str()),
            (200, Some("accepted")),
            "{at}: {accepted}"
        );
        assert!(accepted["reply_due_at"].is_string());
        let (status, _) = send(
            &app,
            "POST",
            &format!("/api/v1/referrals/{referral}/accept"),
            &police,
            json!({}),
        );
        assert_eq!(status, 409, "{at}");
        let police_inbox = inbox(&app, &police);
        assert!(
            police_inbox["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["link"] == format!("/referrals/{referral}"))
                .all(|n| n["read"] == true),
            "{at}: {police_inbox}"
        );
        let kinds_now = kinds(&police_inbox);
        assert!(
            kinds_now.contains(&"referral_reply".to_string())
                && !kinds_now.contains(&"referral_response".to_string()),
            "{at}: {kinds_now:?}"
        );

        // A case from the report; its moves are guarded.
        let (status, case) = app.post("/api/v1/cases", Some(&office), json!({"report_id": report}));
        assert_eq!(status, 201, "{at}: {case}");
        let case = case["id"].as_str().unwrap().to_string();
        let go = |token: &str, to: &str| {
            send(
                &app,
                "POST",
                &format!("/api/v1/cases/{case}/transitions"),
                token,
                json!({"to": to}),
            )
        };
        let (status, body) = go(&office, "helping");
        assert_eq!(status, 409, "{at}: helping before an assessment: {body}");
        let (status, body) = go(&office, "nonsense");
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("to")),
            "{body}"
        );
        assert_eq!(go(&office, "assessing").0, 200);
        let (status, body) = go(&office, "closed");
        assert_eq!(status, 409, "{at}: closing with no assessment: {body}");
        let (status, body) = send(
            &app,
            "POST",
            &format!("/api/v1/cases/{case}/record"),
            &office,
            json!({"assessment": "监护人存在殴打行为，需帮扶", "reply": "已核实并处置，孩子由祖母照料"}),
        );
        assert_eq!(status, 200, "{at}: {body}");
        // A conference: over-long facts are refused by name and record nothing.
        let confer = |facts: String| {
            send(
                &app,
                "POST",
                &format!("/api/v1/cases/{case}/conferences"),
                &office,
                json!({"units": ["公安局", "教育局"], "facts": facts, "minutes": "商定由学校每周家访"}),
            )
        };
        let (status, body) = confer("情".repeat(10_001));
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("facts")),
            "{at}: {body}"
        );
        let (status, body) = confer("父亲酒后打骂".into());
        assert_eq!(status, 201, "{at}: {body}");
        let (_, seen) = app.get(&format!("/api/v1/cases/{case}"), Some(&office));
        assert_eq!(
            seen["conferences"].as_array().map(Vec::len),
            Some(1),
            "{at}: only the accepted conference is kept: {seen}"
        );
        let (status, body) = go(&office, "closed");
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("head_approval")),
            "{at}: {body}"
        );
        let (status, _) = send(
            &app,
            "POST",
            &format!("/api/v1/cases/{case}/closure-request"),
            &office,
            json!({"note": "请审批"}),
        );
        assert_eq!(status, 204, "{at}");
        let head = app.token("head");
        assert!(
            kinds(&inbox(&app, &head)).contains(&"closure_approval".to_string()),
            "{at}: the head sees the request"
        );
        let (status, closed) = go(&head, "closed");
        assert_eq!(
            (status, closed["state"].as_str()),
            (200, Some("closed")),
            "{at}: {closed}"
        );
        let (status, _) = go(&head, "assessing");
        assert_eq!(status, 409, "{at}: nothing follows 结案");

        // The police answer; their reading of the child ends 30 days later.
        let (status, done) = send(
            &app,
            "POST",
            &format!("/api/v1/referrals/{referral}/complete"),
            &police,
            json!({"reply": "已训诫继父并出具告诫书"}),
        );
        assert_eq!(
            (status, done["state"].as_str()),
            (200, Some("done")),
            "{at}: {done}"
        );
        app.store.clock().advance_ms(29 * 86_400_000);
        // (Sessions end after a while idle: sign in again.)
        let police = app.token("police");
        assert_eq!(
            app.get(&format!("/api/v1/children/{child}"), Some(&police))
                .0,
            200,
            "{at}"
        );
        app.store.clock().advance_ms(2 * 86_400_000);
        let police = app.token("police");
        assert_eq!(
            app.get(&format!("/api/v1/children/{child}"), Some(&police))
                .0,
            404,
            "{at}"
        );
        assert_eq!(
            app.get(&format!("/api/v1/reports/{report}"), Some(&police))
                .0,
            404,
            "{at}"
        );
        // The school sees the state and the reply, nothing of the handling.
        let (school, office) = (app.token("school"), app.token("office"));
        let (status, reply) = send(
            &app,
            "POST",
            &format!("/api/v1/reports/{report}/reply"),
            &office,
            json!({"reply": "已转公安机关处理，孩子安全", "close": true}),
        );
        assert_eq!(status, 204, "{at}: {reply}");
        let (_, own) = app.get(&format!("/api/v1/reports/{report}"), Some(&school));
        assert_eq!(own["reply"], "已转公安机关处理，孩子安全");
    }
}

/// A group robot on loopback: answers each POST with the next status of `script` (then
/// 200) and keeps every body.
struct Robot {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Robot {
    fn start(script: Vec<u16>) -> Robot {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/cgi-bin/webhook/send?key=test",
            listener.local_addr().unwrap()
        );
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                kept.lock().unwrap().push(String::from_utf8(body).unwrap());
                let status = script.next().unwrap_or(200);
                let answer = if status == 200 {
                    r#"{"errcode":0,"errmsg":"ok"}"#
                } else {
                    "busy"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Robot { url, bodies }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

#[test]
fn the_police_group_robot_gets_urgent_referrals_with_retries_and_no_personal_data() {
    let app = TestApp::sqlite();
    // At 06:00 Beijing time, before the units' daily digest is due (08:00), so that the robot
    // hears only of referrals, whatever the hour this test runs at.
    let now = app.store.clock().now_ms();
    let beijing_ms = (now + 8 * 3_600_000).rem_euclid(86_400_000);
    let six = 6 * 3_600_000;
    app.store
        .clock()
        .advance_ms((six - beijing_ms).rem_euclid(86_400_000));
    let state = weibao_web::AppState::new(app.store.clone());
    let round = || app.block_on(weibao_web::workers::run_once(&state)).unwrap();
    let office = app.token("office");
    add_user(&app, "police", Role::Unit, COUNTY, Some("公安"));
    let police = app.token("police");
    // The police unit, from the registry.
    let (_, units) = app.get("/api/v1/units", Some(&office));
    let unit = units["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["kind"] == "police")
        .unwrap_or_else(|| panic!("the liaison's unit is registered: {units}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let robot = Robot::start(vec![500, 200]);
    let (status, body) = send(
        &app,
        "PATCH",
        &format!("/api/v1/units/{unit}"),
        &office,
        json!({"webhook_kind": "wecom", "webhook_url": robot.url}),
    );
    assert_eq!(status, 200, "{body}");
    // A robot address that is not a web address is refused by name.
    let (status, body) = send(
        &app,
        "PATCH",
        &format!("/api/v1/units/{unit}"),
        &office,
        json!({"webhook_kind": "wecom", "webhook_url": "ftp://x"}),
    );
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("webhook_url"))
    );
    round(); // what was waiting before

    // An urgent report goes to the police at once; the robot is down the first time.
    let (status, filed) = app.post(
        "/api/v1/reports",
        Some(&office),
        school_report(Some("urgent")),
    );
    assert_eq!(status, 201, "{filed}");
    let first = round();
    assert_eq!((first.delivered, first.failed), (0, 1), "{first:?}");
    assert_eq!(round().failed, 0, "not retried before its backoff");
    app.store.clock().advance_ms(31_000);
    assert_eq!(round().delivered, 1);
    let bodies = robot.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let message: Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(message["msgtype"], "text");
    let text = message["text"]["content"].as_str().unwrap();
    assert!(
        text.contains("紧急") && text.contains("/referrals/"),
        "{text}"
    );
    for private in ["张小明", "王老师", "13912345678", "淤青", "朝天镇中心小学"] {
        assert!(!text.contains(private), "{private} in {text}");
    }
    assert_eq!(round().delivered, 0, "delivered once");

    // A referral the unit takes before the robot is reached is not announced late.
    let robot_down = Robot::start(vec![500; 20]);
    send(
        &app,
        "PATCH",
        &format!("/api/v1/units/{unit}"),
        &office,
        json!({"webhook_kind": "wecom", "webhook_url": robot_down.url}),
    );
    let (_, filed) = app.post(
        "/api/v1/reports",
        Some(&office),
        school_report(Some("urgent")),
    );
    let (_, report) = app.get(
        &format!("/api/v1/reports/{}", filed["id"].as_str().unwrap()),
        Some(&office),
    );
    let referral = report["referrals"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(round().failed, 1);
    let (status, _) = send(
        &app,
        "POST",
        &format!("/api/v1/referrals/{referral}/accept"),
        &police,
        json!({}),
    );
    assert_eq!(status, 200);
    app.store.clock().advance_ms(3_600_000);
    let after = round();
    assert_eq!((after.delivered, after.failed), (0, 0), "{after:?}");
    assert_eq!(robot_down.bodies().len(), 1);
}

/// An order sheet as the 12345 system exports it.
fn order_sheet(orders: &[(&str, &str, &str)]) -> Vec<u8> {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.merge_range(
        0,
        0,
        0,
        6,
        "12345政务服务便民热线工单导出",
        &rust_xlsxwriter::Format::new(),
    )
    .unwrap();
    for (c, h) in [
        "工单编号",
        "来电时间",
        "诉求人",
        "联系电话",
        "诉求内容",
        "涉及地址",
        "办理时限",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    for (i, (number, content, address)) in orders.iter().enumerate() {
        let r = 2 + i as u32;
        let cells = [
            *number,
            "2026-12-01 09:30",
            "刘女士",
            "13712345678",
            content,
            address,
            "5个工作日",
        ];
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(r, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

#[test]
fn hotline_orders_come_in_once_and_their_replies_go_back_as_a_sheet() {
    for app in TestApp::all() {
        let at = app.label;
        let office = app.token("office");
        let sheet = order_sheet(&[
            (
                "GD202612010001",
                "邻居反映朝天村一名儿童长期无人照看，经常挨饿",
                "朝天区朝天镇朝天村3组",
            ),
            (
                "GD202612010002",
                "反映青云村有孩子辍学在家，父母外出务工",
                "朝天镇青云村",
            ),
        ]);
        let path = format!("/api/v1/reports/hotline/import?division={COUNTY}");
        let (status, dry) = upload(&app, &office, &format!("{path}&dry_run=true"), &sheet);
        assert_eq!(
            (status, dry["rows_good"].as_u64(), dry["imported"].as_u64()),
            (200, Some(2), Some(0)),
            "{at}: {dry}"
        );
        let (status, first) = upload(&app, &office, &format!("{path}&dry_run=false"), &sheet);
        assert_eq!(
            (status, first["imported"].as_u64()),
            (200, Some(2)),
            "{at}: {first}"
        );
        let (status, again) = upload(&app, &office, &format!("{path}&dry_run=false"), &sheet);
        assert_eq!(
            (
                status,
                again["imported"].as_u64(),
                again["already_imported"].as_u64()
            ),
            (200, Some(0), Some(2)),
            "{at}: {again}"
        );
        let (_, list) = app.get("/api/v1/reports?channel=hotline", Some(&office));
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{at}: one report per order: {list}");
        // Each order keeps its number, its village and its 5-working-day deadline.
        let id = items
            .iter()
            .find_map(|i| {
                let (_, r) = app.get(
                    &format!("/api/v1/reports/{}", i["id"].as_str().unwrap()),
                    Some(&office),
                );
                (r["hotline_order"] == "GD202612010001").then_some(r)
            })
            .unwrap_or_else(|| panic!("{at}: order 0001 filed"));
        assert_eq!(
            id["division"], VILLAGE_A1,
            "{at}: the village read from the address"
        );
        // 2026-12-01 (Tue) + 5 working days = Tue 12-08, end of day Beijing time.
        assert!(
            id["hotline_due_at"]
                .as_str()
                .unwrap()
                .starts_with("2026-12-08T23:59:59"),
            "{id}"
        );
        let report = id["id"].as_str().unwrap().to_string();
        let (status, _) = send(
            &app,
            "POST",
            &format!("/api/v1/reports/{report}/reply"),
            &office,
            json!({"reply": "已联系村儿童主任上门核实，孩子由姑姑临时照料"}),
        );
        assert_eq!(status, 204);

        let auth = format!("Bearer {office}");
        let (status, _, bytes) = app.raw(
            "GET",
            &format!("/api/v1/reports/hotline/export.xlsx?division={COUNTY}&from=2026-01-01&to=2099-12-31"),
            &[("authorization", auth.as_str())],
            None,
        );
        assert_eq!(status, 200, "{at}");
        let table = weibao_sheets::read_table(
            &bytes,
            &weibao_sheets::HeaderMatcher::new(
                [("order", "工单编号"), ("reply", "答复内容")]
                    .iter()
                    .map(|(k, l)| (k.to_string(), vec![l.to_string()]))
                    .collect(),
            ),
            &["order", "reply"],
            100,
        )
        .unwrap();
        let replies: Vec<(String, String)> = table
            .rows
            .iter()
            .map(|r| {
                (
                    r.cells.get("order").map(|c| c.text()).unwrap_or_default(),
                    r.cells.get("reply").map(|c| c.text()).unwrap_or_default(),
                )
            })
            .collect();
        assert!(
            replies.contains(&(
                "GD202612010001".into(),
                "已联系村儿童主任上门核实,孩子由姑姑临时照料".into()
            )),
            "{at}: {replies:?}"
        );
        assert_eq!(replies.len(), 2, "{at}");
    }
}

#[test]
fn a_danger_found_on_a_visit_becomes_one_report_in_the_office() {
    for app in TestApp::all() {
        let at = app.label;
        let state = weibao_web::AppState::new(app.store.clone());
        let child = left_behind(&app, "赵小红", 733);
        let dir = app.token("dir-a1");
        let (status, visit) = app.post(
            &format!("/api/v1/children/{child}/visits"),
            Some(&dir),
            super::visit_body(true),
        );
        assert_eq!(status, 201, "{at}: {visit}");
        let visit = visit["id"].as_str().unwrap().to_string();
        for _ in 0..2 {
            app.block_on(weibao_web::workers::run_once(&state)).unwrap();
        }
        let office = app.token("office");
        let (_, list) = app.get("/api/v1/reports?channel=visit", Some(&office));
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{at}: {list}");
        let (_, report) = app.get(
            &format!("/api/v1/reports/{}", items[0]["id"].as_str().unwrap()),
            Some(&office),
        );
        assert_eq!(
            (report["visit_id"].as_str(), report["child_id"].as_str()),
            (Some(visit.as_str()), Some(child.as_str())),
            "{at}: {report}"
        );
        assert!(
            kinds(&inbox(&app, &office)).contains(&"triage".to_string()),
            "{at}"
        );
    }
}

/// Uploads `bytes` as `name` to a report's attachments.
fn attach(app: &TestApp, token: &str, report: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
    let boundary = "weibao-attachment-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, _, answer) = app.raw(
        "POST",
        &format!("/api/v1/reports/{report}/attachments"),
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
fn a_reports_photos_and_scans_are_kept_for_those_who_see_the_reporter() {
    for app in TestApp::all() {
        let at = app.label;
        let office = app.token("office");
        let (status, filed) = app.post("/api/v1/reports", Some(&office), school_report(None));
        assert_eq!(status, 201, "{at}: {filed}");
        let id = filed["id"].as_str().unwrap().to_string();
        let photo = super::support::jpeg(7);
        let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();

        let (status, first) = attach(&app, &office, &id, "伤情照片.jpg", &photo);
        assert_eq!(status, 201, "{at}: {first}");
        assert_eq!(
            (first["name"].as_str(), first["content_type"].as_str()),
            (Some("伤情照片.jpg"), Some("image/jpeg")),
            "{at}"
        );
        // The same photo again (a retry on a bad line) is the same attachment.
        let (status, again) = attach(&app, &office, &id, "IMG_0001.jpg", &photo);
        assert_eq!((status, &again["id"]), (201, &first["id"]), "{at}: {again}");
        let (status, scan) = attach(&app, &office, &id, "C:\\扫描\\学校报告单.pdf", &pdf);
        assert_eq!(status, 201, "{at}: {scan}");
        assert_eq!(scan["name"], "学校报告单.pdf", "{at}: the path is dropped");
        // A file of another kind is refused by name, and nothing is added.
        let (status, refused) = attach(&app, &office, &id, "说明.docx", b"PK\x03\x04word");
        assert_eq!(status, 422, "{at}: {refused}");
        assert_eq!(refused["error"]["field"], "file", "{at}: {refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("PDF"),
            "{at}: {refused}"
        );

        let (_, report) = app.get(&format!("/api/v1/reports/{id}"), Some(&office));
        let names: Vec<&str> = report["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["伤情照片.jpg", "学校报告单.pdf"], "{at}: {report}");
        let scan_path = format!(
            "/api/v1/reports/{id}/attachments/{}",
            scan["id"].as_str().unwrap()
        );
        let (status, content_type, bytes) = app.raw(
            "GET",
            &scan_path,
            &[("authorization", &format!("Bearer {office}"))],
            None,
        );
        assert_eq!(
            (status, content_type.as_str(), bytes),
            (200, "application/pdf", pdf.clone()),
            "{at}"
        );
        let timeline = report["timeline"].to_string();
        assert!(timeline.contains("添加附件"), "{at}: {timeline}");

        // The township's supervisor reads the report without its reporter: no attachments,
        // and asking for one by its id is a 404, as for anything unseen.
        let sup = app.token("sup-a");
        let (status, masked) = app.get(&format!("/api/v1/reports/{id}"), Some(&sup));
        assert_eq!(status, 200, "{at}: {masked}");
        assert_eq!(masked["attachments"], json!([]), "{at}");
        let (status, _, _) = app.raw(
            "GET",
            &scan_path,
            &[("authorization", &format!("Bearer {sup}"))],
            None,
        );
        assert_eq!(status, 404, "{at}");
        let (status, _) = attach(&app, &sup, &id, "x.jpg", &super::support::jpeg(8));
        assert_eq!(status, 404, "{at}");

        // The files are in the backup's blobs and the integrity check finds them.
        assert_eq!(
            app.block_on(app.store.check_integrity()).unwrap(),
            Vec::<String>::new(),
            "{at}"
        );
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let store = app.store.clone();
        let blobs = app.block_on(async move {
            let reader = tokio::spawn(async move { store.snapshot(tx).await });
            let mut keys = Vec::new();
            while let Some(item) = rx.recv().await {
                if let weibao_store::DumpItem::Blob { key, .. } = item {
                    keys.push(key);
                }
            }
            reader.await.unwrap().unwrap();
            keys
        });
        for a in report["attachments"].as_array().unwrap() {
            assert!(
                blobs.contains(&a["id"].as_str().unwrap().to_string()),
                "{at}: {a} in the backup"
            );
        }
    }
}
