//! A faithful fake of FranceConnect v2 (OpenID Connect, `shared/connectors/README.md`
//! §3.6) on a loopback port, served from a thread of its own (usable from any
//! runtime, or none):
//!
//! - `GET /api/v2/.well-known/openid-configuration` (issuer = `http://127.0.0.1:<port>/api/v2`)
//!   and `GET /api/v2/jwks` (a P-256 key, `kid` [`KID`], and an RSA key, `kid` [`RSA_KID`]:
//!   tokens are signed ES256 by default, RS256 after [`FakeFranceConnect::set_algorithm`]);
//! - `GET|POST /api/v2/authorize`: checks `response_type=code`, the client, the registered
//!   `redirect_uri`, `openid` in `scope`, `acr_values=eidas1`, `state` and `nonce` of at least
//!   32 characters (else HTTP 400, no redirect), then redirects at once (303) with a code for
//!   the current test identity ([`FakeFranceConnect::set_identity`]);
//! - `POST /api/v2/token`: `client_secret_post` only (401 `invalid_client`), single-use codes
//!   valid 30 s bound to their `redirect_uri` (400 `invalid_grant`), Bearer access token (60 s)
//!   and a signed id_token (`sub` pairwise, `nonce`, `aud`, `iss`, `acr`, `at_hash`, 60 s);
//! - `GET /api/v2/userinfo`: Bearer token (401 `invalid_token`), a signed JWT served as
//!   `application/jwt` with the claims of the granted scopes;
//! - `GET /api/v2/session/end`: `id_token_hint`, `state` and a registered
//!   `post_logout_redirect_uri` → 303 to `post_logout_redirect_uri?state=…`.
//!
//! [`Fault`] makes it misbehave the way tests need (wrong nonce, bad signature, expired
//! token, 5xx, slow answer, user cancelling).
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use rand::Rng;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::http::{Request, Response, encode};

/// `kid` of the ES256 signing key.
pub const KID: &str = "fake-fc-es256-key-1";
/// `kid` of the RS256 signing key.
pub const RSA_KID: &str = "fake-fc-rs256-key-1";
/// TEST ONLY RSA 2048 private key (PKCS#8), stable across restarts.
const TEST_ONLY_RSA_KEY: &str = include_str!("france_connect/TEST_ONLY_rsa_key.pem");

/// The algorithm the fake signs its id_tokens and userinfo JWTs with (FranceConnect v2
/// accepts ES256, recommended, and RS256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    #[default]
    Es256,
    Rs256,
}
/// TEST ONLY P-256 private scalar (the `d` of `shared/connectors/fixtures/france_connect/
/// TEST_ONLY_private_signing_jwk.json`): stable across restarts, as a real provider's key.
const TEST_ONLY_KEY_D: &str = "LkWm7Jb6m5gqpI7oym066hpxNS7nHTSYMFeSRBjtHIw";

/// Default client of the fake (the values of the fixtures' `test_parameters.json`).
pub const CLIENT_ID: &str = "6925fb8143c76eded44d32b40c0cb1006065f7f003de52712b78985704f39950";
pub const CLIENT_SECRET: &str = "fake-client-secret-for-tests-only-0123456789abcdef";

const CODE_TTL: Duration = Duration::from_secs(30);
const TOKEN_TTL_S: u64 = 60;

/// How the fake misbehaves (default: not at all).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// The id_token carries another nonce than the one sent at authorize.
    WrongNonce,
    /// The id_token is signed with another key under the same `kid` (ES256), or its
    /// RS256 signature is altered.
    BadSignature,
    /// The id_token expired a minute ago.
    Expired,
    /// The token endpoint answers 500.
    ServerError,
    /// The token endpoint answers after this delay.
    Slow(Duration),
    /// The user cancels on FranceConnect: the callback gets `error=access_denied`.
    UserCancels,
}

/// A test identity (the claims of FranceConnect's identité pivot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Stable key; the pairwise `sub` is derived from it and the client id.
    pub key: String,
    pub given_name: String,
    pub family_name: String,
    pub birthdate: String,
    /// "male" or "female".
    pub gender: String,
    /// INSEE commune code, empty when born abroad.
    pub birthplace: String,
    /// INSEE country code, 99100 = France.
    pub birthcountry: String,
    pub email: Option<String>,
    pub preferred_username: String,
}

