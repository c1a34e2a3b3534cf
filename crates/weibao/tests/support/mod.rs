//! Test support: the app on a free loopback port over a fresh database, an HTTP client,
//! the CLI binary, and a small WebDriver client for headless Chromium.

#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use weibao_domain::access::{Role, Scope};
use weibao_domain::DivisionCode;
use weibao_store::testing::TestDb;
use weibao_store::{NewUser, Store};

pub const PASSWORD: &str = "Weibao@2026";

fn require_all() -> bool {
    std::env::var("WEIBAO_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// The running application on one backend.
pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub label: &'static str,
    _db: Option<TestDb>,
    rt: tokio::runtime::Runtime,
    agent: ureq::Agent,
}

/// The fixture: 朝天区's real divisions and one account per role and place used by tests.
const FIXTURE_USERS: &[(&str, Role, &str)] = &[
    ("office", Role::Office, "510812"),
    ("auditor", Role::Auditor, "510812"),
    ("sup-a", Role::Supervisor, "510812100"),
    ("sup-b", Role::Supervisor, "510812101"),
    ("dir-a1", Role::Director, "510812100200"),
    ("dir-a2", Role::Director, "510812100202"),
    ("dir-b1", Role::Director, "510812101200"),
];

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("test runtime")
}

impl TestApp {
    /// The seeded app on SQLite, and on PostgreSQL and Citus when their test servers are
    /// configured.
    pub fn all() -> Vec<TestApp> {
        let mut apps = vec![TestApp::sqlite()];
        apps.extend(TestApp::seeded(TestDb::postgres));
        apps.extend(TestApp::citus());
        apps
    }

    /// The seeded app on the database `make` creates (None when it has no server).
    fn seeded<F: Future<Output = Option<TestDb>>>(make: fn() -> F) -> Option<TestApp> {
        let rt = runtime();
        let db = rt.block_on(make())?;
        Some(TestApp::start(
            rt,
            db.store.clone(),
            db.label,
            Some(db),
            true,
        ))
    }

    /// The seeded app on a fresh distributed database of the test Citus cluster.
    pub fn citus() -> Option<TestApp> {
        TestApp::seeded(TestDb::citus)
    }

    /// The test database underneath (PostgreSQL/Citus helpers).
    pub fn db(&self) -> &TestDb {
        self._db.as_ref().expect("a test database")
    }

    pub fn sqlite() -> TestApp {
        let rt = runtime();
        let db = rt.block_on(TestDb::sqlite());
        TestApp::start(rt, db.store.clone(), db.label, Some(db), true)
    }

    /// A migrated SQLite database with nothing in it.
    pub fn empty_sqlite() -> TestApp {
        let rt = runtime();
        let db = rt.block_on(TestDb::sqlite());
        TestApp::start(rt, db.store.clone(), db.label, Some(db), false)
    }

    /// The app over the SQLite database in `dir` (e.g. one the CLI wrote).
    pub fn on_sqlite_dir(dir: &Path) -> TestApp {
        let rt = runtime();
        let store = rt.block_on(async {
            let s = weibao_store::testing::open(None, dir).await.unwrap();
            s.migrate().await.unwrap();
            s
        });
        TestApp::start(rt, store, "sqlite", None, false)
    }

    fn start(
        rt: tokio::runtime::Runtime,
        store: Store,
        label: &'static str,
        db: Option<TestDb>,
        seed: bool,
    ) -> TestApp {
        if seed {
            rt.block_on(seed_fixture(&store));
        }
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = weibao_web::app(weibao_web::AppState::new(store.clone()));
        rt.spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        TestApp {
            base: format!("http://{addr}"),
            store,
            label,
            _db: db,
            rt,
            agent: ureq::AgentBuilder::new()
                .redirects(0)
                .timeout(Duration::from_secs(30))
                .build(),
        }
    }

