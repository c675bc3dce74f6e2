//! Server-side sessions: the cookie carries a random token, PostgreSQL its SHA-256.
//! Extractors give handlers the signed-in user and enforce roles.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::Serialize;
use sqlx::PgPool;

use crate::security::{random_token, sha256_hex};
use crate::state::AppState;
use crate::web::error::AppError;

pub const SESSION_COOKIE: &str = "demarches_session";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Usager,
    Instructeur,
    Administrateur,
    Expert,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Usager => "usager",
            Profile::Instructeur => "instructeur",
            Profile::Administrateur => "administrateur",
            Profile::Expert => "expert",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "usager" => Some(Profile::Usager),
            "instructeur" => Some(Profile::Instructeur),
            "administrateur" => Some(Profile::Administrateur),
            "expert" => Some(Profile::Expert),
            _ => None,
        }
    }

    pub fn libelle(self) -> &'static str {
        match self {
            Profile::Usager => "Usager",
            Profile::Instructeur => "Instructeur",
            Profile::Administrateur => "Administrateur",
            Profile::Expert => "Expert",
        }
    }

    /// Where this profile lands after sign-in or a profile switch.
    pub fn home(self) -> &'static str {
        match self {
            Profile::Usager => "/dossiers",
            Profile::Instructeur => "/procedures",
            Profile::Administrateur => "/admin/procedures",
            Profile::Expert => "/avis",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub is_administrateur: bool,
    pub is_instructeur: bool,
    pub is_expert: bool,
    pub profile: Profile,
    pub session_hash: String,
}

impl SessionUser {
    pub fn has_profile(&self, profile: Profile) -> bool {
        match profile {
            Profile::Usager => true,
            Profile::Instructeur => self.is_instructeur,
            Profile::Administrateur => self.is_administrateur,
            Profile::Expert => self.is_expert,
        }
    }

    /// Profiles this account can switch to, in menu order.
    pub fn profiles(&self) -> Vec<Profile> {
        [
            Profile::Usager,
            Profile::Instructeur,
            Profile::Administrateur,
            Profile::Expert,
        ]
        .into_iter()
        .filter(|p| self.has_profile(*p))
        .collect()
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    email: String,
    is_administrateur: bool,
    is_instructeur: bool,
    is_expert: bool,
    profile: String,
}

/// Creates a session for `user_id` and returns the cookie to set.
pub async fn start(
    db: &PgPool,
    state: &AppState,
    user_id: i64,
    profile: Profile,
) -> Result<Cookie<'static>, sqlx::Error> {
    let token = random_token();
    let days = state.config.security.session_days;
    sqlx::query(
        "insert into sessions (token_hash, user_id, profile, expires_at)
         values ($1, $2, $3, now() + make_interval(days => $4::int))",
    )
    .bind(sha256_hex(&token))
    .bind(user_id)
    .bind(profile.as_str())
    .bind(days as i32)
    .execute(db)
    .await?;
    sqlx::query("update users set last_sign_in_at = now(), failed_attempts = 0, locked_until = null where id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(state.config.security.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::days(days))
        .finish())
}

/// Ends the session and returns the removal cookie.
pub async fn end(db: &PgPool, user: &SessionUser) -> Result<Cookie<'static>, sqlx::Error> {
    sqlx::query("delete from sessions where token_hash = $1")
        .bind(&user.session_hash)
        .execute(db)
        .await?;
    let mut cookie = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    cookie.make_removal();
    Ok(cookie)
}

pub async fn switch_profile(
    db: &PgPool,
    user: &SessionUser,
    profile: Profile,
) -> Result<bool, sqlx::Error> {
    if !user.has_profile(profile) {
        return Ok(false);
    }
    sqlx::query("update sessions set profile = $1 where token_hash = $2")
        .bind(profile.as_str())
        .bind(&user.session_hash)
        .execute(db)
        .await?;
    Ok(true)
}

#[derive(Clone)]
struct Loaded(Option<SessionUser>);

/// Loads the session once per request (cached in the request extensions).
pub async fn load(req: &HttpRequest) -> Result<Option<SessionUser>, AppError> {
    if let Some(Loaded(user)) = req.extensions().get::<Loaded>() {
        return Ok(user.clone());
    }
    let user = match req.cookie(SESSION_COOKIE) {
        None => None,
        Some(cookie) => {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("missing app state")))?;
            let hash = sha256_hex(cookie.value());
            let row: Option<SessionRow> = sqlx::query_as(
                "select u.id, u.email, u.is_administrateur, u.is_instructeur, u.is_expert, s.profile
                 from sessions s join users u on u.id = s.user_id
                 where s.token_hash = $1 and s.expires_at > now()",
            )
            .bind(&hash)
            .fetch_optional(&state.db)
            .await?;
            row.map(|r| SessionUser {
                id: r.id,
                email: r.email,
                is_administrateur: r.is_administrateur,
                is_instructeur: r.is_instructeur,
                is_expert: r.is_expert,
                profile: Profile::parse(&r.profile).unwrap_or(Profile::Usager),
                session_hash: hash,
            })
        }
    };
    req.extensions_mut().insert(Loaded(user.clone()));
    Ok(user)
}

fn return_to(req: &HttpRequest) -> String {
    match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{}", req.path(), q),
    }
}

type Fut<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// The signed-in user, if any.
pub struct MaybeUser(pub Option<SessionUser>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeUser(load(&req).await?)) })
    }
}

/// Any signed-in user; anonymous visitors are sent to the sign-in page.
pub struct CurrentUser(pub SessionUser);

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Fut<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            load(&req)
                .await?
                .map(CurrentUser)
                .ok_or_else(|| AppError::Unauthenticated {
                    return_to: return_to(&req),
                })
        })
    }
}

macro_rules! role_extractor {
    ($name:ident, $flag:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(pub SessionUser);

        impl FromRequest for $name {
            type Error = AppError;
            type Future = Fut<Self>;
            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move {
                    let user = load(&req).await?.ok_or_else(|| AppError::Unauthenticated {
                        return_to: return_to(&req),
                    })?;
                    if user.$flag {
                        Ok($name(user))
                    } else {
                        Err(AppError::Forbidden)
                    }
                })
            }
        }
    };
}

role_extractor!(
    InstructeurUser,
    is_instructeur,
    "A signed-in instructeur; others get 403."
);
role_extractor!(
    AdministrateurUser,
    is_administrateur,
    "A signed-in administrateur; others get 403."
);
role_extractor!(ExpertUser, is_expert, "A signed-in expert; others get 403.");
