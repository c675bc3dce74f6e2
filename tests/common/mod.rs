//! Test harness: each `TestApp` gets its own PostgreSQL database (migrated), a real SMTP
//! server on loopback (aiosmtpd, writing a maildir), and the real HTTP server with its
//! worker, on a free port. `Browser` is a cookie-keeping HTTP client that reads pages
//! and submits their forms like a user would (CSRF token included).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod chrome;
pub mod seed;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use demarches::config::Config;
use scraper::{Html, Selector};
use sqlx::PgPool;

pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://demarches:demarches@127.0.0.1:5432/demarches".to_owned())
}

fn with_database(url: &str, name: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => format!("{url}/{name}"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A path in the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A connector artifact: `$DEMARCHES_CONNECTORS_DIR` (set by `.ci/test`), else
/// `connectors/target/wasm32-wasip2/release`.
pub fn wasm(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("DEMARCHES_CONNECTORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path("connectors/target/wasm32-wasip2/release"));
    let path = dir.join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Build the guests first: .ci/connectors",
            path.display()
        )
    })
}

/// A fresh, migrated database dropped with the test.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let admin = admin_database_url();
        let name = format!("demarches_test_{}", uuid::Uuid::new_v4().simple());
        let admin_pool = PgPool::connect(&admin)
            .await
            .expect("connect admin database");
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&admin_pool)
            .await
            .expect("create test database");
        admin_pool.close().await;
        let url = with_database(&admin, &name);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .connect(&url)
            .await
            .expect("connect test database");
        demarches::server::migrate(&pool).await.expect("migrate");
        TestDb { name, url, pool }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Runtime::new() else {
                return;
            };
            rt.block_on(async move {
                if let Ok(pool) = PgPool::connect(&admin_database_url()).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "drop database if exists {name} with (force)"
                    )))
                    .execute(&pool)
                    .await;
                }
            });
        })
        .join();
    }
}

/// A real SMTP server (aiosmtpd) writing every message it receives to a maildir.
pub struct MailSink {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
}

