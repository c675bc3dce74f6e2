//! The form builder pages: champs of the draft revision, in order.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use demarches_actors::domain::TypeChamp;
use serde::Deserialize;

use super::{NoFields, PageQuery, Pager, app_error, form_errors, procedure_for};
use crate::procedures::conditions::{self, Combinator, LogicView, RuleInput};
use crate::procedures::form_builder::{self, ChampInput, DraftChamp};
use crate::procedures::revisions;
use crate::procedures::{Direction, EditError, Procedure};
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::form::FormErrors;
use crate::web::page::{FlashKind, Page, redirect_with, render, render_status};
use crate::web::session::AdministrateurUser;

/// Champs per page of the builder (a form rarely has more).
const PER_PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "admin/champs.html")]
struct ChampsPage {
    page: Page,
    procedure: Procedure,
    champs: Vec<DraftChamp>,
    /// The children of the blocs répétables of this page, by block then position.
    children: Vec<DraftChamp>,
    total: i64,
    pager: Pager,
    form: ChampInput,
    errors: FormErrors,
    /// What the draft changes against the published form (French lines).
    modifications: Vec<String>,
}

impl ChampsPage {
    fn types(&self) -> &'static [TypeChamp] {
        &TypeChamp::ALL
    }
    /// The types a bloc répétable may hold.
    fn child_types(&self) -> Vec<TypeChamp> {
        TypeChamp::ALL
            .into_iter()
            .filter(|t| t.can_be_child())
            .collect()
    }
    fn is_last(&self, champ: &DraftChamp) -> bool {
        i64::from(champ.position) + 1 >= self.total
    }
    fn children_of(&self, block: &DraftChamp) -> Vec<&DraftChamp> {
        self.children
            .iter()
            .filter(|c| c.parent == Some(block.stable_id))
            .collect()
    }
    fn is_last_child(&self, child: &DraftChamp) -> bool {
        !self
            .children
            .iter()
            .any(|c| c.parent == child.parent && c.position > child.position)
    }
}

#[derive(Template)]
#[template(path = "admin/champ_edit.html")]
struct ChampEditPage {
    page: Page,
    procedure: Procedure,
    champ: DraftChamp,
    form: ChampInput,
    errors: FormErrors,
    /// "Logique conditionnelle": the rules, the rule being added and its error.
    logic: LogicView,
    rule: RuleInput,
    rule_error: Option<String>,
}

impl ChampEditPage {
    async fn new(
        state: &AppState,
        page: Page,
        procedure: Procedure,
        champ: DraftChamp,
        form: ChampInput,
        errors: FormErrors,
    ) -> AppResult<Self> {
        let mut conn = state.db.acquire().await?;
        let revision = procedure.draft_revision_id.ok_or(AppError::NotFound)?;
        let logic = conditions::view_for(&mut conn, revision, champ.stable_id).await?;
        Ok(ChampEditPage {
            page,
            procedure,
            champ,
            form,
            errors,
            logic,
            rule: RuleInput::default(),
            rule_error: None,
        })
    }
}

impl ChampEditPage {
    fn types(&self) -> &'static [TypeChamp] {
        &TypeChamp::ALL
    }
}

/// Where a champ is shown in the builder (its page of the list, and its row).
fn champ_url(procedure_id: i64, position: i64, stable_id: i64) -> String {
    format!(
        "/admin/procedures/{procedure_id}/champs?page={}#champ-{stable_id}",
        Pager::page_of(position, PER_PAGE)
    )
}

async fn champs_page(
    state: &AppState,
    page: Page,
    procedure: Procedure,
    requested_page: Option<&str>,
    form: ChampInput,
    errors: FormErrors,
) -> AppResult<ChampsPage> {
    let mut conn = state.db.acquire().await?;
    let total = form_builder::count_draft(&mut conn, procedure.id).await?;
    let pager = Pager::new(
        requested_page,
        total,
        PER_PAGE,
        format!("/admin/procedures/{}/champs?", procedure.id),
    );
    let champs =
        form_builder::list_draft(&mut conn, procedure.id, pager.offset(), pager.per_page).await?;
    let blocks: Vec<i64> = champs
        .iter()
        .filter(|c| c.type_champ.is_repetition())
        .map(|c| c.stable_id)
        .collect();
    let children = if blocks.is_empty() {
        Vec::new()
    } else {
        form_builder::list_children(&mut conn, procedure.id, &blocks).await?
    };
    let modifications = revisions::draft_changes(&mut conn, procedure.id)
        .await?
        .iter()
        .flat_map(|c| c.summary())
        .collect();
    Ok(ChampsPage {
        modifications,
        page,
        procedure,
        champs,
        children,
        total,
        pager,
        form,
        errors,
    })
}