    /// The database URL, for running the CLI against the same database.
    pub fn db_url(&self) -> String {
        self._db.as_ref().expect("a test database").url.clone()
    }

    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    fn call(&self, req: ureq::Request, body: Option<String>) -> ureq::Response {
        let result = match body {
            Some(b) => req.send_string(&b),
            None => req.call(),
        };
        match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("request failed: {e}"),
        }
    }

    fn json_of(res: ureq::Response) -> (u16, Value) {
        let status = res.status();
        let text = res.into_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A JSON request with an optional bearer token.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (u16, Value) {
        let mut req = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set("content-type", "application/json");
        if let Some(t) = token {
            req = req.set("authorization", &format!("Bearer {t}"));
        }
        Self::json_of(self.call(req, body))
    }

    pub fn send_with_cookie(
        &self,
        method: &str,
        path: &str,
        cookie: &str,
        body: Option<String>,
    ) -> (u16, Value) {
        let req = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set("content-type", "application/json")
            .set("cookie", cookie);
        Self::json_of(self.call(req, body))
    }

    /// Any request with extra headers; answers the status, content type and raw body.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> (u16, String, Vec<u8>) {
        let res = self.request(&self.agent, method, path, headers, body);
        let status = res.status();
        let ct = res.content_type().to_string();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut res.into_reader(), &mut bytes).unwrap();
        (status, ct, bytes)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send("GET", path, token, None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.send("POST", path, token, Some(body.to_string()))
    }

    /// Sends a request through `agent`; any HTTP status is an answer, a transport error
    /// fails the test.
    fn request(
        &self,
        agent: &ureq::Agent,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> ureq::Response {
        let mut req = agent.request(method, &format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let res = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("request failed: {e}"),
        }
    }

    /// [`raw`](Self::raw) on a fresh connection: status, Location header, body text.
    pub fn raw_with_location(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> (u16, String, String) {
        // A connection of its own: a refusal sent before the body was read closes the
        // connection, which a pooled agent might otherwise reuse.
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .max_idle_connections(0)
            .timeout(Duration::from_secs(30))
            .build();
        let res = self.request(&agent, method, path, headers, body);
        let status = res.status();
        let location = res.header("location").unwrap_or("").to_string();
        (status, location, res.into_string().unwrap_or_default())
    }

    /// Signs in through the API and returns the bearer token.
    pub fn token(&self, username: &str) -> String {
        let (status, body) = self.post(
            "/api/v1/auth/login",
            None,
            json!({"username": username, "password": PASSWORD}),
        );
        assert_eq!(status, 200, "login {username}: {body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Signs in through the login form; returns the raw Set-Cookie header.
    pub fn login_cookie_header(&self, username: &str) -> String {
        let res = self.call(
            self.agent
                .post(&format!("{}/login", self.base))
                .set("content-type", "application/x-www-form-urlencoded"),
            Some(format!(
                "username={username}&password={}",
                url_encode(PASSWORD)
            )),
        );
        assert_eq!(res.status(), 303, "page login {username}");
        res.header("set-cookie").unwrap().to_string()
    }

    /// Signs in through the login form; returns the `Cookie` header value to send.
    pub fn cookie(&self, username: &str) -> String {
        let set = self.login_cookie_header(username);
        set.split(';').next().unwrap().to_string()
    }

    /// A page's status and HTML (or any text).
    pub fn text(&self, path: &str, cookie: Option<&str>) -> (u16, String) {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.set("cookie", c);
        }
        let res = self.call(req, None);
        (res.status(), res.into_string().unwrap_or_default())
    }

    pub fn headers(&self, path: &str, cookie: Option<&str>) -> HashMap<String, String> {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.set("cookie", c);
        }
        let res = self.call(req, None);
        res.headers_names()
            .into_iter()
            .map(|n| (n.clone(), res.header(&n).unwrap_or("").to_string()))
            .collect()
    }

    pub fn page_redirect(&self, path: &str, cookie: Option<&str>) -> (u16, String) {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.set("cookie", c);
        }
        let res = self.call(req, None);
        (
            res.status(),
            res.header("location").unwrap_or("").to_string(),
        )
    }

    /// Posts a urlencoded form, optionally with an Origin header.
    pub fn form(
        &self,
        path: &str,
        cookie: Option<&str>,
        body: &str,
        origin: Option<&str>,
    ) -> (u16, HashMap<String, String>) {
        let mut req = self
            .agent
            .post(&format!("{}{path}", self.base))
            .set("content-type", "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.set("cookie", c);
        }
        if let Some(o) = origin {
            req = req.set("origin", o);
        }
        let res = self.call(req, Some(body.to_string()));
        let headers = res
            .headers_names()
            .into_iter()
            .map(|n| (n.clone(), res.header(&n).unwrap_or("").to_string()))
            .collect();
        (res.status(), headers)
    }

    /// The CSRF token the pages hand to this session.
    pub fn csrf_of(&self, cookie: &str) -> String {
        let (_, html) = self.text("/", Some(cookie));
        let marker = "name=\"_csrf\" value=\"";
        let start = html.find(marker).expect("page has a CSRF field") + marker.len();
        html[start..start + 64].to_string()
    }
}

