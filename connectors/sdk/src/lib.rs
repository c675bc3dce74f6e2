//! Guest side of `demarches:connector@1.0.0`: wit-bindgen bindings of the
//! `address-provider` world plus small HTTP/JSON helpers over `host.http-fetch`.
//!
//! A connector of another world generates its own bindings and maps the shared
//! `types` and `host` interfaces onto these ones (wit-bindgen `with`), so the
//! helpers below serve it too (see `connectors/france-connect`). Two exporting
//! worlds cannot live in this one crate: their export macros would collide.
//!
//! A connector implements `address::exports::…::address::Guest` and
//! `…::meta::Guest`, then calls `connector_sdk::export_address_provider!(MyType);`.
//!
//! A connector of another world generates that world in its own crate (one world per
//! crate: the export macros of two worlds would clash) and maps the shared interfaces
//! onto these bindings with `with` (see `connectors/api-entreprise`), so the helpers
//! below serve every world.

/// Bindings of the `address-provider` world.
pub mod address {
    wit_bindgen::generate!({
        world: "address-provider",
        path: "../../plugins/wit",
        pub_export_macro: true,
        export_macro_name: "export_address_provider",
        default_bindings_module: "connector_sdk::address",
    });
}

pub use address::demarches::connector::host;
pub use address::demarches::connector::types::{
    ConnectorError, ConnectorInfo, Header, HttpRequest, HttpResponse, LogLevel,
};
pub use address::export_address_provider;
pub use address::exports::demarches::connector::address::{Address, Guest as AddressGuest};
pub use address::exports::demarches::connector::meta::Guest as MetaGuest;
pub use host::FetchError;

/// `host:port` (or `host`) of an absolute http(s) URL, as declared in
/// `requested-hosts`. None for anything that is not `scheme://authority/…`.
pub fn authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &rest[..end];
    let auth = auth.rsplit('@').next().unwrap_or(auth);
    (!auth.is_empty()).then_some(auth)
}

/// Percent-encodes a query-string component (RFC 3986 unreserved kept).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// GET `url` through the host with an `Accept: application/json` header.
pub fn get(url: &str) -> Result<HttpResponse, FetchError> {
    host::http_fetch(&HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers: vec![Header {
            name: "accept".into(),
            value: "application/json".into(),
        }],
        body: None,
        timeout_ms: None,
    })
}

/// Maps a host fetch error onto the connector error the caller sees.
pub fn fetch_error(e: FetchError) -> ConnectorError {
    match e {
        FetchError::DeniedHost(h) => ConnectorError::Internal(format!("host denied: {h}")),
        FetchError::Timeout => ConnectorError::Unavailable(None),
        FetchError::TooLarge => ConnectorError::Internal("response too large".into()),
        FetchError::Network(m) => {
            host::log(LogLevel::Warn, &format!("network error: {m}"));
            ConnectorError::Unavailable(None)
        }
    }
}

/// Parses a JSON body.
pub fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| ConnectorError::Internal(format!("bad json: {e}")))
}

/// `Retry-After` in seconds, when the upstream sent one.
pub fn retry_after(resp: &HttpResponse) -> Option<u32> {
    resp.headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("retry-after"))
        .and_then(|h| h.value.trim().parse().ok())
}

/// Config value or a default.
pub fn config_or(key: &str, default: &str) -> String {
    host::config_get(key).unwrap_or_else(|| default.to_string())
}
