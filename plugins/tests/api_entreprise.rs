//! The API Entreprise connector (`connectors/api-entreprise`) in the real host, against
//! the loopback fake of API Entreprise (`demarches-fakes`): the établissement as DS stores
//! it, the mandatory parameters and the token, and every failure mapped onto the
//! connector errors (not found, unauthorized, malformed, timeout, 5xx, rate limit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::wasm;
use demarches_fakes::api_entreprise::{FakeApiEntreprise, Fault, token, valid_token};
use demarches_plugins::{CallError, ConnectorError, DemarcheConfig, Plugins, Policy};
use serde_json::Value;

const NAME: &str = "api_entreprise";
const SGG: &str = "12000101100010";

/// A host with `api_entreprise` granted to reach the fake with `token` (none: no token).
async fn host(up: &FakeApiEntreprise, token: Option<&str>) -> Plugins {
    let token_line = token
        .map(|t| format!("token = \"{t}\""))
        .unwrap_or_default();
    let text = format!(
        r#"
        [connectors.api_entreprise]
        allowed_hosts = ["entreprise.api.gouv.fr", "staging.entreprise.api.gouv.fr", "{auth}"]
        allow_loopback = true
        allow_http = true
        timeout_ms = 1000
        [connectors.api_entreprise.config]
        base_url = "{base}"
        context = "demarches-tests"
        default_recipient = "13002526500013"
        {token_line}
        "#,
        auth = up.authority(),
        base = up.base_url(),
    );
    let p = Plugins::new(Policy::from_toml(&text).unwrap()).unwrap();
    p.load_bytes(NAME, &wasm(NAME)).await.unwrap();
    p
}

fn demarche(recipient: &str) -> DemarcheConfig {
    DemarcheConfig::from_json(&serde_json::json!({
        "recipient": recipient,
        "object": "procedure_id: 42",
    }))
}