async fn seed_fixture(store: &Store) {
    let mut rows = Vec::new();
    weibao::divisions_csv::read(
        include_str!("../../demo/divisions-510812.csv").as_bytes(),
        "demo",
        None,
        &mut rows,
    )
    .unwrap();
    let system = Scope::system();
    store
        .import_divisions(&system, &rows, |_| {})
        .await
        .unwrap();
    for (username, role, at) in FIXTURE_USERS {
        store
            .create_user(
                &system,
                NewUser {
                    username: (*username).into(),
                    display_name: format!("测试{username}"),
                    role: *role,
                    division: DivisionCode::parse(at).unwrap(),
                    unit: role.needs_unit().then(|| "公安".into()),
                    phone: None,
                    password: PASSWORD.into(),
                    must_change_password: false,
                    designated: false,
                },
            )
            .await
            .unwrap();
    }
}

pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Runs the `weibao` binary with `args`, optional standard input and extra environment.
pub fn weibao(args: &[&str], stdin: Option<&str>, env: Option<(&str, &str)>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weibao"));
    cmd.args(args)
        .env_remove("WEIBAO_DATABASE_URL")
        .env_remove("WEIBAO_DATA_DIR")
        .env("WEIBAO_KEY_FILE", weibao_store::testing::test_key_file())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run weibao");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

/// `weibao serve` as its own process; killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub stdout: String,
}

