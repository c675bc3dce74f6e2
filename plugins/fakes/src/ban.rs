//! A loopback fake of the BAN address search (contract: `../shared/connectors/README.md` §2),
//! served from a thread of its own (usable from any runtime, or none); stops when dropped.
//!
//! - `GET /search` and `/search/`: `q` trimmed must hold 3–200 characters and start with a
//!   letter or a digit, `limit` (default 5) must be an integer 1–20, `type` one of
//!   `housenumber | street | locality | municipality`, `postcode` five digits; otherwise 400
//!   `Failed parsing query` with one `detail` string per faulty parameter (the `q` and
//!   `limit` strings are the fixtures'; the `type` and `postcode` ones are inferred);
//! - the answer is a GeoCodeJSON `FeatureCollection` echoing `query`, with the features of
//!   a small built-in table (the fixtures of `fixtures/ban`, embedded in the binary)
//!   matching `q`: every query word holding a letter must be the start of a word of the
//!   label, accents and case aside (« 20 avenue de seg » finds « 20 Avenue de Ségur 75007
//!   Paris »); numbers only raise the `score` (a house number the table lacks still finds
//!   the street, as the real service does), and so does covering more of the label (« Paris »
//!   ranks the commune first). `type`, `postcode` and `citycode` filter;
//!   nothing matching is `features: []`, never an error;
//! - faults chosen per query ([`Fault`]): 503, 429 (HTML body, `Retry-After`), a hang;
//! - the sandbox tests' redirects: `/redirect-ok` (302 to a search), `/redirect-metadata`
//!   (302 to the cloud metadata address), `/redirect-elsewhere` (301 to another host);
//! - it counts the requests it receives ([`FakeBan::hits`]).
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::http::{Request, Response};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ban/", $name))
    };
}

/// The collections whose features make up the address table, in this order (a tie in
/// score keeps it).
const TABLE: &[&str] = &[
    fixture!("search_20_avenue_de_segur_paris.json"),
    fixture!("recorded_2024_search_78_rue_du_gres_vergeze.json"),
    fixture!("search_municipality_ales.json"),
    fixture!("ds_spec/address.json"),
];

/// Queries the demo suggests typing (`demarches demo` prints them); each finds its record.
pub const DEMO_ADDRESSES: &[&str] = &["20 avenue de Ségur Paris", "78 rue du Grès Vergèze", "Alès"];

const E400_QUERY: &str = fixture!("error_400_failed_parsing_query.json");
const E400_LIMIT: &str = fixture!("error_400_limit_out_of_range.json");

const TYPES: &[&str] = &["housenumber", "street", "locality", "municipality"];

/// A misbehaviour chosen for one query (compared trimmed, case aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 503 with an HTML body and, if given, `Retry-After` in seconds.
    Unavailable(Option<u32>),
    /// 429 with an HTML body and `Retry-After` in seconds (the service's rate limit).
    RateLimited(u32),
    /// Sleeps this long, then answers normally.
    Hang(Duration),
}

#[derive(Default)]
struct State {
    faults: HashMap<String, Fault>,
    fallback: Option<Value>,
}

struct Shared {
    table: Vec<Value>,
    state: Mutex<State>,
    hits: AtomicUsize,
}

