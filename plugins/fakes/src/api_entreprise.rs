//! A loopback fake of API Entreprise (contract: `../shared/connectors/README.md` §1).
//!
//! - `GET` only; `/v3/insee/sirene/etablissements/{siret}`,
//!   `/v3/insee/sirene/unites_legales/{siren}`,
//!   `/v4/djepva/api-association/associations/open_data/{siren_or_rna}`,
//!   `/privileges`, `/ping/insee/sirene`;
//! - the bearer token first: missing or garbled → 401 `00101`, `exp` past →
//!   401 `00103`, no granting scope → 403 `00100` (the signature is not checked);
//! - then the identifier format (422 `00302` / `00301` / `00333`) and the
//!   mandatory `context`, `object`, `recipient` (422 `00201`/`00202`/`00203`,
//!   one error per missing parameter); unknown parameters are ignored;
//! - then the fixtures of `fixtures/api_entreprise` (embedded in the binary);
//!   an unknown identifier → 404 `01003` (INSEE) or `29003` (DJEPVA). A unité
//!   légale without its own fixture is the one nested in its établissement's;
//! - faults chosen per identifier ([`Fault`]): 404, 401, malformed JSON, a hang,
//!   5xx with the provider's error body, 429 with `Retry-After`.
//!
//! Answers carry `Cache-Control: no-store` and, on 200, the `RateLimit-*` headers.
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/api_entreprise/",
            $name
        ))
    };
}

/// Établissements served, by SIRET.
const ETABLISSEMENTS: &[(&str, &str)] = &[
    (
        "12000101100010",
        fixture!("etablissement_12000101100010.json"),
    ),
    (
        "30613890001294",
        fixture!("etablissement_30613890001294.json"),
    ),
    (
        "35004292500031",
        fixture!("etablissement_35004292500031_partiellement_diffusible.json"),
    ),
    (
        "35005144700018",
        fixture!("etablissement_35005144700018_ferme.json"),
    ),
    (
        "47846480300319",
        fixture!("etablissement_47846480300319_personne_physique.json"),
    ),
    (
        "55204944776279",
        fixture!("etablissement_55204944776279_personne_morale.json"),
    ),
    (
        "77567227221138",
        fixture!("etablissement_77567227221138_association.json"),
    ),
];

/// Unités légales served, by SIREN.
const UNITES_LEGALES: &[(&str, &str)] = &[
    ("120001011", fixture!("unite_legale_120001011.json")),
    (
        "478464803",
        fixture!("unite_legale_478464803_personne_physique.json"),
    ),
    (
        "552049447",
        fixture!("unite_legale_552049447_personne_morale.json"),
    ),
    (
        "775672272",
        fixture!("unite_legale_775672272_association.json"),
    ),
];

/// Associations (open data), by SIREN or RNA.
const ASSOCIATIONS: &[(&str, &str)] = &[
    (
        "389486242",
        fixture!("association_open_data_389486242.json"),
    ),
    (
        "W301000624",
        fixture!("association_open_data_389486242.json"),
    ),
];

const TOKENS: &str = fixture!("tokens.json");
const PING: &str = fixture!("ping.json");
const PRIVILEGES: &str = fixture!("privileges.json");
const E401_INVALID: &str = fixture!("errors/error_401_invalid_token.json");
const E401_EXPIRED: &str = fixture!("errors/error_401_expired_token.json");
const E403: &str = fixture!("errors/error_403_insufficient_privileges.json");
const E404_INSEE: &str = fixture!("errors/error_404_etablissement_not_found.json");
const E404_DJEPVA: &str = fixture!("errors/error_404_association_not_found.json");
const E422_CONTEXT: &str = fixture!("errors/error_422_missing_context.json");
const E422_OBJECT: &str = fixture!("errors/error_422_missing_object.json");
const E422_RECIPIENT: &str = fixture!("errors/error_422_missing_recipient.json");
const E422_SIRET: &str = fixture!("errors/error_422_siret_malformed.json");
const E422_SIREN: &str = fixture!("errors/error_422_siren_malformed.json");
const E422_SIREN_OR_RNA: &str = fixture!("errors/error_422_siren_or_rna_malformed.json");
const E429: &str = fixture!("errors/error_429_too_many_requests.json");
const E502: &str = fixture!("errors/error_502_provider_unknown_error.json");
const E504: &str = fixture!("errors/error_504_provider_unavailable.json");

/// Scopes granting the INSEE endpoints, and the association open data one.
const INSEE_SCOPES: &[&str] = &[
    "etablissements",
    "entreprises",
    "unites_legales_etablissements_insee",
];
const ASSOCIATION_SCOPES: &[&str] = &["associations", "open_data"];

