//! "Mes démarches", creating a démarche, its page and its description.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Pager, app_error, date_fr, form_errors, procedure_for};
use crate::procedures::publication::{MissingStep, missing_steps};
use crate::procedures::store::{self, DossierCounts, ProcedureListItem, Tab, TabCounts};
use crate::procedures::{EditError, Procedure, ProcedureInput};
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::form::FormErrors;
use crate::web::page::{FlashKind, Page, redirect, redirect_with, render, render_status};
use crate::web::session::AdministrateurUser;

const PER_PAGE: i64 = 25;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ListQuery {
    statut: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/procedures.html")]
struct ListPage {
    page: Page,
    tab: Tab,
    counts: TabCounts,
    procedures: Vec<ProcedureListItem>,
    pager: Pager,
}

impl ListPage {
    fn tabs(&self) -> [Tab; 3] {
        Tab::ALL
    }
    fn count(&self, tab: &Tab) -> i64 {
        self.counts.get(*tab)
    }
}

pub(super) async fn index(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = state.db.acquire().await?;
    let counts = store::count_by_tab(&mut conn, user.id).await?;
    let tab = match query.statut.as_deref().and_then(Tab::parse) {
        Some(tab) => tab,
        None => Tab::ALL
            .into_iter()
            .find(|t| counts.get(*t) > 0)
            .unwrap_or(Tab::EnTest),
    };
    let pager = Pager::new(
        query.page.as_deref(),
        counts.get(tab),
        PER_PAGE,
        format!("/admin/procedures?statut={}&", tab.slug()),
    );
    let procedures =
        store::list_for_admin(&mut conn, user.id, tab, pager.offset(), pager.per_page).await?;
    render(&ListPage {
        page,
        tab,
        counts,
        procedures,
        pager,
    })
}

#[derive(Template)]
#[template(path = "admin/new.html")]
struct NewPage {
    page: Page,
    form: ProcedureInput,
    errors: FormErrors,
}

pub(super) async fn new_form(
    AdministrateurUser(_user): AdministrateurUser,
    page: Page,
) -> AppResult<HttpResponse> {
    render(&NewPage {
        page,
        form: ProcedureInput::default(),
        errors: FormErrors::new(),
    })
}

pub(super) async fn create(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ProcedureInput>,
) -> AppResult<HttpResponse> {
    let invalid = |page, form, errors| {
        render_status(
            &NewPage {
                page,
                form,
                errors: form_errors(errors),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let new = match form.parse() {
        Ok(new) => new,
        Err(errors) => return invalid(page, form, errors),
    };
    let mut tx = state.db.begin().await?;
    match crate::procedures::create_procedure(&mut tx, user.id, new).await {
        Ok(id) => {
            tx.commit().await?;
            Ok(redirect_with(
                &format!("/admin/procedures/{id}"),
                FlashKind::Success,
                "La démarche a bien été créée. Ajoutez maintenant les champs de son formulaire.",
            ))
        }
        Err(EditError::Invalid(errors)) => invalid(page, form, errors),
        Err(err) => Err(app_error(err)),
    }
}

#[derive(Template)]
#[template(path = "admin/show.html")]
struct ShowPage {
    page: Page,
    procedure: Procedure,
    missing: Vec<MissingStep>,
    champs: i64,
    instructeurs: i64,
    dossiers: DossierCounts,
    test_url: String,
    public_url: String,
}

impl ShowPage {
    fn is_missing(&self, step: &MissingStep) -> bool {
        self.missing.contains(step)
    }
    fn steps(&self) -> [MissingStep; 2] {
        [MissingStep::Champ, MissingStep::Instructeur]
    }
    fn published_on(&self) -> String {
        self.procedure
            .published_at
            .as_ref()
            .map(date_fr)
            .unwrap_or_default()
    }
    fn closed_on(&self) -> String {
        self.procedure
            .closed_at
            .as_ref()
            .map(date_fr)
            .unwrap_or_default()
    }
    fn created_on(&self) -> String {
        date_fr(&self.procedure.created_at)
    }
}

pub(super) async fn show(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let mut conn = state.db.acquire().await?;
    let missing = missing_steps(&mut conn, procedure.id).await?;
    let champs = crate::procedures::form_builder::count_draft(&mut conn, procedure.id).await?;
    let instructeurs = match procedure.defaut_groupe_id {
        Some(groupe) => crate::procedures::instructeurs::count(&mut conn, groupe).await?,
        None => 0,
    };
    let dossiers = store::dossier_counts(&mut conn, &procedure).await?;
    render(&ShowPage {
        test_url: state
            .config
            .url(&format!("/commencer/test/{}", procedure.path)),
        public_url: state.config.url(&format!("/commencer/{}", procedure.path)),
        page,
        procedure,
        missing,
        champs,
        instructeurs,
        dossiers,
    })
}

#[derive(Template)]
#[template(path = "admin/edit.html")]
struct EditPage {
    page: Page,
    procedure: Procedure,
    form: ProcedureInput,
    errors: FormErrors,
}

pub(super) async fn edit_form(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let form = ProcedureInput {
        libelle: procedure.libelle.clone(),
        description: procedure.description.clone(),
        organisation: procedure.organisation.clone(),
        ..Default::default()
    };
    render(&EditPage {
        page,
        procedure,
        form,
        errors: FormErrors::new(),
    })
}

pub(super) async fn update(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<ProcedureInput>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let mut tx = state.db.begin().await?;
    match crate::procedures::update_description(&mut tx, procedure.id, &form).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(redirect_with(
                &format!("/admin/procedures/{}", procedure.id),
                FlashKind::Success,
                "La description de la démarche a bien été enregistrée.",
            ))
        }
        Err(EditError::Invalid(errors)) => render_status(
            &EditPage {
                page,
                procedure,
                form,
                errors: form_errors(errors),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(err) => Err(app_error(err)),
    }
}

/// `/admin` lands on "Mes démarches".
pub(super) async fn home() -> HttpResponse {
    redirect("/admin/procedures")
}
