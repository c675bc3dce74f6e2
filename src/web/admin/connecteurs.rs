//! `/admin/connecteurs`: the WASM connectors this node runs (read-only), from
//! `Plugins::status()` and the loaded versions' `describe()`.

use actix_web::HttpResponse;
use actix_web::web;
use askama::Template;
use time::OffsetDateTime;

use crate::state::AppState;
use crate::web::error::AppResult;
use crate::web::page::{Page, render};
use crate::web::session::AdministrateurUser;

/// Characters of a sha256 shown.
const SHORT_DIGEST: usize = 12;

pub(super) struct ConnectorRow {
    name: String,
    /// None: no version loaded (every artifact refused, or the file was removed).
    version: Option<String>,
    digest: String,
    previous_version: Option<String>,
    capabilities: Vec<String>,
    requested_hosts: Vec<String>,
    rejection: Option<RejectionRow>,
}

/// The last refused artifact of a connector.
pub(super) struct RejectionRow {
    digest: String,
    reason: String,
    at: String,
}

#[derive(Template)]
#[template(path = "admin/connecteurs.html")]
struct ConnecteursPage {
    page: Page,
    connectors: Vec<ConnectorRow>,
    dir: String,
}

fn short(digest: &str) -> String {
    digest.chars().take(SHORT_DIGEST).collect()
}

fn when(at: std::time::SystemTime) -> String {
    let at = OffsetDateTime::from(at);
    format!(
        "{} à {:02}:{:02}:{:02} UTC",
        super::date_fr(&at),
        at.hour(),
        at.minute(),
        at.second()
    )
}

pub(super) async fn index(
    _admin: AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let connectors = state
        .plugins
        .status()
        .into_iter()
        .map(|s| {
            let info = state.plugins.current(&s.name).map(|l| l.info.clone());
            ConnectorRow {
                version: s.version,
                digest: s.digest.as_deref().map(short).unwrap_or_default(),
                previous_version: s.previous_version,
                capabilities: info
                    .as_ref()
                    .map(|i| i.capabilities.clone())
                    .unwrap_or_default(),
                requested_hosts: info.map(|i| i.requested_hosts).unwrap_or_default(),
                rejection: s.rejection.map(|r| RejectionRow {
                    digest: short(&r.digest),
                    reason: r.reason,
                    at: when(r.at),
                }),
                name: s.name,
            }
        })
        .collect();
    render(&ConnecteursPage {
        page,
        connectors,
        dir: state.config.plugins.dir.display().to_string(),
    })
}
