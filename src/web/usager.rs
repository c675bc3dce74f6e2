//! Pages of the usager area: the public page of a démarche (`/commencer/…`), the dossier
//! form (brouillon, then modifications en construction), "Mes dossiers" and the summary
//! of a dossier. Reads query PostgreSQL; every write goes through the dossier's actor
//! (creation through `store::dossier::create`; the move of a dossier the rebase job has
//! not reached yet, as its usager opens it, through `store::rebase::rebase_dossier`, like
//! the job).

pub(crate) mod form;
mod siret;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use demarches_actors::EventKind;
use demarches_actors::domain::{Etat, Transition};
use demarches_actors::dossier::decide::event_kind;
use demarches_actors::dossier::{Act, ActError, ActOutcome, Command, FieldError};
use demarches_actors::store::dossier::{self as dossier_store, Author, AuthorKind};
use demarches_actors::store::rebase;
use demarches_actors::store::revision::RevisionDefs;
use serde::Deserialize;

use crate::queries::usager::{
    self as queries, Demarche, DossierLine, IndividualRow, OwnedDossier, ProcedureState, Tab,
};
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::form::FormErrors;
use crate::web::page::{
    FlashKind, Page, redirect, redirect_with, render, render_status, url_encode,
};
use crate::web::pieces::FileView;
use crate::web::session::{CurrentUser, MaybeUser, SessionUser};
use form::{FormView, RawForm, SummaryItem, Widget};

pub const PER_PAGE: u32 = 25;
pub const MSG_BROUILLON_SAVED: &str = "Votre brouillon a bien été enregistré.";
pub const MSG_DEPOSED: &str =
    "Votre dossier a bien été déposé. Vous allez recevoir un accusé de réception par e-mail.";
pub const MSG_MODIFIED: &str = "Vos modifications ont bien été déposées.";
pub const MSG_UNCHANGED: &str = "Aucune modification n’a été apportée au dossier.";
pub const MSG_CLOSED_TITLE: &str = "Cette démarche est close";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/commencer/test/{path}", web::get().to(commencer_test))
        .route("/commencer/test/{path}", web::post().to(start_test))
        .route("/commencer/{path}", web::get().to(commencer))
        .route("/commencer/{path}", web::post().to(start))
        .route("/dossiers", web::get().to(list))
        .route("/dossiers/{id}", web::get().to(show))
        .route("/dossiers/{id}/siret", web::get().to(siret::show))
        .route("/dossiers/{id}/siret", web::post().to(siret::submit))
        .route("/dossiers/{id}/brouillon", web::get().to(brouillon))
        .route("/dossiers/{id}/brouillon", web::post().to(save_brouillon))
        .route(
            "/dossiers/{id}/brouillon/autosave",
            web::post().to(autosave),
        )
        .route("/dossiers/{id}/modifier", web::get().to(modifier))
        .route("/dossiers/{id}/modifier", web::post().to(save_modifier));
}

fn author(user: &SessionUser) -> Author {
    Author {
        kind: AuthorKind::Usager,
        user_id: Some(user.id),
        email: user.email.clone(),
    }
}

/// DSFR badge modifier of a dossier state.
fn badge_class(etat: Etat) -> &'static str {
    match etat {
        Etat::Brouillon => "",
        Etat::EnConstruction => "fr-badge--info",
        Etat::EnInstruction => "fr-badge--new",
        Etat::Accepte => "fr-badge--success",
        Etat::Refuse => "fr-badge--error",
        Etat::SansSuite => "",
    }
}

/// A dossier in a list, with where its owner continues.
pub struct DossierLink {
    pub id: i64,
    pub procedure_libelle: String,
    pub libelle: &'static str,
    pub badge: &'static str,
    pub updated: String,
    pub href: String,
    pub action: &'static str,
}

impl From<DossierLine> for DossierLink {
    fn from(line: DossierLine) -> Self {
        let brouillon = line.state == Etat::Brouillon;
        DossierLink {
            id: line.id,
            libelle: line.state.libelle(),
            badge: badge_class(line.state),
            updated: line.updated,
            href: if brouillon {
                format!("/dossiers/{}/brouillon", line.id)
            } else {
                format!("/dossiers/{}", line.id)
            },
            action: if brouillon {
                "Continuer"
            } else {
                "Voir le dossier"
            },
            procedure_libelle: line.procedure_libelle,
        }
    }
}

