// HTTP calls to API Entreprise and the mapping of its answers.
use connector_sdk::{ConnectorError, Header, HttpRequest, HttpResponse, LogLevel, host};
use serde::Deserialize;

pub const DEFAULT_BASE_URL: &str = "https://entreprise.api.gouv.fr";
/// DINUM, the recipient DS uses when the service's SIRET is the one queried.
pub const DEFAULT_RECIPIENT: &str = "13002526500013";
/// API Entreprise answers in a few seconds; DS waits 20 s at most.
const TIMEOUT_MS: u32 = 20_000;

pub fn base_url() -> String {
    connector_sdk::config_or("base_url", DEFAULT_BASE_URL)
        .trim_end_matches('/')
        .to_string()
}

pub struct Client {
    base: String,
    token: String,
    query: String,
}

impl Client {
    /// `siren`: the identifier queried, to pick the recipient as DS does.
    pub fn new(token: String, siren: &str) -> Self {
        let context = connector_sdk::config_or("context", "demarches");
        let default_recipient = connector_sdk::config_or("default_recipient", DEFAULT_RECIPIENT);
        let recipient = host::config_get("recipient")
            .map(|r| r.trim().to_string())
            .filter(|r| r.len() == 14 && !r.starts_with(siren))
            .unwrap_or(default_recipient);
        let object = connector_sdk::config_or("object", &context);
        let query = format!(
            "context={}&recipient={}&object={}",
            connector_sdk::encode_component(&context),
            connector_sdk::encode_component(&recipient),
            connector_sdk::encode_component(&object),
        );
        Self {
            base: base_url(),
            token,
            query,
        }
    }

    /// GET `path` and parse the JSON body of a 2xx answer.
    pub fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ConnectorError> {
        let url = format!("{}{path}?{}", self.base, self.query);
        let resp = host::http_fetch(&HttpRequest {
            method: "GET".into(),
            url,
            headers: vec![
                Header {
                    name: "accept".into(),
                    value: "application/json".into(),
                },
                Header {
                    name: "authorization".into(),
                    value: format!("Bearer {}", self.token),
                },
            ],
            body: None,
            timeout_ms: Some(TIMEOUT_MS),
        })
        .map_err(connector_sdk::fetch_error)?;
        match resp.status {
            200..=299 => serde_json::from_slice(&resp.body).map_err(|e| {
                host::log(LogLevel::Warn, &format!("{path}: malformed JSON: {e}"));
                ConnectorError::Unavailable(None)
            }),
            status => Err(error(path, status, &resp)),
        }
    }
}

#[derive(Deserialize, Default)]
struct Errors {
    #[serde(default)]
    errors: Vec<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    meta: Option<serde_json::Value>,
}

/// The connector error of a non-2xx answer.
fn error(path: &str, status: u16, resp: &HttpResponse) -> ConnectorError {
    let body: Errors = serde_json::from_slice(&resp.body).unwrap_or_default();
    let codes: Vec<&str> = body.errors.iter().map(|e| e.code.as_str()).collect();
    host::log(
        LogLevel::Info,
        &format!("{path}: API Entreprise answered {status} {codes:?}"),
    );
    let retry_in = connector_sdk::retry_after(resp).or_else(|| {
        body.errors.iter().find_map(|e| {
            e.meta
                .as_ref()?
                .get("retry_in")?
                .as_u64()
                .and_then(|s| u32::try_from(s).ok())
        })
    });
    match status {
        401 | 403 => ConnectorError::Unauthorized,
        404 => ConnectorError::NotFound,
        400 | 422 => ConnectorError::InvalidInput(
            body.errors
                .iter()
                .map(|e| e.detail.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        429 => ConnectorError::RateLimited(retry_in),
        s if s >= 500 => ConnectorError::Unavailable(retry_in),
        s => ConnectorError::Internal(format!("unexpected status {s}")),
    }
}
