// OpenID Connect against FranceConnect v2 (connectors README §3):
// discovery and JWKS (cached through the host), authorize URL, code exchange
// (client_secret_post), id_token validation, userinfo (a signed JWT), logout URL.
use connector_sdk::{
    ConnectorError, ConnectorInfo, Header, HttpRequest, HttpResponse, LogLevel, encode_component,
    fetch_error, host,
};

use crate::exports::demarches::connector::identity::{AuthorizeRequest, CallbackRequest, Person};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jwt::{self, Expected, Jwks};

/// FranceConnect v2 production issuer.
pub const DEFAULT_BASE_URL: &str = "https://oidc.franceconnect.gouv.fr/api/v2";
/// The scopes DS asks for.
const DEFAULT_SCOPES: &str = "openid identite_pivot email";
/// FranceConnect v2 refuses shorter state and nonce values.
const MIN_STATE_LEN: usize = 32;
const DISCOVERY_TTL_S: u32 = 3600;

#[derive(Deserialize, Serialize, Clone)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub jwks_uri: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    id_token: String,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
}

pub fn base_url() -> String {
    connector_sdk::config_or("base_url", DEFAULT_BASE_URL)
        .trim_end_matches('/')
        .to_string()
}

pub fn describe(version: &str) -> ConnectorInfo {
    let base = base_url();
    // production, plus the configured issuer (integration, sandbox, a local fake)
    let mut hosts = vec!["oidc.franceconnect.gouv.fr".to_string()];
    if let Some(a) = connector_sdk::authority(&base)
        && !hosts.iter().any(|h| h == a)
    {
        hosts.push(a.to_string());
    }
    ConnectorInfo {
        name: "france_connect".into(),
        version: version.into(),
        capabilities: vec!["identity".into()],
        requested_hosts: hosts,
        config_schema: r#"{"type":"object","required":["base_url","client_id","client_secret"],"properties":{"base_url":{"type":"string","format":"uri","description":"Issuer FranceConnect v2, par exemple https://oidc.franceconnect.gouv.fr/api/v2"},"client_id":{"type":"string"},"client_secret":{"type":"string","description":"Secret (jamais affiché)"},"scopes":{"type":"string"},"prompt":{"type":"string"}}}"#.into(),
    }
}

fn required_config(key: &str) -> Result<String, ConnectorError> {
    host::config_get(key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConnectorError::Internal(format!("missing configuration {key}")))
}

fn log(level: LogLevel, msg: &str) {
    host::log(level, msg);
}

fn get(url: &str, headers: Vec<Header>) -> Result<HttpResponse, ConnectorError> {
    host::http_fetch(&HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers,
        body: None,
        timeout_ms: None,
    })
    .map_err(fetch_error)
}

