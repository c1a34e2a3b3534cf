//! Faults: the server killed with SIGKILL under load loses nothing it acknowledged and
//! shows nothing half-written; backups, restores and copies between backends bring every
//! record, version, audit entry and photo back.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support::{jpeg, visit_checks, Rng, Server, TempDir};
use weibao_store::testing::TestDb;
use weibao_store::DumpItem;

// ---- crash safety ------------------------------------------------------------------------

/// The kill moments' seed: a new one each run unless `WEIBAO_TEST_SEED` repeats one.
fn seed() -> u64 {
    support::test_seed(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    )
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build()
}

fn login(base: &str, username: &str) -> String {
    agent()
        .post(&format!("{base}/api/v1/auth/login"))
        .send_json(json!({"username": username, "password": weibao::demo::DEMO_PASSWORD}))
        .unwrap()
        .into_json::<Value>()
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn get(base: &str, token: &str, path: &str) -> Value {
    agent()
        .get(&format!("{base}{path}"))
        .set("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .into_json()
        .unwrap()
}

/// One write of the load: a visit (with its idempotency key) or an edit of the record.
#[derive(Clone, Debug)]
enum Write {
    Visit { child: String, key: String },
    Edit { child: String, note: String },
}

impl Write {
    fn send(&self, base: &str, token: &str) -> Result<Value, String> {
        let auth = format!("Bearer {token}");
        let result = match self {
            Write::Visit { child, key } => {
                let checks = visit_checks(false);
                agent()
                    .post(&format!("{base}/api/v1/children/{child}/visits"))
                    .set("authorization", &auth)
                    .set("idempotency-key", key)
                    .send_json(json!({"duration_minutes": 20, "checks": checks, "notes": key}))
            }
            Write::Edit { child, note } => agent()
                .request("PATCH", &format!("{base}/api/v1/children/{child}"))
                .set("authorization", &auth)
                .send_json(json!({"notes": note})),
        };
        match result {
            Ok(r) => r.into_json::<Value>().map_err(|e| e.to_string()),
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "{self:?} answered {code} (a crash must never show as an error): {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// What one writer had acknowledged, and the write in flight when the server died.
#[derive(Default)]
struct Acked {
    visits: Vec<(String, String, String)>, // child, key, visit id
    edits: Vec<(String, i64, String)>,     // child, version, note
    in_flight: Vec<Write>,
}

fn record(acked: &mut Acked, write: &Write, answer: &Value) {
    match write {
        Write::Visit { child, key } => acked.visits.push((
            child.clone(),
            key.clone(),
            answer["id"].as_str().expect("visit id").to_string(),
        )),
        Write::Edit { child, note } => acked.edits.push((
            child.clone(),
            answer["version"].as_i64().expect("version"),
            note.clone(),
        )),
    }
}

/// Runs `kills` rounds of: start the server, write from four directors at once, SIGKILL
/// it at a random moment. Then checks that every acknowledged write is there exactly once
/// and that `weibao db check` finds nothing half-written.
fn survive_kills(label: &str, db_args: &[String], kills: usize) {
    let seed = seed();
    eprintln!("{label}: crash test seed {seed} (WEIBAO_TEST_SEED={seed} repeats the kill moments)");
    let mut rng = Rng(seed);
    let serve = |demo: bool| {
        let mut args: Vec<&str> = db_args.iter().map(String::as_str).collect();
        args.extend(["serve", "--bind", "127.0.0.1:0"]);
        if demo {
            args.push("--demo");
        }
        Server::start(&args)
    };
    let server = serve(true);
    let office = login(&server.base, "office");
    // Four directors, each with the children of their village.
    let list = get(&server.base, &office, "/api/v1/children?per_page=200");
    let mut by_village: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in list["items"].as_array().unwrap() {
        by_village
            .entry(item["division"].as_str().unwrap().to_string())
            .or_default()
            .push(item["id"].as_str().unwrap().to_string());
    }
    let writers: Vec<(String, Vec<String>)> = by_village
        .into_iter()
        .filter(|(_, kids)| kids.len() >= 2)
        .take(4)
        .map(|(village, kids)| (login(&server.base, &format!("dir-{village}")), kids))
        .collect();
    assert_eq!(writers.len(), 4);
    drop(server);

    let mut acked = Acked::default();
    let mut pending: Vec<(usize, Write)> = Vec::new();
    let mut sequence = 0u64;
    for round in 0..kills {
        let server = serve(false);
        let base = server.base.clone();
        // Writes cut off by the last kill are sent again with the same key: whether or
        // not the first attempt committed, there must be exactly one visit.
        for (w, write) in pending.drain(..) {
            let answer = write
                .send(&base, &writers[w].0)
                .unwrap_or_else(|e| panic!("resend after restart: {e}"));
            record(&mut acked, &write, &answer);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = writers
            .iter()
            .enumerate()
            .map(|(w, (token, kids))| {
                let (base, token, kids, stop) =
                    (base.clone(), token.clone(), kids.clone(), stop.clone());
                let start = sequence + (w as u64) * 1_000_000;
                std::thread::spawn(move || {
                    let mut mine = Acked::default();
                    for n in start.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let child = kids[(n % kids.len() as u64) as usize].clone();
                        let write = if n % 3 == 2 {
                            Write::Edit {
                                child,
                                note: format!("edit-{round}-{w}-{n}"),
                            }
                        } else {
                            Write::Visit {
                                child,
                                key: format!("crash-{round}-{w}-{n}"),
                            }
                        };
                        match write.send(&base, &token) {
                            Ok(answer) => record(&mut mine, &write, &answer),
                            Err(_) => {
                                mine.in_flight.push(write);
                                break;
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + rng.below(400) as u64));
        drop(server); // SIGKILL, then reaped
        stop.store(true, Ordering::Relaxed);
        for (w, t) in threads.into_iter().enumerate() {
            let mine = t.join().expect("writer thread");
            acked.visits.extend(mine.visits);
            acked.edits.extend(mine.edits);
            pending.extend(
                mine.in_flight
                    .into_iter()
                    .filter(|x| matches!(x, Write::Visit { .. }))
                    .map(|x| (w, x)),
            );
        }
        sequence += 10_000;
    }

    let server = serve(false);
    for (w, write) in pending.drain(..) {
        let answer = write.send(&server.base, &writers[w].0).unwrap();
        record(&mut acked, &write, &answer);
    }
    // Every acknowledged visit exactly once, under its own id.
    let mut children: Vec<&String> = acked.visits.iter().map(|(c, _, _)| c).collect();
    children.extend(acked.edits.iter().map(|(c, _, _)| c));
    children.sort();
    children.dedup();
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    let mut history: HashMap<String, Vec<Value>> = HashMap::new();
    for child in &children {
        let visits = get(
            &server.base,
            &office,
            &format!("/api/v1/children/{child}/visits"),
        );
        for v in visits["items"].as_array().unwrap() {
            seen.entry(v["notes"].as_str().unwrap().to_string())
                .or_default()
                .push(v["id"].as_str().unwrap().to_string());
        }
        let h = get(
            &server.base,
            &office,
            &format!("/api/v1/children/{child}/history"),
        );
        history.insert(child.to_string(), h.as_array().unwrap().clone());
    }
    for (_, key, id) in &acked.visits {
        assert_eq!(
            seen.get(key),
            Some(&vec![id.clone()]),
            "acknowledged visit {key} must be there exactly once"
        );
    }
    let twice: Vec<_> = seen
        .iter()
        .filter(|(key, ids)| key.starts_with("crash-") && ids.len() > 1)
        .collect();
    assert!(twice.is_empty(), "no visit is there twice: {twice:?}");
    for (child, version, note) in &acked.edits {
        let entry = history[child]
            .iter()
            .find(|v| v["version"].as_i64() == Some(*version))
            .unwrap_or_else(|| panic!("acknowledged version {version} of {child} is missing"));
        assert!(
            entry["changes"].to_string().contains(note.as_str()),
            "version {version} of {child} holds the acknowledged edit {note}: {entry}"
        );
    }
    drop(server);
    let mut args: Vec<&str> = db_args.iter().map(String::as_str).collect();
    args.extend(["db", "check"]);
    let out = support::weibao(&args, None, None);
    assert!(
        out.status.success(),
        "db check after {kills} kills: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{label}: survived {kills} SIGKILLs; {} acknowledged visits and {} acknowledged edits all present exactly once",
        acked.visits.len(),
        acked.edits.len()
    );
    assert!(acked.visits.len() >= kills, "the load really ran");
}

#[test]
fn sqlite_survives_50_kills_under_load_and_loses_nothing_acknowledged() {
    let dir = TempDir::new();
    let args = vec!["--data-dir".to_string(), dir.path().display().to_string()];
    survive_kills("sqlite", &args, 50);
}

#[test]
fn postgres_survives_20_kills_under_load_and_loses_nothing_acknowledged() {
    let rt = support::runtime();
    let Some(db) = rt.block_on(TestDb::postgres()) else {
        return;
    };
    let args = vec![
        "--database".to_string(),
        db.url.clone(),
        "--data-dir".to_string(),
        db.dir().unwrap().display().to_string(),
    ];
    survive_kills("postgres", &args, 20);
}

// ---- backup, restore, copy ---------------------------------------------------------------

/// Every table's rows as sorted JSON texts, booleans as 0/1 (SQLite's and PostgreSQL's
/// spellings of the same value), photos as hex under "photo files".
type Content = BTreeMap<String, Vec<String>>;

fn normalise(v: Value) -> Value {
    match v {
        Value::Bool(b) => json!(i64::from(b)),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, normalise(v))).collect()),
        other => other,
    }
}

fn add(content: &mut Content, table: &str, item: DumpItem) {
    match item {
        DumpItem::Rows(batch) => {
            let rows: Vec<Value> = serde_json::from_str(batch.get()).unwrap();
            let entry = content.entry(table.to_string()).or_default();
            entry.extend(rows.into_iter().map(|r| normalise(r).to_string()));
        }
        DumpItem::Blob { key, hex } => content
            .entry("photo files".into())
            .or_default()
            .push(format!("{key}:{hex}")),
        _ => {}
    }
}

fn sorted(mut content: Content) -> Content {
    content.values_mut().for_each(|v| v.sort());
    content.retain(|_, v| !v.is_empty());
    content
}

fn content_of(url: &str, dir: &std::path::Path) -> Content {
    let rt = support::runtime();
    rt.block_on(async {
        let store = weibao_store::testing::open(Some(url), dir).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let reader = tokio::spawn(async move { store.snapshot(tx).await });
        let mut content = Content::new();
        let mut table = String::new();
        while let Some(item) = rx.recv().await {
            if let DumpItem::Table { name, .. } = &item {
                table = name.clone();
            }
            add(&mut content, &table, item);
        }
        reader.await.unwrap().unwrap();
        sorted(content)
    })
}

fn content_of_file(path: &std::path::Path) -> Content {
    let f = std::fs::File::open(path).unwrap();
    let mut input = std::io::BufReader::new(flate2::read::GzDecoder::new(f));
    let mut content = Content::new();
    let mut table = String::new();
    while let Some(item) = DumpItem::read(&mut input).unwrap() {
        if let DumpItem::Table { name, .. } = &item {
            table = name.clone();
        }
        add(&mut content, &table, item);
    }
    sorted(content)
}

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("weibao.db").display())
}

fn cli(args: &[&str]) -> (bool, String) {
    let out = support::weibao(args, None, None);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn upload_photo(base: &str, token: &str, child: &str, bytes: &[u8]) -> String {
    let boundary = "weibao-backup-test";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    agent()
        .post(&format!("{base}/api/v1/children/{child}/photos"))
        .set("authorization", &format!("Bearer {token}"))
        .set(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send_bytes(&body)
        .unwrap()
        .into_json::<Value>()
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_backup_taken_while_serving_restores_everything_on_sqlite_and_postgres_and_db_copy_moves_it() {
    let source = TempDir::new();
    let data = source.path().display().to_string();
    let server = Server::start(&[
        "--data-dir",
        &data,
        "serve",
        "--demo",
        "--bind",
        "127.0.0.1:0",
    ]);
    let base = server.base.clone();
    let office = login(&base, "office");
    let list = get(
        &base,
        &office,
        "/api/v1/children?per_page=5&division=510812100200",
    );
    let child = list["items"][0]["id"].as_str().unwrap().to_string();
    let director = login(&base, "dir-510812100200");
    // Photos and a visit that carries them; a correction makes a second version.
    let photos: Vec<String> = (1..=3)
        .map(|t| upload_photo(&base, &director, &child, &jpeg(t)))
        .collect();
    let checks = visit_checks(false);
    let visit = agent()
        .post(&format!("{base}/api/v1/children/{child}/visits"))
        .set("authorization", &format!("Bearer {director}"))
        .send_json(json!({"duration_minutes": 20, "checks": checks, "photos": photos, "notes": "带照片的探访"}))
        .unwrap()
        .into_json::<Value>()
        .unwrap();
    let visit_id = visit["id"].as_str().unwrap().to_string();
    agent()
        .request(
            "PATCH",
            &format!("{base}/api/v1/children/{child}/visits/{visit_id}"),
        )
        .set("authorization", &format!("Bearer {director}"))
        .send_json(json!({"notes": "更正：带照片的探访"}))
        .unwrap();

    // Visits keep arriving while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (base, director, child, stop) =
            (base.clone(), director.clone(), child.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let write = Write::Visit {
                    child: child.clone(),
                    key: format!("during-backup-{n}"),
                };
                acked.push(
                    write.send(&base, &director).unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                );
            }
            acked
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let backup = source.path().join("during.backup");
    let (ok, said) = cli(&[
        "--data-dir",
        &data,
        "backup",
        "--out",
        backup.to_str().unwrap(),
    ]);
    assert!(ok, "{said}");
    assert!(said.contains("3 张照片"), "{said}");
    stop.store(true, Ordering::Relaxed);
    let during = load.join().unwrap();
    assert!(!during.is_empty());
    drop(server);

    let in_backup = content_of_file(&backup);
    // The backup holds what was there before it began, photos byte for byte.
    assert!(in_backup["visits"].iter().any(|v| v.contains(&visit_id)));
    assert_eq!(
        in_backup["visit_versions"]
            .iter()
            .filter(|v| v.contains(&visit_id))
            .count(),
        2
    );
    for (t, id) in photos.iter().enumerate() {
        let hex: String = jpeg(t as u8 + 1)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(in_backup["photo files"].contains(&format!("{id}:{hex}")));
    }
    assert!(
        !in_backup.contains_key("sessions"),
        "sign-ins are not backed up"
    );
    // Rows that never change once written (audit entries, versions) are all still in the
    // source afterwards: the backup invented nothing and mixed no half-written change in.
    let after = content_of(&sqlite_url(source.path()), source.path());
    for table in [
        "audit_log",
        "child_versions",
        "visit_versions",
        "divisions",
        "users",
    ] {
        assert!(
            in_backup[table].iter().all(|r| after[table].contains(r)),
            "{table}: every backed-up row is in the source"
        );
    }

    // Restore on a fresh SQLite data directory: exactly what the backup holds.
    let restored = TempDir::new();
    let rdata = restored.path().display().to_string();
    let (ok, said) = cli(&["--data-dir", &rdata, "restore", backup.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert_eq!(
        content_of(&sqlite_url(restored.path()), restored.path()),
        in_backup
    );
    let (ok, said) = cli(&["--data-dir", &rdata, "db", "check"]);
    assert!(ok, "{said}");
    // ... and the restored installation serves the photo to the director.
    let again = Server::start(&["--data-dir", &rdata, "serve", "--bind", "127.0.0.1:0"]);
    let token = login(&again.base, "dir-510812100200");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut agent()
            .get(&format!(
                "{}/api/v1/children/{child}/photos/{}",
                again.base, photos[1]
            ))
            .set("authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .into_reader(),
        &mut bytes,
    )
    .unwrap();
    assert_eq!(bytes, jpeg(2));
    drop(again);
    // A second restore into the same place is refused and changes nothing.
    let (ok, said) = cli(&["--data-dir", &rdata, "restore", backup.to_str().unwrap()]);
    assert!(!ok && said.contains("已有数据"), "{said}");

    // With another key file the restore is refused before any photo is written.
    let elsewhere = TempDir::new();
    let other_keys = elsewhere.path().join("other.keys");
    weibao_store::FieldKeys::generate(&other_keys)
        .write()
        .unwrap();
    let edir = elsewhere.path().join("data");
    let (ok, said) = cli(&[
        "--data-dir",
        edir.to_str().unwrap(),
        "--key-file",
        other_keys.to_str().unwrap(),
        "restore",
        backup.to_str().unwrap(),
    ]);
    assert!(!ok && said.contains("另一套密钥"), "{said}");
    assert!(!edir.join("photos").exists(), "no photo was written");

    // A truncated backup is refused whole.
    let cut = source.path().join("cut.backup");
    let full = std::fs::read(&backup).unwrap();
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let empty = TempDir::new();
    let edata = empty.path().display().to_string();
    let (ok, said) = cli(&["--data-dir", &edata, "restore", cut.to_str().unwrap()]);
    assert!(!ok && said.contains("未写入任何数据"), "{said}");
    assert!(
        content_of(&sqlite_url(empty.path()), empty.path()).is_empty(),
        "nothing was written"
    );

    let rt = support::runtime();
    if let Some(pg) = rt.block_on(TestDb::postgres()) {
        // The same backup restores on PostgreSQL.
        let pdir = pg.dir().unwrap().display().to_string();
        let (ok, said) = cli(&[
            "--database",
            &pg.url,
            "--data-dir",
            &pdir,
            "restore",
            backup.to_str().unwrap(),
        ]);
        assert!(ok, "{said}");
        assert_eq!(content_of(&pg.url, pg.dir().unwrap()), in_backup);
        let (ok, said) = cli(&["--database", &pg.url, "--data-dir", &pdir, "db", "check"]);
        assert!(ok, "{said}");
        // The whole SQLite installation moves to a second PostgreSQL database.
        let moved = rt.block_on(TestDb::postgres()).unwrap();
        let (ok, said) = cli(&["--data-dir", &data, "db", "copy", "--to", &moved.url]);
        assert!(ok, "{said}");
        assert_eq!(content_of(&moved.url, source.path()), after);
        let (ok, said) = cli(&["--database", &moved.url, "--data-dir", &data, "db", "check"]);
        assert!(ok, "{said}");
        for id in &during {
            assert!(after["visits"].iter().any(|v| v.contains(id.as_str())));
        }
    }
}
