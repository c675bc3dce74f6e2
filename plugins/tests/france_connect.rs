//! The `france_connect` guest (identity world) against the fake FranceConnect v2
//! (`demarches-fakes`): the whole OpenID Connect flow, and every refusal the host must see
//! (wrong nonce, bad signature, expired id_token, unauthorized client, 5xx, timeout).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::wasm;
use demarches_fakes::france_connect::{
    Algorithm, CLIENT_ID, CLIENT_SECRET, Client, FakeFranceConnect, Fault, Identity, RSA_KID,
};
use demarches_plugins::{
    AuthorizeRequest, CallError, CallbackRequest, ConnectorError, LoadError, Plugins, Policy,
};

const REDIRECT_URI: &str = "http://localhost:3000/france_connect/particulier/callback";
const POST_LOGOUT: &str = "http://localhost:3000/";
const STATE: &str = "Rz4tY8uI2oP6aS1dF9gH3jK7lZ0xC5vB";
const NONCE: &str = "Xq3bM9kP2rT7vW4yZ8aC1dF5gH6jK0nL";

fn fake() -> FakeFranceConnect {
    FakeFranceConnect::start(Client {
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: vec![POST_LOGOUT.into()],
        ..Client::default()
    })
    .unwrap()
}

fn policy(fc: &FakeFranceConnect, secret: &str, timeout_ms: u64) -> Policy {
    Policy::from_toml(&format!(
        r#"
        [connectors.france_connect]
        allowed_hosts = ["oidc.franceconnect.gouv.fr", "{auth}"]
        allow_loopback = true
        allow_http = true
        timeout_ms = {timeout_ms}
        [connectors.france_connect.config]
        base_url = "{issuer}"
        client_id = "{CLIENT_ID}"
        client_secret = "{secret}"
        "#,
        auth = fc.authority(),
        issuer = fc.issuer(),
    ))
    .unwrap()
}

async fn host_with(fc: &FakeFranceConnect, secret: &str, timeout_ms: u64) -> Plugins {
    let p = Plugins::new(policy(fc, secret, timeout_ms)).unwrap();
    p.load_bytes("france_connect", &wasm("france_connect"))
        .await
        .unwrap();
    p
}

async fn host(fc: &FakeFranceConnect) -> Plugins {
    host_with(fc, CLIENT_SECRET, 3000).await
}

fn authorize_request() -> AuthorizeRequest {
    AuthorizeRequest {
        redirect_uri: REDIRECT_URI.into(),
        state: STATE.into(),
        nonce: NONCE.into(),
        scopes: Vec::new(),
    }
}

fn query_of(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// What the browser does: follow the authorize URL to FranceConnect, which answers with a
/// redirect to the callback; returns the callback's query.
async fn browser_authorize(url: &str) -> HashMap<String, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    query_of(&location)
}

/// Authorize then exchange, the way the platform does.
async fn sign_in(p: &Plugins) -> Result<demarches_plugins::Person, CallError> {
    let url = p
        .authorize_url("france_connect", authorize_request())
        .await
        .unwrap();
    let callback = browser_authorize(&url).await;
    assert_eq!(callback["state"], STATE);
    p.exchange_code(
        "france_connect",
        CallbackRequest {
            redirect_uri: REDIRECT_URI.into(),
            code: callback["code"].clone(),
            expected_nonce: NONCE.into(),
        },
    )
    .await
}

