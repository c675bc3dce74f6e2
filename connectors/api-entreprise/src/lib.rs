//! API Entreprise connector: SIRET → établissement + entreprise (+ association
//! when the unité légale has an RNA number), in the flat shape DS stores
//! (`etablissements` columns, `entreprise_*` and `association_*` prefixes).
//!
//! Contract (API Entreprise v3/v4, as DS calls it):
//! `GET {base}/v3/insee/sirene/etablissements/{siret}`, then
//! `GET {base}/v3/insee/sirene/unites_legales/{siren}`, then, for an
//! association, `GET {base}/v4/djepva/api-association/associations/open_data/{siren}`;
//! every call with `Authorization: Bearer <token>` and the mandatory
//! `context`, `recipient`, `object` query parameters. A blank or expired token
//! is refused before any call. 401/403 → unauthorized, 404 → not-found,
//! 422 → invalid-input, 429 → rate-limited, 5xx and timeouts → unavailable.
//!
//! Configuration (`config-get`): `token` (secret), `base_url`, `context`,
//! `default_recipient` (operator); `recipient` (SIRET of the démarche's
//! service) and `object` (the démarche) per call.
use connector_sdk::{ConnectorError, ConnectorInfo, LogLevel, host};

// The `siret-provider` world; `types` and `host` are the SDK's (address) bindings.
wit_bindgen::generate!({
    world: "siret-provider",
    path: "../../plugins/wit",
    with: {
        "demarches:connector/types@1.0.0": connector_sdk::address::demarches::connector::types,
        "demarches:connector/host@1.0.0": connector_sdk::address::demarches::connector::host,
    },
});

use exports::demarches::connector::meta::Guest as MetaGuest;
use exports::demarches::connector::siret::{Etablissement, Guest as SiretGuest};

mod adapt;
mod api;
mod token;

struct ApiEntreprise;

impl MetaGuest for ApiEntreprise {
    fn describe() -> ConnectorInfo {
        let base = api::base_url();
        // Production, plus the configured host (the sandbox, a fake) when it differs.
        let mut hosts = vec!["entreprise.api.gouv.fr".to_string()];
        if let Some(a) = connector_sdk::authority(&base)
            && !hosts.iter().any(|h| h == a)
        {
            hosts.push(a.to_string());
        }
        ConnectorInfo {
            name: "api_entreprise".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec!["siret".into()],
            requested_hosts: hosts,
            config_schema: r#"{"type":"object","properties":{"recipient":{"type":"string","pattern":"^[0-9]{14}$","description":"SIRET de l’administration destinataire des données"}}}"#.into(),
        }
    }
}

impl SiretGuest for ApiEntreprise {
    fn lookup_siret(siret: String) -> Result<Etablissement, ConnectorError> {
        let siret: String = siret.chars().filter(|c| !c.is_whitespace()).collect();
        if siret.len() != 14 || !siret.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConnectorError::InvalidInput("a SIRET is 14 digits".into()));
        }
        let token = token::usable(host::now_unix_ms() / 1000)?;
        let client = api::Client::new(token, &siret[..9]);

        let etab: serde_json::Value =
            client.get(&format!("/v3/insee/sirene/etablissements/{siret}"))?;
        let siren = siret[..9].to_string();
        // The unité légale: a retryable failure fails the look-up (the caller
        // retries later); otherwise the one nested in the établissement serves.
        let unite = match client
            .get::<serde_json::Value>(&format!("/v3/insee/sirene/unites_legales/{siren}"))
        {
            Ok(u) => Some(u),
            Err(e @ (ConnectorError::Unavailable(_) | ConnectorError::RateLimited(_))) => {
                return Err(e);
            }
            Err(e) => {
                host::log(LogLevel::Info, &format!("unite legale {siren}: {e:?}"));
                None
            }
        };
        let mut out = adapt::etablissement(&etab, unite.as_ref())?;
        if out.rna.is_some() {
            match client.get::<serde_json::Value>(&format!(
                "/v4/djepva/api-association/associations/open_data/{siren}"
            )) {
                Ok(a) => adapt::association(&mut out.json, &a),
                Err(e) => host::log(LogLevel::Info, &format!("association {siren}: {e:?}")),
            }
        }
        Ok(Etablissement {
            siret: out.siret,
            siren,
            raison_sociale: out.raison_sociale,
            naf: out.naf,
            adresse: out.adresse_ligne,
            actif: out.actif,
            raw_json: out.json.to_string(),
        })
    }
}

export!(ApiEntreprise);
