//! The SIRET step of a dossier for personnes morales (FEATURES §3): « Identifier votre
//! établissement ». `GET /dossiers/{id}/siret` shows the form, or the établissement found
//! with « Continuer avec ces informations » / « Changer de SIRET » (`?changer=1`);
//! `POST` validates the number, looks it up through the démarche's `siret` connector
//! (`external::Fetcher::for_step`, never blocking: pending or not looked up is accepted)
//! and records it through the dossier's actor (`Command::SetSiret`). Owner only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use demarches_actors::domain::{self, Etat};
use demarches_actors::dossier::{Act, ActError, Command, FieldError};
use serde::Deserialize;

use super::{author, badge_class, owned};
use crate::external::DossierEtablissement;
use crate::queries::usager::OwnedDossier;
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::form::FormErrors;
use crate::web::page::{FlashKind, Page, redirect, redirect_with, render, render_status};
use crate::web::session::CurrentUser;

#[derive(Template)]
#[template(path = "usager/siret.html")]
struct SiretPage {
    page: Page,
    dossier: OwnedDossier,
    badge: &'static str,
    /// What is stored (shown unless the usager asked to change it).
    etablissement: Option<DossierEtablissement>,
    /// Show the form (no SIRET yet, « Changer de SIRET », or an error).
    editing: bool,
    /// The SIRET in the input: as typed, or the stored one.
    siret: String,
    errors: FormErrors,
    alert: Option<String>,
    /// Where « Continuer avec ces informations » leads.
    continue_href: String,
}

#[derive(Deserialize)]
pub(super) struct StepQuery {
    changer: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct SiretForm {
    #[serde(default)]
    siret: String,
}

/// Where the dossier goes on once its établissement is known.
fn continue_href(dossier: &OwnedDossier) -> String {
    match dossier.state {
        Etat::Brouillon => format!("/dossiers/{}/brouillon", dossier.id),
        _ => format!("/dossiers/{}", dossier.id),
    }
}

/// The dossier of `user` whose SIRET may be given or changed, or where to go instead.
async fn editable(
    state: &AppState,
    id: i64,
    user: &crate::web::session::SessionUser,
) -> AppResult<Result<OwnedDossier, HttpResponse>> {
    let dossier = owned(state, id, user).await?;
    if dossier.for_individual {
        return Ok(Err(redirect(&continue_href(&dossier))));
    }
    if !matches!(dossier.state, Etat::Brouillon | Etat::EnConstruction) {
        return Ok(Err(redirect_with(
            &format!("/dossiers/{}", dossier.id),
            FlashKind::Error,
            &ActError::ReadOnly(dossier.state).to_string(),
        )));
    }
    Ok(Ok(dossier))
}

fn page_of(
    page: Page,
    dossier: OwnedDossier,
    etablissement: Option<DossierEtablissement>,
    editing: bool,
    siret: String,
) -> SiretPage {
    SiretPage {
        page,
        badge: badge_class(dossier.state),
        continue_href: continue_href(&dossier),
        editing: editing || etablissement.is_none(),
        etablissement,
        siret,
        errors: FormErrors::new(),
        alert: None,
        dossier,
    }
}

pub(super) async fn show(
    page: Page,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    query: web::Query<StepQuery>,
) -> AppResult<HttpResponse> {
    let dossier = match editable(&state, *id, &user.0).await? {
        Ok(dossier) => dossier,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let etablissement = crate::external::of_dossier_itself(&state.db, dossier.id).await?;
    let siret = etablissement
        .as_ref()
        .map(|e| e.siret.clone())
        .unwrap_or_default();
    render(&page_of(
        page,
        dossier,
        etablissement,
        query.changer.is_some(),
        siret,
    ))
}

pub(super) async fn submit(
    page: Page,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<SiretForm>,
) -> AppResult<HttpResponse> {
    let dossier = match editable(&state, *id, &user.0).await? {
        Ok(dossier) => dossier,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let typed = form.0.siret;
    let (errors, alert, status) = match domain::validate_siret(&typed) {
        // A number that cannot be a SIRET is not looked up (the SIRET champ's messages).
        Err(message) => (
            vec![FieldError {
                field: "siret".to_owned(),
                message,
            }],
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Ok(siret) => {
            let input = crate::external::Fetcher::of_state(&state)
                .for_step(dossier.id, dossier.procedure_id, &siret)
                .await;
            let act = Act {
                author: author(&user.0),
                expected_version: None,
                command: Command::SetSiret(input),
            };
            match state.registry.send(dossier.id, act).await {
                Ok(_) => return Ok(redirect(&format!("/dossiers/{}/siret", dossier.id))),
                Err(ActError::Invalid { errors, .. }) => {
                    (errors, None, StatusCode::UNPROCESSABLE_ENTITY)
                }
                Err(ActError::NotFound | ActError::Forbidden) => return Err(AppError::NotFound),
                Err(err @ ActError::ReadOnly(_)) => {
                    return Ok(redirect_with(
                        &format!("/dossiers/{}", dossier.id),
                        FlashKind::Error,
                        &err.to_string(),
                    ));
                }
                Err(err @ ActError::Internal(_)) => (
                    Vec::new(),
                    Some(err.to_string()),
                    StatusCode::INTERNAL_SERVER_ERROR,
                ),
                Err(err) => (Vec::new(), Some(err.to_string()), StatusCode::CONFLICT),
            }
        }
    };
    // What was typed stays, with its message.
    let etablissement = crate::external::of_dossier_itself(&state.db, dossier.id).await?;
    let mut view = page_of(page, dossier, etablissement, true, typed);
    view.errors = FormErrors::from(errors);
    view.alert = alert;
    render_status(&view, status)
}
