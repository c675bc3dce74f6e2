//! « Prévisualiser » (DS `apercu`): the draft form as the usager will see it, rendered with
//! the usager's own form templates (`usager/_fields.html`). Nothing on it can be saved: the
//! form has no action and its buttons are disabled; no dossier is created.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use demarches_actors::domain::repetition;
use serde_json::Value;
use uuid::Uuid;

use super::procedure_for;
use crate::procedures::Procedure;
use crate::state::AppState;
use crate::web::error::{AppError, AppResult};
use crate::web::page::{Page, render};
use crate::web::session::AdministrateurUser;
use crate::web::usager::form::{FormView, Widget};

#[derive(Template)]
#[template(path = "admin/preview.html")]
struct PreviewPage {
    page: Page,
    procedure: Procedure,
    form: FormView,
    preview: bool,
    max_file_size: String,
    max_files: usize,
    /// The map tiles of the champs « carte ».
    carte: crate::config::CarteConfig,
}

pub(super) async fn show(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let revision = procedure.draft_revision_id.ok_or(AppError::NotFound)?;
    let defs = state
        .registry
        .env()
        .revisions
        .get(&state.db, revision)
        .await?;
    // Each bloc répétable shows one empty row, as its children appear to the usager.
    let values: HashMap<i64, Value> = defs
        .public()
        .filter(|d| d.type_champ.is_repetition())
        .map(|d| (d.stable_id, repetition::rows_value(&[Uuid::new_v4()])))
        .collect();
    let form = FormView::stored(
        procedure.for_individual,
        &defs,
        &values,
        &HashMap::new(),
        None,
        &state.geo,
    );
    render(&PreviewPage {
        page,
        procedure,
        form,
        preview: true,
        max_file_size: crate::web::pieces::human_size(state.config.storage.max_file_bytes),
        max_files: state.config.storage.max_files_per_champ,
        carte: state.config.carte.clone(),
    })
}