fn paragraphs(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------- /commencer

#[derive(Template)]
#[template(path = "usager/commencer.html")]
struct CommencerPage {
    page: Page,
    demarche: Demarche,
    description: Vec<String>,
    test: bool,
    action: String,
    sign_in: String,
    sign_up: String,
    dossiers: Vec<DossierLink>,
}

#[derive(Template)]
#[template(path = "usager/closed.html")]
struct ClosedPage {
    page: Page,
    demarche: Demarche,
    dossiers: Vec<DossierLink>,
}

async fn find_demarche(state: &AppState, path: &str) -> AppResult<Demarche> {
    queries::demarche_by_path(&state.db, path)
        .await?
        .ok_or(AppError::NotFound)
}

async fn dossiers_of(
    state: &AppState,
    user: Option<&SessionUser>,
    demarche: &Demarche,
) -> AppResult<Vec<DossierLink>> {
    Ok(match user {
        Some(user) => queries::dossiers_on_demarche(&state.db, user.id, demarche.id)
            .await?
            .into_iter()
            .map(DossierLink::from)
            .collect(),
        None => Vec::new(),
    })
}

async fn commencer_page(
    state: &AppState,
    page: Page,
    user: Option<SessionUser>,
    demarche: Demarche,
    test: bool,
) -> AppResult<HttpResponse> {
    let dossiers = dossiers_of(state, user.as_ref(), &demarche).await?;
    let action = if test {
        format!("/commencer/test/{}", demarche.path)
    } else {
        format!("/commencer/{}", demarche.path)
    };
    let back = url_encode(&action);
    render(&CommencerPage {
        page,
        description: paragraphs(&demarche.description),
        demarche,
        test,
        sign_in: format!("/users/sign_in?return_to={back}"),
        sign_up: format!("/users/sign_up?return_to={back}"),
        action,
        dossiers,
    })
}

async fn commencer(
    page: Page,
    state: web::Data<AppState>,
    user: MaybeUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let demarche = find_demarche(&state, &path).await?;
    match demarche.state {
        ProcedureState::Publiee | ProcedureState::Depubliee => {
            commencer_page(&state, page, user.0, demarche, false).await
        }
        ProcedureState::Close => {
            let dossiers = dossiers_of(&state, user.0.as_ref(), &demarche).await?;
            render(&ClosedPage {
                page,
                demarche,
                dossiers,
            })
        }
        ProcedureState::Brouillon => Err(AppError::NotFound),
    }
}

async fn commencer_test(
    page: Page,
    state: web::Data<AppState>,
    user: MaybeUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let demarche = find_demarche(&state, &path).await?;
    match demarche.state {
        ProcedureState::Brouillon => commencer_page(&state, page, user.0, demarche, true).await,
        _ => Ok(redirect(&format!("/commencer/{}", demarche.path))),
    }
}

async fn create_brouillon(
    state: &AppState,
    user: &SessionUser,
    demarche: &Demarche,
    revision_id: Option<i64>,
) -> AppResult<HttpResponse> {
    let revision_id = revision_id.ok_or(AppError::NotFound)?;
    let id = dossier_store::create(&state.db, demarche.id, revision_id, &author(user)).await?;
    tracing::info!(
        dossier_id = id,
        procedure_id = demarche.id,
        "brouillon created"
    );
    Ok(redirect(&format!("/dossiers/{id}/brouillon")))
}

async fn start(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let demarche = find_demarche(&state, &path).await?;
    match demarche.state {
        ProcedureState::Publiee | ProcedureState::Depubliee => {
            create_brouillon(&state, &user.0, &demarche, demarche.published_revision_id).await
        }
        ProcedureState::Close => Ok(redirect(&format!("/commencer/{}", demarche.path))),
        ProcedureState::Brouillon => Err(AppError::NotFound),
    }
}

async fn start_test(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let demarche = find_demarche(&state, &path).await?;
    match demarche.state {
        ProcedureState::Brouillon => {
            create_brouillon(&state, &user.0, &demarche, demarche.draft_revision_id).await
        }
        _ => Ok(redirect(&format!("/commencer/{}", demarche.path))),
    }
}

// ---------------------------------------------------------------- the dossier form

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Brouillon,
    Modifier,
}

