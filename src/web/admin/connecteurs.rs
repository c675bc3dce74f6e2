//! `/admin/connecteurs`: the WASM connectors this node runs, from `Plugins::status()`
//! and the loaded versions' `describe()`, with a rollback button where the plugins
//! directory keeps a previous artifact (`<name>.wasm.previous`): the rollback is a file
//! operation in the watched directory, so every node converges on it.

use actix_web::HttpResponse;
use actix_web::web;
use askama::Template;
use time::OffsetDateTime;

use super::NoFields;
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::page::{FlashKind, Page, redirect_with, render};
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
    /// `<name>.wasm.previous` exists: a rollback is possible.
    can_roll_back: bool,
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
    let dir = &state.config.plugins.dir;
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
                can_roll_back: demarches_plugins::files::previous_path(dir, &s.name).is_file(),
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

pub(super) async fn rollback(
    _admin: AdministrateurUser,
    state: web::Data<AppState>,
    name: web::Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    use demarches_plugins::files::{self, RollbackError};
    let dir = &state.config.plugins.dir;
    let message = match files::rollback(dir, &name).await {
        Ok(_) => {
            // This node converges now; the others through their watcher.
            state.plugins.reconcile_dir(dir).await;
            let version = state
                .plugins
                .current(&name)
                .map(|l| l.version.clone())
                .unwrap_or_else(|| "?".into());
            (
                FlashKind::Success,
                format!("La version précédente de « {name} » est remise en service : {version}."),
            )
        }
        Err(RollbackError::NoPrevious(_)) | Err(RollbackError::BadName(_)) => (
            FlashKind::Error,
            format!(
                "Aucune version précédente de « {name} » n’est conservée dans le dossier des connecteurs."
            ),
        ),
        Err(RollbackError::NoCurrent(_)) => (
            FlashKind::Error,
            format!("« {name} » n’a pas d’artefact en service à remplacer."),
        ),
        Err(RollbackError::Io(e)) => {
            tracing::error!(connector = %name, error = %e, "rollback failed");
            (
                FlashKind::Error,
                format!(
                    "Le retour à la version précédente de « {name} » a échoué : le dossier des connecteurs n’est pas accessible en écriture."
                ),
            )
        }
    };
    Ok(redirect_with("/admin/connecteurs", message.0, &message.1))
}
