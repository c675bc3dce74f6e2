//! Small JSON endpoints behind the pages' progressive enhancements.
//!
//! `GET /api/adresses?q=…[&procedure=<id>]`: address suggestions (signed-in users only)
//! from the address connector enabled for that démarche, with its configuration, or the
//! platform's `ban` connector when the request names no démarche or the démarche enables
//! none. The address champ stays a free text: when the connector is missing or its
//! upstream fails the answer is a 503 with a French message and the form keeps working.

use actix_web::{HttpResponse, web};
use demarches_plugins::{CallError, ConnectorError, DemarcheConfig};
use serde::{Deserialize, Serialize};

use crate::procedures::connectors;
use crate::state::AppState;
use crate::web::session::CurrentUser;

/// The platform's default address connector.
pub const ADDRESS_CONNECTOR: &str = "ban";
/// Fewer characters: no search (the BAN refuses them too).
pub const MIN_QUERY_CHARS: usize = 3;
/// Longer queries are not addresses.
pub const MAX_QUERY_CHARS: usize = 200;
pub const SUGGESTIONS: u8 = 5;
pub const UNAVAILABLE: &str = "La recherche d’adresses est momentanément indisponible. \
Vous pouvez saisir l’adresse librement.";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/adresses", web::get().to(adresses));
}

#[derive(Deserialize)]
pub struct AddressQuery {
    #[serde(default)]
    q: String,
    /// The démarche of the form asking.
    procedure: Option<i64>,
}

#[derive(Serialize)]
struct Suggestion {
    label: String,
    postcode: Option<String>,
    citycode: Option<String>,
    lon: f64,
    lat: f64,
}

#[derive(Serialize)]
struct ApiError {
    error: &'static str,
}

fn json(status: actix_web::http::StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "private, no-store"))
        .json(body)
}

async fn adresses(
    _user: CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<AddressQuery>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let q = query.q.trim();
    let chars = q.chars().count();
    if !(MIN_QUERY_CHARS..=MAX_QUERY_CHARS).contains(&chars) {
        return json(StatusCode::OK, &Vec::<Suggestion>::new());
    }
    let (connector, config) = match address_connector(&state, query.procedure).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the démarche's connectors");
            (ADDRESS_CONNECTOR.to_owned(), DemarcheConfig::default())
        }
    };
    match state
        .plugins
        .search_address_for(&connector, &config, q, SUGGESTIONS)
        .await
    {
        Ok(addresses) => {
            let suggestions: Vec<Suggestion> = addresses
                .into_iter()
                .map(|a| Suggestion {
                    label: a.label,
                    postcode: a.postcode,
                    citycode: a.citycode,
                    lon: a.lon,
                    lat: a.lat,
                })
                .collect();
            json(StatusCode::OK, &suggestions)
        }
        // A query the upstream refuses, or nothing found: no suggestion.
        Err(CallError::Guest(ConnectorError::InvalidInput(_) | ConnectorError::NotFound)) => {
            json(StatusCode::OK, &Vec::<Suggestion>::new())
        }
        Err(e) => {
            tracing::warn!(connector = %connector, error = %e, retryable = e.retryable(),
                "address search failed");
            json(
                StatusCode::SERVICE_UNAVAILABLE,
                &ApiError { error: UNAVAILABLE },
            )
        }
    }
}

/// The address connector of the démarche (and its configuration), or the platform's.
async fn address_connector(
    state: &AppState,
    procedure: Option<i64>,
) -> Result<(String, DemarcheConfig), sqlx::Error> {
    if let Some(id) = procedure {
        let mut conn = state.db.acquire().await?;
        if let Some(c) = connectors::enabled_for(&mut conn, id, "address").await? {
            return Ok((c.name.clone(), c.demarche_config()));
        }
    }
    Ok((ADDRESS_CONNECTOR.to_owned(), DemarcheConfig::default()))
}
