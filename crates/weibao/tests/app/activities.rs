//! Activities and purchased services over HTTP on every backend: each level records its
//! activities and sees its own; the counts by division, unit, kind and month add up; the
//! office registers agencies (统一社会信用代码 checked, a wrong check character kept only
//! with a reason), contracts and workers; services in hours count against a contract's
//! required hours, and the figures (people, children served, hours) are what was recorded.

use chrono::Duration;
use serde_json::{json, Value};
use weibao_domain::access::Role;
use weibao_domain::work::UnitKind;
use weibao_domain::DivisionCode;

use super::reports_pages::add_user;
use super::support::{jpeg, TestApp};
use super::{child_id, COUNTY, TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A1, VILLAGE_B1};

fn activity(
    app: &TestApp,
    token: &str,
    kind: &str,
    people: (i64, i64, i64),
    extra: Value,
) -> (u16, Value) {
    let mut body = json!({"title": "关爱活动", "kind": kind,
        "held_on": app.store.clock().today().to_string(), "place": "村委会",
        "participants": people.0, "children_reached": people.1, "materials": people.2});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post("/api/v1/activities", Some(token), body)
}

fn line<'a>(counts: &'a Value, key: &str) -> &'a Value {
    counts["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["key"] == key)
        .unwrap_or_else(|| panic!("no line {key}: {counts}"))
}

fn total(counts: &Value) -> &Value {
    counts["lines"].as_array().unwrap().last().unwrap()
}

#[test]
fn activities_are_counted_by_division_unit_kind_and_month_within_each_reach() {
    for app in TestApp::all() {
        let at = app.label;
        add_user(&app, "police", Role::Unit, COUNTY, Some("公安"));
        let police_unit = app
            .block_on(
                app.store
                    .county_unit(DivisionCode::parse(COUNTY).unwrap(), UnitKind::Police),
            )
            .unwrap()
            .id;
        let (office, sup_a, dir_a1, dir_b1, police) = (
            app.token("office"),
            app.token("sup-a"),
            app.token("dir-a1"),
            app.token("dir-b1"),
            app.token("police"),
        );
        let made = [
            activity(&app, &dir_a1, "lecture", (100, 80, 50), json!({})),
            activity(&app, &sup_a, "publicity", (200, 150, 300), json!({})),
            activity(&app, &dir_b1, "visit_campaign", (30, 30, 0), json!({})),
            activity(
                &app,
                &office,
                "training",
                (40, 0, 0),
                json!({"unit_id": police_unit}),
            ),
            activity(&app, &police, "publicity", (60, 30, 100), json!({})),
        ];
        for (status, body) in &made {
            assert_eq!(*status, 201, "{at}: {body}");
        }
        assert_eq!(made[0].1["division_code"], VILLAGE_A1);
        assert_eq!(made[4].1["unit_id"], police_unit.as_str(), "{at}");

        // The county by township: A has the village's and the township's, B one, the
        // county itself the office's and the police's.
        let (status, by_division) = app.get("/api/v1/activities/counts?by=division", Some(&office));
        assert_eq!(status, 200, "{at}: {by_division}");
        let a = line(&by_division, &format!("{TOWNSHIP_A}000"));
        assert_eq!(
            (a["activities"].as_i64(), a["participants"].as_i64()),
            (Some(2), Some(300))
        );
        assert_eq!(a["children_reached"], 230);
        assert_eq!(
            line(&by_division, &format!("{TOWNSHIP_B}000"))["activities"],
            1
        );
        assert_eq!(
            line(&by_division, &format!("{COUNTY}000000"))["activities"],
            2
        );
        let t = total(&by_division);
        assert_eq!(
            (
                t["activities"].as_i64(),
                t["participants"].as_i64(),
                t["children_reached"].as_i64(),
                t["materials"].as_i64()
            ),
            (Some(5), Some(430), Some(290), Some(450)),
            "{at}: {t}"
        );
        let (_, by_kind) = app.get("/api/v1/activities/counts?by=kind", Some(&office));
        let publicity = line(&by_kind, "publicity");
        assert_eq!(
            (
                publicity["activities"].as_i64(),
                publicity["materials"].as_i64()
            ),
            (Some(2), Some(400))
        );
        assert_eq!(publicity["label"], "宣传活动");
        let (_, by_unit) = app.get("/api/v1/activities/counts?by=unit", Some(&office));
        assert_eq!(
            line(&by_unit, &police_unit)["activities"],
            2,
            "{at}: {by_unit}"
        );
        let (_, by_month) = app.get("/api/v1/activities/counts?by=month", Some(&office));
        let month = app.store.clock().today().format("%Y-%m").to_string();
        assert_eq!(line(&by_month, &month)["activities"], 5);

        // Each reach its own: the township A's two, by village; the police's two.
        let (_, township) = app.get("/api/v1/activities/counts", Some(&sup_a));
        assert_eq!(total(&township)["activities"], 2, "{at}: {township}");
        assert_eq!(line(&township, VILLAGE_A1)["activities"], 1);
        let (_, theirs) = app.get("/api/v1/activities", Some(&police));
        assert_eq!(
            theirs["items"].as_array().unwrap().len(),
            2,
            "{at}: {theirs}"
        );
        let (_, village) = app.get("/api/v1/activities", Some(&dir_a1));
        assert_eq!(village["items"].as_array().unwrap().len(), 1);
        // A period before today counts nothing.
        let before = app.store.clock().today() - Duration::days(40);
        let (_, earlier) = app.get(
            &format!("/api/v1/activities/counts?to={before}"),
            Some(&office),
        );
        assert_eq!(total(&earlier)["activities"], 0);

        // Another township's activity is not found; photos are kept and read back.
        let b_id = made[2].1["id"].as_str().unwrap();
        assert_eq!(
            app.get(&format!("/api/v1/activities/{b_id}"), Some(&sup_a))
                .0,
            404
        );
        let a_id = made[0].1["id"].as_str().unwrap();
        let photo = jpeg(42);
        let (status, with_photo) = app.post_multipart(
            &format!("/api/v1/activities/{a_id}/photos"),
            &dir_a1,
            &[],
            &[("file", "讲座.jpg", &photo)],
        );
        assert_eq!(status, 201, "{at}: {with_photo}");
        let url = with_photo["photos"][0]["url"].as_str().unwrap();
        let (status, _, bytes) = app.raw(
            "GET",
            url,
            &[("authorization", &format!("Bearer {sup_a}"))],
            None,
        );
        assert_eq!((status, bytes), (200, photo), "{at}");

        // Refusals name the field and change nothing.
        let tomorrow = (app.store.clock().today() + Duration::days(1)).to_string();
        let (status, refused) = activity(
            &app,
            &dir_a1,
            "lecture",
            (1, 1, 1),
            json!({"held_on": tomorrow}),
        );
        assert_eq!(
            (status, refused["error"]["field"].as_str()),
            (422, Some("held_on"))
        );
        let (status, refused) = activity(&app, &dir_a1, "lecture", (1, -1, 1), json!({}));
        assert_eq!(
            (status, refused["error"]["field"].as_str()),
            (422, Some("children_reached"))
        );
        let (status, _) = activity(
            &app,
            &sup_a,
            "lecture",
            (1, 1, 1),
            json!({"division": VILLAGE_B1}),
        );
        assert_eq!(status, 404, "{at}: another township's village");
        let (status, _) = activity(&app, &app.token("auditor"), "lecture", (1, 1, 1), json!({}));
        assert_eq!(status, 403);
        let (_, after) = app.get("/api/v1/activities/counts", Some(&office));
        assert_eq!(total(&after)["activities"], 5, "{at}");
    }
}

