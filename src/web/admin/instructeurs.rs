//! Instructeurs of a démarche (its default groupe).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use demarches_actors::EventKind;
use serde::Deserialize;

use super::{NoFields, PageQuery, Pager, app_error, form_errors, procedure_for};
use crate::procedures::instructeurs::{self, Instructeur};
use crate::procedures::{EditError, Procedure};
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::form::FormErrors;
use crate::web::page::{FlashKind, Page, redirect_with, render, render_status};
use crate::web::session::AdministrateurUser;

const PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin/instructeurs.html")]
struct InstructeursPage {
    page: Page,
    procedure: Procedure,
    instructeurs: Vec<Instructeur>,
    total: i64,
    pager: Pager,
    email: String,
    errors: FormErrors,
}

async fn instructeurs_page(
    state: &AppState,
    page: Page,
    procedure: Procedure,
    requested_page: Option<&str>,
    email: String,
    errors: FormErrors,
) -> AppResult<InstructeursPage> {
    let groupe = procedure.defaut_groupe_id.ok_or(AppError::NotFound)?;
    let mut conn = state.db.acquire().await?;
    let total = instructeurs::count(&mut conn, groupe).await?;
    let pager = Pager::new(
        requested_page,
        total,
        PER_PAGE,
        format!("/admin/procedures/{}/instructeurs?", procedure.id),
    );
    let instructeurs =
        instructeurs::list(&mut conn, groupe, pager.offset(), pager.per_page).await?;
    Ok(InstructeursPage {
        page,
        procedure,
        instructeurs,
        total,
        pager,
        email,
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
    let body = instructeurs_page(
        &state,
        page,
        procedure,
        query.page.as_deref(),
        String::new(),
        FormErrors::new(),
    )
    .await?;
    render(&body)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct InstructeurForm {
    email: String,
}

pub(super) async fn add(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    CsrfForm(form): CsrfForm<InstructeurForm>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    let location = format!("/admin/procedures/{}/instructeurs", procedure.id);
    let mut tx = state.db.begin().await?;
    match instructeurs::invite_instructeur(&mut tx, &state.config, procedure.id, &form.email).await
    {
        Ok(invited) if invited.already => Ok(redirect_with(
            &location,
            FlashKind::Info,
            &format!("{} est déjà instructeur de cette démarche.", invited.email),
        )),
        Ok(invited) => {
            tx.commit().await?;
            state.bus.publish(EventKind::ProcedureChanged {
                procedure_id: procedure.id,
            });
            Ok(redirect_with(
                &location,
                FlashKind::Success,
                &format!(
                    "L’instructeur {} a bien été affecté à la démarche. Un e-mail l’en informe.",
                    invited.email
                ),
            ))
        }
        Err(EditError::Invalid(errors)) => {
            let body = instructeurs_page(
                &state,
                page,
                procedure,
                None,
                form.email,
                form_errors(errors),
            )
            .await?;
            render_status(&body, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(err) => Err(app_error(err)),
    }
}

pub(super) async fn remove(
    AdministrateurUser(user): AdministrateurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let (procedure_id, user_id) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let location = format!("/admin/procedures/{}/instructeurs", procedure.id);
    let mut tx = state.db.begin().await?;
    match instructeurs::remove_instructeur(&mut tx, procedure.id, user_id).await {
        Ok(email) => {
            tx.commit().await?;
            state.bus.publish(EventKind::ProcedureChanged {
                procedure_id: procedure.id,
            });
            Ok(redirect_with(
                &location,
                FlashKind::Success,
                &format!("L’instructeur {email} a bien été retiré de la démarche."),
            ))
        }
        Err(EditError::Refused(message)) => {
            Ok(redirect_with(&location, FlashKind::Error, &message))
        }
        Err(err) => Err(app_error(err)),
    }
}