fn raw(e: &demarches_plugins::Etablissement) -> Value {
    serde_json::from_str(&e.raw_json).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describes_itself_as_a_siret_connector() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&valid_token())).await;
    let info = &p.current(NAME).unwrap().info;
    assert_eq!(info.name, NAME);
    assert_eq!(info.version, "1.0.0");
    assert_eq!(info.capabilities, vec!["siret"]);
    assert!(info.requested_hosts.contains(&up.authority()));
    assert!(
        info.requested_hosts
            .contains(&"entreprise.api.gouv.fr".to_owned())
    );
    // One world per call: a SIRET connector does not search addresses.
    let e = p.search_address(NAME, "Paris", 1).await.unwrap_err();
    assert!(
        matches!(
            e,
            CallError::Unsupported { ref capability, .. } if capability == "address"
        ),
        "{e:?}"
    );
    assert!(!e.retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etablissement_and_entreprise_as_ds_stores_them() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&valid_token())).await;
    let e = p
        .lookup_siret(NAME, &demarche("55204944776279"), SGG)
        .await
        .unwrap();
    assert_eq!(e.siret, SGG);
    assert_eq!(e.siren, "120001011");
    assert_eq!(e.raison_sociale, "SECRETARIAT GENERAL DU GOUVERNEMENT");
    assert_eq!(e.naf.as_deref(), Some("84.11Z"));
    assert_eq!(
        e.adresse.as_deref(),
        Some("57 RUE DE VARENNE, 75007 PARIS 7, FRANCE")
    );
    assert!(e.actif);
    let ds = raw(&e);
    assert_eq!(ds["siret"], SGG);
    assert_eq!(ds["siege_social"], true);
    assert_eq!(ds["naf"], "84.11Z");
    assert_eq!(ds["libelle_naf"], "Administration publique générale");
    assert_eq!(ds["numero_voie"], "57");
    assert_eq!(ds["type_voie"], "RUE");
    assert_eq!(ds["nom_voie"], "DE VARENNE");
    assert_eq!(ds["code_postal"], "75007");
    assert_eq!(ds["localite"], "PARIS 7");
    assert_eq!(ds["code_insee_localite"], "75107");
    // acheminement_postal l1..l7 joined with CRLF, empty lines kept (DS quirk)
    assert_eq!(
        ds["adresse"],
        "SECRETARIAT GENERAL DU GOUVERNEMENT\r\n\r\n\r\n57 RUE DE VARENNE\r\n\r\n75007 PARIS 7\r\nFRANCE"
    );
    assert_eq!(ds["entreprise_siren"], "120001011");
    assert_eq!(
        ds["entreprise_raison_sociale"],
        "SECRETARIAT GENERAL DU GOUVERNEMENT"
    );
    assert_eq!(ds["entreprise_forme_juridique_code"], "7120");
    assert_eq!(
        ds["entreprise_forme_juridique"],
        "Service central d'un ministère"
    );
    assert_eq!(ds["entreprise_etat_administratif"], "actif");
    assert_eq!(ds["entreprise_siret_siege_social"], SGG);

    // Two calls, each with the token and the mandatory parameters.
    let reqs = up.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/v3/insee/sirene/etablissements/12000101100010",
            "/v3/insee/sirene/unites_legales/120001011"
        ]
    );
    for r in &reqs {
        assert_eq!(
            r.authorization.as_deref(),
            Some(format!("Bearer {}", valid_token()).as_str())
        );
        assert_eq!(r.query["context"], "demarches-tests");
        assert_eq!(r.query["recipient"], "55204944776279");
        assert_eq!(r.query["object"], "procedure_id: 42");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipient_defaults_when_the_service_is_the_entity_looked_up() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&valid_token())).await;
    p.lookup_siret(NAME, &demarche(SGG), SGG).await.unwrap();
    assert!(
        up.requests()
            .iter()
            .all(|r| r.query["recipient"] == "13002526500013")
    );
    // No démarche config at all: the defaults still satisfy the API.
    p.lookup_siret(NAME, &DemarcheConfig::default(), SGG)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sole_trader_closed_and_association() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&valid_token())).await;
    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), "47846480300319")
        .await
        .unwrap();
    let ds = raw(&e);
    assert!(ds["entreprise_raison_sociale"].is_null());
    assert!(ds["entreprise_nom"].is_string(), "{ds}");
    assert!(!e.raison_sociale.is_empty());

    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), "35005144700018")
        .await
        .unwrap();
    assert!(!e.actif);
    assert_eq!(raw(&e)["etat_administratif"], "fermé");

    // An association: the RNA number, then the open data look-up (404 here: kept out).
    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), "77567227221138")
        .await
        .unwrap();
    assert_eq!(raw(&e)["association_rna"], "W751004076");
    assert!(
        up.requests()
            .iter()
            .any(|r| r.path == "/v4/djepva/api-association/associations/open_data/775672272")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_siret_is_not_found() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&valid_token())).await;
    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), "73282932000074")
        .await
        .unwrap_err();
    assert_eq!(e, CallError::Guest(ConnectorError::NotFound));
    assert!(!e.retryable());
    up.fail(SGG, Fault::NotFound);
    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), SGG)
        .await
        .unwrap_err();
    assert_eq!(e, CallError::Guest(ConnectorError::NotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_siret_is_refused_before_any_call() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&valid_token())).await;
    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), "1234")
        .await
        .unwrap_err();
    assert!(
        matches!(e, CallError::Guest(ConnectorError::InvalidInput(_))),
        "{e:?}"
    );
    assert_eq!(up.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_token_and_missing_scope() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&valid_token())).await;
    up.fail(SGG, Fault::Unauthorized);
    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), SGG)
        .await
        .unwrap_err();
    assert_eq!(e, CallError::Guest(ConnectorError::Unauthorized));
    assert!(!e.retryable());

    // A valid token without the INSEE scopes: 403 → unauthorized.
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&token("valid_open_data_only").unwrap())).await;
    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), SGG)
        .await
        .unwrap_err();
    assert_eq!(e, CallError::Guest(ConnectorError::Unauthorized));
    assert_eq!(up.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blank_or_expired_token_never_calls() {
    for t in [
        None,
        Some(token("expired").unwrap()),
        Some("   ".to_owned()),
    ] {
        let up = FakeApiEntreprise::start().await.unwrap();
        let p = host(&up, t.as_deref()).await;
        let e = p
            .lookup_siret(NAME, &DemarcheConfig::default(), SGG)
            .await
            .unwrap_err();
        assert_eq!(e, CallError::Guest(ConnectorError::Unauthorized), "{t:?}");
        assert_eq!(up.hits(), 0, "{t:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_unavailable() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&valid_token())).await;
    up.fail(SGG, Fault::Malformed);
    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), SGG)
        .await
        .unwrap_err();
    assert_eq!(e, CallError::Guest(ConnectorError::Unavailable(None)));
    assert!(e.retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_upstream_times_out_within_budget() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&valid_token())).await;
    up.fail(SGG, Fault::Hang(Duration::from_secs(5)));
    let t = Instant::now();
    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), SGG)
        .await
        .unwrap_err();
    let took = t.elapsed();
    assert_eq!(e, CallError::Timeout);
    assert!(e.retryable());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    // The host is fine afterwards.
    up.heal(SGG);
    assert!(
        p.lookup_siret(NAME, &DemarcheConfig::default(), SGG)
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_rate_limit_are_retryable() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let p = host(&up, Some(&valid_token())).await;
    for status in [502, 503, 504] {
        up.fail(SGG, Fault::ServerError(status));
        let e = p
            .lookup_siret(NAME, &DemarcheConfig::default(), SGG)
            .await
            .unwrap_err();
        assert_eq!(
            e,
            CallError::Guest(ConnectorError::Unavailable(None)),
            "{status}"
        );
        assert!(e.retryable());
    }
    up.fail(SGG, Fault::RateLimited(30));
    let e = p
        .lookup_siret(NAME, &DemarcheConfig::default(), SGG)
        .await
        .unwrap_err();
    assert_eq!(e, CallError::Guest(ConnectorError::RateLimited(Some(30))));
    assert!(e.retryable());
    // The upstream is back: the same SIRET answers.
    up.heal(SGG);
    assert_eq!(
        p.lookup_siret(NAME, &DemarcheConfig::default(), SGG)
            .await
            .unwrap()
            .siret,
        SGG
    );
}