#[test]
fn services_count_hours_against_contracts_and_agencies_need_a_valid_credit_code() {
    for app in TestApp::all() {
        let at = app.label;
        let (office, sup_a, sup_b) = (app.token("office"), app.token("sup-a"), app.token("sup-b"));
        let agency = |code: &str, reason: Option<&str>, name: &str| {
            app.post(
                "/api/v1/services/agencies",
                Some(&office),
                json!({"name": name, "credit_code": code, "override_reason": reason,
                       "contact": "周社工", "phone": "0839-1234567"}),
            )
        };
        let (status, refused) = agency("91350100M000100Y44", None, "阳光社会工作服务中心");
        assert_eq!(status, 422, "{at}: {refused}");
        assert_eq!(refused["error"]["code"], "credit_code_check");
        assert!(refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("校验位应为 3"));
        let (status, kept) = agency(
            "91350100M000100Y44",
            Some("登记机关核发的代码，以营业执照为准"),
            "晨曦社工服务社",
        );
        assert_eq!(status, 201, "{at}: {kept}");
        assert!(!kept["override_reason"].as_str().unwrap().is_empty());
        let (status, made) = agency("91350100M000100Y43", None, "阳光社会工作服务中心");
        assert_eq!(status, 201, "{at}: {made}");
        let agency_id = made["id"].as_str().unwrap().to_string();
        let (status, _) = agency("91350100M000100Y43", None, "另一家机构");
        assert_eq!(status, 409, "{at}: the same code twice");
        assert_eq!(
            app.get("/api/v1/services/agencies", Some(&sup_a)).1["items"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(agency("91350100M000100Y43", None, "x").0, 409, "{at}");
        assert_eq!(
            app.post(
                "/api/v1/services/agencies",
                Some(&sup_a),
                json!({"name": "某机构", "credit_code": "91350100M000100Y43"})
            )
            .0,
            403
        );

        let today = app.store.clock().today();
        let (status, contract) = app.post(
            "/api/v1/services/contracts",
            Some(&office),
            json!({"agency_id": agency_id, "project": "困境儿童关爱服务", "amount": "120,000.00",
                   "starts_on": (today - Duration::days(30)).to_string(),
                   "ends_on": (today + Duration::days(335)).to_string(),
                   "target_children": 150, "required_hours": "100"}),
        );
        assert_eq!(status, 201, "{at}: {contract}");
        assert_eq!(contract["amount_fen"], 12_000_000);
        let contract_id = contract["id"].as_str().unwrap().to_string();
        let worker = |name: &str, kind: &str| {
            let (status, w) = app.post(
                "/api/v1/services/workers",
                Some(&office),
                json!({"name": name, "kind": kind, "qualification": if kind == "social_worker" { "intermediate" } else { "" },
                       "agency_id": agency_id}),
            );
            assert_eq!(status, 201, "{at}: {w}");
            w["id"].as_str().unwrap().to_string()
        };
        let social = worker("周社工", "social_worker");
        let volunteer = worker("吴志愿", "volunteer");

        let (status, child) = app.post(
            "/api/v1/children",
            Some(&app.token("dir-a1")),
            json!({"name": "赵小花", "id_number": child_id(9, 71), "division": VILLAGE_A1,
                   "father": {"status": "外出务工", "since": "2024-02-01"},
                   "mother": {"status": "外出务工", "since": "2024-02-01"},
                   "guardians": [{"name": "赵奶奶", "relationship": "祖母", "phone": "13812345678", "actual_caregiver": true}]}),
        );
        assert_eq!(status, 201, "{at}: {child}");
        let child = child["id"].as_str().unwrap().to_string();
        let serve = |token: &str, worker: &str, hours: &str, extra: Value| {
            let mut body = json!({"worker_id": worker, "contract_id": contract_id, "child_id": child,
                                  "kind": "companionship", "served_on": today.to_string(), "hours": hours});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            app.post("/api/v1/services/records", Some(token), body)
        };
        assert_eq!(serve(&office, &social, "2", json!({})).0, 201, "{at}");
        let (status, s) = serve(&sup_a, &volunteer, "1.5", json!({}));
        assert_eq!(status, 201, "{at}: {s}");
        assert_eq!(s["minutes"], 90);
        // Another township's supervisor cannot serve this child; hours must make sense;
        // a day outside the contract is refused.
        let (status, refused) = serve(&sup_b, &volunteer, "1", json!({}));
        assert_eq!(
            (status, refused["error"]["field"].as_str()),
            (422, Some("child_id")),
            "{at}: {refused}"
        );
        let (status, refused) = serve(&office, &social, "13", json!({}));
        assert_eq!(
            (status, refused["error"]["field"].as_str()),
            (422, Some("hours"))
        );
        let (status, refused) = serve(
            &office,
            &social,
            "1",
            json!({"served_on": (today - Duration::days(31)).to_string()}),
        );
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (422, Some("outside_contract"))
        );

        // The contract's progress and the figures count exactly what was recorded.
        let (_, contracts) = app.get("/api/v1/services/contracts", Some(&office));
        let c = &contracts["items"][0];
        assert_eq!(
            (
                c["delivered_hours"].as_str(),
                c["delivered_percent"].as_i64(),
                c["children_served"].as_i64(),
                c["workers"].as_i64()
            ),
            (Some("3.5"), Some(3), Some(1), Some(2)),
            "{at}: {c}"
        );
        let (_, services) = app.get("/api/v1/services/records", Some(&office));
        let t = &services["totals"];
        assert_eq!(
            (
                t["records"].as_i64(),
                t["hours"].as_str(),
                t["social_workers"].as_i64(),
                t["volunteers"].as_i64(),
                t["children_served"].as_i64()
            ),
            (Some(2), Some("3.5"), Some(1), Some(1), Some(1)),
            "{at}: {t}"
        );
        let (_, theirs) = app.get("/api/v1/services/records", Some(&sup_b));
        assert_eq!(
            theirs["totals"]["records"], 0,
            "{at}: township B served no one"
        );
        assert_eq!(
            app.get("/api/v1/services/records", Some(&app.token("dir-a1")))
                .0,
            403
        );
    }
}