/// The running fake; stops when dropped.
pub struct FakeBan {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeBan {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The features of the built-in table.
fn table() -> std::io::Result<Vec<Value>> {
    let mut out = Vec::new();
    for collection in TABLE {
        let c: Value = serde_json::from_str(collection).map_err(std::io::Error::other)?;
        if let Some(features) = c["features"].as_array() {
            out.extend(features.iter().cloned());
        }
    }
    Ok(out)
}

impl FakeBan {
    /// Starts on a free loopback port.
    pub fn start() -> std::io::Result<Self> {
        Self::start_at(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn start_at(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            table: table()?,
            state: Mutex::new(State::default()),
            hits: AtomicUsize::new(0),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-ban".into())
            .spawn(move || {
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let handler = Arc::new(move |req: Request| {
                        let s = s.clone();
                        async move { route(&s, req).await }
                    });
                    tokio::select! {
                        _ = crate::http::serve(listener, handler) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        tracing::info!(%addr, "fake BAN listening");
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`, the connector's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:<port>`, as granted to the connector.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Makes the query `q` misbehave until [`Self::heal`].
    pub fn fail(&self, q: &str, fault: Fault) {
        lock(&self.shared.state).faults.insert(fault_key(q), fault);
    }

    pub fn heal(&self, q: &str) {
        lock(&self.shared.state).faults.remove(&fault_key(q));
    }

    /// For tests whose query is chosen elsewhere (the connector tester's probe): a valid
    /// query matching nothing answers the table's feature labelled `label` instead of
    /// `features: []`. `None` restores the faithful behaviour.
    pub fn answer_unmatched_with(&self, label: Option<&str>) {
        let feature = label.and_then(|l| {
            self.shared
                .table
                .iter()
                .find(|f| f["properties"]["label"] == l)
                .cloned()
        });
        lock(&self.shared.state).fallback = feature;
    }

    /// Requests received so far (any path).
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }
}

fn fault_key(q: &str) -> String {
    q.trim().to_lowercase()
}

fn json_response(status: u16, body: impl Into<Vec<u8>>) -> Response {
    Response::new(status, "application/json; charset=utf-8", body)
}

fn redirect(status: u16, location: &str) -> Response {
    Response::new(status, "text/html; charset=utf-8", "").with_header("location", location)
}

async fn route(shared: &Shared, req: Request) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    if req.method != "GET" {
        return json_response(405, r#"{"code":405,"message":"Method Not Allowed"}"#);
    }
    match req.path.as_str() {
        "/search" | "/search/" => search(shared, &req.query).await,
        "/redirect-ok" => redirect(302, "/search/?q=segur&limit=5"),
        "/redirect-metadata" => redirect(302, "http://169.254.169.254/latest/meta-data/"),
        "/redirect-elsewhere" => redirect(301, "http://evil.test/steal"),
        _ => json_response(404, r#"{"code":404,"message":"Not Found"}"#),
    }
}

/// The `detail` strings of a fixture error body.
fn details(fixture: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(fixture)
        .ok()
        .and_then(|v| v["detail"].as_array().cloned())
        .unwrap_or_default()
}

/// What the parameters ask for, or the 400 `detail` strings.
struct Search {
    query: String,
    words: Vec<String>,
    limit: usize,
    kind: Option<String>,
    postcode: Option<String>,
    citycode: Option<String>,
}

fn parse(params: &HashMap<String, String>) -> Result<Search, Vec<Value>> {
    let mut errors = Vec::new();
    let query = params.get("q").cloned().unwrap_or_default();
    let trimmed = query.trim();
    let n = trimmed.chars().count();
    if !(3..=200).contains(&n) || !trimmed.chars().next().is_some_and(char::is_alphanumeric) {
        errors.extend(details(E400_QUERY));
    }
    let limit = match params.get("limit") {
        None => Some(5),
        Some(l) => l
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=20).contains(l)),
    };
    if limit.is_none() {
        errors.extend(details(E400_LIMIT));
    }
    let filter = |k: &str| params.get(k).filter(|v| !v.is_empty()).cloned();
    let kind = filter("type");
    if kind.as_deref().is_some_and(|t| !TYPES.contains(&t)) {
        errors.push(json!(
            "type: must be one of housenumber, street, locality, municipality"
        ));
    }
    let postcode = filter("postcode");
    if postcode
        .as_deref()
        .is_some_and(|p| p.len() != 5 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        errors.push(json!("postcode: must contain 5 digits"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Search {
        words: words(trimmed),
        query,
        limit: limit.unwrap_or(5),
        kind,
        postcode,
        citycode: filter("citycode"),
    })
}

async fn search(shared: &Shared, params: &HashMap<String, String>) -> Response {
    let search = match parse(params) {
        Ok(s) => s,
        Err(detail) => {
            let body = json!({ "code": 400, "message": "Failed parsing query", "detail": detail });
            return json_response(400, body.to_string());
        }
    };
    let (fault, fallback) = {
        let st = lock(&shared.state);
        (
            st.faults.get(&fault_key(&search.query)).cloned(),
            st.fallback.clone(),
        )
    };
    match fault {
        Some(Fault::Unavailable(retry)) => {
            let r = Response::html(503, "<html><body>Service Unavailable</body></html>");
            return match retry {
                Some(s) => r.with_header("retry-after", &s.to_string()),
                None => r,
            };
        }
        Some(Fault::RateLimited(s)) => {
            return Response::html(429, "<html><body>Too Many Requests</body></html>")
                .with_header("retry-after", &s.to_string());
        }
        Some(Fault::Hang(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let mut features = matches(&shared.table, &search);
    if features.is_empty() {
        features.extend(fallback);
    }
    let body = json!({
        "type": "FeatureCollection",
        "features": features,
        "query": search.query,
    });
    json_response(200, body.to_string())
}

/// The table's features matching `search`, best first, at most `limit`.
fn matches(table: &[Value], search: &Search) -> Vec<Value> {
    let prop = |f: &Value, k: &str| f["properties"][k].as_str().map(str::to_owned);
    let mut scored: Vec<(f64, &Value)> = table
        .iter()
        .filter(|f| search.kind.is_none() || prop(f, "type") == search.kind)
        .filter(|f| search.postcode.is_none() || prop(f, "postcode") == search.postcode)
        .filter(|f| search.citycode.is_none() || prop(f, "citycode") == search.citycode)
        .filter_map(|f| {
            let label = words(&prop(f, "label").unwrap_or_default());
            let found = |w: &String| label.iter().any(|l| l.starts_with(w.as_str()));
            let lettered = |w: &&String| w.chars().any(char::is_alphabetic);
            if !search.words.iter().filter(lettered).all(found) {
                return None;
            }
            let hit = search.words.iter().filter(|w| found(w)).count();
            if hit == 0 {
                return None;
            }
            // Mostly the share of the query found; then the share of the label it
            // covers, so « Paris » ranks the commune before a street of Paris.
            let query_share = hit as f64 / search.words.len() as f64;
            let label_share = hit as f64 / label.len().max(1) as f64;
            Some((0.8 * query_share + 0.2 * label_share.min(1.0), f))
        })
        .collect();
    // Stable: equal scores keep the table's order.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(search.limit)
        .map(|(score, f)| {
            let mut f = f.clone();
            f["properties"]["score"] = json!((score * 1e4).round() / 1e4);
            f
        })
        .collect()
}

/// The words of `s`, lowercase, without accents.
fn words(s: &str) -> Vec<String> {
    let folded: String = s.chars().flat_map(fold).collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `c` lowercase, French accents removed (œ/æ spelled out).
fn fold(c: char) -> Vec<char> {
    let lower: Vec<char> = c.to_lowercase().collect();
    lower
        .into_iter()
        .flat_map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => vec!['a'],
            'ç' => vec!['c'],
            'è' | 'é' | 'ê' | 'ë' => vec!['e'],
            'ì' | 'í' | 'î' | 'ï' => vec!['i'],
            'ñ' => vec!['n'],
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => vec!['o'],
            'ù' | 'ú' | 'û' | 'ü' => vec!['u'],
            'ý' | 'ÿ' => vec!['y'],
            'œ' => vec!['o', 'e'],
            'æ' => vec!['a', 'e'],
            c => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_accents_and_case() {
        assert_eq!(
            words("20 Avenue de Ségur, 75007 PARIS"),
            ["20", "avenue", "de", "segur", "75007", "paris"]
        );
        assert_eq!(words("Œuvre Alès-Grés"), ["oeuvre", "ales", "gres"]);
    }
}