/// A misbehaviour chosen for one identifier (SIRET, SIREN or RNA; a SIREN
/// also covers the SIRETs that start with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 404 with the provider's body, even for a known identifier.
    NotFound,
    /// 401 `00101`, whatever the token.
    Unauthorized,
    /// 200 with a body that is not JSON.
    Malformed,
    /// Sleeps this long, then answers normally.
    Hang(Duration),
    /// This 5xx status with the provider's error body (502 `01999`, otherwise 504 `01001`).
    ServerError(u16),
    /// 429 `00429` with `Retry-After` in seconds.
    RateLimited(u32),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct State {
    faults: Mutex<HashMap<String, Fault>>,
    requests: Mutex<Vec<Recorded>>,
}

/// The running fake; stops when dropped.
pub struct FakeApiEntreprise {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for FakeApiEntreprise {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A token of `tokens.json`: `valid_all_ds_scopes`, `valid_open_data_only`, `expired`.
pub fn token(name: &str) -> Option<String> {
    let all: Value = serde_json::from_str(TOKENS).ok()?;
    all.pointer(&format!("/tokens/{name}/jwt"))?
        .as_str()
        .map(str::to_string)
}

/// The token granting every scope DS uses, valid until 2100.
pub fn valid_token() -> String {
    token("valid_all_ds_scopes").unwrap_or_default()
}

impl FakeApiEntreprise {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Self::serve(TcpListener::bind(addr).await?)
    }

    /// Serves on a listener bound beforehand (call within a tokio runtime).
    pub fn spawn(listener: std::net::TcpListener) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        Self::serve(TcpListener::from_std(listener)?)
    }

