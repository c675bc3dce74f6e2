//! What every page template receives: the signed-in user, the CSRF token for its forms,
//! a flash message carried over a redirect, and the current path.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use askama::Template;

use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::session::{self, SessionUser};

pub const FLASH_COOKIE: &str = "demarches_flash";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
    Info,
}

impl FlashKind {
    /// The DSFR alert modifier.
    pub fn css(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Error => "error",
            FlashKind::Info => "info",
        }
    }
    fn code(self) -> &'static str {
        match self {
            FlashKind::Success => "s",
            FlashKind::Error => "e",
            FlashKind::Info => "i",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

pub struct Page {
    pub user: Option<SessionUser>,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub path: String,
}

impl Page {
    pub fn signed_in(&self) -> bool {
        self.user.is_some()
    }
    /// `aria-current` helper for navigation links.
    pub fn is_current(&self, prefix: &str) -> bool {
        self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
    }
}

impl FromRequest for Page {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = session::load(&req).await?;
            let csrf = req
                .extensions()
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default();
            let flash = req
                .cookie(FLASH_COOKIE)
                .and_then(|c| parse_flash(c.value()));
            Ok(Page {
                user,
                csrf,
                flash,
                path: req.path().to_owned(),
            })
        })
    }
}

fn parse_flash(raw: &str) -> Option<Flash> {
    let (code, message) = raw.split_once(':')?;
    let kind = match code {
        "s" => FlashKind::Success,
        "e" => FlashKind::Error,
        _ => FlashKind::Info,
    };
    Some(Flash {
        kind,
        message: url_decode(message),
    })
}

/// Renders a template as a 200 HTML page.
pub fn render<T: Template>(template: &T) -> Result<HttpResponse, AppError> {
    render_status(template, actix_web::http::StatusCode::OK)
}

/// Renders a template with a status (422 for a form with errors, 409 for a conflict).
pub fn render_status<T: Template>(
    template: &T,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(template.render()?))
}

/// 303 See Other to `location`.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// 303 to `location` with a flash message shown once on the next page.
pub fn redirect_with(location: &str, kind: FlashKind, message: &str) -> HttpResponse {
    let cookie = Cookie::build(
        FLASH_COOKIE,
        format!("{}:{}", kind.code(), url_encode(message)),
    )
    .path("/")
    .http_only(true)
    .finish();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .cookie(cookie)
        .finish()
}

pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn url_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Only local paths are accepted as redirect targets (no open redirect).
pub fn safe_return_to(value: Option<&str>) -> Option<String> {
    let v = value?.trim();
    if v.starts_with('/') && !v.starts_with("//") && !v.contains('\\') {
        Some(v.to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_roundtrips_french_text() {
        let msg = "Votre dossier n° 12 a bien été déposé : « Démarche » & co";
        let flash = parse_flash(&format!("s:{}", url_encode(msg))).unwrap();
        assert_eq!(flash.message, msg);
        assert_eq!(flash.kind, FlashKind::Success);
    }

    #[test]
    fn only_local_return_paths() {
        assert_eq!(
            safe_return_to(Some("/dossiers/3")),
            Some("/dossiers/3".into())
        );
        assert_eq!(safe_return_to(Some("//evil.example")), None);
        assert_eq!(safe_return_to(Some("https://evil.example")), None);
    }
}
