//! Annotations privées on the instructeur's dossier page: shown and filled by instructeurs
//! only, written through the dossier actor (`Command::Annotate`).

use std::collections::HashMap;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web;
use demarches_actors::domain::{self, TypeChamp};
use demarches_actors::dossier::{Act, ActError, CONFLICT_MESSAGE, Command};
use demarches_actors::store::dossier::{Author, AuthorKind};
use demarches_actors::store::revision::{ChampDefRow, RevisionDefs};
use serde_json::Value;

use super::{dossier_page, dossier_path};
use crate::queries;
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::page::{FlashKind, Page, redirect_with, render_status};
use crate::web::session::InstructeurUser;

/// One annotation of the form on the dossier page.
#[derive(Debug, Clone)]
pub struct AnnotationView {
    /// `champ_<stable id>`.
    pub name: String,
    pub label: String,
    pub description: String,
    /// Needed before a decision.
    pub mandatory: bool,
    /// "section", "checkbox", "select", "textarea" or an input type.
    pub widget: &'static str,
    pub value: String,
    pub checked: bool,
    pub options: Vec<String>,
    pub error: Option<String>,
}

impl AnnotationView {
    /// The description as safe HTML (`rich_text`).
    pub fn description_html(&self) -> String {
        crate::rich_text::to_html(&self.description)
    }

    pub fn is_selected(&self, option: &str) -> bool {
        self.value.trim() == option.trim()
    }
}

fn widget(type_champ: TypeChamp) -> &'static str {
    match type_champ {
        TypeChamp::HeaderSection | TypeChamp::Explication => "section",
        TypeChamp::Checkbox | TypeChamp::Engagement => "checkbox",
        TypeChamp::DropDownList | TypeChamp::YesNo => "select",
        TypeChamp::Textarea => "textarea",
        TypeChamp::IntegerNumber => "number",
        TypeChamp::Date => "date",
        TypeChamp::Datetime => "datetime-local",
        TypeChamp::Email => "email",
        TypeChamp::Phone => "tel",
        _ => "text",
    }
}

/// The choices of a select: the drop-down's options, « Oui » and « Non » for a yes/no.
fn options(def: &ChampDefRow) -> Vec<String> {
    match def.type_champ {
        TypeChamp::YesNo => vec!["Oui".to_owned(), "Non".to_owned()],
        _ => def.options.drop_down_options.clone(),
    }
}

/// The control's value and checked state of a stored value.
fn stored_shown(type_champ: TypeChamp, value: Option<&Value>) -> (String, bool) {
    match (type_champ, value) {
        (_, None) => (String::new(), false),
        (TypeChamp::Checkbox | TypeChamp::Engagement, Some(v)) => {
            (String::new(), domain::display(type_champ, v) == "Oui")
        }
        (
            TypeChamp::YesNo
            | TypeChamp::Phone
            | TypeChamp::DecimalNumber
            | TypeChamp::Iban
            | TypeChamp::Siret,
            Some(v),
        ) => (domain::display(type_champ, v), false),
        (_, Some(Value::String(s))) => (s.clone(), false),
        (_, Some(other)) => (other.to_string(), false),
    }
}

/// The annotations with their stored values (`typed`/`errors` after a refused save).
pub fn views(
    defs: &RevisionDefs,
    stored: &HashMap<i64, Value>,
    typed: Option<&HashMap<String, String>>,
    errors: &[(String, String)],
) -> Vec<AnnotationView> {
    defs.private()
        .map(|def| {
            let name = def.field();
            let (value, checked) = match typed {
                Some(typed) => {
                    let raw = typed.get(&name).cloned().unwrap_or_default();
                    let checked = !raw.trim().is_empty();
                    (raw, checked)
                }
                None => stored_shown(def.type_champ, stored.get(&def.stable_id)),
            };
            AnnotationView {
                error: errors
                    .iter()
                    .find(|(field, _)| *field == name)
                    .map(|(_, m)| m.clone()),
                name,
                label: def.libelle.clone(),
                description: def.description.clone(),
                mandatory: def.mandatory && def.type_champ.has_value(),
                widget: widget(def.type_champ),
                value,
                checked,
                options: options(def),
            }
        })
        .collect()
}

/// `POST /procedures/{id}/dossiers/{dossier_id}/annotations`.
pub async fn annotate(
    InstructeurUser(user): InstructeurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (procedure_id, dossier_id) = path.into_inner();
    let dossier = queries::instructeur::dossier(&state.db, user.id, procedure_id, dossier_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let defs = state
        .registry
        .env()
        .revisions
        .get(&state.db, dossier.revision_id)
        .await?;
    let typed: HashMap<String, String> = pairs.into_iter().rev().collect();
    let lock_version = typed
        .get("lock_version")
        .and_then(|v| v.parse::<i32>().ok())
        .ok_or_else(|| AppError::BadRequest("lock_version".to_owned()))?;
    // Every annotation is on the form: a missing one (an unchecked box) is blank.
    let champs = defs
        .private()
        .filter(|d| d.type_champ.has_value())
        .map(|d| {
            let raw = typed.get(&d.field()).cloned().unwrap_or_default();
            (d.stable_id, raw)
        })
        .collect();
    let act = Act {
        author: Author {
            kind: AuthorKind::Instructeur,
            user_id: Some(user.id),
            email: user.email.clone(),
        },
        expected_version: Some(lock_version),
        command: Command::Annotate { champs },
    };
    let (status, message, errors) = match state.registry.send(dossier_id, act).await {
        Ok(_) => {
            return Ok(redirect_with(
                &format!("{}#annotations", dossier_path(procedure_id, dossier_id)),
                FlashKind::Success,
                "Les annotations privées ont bien été enregistrées.",
            ));
        }
        Err(ActError::Invalid { errors, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Les annotations privées n’ont pas été enregistrées : corrigez les erreurs signalées."
                .to_owned(),
            errors
                .into_iter()
                .map(|e| (e.field, e.message))
                .collect::<Vec<_>>(),
        ),
        Err(ActError::Conflict(_)) => (StatusCode::CONFLICT, CONFLICT_MESSAGE.to_owned(), vec![]),
        Err(ActError::NotFound) => return Err(AppError::NotFound),
        Err(ActError::Forbidden) => return Err(AppError::Forbidden),
        Err(ActError::Internal(err)) => return Err(AppError::Internal(anyhow::anyhow!(err))),
        Err(other) => (StatusCode::UNPROCESSABLE_ENTITY, other.to_string(), vec![]),
    };
    let mut page = dossier_page(&state, page, &user, procedure_id, dossier_id, None).await?;
    if status != StatusCode::CONFLICT {
        page.annotations = views(&defs, &HashMap::new(), Some(&typed), &errors);
    }
    page.annotations_error = Some(message);
    render_status(&page, status)
}