fn refused(e: CallError) -> String {
    match e {
        CallError::Guest(ConnectorError::InvalidInput(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describes_itself_as_an_identity_connector() {
    let fc = fake();
    let p = host(&fc).await;
    let info = &p.current("france_connect").unwrap().info;
    assert_eq!(info.capabilities, vec!["identity"]);
    assert!(info.requested_hosts.contains(&fc.authority()));
    assert!(info.config_schema.contains("client_secret"));
    // an identity connector is not an address connector
    assert_eq!(
        p.search_address("france_connect", "20 avenue de Ségur", 5)
            .await
            .unwrap_err(),
        CallError::Unsupported {
            connector: "france_connect".into(),
            capability: "address".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_url_carries_what_franceconnect_v2_requires() {
    let fc = fake();
    let p = host(&fc).await;
    let url = p
        .authorize_url("france_connect", authorize_request())
        .await
        .unwrap();
    assert!(
        url.starts_with(&format!("{}/authorize?", fc.issuer())),
        "{url}"
    );
    let q = query_of(&url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT_URI);
    assert_eq!(q["scope"], "openid identite_pivot email");
    assert_eq!(q["state"], STATE);
    assert_eq!(q["nonce"], NONCE);
    assert_eq!(q["acr_values"], "eidas1");
    assert_eq!(q["prompt"], "login consent");

    // FranceConnect refuses state and nonce under 32 characters: so does the connector
    let short = AuthorizeRequest {
        state: "court".into(),
        ..authorize_request()
    };
    let e = p.authorize_url("france_connect", short).await.unwrap_err();
    assert!(refused(e).contains("state"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_returns_the_verified_identity_and_a_logout_url() {
    let fc = fake();
    let p = host(&fc).await;
    let started = Instant::now();
    let person = sign_in(&p).await.unwrap();
    eprintln!(
        "exchange-code (token + jwks + userinfo) in {:?}",
        started.elapsed()
    );
    assert_eq!(person.given_name, "Angela Claire Louise");
    assert_eq!(person.family_name, "DUBOIS");
    assert_eq!(person.gender.as_deref(), Some("female"));
    assert_eq!(person.birthdate.as_deref(), Some("1962-08-24"));
    assert_eq!(person.email.as_deref(), Some("wossewodda-3728@yopmail.com"));
    assert_eq!(person.sub, Identity::angela_dubois().sub(CLIENT_ID));
    assert_eq!(person.sub.len(), 66);
    let raw: serde_json::Value = serde_json::from_str(&person.raw_claims).unwrap();
    assert_eq!(raw["birthplace"], "75107");
    assert_eq!(raw["birthcountry"], "99100");
    assert_eq!(person.id_token.split('.').count(), 3);

    let logout = p
        .logout_url("france_connect", &person.id_token, POST_LOGOUT, STATE)
        .await
        .unwrap();
    assert!(logout.starts_with(&format!("{}/session/end?", fc.issuer())));
    let q = query_of(&logout);
    assert_eq!(q["id_token_hint"], person.id_token);
    assert_eq!(q["post_logout_redirect_uri"], POST_LOGOUT);
    assert_eq!(q["state"], STATE);
    // the fake accepts it and sends the browser back
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client.get(&logout).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        format!("{POST_LOGOUT}?state={STATE}").as_str()
    );
    assert_eq!(fc.logouts(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_without_email_or_born_abroad() {
    let fc = fake();
    let p = host(&fc).await;
    fc.set_identity(Identity::without_email());
    let person = sign_in(&p).await.unwrap();
    assert_eq!(person.family_name, "BERNARD");
    assert_eq!(person.email, None);
    fc.set_identity(Identity::born_abroad());
    let person = sign_in(&p).await.unwrap();
    assert_eq!(person.gender.as_deref(), Some("male"));
    let raw: serde_json::Value = serde_json::from_str(&person.raw_claims).unwrap();
    assert_eq!(raw["birthcountry"], "99134");
    assert!(raw.get("birthplace").is_none_or(|b| b == ""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_with_another_nonce_is_refused() {
    let fc = fake();
    let p = host(&fc).await;
    fc.set_fault(Fault::WrongNonce);
    assert!(refused(sign_in(&p).await.unwrap_err()).contains("nonce mismatch"));

    // the nonce the host kept is not the one sent: refused too
    fc.set_fault(Fault::None);
    let url = p
        .authorize_url("france_connect", authorize_request())
        .await
        .unwrap();
    let callback = browser_authorize(&url).await;
    let e = p
        .exchange_code(
            "france_connect",
            CallbackRequest {
                redirect_uri: REDIRECT_URI.into(),
                code: callback["code"].clone(),
                expected_nonce: "AAAAbM9kP2rT7vW4yZ8aC1dF5gH6jK0nL".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(e).contains("nonce mismatch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_signed_with_another_key_is_refused() {
    let fc = fake();
    let p = host(&fc).await;
    fc.set_fault(Fault::BadSignature);
    assert!(refused(sign_in(&p).await.unwrap_err()).contains("invalid signature"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_tokens_are_verified_with_the_rsa_key_of_the_jwks() {
    let fc = fake();
    let p = host(&fc).await;
    fc.set_algorithm(Algorithm::Rs256);
    let person = sign_in(&p).await.unwrap();
    assert_eq!(person.family_name, "DUBOIS");
    assert_eq!(person.email.as_deref(), Some("wossewodda-3728@yopmail.com"));
    let header = person.id_token.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], RSA_KID);

    fc.set_fault(Fault::BadSignature);
    assert!(refused(sign_in(&p).await.unwrap_err()).contains("invalid signature"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_id_token_is_refused() {
    let fc = fake();
    let p = host(&fc).await;
    fc.set_fault(Fault::Expired);
    assert!(refused(sign_in(&p).await.unwrap_err()).contains("expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_is_single_use() {
    let fc = fake();
    let p = host(&fc).await;
    let url = p
        .authorize_url("france_connect", authorize_request())
        .await
        .unwrap();
    let callback = browser_authorize(&url).await;
    let request = CallbackRequest {
        redirect_uri: REDIRECT_URI.into(),
        code: callback["code"].clone(),
        expected_nonce: NONCE.into(),
    };
    p.exchange_code("france_connect", request.clone())
        .await
        .unwrap();
    let e = p
        .exchange_code("france_connect", request)
        .await
        .unwrap_err();
    assert!(refused(e).contains("invalid_grant"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_is_unauthorized() {
    let fc = fake();
    let p = host_with(&fc, "not-the-secret", 3000).await;
    let e = sign_in(&p).await.unwrap_err();
    assert_eq!(e, CallError::Guest(ConnectorError::Unauthorized));
    assert!(!e.retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_5xx_is_unavailable_and_retryable() {
    let fc = fake();
    let p = host(&fc).await;
    fc.set_fault(Fault::ServerError);
    let e = sign_in(&p).await.unwrap_err();
    assert_eq!(e, CallError::Guest(ConnectorError::Unavailable(None)));
    assert!(e.retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upstream_times_out_within_the_budget() {
    let fc = fake();
    let p = host_with(&fc, CLIENT_SECRET, 800).await;
    fc.set_fault(Fault::Slow(Duration::from_secs(5)));
    let started = Instant::now();
    let e = sign_in(&p).await.unwrap_err();
    let took = started.elapsed();
    assert!(e.retryable(), "{e:?}");
    assert!(
        matches!(
            e,
            CallError::Timeout | CallError::Guest(ConnectorError::Unavailable(None))
        ),
        "{e:?}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_franceconnect_host_is_refused_at_load() {
    let fc = fake();
    // the grant does not cover the configured issuer's host
    let policy = Policy::from_toml(&format!(
        r#"
        [connectors.france_connect]
        allowed_hosts = ["oidc.franceconnect.gouv.fr", "fcp-low.integ01.dev-franceconnect.fr"]
        [connectors.france_connect.config]
        base_url = "{}"
        "#,
        fc.issuer()
    ))
    .unwrap();
    let p = Plugins::new(policy).unwrap();
    let e = p
        .load_bytes("france_connect", &wasm("france_connect"))
        .await
        .unwrap_err();
    assert_eq!(e, LoadError::HostNotGranted(fc.authority()));
}