impl MailSink {
    pub fn start() -> MailSink {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("demarches-mail-{}", uuid::Uuid::new_v4().simple()));
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd (apt-get install python3-aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "SMTP sink did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        MailSink { port, dir, child }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    pub fn all(&self) -> Vec<ReceivedMail> {
        let mut mails = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.dir.join("new")) else {
            return mails;
        };
        for entry in entries.flatten() {
            let Ok(raw) = std::fs::read(entry.path()) else {
                continue;
            };
            let Some(message) = mail_parser::MessageParser::default().parse(&raw) else {
                continue;
            };
            let to = message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned();
            mails.push(ReceivedMail {
                to,
                subject: message.subject().unwrap_or_default().to_owned(),
                body: message
                    .body_text(0)
                    .map(|b| b.into_owned())
                    .unwrap_or_default(),
                message_id: message.message_id().unwrap_or_default().to_owned(),
            });
        }
        mails
    }

    /// Messages to `to` whose subject contains `subject`.
    pub fn find(&self, to: &str, subject: &str) -> Vec<ReceivedMail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to) && m.subject.contains(subject))
            .collect()
    }

    /// Waits (up to 15 s) for a message to `to` whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str) -> ReceivedMail {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(mail) = self.find(to, subject).into_iter().next() {
                return mail;
            }
            if Instant::now() > deadline {
                let seen: Vec<String> = self
                    .all()
                    .iter()
                    .map(|m| format!("{} | {}", m.to, m.subject))
                    .collect();
                panic!("no mail to {to} with subject containing {subject:?}; received: {seen:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The whole platform on loopback.
pub struct TestApp {
    pub base: String,
    pub db: PgPool,
    pub config: Arc<Config>,
    pub mail: MailSink,
    server: actix_web::dev::ServerHandle,
    _database: TestDb,
}

pub struct TestOptions {
    /// Run the outbox worker (turn off to test delivery failures step by step).
    pub worker: bool,
    /// SMTP URL override (e.g. a port where nothing listens).
    pub smtp_url: Option<String>,
    pub redis_url: Option<String>,
    /// More configuration variables (`DEMARCHES__SECTION__KEY`, value).
    pub vars: Vec<(String, String)>,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            worker: true,
            smtp_url: None,
            redis_url: None,
            vars: Vec::new(),
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(TestOptions::default()).await
    }

    pub async fn spawn_with(options: TestOptions) -> TestApp {
        // reqwest is built without a default TLS provider (see plugins): install ring first.
        demarches_plugins::install_crypto_provider();
        let database = TestDb::create().await;
        let mail = MailSink::start();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut vars = vec![
            ("DEMARCHES_ENV".to_owned(), "test".to_owned()),
            ("DATABASE_URL".to_owned(), database.url.clone()),
            (
                "SMTP_URL".to_owned(),
                options.smtp_url.clone().unwrap_or_else(|| mail.url()),
            ),
            ("PORT".to_owned(), port.to_string()),
            ("DEMARCHES__SERVER__BASE_URL".to_owned(), base.clone()),
            (
                "DEMARCHES__MAIL__DIR".to_owned(),
                std::env::temp_dir()
                    .join(format!("demarches-files-{}", uuid::Uuid::new_v4().simple()))
                    .display()
                    .to_string(),
            ),
            (
                "DEMARCHES__ASSETS__DSFR_DIR".to_owned(),
                repo_path("var/npm/node_modules/@gouvfr/dsfr/dist")
                    .display()
                    .to_string(),
            ),
        ];
        vars.push((
            "DEMARCHES__STORAGE__DIR".to_owned(),
            std::env::temp_dir()
                .join(format!(
                    "demarches-storage-{}",
                    uuid::Uuid::new_v4().simple()
                ))
                .display()
                .to_string(),
        ));
        // No connectors unless a test gives a plugins directory (tests/connectors.rs).
        vars.push((
            "DEMARCHES__PLUGINS__DIR".to_owned(),
            std::env::temp_dir()
                .join(format!(
                    "demarches-no-plugins-{}",
                    uuid::Uuid::new_v4().simple()
                ))
                .display()
                .to_string(),
        ));
        vars.extend(options.vars.iter().cloned());
        if let Some(redis) = &options.redis_url {
            vars.push(("REDIS_URL".to_owned(), redis.clone()));
        }
        let config = Arc::new(Config::load_with(&repo_path("config"), &vars).expect("test config"));
        let (tx, rx) = std::sync::mpsc::channel();
        let server_config = config.clone();
        let db = database.pool.clone();
        let worker = options.worker;
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let state = demarches::server::build_state(server_config.clone(), db.clone())
                    .expect("state");
                let worker = worker.then(|| {
                    let w = demarches::worker::Worker::new(db.clone(), server_config.clone())
                        .expect("worker")
                        .with_bus(state.bus.clone())
                        .with_fetcher(demarches::external::Fetcher::of_state(&state));
                    actix_web::rt::spawn(w.run())
                });
                let (server, _addr) = demarches::server::bind(state).expect("bind");
                let _ = tx.send(server.handle());
                let _ = server.await;
                // Drop the worker (and its SMTP pool) while the runtime still runs.
                if let Some(worker) = worker {
                    worker.abort();
                    let _ = worker.await;
                }
            });
        });
        let server = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server started");
        TestApp {
            base,
            db: database.pool.clone(),
            config,
            mail,
            server,
            _database: database,
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// Runs the outbox once more (for tests that turned the worker off).
    pub async fn deliver_mails(&self) -> demarches::mail::dispatcher::Pass {
        let transport = demarches::mail::transport::Transport::from_config(&self.config.mail)
            .expect("transport");
        demarches::mail::dispatcher::deliver_due(&self.db, &transport, &self.config.mail.from, 12)
            .await
            .expect("deliver")
    }

    /// Creates a confirmed account with a password and the given roles
    /// ("administrateur", "instructeur", "expert"); returns its id.
    pub async fn account(&self, email: &str, roles: &[&str]) -> i64 {
        let hash = demarches::security::hash_password(TEST_PASSWORD).expect("hash");
        let id: i64 = sqlx::query_scalar(
            "insert into users (email, password_hash, confirmed_at) values ($1, $2, now())
             on conflict (lower(email)) do update set password_hash = excluded.password_hash,
               confirmed_at = now() returning id",
        )
        .bind(email)
        .bind(hash)
        .fetch_one(&self.db)
        .await
        .expect("insert user");
        for role in roles {
            let column = match *role {
                "administrateur" => "is_administrateur",
                "instructeur" => "is_instructeur",
                "expert" => "is_expert",
                other => panic!("unknown role {other}"),
            };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "update users set {column} = true where id = $1"
            )))
            .bind(id)
            .execute(&self.db)
            .await
            .expect("grant role");
        }
        id
    }

    /// A browser signed in as `email` (account created with `roles` if needed), with the
    /// session written directly: for tests of other areas than sign-in itself.
    /// `profile` is the active profile ("usager", "instructeur", "administrateur", "expert").
    pub async fn signed_in(&self, email: &str, roles: &[&str], profile: &str) -> Browser {
        let id = self.account(email, roles).await;
        let token = demarches::security::random_token();
        sqlx::query(
            "insert into sessions (token_hash, user_id, profile, expires_at)
             values ($1, $2, $3, now() + interval '1 day')",
        )
        .bind(demarches::security::sha256_hex(&token))
        .bind(id)
        .bind(profile)
        .execute(&self.db)
        .await
        .expect("insert session");
        let browser = self.browser();
        let url: reqwest::Url = self.base.parse().expect("base url");
        browser.jar.add_cookie_str(
            &format!(
                "{}={token}; Path=/",
                demarches::web::session::SESSION_COOKIE
            ),
            &url,
        );
        browser
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.server.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Runtime::new() {
                rt.block_on(handle.stop(false));
            }
        })
        .join();
    }
}