impl Server {
    /// Starts the binary and waits for its "未保已启动：http://ADDR" line.
    // The child is killed and waited for when the Server drops.
    #[allow(clippy::zombie_processes)]
    pub fn start(args: &[&str]) -> Server {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_weibao"))
            .args(args)
            .env_remove("WEIBAO_DATABASE_URL")
            .env_remove("WEIBAO_DATA_DIR")
            .env("WEIBAO_KEY_FILE", weibao_store::testing::test_key_file())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start weibao serve");
        let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut stdout = String::new();
        loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).unwrap_or(0);
            if n == 0 {
                let _ = child.kill();
                let _ = child.wait();
                panic!("weibao serve ended before it listened: {stdout}");
            }
            stdout.push_str(&line);
            if let Some(rest) = line.trim().strip_prefix("未保已启动：") {
                let base = rest.split_whitespace().next().unwrap().to_string();
                return Server {
                    child,
                    base,
                    stdout,
                };
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sqlite_exec(path: &Path, sql: &str) {
    runtime()
        .block_on(weibao_store::testing::sqlite_exec(path, sql))
        .unwrap();
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!("weibao-cli-{}", uuid_like()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

/// The real NBS files in ../shared (for tests only; the product never reads them).
pub fn shared_division_files() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/divisions");
    let files: Vec<PathBuf> = ["provinces", "cities", "areas", "streets", "villages"]
        .iter()
        .map(|n| dir.join(format!("{n}.csv.gz")))
        .collect();
    if files.iter().all(|f| f.exists()) {
        Some(files)
    } else {
        assert!(
            !require_all(),
            "shared/data/divisions not found next to the repository"
        );
        eprintln!("note: ../shared/data/divisions not found; test skipped");
        None
    }
}

// ---- WebDriver ------------------------------------------------------------------------

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium driven through chromedriver's WebDriver protocol.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: TempDir,
}

impl Browser {
    /// None (test skipped) when Chromium is not installed, unless all suites are required.
    pub fn start(width: u32, height: u32) -> Option<Browser> {
        let driver_path = std::env::var("WEIBAO_TEST_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium =
            std::env::var("WEIBAO_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        if !Path::new(&driver_path).exists() || !Path::new(&chromium).exists() {
            assert!(
                !require_all(),
                "chromium / chromedriver missing: run scripts/test"
            );
            eprintln!("note: chromium not installed; browser test skipped");
            return None;
        }
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = TempDir::new();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--lang=zh-CN",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}"),
                ],
                "mobileEmulation": if width <= 480 {
                    json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}})
                } else { Value::Null },
            }
        }}});
        let mut caps = caps;
        if width > 480 {
            caps["capabilities"]["alwaysMatch"]["goog:chromeOptions"]
                .as_object_mut()
                .unwrap()
                .remove("mobileEmulation");
        }
        let res: Value = agent
            .post(&format!("{base}/session"))
            .send_json(caps)
            .expect("new WebDriver session")
            .into_json()
            .unwrap();
        let session = res["value"]["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        Some(Browser {
            driver,
            base: format!("{base}/session/{session}"),
            session,
            agent,
            _profile: profile,
        })
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let req = self.agent.request(method, &format!("{}{path}", self.base));
        let res = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match res {
            Ok(r) => r.into_json::<Value>().unwrap()["value"].clone(),
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "WebDriver {method} {path}: {code} {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        }
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self
                .agent
                .post(&format!("{}/element", self.base))
                .send_json(json!({"using": "css selector", "value": css}));
            if let Ok(r) = r {
                let v: Value = r.into_json().unwrap();
                match v["value"][ELEMENT].as_str() {
                    Some(id) => return id.to_string(),
                    None => panic!("WebDriver find {css}: {v}"),
                }
            }
            assert!(
                Instant::now() < deadline,
                "no element matches {css} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn fill(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Chooses a file in a file input, as a person picking a photo does.
    pub fn attach(&self, css: &str, path: &Path) {
        let el = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": path.display().to_string()})),
        );
    }

    pub fn click(&self, css: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    /// Sets an input's value directly (date inputs take locale-specific typing).
    pub fn set_value(&self, css: &str, value: &str) {
        self.find(css);
        let script = "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
                      e.dispatchEvent(new Event('input', {bubbles: true})); return e.value";
        let set = self.eval_args(script, json!([css, value]));
        assert_eq!(set.as_str(), Some(value), "{css} did not take {value}");
    }

    /// Chooses an option by its value (an option's text when it has no value attribute).
    pub fn select(&self, css: &str, value: &str) {
        self.find(css);
        let script = "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
                      s.dispatchEvent(new Event('change', {bubbles: true})); return s.value";
        let chosen = self.eval_args(script, json!([css, value]));
        assert_eq!(chosen.as_str(), Some(value), "{css} has no option {value}");
    }

    pub fn text(&self, css: &str) -> String {
        let el = self.find(css);
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn count(&self, css: &str) -> usize {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .map(Vec::len)
        .unwrap_or(0)
    }

    /// Waits until the first element matching `css` contains `text`.
    pub fn wait_for_text(&self, css: &str, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let script =
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null";
            let found = self.eval_args(script, json!([css]));
            if found.as_str().is_some_and(|t| t.contains(text)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed “{text}” on {} (last: {found})",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn eval(&self, script: &str) -> Value {
        self.eval_args(script, json!([]))
    }

    fn eval_args(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Prints the page to PDF as the browser's print dialog would (A4, no scaling, the
    /// page's own margins), saves it next to the screenshots, and returns the bytes.
    pub fn print_pdf(&self, name: &str) -> Vec<u8> {
        let b64 = self.cmd(
            "POST",
            "/print",
            Some(json!({
                "page": {"width": 21.0, "height": 29.7},
                "margin": {"top": 0, "bottom": 0, "left": 0, "right": 0},
                "scale": 1.0, "shrinkToFit": false, "background": true
            })),
        );
        let pdf = base64_decode(b64.as_str().unwrap());
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).unwrap();
        pdf
    }

    /// Chromium's network emulation (what DevTools' "Offline" does): the page sees no
    /// network and `navigator.onLine` turns false.
    pub fn set_offline(&self, offline: bool) {
        self.cmd(
            "POST",
            "/chromium/network_conditions",
            Some(json!({"network_conditions": {
                "offline": offline, "latency": 0,
                "download_throughput": -1, "upload_throughput": -1
            }})),
        );
    }

    /// Saves a PNG of the page under target/screenshots for people to look at.
    pub fn screenshot(&self, name: &str) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{name}.png")),
            base64_decode(b64.as_str().unwrap()),
        )
        .unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.base).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = &self.session;
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= (value(*c) as u32) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

/// A multipart/form-data body of text fields and files (field, file name, bytes): the
/// content type and the bytes.
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "weibao-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .into_bytes(),
        );
    }
    for (k, name, bytes) in files {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .into_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").into_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl TestApp {
    /// POSTs a multipart form with a bearer token; the status and the JSON answer (Null
    /// when the answer is not JSON).
    pub fn post_multipart(
        &self,
        path: &str,
        token: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> (u16, Value) {
        let (ct, body) = multipart(fields, files);
        let (status, _, answer) = self.raw(
            "POST",
            path,
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", &ct),
            ],
            Some(&body),
        );
        (
            status,
            serde_json::from_slice(&answer).unwrap_or(Value::Null),
        )
    }
}

