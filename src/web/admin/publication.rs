//! Test and publication of a démarche, and closing it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use demarches_actors::EventKind;
use serde::Deserialize;

use super::{NoFields, app_error, date_fr, procedure_for};
use crate::procedures::publication::{MissingStep, PublishError, missing_steps};
use crate::procedures::revisions::{self, Impact};
use crate::procedures::{EditError, Procedure};
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::form::FormErrors;
use crate::web::page::{FlashKind, Page, redirect_with, render, render_status};
use crate::web::session::AdministrateurUser;
use demarches_actors::store::rebase;

#[derive(Template)]
#[template(path = "admin/publication.html")]
struct PublicationPage {
    page: Page,
    procedure: Procedure,
    missing: Vec<MissingStep>,
    path: String,
    errors: FormErrors,
    /// `<base>/commencer/` : the fixed part of the link.
    commencer_url: String,
    test_url: String,
    public_url: String,
    /// What the draft changes against the published form (French lines).
    modifications: Vec<String>,
    /// What publishing them does to the dossiers (a published démarche with changes).
    impact: Option<Impact>,
    /// Dossiers still moving to the published revision (rebase job under way).
    pending: i64,
}

impl PublicationPage {
    fn path_hint(&self) -> String {
        format!(
            "Lettres minuscules sans accent, chiffres et tirets, de 3 à 50 caractères. Le lien complet commence par {}",
            self.commencer_url
        )
    }
    fn pending_line(&self) -> String {
        if self.pending > 1 {
            format!(
                "{} dossiers restent à passer sur le formulaire publié.",
                self.pending
            )
        } else {
            "1 dossier reste à passer sur le formulaire publié.".to_owned()
        }
    }
    fn published_on(&self) -> String {
        self.procedure
            .published_at
            .as_ref()
            .map(date_fr)
            .unwrap_or_default()
    }
}

async fn publication_page(
    state: &AppState,
    page: Page,
    procedure: Procedure,
    path: String,
    errors: FormErrors,
) -> AppResult<PublicationPage> {
    let mut conn = state.db.acquire().await?;
    let missing = missing_steps(&mut conn, procedure.id).await?;
    let changes = revisions::draft_changes(&mut conn, procedure.id).await?;
    let impact = if changes.is_empty() {
        None
    } else {
        Some(revisions::impact(&mut conn, procedure.id, &changes).await?)
    };
    let pending = if procedure.published_revision_id.is_some() {
        rebase::pending(&state.db, procedure.id).await?
    } else {
        0
    };
    Ok(PublicationPage {
        modifications: changes.iter().flat_map(|c| c.summary()).collect(),
        impact,
        pending,
        commencer_url: state.config.url("/commencer/"),
        test_url: state
            .config
            .url(&format!("/commencer/test/{}", procedure.path)),
        public_url: state.config.url(&format!("/commencer/{}", procedure.path)),
        page,
        procedure,
        missing,
        path,
        errors,
    })
}

pub(super) async fn show(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let link = procedure.path.clone();
    let body = publication_page(&state, page, procedure, link, FormErrors::new()).await?;
    render(&body)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PublishForm {
    path: String,
}

pub(super) async fn publish(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<PublishForm>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let republish = !procedure.state.is_brouillon();
    let mut tx = state.db.begin().await?;
    match crate::procedures::publish(&mut tx, procedure.id, &form.path).await {
        Ok(published) => {
            tx.commit().await?;
            for dossier_id in &published.deleted_test_dossiers {
                state.registry.forget(*dossier_id).await;
            }
            state.bus.publish(EventKind::ProcedureChanged {
                procedure_id: procedure.id,
            });
            let message = if republish {
                "La démarche est publiée avec ses modifications."
            } else {
                "La démarche est publiée. Diffusez son lien aux usagers."
            };
            Ok(redirect_with(
                &format!("/admin/procedures/{}/publication", procedure.id),
                FlashKind::Success,
                message,
            ))
        }
        Err(PublishError::Refused { missing, path }) => {
            let mut errors = FormErrors::new();
            if let Some(message) = path {
                errors.add("path", message);
            }
            for step in missing {
                errors.add(step.field(), step.message());
            }
            let body = publication_page(&state, page, procedure, form.path, errors).await?;
            render_status(&body, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(PublishError::NotFound) => Err(AppError::NotFound),
        Err(PublishError::Database(err)) => Err(err.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/close.html")]
struct ClosePage {
    page: Page,
    procedure: Procedure,
}

pub(super) async fn close_form(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    render(&ClosePage { page, procedure })
}

pub(super) async fn close(
    AdministrateurUser(user): AdministrateurUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let location = format!("/admin/procedures/{}", procedure.id);
    let mut tx = state.db.begin().await?;
    match crate::procedures::close(&mut tx, procedure.id).await {
        Ok(()) => {
            tx.commit().await?;
            state.bus.publish(EventKind::ProcedureChanged {
                procedure_id: procedure.id,
            });
            Ok(redirect_with(
                &location,
                FlashKind::Success,
                "La démarche est close : aucun nouveau dossier ne peut plus être déposé. Les dossiers déposés peuvent toujours être instruits.",
            ))
        }
        Err(EditError::Refused(message)) => {
            Ok(redirect_with(&location, FlashKind::Error, &message))
        }
        Err(err) => Err(app_error(err)),
    }
}