pub const TEST_PASSWORD: &str = "Tr0mbone-Vert-Lunaire!";

/// A page as the browser received it.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub url: String,
    pub body: String,
}

impl Page {
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// Text of the first element matching `css`, whitespace-collapsed.
    pub fn text(&self, css: &str) -> Option<String> {
        let selector = Selector::parse(css).expect("selector");
        self.html().select(&selector).next().map(|e| {
            e.text()
                .collect::<Vec<_>>()
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    /// All texts of elements matching `css`.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let selector = Selector::parse(css).expect("selector");
        self.html()
            .select(&selector)
            .map(|e| {
                e.text()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.body.contains(needle)
    }

    /// The value of `name` in the first form that has it.
    pub fn field(&self, name: &str) -> Option<String> {
        let selector = Selector::parse(&format!("[name=\"{name}\"]")).expect("selector");
        self.html()
            .select(&selector)
            .next()
            .and_then(|e| e.value().attr("value").map(str::to_owned))
    }

    pub fn csrf(&self) -> Option<String> {
        self.field("authenticity_token")
    }
}

pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        // reqwest is built with `rustls-no-provider` (for the plugin host): one ring provider per process
        demarches_plugins::install_crypto_provider();
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .timeout(Duration::from_secs(30))
            // Drop idle connections well before the server's 5 s keep-alive closes them:
            // reusing one the server is closing fails the request (IncompleteMessage).
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        Browser {
            client,
            jar,
            base: base.to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    /// The page a response leads to.
    pub async fn read(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let url = response.url().to_string();
        let body = response.text().await.unwrap_or_default();
        Page { status, url, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    /// The CSRF token the forms of this browser carry (its double-submit cookie).
    pub async fn csrf_cookie(&self) -> String {
        self.get("/").await;
        let url: reqwest::Url = self.base.parse().expect("base URL");
        let cookies = reqwest::cookie::CookieStore::cookies(&*self.jar, &url).expect("cookies");
        cookies
            .to_str()
            .expect("cookie header")
            .split("; ")
            .find_map(|c| c.strip_prefix("demarches_csrf="))
            .expect("CSRF cookie")
            .to_owned()
    }

    /// The multipart body of a file form (token first, then the `fichier` part).
    pub async fn file_form(&self, filename: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
        reqwest::multipart::Form::new()
            .text("authenticity_token", self.csrf_cookie().await)
            .part(
                "fichier",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name(filename.to_owned())
                    .mime_str("application/octet-stream")
                    .expect("mime"),
            )
    }

    /// Posts a file as the champ's upload form does, following the redirect.
    pub async fn upload_piece(
        &self,
        dossier: i64,
        stable_id: i64,
        filename: &str,
        bytes: Vec<u8>,
    ) -> Page {
        let form = self.file_form(filename, bytes).await;
        let path = format!("/dossiers/{dossier}/champs/{stable_id}/pieces");
        Self::read(
            self.client
                .post(self.url(&path))
                .multipart(form)
                .send()
                .await
                .expect("POST file"),
        )
        .await
    }

    /// Posts `fields` to `path` with the CSRF token of the page at `from` (as a form would).
    pub async fn post(&self, from: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(from).await;
        self.post_with_token(&page.csrf().expect("page has a CSRF token"), path, fields)
            .await
    }

    pub async fn post_with_token(&self, token: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("authenticity_token", token)];
        form.extend_from_slice(fields);
        Self::read(
            self.client
                .post(self.url(path))
                .form(&form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Submits the form of `page` matching `form_css`: its current fields (hidden, text,
    /// checked boxes, selected options) overridden by `fields`, to its action.
    pub async fn submit(&self, page: &Page, form_css: &str, fields: &[(&str, &str)]) -> Page {
        self.submit_with_button(page, form_css, fields, None).await
    }

    pub async fn submit_with_button(
        &self,
        page: &Page,
        form_css: &str,
        fields: &[(&str, &str)],
        button: Option<(&str, &str)>,
    ) -> Page {
        let html = page.html();
        let form_sel = Selector::parse(form_css).expect("form selector");
        let form = html
            .select(&form_sel)
            .next()
            .unwrap_or_else(|| panic!("no form {form_css} on {}:\n{}", page.url, page.body));
        let action = form.value().attr("action").unwrap_or("").to_owned();
        let mut values: Vec<(String, String)> = Vec::new();
        let input_sel = Selector::parse("input, textarea, select").expect("selector");
        for el in form.select(&input_sel) {
            let v = el.value();
            let Some(name) = v.attr("name") else { continue };
            match (v.name(), v.attr("type").unwrap_or("text")) {
                ("input", "checkbox" | "radio") if v.attr("checked").is_some() => {
                    values.push((name.to_owned(), v.attr("value").unwrap_or("on").to_owned()));
                }
                ("input", "checkbox" | "radio") => {}
                ("input", "submit" | "button") => {}
                ("input", _) => {
                    values.push((name.to_owned(), v.attr("value").unwrap_or("").to_owned()))
                }
                ("textarea", _) => values.push((name.to_owned(), el.text().collect())),
                ("select", _) => {
                    let opt = Selector::parse("option[selected]").expect("selector");
                    let value = el
                        .select(&opt)
                        .next()
                        .and_then(|o| o.value().attr("value"))
                        .unwrap_or("")
                        .to_owned();
                    values.push((name.to_owned(), value));
                }
                _ => {}
            }
        }
        for (name, _) in fields {
            values.retain(|(n, _)| n != name);
        }
        for (name, value) in fields {
            values.push(((*name).to_owned(), (*value).to_owned()));
        }
        if let Some((name, value)) = button {
            values.push((name.to_owned(), value.to_owned()));
        }
        let target = if action.is_empty() {
            page.url.clone()
        } else {
            self.url(&action)
        };
        Self::read(
            self.client
                .post(target)
                .form(&values)
                .send()
                .await
                .expect("POST form"),
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        let page = self.get("/users/sign_in").await;
        let result = self
            .submit(
                &page,
                "form#sign-in",
                &[("email", email), ("password", password)],
            )
            .await;
        assert!(
            !result.url.contains("/users/sign_in"),
            "sign-in failed for {email}: {}",
            result.body
        );
        result
    }
}

/// The first link in `text` that starts with `prefix` (e.g. a link in an e-mail).
pub fn link_in(text: &str, prefix: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with(prefix))
        .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
        .unwrap_or_else(|| panic!("no link starting with {prefix} in:\n{text}"))
}

// ------------------------------------------------------------ helpers of the page tests

/// The number right after `prefix` in `url` (e.g. a dossier id after "/dossiers/").
pub fn id_after(url: &str, prefix: &str) -> i64 {
    url.split(prefix)
        .nth(1)
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no id after {prefix} in {url}"))
}

/// The démarche of an administrateur page.
pub fn procedure_id(page: &Page) -> i64 {
    id_after(&page.url, "/admin/procedures/")
}

/// The dossier of an usager or instructeur URL.
pub fn dossier_id(url: &str) -> i64 {
    id_after(url, "/dossiers/")
}

/// The `attribute` of the first element matching `css`.
pub fn attr(page: &Page, css: &str, attribute: &str) -> Option<String> {
    let html = page.html();
    let sel = Selector::parse(css).unwrap();
    html.select(&sel)
        .next()
        .and_then(|e| e.value().attr(attribute).map(str::to_owned))
}

/// Adds a champ through the form builder of démarche `id`.
pub async fn add_champ(browser: &Browser, id: i64, fields: &[(&str, &str)]) -> Page {
    let builder = browser.get(&format!("/admin/procedures/{id}/champs")).await;
    assert_eq!(builder.status, 200, "{}", builder.body);
    browser.submit(&builder, "form#add-champ", fields).await
}

/// A valid SIRET (Luhn), the one the API Entreprise fake knows (SGG).
pub const DEMO_SIRET: &str = "12000101100010";

/// Starts a dossier from the démarche page `start` ("/commencer/…"): its id and brouillon form.
/// A démarche for personnes morales starts with the SIRET step: it is given [`DEMO_SIRET`]
/// (accepted without data when the démarche has no SIRET connector), then continued.
pub async fn start_brouillon(browser: &Browser, start: &str) -> (i64, Page) {
    let page = browser.get(start).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form = browser.submit(&page, "form#commencer", &[]).await;
    assert_eq!(form.status, 200, "{}", form.body);
    if form.url.ends_with("/siret") {
        let shown = browser
            .submit(&form, "form#siret-form", &[("siret", DEMO_SIRET)])
            .await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        form = browser
            .get(&format!("/dossiers/{}/brouillon", dossier_id(&shown.url)))
            .await;
        assert_eq!(form.status, 200, "{}", form.body);
    }
    assert!(form.url.ends_with("/brouillon"), "{}", form.url);
    (dossier_id(&form.url), form)
}

/// Stable id of the champ `libelle` in the draft revision of démarche `procedure`.
pub async fn draft_stable_id(app: &TestApp, procedure: i64, libelle: &str) -> i64 {
    sqlx::query_scalar(
        "select t.stable_id from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and t.libelle = $2",
    )
    .bind(procedure)
    .bind(libelle)
    .fetch_one(&app.db)
    .await
    .unwrap()
}
