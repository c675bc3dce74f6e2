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

/// Recipient, decoded subject and text body of a stored message.
fn parse(raw: &[u8]) -> (String, String, String) {
    match mail_parser::MessageParser::default().parse(raw) {
        Some(message) => (
            message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned(),
            message.subject().unwrap_or_default().to_owned(),
            message
                .body_text(0)
                .map(|b| b.into_owned())
                .unwrap_or_default(),
        ),
        None => Default::default(),
    }
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
            let raw = tokio::fs::read(entry.path()).await.unwrap_or_default();
            let (to, subject, _) = parse(&raw);
            mails.push(MailFile { to, subject, name });
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

#[derive(Template)]
#[template(path = "dev/mail.html")]
struct MailPage {
    page: Page,
    name: String,
    to: String,
    subject: String,
    body: String,
}

async fn show(
    page: Page,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    if !name.ends_with(".eml") || name.contains('/') || name.contains("..") {
        return Err(AppError::NotFound);
    }
    let raw = tokio::fs::read(state.config.mail.dir.join(&name))
        .await
        .map_err(|_| AppError::NotFound)?;
    let (to, subject, body) = parse(&raw);
    render(&MailPage {
        page,
        name,
        to,
        subject,
        body,
    })
}
