//! Sign-in with FranceConnect (connector `france_connect`): `/france_connect/particulier`
//! sends the browser to FranceConnect with a fresh state and nonce kept server-side;
//! `/france_connect/particulier/callback` checks the state, has the connector exchange the
//! code (id_token checked, userinfo read), finds or creates the account
//! (`crate::france_connect::link`) and opens a session that remembers the id_token for
//! the logout. Without the connector every path leads back to the password sign-in with a
//! French message.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use demarches_plugins::{AuthorizeRequest, CallbackRequest};
use serde::Deserialize;

use crate::france_connect::{self as fc, CONNECTOR, Link};
use crate::security::{constant_time_eq, sha256_hex};
use crate::state::AppState;
use crate::web::error::{AppError, AppResult};
use crate::web::page::{FlashKind, redirect, redirect_with, url_encode};
use crate::web::session::{self, MaybeUser, Profile};

pub const START: &str = "/france_connect/particulier";
pub const CALLBACK: &str = "/france_connect/particulier/callback";
const LOGIN_COOKIE: &str = "demarches_france_connect";
const SIGN_IN: &str = "/users/sign_in";

pub const UNAVAILABLE: &str = "FranceConnect est momentanément indisponible. Vous pouvez vous \
     connecter avec votre adresse électronique et votre mot de passe, ou réessayer dans quelques \
     instants.";
const NOT_VERIFIED: &str = "La connexion avec FranceConnect n’a pas pu être vérifiée. Veuillez \
     recommencer.";
const EXPIRED: &str = "Votre connexion avec FranceConnect a expiré ou n’a pas été demandée depuis \
     ce navigateur. Veuillez recommencer.";
const CANCELLED: &str = "Vous avez annulé la connexion avec FranceConnect.";
const SIGNED_IN: &str = "Vous êtes connecté(e) avec FranceConnect.";
const NO_EMAIL: &str = "FranceConnect ne nous a pas transmis d’adresse électronique. Créez un \
     compte avec votre adresse électronique, puis, une fois connecté(e), utilisez FranceConnect \
     pour y associer votre identité.";
const LINKED_ELSEWHERE: &str = "Cette identité FranceConnect est déjà associée à un autre compte. \
     Déconnectez-vous, puis connectez-vous avec FranceConnect.";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(START, web::get().to(start))
        .route(CALLBACK, web::get().to(callback));
}

/// Whether the sign-in page offers FranceConnect (the connector is loaded).
pub fn available(state: &AppState) -> bool {
    state.plugins.current(CONNECTOR).is_some()
}

fn login_cookie(state: &AppState, value: String, max_age: CookieDuration) -> Cookie<'static> {
    // Lax: the callback is a top-level navigation coming back from FranceConnect.
    Cookie::build(LOGIN_COOKIE, value)
        .path("/france_connect")
        .http_only(true)
        .secure(state.config.security.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .finish()
}

fn with_cookie(mut response: HttpResponse, cookie: &Cookie<'_>) -> AppResult<HttpResponse> {
    response
        .add_cookie(cookie)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    Ok(response)
}

fn back_to_sign_in(kind: FlashKind, message: &str) -> HttpResponse {
    redirect_with(SIGN_IN, kind, message)
}

async fn start(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    if !available(&state) {
        return Ok(back_to_sign_in(FlashKind::Error, UNAVAILABLE));
    }
    let login = fc::begin_login(&state.db).await?;
    let request = AuthorizeRequest {
        redirect_uri: state.config.url(CALLBACK),
        state: login.state,
        nonce: login.nonce,
        scopes: Vec::new(),
    };
    match state.plugins.authorize_url(CONNECTOR, request).await {
        Ok(url) => with_cookie(
            redirect(&url),
            &login_cookie(&state, login.cookie, CookieDuration::minutes(10)),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "FranceConnect authorize URL unavailable");
            Ok(back_to_sign_in(FlashKind::Error, UNAVAILABLE))
        }
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    MaybeUser(current): MaybeUser,
    query: web::Query<CallbackQuery>,
) -> AppResult<HttpResponse> {
    let removal = login_cookie(&state, String::new(), CookieDuration::ZERO);
    let response = signed_in(&req, &state, current, query.into_inner()).await?;
    with_cookie(response, &removal)
}

