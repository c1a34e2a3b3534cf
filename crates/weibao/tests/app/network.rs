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