#[derive(Template)]
#[template(path = "usager/dossier_form.html")]
struct DossierForm {
    page: Page,
    dossier: OwnedDossier,
    badge: &'static str,
    modifier: bool,
    action: String,
    form: FormView,
    errors: FormErrors,
    /// A message about the whole form (démarche close, dossier no longer editable…).
    alert: Option<String>,
    /// Shown above the errors of a brouillon saved except for some fields.
    partially_saved: bool,
    /// Always false: the administrateur's preview shares the fields (`usager/_fields.html`).
    preview: bool,
    /// Limits of the pièces justificatives.
    max_file_size: String,
    max_files: usize,
    /// The map tiles of the champs « carte » (`[carte]`; empty: a coordinate grid).
    carte: crate::config::CarteConfig,
    /// The établissement of a personne morale's dossier (its SIRET step).
    etablissement: Option<crate::external::DossierEtablissement>,
}

/// The établissement of a personne morale's dossier (`None` for individuals).
async fn dossier_etablissement(
    state: &AppState,
    dossier: &OwnedDossier,
) -> AppResult<Option<crate::external::DossierEtablissement>> {
    if dossier.for_individual {
        return Ok(None);
    }
    Ok(crate::external::of_dossier_itself(&state.db, dossier.id).await?)
}

/// A personne morale's brouillon starts with its SIRET step.
fn siret_step_first(dossier: &OwnedDossier) -> Option<HttpResponse> {
    (!dossier.for_individual && !dossier.has_siret && dossier.state == Etat::Brouillon)
        .then(|| redirect(&format!("/dossiers/{}/siret", dossier.id)))
}