/// The smallest bytes the store takes for a JPEG (it checks the signature, not the
/// picture); `tag` makes each one different.
pub fn jpeg(tag: u8) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.extend(std::iter::repeat_n(tag, 300));
    b.extend([0xFF, 0xD9]);
    b
}

/// A visit's checklist, every item answered (父母每周联系 included), 危险 on 安全 when
/// `danger`.
pub fn visit_checks(danger: bool) -> Vec<Value> {
    [
        "生活",
        "就学",
        "健康",
        "心理",
        "安全",
        "监护",
        "父母每周联系",
    ]
    .iter()
    .map(|i| {
        let finding = if danger && *i == "安全" {
            "危险"
        } else {
            "正常"
        };
        json!({"item": i, "finding": finding})
    })
    .collect()
}

/// A small deterministic generator for fuzz cases and kill moments (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// `WEIBAO_TEST_SEED` when set (to repeat a run), else `default`; never zero.
pub fn test_seed(default: u64) -> u64 {
    std::env::var("WEIBAO_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        | 1
}

/// A loopback relay in front of the app that can lose its signal: while cut, every
/// connection (open ones too) is dropped, as on a phone in the mountains. The browser talks
/// to the app through it, so the service worker's own requests fail too.
pub struct Relay {
    pub base: String,
    online: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    pub fn start(app_base: &str) -> Relay {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let target = app_base.trim_start_matches("http://").to_string();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let online = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
        let (on, conns) = (online.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !on.load(Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(&target) else {
                    continue;
                };
                {
                    let mut list = conns.lock().unwrap();
                    list.push(client.try_clone().unwrap());
                    list.push(server.try_clone().unwrap());
                }
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        Relay { base, online, open }
    }

    pub fn set_online(&self, online: bool) {
        self.online
            .store(online, std::sync::atomic::Ordering::SeqCst);
        if !online {
            for c in self.open.lock().unwrap().drain(..) {
                let _ = c.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}