impl Identity {
    /// FranceConnect's demo identity (`userinfo_claims.json`).
    pub fn angela_dubois() -> Self {
        Self {
            key: "angela-dubois".into(),
            given_name: "Angela Claire Louise".into(),
            family_name: "DUBOIS".into(),
            birthdate: "1962-08-24".into(),
            gender: "female".into(),
            birthplace: "75107".into(),
            birthcountry: "99100".into(),
            email: Some("wossewodda-3728@yopmail.com".into()),
            preferred_username: String::new(),
        }
    }

    /// Born abroad (`birthplace` empty, `birthcountry` 99134 = Spain).
    pub fn born_abroad() -> Self {
        Self {
            key: "pierre-martin".into(),
            given_name: "Pierre Jean".into(),
            family_name: "MARTIN".into(),
            birthdate: "1985-03-01".into(),
            gender: "male".into(),
            birthplace: String::new(),
            birthcountry: "99134".into(),
            email: Some("pierre.martin@example.fr".into()),
            preferred_username: String::new(),
        }
    }

    /// An identity without e-mail.
    pub fn without_email() -> Self {
        Self {
            key: "lucie-bernard".into(),
            given_name: "Lucie".into(),
            family_name: "BERNARD".into(),
            birthdate: "1990-01-01".into(),
            gender: "female".into(),
            birthplace: "69123".into(),
            birthcountry: "99100".into(),
            email: None,
            preferred_username: "DURAND".into(),
        }
    }

    /// The pairwise subject for `client_id`: 64 hex characters + `v1`.
    pub fn sub(&self, client_id: &str) -> String {
        let h = Sha256::digest(format!("{}:{client_id}", self.key).as_bytes());
        format!("{}v1", hex::encode(h))
    }

    /// The claims a scope list grants (§3.2), without `sub`.
    fn claims(&self, scopes: &[&str]) -> Map<String, Value> {
        let mut names: Vec<&str> = Vec::new();
        for s in scopes {
            match *s {
                "profile" => names.extend([
                    "given_name",
                    "given_name_array",
                    "family_name",
                    "birthdate",
                    "gender",
                    "preferred_username",
                ]),
                "birth" => names.extend(["birthplace", "birthcountry"]),
                "identite_pivot" => names.extend([
                    "given_name",
                    "given_name_array",
                    "family_name",
                    "birthdate",
                    "gender",
                    "birthplace",
                    "birthcountry",
                ]),
                "given_name" => names.extend(["given_name", "given_name_array"]),
                other => names.push(other),
            }
        }
        let mut m = Map::new();
        for n in names {
            let v = match n {
                "given_name" => json!(self.given_name),
                "given_name_array" => json!(self.given_name.split(' ').collect::<Vec<_>>()),
                "family_name" => json!(self.family_name),
                "birthdate" => json!(self.birthdate),
                "gender" => json!(self.gender),
                "birthplace" => json!(self.birthplace),
                "birthcountry" => json!(self.birthcountry),
                "preferred_username" => json!(self.preferred_username),
                "email" => match &self.email {
                    Some(e) => json!(e),
                    None => continue,
                },
                _ => continue,
            };
            m.insert(n.to_string(), v);
        }
        m
    }
}

/// The service provider registered at the fake.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
}

impl Default for Client {
    fn default() -> Self {
        Self {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
        }
    }
}

struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    nonce: String,
    scope: String,
    identity: Identity,
    issued: Instant,
}

struct AccessGrant {
    client_id: String,
    scope: String,
    identity: Identity,
    expires: Instant,
}

struct State {
    client: Client,
    identity: Identity,
    fault: Fault,
    codes: HashMap<String, CodeGrant>,
    tokens: HashMap<String, AccessGrant>,
    authorize_requests: Vec<HashMap<String, String>>,
    algorithm: Algorithm,
    token_requests: usize,
    logouts: usize,
}

struct Shared {
    issuer: String,
    keys: Keys,
    state: Mutex<State>,
}

/// The published signing keys.
struct Keys {
    es256: SigningKey,
    rs256: rsa::pkcs1v15::SigningKey<Sha256>,
}

impl Keys {
    fn load() -> std::io::Result<Self> {
        use rsa::pkcs8::DecodePrivateKey;
        let rsa =
            rsa::RsaPrivateKey::from_pkcs8_pem(TEST_ONLY_RSA_KEY).map_err(std::io::Error::other)?;
        Ok(Self {
            es256: signing_key()?,
            rs256: rsa::pkcs1v15::SigningKey::new(rsa),
        })
    }

    /// A compact JWS of `claims` with the key of `alg`.
    fn sign(&self, alg: Algorithm, claims: &Value) -> String {
        match alg {
            Algorithm::Es256 => sign(&self.es256, claims),
            Algorithm::Rs256 => {
                use rsa::signature::{SignatureEncoding, Signer as _};
                let input = signing_input(&json!({ "alg": "RS256", "kid": RSA_KID }), claims);
                let sig = self.rs256.sign(input.as_bytes());
                format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
            }
        }
    }

