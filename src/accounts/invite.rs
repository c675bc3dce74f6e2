//! Invitations: an administrateur created by an operator, an instructeur named by an
//! administrateur. A new account gets an activation link to choose its password.

use sqlx::PgConnection;

use super::store::{Role, TokenPurpose, ensure_user, grant, issue_token, normalize_email};
use crate::config::Config;
use crate::mail::{Mail, enqueue};

/// Activation links stay valid a week, as in DS.
pub const ACTIVATION_HOURS: i32 = 24 * 7;

/// Creates (or promotes) an administrateur and e-mails the activation link when the
/// account has no password yet. Returns the user id.
pub async fn invite_administrateur(
    conn: &mut PgConnection,
    config: &Config,
    email: &str,
) -> Result<i64, sqlx::Error> {
    let email = normalize_email(email);
    let (user_id, needs_activation) = ensure_user(conn, &email).await?;
    grant(conn, user_id, Role::Administrateur).await?;
    // DS: an administrateur is also an instructeur (of the démarches it creates).
    grant(conn, user_id, Role::Instructeur).await?;
    let mail = if needs_activation {
        let token = issue_token(conn, user_id, TokenPurpose::Activation, ACTIVATION_HOURS).await?;
        let link = config.url(&format!("/users/activate?token={token}"));
        Mail {
            to: email.clone(),
            subject: "Activez votre compte administrateur".to_owned(),
            text: format!(
                "Bonjour,\n\nUn compte administrateur a été créé pour vous sur demarches.\n\n\
                 Pour l’activer et choisir votre mot de passe, ouvrez ce lien (valable 7 jours) :\n{link}\n\n\
                 Bonne journée,\n\nL’équipe demarches"
            ),
        }
    } else {
        Mail {
            to: email.clone(),
            subject: "Votre compte est désormais administrateur".to_owned(),
            text: format!(
                "Bonjour,\n\nVotre compte {email} peut désormais créer et gérer des démarches :\n{}\n\n\
                 Bonne journée,\n\nL’équipe demarches",
                config.url("/admin/procedures")
            ),
        }
    };
    enqueue(
        conn,
        &format!("invite-admin-{user_id}-{}", uuid::Uuid::new_v4()),
        &mail,
    )
    .await?;
    Ok(user_id)
}

/// Names `email` instructeur of a groupe and tells them by e-mail: an activation link
/// for a new account, a notice for an existing one. Returns the user id.
pub async fn invite_instructeur(
    conn: &mut PgConnection,
    config: &Config,
    email: &str,
    groupe_instructeur_id: i64,
    procedure_libelle: &str,
) -> Result<i64, sqlx::Error> {
    let email = normalize_email(email);
    let (user_id, needs_activation) = ensure_user(conn, &email).await?;
    grant(conn, user_id, Role::Instructeur).await?;
    sqlx::query(
        "insert into assign_tos (groupe_instructeur_id, instructeur_id) values ($1, $2)
         on conflict do nothing",
    )
    .bind(groupe_instructeur_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    let mail = if needs_activation {
        let token = issue_token(conn, user_id, TokenPurpose::Activation, ACTIVATION_HOURS).await?;
        let link = config.url(&format!("/users/activate?token={token}"));
        Mail {
            to: email.clone(),
            subject: "Activez votre compte instructeur".to_owned(),
            text: format!(
                "Bonjour,\n\nVous avez été invité(e) à instruire les dossiers de la démarche « {procedure_libelle} » sur demarches.\n\n\
                 Pour activer votre compte et choisir votre mot de passe, ouvrez ce lien (valable 7 jours) :\n{link}\n\n\
                 Bonne journée,\n\nL’équipe demarches"
            ),
        }
    } else {
        Mail {
            to: email.clone(),
            subject: format!("Vous avez été affecté(e) à la démarche « {procedure_libelle} »"),
            text: format!(
                "Bonjour,\n\nVous avez été affecté(e) à la démarche « {procedure_libelle} ». Retrouvez ses dossiers ici :\n{}\n\n\
                 Bonne journée,\n\nL’équipe demarches",
                config.url("/procedures")
            ),
        }
    };
    // Callers invite only instructeurs not yet in the groupe, so each call is one mail
    // (also after a removal and a new invitation).
    enqueue(
        conn,
        &format!(
            "invite-instructeur-{groupe_instructeur_id}-{user_id}-{}",
            uuid::Uuid::new_v4()
        ),
        &mail,
    )
    .await?;
    Ok(user_id)
}
