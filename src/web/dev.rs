//! Development-only pages (never mounted in production): the mails written to `mail.dir`.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::state::AppState;
use crate::web::error::{AppError, AppResult};
use crate::web::page::{Page, render};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dev/mails", web::get().to(list))
        .route("/dev/mails/{name}", web::get().to(show));
}

pub struct MailFile {
    pub name: String,
    pub to: String,
    pub subject: String,
}

#[derive(Template)]
#[template(path = "dev/mails.html")]
struct MailList {
    page: Page,
    mails: Vec<MailFile>,
    smtp: bool,
}

fn header(raw: &str, name: &str) -> String {
    raw.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default()
}

async fn list(page: Page, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let dir = state.config.mail.dir.clone();
    let mut mails = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".eml") {
                continue;
            }
            let raw = tokio::fs::read_to_string(entry.path())
                .await
                .unwrap_or_default();
            mails.push(MailFile {
                to: header(&raw, "To"),
                subject: header(&raw, "Subject"),
                name,
            });
        }
    }
    mails.sort_by(|a, b| b.name.cmp(&a.name));
    mails.truncate(200);
    render(&MailList {
        page,
        mails,
        smtp: !state.config.mail.smtp_url.is_empty(),
    })
}

async fn show(path: web::Path<String>, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    if !name.ends_with(".eml") || name.contains('/') || name.contains("..") {
        return Err(AppError::NotFound);
    }
    let raw = tokio::fs::read_to_string(state.config.mail.dir.join(&name))
        .await
        .map_err(|_| AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(raw))
}