async fn owned(state: &AppState, id: i64, user: &SessionUser) -> AppResult<OwnedDossier> {
    queries::owned_dossier(&state.db, id, user.id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The dossier `id` of `user`, on its démarche's published revision: a brouillon or
/// dossier en construction the rebase job has not reached yet is moved first
/// (`store::rebase::rebase_dossier`, the job's code), and every node's actor forgets its
/// cached state. What the usager then sees and saves is the new form.
async fn owned_following(state: &AppState, id: i64, user: &SessionUser) -> AppResult<OwnedDossier> {
    let dossier = owned(state, id, user).await?;
    if !dossier.behind_published {
        return Ok(dossier);
    }
    if let Some(moved) = rebase::rebase_dossier(&state.db, dossier.id).await? {
        state.bus.publish(EventKind::DossiersRebased {
            procedure_id: moved.procedure_id,
            dossier_ids: vec![dossier.id],
        });
    }
    owned(state, id, user).await
}

async fn revision(state: &AppState, revision_id: i64) -> AppResult<Arc<RevisionDefs>> {
    Ok(state
        .registry
        .env()
        .revisions
        .get(&state.db, revision_id)
        .await?)
}

async fn stored_form(state: &AppState, dossier: &OwnedDossier) -> AppResult<FormView> {
    let defs = revision(state, dossier.revision_id).await?;
    let values = queries::champ_values(&state.db, dossier.id).await?;
    let rows = queries::row_values(&state.db, dossier.id).await?;
    let individual = if dossier.for_individual {
        queries::individual(&state.db, dossier.id).await?
    } else {
        None
    };
    let files = FileView::of_dossier(state, dossier.id).await?;
    let external = crate::external::of_dossier(&state.db, dossier.id).await?;
    let fc = france_connect_identity(state, dossier).await?;
    Ok(FormView::stored(
        dossier.for_individual,
        &defs,
        &values,
        &rows,
        individual.as_ref(),
        &state.geo,
    )
    .of_dossier(dossier.id)
    .with_files(&files)
    .with_external(&external)
    .with_france_connect(fc.as_ref()))
}

/// The FranceConnect identity of the owner of a dossier for individuals.
async fn france_connect_identity(
    state: &AppState,
    dossier: &OwnedDossier,
) -> AppResult<Option<crate::france_connect::Identity>> {
    if !dossier.for_individual {
        return Ok(None);
    }
    Ok(crate::france_connect::identity_of_dossier(&state.db, dossier.id).await?)
}

fn form_page(
    page: Page,
    dossier: OwnedDossier,
    mode: Mode,
    form: FormView,
    config: &crate::config::Config,
    etablissement: Option<crate::external::DossierEtablissement>,
) -> DossierForm {
    let storage = &config.storage;
    let action = match mode {
        Mode::Brouillon => format!("/dossiers/{}/brouillon", dossier.id),
        Mode::Modifier => format!("/dossiers/{}/modifier", dossier.id),
    };
    DossierForm {
        page,
        badge: badge_class(dossier.state),
        dossier,
        modifier: mode == Mode::Modifier,
        action,
        form,
        errors: FormErrors::new(),
        alert: None,
        partially_saved: false,
        preview: false,
        max_file_size: crate::web::pieces::human_size(storage.max_file_bytes),
        max_files: storage.max_files_per_champ,
        carte: config.carte.clone(),
        etablissement,
    }
}

async fn brouillon(
    page: Page,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let dossier = owned_following(&state, *id, &user.0).await?;
    if dossier.state != Etat::Brouillon {
        return Ok(redirect(&format!("/dossiers/{}", dossier.id)));
    }
    if let Some(step) = siret_step_first(&dossier) {
        return Ok(step);
    }
    let form = stored_form(&state, &dossier).await?;
    let etablissement = dossier_etablissement(&state, &dossier).await?;
    render(&form_page(
        page,
        dossier,
        Mode::Brouillon,
        form,
        &state.config,
        etablissement,
    ))
}

async fn modifier(
    page: Page,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let dossier = owned_following(&state, *id, &user.0).await?;
    match dossier.state {
        Etat::Brouillon => Ok(redirect(&format!("/dossiers/{}/brouillon", dossier.id))),
        Etat::EnConstruction => {
            let form = stored_form(&state, &dossier).await?;
            let etablissement = dossier_etablissement(&state, &dossier).await?;
            render(&form_page(
                page,
                dossier,
                Mode::Modifier,
                form,
                &state.config,
                etablissement,
            ))
        }
        other => Ok(redirect_with(
            &format!("/dossiers/{}", dossier.id),
            FlashKind::Error,
            &ActError::ReadOnly(other).to_string(),
        )),
    }
}

async fn save_brouillon(
    page: Page,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    save(
        page,
        &state,
        &user.0,
        *id,
        RawForm::new(body.0),
        Mode::Brouillon,
    )
    .await
}

async fn save_modifier(
    page: Page,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    save(
        page,
        &state,
        &user.0,
        *id,
        RawForm::new(body.0),
        Mode::Modifier,
    )
    .await
}

/// Sends the form to the dossier's actor, then redirects, or re-renders the form with the
/// values as typed and the messages of the fields that could not be saved.
async fn save(
    page: Page,
    state: &AppState,
    user: &SessionUser,
    id: i64,
    raw: RawForm,
    mode: Mode,
) -> AppResult<HttpResponse> {
    let dossier = owned(state, id, user).await?;
    let fc = france_connect_identity(state, &dossier).await?;
    let mut save_form = raw.save_form(dossier.for_individual);
    if let Some(fc) = &fc {
        // the identity FranceConnect transmitted, whatever the form says
        save_form.individual = Some(fc.individual());
    }
    let act = Act {
        author: author(user),
        expected_version: None,
        command: Command::Save(save_form),
    };
    let result = state.registry.send(dossier.id, act).await;
    if matches!(result, Ok(_) | Err(ActError::Invalid { .. })) {
        // What was saved may hold a SIRET to look up (never blocks: see external.rs).
        crate::external::Fetcher::of_state(state)
            .after_save(dossier.id)
            .await;
    }
    if let Ok(outcome) = &result
        && outcome.warnings.is_empty()
    {
        return Ok(after_save(&dossier, mode, outcome));
    }
    // The actor may have moved the dossier to the published revision: the form is shown
    // again on the revision it is now on.
    let dossier = owned(state, id, user).await?;
    let defs = revision(state, dossier.revision_id).await?;
    let (errors, alert, status, partially_saved) = match result {
        Ok(outcome) => (
            in_form_order(outcome.warnings, &defs),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            true,
        ),
        Err(ActError::Invalid { errors, .. }) => (
            in_form_order(errors, &defs),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        ),
        Err(ActError::NotFound | ActError::Forbidden) => return Err(AppError::NotFound),
        Err(err @ ActError::Conflict(_)) => (
            FormErrors::new(),
            Some(err.to_string()),
            StatusCode::CONFLICT,
            false,
        ),
        Err(err @ ActError::Internal(_)) => (
            FormErrors::new(),
            Some(err.to_string()),
            StatusCode::INTERNAL_SERVER_ERROR,
            false,
        ),
        Err(err @ (ActError::Closed | ActError::ReadOnly(_) | ActError::Transition(_))) => (
            FormErrors::new(),
            Some(err.to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        ),
    };
    let files = FileView::of_dossier(state, dossier.id).await?;
    let stored = queries::champ_values(&state.db, dossier.id).await?;
    let external = crate::external::of_dossier(&state.db, dossier.id).await?;
    let form = FormView::submitted(
        dossier.for_individual,
        &defs,
        &stored,
        &raw,
        &errors,
        &state.geo,
    )
    .of_dossier(dossier.id)
    .with_files(&files)
    .with_external(&external)
    .with_france_connect(fc.as_ref());
    let etablissement = dossier_etablissement(state, &dossier).await?;
    let mut view = form_page(page, dossier, mode, form, &state.config, etablissement);
    view.errors = errors;
    view.alert = alert;
    view.partially_saved = partially_saved;
    render_status(&view, status)
}

/// What an autosave answers (JSON): the messages of the fields that could not be saved
/// (the others are), or the reason nothing was saved.
#[derive(Debug, serde::Serialize)]
struct AutosaveAnswer {
    saved: bool,
    errors: Vec<AutosaveError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, serde::Serialize)]
struct AutosaveError {
    field: String,
    message: String,
}

/// `POST /dossiers/{id}/brouillon/autosave`: the brouillon form sent in the background by
/// `app.js` while the usager types. Same path as « Enregistrer le brouillon » (the dossier
/// actor, the same validation); answers JSON instead of a page.
async fn autosave(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let dossier = owned(&state, *id, &user.0).await?;
    let raw = RawForm::new(body.0);
    let act = Act {
        author: author(&user.0),
        expected_version: None,
        command: Command::Save(raw.autosave_form(dossier.for_individual)),
    };
    let answer =
        |status: StatusCode, saved: bool, errors: Vec<FieldError>, error: Option<String>| {
            HttpResponse::build(status).json(AutosaveAnswer {
                saved,
                errors: errors
                    .into_iter()
                    .map(|e| AutosaveError {
                        field: e.field,
                        message: e.message,
                    })
                    .collect(),
                error,
            })
        };
    Ok(match state.registry.send(dossier.id, act).await {
        Ok(outcome) => answer(StatusCode::OK, true, outcome.warnings, None),
        Err(ActError::Invalid { errors, .. }) => {
            answer(StatusCode::UNPROCESSABLE_ENTITY, false, errors, None)
        }
        Err(ActError::NotFound | ActError::Forbidden) => return Err(AppError::NotFound),
        Err(err @ ActError::Internal(_)) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            false,
            Vec::new(),
            Some(err.to_string()),
        ),
        Err(err) => answer(
            StatusCode::CONFLICT,
            false,
            Vec::new(),
            Some(err.to_string()),
        ),
    })
}

/// The errors sorted as their fields appear on the form (identity first, then champs).
fn in_form_order(mut errors: Vec<FieldError>, defs: &RevisionDefs) -> FormErrors {
    let position = |field: &str| match field {
        "siret" | "civilite" => 0,
        "nom" => 1,
        "prenom" => 2,
        other => {
            // The child of a row sorts with its block.
            let block = other
                .strip_prefix("champ_")
                .and_then(demarches_actors::domain::repetition::parse_field)
                .and_then(|(child, _)| defs.get(child))
                .and_then(|child| child.parent);
            defs.public()
                .position(|def| def.field() == other || Some(def.stable_id) == block)
                .map_or(usize::MAX, |i| i + 3)
        }
    };
    errors.sort_by_key(|e| position(&e.field));
    FormErrors::from(errors)
}

/// Where the usager lands after a successful save.
fn after_save(dossier: &OwnedDossier, mode: Mode, outcome: &ActOutcome) -> HttpResponse {
    let show = format!("/dossiers/{}", dossier.id);
    if outcome.change == event_kind(Transition::Deposer) {
        return redirect_with(&show, FlashKind::Success, MSG_DEPOSED);
    }
    match (outcome.snapshot.state, mode) {
        (Etat::Brouillon, _) => redirect_with(
            &format!("/dossiers/{}/brouillon", dossier.id),
            FlashKind::Success,
            MSG_BROUILLON_SAVED,
        ),
        // The brouillon form of a dossier deposited meanwhile (e.g. a second click).
        (_, Mode::Brouillon) if outcome.change == "aucun_changement" => {
            redirect_with(&show, FlashKind::Info, "Ce dossier a déjà été déposé.")
        }
        (_, _) if outcome.change == "aucun_changement" => {
            redirect_with(&show, FlashKind::Info, MSG_UNCHANGED)
        }
        (_, _) => redirect_with(&show, FlashKind::Success, MSG_MODIFIED),
    }
}

// ---------------------------------------------------------------- Mes dossiers

#[derive(Deserialize)]
struct ListQuery {
    statut: Option<String>,
    page: Option<String>,
}

pub struct TabLink {
    pub label: &'static str,
    pub count: i64,
    pub href: String,
    pub current: bool,
}

/// One entry of the DSFR pagination: a page number, or an ellipsis.
pub struct PageLink {
    pub number: Option<u32>,
    pub href: String,
    pub current: bool,
}

pub struct Pagination {
    pub first: Option<String>,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub last: Option<String>,
    pub pages: Vec<PageLink>,
}

impl Pagination {
    fn new(current: u32, total_pages: u32, href: impl Fn(u32) -> String) -> Self {
        let mut pages = Vec::new();
        let mut previous = 0;
        for n in 1..=total_pages {
            let shown = n == 1 || n == total_pages || n.abs_diff(current) <= 2;
            if !shown {
                continue;
            }
            if n > previous + 1 {
                pages.push(PageLink {
                    number: None,
                    href: String::new(),
                    current: false,
                });
            }
            pages.push(PageLink {
                number: Some(n),
                href: href(n),
                current: n == current,
            });
            previous = n;
        }
        let before = current > 1;
        let after = current < total_pages;
        Pagination {
            first: before.then(|| href(1)),
            prev: before.then(|| href(current - 1)),
            next: after.then(|| href(current + 1)),
            last: after.then(|| href(total_pages)),
            pages,
        }
    }
}

#[derive(Template)]
#[template(path = "usager/dossiers.html")]
struct DossiersPage {
    page: Page,
    tabs: Vec<TabLink>,
    tab_label: &'static str,
    dossiers: Vec<DossierLink>,
    pagination: Option<Pagination>,
    current_page: u32,
    total_pages: u32,
}

async fn list(
    page: Page,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let tab = Tab::parse(query.statut.as_deref());
    let (en_cours, traites) = queries::tab_counts(&state.db, user.0.id).await?;
    let count = match tab {
        Tab::EnCours => en_cours,
        Tab::Traites => traites,
    };
    let per_page = i64::from(PER_PAGE);
    let total_pages = u32::try_from((count.max(1) + per_page - 1) / per_page).unwrap_or(u32::MAX);
    let current = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, total_pages);
    let dossiers = queries::dossiers_page(&state.db, user.0.id, tab, current, PER_PAGE)
        .await?
        .into_iter()
        .map(DossierLink::from)
        .collect();
    let tab_href = |t: Tab| format!("/dossiers?statut={}", t.as_str());
    let tabs = vec![
        TabLink {
            label: "En cours",
            count: en_cours,
            href: tab_href(Tab::EnCours),
            current: tab == Tab::EnCours,
        },
        TabLink {
            label: "Traités",
            count: traites,
            href: tab_href(Tab::Traites),
            current: tab == Tab::Traites,
        },
    ];
    let pagination = (total_pages > 1).then(|| {
        Pagination::new(current, total_pages, |n| {
            format!("/dossiers?statut={}&page={n}", tab.as_str())
        })
    });
    render(&DossiersPage {
        page,
        tabs,
        tab_label: match tab {
            Tab::EnCours => "En cours",
            Tab::Traites => "Traités",
        },
        dossiers,
        pagination,
        current_page: current,
        total_pages,
    })
}

