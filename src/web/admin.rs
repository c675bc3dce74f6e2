//! Pages of the administrateur area: "Mes démarches", creating and describing a démarche,
//! its form, its instructeurs, publication and closing. Handlers stay thin: the rules live
//! in [`crate::procedures`]. Only administrateurs of a démarche see it (404 otherwise).

mod annotations;
mod connecteurs;
mod dashboard;
mod demarche_connecteurs;
mod form_builder;
mod instructeurs;
mod preview;
mod publication;

use actix_web::web;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::procedures::store::find_for_admin;
use crate::procedures::{EditError, FieldError, Procedure};
use crate::state::AppState;
use crate::web::error::{AppError, AppResult};
use crate::web::form::FormErrors;
use crate::web::session::SessionUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(dashboard::home))
        .route("/admin/connecteurs", web::get().to(connecteurs::index))
        .route(
            "/admin/connecteurs/{name}/rollback",
            web::post().to(connecteurs::rollback),
        )
        .route("/admin/procedures", web::get().to(dashboard::index))
        .route("/admin/procedures/new", web::get().to(dashboard::new_form))
        .route("/admin/procedures/new", web::post().to(dashboard::create))
        .route("/admin/procedures/{id}", web::get().to(dashboard::show))
        .route(
            "/admin/procedures/{id}/edit",
            web::get().to(dashboard::edit_form),
        )
        .route(
            "/admin/procedures/{id}/edit",
            web::post().to(dashboard::update),
        )
        .route(
            "/admin/procedures/{id}/champs",
            web::get().to(form_builder::index),
        )
        .route(
            "/admin/procedures/{id}/champs",
            web::post().to(form_builder::add),
        )
        .route(
            "/admin/procedures/{id}/apercu",
            web::get().to(preview::show),
        )
        .route(
            "/admin/procedures/{id}/champs/{stable_id}",
            web::get().to(form_builder::edit_form),
        )
        .route(
            "/admin/procedures/{id}/champs/{stable_id}",
            web::post().to(form_builder::update),
        )
        .route(
            "/admin/procedures/{id}/champs/{stable_id}/move",
            web::post().to(form_builder::move_champ),
        )
        .route(
            "/admin/procedures/{id}/champs/{stable_id}/delete",
            web::post().to(form_builder::delete),
        )
        .route(
            "/admin/procedures/{id}/champs/{stable_id}/children",
            web::post().to(form_builder::add_child),
        )
        .route(
            "/admin/procedures/{id}/champs/{stable_id}/condition/rules",
            web::post().to(form_builder::add_rule),
        )
        .route(
            "/admin/procedures/{id}/champs/{stable_id}/condition/rules/{index}/delete",
            web::post().to(form_builder::remove_rule),
        )
        .route(
            "/admin/procedures/{id}/champs/{stable_id}/condition/combinator",
            web::post().to(form_builder::set_combinator),
        )
        .route(
            "/admin/procedures/{id}/modifications/reset",
            web::post().to(form_builder::reset),
        )
        .route(
            "/admin/procedures/{id}/annotations",
            web::get().to(annotations::index),
        )
        .route(
            "/admin/procedures/{id}/annotations",
            web::post().to(annotations::add),
        )
        .route(
            "/admin/procedures/{id}/annotations/{stable_id}/delete",
            web::post().to(annotations::delete),
        )
        .route(
            "/admin/procedures/{id}/connecteurs",
            web::get().to(demarche_connecteurs::index),
        )
        .route(
            "/admin/procedures/{id}/connecteurs/{name}",
            web::post().to(demarche_connecteurs::enable),
        )
        .route(
            "/admin/procedures/{id}/connecteurs/{name}/disable",
            web::post().to(demarche_connecteurs::disable),
        )
        .route(
            "/admin/procedures/{id}/connecteurs/{name}/test",
            web::post().to(demarche_connecteurs::test),
        )
        .route(
            "/admin/procedures/{id}/instructeurs",
            web::get().to(instructeurs::index),
        )
        .route(
            "/admin/procedures/{id}/instructeurs",
            web::post().to(instructeurs::add),
        )
        .route(
            "/admin/procedures/{id}/instructeurs/{user_id}/delete",
            web::post().to(instructeurs::remove),
        )
        .route(
            "/admin/procedures/{id}/publication",
            web::get().to(publication::show),
        )
        .route(
            "/admin/procedures/{id}/publication",
            web::post().to(publication::publish),
        )
        .route(
            "/admin/procedures/{id}/close",
            web::get().to(publication::close_form),
        )
        .route(
            "/admin/procedures/{id}/close",
            web::post().to(publication::close),
        );
}

/// The démarche if `user` is one of its administrateurs; 404 otherwise.
async fn procedure_for(
    state: &AppState,
    user: &SessionUser,
    procedure_id: i64,
) -> AppResult<Procedure> {
    let mut conn = state.db.acquire().await?;
    find_for_admin(&mut conn, user.id, procedure_id)
        .await?
        .ok_or(AppError::NotFound)
}

fn form_errors(errors: Vec<FieldError>) -> FormErrors {
    let mut out = FormErrors::new();
    for e in errors {
        out.add(e.field, e.message);
    }
    out
}

/// Errors that are not about the typed fields (those are shown on the form).
fn app_error(err: EditError) -> AppError {
    match err {
        EditError::NotFound => AppError::NotFound,
        EditError::Database(e) => e.into(),
        EditError::Invalid(errors) => AppError::BadRequest(format!("{errors:?}")),
        EditError::Refused(message) => AppError::BadRequest(message),
    }
}

/// A form with no field but its CSRF token (a button).
#[derive(Debug, Deserialize)]
struct NoFields {}

/// `?page=` of paginated lists.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageQuery {
    page: Option<String>,
}

/// A page of a list paginated in SQL.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub per_page: i64,
    /// URL of the list with its other parameters, ending with `?` or `&`.
    base: String,
}

impl Pager {
    /// `requested` is the raw `page` parameter; out-of-range pages show the nearest one.
    fn new(requested: Option<&str>, total: i64, per_page: i64, base: String) -> Self {
        let pages = ((total + per_page - 1) / per_page).max(1);
        let page = requested
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, pages);
        Pager {
            page,
            pages,
            per_page,
            base,
        }
    }

    fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    pub fn url(&self, page: i64) -> String {
        format!("{}page={page}", self.base)
    }

    pub fn prev_url(&self) -> Option<String> {
        (self.page > 1).then(|| self.url(self.page - 1))
    }

    pub fn next_url(&self) -> Option<String> {
        (self.page < self.pages).then(|| self.url(self.page + 1))
    }

    /// The page that shows item number `index` (0-based).
    fn page_of(index: i64, per_page: i64) -> i64 {
        index / per_page + 1
    }
}

/// "12/03/2025" (Paris time is not applied: dates of the administrateur pages).
pub fn date_fr(at: &OffsetDateTime) -> String {
    format!(
        "{:02}/{:02}/{:04}",
        at.day(),
        u8::from(at.month()),
        at.year()
    )
}
