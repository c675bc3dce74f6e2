//! The HTML interface (DSFR), one module per audience, plus static assets.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod carte;
pub mod csrf;
pub mod dev;
pub mod error;
pub mod form;
pub mod france_connect;
pub mod instructeur;
pub mod page;
pub mod pieces;
pub mod session;
pub mod usager;

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::config::Config;
use crate::state::AppState;
use error::AppResult;
use page::{Page, render};

pub fn configure(cfg: &mut web::ServiceConfig, config: &Config) {
    let wasm = config.assets.logic_wasm.clone();
    cfg.route("/", web::get().to(home))
        .route(
            "/static/logic.wasm",
            web::get().to(move || logic_wasm(wasm.clone())),
        )
        .route("/health", web::get().to(health))
        .route("/static/app.css", web::get().to(app_css))
        .route("/static/app.js", web::get().to(app_js))
        .route("/static/carte.js", web::get().to(carte_js));
    // Absent until the DSFR's terms are accepted at set-up (see README): pages stay usable.
    if config.assets.dsfr_dir.is_dir() {
        cfg.service(actix_files::Files::new(
            "/static/dsfr",
            &config.assets.dsfr_dir,
        ));
    }
    accounts::routes(cfg);
    france_connect::routes(cfg);
    admin::routes(cfg);
    api::routes(cfg);
    usager::routes(cfg);
    pieces::routes(cfg);
    carte::routes(cfg);
    instructeur::routes(cfg);
    if config.dev_pages() {
        dev::routes(cfg);
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Page,
}

async fn home(page: Page) -> AppResult<HttpResponse> {
    render(&Home { page })
}

async fn health(state: web::Data<AppState>) -> HttpResponse {
    match sqlx::query_scalar::<_, i32>("select 1")
        .fetch_one(&state.db)
        .await
    {
        Ok(_) => HttpResponse::Ok().body("ok"),
        Err(_) => HttpResponse::ServiceUnavailable().body("database unavailable"),
    }
}

async fn app_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(include_str!("static/app.css"))
}

async fn app_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(include_str!("static/app.js"))
}

async fn carte_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(include_str!("static/carte.js"))
}

/// The condition evaluator for the browser, read from `assets.logic_wasm` (404 when it was
/// not built: the form then works without it).
async fn logic_wasm(path: std::path::PathBuf) -> HttpResponse {
    match tokio::fs::read(&path).await {
        Ok(bytes) => HttpResponse::Ok()
            .content_type("application/wasm")
            .insert_header(("Cache-Control", "public, max-age=300"))
            .body(bytes),
        Err(_) => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("logic.wasm n’est pas construit."),
    }
}