// ---------------------------------------------------------------- the dossier summary

#[derive(Template)]
#[template(path = "usager/dossier.html")]
struct DossierPage {
    page: Page,
    dossier: OwnedDossier,
    badge: &'static str,
    explanation: &'static str,
    identity: Option<IndividualRow>,
    /// The identity was transmitted by FranceConnect.
    france_connect: bool,
    /// The établissement of a personne morale's dossier.
    etablissement: Option<crate::external::DossierEtablissement>,
    items: Vec<SummaryItem>,
    /// "Je donne mon avis", when the démarche enables a feedback connector.
    monavis: Option<demarches_plugins::FeedbackButton>,
}

/// The MonAvis button of a démarche, from its enabled `feedback` connector. Any failure
/// (no connector, refused configuration, connector down) only hides the button.
async fn feedback_button(
    state: &AppState,
    procedure_id: i64,
) -> Option<demarches_plugins::FeedbackButton> {
    let mut conn = state.db.acquire().await.ok()?;
    let enabled = crate::procedures::connectors::enabled_for(&mut conn, procedure_id, "feedback")
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "cannot read the démarche's connectors"))
        .ok()??;
    drop(conn);
    state
        .plugins
        .monavis_button(
            &enabled.name,
            &enabled.demarche_config(),
            &procedure_id.to_string(),
        )
        .await
        .inspect_err(|e| {
            tracing::warn!(connector = %enabled.name, procedure_id, error = %e, "no MonAvis button")
        })
        .ok()?
}