/// The callback's outcome: a session and the usager's home, or the sign-in page with why.
async fn signed_in(
    req: &HttpRequest,
    state: &AppState,
    current: Option<session::SessionUser>,
    query: CallbackQuery,
) -> AppResult<HttpResponse> {
    let Some(cookie) = req.cookie(LOGIN_COOKIE) else {
        return Ok(back_to_sign_in(FlashKind::Error, EXPIRED));
    };
    let Some((expected_state, nonce)) = fc::take_login(&state.db, cookie.value()).await? else {
        return Ok(back_to_sign_in(FlashKind::Error, EXPIRED));
    };
    if let Some(error) = &query.error {
        tracing::info!(%error, "FranceConnect callback with an error");
        return Ok(if error == "access_denied" {
            back_to_sign_in(FlashKind::Info, CANCELLED)
        } else {
            back_to_sign_in(FlashKind::Error, NOT_VERIFIED)
        });
    }
    let state_ok = query
        .state
        .as_deref()
        .is_some_and(|s| constant_time_eq(s, &expected_state));
    let code = query.code.unwrap_or_default();
    if !state_ok || code.is_empty() {
        tracing::warn!("FranceConnect callback refused: state mismatch or no code");
        return Ok(back_to_sign_in(FlashKind::Error, NOT_VERIFIED));
    }
    let request = CallbackRequest {
        redirect_uri: state.config.url(CALLBACK),
        code,
        expected_nonce: nonce,
    };
    let person = match state.plugins.exchange_code(CONNECTOR, request).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "FranceConnect code exchange failed");
            let message = if e.retryable() {
                UNAVAILABLE
            } else {
                NOT_VERIFIED
            };
            return Ok(back_to_sign_in(FlashKind::Error, message));
        }
    };
    let current_id = current.as_ref().map(|u| u.id);
    let linked = fc::link(&state.db, &person, current_id)
        .await
        .map_err(AppError::Internal)?;
    let user_id = match linked {
        Link::Account(id) => id,
        Link::EmailTaken(email) => {
            let message = format!(
                "Un compte existe déjà avec l’adresse {email}. Connectez-vous avec votre mot \
                 de passe : vous serez ensuite renvoyé(e) vers FranceConnect pour associer \
                 votre identité à ce compte."
            );
            let location = format!(
                "{SIGN_IN}?email={}&return_to={}",
                url_encode(&email),
                url_encode(START)
            );
            return Ok(redirect_with(&location, FlashKind::Info, &message));
        }
        Link::NoEmail => return Ok(back_to_sign_in(FlashKind::Error, NO_EMAIL)),
        Link::LinkedElsewhere => return Ok(back_to_sign_in(FlashKind::Error, LINKED_ELSEWHERE)),
    };
    if let Some(previous) = current {
        session::end(&state.db, &previous).await?;
    }
    let cookie = session::start(&state.db, state, user_id, Profile::Usager).await?;
    fc::remember_id_token(&state.db, &sha256_hex(cookie.value()), &person.id_token).await?;
    tracing::info!(user_id, "signed in with FranceConnect");
    with_cookie(
        redirect_with(Profile::Usager.home(), FlashKind::Success, SIGNED_IN),
        &cookie,
    )
}

/// Where sign-out sends the browser: FranceConnect's logout when the session was opened
/// with it (FranceConnect then comes back to the home page), else None. Called before the
/// session is deleted; a connector failure only skips FranceConnect's logout.
pub async fn logout_location(state: &AppState, session_hash: &str) -> Option<String> {
    let id_token = match fc::session_id_token(&state.db, session_hash).await {
        Ok(t) => t?,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the FranceConnect session");
            return None;
        }
    };
    let logout_state = crate::security::random_token();
    match state
        .plugins
        .logout_url(CONNECTOR, &id_token, &state.config.url("/"), &logout_state)
        .await
    {
        Ok(url) => Some(url),
        Err(e) => {
            tracing::warn!(error = %e, "FranceConnect logout URL unavailable: local sign-out only");
            None
        }
    }
}
