//! Early warnings over HTTP on every backend: a change to a child is evaluated by the next
//! round of the background work, a rule that fires raises one warning (with its facts) in
//! the village director's and the township's inboxes, nothing changes the child until a
//! person decides, the decision raises the risk level through the ledger (or keeps it),
//! a warning whose facts go away ends, and the nightly sweep finds what only the calendar
//! changed (a visit running overdue).

use serde_json::{json, Value};

use super::support::TestApp;
use super::{child_id, VILLAGE_A1};

const DAY_MS: i64 = 86_400_000;

fn warnings(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/warnings{query}"), Some(token));
    assert_eq!(status, 200, "{}: {body}", app.label);
    body["items"].as_array().unwrap().clone()
}

fn inbox_has(app: &TestApp, token: &str, warning: &str) -> bool {
    let (status, inbox) = app.get("/api/v1/inbox", Some(token));
    assert_eq!(status, 200, "{inbox}");
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["kind"] == "warning" && i["subject_id"] == warning)
}

#[test]
fn a_changed_child_is_evaluated_warned_in_the_village_and_township_and_decided_by_a_person() {
    for app in TestApp::all() {
        let at = app.label;
        // 03:00 Beijing time: past the hour of the nightly sweep, whenever this runs.
        let now = app.store.clock().now_ms();
        let beijing_ms = (now + 8 * 3_600_000).rem_euclid(DAY_MS);
        app.store
            .clock()
            .advance_ms((3 * 3_600_000 - beijing_ms).rem_euclid(DAY_MS));
        let state = weibao_web::AppState::new(app.store.clone());
        let round = || app.block_on(weibao_web::workers::run_once(&state)).unwrap();
        round();
        let dir = app.token("dir-a1");
        let sup = app.token("sup-a");
        let other_dir = app.token("dir-b1");
        let office = app.token("office");
        // A child looked after by a grandmother of 75 with only partial capacity.
        let (status, child) = app.post(
            "/api/v1/children",
            Some(&dir),
            json!({"name": "王小丫", "id_number": child_id(8, 611), "division": VILLAGE_A1,
                   "school_status": "小学",
                   "guardians": [{"name": "王某", "relationship": "祖母",
                                  "id_number": child_id(75, 612), "capacity": "部分",
                                  "actual_caregiver": true}]}),
        );
        assert_eq!(status, 201, "{at}: {child}");
        let child_id_ = child["id"].as_str().unwrap().to_string();
        assert!(
            warnings(&app, &dir, "").is_empty(),
            "{at}: nothing before the round"
        );
        let r = round();
        assert!(r.warnings_evaluated >= 1, "{at}: {r:?}");
        let found = warnings(&app, &dir, "");
        assert_eq!(found.len(), 1, "{at}: {found:?}");
        let w = &found[0];
        assert_eq!(w["rule"], "guardian_frail", "{at}");
        assert_eq!(w["child_id"], child_id_.as_str());
        let facts = w["facts"].as_str().unwrap();
        assert!(
            facts.contains("王某（祖母）75 岁，超过 70 岁") && facts.contains("监护能力“部分”"),
            "{at}: {facts}"
        );
        let id = w["id"].as_str().unwrap().to_string();
        // The village's director and the township's supervisor have it to do; another
        // village's director does not see it at all.
        assert!(inbox_has(&app, &dir, &id), "{at}: director's inbox");
        assert!(inbox_has(&app, &sup, &id), "{at}: township's inbox");
        let (status, _) = app.get(&format!("/api/v1/warnings/{id}"), Some(&other_dir));
        assert_eq!(status, 404, "{at}");
        assert!(warnings(&app, &other_dir, "").is_empty(), "{at}");
        // Evaluated again with nothing changed: still one warning.
        app.block_on(app.store.evaluate_warnings(&child_id_))
            .unwrap();
        assert_eq!(warnings(&app, &office, "").len(), 1, "{at}");
        // The warning changed nothing on the child.
        let (_, read) = app.get(&format!("/api/v1/children/{child_id_}"), Some(&dir));
        assert_eq!(read["risk"], "低", "{at}");

        // Bad decisions are refused by name and change nothing.
        for (body, field) in [
            (json!({"decision": "raise", "reason": "已核实"}), "risk"),
            (
                json!({"decision": "raise", "risk": "high", "reason": " "}),
                "reason",
            ),
            (
                json!({"decision": "ignore", "reason": "已核实"}),
                "decision",
            ),
        ] {
            let (status, e) =
                app.post(&format!("/api/v1/warnings/{id}/decision"), Some(&dir), body);
            assert_eq!(status, 422, "{at}: {e}");
            assert_eq!(e["error"]["field"], field, "{at}: {e}");
        }
        assert!(inbox_has(&app, &dir, &id), "{at}: still to decide");
        // The director raises the risk: through the ledger, versioned there.
        let (status, decided) = app.post(
            &format!("/api/v1/warnings/{id}/decision"),
            Some(&dir),
            json!({"decision": "raise", "risk": "high", "reason": "已入户核实，祖母行动不便"}),
        );
        assert_eq!(status, 200, "{at}: {decided}");
        assert_eq!(
            (
                decided["decided"].as_bool(),
                decided["risk_to"].as_str(),
                decided["decided_by"].as_str()
            ),
            (Some(true), Some("高"), Some("dir-a1")),
            "{at}"
        );
        let (_, read) = app.get(&format!("/api/v1/children/{child_id_}"), Some(&dir));
        assert_eq!(read["risk"], "高", "{at}");
        assert!(!inbox_has(&app, &dir, &id), "{at}: done for the director");
        assert!(!inbox_has(&app, &sup, &id), "{at}: done for the township");
        let (status, again) = app.post(
            &format!("/api/v1/warnings/{id}/decision"),
            Some(&sup),
            json!({"decision": "keep", "reason": "已核实"}),
        );
        assert_eq!(status, 409, "{at}: {again}");
        // Decided, it leaves the list of what waits; with the decided ones it is there.
        assert!(warnings(&app, &dir, "?undecided=true").is_empty(), "{at}");
        assert_eq!(warnings(&app, &dir, "").len(), 1, "{at}");

        // The aunt takes over: the rule stops firing and the warning ends.
        let (status, changed) = app.send(
            "PATCH",
            &format!("/api/v1/children/{child_id_}"),
            Some(&dir),
            Some(
                json!({"guardians": [{"name": "王某某", "relationship": "姑姑",
                                       "id_number": child_id(40, 613), "capacity": "有",
                                       "actual_caregiver": true}]})
                .to_string(),
            ),
        );
        assert_eq!(status, 200, "{at}: {changed}");
        round();
        assert!(warnings(&app, &office, "").is_empty(), "{at}");
        let (status, ended) = app.get(&format!("/api/v1/warnings/{id}"), Some(&dir));
        assert_eq!(
            (status, ended["ended"].as_bool()),
            (200, Some(true)),
            "{at}"
        );

        // Forty days on with no visit: only the calendar changed, and the nightly sweep
        // finds the visit overdue.
        app.store.clock().advance_ms(40 * DAY_MS);
        // Sessions idled out over those days.
        let dir = app.token("dir-a1");
        round();
        assert!(
            warnings(&app, &dir, "").is_empty(),
            "{at}: no change, no round"
        );
        assert!(
            app.block_on(weibao_web::workers::warning_sweep_due(&state))
                .unwrap(),
            "{at}: the sweep is due"
        );
        let mut seen = Vec::new();
        let changes = app
            .block_on(
                app.store
                    .evaluate_all_warnings(|done, of| seen.push((done, of))),
            )
            .unwrap();
        assert!(changes.raised >= 1, "{at}: {changes:?}");
        assert_eq!(
            seen.last().map(|(d, of)| d == of),
            Some(true),
            "{at}: {seen:?}"
        );
        assert!(
            !app.block_on(weibao_web::workers::warning_sweep_due(&state))
                .unwrap(),
            "{at}: done for tonight"
        );
        let overdue = warnings(&app, &dir, "?rule=visit_overdue");
        assert!(
            overdue.iter().any(|w| w["child_id"] == child_id_.as_str()
                && w["facts"].as_str().unwrap().contains("已逾期")),
            "{at}: {overdue:?}"
        );
        let (status, e) = app.get("/api/v1/warnings?rule=bogus", Some(&dir));
        assert_eq!(
            (status, e["error"]["field"].as_str()),
            (422, Some("rule")),
            "{at}"
        );
    }
}