fn explanation(etat: Etat) -> &'static str {
    match etat {
        Etat::Brouillon => {
            "Votre dossier est en brouillon : il n’a pas encore été déposé et l’administration ne le voit pas."
        }
        Etat::EnConstruction => {
            "Votre dossier est en construction : vous pouvez encore le modifier tant que l’administration n’a pas commencé à l’instruire."
        }
        Etat::EnInstruction => {
            "Votre dossier est en instruction : l’administration l’examine, il ne peut plus être modifié. Vous serez informé de la décision par e-mail."
        }
        Etat::Accepte => "Votre dossier a été accepté.",
        Etat::Refuse => "Votre dossier a été refusé.",
        Etat::SansSuite => "Votre dossier a été classé sans suite.",
    }
}

async fn show(
    page: Page,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let dossier = owned_following(&state, *id, &user.0).await?;
    if dossier.state == Etat::Brouillon {
        return Ok(redirect(&format!("/dossiers/{}/brouillon", dossier.id)));
    }
    let defs = revision(&state, dossier.revision_id).await?;
    let values = queries::champ_values(&state.db, dossier.id).await?;
    let links = crate::queries::dossier_link_urls(
        &state.db,
        user.0.id,
        &form::linked_dossiers(&defs, &values),
    )
    .await?;
    let identity = if dossier.for_individual {
        queries::individual(&state.db, dossier.id).await?
    } else {
        None
    };
    let france_connect = france_connect_identity(&state, &dossier).await?.is_some();
    let etablissement = dossier_etablissement(&state, &dossier).await?;
    render(&DossierPage {
        france_connect,
        etablissement,
        page,
        badge: badge_class(dossier.state),
        explanation: explanation(dossier.state),
        items: form::summary(
            dossier.id,
            &defs,
            &values,
            &queries::row_values(&state.db, dossier.id).await?,
            &links,
            &FileView::of_dossier(&state, dossier.id).await?,
        ),
        identity,
        monavis: feedback_button(&state, dossier.procedure_id).await,
        dossier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(p: &Pagination) -> Vec<Option<u32>> {
        p.pages.iter().map(|l| l.number).collect()
    }

    #[test]
    fn pagination_windows_and_ellipses() {
        let p = Pagination::new(1, 2, |n| format!("?page={n}"));
        assert_eq!(numbers(&p), vec![Some(1), Some(2)]);
        assert!(p.prev.is_none() && p.first.is_none());
        assert_eq!(p.next.as_deref(), Some("?page=2"));

        let p = Pagination::new(6, 12, |n| format!("?page={n}"));
        assert_eq!(
            numbers(&p),
            vec![
                Some(1),
                None,
                Some(4),
                Some(5),
                Some(6),
                Some(7),
                Some(8),
                None,
                Some(12)
            ]
        );
        assert_eq!(p.prev.as_deref(), Some("?page=5"));
        assert_eq!(p.last.as_deref(), Some("?page=12"));
        assert!(p.pages.iter().any(|l| l.current && l.number == Some(6)));
    }

    #[test]
    fn description_paragraphs() {
        assert_eq!(
            paragraphs("Un.\r\n\r\nDeux\nlignes.\n\n\n"),
            vec!["Un.".to_owned(), "Deux\nlignes.".to_owned()]
        );
    }
}