/// Maps a non-2xx upstream answer.
fn upstream_error(what: &str, resp: &HttpResponse) -> ConnectorError {
    let oauth: Option<OAuthError> = serde_json::from_slice(&resp.body).ok();
    let (code, desc) = oauth
        .map(|o| {
            (
                o.error.unwrap_or_default(),
                o.error_description.unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    log(
        LogLevel::Warn,
        &format!("{what}: HTTP {} {code} {desc}", resp.status),
    );
    match resp.status {
        400 => ConnectorError::InvalidInput(format!("{what}: {code} {desc}").trim().to_string()),
        401 | 403 => ConnectorError::Unauthorized,
        404 => ConnectorError::NotFound,
        429 => ConnectorError::RateLimited(connector_sdk::retry_after(resp)),
        500..=599 => ConnectorError::Unavailable(connector_sdk::retry_after(resp)),
        s => ConnectorError::Internal(format!("{what}: unexpected HTTP {s}")),
    }
}

fn json_get<T: serde::de::DeserializeOwned>(url: &str, what: &str) -> Result<T, ConnectorError> {
    let resp = get(
        url,
        vec![Header {
            name: "accept".into(),
            value: "application/json".into(),
        }],
    )?;
    if resp.status != 200 {
        return Err(upstream_error(what, &resp));
    }
    connector_sdk::json(&resp.body)
}

/// The discovery document of `base` (cached); its issuer must be `base` exactly.
pub fn discovery(base: &str) -> Result<Discovery, ConnectorError> {
    let key = format!("discovery:{base}");
    if let Some(d) = host::cache_get(&key).and_then(|b| serde_json::from_slice(&b).ok()) {
        return Ok(d);
    }
    let d: Discovery = json_get(
        &format!("{base}/.well-known/openid-configuration"),
        "discovery",
    )?;
    if d.issuer != base {
        return Err(ConnectorError::Internal(format!(
            "discovery issuer {} differs from the configured {base}",
            d.issuer
        )));
    }
    if let Ok(bytes) = serde_json::to_vec(&d) {
        host::cache_set(&key, &bytes, DISCOVERY_TTL_S);
    }
    Ok(d)
}

/// The JWKS (cached); `fresh` skips the cache (unknown `kid`: key rotation).
fn jwks(uri: &str, fresh: bool) -> Result<Jwks, ConnectorError> {
    let key = format!("jwks:{uri}");
    if !fresh && let Some(k) = host::cache_get(&key).and_then(|b| parse_jwks(&b)) {
        return Ok(k);
    }
    let resp = get(uri, Vec::new())?;
    if resp.status != 200 {
        return Err(upstream_error("jwks", &resp));
    }
    let k = parse_jwks(&resp.body).ok_or_else(|| ConnectorError::Internal("bad jwks".into()))?;
    host::cache_set(&key, &resp.body, DISCOVERY_TTL_S);
    Ok(k)
}

fn parse_jwks(b: &[u8]) -> Option<Jwks> {
    serde_json::from_slice(b).ok()
}

/// Verifies a JWS against the provider's keys; returns its claims.
fn verified_claims(
    d: &Discovery,
    token: &str,
    what: &str,
) -> Result<Map<String, Value>, ConnectorError> {
    let refused = |r: String| {
        log(LogLevel::Warn, &format!("{what} refused: {r}"));
        ConnectorError::InvalidInput(format!("{what} refused: {r}"))
    };
    let t = jwt::parse(token).map_err(refused)?;
    let mut keys = jwks(&d.jwks_uri, false)?;
    if keys.find(t.kid.as_deref(), &t.alg).is_none() {
        keys = jwks(&d.jwks_uri, true)?;
    }
    let key = keys
        .find(t.kid.as_deref(), &t.alg)
        .ok_or_else(|| refused(format!("no {} key for kid {:?}", t.alg, t.kid)))?;
    t.verify(key).map_err(refused)?;
    Ok(t.claims)
}

fn check_state(name: &str, v: &str) -> Result<(), ConnectorError> {
    if v.len() < MIN_STATE_LEN || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ConnectorError::InvalidInput(format!(
            "{name} must be at least {MIN_STATE_LEN} alphanumeric characters"
        )));
    }
    Ok(())
}

fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn with_query(endpoint: &str, q: &str) -> String {
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{sep}{q}")
}

pub fn authorize_url(req: AuthorizeRequest) -> Result<String, ConnectorError> {
    check_state("state", &req.state)?;
    check_state("nonce", &req.nonce)?;
    let client_id = required_config("client_id")?;
    let d = discovery(&base_url())?;
    let scopes = if req.scopes.is_empty() {
        connector_sdk::config_or("scopes", DEFAULT_SCOPES)
    } else {
        req.scopes.join(" ")
    };
    if !scopes.split(' ').any(|s| s == "openid") {
        return Err(ConnectorError::InvalidInput("scope openid missing".into()));
    }
    let prompt = connector_sdk::config_or("prompt", "login consent");
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", req.redirect_uri.as_str()),
        ("scope", scopes.as_str()),
        ("state", req.state.as_str()),
        ("nonce", req.nonce.as_str()),
        ("acr_values", "eidas1"),
    ];
    if !prompt.is_empty() {
        pairs.push(("prompt", prompt.as_str()));
    }
    Ok(with_query(&d.authorization_endpoint, &query(&pairs)))
}

pub fn logout_url(
    id_token_hint: &str,
    post_logout_redirect_uri: &str,
    state: &str,
) -> Result<String, ConnectorError> {
    check_state("state", state)?;
    if id_token_hint.is_empty() {
        return Err(ConnectorError::InvalidInput("id_token_hint missing".into()));
    }
    let d = discovery(&base_url())?;
    Ok(with_query(
        &d.end_session_endpoint,
        &query(&[
            ("id_token_hint", id_token_hint),
            ("state", state),
            ("post_logout_redirect_uri", post_logout_redirect_uri),
        ]),
    ))
}

