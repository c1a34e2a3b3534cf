//! Offline visits in a real headless Chromium: the worklist downloaded after sign-in, the
//! signal lost (the relay drops every connection and DevTools' network emulation is
//! offline), cards scanned and visits recorded with a photo, the page reloaded offline,
//! then the signal back and each visit on the server once, at its capture time.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::support::{jpeg, Browser, Relay, TempDir, TestApp, PASSWORD};
use super::{left_behind_child, scope, VILLAGE_A2};

fn wait_until(browser: &Browser, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = browser.eval(script);
        if v != Value::Null && v != json!(false) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never happened on {}",
            browser.url()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn browser_records_visits_offline_and_each_reaches_the_server_once_at_its_capture_time() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    let dir = app.token("dir-a1");
    let office = app.token("office");
    let first = left_behind_child(&app, &dir, "赵小山", 611);
    let second = left_behind_child(&app, &dir, "赵小水", 612);
    let third = left_behind_child(&app, &dir, "赵小林", 613);
    let dir_scope = scope(&app, "dir-a1");
    let card =
        |id: &str| app.block_on(async { app.store.card(&dir_scope, id, "").await.unwrap().token });
    let (card1, card2, card3) = (card(&first), card(&second), card(&third));
    let relay = Relay::start(&app.base);
    let base = relay.base.clone();

    // Signed in once with a signal: the worklist comes down by itself.
    browser.goto(&format!("{base}/login"));
    browser.fill("input[name=username]", "dir-a1");
    browser.fill("input[name=password]", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("#offline-bar", "已下载 3 名儿童");
    wait_until(
        &browser,
        "the service worker took the page",
        "return navigator.serviceWorker.controller !== null",
    );
    let (_, devices) = app.get("/api/v1/offline/devices", Some(&office));
    let device = &devices["items"][0];
    assert_eq!(devices["items"].as_array().unwrap().len(), 1, "{devices}");
    assert_eq!(device["username"], "dir-a1");
    assert_eq!(device["children"], 3);
    assert_eq!(device["state"], "active");
    // What the phone keeps is ciphertext: no child's name in IndexedDB's clear.
    let stored = browser.eval(
        "return (async () => { const u = WeibaoOffline.currentUser();
           const db = await WeibaoOffline.openDb(u.id);
           const w = await WeibaoOffline.get(db, 'meta', 'worklist'); db.close();
           return new TextDecoder().decode(new Uint8Array(w.data)); })()",
    );
    assert!(
        !stored.as_str().unwrap().contains("赵小山"),
        "the worklist is encrypted"
    );

    // No signal.
    relay.set_online(false);
    browser.set_offline(true);
    let photo_dir = TempDir::new();
    let photo = photo_dir.path().join("visit.jpg");
    std::fs::write(&photo, jpeg(7)).unwrap();
    let captured_from = chrono::Utc::now();
    browser.goto(&format!("{base}/k/{card1}"));
    browser.wait_for_text("#offline-visit-form h2", "赵小山");
    assert_eq!(
        browser.count("#offline-visit-form input[type=radio][value=正常]:checked"),
        7,
        "every check of a left-behind child, 正常 by default"
    );
    browser.attach("#offline-photos", &photo);
    browser.wait_for_text("#photo-count", "已选 1 张");
    browser.fill("textarea[name=needs]", "需要课外辅导");
    let width = browser.eval("return document.documentElement.scrollWidth");
    let wide = browser.eval("return Array.from(document.querySelectorAll('*')).filter(e => e.getBoundingClientRect().right > 361).slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right)).join(' | ')");
    assert!(
        width.as_i64().unwrap() <= 360,
        "{wide} the offline form is {width} px wide"
    );
    browser.screenshot("offline-visit-form-360");
    browser.click("#save-offline-visit");
    browser.wait_for_text("#offline-note", "已保存在本机");
    for (card, name) in [(&card2, "赵小水"), (&card3, "赵小林")] {
        browser.goto(&format!("{base}/k/{card}"));
        browser.wait_for_text("#offline-visit-form h2", name);
        browser.click("#save-offline-visit");
        browser.wait_for_text("#offline-note", "已保存在本机");
    }
    // A reload with no signal: all three wait, oldest first, with their age.
    browser.goto(&format!("{base}/offline"));
    browser.wait_for_text("#queue h2", "待发送的探访（3）");
    assert_eq!(browser.count("#queue .queue-item[data-state=waiting]"), 3);
    assert!(browser.text("#queue").contains("分钟前"));
    assert!(!browser.text("#persist-state").is_empty());
    browser.screenshot("offline-queue-360");
    let captured_to = chrono::Utc::now();
    // While the phone was away the third child moved to another village: the server
    // will refuse that visit, and the phone must keep it with the reason.
    let (status, transfer) = app.post(
        &format!("/api/v1/children/{third}/transfer"),
        Some(&dir),
        json!({"to_division": VILLAGE_A2, "reason": "随祖母搬迁"}),
    );
    assert_eq!(status, 201, "{transfer}");
    let (status, body) = app.post(
        &format!(
            "/api/v1/transfers/{}/decision",
            transfer["id"].as_str().unwrap()
        ),
        Some(&app.token("dir-a2")),
        json!({"accept": true}),
    );
    assert_eq!(status, 200, "{body}");
    // ...and the township raised the first child's risk: the phone shows the change and
    // sends that visit only when the director says so (nothing is overwritten silently).
    let (status, body) = app.send(
        "PATCH",
        &format!("/api/v1/children/{first}"),
        Some(&office),
        Some(json!({"risk": "高"}).to_string()),
    );
    assert_eq!(status, 200, "{body}");
    // The second visit's answer was lost on a previous try: the server already has it
    // under the phone's key (sent twice, recorded once).
    let (key, visit) = {
        let v = browser.eval(
            "return (async () => { const u = WeibaoOffline.currentUser();
               const db = await WeibaoOffline.openDb(u.id);
               const d = await WeibaoOffline.get(db, 'meta', 'device');
               const q = await WeibaoOffline.queue(db); db.close();
               const item = await WeibaoOffline.unsealJson(d.key, q[1].sealed);
               return [q[1].key, item.visit]; })()",
        );
        let mut visit = v[1].clone();
        // As the phone sends it: the photos' ids (none here) beside the fields.
        visit["photos"] = json!([]);
        (v[0].as_str().unwrap().to_string(), visit)
    };
    let (status, _, _) = app.raw(
        "POST",
        &format!("/api/v1/children/{second}/visits"),
        &[
            ("authorization", &format!("Bearer {dir}")),
            ("content-type", "application/json"),
            ("idempotency-key", &key),
        ],
        Some(visit.to_string().as_bytes()),
    );
    assert_eq!(status, 201);

    // The signal is back: the queue goes out by itself.
    relay.set_online(true);
    browser.set_offline(false);
    browser.goto(&format!("{base}/offline"));
    browser.wait_for_text(
        "#queue .queue-item[data-state=changed] .reason",
        "风险等级已由“低”改为“高”",
    );
    assert!(
        app.block_on(async { app.store.child_visits(&dir_scope, &first).await.unwrap() })
            .is_empty(),
        "held until the director confirms"
    );
    browser.click("#queue .queue-item[data-state=changed] .send-anyway");
    browser.wait_for_text("#queue h2", "待发送的探访（1）");
    assert_eq!(browser.count("#queue .queue-item[data-state=refused]"), 1);
    assert!(
        !browser.text("#queue .queue-item .reason").is_empty(),
        "the server's reason is kept"
    );
    assert!(browser.text("#queue .queue-item").contains("赵小林"));
    let visits_of =
        |id: &str| app.block_on(async { app.store.child_visits(&dir_scope, id).await.unwrap() });
    assert_eq!(visits_of(&second).len(), 1, "sent twice, recorded once");
    let visits = visits_of(&first);
    assert_eq!(visits.len(), 1, "recorded once");
    assert_eq!(visits[0].record.photos.len(), 1, "with its photo");
    let at = visits[0].record.visited_at.with_timezone(&chrono::Utc);
    assert!(
        at >= captured_from - chrono::Duration::seconds(1) && at <= captured_to,
        "visited at {at}: the capture time, between {captured_from} and {captured_to}"
    );
    assert_eq!(visits[0].record.needs, "需要课外辅导");
    let (_, sent) = app.get(&format!("/api/v1/children/{first}/visits"), Some(&dir));
    assert!(sent.to_string().contains("需要课外辅导"), "{sent}");
    browser.screenshot("offline-refused-360");

    // Expiry: a phone out of contact for longer than the setting (7 days) wipes its
    // worklist when next opened offline.
    browser.eval(
        "return (async () => { const u = WeibaoOffline.currentUser();
           const db = await WeibaoOffline.openDb(u.id);
           await WeibaoOffline.put(db, 'meta', Date.now() - 8 * 86400000, 'contact');
           db.close(); return 1; })()",
    );
    relay.set_online(false);
    browser.set_offline(true);
    browser.goto(&format!("{base}/offline"));
    browser.wait_for_text("#expired", "已从本机清除");
    assert!(browser.text("#worklist").contains("本机没有工作清单"));
    browser.goto(&format!("{base}/k/{card1}"));
    browser.wait_for_text("#scan-miss", "无法离线识别");

    // Revoked by the office: wiped on the next contact.
    relay.set_online(true);
    browser.set_offline(false);
    let device_id = device["id"].as_str().unwrap();
    let (status, _) = app.post(
        &format!("/api/v1/offline/devices/{device_id}/revoke"),
        Some(&office),
        json!({}),
    );
    assert_eq!(status, 200);
    browser.goto(&format!("{base}/offline"));
    // Everything the phone held is gone, the refused visit too (the office revoked the
    // phone: what it holds is not to be trusted).
    wait_until(
        &browser,
        "the phone wiped its store",
        "return (async () => { const u = WeibaoOffline.currentUser();
           const db = await WeibaoOffline.openDb(u.id);
           const d = await WeibaoOffline.get(db, 'meta', 'device');
           const q = await WeibaoOffline.queue(db); db.close();
           return d === undefined && q.length === 0; })()",
    );
    let (_, devices) = app.get("/api/v1/offline/devices", Some(&office));
    assert_eq!(devices["items"][0]["state"], "revoked");
}

