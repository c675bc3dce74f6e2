//! One error type for every handler. Each variant maps to a status and a French page;
//! internal errors are logged with the request id and never shown in detail.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// Not signed in: redirect to the sign-in page, then back to `return_to`.
    #[error("authentication required")]
    Unauthenticated { return_to: String },
    #[error("invalid or missing CSRF token")]
    Csrf,
    #[error("too many requests")]
    TooManyRequests,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("service unavailable")]
    Unavailable,
    /// The resource existed and was deleted on purpose (410), with the French reason.
    #[error("gone")]
    Gone(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => AppError::NotFound,
            sqlx::Error::PoolTimedOut => AppError::Unavailable,
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(err: askama::Error) -> Self {
        AppError::Internal(err.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    request_id: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Unauthenticated { .. } => StatusCode::SEE_OTHER,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Unauthenticated { return_to } = self {
            let location = format!(
                "/users/sign_in?return_to={}",
                crate::web::page::url_encode(return_to)
            );
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let (title, message) = match self {
            AppError::NotFound => (
                "Page non trouvée",
                "La page que vous cherchez n’existe pas ou n’est plus accessible.",
            ),
            AppError::Forbidden => (
                "Accès refusé",
                "Vous n’avez pas accès à cette page avec votre compte.",
            ),
            AppError::Csrf => (
                "Formulaire expiré",
                "Le formulaire a expiré ou a été envoyé depuis un autre site. Revenez en arrière, rechargez la page et réessayez : vos saisies sont conservées par votre navigateur.",
            ),
            AppError::TooManyRequests => (
                "Trop de tentatives",
                "Trop de tentatives en peu de temps. Patientez quelques minutes avant de réessayer.",
            ),
            AppError::BadRequest(_) => ("Requête invalide", "La requête envoyée est invalide."),
            AppError::Unavailable => (
                "Service momentanément indisponible",
                "Le service est très sollicité. Réessayez dans quelques instants.",
            ),
            AppError::Gone(reason) => ("Fichier supprimé", *reason),
            AppError::Internal(err) => {
                tracing::error!(%request_id, error = ?err, "internal error");
                (
                    "Erreur inattendue",
                    "Une erreur inattendue s’est produite. L’équipe technique a été prévenue.",
                )
            }
            AppError::Unauthenticated { .. } => ("", ""),
        };
        let body = ErrorPage {
            title,
            message,
            request_id,
        }
        .render()
        .unwrap_or_else(|_| title.to_owned());
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

pub type AppResult<T> = Result<T, AppError>;
