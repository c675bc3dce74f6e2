//! CSRF protection for every state-changing form (double-submit token).
//!
//! A middleware gives each browser a random token in an HttpOnly, SameSite=Strict cookie;
//! pages embed it as the `authenticity_token` hidden field; [`CsrfForm`] (the only way
//! handlers read a urlencoded form) rejects a body whose field does not match the cookie.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::security::{constant_time_eq, random_token};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::page::FLASH_COOKIE;

pub const CSRF_COOKIE: &str = "demarches_csrf";
pub const CSRF_FIELD: &str = "authenticity_token";
pub const FORM_LIMIT: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct CsrfToken(pub String);

/// Ensures every visitor has a CSRF cookie, and clears a flash message once shown.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let existing = req
        .cookie(CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 64);
    let had_flash = req.cookie(FLASH_COOKIE).is_some();
    let secure = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.security.secure_cookies)
        .unwrap_or(false);
    let token = existing.clone().unwrap_or_else(random_token);
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.call(req).await?;
    if existing.is_none() {
        let cookie = Cookie::build(CSRF_COOKIE, token)
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Strict)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    if had_flash && res.status().is_success() {
        let mut removal = Cookie::build(FLASH_COOKIE, "").path("/").finish();
        removal.make_removal();
        res.response_mut().add_cookie(&removal)?;
    }
    Ok(res)
}

/// A urlencoded form whose CSRF token was checked. `T` may be a struct or
/// `Vec<(String, String)>` for forms with dynamic fields.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let expected = req
                .cookie(CSRF_COOKIE)
                .map(|c| c.value().to_owned())
                .ok_or(AppError::Csrf)?;
            let bytes = body
                .await
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            let sent = pairs
                .iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            if !constant_time_eq(sent, &expected) {
                return Err(AppError::Csrf);
            }
            let value = serde_urlencoded::from_bytes(&bytes)
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            Ok(CsrfForm(value))
        })
    }
}

/// A `multipart/form-data` body whose first field, `authenticity_token`, matched the CSRF
/// cookie. Only that field is read here; the handler streams the other fields (files).
pub struct CsrfMultipart(pub actix_multipart::Multipart);

/// The token field is short; anything longer is not a token.
const TOKEN_MAX: usize = 256;

impl FromRequest for CsrfMultipart {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        use futures_util::TryStreamExt;

        let expected = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned());
        let mut multipart = actix_multipart::Multipart::new(req.headers(), payload.take());
        Box::pin(async move {
            let expected = expected.ok_or(AppError::Csrf)?;
            let mut field = multipart
                .try_next()
                .await
                .map_err(|e| AppError::BadRequest(e.to_string()))?
                .ok_or(AppError::Csrf)?;
            if field.name() != Some(CSRF_FIELD) {
                return Err(AppError::Csrf);
            }
            let mut sent = Vec::new();
            while let Some(chunk) = field
                .try_next()
                .await
                .map_err(|e| AppError::BadRequest(e.to_string()))?
            {
                sent.extend_from_slice(&chunk);
                if sent.len() > TOKEN_MAX {
                    return Err(AppError::Csrf);
                }
            }
            drop(field);
            let sent = std::str::from_utf8(&sent).map_err(|_| AppError::Csrf)?;
            if !constant_time_eq(sent, &expected) {
                return Err(AppError::Csrf);
            }
            Ok(CsrfMultipart(multipart))
        })
    }
}
