//! Instructeurs of a démarche's default groupe (DS "Instructeurs" tab): name one by
//! e-mail, remove one. The démarche must keep one while it is published.

use demarches_actors::domain::champ::is_valid_email;
use sqlx::PgConnection;

use super::{EditError, ProcedureState, lock_procedure};
use crate::accounts;
use crate::accounts::store::normalize_email;
use crate::config::Config;

pub const LAST_INSTRUCTEUR: &str = "Une démarche publiée doit garder au moins un instructeur.";
pub const INVALID_EMAIL: &str =
    "Saisissez une adresse électronique valide, par exemple jean.dupont@exemple.gouv.fr.";

/// An instructeur of a groupe.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Instructeur {
    pub user_id: i64,
    pub email: String,
    /// The account has chosen its password.
    pub active: bool,
}

/// Number of instructeurs of a groupe.
pub async fn count(conn: &mut PgConnection, groupe_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from assign_tos where groupe_instructeur_id = $1")
        .bind(groupe_id)
        .fetch_one(conn)
        .await
}

/// One page of a groupe's instructeurs, by e-mail.
pub async fn list(
    conn: &mut PgConnection,
    groupe_id: i64,
    offset: i64,
    limit: i64,
) -> Result<Vec<Instructeur>, sqlx::Error> {
    sqlx::query_as(
        "select u.id as user_id, u.email, (u.password_hash is not null) as active
         from assign_tos a join users u on u.id = a.instructeur_id
         where a.groupe_instructeur_id = $1
         order by lower(u.email), u.id
         offset $2 limit $3",
    )
    .bind(groupe_id)
    .bind(offset)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// What naming an instructeur did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invited {
    pub user_id: i64,
    pub email: String,
    /// They already instructed this démarche: nothing changed, no e-mail.
    pub already: bool,
}

/// Names `email` instructeur of the démarche's default groupe through
/// [`accounts::invite::invite_instructeur`] (account created if needed, e-mail through the
/// outbox in the same transaction).
pub async fn invite_instructeur(
    conn: &mut PgConnection,
    config: &Config,
    procedure_id: i64,
    email: &str,
) -> Result<Invited, EditError> {
    let email = normalize_email(email);
    if !is_valid_email(&email) {
        return Err(EditError::invalid("email", INVALID_EMAIL));
    }
    let procedure = lock_procedure(conn, procedure_id).await?;
    let groupe_id = procedure.defaut_groupe_id.ok_or(EditError::NotFound)?;
    let existing: Option<i64> = sqlx::query_scalar(
        "select u.id from assign_tos a join users u on u.id = a.instructeur_id
         where a.groupe_instructeur_id = $1 and lower(u.email) = $2",
    )
    .bind(groupe_id)
    .bind(&email)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(user_id) = existing {
        return Ok(Invited {
            user_id,
            email,
            already: true,
        });
    }
    let user_id =
        accounts::invite::invite_instructeur(conn, config, &email, groupe_id, &procedure.libelle)
            .await?;
    Ok(Invited {
        user_id,
        email,
        already: false,
    })
}

/// Removes an instructeur from the default groupe; returns their e-mail.
/// A published démarche keeps at least one instructeur.
pub async fn remove_instructeur(
    conn: &mut PgConnection,
    procedure_id: i64,
    user_id: i64,
) -> Result<String, EditError> {
    let procedure = lock_procedure(conn, procedure_id).await?;
    let groupe_id = procedure.defaut_groupe_id.ok_or(EditError::NotFound)?;
    let email: Option<String> = sqlx::query_scalar(
        "select u.email from assign_tos a join users u on u.id = a.instructeur_id
         where a.groupe_instructeur_id = $1 and a.instructeur_id = $2",
    )
    .bind(groupe_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let email = email.ok_or(EditError::NotFound)?;
    if procedure.state == ProcedureState::Publiee && count(conn, groupe_id).await? <= 1 {
        return Err(EditError::Refused(LAST_INSTRUCTEUR.to_owned()));
    }
    sqlx::query("delete from assign_tos where groupe_instructeur_id = $1 and instructeur_id = $2")
        .bind(groupe_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(email)
}