pub(super) async fn index(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let champs = champs_page(
        &state,
        page,
        procedure,
        query.page.as_deref(),
        ChampInput::blank(),
        FormErrors::new(),
    )
    .await?;
    render(&champs)
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
            match form_builder::add_champ(&mut tx, procedure.id, champ, None).await {
                Ok(stable_id) => {
                    let position = form_builder::count_draft(&mut tx, procedure.id).await? - 1;
                    tx.commit().await?;
                    Ok((stable_id, position, libelle))
                }
                Err(err) => Err(err),
            }
        }
        Err(errors) => Err(EditError::Invalid(errors)),
    };
    match result {
        Ok((stable_id, position, libelle)) => Ok(redirect_with(
            &champ_url(procedure.id, position, stable_id),
            FlashKind::Success,
            &format!("Le champ « {libelle} » a bien été ajouté."),
        )),
        Err(EditError::Invalid(errors)) => {
            // Show the last page, where the new champ would have gone, with the form as typed.
            let champs = champs_page(
                &state,
                page,
                procedure,
                Some("999999"),
                form,
                form_errors(errors),
            )
            .await?;
            render_status(&champs, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(err) => Err(app_error(err)),
    }
}

/// Adds a champ to a bloc répétable (the form under the block's children).
pub(super) async fn add_child(
    AdministrateurUser(user): AdministrateurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ChampInput>,
) -> AppResult<HttpResponse> {
    let (procedure_id, block_id) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let block = champ_for(&state, &procedure, block_id).await?;
    let block_url = champ_url(procedure.id, i64::from(block.position), block.stable_id);
    let errors = match form.parse() {
        Ok(champ) => {
            let libelle = champ.libelle.clone();
            let mut tx = state.db.begin().await?;
            match form_builder::add_champ(&mut tx, procedure.id, champ, Some(block_id)).await {
                Ok(stable_id) => {
                    tx.commit().await?;
                    return Ok(redirect_with(
                        &champ_url(procedure.id, i64::from(block.position), stable_id),
                        FlashKind::Success,
                        &format!(
                            "Le champ « {libelle} » a bien été ajouté au bloc « {} ».",
                            block.libelle
                        ),
                    ));
                }
                Err(EditError::Invalid(errors)) => errors,
                Err(err) => return Err(app_error(err)),
            }
        }
        Err(errors) => errors,
    };
    let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
    Ok(redirect_with(
        &block_url,
        FlashKind::Error,
        &format!(
            "Le champ n’a pas été ajouté au bloc « {} ». {}",
            block.libelle,
            messages.join(" ")
        ),
    ))
}

/// Where a champ is shown in the builder: a child of a block with its block.
async fn url_of(state: &AppState, procedure: &Procedure, champ: &DraftChamp) -> AppResult<String> {
    let position = match champ.parent {
        Some(block) => champ_for(state, procedure, block).await?.position,
        None => champ.position,
    };
    Ok(champ_url(
        procedure.id,
        i64::from(position),
        champ.stable_id,
    ))
}

async fn champ_for(
    state: &AppState,
    procedure: &Procedure,
    stable_id: i64,
) -> AppResult<DraftChamp> {
    let mut conn = state.db.acquire().await?;
    form_builder::find_draft(&mut conn, procedure.id, stable_id)
        .await?
        .ok_or(AppError::NotFound)
}

pub(super) async fn edit_form(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (procedure_id, stable_id) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let champ = champ_for(&state, &procedure, stable_id).await?;
    let form = ChampInput::from_champ(&champ);
    render(&ChampEditPage::new(&state, page, procedure, champ, form, FormErrors::new()).await?)
}

pub(super) async fn update(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ChampInput>,
) -> AppResult<HttpResponse> {
    let (procedure_id, stable_id) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let champ = champ_for(&state, &procedure, stable_id).await?;
    let result = match form.parse() {
        Ok(new) => {
            let mut tx = state.db.begin().await?;
            let libelle = new.libelle.clone();
            match form_builder::update_champ(&mut tx, procedure.id, stable_id, new).await {
                Ok(()) => {
                    tx.commit().await?;
                    Ok(libelle)
                }
                Err(EditError::Invalid(errors)) => Err(errors),
                Err(err) => return Err(app_error(err)),
            }
        }
        Err(errors) => Err(errors),
    };
    match result {
        Ok(libelle) => Ok(redirect_with(
            &url_of(&state, &procedure, &champ).await?,
            FlashKind::Success,
            &format!("Le champ « {libelle} » a bien été modifié."),
        )),
        Err(errors) => render_status(
            &ChampEditPage::new(&state, page, procedure, champ, form, form_errors(errors)).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct MoveForm {
    direction: Direction,
}

pub(super) async fn move_champ(
    AdministrateurUser(user): AdministrateurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> AppResult<HttpResponse> {
    let (procedure_id, stable_id) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let champ = champ_for(&state, &procedure, stable_id).await?;
    let mut tx = state.db.begin().await?;
    let position =
        match form_builder::move_champ(&mut tx, procedure.id, stable_id, form.direction).await {
            Ok(position) => position,
            Err(EditError::Refused(message)) => {
                return Ok(redirect_with(
                    &url_of(&state, &procedure, &champ).await?,
                    FlashKind::Error,
                    &format!(
                        "Le champ « {} » n’a pas été déplacé. {message}",
                        champ.libelle
                    ),
                ));
            }
            Err(err) => return Err(app_error(err)),
        };
    tx.commit().await?;
    let moved = if form.direction == Direction::Up {
        "monté"
    } else {
        "descendu"
    };
    let url = match champ.parent {
        Some(_) => url_of(&state, &procedure, &champ).await?,
        None => champ_url(procedure.id, i64::from(position), stable_id),
    };
    Ok(redirect_with(
        &url,
        FlashKind::Success,
        &format!(
            "Le champ « {} » a été {moved} : il est maintenant en position {}.",
            champ.libelle,
            position + 1
        ),
    ))
}

pub(super) async fn delete(
    AdministrateurUser(user): AdministrateurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let (procedure_id, stable_id) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let champ = champ_for(&state, &procedure, stable_id).await?;
    let mut tx = state.db.begin().await?;
    match form_builder::delete_champ(&mut tx, procedure.id, stable_id).await {
        Ok(()) => {}
        Err(EditError::Refused(message)) => {
            return Ok(redirect_with(
                &url_of(&state, &procedure, &champ).await?,
                FlashKind::Error,
                &format!(
                    "Le champ « {} » n’a pas été supprimé. {message}",
                    champ.libelle
                ),
            ));
        }
        Err(err) => return Err(app_error(err)),
    }
    tx.commit().await?;
    let url = match champ.parent {
        Some(block) => {
            let block = champ_for(&state, &procedure, block).await?;
            champ_url(procedure.id, i64::from(block.position), block.stable_id)
        }
        None => {
            let previous = i64::from(champ.position).max(1) - 1;
            format!(
                "/admin/procedures/{}/champs?page={}",
                procedure.id,
                Pager::page_of(previous, PER_PAGE)
            )
        }
    };
    Ok(redirect_with(
        &url,
        FlashKind::Success,
        &format!("Le champ « {} » a bien été supprimé.", champ.libelle),
    ))
}

/// Where the "Logique conditionnelle" section of a champ is.
fn logic_url(procedure_id: i64, stable_id: i64) -> String {
    format!("/admin/procedures/{procedure_id}/champs/{stable_id}#logique")
}

pub(super) async fn add_rule(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    CsrfForm(rule): CsrfForm<RuleInput>,
) -> AppResult<HttpResponse> {
    let (procedure_id, stable_id) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let champ = champ_for(&state, &procedure, stable_id).await?;
    let mut tx = state.db.begin().await?;
    match conditions::add_rule(&mut tx, procedure.id, stable_id, &rule).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(redirect_with(
                &logic_url(procedure.id, stable_id),
                FlashKind::Success,
                "La règle a bien été ajoutée à la condition d’affichage.",
            ))
        }
        Err(EditError::Invalid(errors)) => {
            drop(tx);
            let form = ChampInput::from_champ(&champ);
            let mut edit =
                ChampEditPage::new(&state, page, procedure, champ, form, FormErrors::new()).await?;
            edit.rule_error = errors.into_iter().next().map(|e| e.message);
            edit.rule = rule;
            render_status(&edit, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(err) => Err(app_error(err)),
    }
}

pub(super) async fn remove_rule(
    AdministrateurUser(user): AdministrateurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64, usize)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let (procedure_id, stable_id, index) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let mut tx = state.db.begin().await?;
    conditions::remove_rule(&mut tx, procedure.id, stable_id, index)
        .await
        .map_err(app_error)?;
    tx.commit().await?;
    Ok(redirect_with(
        &logic_url(procedure.id, stable_id),
        FlashKind::Success,
        "La règle a bien été retirée de la condition d’affichage.",
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct CombinatorForm {
    combinator: Combinator,
}

pub(super) async fn set_combinator(
    AdministrateurUser(user): AdministrateurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<CombinatorForm>,
) -> AppResult<HttpResponse> {
    let (procedure_id, stable_id) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let mut tx = state.db.begin().await?;
    conditions::set_combinator(&mut tx, procedure.id, stable_id, form.combinator)
        .await
        .map_err(app_error)?;
    tx.commit().await?;
    let joined = match form.combinator {
        Combinator::Et => "Le champ s’affiche quand toutes les règles sont vérifiées.",
        Combinator::Ou => "Le champ s’affiche quand au moins une des règles est vérifiée.",
    };
    Ok(redirect_with(
        &logic_url(procedure.id, stable_id),
        FlashKind::Success,
        joined,
    ))
}

/// « Annuler les modifications »: the draft form becomes the published one again.
pub(super) async fn reset(
    AdministrateurUser(user): AdministrateurUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let location = format!("/admin/procedures/{}/champs", procedure.id);
    let mut tx = state.db.begin().await?;
    match revisions::reset_draft(&mut tx, procedure.id).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(redirect_with(
                &location,
                FlashKind::Success,
                "Les modifications ont été annulées : le formulaire est de nouveau celui qui est publié.",
            ))
        }
        Err(EditError::Refused(message)) => {
            Ok(redirect_with(&location, FlashKind::Error, &message))
        }
        Err(err) => Err(app_error(err)),
    }
}