fn now_s() -> i64 {
    i64::try_from(host::now_unix_ms() / 1000).unwrap_or(i64::MAX)
}

fn token(d: &Discovery, req: &CallbackRequest) -> Result<TokenResponse, ConnectorError> {
    let client_id = required_config("client_id")?;
    let secret = required_config("client_secret")?;
    let body = query(&[
        ("grant_type", "authorization_code"),
        ("code", req.code.as_str()),
        ("redirect_uri", req.redirect_uri.as_str()),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
    ]);
    let resp = host::http_fetch(&HttpRequest {
        method: "POST".into(),
        url: d.token_endpoint.clone(),
        headers: vec![
            Header {
                name: "content-type".into(),
                value: "application/x-www-form-urlencoded".into(),
            },
            Header {
                name: "accept".into(),
                value: "application/json".into(),
            },
        ],
        body: Some(body.into_bytes()),
        timeout_ms: None,
    })
    .map_err(fetch_error)?;
    if resp.status != 200 {
        return Err(upstream_error("token", &resp));
    }
    let t: TokenResponse = connector_sdk::json(&resp.body)?;
    if !t.token_type.eq_ignore_ascii_case("bearer") {
        return Err(ConnectorError::Internal(format!(
            "token_type {} is not Bearer",
            t.token_type
        )));
    }
    Ok(t)
}

/// Userinfo: a signed JWT (`application/jwt`, v2) or plain JSON.
fn userinfo(d: &Discovery, access_token: &str) -> Result<Map<String, Value>, ConnectorError> {
    let resp = get(
        &d.userinfo_endpoint,
        vec![Header {
            name: "authorization".into(),
            value: format!("Bearer {access_token}"),
        }],
    )?;
    if resp.status != 200 {
        return Err(upstream_error("userinfo", &resp));
    }
    let is_jwt = resp.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("content-type") && h.value.starts_with("application/jwt")
    });
    if is_jwt {
        let token = String::from_utf8(resp.body)
            .map_err(|_| ConnectorError::Internal("userinfo is not text".into()))?;
        verified_claims(d, token.trim(), "userinfo")
    } else {
        connector_sdk::json(&resp.body)
    }
}

fn claim(c: &Map<String, Value>, k: &str) -> Option<String> {
    c.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub fn exchange_code(req: CallbackRequest) -> Result<Person, ConnectorError> {
    if req.code.is_empty() {
        return Err(ConnectorError::InvalidInput("code missing".into()));
    }
    let client_id = required_config("client_id")?;
    let d = discovery(&base_url())?;
    let t = token(&d, &req)?;
    let id_claims = verified_claims(&d, &t.id_token, "id_token")?;
    jwt::check_id_token(
        &id_claims,
        &Expected {
            issuer: &d.issuer,
            client_id: &client_id,
            nonce: &req.expected_nonce,
            now_s: now_s(),
            access_token: &t.access_token,
        },
    )
    .map_err(|r| {
        log(LogLevel::Warn, &format!("id_token refused: {r}"));
        ConnectorError::InvalidInput(format!("id_token refused: {r}"))
    })?;
    let sub = claim(&id_claims, "sub").unwrap_or_default();
    let info = userinfo(&d, &t.access_token)?;
    if claim(&info, "sub").as_deref() != Some(sub.as_str()) {
        return Err(ConnectorError::InvalidInput(
            "userinfo refused: sub differs from the id_token".into(),
        ));
    }
    if let Some(iss) = claim(&info, "iss")
        && iss != d.issuer
    {
        return Err(ConnectorError::InvalidInput(
            "userinfo refused: wrong issuer".into(),
        ));
    }
    let mut raw = info.clone();
    for k in ["iss", "aud", "exp", "iat"] {
        raw.remove(k);
    }
    Ok(Person {
        sub,
        given_name: claim(&info, "given_name").unwrap_or_default(),
        family_name: claim(&info, "family_name").unwrap_or_default(),
        email: claim(&info, "email"),
        birthdate: claim(&info, "birthdate"),
        gender: claim(&info, "gender"),
        raw_claims: Value::Object(raw).to_string(),
        id_token: t.id_token,
    })
}
