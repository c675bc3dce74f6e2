//! The annotations privées of a démarche: champs that only instructeurs fill.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use demarches_actors::domain::TypeChamp;

use super::{NoFields, app_error, form_errors, procedure_for};
use crate::procedures::form_builder::{ChampInput, DraftChamp};
use crate::procedures::{EditError, Procedure, annotations};
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::form::FormErrors;
use crate::web::page::{FlashKind, Page, redirect_with, render, render_status};
use crate::web::session::AdministrateurUser;

#[derive(Template)]
#[template(path = "admin/annotations.html")]
struct AnnotationsPage {
    page: Page,
    procedure: Procedure,
    champs: Vec<DraftChamp>,
    form: ChampInput,
    errors: FormErrors,
}

impl AnnotationsPage {
    fn types(&self) -> &'static [TypeChamp] {
        &annotations::TYPES
    }
}

async fn page_for(
    state: &AppState,
    page: Page,
    procedure: Procedure,
    form: ChampInput,
    errors: FormErrors,
) -> AppResult<AnnotationsPage> {
    let mut conn = state.db.acquire().await?;
    let champs = annotations::list_draft(&mut conn, procedure.id).await?;
    Ok(AnnotationsPage {
        page,
        procedure,
        champs,
        form,
        errors,
    })
}

fn url(procedure_id: i64) -> String {
    format!("/admin/procedures/{procedure_id}/annotations")
}

pub(super) async fn index(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let mut form = ChampInput::blank();
    form.mandatory = None;
    render(&page_for(&state, page, procedure, form, FormErrors::new()).await?)
}

pub(super) async fn add(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<ChampInput>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let result = match form.parse() {
        Ok(champ) => {
            let libelle = champ.libelle.clone();
            let mut tx = state.db.begin().await?;
            match annotations::add(&mut tx, procedure.id, champ).await {
                Ok(_) => {
                    tx.commit().await?;
                    Ok(libelle)
                }
                Err(err) => Err(err),
            }
        }
        Err(errors) => Err(EditError::Invalid(errors)),
    };
    match result {
        Ok(libelle) => Ok(redirect_with(
            &url(procedure.id),
            FlashKind::Success,
            &format!("L’annotation privée « {libelle} » a bien été ajoutée."),
        )),
        Err(EditError::Invalid(errors)) => render_status(
            &page_for(&state, page, procedure, form, form_errors(errors)).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(err) => Err(app_error(err)),
    }
}

pub(super) async fn delete(
    AdministrateurUser(user): AdministrateurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let (procedure_id, stable_id) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let mut tx = state.db.begin().await?;
    annotations::delete(&mut tx, procedure.id, stable_id)
        .await
        .map_err(app_error)?;
    tx.commit().await?;
    Ok(redirect_with(
        &url(procedure.id),
        FlashKind::Success,
        "L’annotation privée a bien été supprimée.",
    ))
}
