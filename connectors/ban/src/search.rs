// BAN address search (shared by `ban` and the `ban-v2` test guest).
// Contract: GET {base}/search/?q=…&limit=… → GeoJSON FeatureCollection;
// 400 → invalid-input, 429 → rate-limited, 5xx → unavailable.
use connector_sdk::{Address, ConnectorError, ConnectorInfo, LogLevel, host};
use serde::Deserialize;

pub const DEFAULT_BASE_URL: &str = "https://api-adresse.data.gouv.fr";

#[derive(Deserialize)]
struct Collection {
    #[serde(default)]
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    geometry: Option<Geometry>,
    #[serde(default)]
    properties: Properties,
}

#[derive(Deserialize)]
struct Geometry {
    #[serde(default)]
    coordinates: Vec<f64>,
}

#[derive(Deserialize, Default)]
struct Properties {
    label: Option<String>,
    postcode: Option<String>,
    citycode: Option<String>,
    id: Option<String>,
}

#[derive(Deserialize)]
struct ApiError {
    message: Option<String>,
    #[serde(default)]
    detail: Vec<String>,
}

pub fn base_url() -> String {
    connector_sdk::config_or("base_url", DEFAULT_BASE_URL)
        .trim_end_matches('/')
        .to_string()
}

pub fn describe(version: &str) -> ConnectorInfo {
    let base = base_url();
    let mut hosts = vec!["api-adresse.data.gouv.fr".to_string()];
    if let Some(a) = connector_sdk::authority(&base)
        && !hosts.iter().any(|h| h == a)
    {
        hosts.push(a.to_string());
    }
    ConnectorInfo {
        name: "ban".into(),
        version: version.into(),
        capabilities: vec!["address".into()],
        requested_hosts: hosts,
        config_schema:
            r#"{"type":"object","properties":{"base_url":{"type":"string","format":"uri"}}}"#.into(),
    }
}

pub fn search(query: &str, limit: u8, label_prefix: &str) -> Result<Vec<Address>, ConnectorError> {
    let q = query.trim();
    if q.is_empty() {
        return Err(ConnectorError::InvalidInput("empty query".into()));
    }
    let url = format!(
        "{}/search/?q={}&limit={}",
        base_url(),
        connector_sdk::encode_component(q),
        limit
    );
    let resp = connector_sdk::get(&url).map_err(connector_sdk::fetch_error)?;
    match resp.status {
        200..=299 => {}
        400 | 422 => {
            let msg = serde_json::from_slice::<ApiError>(&resp.body)
                .map(|e| {
                    let mut m = e.message.unwrap_or_else(|| "bad request".into());
                    if !e.detail.is_empty() {
                        m = format!("{m}: {}", e.detail.join("; "));
                    }
                    m
                })
                .unwrap_or_else(|_| "bad request".into());
            return Err(ConnectorError::InvalidInput(msg));
        }
        429 => {
            return Err(ConnectorError::RateLimited(connector_sdk::retry_after(
                &resp,
            )));
        }
        s if s >= 500 => {
            host::log(LogLevel::Warn, &format!("BAN answered {s}"));
            return Err(ConnectorError::Unavailable(connector_sdk::retry_after(
                &resp,
            )));
        }
        s => return Err(ConnectorError::Internal(format!("unexpected status {s}"))),
    }
    let coll: Collection = connector_sdk::json(&resp.body)?;
    Ok(coll
        .features
        .into_iter()
        .filter_map(|f| {
            let label = f.properties.label?;
            let coords = f.geometry.map(|g| g.coordinates).unwrap_or_default();
            let (lon, lat) = match coords.as_slice() {
                [lon, lat, ..] => (*lon, *lat),
                _ => return None,
            };
            Some(Address {
                label: format!("{label_prefix}{label}"),
                postcode: f.properties.postcode,
                citycode: f.properties.citycode,
                lon,
                lat,
                ban_id: f.properties.id,
            })
        })
        .take(usize::from(limit))
        .collect())
}