#[test]
fn a_phone_downloads_only_its_owners_worklist_and_a_revoked_one_is_told_to_wipe() {
    for app in TestApp::all() {
        let dir = app.token("dir-a1");
        let office = app.token("office");
        let child = left_behind_child(&app, &dir, "钱小禾", 621);
        let dir_scope = scope(&app, "dir-a1");
        let token =
            app.block_on(async { app.store.card(&dir_scope, &child, "").await.unwrap().token });
        let (status, reg) = app.post(
            "/api/v1/offline/devices",
            Some(&dir),
            json!({"label": "红米 9A"}),
        );
        assert_eq!(status, 201, "{}: {reg}", app.label);
        let id = reg["device"]["id"].as_str().unwrap().to_string();
        let key = reg["key"].as_str().unwrap();
        assert!(
            key.len() == 44 && key.ends_with('=') && !key.ends_with("=="),
            "an AES-256 key is 32 bytes of base64: {key}"
        );
        assert_eq!(reg["offline_days"], 7);
        // The key is handed out once: nothing the server keeps or shows carries it.
        let (_, listed) = app.get("/api/v1/offline/devices", Some(&office));
        assert!(!listed.to_string().contains(reg["key"].as_str().unwrap()));

        let (status, list) = app.get(
            &format!("/api/v1/offline/devices/{id}/worklist"),
            Some(&dir),
        );
        assert_eq!(status, 200, "{}: {list}", app.label);
        let mine = list["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == child.as_str())
            .unwrap_or_else(|| panic!("{}: the new child is due: {list}", app.label));
        assert_eq!(mine["name"], "钱小禾");
        assert_eq!(
            mine["card_hash"].as_str().unwrap(),
            weibao_store::card_hash(&token),
            "the card is found by its token's SHA-256"
        );
        assert!(
            !list.to_string().contains(&token),
            "the token itself never travels"
        );
        assert_eq!(
            mine["checks"].as_array().unwrap().len(),
            7,
            "父母每周联系 for a left-behind child"
        );
        assert!(
            !list.to_string().contains(&super::child_id(8, 621)[..14]),
            "{}: no ID number",
            app.label
        );
        assert_eq!(list["form"]["max_photos"], 6);

        // Another director may not use this phone's id, nor the office download through it.
        for who in ["dir-a2", "office"] {
            let (status, _) = app.get(
                &format!("/api/v1/offline/devices/{id}/worklist"),
                Some(&app.token(who)),
            );
            assert_eq!(status, 404, "{}: {who}", app.label);
        }
        let (_, state) = app.get(&format!("/api/v1/offline/devices/{id}/state"), None);
        assert_eq!(state["state"], "active");
        let (_, state) = app.get("/api/v1/offline/devices/no-such-device/state", None);
        assert_eq!(
            state["state"], "wipe",
            "an unknown phone holds nothing it may keep"
        );

        // The county keeps phones' data 3 days: the next download says so.
        app.block_on(app.store.put_setting(
            &weibao_domain::access::Scope::system(),
            "offline_days",
            Some(weibao_domain::DivisionCode::parse(super::COUNTY).unwrap()),
            app.store.clock().today(),
            &json!(3),
        ))
        .unwrap();
        let (_, list) = app.get(
            &format!("/api/v1/offline/devices/{id}/worklist"),
            Some(&dir),
        );
        assert_eq!(list["offline_days"], 3, "{}", app.label);

        // Revoked by the office: no more downloads, and told to wipe without a session.
        let (status, revoked) = app.post(
            &format!("/api/v1/offline/devices/{id}/revoke"),
            Some(&office),
            json!({}),
        );
        assert_eq!(status, 200, "{}: {revoked}", app.label);
        assert_eq!(revoked["state"], "revoked");
        let (status, body) = app.get(
            &format!("/api/v1/offline/devices/{id}/worklist"),
            Some(&dir),
        );
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"]["code"], "device_revoked");
        let (_, state) = app.get(&format!("/api/v1/offline/devices/{id}/state"), None);
        assert_eq!(state["state"], "wipe");
        let (_, listed) = app.get("/api/v1/offline/devices", Some(&office));
        assert_eq!(listed["items"][0]["children"], 1, "{}: {listed}", app.label);
    }
}

/// The size target: a village of 300 children downloads in under 1 MB (what the
/// phone keeps is this JSON, encrypted: AES-GCM adds 16 bytes).
#[test]
fn a_village_of_300_children_downloads_in_under_a_megabyte() {
    let app = TestApp::sqlite();
    let dir = app.token("dir-a1");
    let given: Vec<char> = "春夏秋冬梅兰竹菊松柏山水云雨风雪江河湖海".chars().collect();
    for seq in 0..300u32 {
        let name = format!("孙{}{}", given[seq as usize / 20], given[seq as usize % 20]);
        left_behind_child(&app, &dir, &name, 700 + seq);
    }
    let (_, reg) = app.post("/api/v1/offline/devices", Some(&dir), json!({"label": ""}));
    let id = reg["device"]["id"].as_str().unwrap();
    let started = Instant::now();
    let (status, list) = app.get(
        &format!("/api/v1/offline/devices/{id}/worklist"),
        Some(&dir),
    );
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(list["children"].as_array().unwrap().len(), 300);
    let bytes = list.to_string().len();
    eprintln!("worklist of 300 children: {bytes} bytes, {took:?}");
    assert!(bytes < 1024 * 1024, "{bytes} bytes");
}

/// Signing out with a visit still on the phone: it is sent first, then the phone's data is
/// wiped and the office sees the phone as signed out.
#[test]
fn browser_signing_out_sends_what_waits_then_wipes_the_phone() {
    let Some(browser) = Browser::start(360, 780) else {
        return;
    };
    let app = TestApp::sqlite();
    let dir = app.token("dir-a1");
    let office = app.token("office");
    let child = left_behind_child(&app, &dir, "周小舟", 631);
    let dir_scope = scope(&app, "dir-a1");
    let card = app.block_on(async { app.store.card(&dir_scope, &child, "").await.unwrap().token });
    let relay = Relay::start(&app.base);
    let base = relay.base.clone();
    browser.goto(&format!("{base}/login"));
    browser.fill("input[name=username]", "dir-a1");
    browser.fill("input[name=password]", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("#offline-bar", "已下载 1 名儿童");
    wait_until(
        &browser,
        "the service worker took the page",
        "return navigator.serviceWorker.controller !== null",
    );
    relay.set_online(false);
    browser.set_offline(true);
    browser.goto(&format!("{base}/k/{card}"));
    browser.wait_for_text("#offline-visit-form h2", "周小舟");
    browser.click("#save-offline-visit");
    browser.wait_for_text("#offline-note", "已保存在本机");
    // Back in signal on an ordinary page of the server, the director signs out at once
    // (before the page's own sync could run, the visit may still wait).
    relay.set_online(true);
    browser.set_offline(false);
    browser.goto(&format!("{base}/"));
    browser.click("form[action='/logout'] button");
    browser.wait_for_text("h1", "登录");
    let visits = app.block_on(async { app.store.child_visits(&dir_scope, &child).await.unwrap() });
    assert_eq!(visits.len(), 1, "sent before signing out");
    assert_eq!(
        browser.eval("return WeibaoOffline.currentUser()"),
        Value::Null
    );
    let emptied = format!(
        "return (async () => {{ const db = await WeibaoOffline.openDb('{}');
           const d = await WeibaoOffline.get(db, 'meta', 'device');
           const w = await WeibaoOffline.get(db, 'meta', 'worklist');
           const q = await WeibaoOffline.queue(db); db.close();
           return d === undefined && w === undefined && q.length === 0; }})()",
        dir_scope.user_id
    );
    wait_until(&browser, "the phone's store is empty", &emptied);
    let (_, devices) = app.get("/api/v1/offline/devices", Some(&office));
    assert_eq!(devices["items"][0]["state"], "wiped", "{devices}");
}