    fn serve(listener: TcpListener) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(sock, st.clone()));
            }
        });
        tracing::info!(%addr, "fake API Entreprise listening");
        Ok(Self { addr, state, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:<port>`, as granted to the connector.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Makes `id` (SIRET, SIREN or RNA) misbehave until [`Self::heal`].
    pub fn fail(&self, id: &str, fault: Fault) {
        lock(&self.state.faults).insert(id.to_string(), fault);
    }

    pub fn heal(&self, id: &str) {
        lock(&self.state.faults).remove(id);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state.requests).clone()
    }

    pub fn hits(&self) -> usize {
        lock(&self.state.requests).len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Response {
    fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    fn ok(body: impl Into<String>) -> Self {
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() + 60)
            .unwrap_or_default();
        Self {
            status: 200,
            headers: vec![
                ("ratelimit-limit", "250".into()),
                ("ratelimit-remaining", "249".into()),
                ("ratelimit-reset", reset.to_string()),
            ],
            body: body.into(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

async fn serve(mut sock: TcpStream, state: Arc<State>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > 64 * 1024 {
            return;
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split_whitespace();
    let method = request_line.next().unwrap_or_default().to_string();
    let target = request_line.next().unwrap_or("/").to_string();
    let authorization = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_string());
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), parse_query(q)),
        None => (target.clone(), BTreeMap::new()),
    };
    let recorded = Recorded {
        path,
        query,
        authorization,
    };
    lock(&state.requests).push(recorded.clone());
    let resp = if method == "GET" {
        route(&recorded, &state).await
    } else {
        Response::json(405, r#"{"errors":[]}"#)
    };
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json; charset=utf-8\r\ncache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n",
        resp.status,
        reason(resp.status),
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&resp.body);
    let _ = sock.write_all(out.as_bytes()).await;
    let _ = sock.shutdown().await;
}

fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// What an endpoint needs.
enum Endpoint<'a> {
    Etablissement(&'a str),
    UniteLegale(&'a str),
    Association(&'a str),
}

async fn route(req: &Recorded, state: &State) -> Response {
    let path = req.path.trim_end_matches('/');
    if path.starts_with("/ping/") {
        return Response::ok(PING);
    }
    let endpoint = if let Some(id) = path.strip_prefix("/v3/insee/sirene/etablissements/") {
        Endpoint::Etablissement(id)
    } else if let Some(id) = path.strip_prefix("/v3/insee/sirene/unites_legales/") {
        Endpoint::UniteLegale(id)
    } else if let Some(id) = path.strip_prefix("/v4/djepva/api-association/associations/open_data/")
    {
        Endpoint::Association(id)
    } else if path == "/privileges" {
        return match check_token(req.authorization.as_deref(), &[]) {
            Err(r) => r,
            Ok(()) => Response::ok(PRIVILEGES),
        };
    } else {
        return Response::json(404, r#"{"errors":[]}"#);
    };
    let (id, scopes) = match &endpoint {
        Endpoint::Etablissement(id) | Endpoint::UniteLegale(id) => (*id, INSEE_SCOPES),
        Endpoint::Association(id) => (*id, ASSOCIATION_SCOPES),
    };
    let fault = {
        let faults = lock(&state.faults);
        faults
            .get(id)
            .or_else(|| id.get(..9).and_then(|siren| faults.get(siren)))
            .cloned()
    };
    if fault == Some(Fault::Unauthorized) {
        return Response::json(401, E401_INVALID);
    }
    if let Err(r) = check_token(req.authorization.as_deref(), scopes) {
        return r;
    }
    let format_ok = match endpoint {
        Endpoint::Etablissement(_) => digits(id, 14),
        Endpoint::UniteLegale(_) => digits(id, 9),
        Endpoint::Association(_) => digits(id, 9) || rna(id),
    };
    if !format_ok {
        let body = match endpoint {
            Endpoint::Etablissement(_) => E422_SIRET,
            Endpoint::UniteLegale(_) => E422_SIREN,
            Endpoint::Association(_) => E422_SIREN_OR_RNA,
        };
        return Response::json(422, body);
    }
    if let Some(r) = missing_params(&req.query) {
        return r;
    }
    let not_found = match endpoint {
        Endpoint::Association(_) => E404_DJEPVA,
        _ => E404_INSEE,
    };
    match fault {
        Some(Fault::NotFound) => return Response::json(404, not_found),
        Some(Fault::Malformed) => return Response::ok(r#"{"data": {"siret": "#),
        Some(Fault::Hang(d)) => tokio::time::sleep(d).await,
        Some(Fault::ServerError(502)) => return Response::json(502, E502),
        Some(Fault::ServerError(s)) => return Response::json(s, E504),
        Some(Fault::RateLimited(secs)) => {
            let mut r = Response::json(429, E429);
            r.headers.push(("retry-after", secs.to_string()));
            return r;
        }
        Some(Fault::Unauthorized) | None => {}
    }
    let body = match endpoint {
        Endpoint::Etablissement(_) => find(ETABLISSEMENTS, id).map(str::to_string),
        Endpoint::UniteLegale(_) => find(UNITES_LEGALES, id)
            .map(str::to_string)
            .or_else(|| nested_unite_legale(id)),
        Endpoint::Association(_) => find(ASSOCIATIONS, id).map(str::to_string),
    };
    match body {
        Some(b) => Response::ok(b),
        None => Response::json(404, not_found),
    }
}

fn find(table: &[(&str, &'static str)], id: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == id).map(|(_, v)| *v)
}

/// The unité légale nested in an établissement of that SIREN, in the shape of
/// `/unites_legales/{siren}`.
fn nested_unite_legale(siren: &str) -> Option<String> {
    let etab = ETABLISSEMENTS
        .iter()
        .find(|(siret, _)| siret.starts_with(siren))?
        .1;
    let etab: Value = serde_json::from_str(etab).ok()?;
    let mut data = etab.pointer("/data/unite_legale")?.clone();
    data.as_object_mut()?
        .insert("date_cessation".into(), Value::Null);
    let siret = etab.pointer("/data/siret")?.as_str()?.to_string();
    Some(
        json!({
            "data": data,
            "links": {
                "siege_social": format!("https://entreprise.api.gouv.fr/v3/insee/sirene/etablissements/{siret}"),
            },
            "meta": {"date_derniere_mise_a_jour": 1704063600, "redirect_from_siren": null},
        })
        .to_string(),
    )
}

fn digits(id: &str, n: usize) -> bool {
    id.len() == n && id.bytes().all(|b| b.is_ascii_digit())
}

fn rna(id: &str) -> bool {
    id.len() == 10
        && id.starts_with('W')
        && id[1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// 401 `00101` (missing or garbled), 401 `00103` (expired), 403 `00100` (scope).
fn check_token(authorization: Option<&str>, scopes: &[&str]) -> Result<(), Response> {
    let invalid = || Response::json(401, E401_INVALID);
    let token = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(invalid)?;
    let claims: Value = token
        .split('.')
        .nth(1)
        .and_then(base64url)
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or_else(invalid)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    if claims
        .get("exp")
        .and_then(Value::as_u64)
        .is_some_and(|exp| exp <= now)
    {
        return Err(Response::json(401, E401_EXPIRED));
    }
    if scopes.is_empty() {
        return Ok(());
    }
    let granted = claims
        .get("scopes")
        .or_else(|| claims.get("roles"))
        .and_then(Value::as_array)
        .is_some_and(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .any(|s| scopes.contains(&s))
        });
    if granted {
        Ok(())
    } else {
        Err(Response::json(403, E403))
    }
}

/// 422 with one error object per missing mandatory parameter.
fn missing_params(query: &BTreeMap<String, String>) -> Option<Response> {
    let mut errors = Vec::new();
    for (param, body) in [
        ("context", E422_CONTEXT),
        ("object", E422_OBJECT),
        ("recipient", E422_RECIPIENT),
    ] {
        if query.get(param).is_none_or(|v| v.trim().is_empty()) {
            let parsed: Value = serde_json::from_str(body).ok()?;
            if let Some(list) = parsed.get("errors").and_then(Value::as_array) {
                errors.extend(list.iter().cloned());
            }
        }
    }
    (!errors.is_empty()).then(|| Response::json(422, json!({ "errors": errors }).to_string()))
}

fn base64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes().take_while(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