    fn jwks(&self) -> Value {
        use rsa::traits::PublicKeyParts;
        let public = rsa::RsaPublicKey::from(self.rs256.as_ref());
        json!({ "keys": [
            jwk(&self.es256),
            {
                "kty": "RSA",
                "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
                "use": "sig",
                "alg": "RS256",
                "kid": RSA_KID,
            },
        ]})
    }
}

/// A running fake; stops when dropped.
pub struct FakeFranceConnect {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeFranceConnect {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn signing_key() -> std::io::Result<SigningKey> {
    let d = URL_SAFE_NO_PAD
        .decode(TEST_ONLY_KEY_D)
        .map_err(std::io::Error::other)?;
    SigningKey::from_slice(&d).map_err(std::io::Error::other)
}

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeFranceConnect {
    /// Starts on a free loopback port.
    pub fn start(client: Client) -> std::io::Result<Self> {
        Self::start_at(SocketAddr::from(([127, 0, 0, 1], 0)), client)
    }

    /// Starts on `addr` (the demo uses a fixed loopback port).
    pub fn start_at(addr: SocketAddr, client: Client) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            issuer: format!("http://{addr}/api/v2"),
            keys: Keys::load()?,
            state: Mutex::new(State {
                client,
                algorithm: Algorithm::Es256,
                identity: Identity::angela_dubois(),
                fault: Fault::None,
                codes: HashMap::new(),
                tokens: HashMap::new(),
                authorize_requests: Vec::new(),
                token_requests: 0,
                logouts: 0,
            }),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-france-connect".into())
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
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>/api/v2`, the `base_url` of the connector.
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    /// `127.0.0.1:<port>`, for the connector grant.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Registers a callback URL of the client (exact match, as FranceConnect).
    pub fn add_redirect_uri(&self, uri: &str) {
        lock(&self.shared.state)
            .client
            .redirect_uris
            .push(uri.into());
    }

    /// Registers a post-logout URL of the client.
    pub fn add_post_logout_redirect_uri(&self, uri: &str) {
        lock(&self.shared.state)
            .client
            .post_logout_redirect_uris
            .push(uri.into());
    }

    /// The identity the next authorizations log in as.
    pub fn set_identity(&self, identity: Identity) {
        lock(&self.shared.state).identity = identity;
    }

    pub fn set_fault(&self, fault: Fault) {
        lock(&self.shared.state).fault = fault;
    }

    /// Signs the next tokens with `algorithm`'s key.
    pub fn set_algorithm(&self, algorithm: Algorithm) {
        lock(&self.shared.state).algorithm = algorithm;
    }

    /// Query parameters of every authorize request so far.
    pub fn authorize_requests(&self) -> Vec<HashMap<String, String>> {
        lock(&self.shared.state).authorize_requests.clone()
    }

    pub fn token_requests(&self) -> usize {
        lock(&self.shared.state).token_requests
    }

    /// Completed `session/end` redirects.
    pub fn logouts(&self) -> usize {
        lock(&self.shared.state).logouts
    }

    /// Signs `claims` with the published key, as the token endpoint does.
    pub fn sign(&self, claims: &Value) -> String {
        let alg = lock(&self.shared.state).algorithm;
        self.shared.keys.sign(alg, claims)
    }
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn sign(key: &SigningKey, claims: &Value) -> String {
    let input = signing_input(&json!({ "alg": "ES256", "kid": KID }), claims);
    let sig: Signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

/// `jws` with the first byte of its signature changed.
fn altered_signature(jws: &str) -> String {
    let Some((input, signature)) = jws.rsplit_once('.') else {
        return jws.to_owned();
    };
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    if let Some(first) = bytes.first_mut() {
        *first ^= 0x01;
    }
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn jwk(key: &SigningKey) -> Value {
    let point = key.verifying_key().to_encoded_point(false);
    let x = point.x().map(|x| URL_SAFE_NO_PAD.encode(x));
    let y = point.y().map(|y| URL_SAFE_NO_PAD.encode(y));
    json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "use": "sig", "alg": "ES256", "kid": KID })
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

fn bad_request_page(reason: &str) -> Response {
    Response::html(
        400,
        &format!(
            "<!doctype html><html lang=\"fr\"><head><title>Erreur - FranceConnect</title></head>\
             <body><h1>Une erreur est survenue</h1><p>Code erreur : Y000400</p><p>{}</p></body></html>",
            reason.replace('<', "&lt;")
        ),
    )
}

async fn route(s: &Shared, req: Request) -> Response {
    let Some(path) = req.path.strip_prefix("/api/v2") else {
        return Response::json(404, &json!({ "error": "not_found" }));
    };
    match (req.method.as_str(), path) {
        ("GET", "/.well-known/openid-configuration") => discovery(s),
        ("GET", "/jwks") => Response::json(200, &s.keys.jwks()),
        ("GET", "/authorize") => authorize(s, &req.query),
        ("POST", "/authorize") => authorize(s, &req.form()),
        ("POST", "/token") => token(s, &req).await,
        ("GET", "/userinfo") => userinfo(s, &req),
        ("GET", "/session/end") => session_end(s, &req.query),
        (_, "/token") => oauth_error(405, "invalid_request", "method not allowed"),
        _ => Response::json(404, &json!({ "error": "not_found" })),
    }
}

fn discovery(s: &Shared) -> Response {
    let i = &s.issuer;
    Response::json(
        200,
        &json!({
            "acr_values_supported": ["eidas1"],
            "authorization_endpoint": format!("{i}/authorize"),
            "claims_parameter_supported": true,
            "claims_supported": ["sub", "amr", "gender", "birthdate", "birthcountry", "birthplace",
                "given_name", "given_name_array", "family_name", "email", "preferred_username",
                "acr", "auth_time", "iss", "sid"],
            "end_session_endpoint": format!("{i}/session/end"),
            "grant_types_supported": ["authorization_code"],
            "id_token_signing_alg_values_supported": ["ES256", "RS256", "HS256"],
            "issuer": i,
            "jwks_uri": format!("{i}/jwks"),
            "authorization_response_iss_parameter_supported": true,
            "response_modes_supported": ["form_post", "fragment", "query"],
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "amr", "gender", "birthdate", "birthcountry",
                "birthplace", "given_name", "family_name", "email", "preferred_username",
                "profile", "birth", "identite_pivot"],
            "subject_types_supported": ["pairwise"],
            "token_endpoint": format!("{i}/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "userinfo_endpoint": format!("{i}/userinfo"),
            "userinfo_signing_alg_values_supported": ["ES256", "RS256", "HS256"],
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "claim_types_supported": ["normal"],
        }),
    )
}

fn authorize(s: &Shared, p: &HashMap<String, String>) -> Response {
    let mut st = lock(&s.state);
    st.authorize_requests.push(p.clone());
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    if get("response_type") != "code" {
        return bad_request_page("response_type doit valoir code");
    }
    if get("client_id") != st.client.client_id {
        return bad_request_page("client_id inconnu");
    }
    let redirect_uri = get("redirect_uri");
    if !st.client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return bad_request_page("redirect_uri non enregistrée pour ce fournisseur de service");
    }
    let state = get("state");
    let nonce = get("nonce");
    if state.len() < 32 || nonce.len() < 32 {
        return bad_request_page("state et nonce doivent compter au moins 32 caractères");
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let scope = get("scope");
    if !scope.split(' ').any(|x| x == "openid") {
        return Response::redirect(&format!(
            "{redirect_uri}{sep}error=invalid_scope&error_description={}&state={}",
            encode("openid scope must be requested"),
            encode(state)
        ));
    }
    if get("acr_values") != "eidas1" {
        return bad_request_page("acr_values doit valoir eidas1");
    }
    if st.fault == Fault::UserCancels {
        return Response::redirect(&format!(
            "{redirect_uri}{sep}error=access_denied&error_description=User+auth+aborted&state={}",
            encode(state)
        ));
    }
    let code = random_token(43);
    let grant = CodeGrant {
        client_id: st.client.client_id.clone(),
        redirect_uri: redirect_uri.into(),
        nonce: nonce.into(),
        scope: scope.into(),
        identity: st.identity.clone(),
        issued: Instant::now(),
    };
    st.codes.insert(code.clone(), grant);
    Response::redirect(&format!(
        "{redirect_uri}{sep}code={}&state={}&iss={}",
        encode(&code),
        encode(state),
        encode(&s.issuer)
    ))
}

async fn token(s: &Shared, req: &Request) -> Response {
    let fault = {
        let mut st = lock(&s.state);
        st.token_requests += 1;
        st.fault.clone()
    };
    match fault {
        Fault::ServerError => {
            return oauth_error(500, "server_error", "an unexpected error occurred");
        }
        Fault::Slow(d) => tokio::time::sleep(d).await,
        _ => {}
    }
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        return oauth_error(
            400,
            "invalid_request",
            "only application/x-www-form-urlencoded content-type bodies are supported",
        );
    }
    let f = req.form();
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let mut st = lock(&s.state);
    if get("client_id") != st.client.client_id || get("client_secret") != st.client.client_secret {
        return oauth_error(401, "invalid_client", "client authentication failed");
    }
    if get("grant_type") != "authorization_code" {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "unsupported grant_type requested",
        );
    }
    let Some(grant) = st.codes.remove(get("code")) else {
        return oauth_error(400, "invalid_grant", "grant request is invalid");
    };
    if grant.issued.elapsed() > CODE_TTL
        || grant.redirect_uri != get("redirect_uri")
        || grant.client_id != get("client_id")
    {
        return oauth_error(400, "invalid_grant", "grant request is invalid");
    }
    let access_token = random_token(43);
    let now = now_s();
    let (iat, exp) = if fault == Fault::Expired {
        (now - 2 * TOKEN_TTL_S, now - TOKEN_TTL_S)
    } else {
        (now, now + TOKEN_TTL_S)
    };
    let nonce = if fault == Fault::WrongNonce {
        random_token(32)
    } else {
        grant.nonce.clone()
    };
    let digest = Sha256::digest(access_token.as_bytes());
    let claims = json!({
        "sub": grant.identity.sub(&grant.client_id),
        "auth_time": now,
        "acr": "eidas1",
        "nonce": nonce,
        "at_hash": URL_SAFE_NO_PAD.encode(&digest[..16]),
        "aud": grant.client_id,
        "exp": exp,
        "iat": iat,
        "iss": s.issuer,
    });
    let id_token = match (fault == Fault::BadSignature, st.algorithm) {
        // another key (a fixed valid scalar) under the published `kid`
        (true, Algorithm::Es256) => match SigningKey::from_slice(&[7u8; 32]) {
            Ok(other) => sign(&other, &claims),
            Err(_) => return oauth_error(500, "server_error", "no key"),
        },
        (true, Algorithm::Rs256) => altered_signature(&s.keys.sign(Algorithm::Rs256, &claims)),
        (false, alg) => s.keys.sign(alg, &claims),
    };
    st.tokens.insert(
        access_token.clone(),
        AccessGrant {
            client_id: grant.client_id,
            scope: grant.scope.clone(),
            identity: grant.identity,
            expires: Instant::now() + Duration::from_secs(TOKEN_TTL_S),
        },
    );
    Response::json(
        200,
        &json!({
            "access_token": access_token,
            "expires_in": TOKEN_TTL_S,
            "id_token": id_token,
            "scope": grant.scope,
            "token_type": "Bearer",
        }),
    )
}

fn userinfo(s: &Shared, req: &Request) -> Response {
    let invalid = || {
        oauth_error(401, "invalid_token", "invalid token provided").with_header(
            "www-authenticate",
            &format!(
                "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"invalid token provided\"",
                s.issuer
            ),
        )
    };
    let Some(token) = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return invalid();
    };
    let st = lock(&s.state);
    let Some(grant) = st.tokens.get(token.trim()) else {
        return invalid();
    };
    if grant.expires < Instant::now() {
        return invalid();
    }
    let scopes: Vec<&str> = grant.scope.split(' ').collect();
    let mut claims = grant.identity.claims(&scopes);
    let now = now_s();
    claims.insert("sub".into(), json!(grant.identity.sub(&grant.client_id)));
    claims.insert("aud".into(), json!(grant.client_id));
    claims.insert("exp".into(), json!(now + TOKEN_TTL_S));
    claims.insert("iat".into(), json!(now));
    claims.insert("iss".into(), json!(s.issuer));
    Response::new(
        200,
        "application/jwt; charset=utf-8",
        s.keys.sign(st.algorithm, &Value::Object(claims)),
    )
}

fn session_end(s: &Shared, p: &HashMap<String, String>) -> Response {
    let mut st = lock(&s.state);
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    let uri = get("post_logout_redirect_uri");
    if get("id_token_hint").is_empty() || get("state").is_empty() {
        return bad_request_page("id_token_hint et state sont obligatoires");
    }
    if !st.client.post_logout_redirect_uris.iter().any(|u| u == uri) {
        return bad_request_page("post_logout_redirect_uri non enregistrée");
    }
    st.logouts += 1;
    let sep = if uri.contains('?') { '&' } else { '?' };
    Response::redirect(&format!("{uri}{sep}state={}", encode(get("state"))))
}
