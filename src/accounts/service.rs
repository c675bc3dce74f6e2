//! The account flows behind the /users pages: sign-up and e-mail confirmation, sign-in
//! with lockout, password reset and activation of invited accounts.
//!
//! Handlers parse forms and render pages; the rules, the SQL and the e-mails live here.
//! Every e-mail goes through the outbox in the transaction of the change that causes it.
//! Nothing here tells a visitor whether an e-mail address has an account (as DS).

use demarches_actors::domain::check_strength;
use sqlx::{PgConnection, PgPool};

use super::invite::ACTIVATION_HOURS;
use super::store::{TokenPurpose, consume_token, issue_token, normalize_email, peek_token};
use crate::config::Config;
use crate::mail::{Mail, enqueue};
use crate::security::{hash_password, sha256_hex, verify_password};
use crate::web::page::url_encode;

/// Confirmation links of self-registered accounts stay valid 48 hours.
pub const CONFIRMATION_HOURS: i32 = 48;
/// Password reset links stay valid 6 hours.
pub const RESET_HOURS: i32 = 6;

pub const INVALID_EMAIL: &str =
    "Saisissez une adresse électronique valide, par exemple prenom.nom@domaine.fr";
pub const PASSWORD_MISMATCH: &str = "Les deux mots de passe ne sont pas identiques.";

/// The roles of an account, to choose the profile of its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct Roles {
    pub is_administrateur: bool,
    pub is_instructeur: bool,
    pub is_expert: bool,
}

/// An account that may open a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticated {
    pub user_id: i64,
    pub roles: Roles,
}

/// Loose check of an e-mail address typed in a form.
pub fn valid_email(email: &str) -> bool {
    let email = email.trim();
    if email.is_empty() || email.len() > 254 || email.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

/// Errors of a new password and its confirmation, as `(field, message)`.
pub fn check_new_password(
    password: &str,
    confirmation: &str,
    email: &str,
) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    if let Err(message) = check_strength(password, email) {
        errors.push(("password", message));
    } else if password != confirmation {
        errors.push(("password_confirmation", PASSWORD_MISMATCH.to_owned()));
    }
    errors
}

/// Bounds the argon2id computations running at once (each takes 19 MiB and a fraction
/// of a second of CPU), so that a burst of sign-ins queues instead of exhausting memory.
/// Registered per HTTP worker by `web::accounts::routes`.
#[derive(Debug)]
pub struct HashSlots(tokio::sync::Semaphore);

impl HashSlots {
    /// Two computations at once per HTTP worker.
    pub const PER_WORKER: usize = 2;

    pub fn new(permits: usize) -> Self {
        HashSlots(tokio::sync::Semaphore::new(permits.max(1)))
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.0.acquire().await?;
        Ok(tokio::task::spawn_blocking(work).await?)
    }
}

impl Default for HashSlots {
    fn default() -> Self {
        Self::new(Self::PER_WORKER)
    }
}

/// Argon2id hashing off the async executor.
pub async fn hash(slots: &HashSlots, password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    slots.run(move || hash_password(&password)).await?
}

/// Verifies `password` against `phc`; without a stored hash, spends the same time hashing
/// so that response times do not tell whether the account exists.
async fn verify(slots: &HashSlots, password: &str, phc: Option<String>) -> anyhow::Result<bool> {
    let password = password.to_owned();
    slots
        .run(move || match phc {
            Some(phc) => verify_password(&password, &phc),
            None => {
                let _ = hash_password(&password);
                false
            }
        })
        .await
}

fn link_with_return(config: &Config, path: &str, token: &str, return_to: Option<&str>) -> String {
    let mut link = config.url(&format!("{path}?token={token}"));
    if let Some(rt) = return_to {
        link.push_str("&return_to=");
        link.push_str(&url_encode(rt));
    }
    link
}

fn with_return(config: &Config, path: &str, return_to: Option<&str>) -> String {
    match return_to {
        Some(rt) => config.url(&format!("{path}?return_to={}", url_encode(rt))),
        None => config.url(path),
    }
}

fn mail_key(kind: &str, user_id: i64) -> String {
    format!("{kind}-{user_id}-{}", uuid::Uuid::new_v4())
}

async fn send_confirmation(
    conn: &mut PgConnection,
    config: &Config,
    user_id: i64,
    email: &str,
    return_to: Option<&str>,
) -> Result<(), sqlx::Error> {
    let token = issue_token(
        conn,
        user_id,
        TokenPurpose::Confirmation,
        CONFIRMATION_HOURS,
    )
    .await?;
    let link = link_with_return(config, "/users/confirmation", &token, return_to);
    let mail = Mail {
        to: email.to_owned(),
        subject: "Confirmez votre adresse électronique".to_owned(),
        text: format!(
            "Bonjour,\n\nVous avez créé un compte sur demarches avec l’adresse {email}.\n\n\
             Pour activer votre compte, ouvrez ce lien (valable 48 heures) :\n{link}\n\n\
             Si vous n’êtes pas à l’origine de cette demande, ignorez ce message : \
             aucun compte ne sera activé.\n\nBonne journée,\n\nL’équipe demarches"
        ),
    };
    enqueue(conn, &mail_key("confirmation", user_id), &mail).await
}

async fn send_activation(
    conn: &mut PgConnection,
    config: &Config,
    user_id: i64,
    email: &str,
) -> Result<(), sqlx::Error> {
    let token = issue_token(conn, user_id, TokenPurpose::Activation, ACTIVATION_HOURS).await?;
    let link = config.url(&format!("/users/activate?token={token}"));
    let mail = Mail {
        to: email.to_owned(),
        subject: "Activez votre compte".to_owned(),
        text: format!(
            "Bonjour,\n\nUn compte existe déjà pour l’adresse {email} sur demarches, \
             mais il n’a pas encore été activé.\n\n\
             Pour l’activer et choisir votre mot de passe, ouvrez ce lien (valable 7 jours) :\n{link}\n\n\
             Si vous n’êtes pas à l’origine de cette demande, ignorez ce message.\n\n\
             Bonne journée,\n\nL’équipe demarches"
        ),
    };
    enqueue(conn, &mail_key("activation", user_id), &mail).await
}

async fn send_existing_account_warning(
    conn: &mut PgConnection,
    config: &Config,
    user_id: i64,
    email: &str,
    return_to: Option<&str>,
) -> Result<(), sqlx::Error> {
    let sign_in = with_return(config, "/users/sign_in", return_to);
    let reset = config.url("/users/password/new");
    let mail = Mail {
        to: email.to_owned(),
        subject: "Demande de création de compte".to_owned(),
        text: format!(
            "Bonjour,\n\nQuelqu’un (probablement vous) a demandé à créer un compte sur demarches \
             avec l’adresse {email}. Or un compte existe déjà pour cette adresse : \
             aucun nouveau compte n’a été créé.\n\n\
             Pour vous connecter à votre compte :\n{sign_in}\n\n\
             Si vous avez oublié votre mot de passe, choisissez-en un nouveau :\n{reset}\n\n\
             Si vous n’êtes pas à l’origine de cette demande, ignorez ce message : \
             votre compte n’a pas été modifié.\n\nBonne journée,\n\nL’équipe demarches"
        ),
    };
    enqueue(conn, &mail_key("sign-up-existing", user_id), &mail).await
}

/// What a sign-up did. The page shown is the same in every case (no account enumeration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignUp {
    /// A new unconfirmed account; a confirmation link was e-mailed.
    Created,
    /// The account existed unconfirmed: a new confirmation link was e-mailed.
    ConfirmationResent,
    /// The account was invited and has no password yet: an activation link was e-mailed.
    ActivationSent,
    /// The account exists and is confirmed: its owner was warned by e-mail.
    OwnerWarned,
}

/// Registers `email` with the (already hashed) password and e-mails what follows.
pub async fn sign_up(
    db: &PgPool,
    config: &Config,
    email: &str,
    password_hash: &str,
    return_to: Option<&str>,
) -> Result<SignUp, sqlx::Error> {
    let email = normalize_email(email);
    let mut tx = db.begin().await?;
    let created: Option<i64> = sqlx::query_scalar(
        "insert into users (email, password_hash) values ($1, $2)
         on conflict (lower(email)) do nothing returning id",
    )
    .bind(&email)
    .bind(password_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let outcome = match created {
        Some(user_id) => {
            send_confirmation(&mut tx, config, user_id, &email, return_to).await?;
            SignUp::Created
        }
        None => {
            let (user_id, has_password, confirmed): (i64, bool, bool) = sqlx::query_as(
                "select id, password_hash is not null, confirmed_at is not null
                 from users where lower(email) = $1 for update",
            )
            .bind(&email)
            .fetch_one(&mut *tx)
            .await?;
            match (has_password, confirmed) {
                (false, _) => {
                    send_activation(&mut tx, config, user_id, &email).await?;
                    SignUp::ActivationSent
                }
                (true, false) => {
                    send_confirmation(&mut tx, config, user_id, &email, return_to).await?;
                    SignUp::ConfirmationResent
                }
                (true, true) => {
                    send_existing_account_warning(&mut tx, config, user_id, &email, return_to)
                        .await?;
                    SignUp::OwnerWarned
                }
            }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Sends a new confirmation (or activation) link to an account that is not confirmed.
/// Does nothing for unknown or confirmed addresses; the caller answers the same way.
pub async fn resend_confirmation(
    db: &PgPool,
    config: &Config,
    email: &str,
    return_to: Option<&str>,
) -> Result<(), sqlx::Error> {
    let email = normalize_email(email);
    let mut tx = db.begin().await?;
    let found: Option<(i64, bool, bool)> = sqlx::query_as(
        "select id, password_hash is not null, confirmed_at is not null
         from users where lower(email) = $1 for update",
    )
    .bind(&email)
    .fetch_optional(&mut *tx)
    .await?;
    match found {
        Some((user_id, false, _)) => send_activation(&mut tx, config, user_id, &email).await?,
        Some((user_id, true, false)) => {
            send_confirmation(&mut tx, config, user_id, &email, return_to).await?
        }
        _ => {}
    }
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// The account is now confirmed; open its session.
    Confirmed(Authenticated),
    /// The link was already used and the account is confirmed: the owner signs in.
    AlreadyConfirmed,
    /// Unknown or expired link.
    Invalid,
}

/// Consumes a confirmation link and confirms its account.
pub async fn confirm(db: &PgPool, token: &str) -> Result<Confirmation, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(user_id) = consume_token(&mut tx, token, TokenPurpose::Confirmation).await? else {
        let confirmed: Option<bool> = sqlx::query_scalar(
            "select u.confirmed_at is not null from user_tokens t join users u on u.id = t.user_id
             where t.token_hash = $1 and t.purpose = $2",
        )
        .bind(sha256_hex(token))
        .bind(TokenPurpose::Confirmation.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        return Ok(match confirmed {
            Some(true) => Confirmation::AlreadyConfirmed,
            _ => Confirmation::Invalid,
        });
    };
    let roles: Roles = sqlx::query_as(
        "update users set confirmed_at = coalesce(confirmed_at, now()), updated_at = now()
         where id = $1 returning is_administrateur, is_instructeur, is_expert",
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Confirmation::Confirmed(Authenticated { user_id, roles }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    Success(Authenticated),
    /// Wrong e-mail or password (the same answer for both). `remaining` counts the
    /// attempts left before the account is locked, when it exists.
    Invalid {
        remaining: Option<i32>,
    },
    /// Too many failures: locked for `minutes` more minutes.
    Locked {
        minutes: i64,
    },
    /// Right password, but the e-mail address was never confirmed.
    Unconfirmed,
}

#[derive(sqlx::FromRow)]
struct Credentials {
    id: i64,
    password_hash: Option<String>,
    confirmed: bool,
    locked_minutes: Option<i64>,
    #[sqlx(flatten)]
    roles: Roles,
}

/// Checks e-mail and password, counting failures and locking the account after
/// `security.max_failed_attempts` consecutive ones for `security.lock_minutes`.
pub async fn authenticate(
    db: &PgPool,
    config: &Config,
    slots: &HashSlots,
    email: &str,
    password: &str,
) -> anyhow::Result<SignIn> {
    let email = normalize_email(email);
    let found: Option<Credentials> = sqlx::query_as(
        "select id, password_hash, confirmed_at is not null as confirmed,
                case when locked_until > now()
                  then ceil(extract(epoch from locked_until - now()) / 60)::bigint end as locked_minutes,
                is_administrateur, is_instructeur, is_expert
         from users where lower(email) = $1",
    )
    .bind(&email)
    .fetch_optional(db)
    .await?;
    let Some(account) = found else {
        verify(slots, password, None).await?;
        return Ok(SignIn::Invalid { remaining: None });
    };
    let ok = verify(slots, password, account.password_hash.clone()).await?;
    if let Some(minutes) = account.locked_minutes {
        // Even the right password does not open a locked account.
        return Ok(SignIn::Locked {
            minutes: minutes.max(1),
        });
    }
    if !ok {
        let max = config.security.max_failed_attempts.max(1);
        let (failed, locked): (i32, bool) = sqlx::query_as(
            "update users set
               failed_attempts = case when failed_attempts + 1 >= $2 then 0 else failed_attempts + 1 end,
               locked_until = case when failed_attempts + 1 >= $2
                 then now() + make_interval(mins => $3) else locked_until end
             where id = $1
             returning failed_attempts, coalesce(locked_until > now(), false)",
        )
        .bind(account.id)
        .bind(max)
        .bind(i32::try_from(config.security.lock_minutes).unwrap_or(i32::MAX))
        .fetch_one(db)
        .await?;
        if locked {
            return Ok(SignIn::Locked {
                minutes: config.security.lock_minutes.max(1),
            });
        }
        return Ok(SignIn::Invalid {
            remaining: Some(max - failed),
        });
    }
    if !account.confirmed {
        return Ok(SignIn::Unconfirmed);
    }
    Ok(SignIn::Success(Authenticated {
        user_id: account.id,
        roles: account.roles,
    }))
}

/// E-mails a password reset link when an account exists for `email`; does nothing
/// otherwise (the page answers the same way).
pub async fn request_password_reset(
    db: &PgPool,
    config: &Config,
    email: &str,
) -> Result<(), sqlx::Error> {
    let email = normalize_email(email);
    let mut tx = db.begin().await?;
    let found: Option<i64> = sqlx::query_scalar("select id from users where lower(email) = $1")
        .bind(&email)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(user_id) = found {
        let token = issue_token(&mut tx, user_id, TokenPurpose::ResetPassword, RESET_HOURS).await?;
        let link = config.url(&format!("/users/password/edit?token={token}"));
        let mail = Mail {
            to: email.clone(),
            subject: "Changement de mot de passe".to_owned(),
            text: format!(
                "Bonjour,\n\nVous avez demandé à changer le mot de passe de votre compte demarches \
                 ({email}).\n\nPour choisir un nouveau mot de passe, ouvrez ce lien \
                 (valable 6 heures) :\n{link}\n\n\
                 Si vous n’êtes pas à l’origine de cette demande, ignorez ce message : \
                 votre mot de passe actuel reste valable.\n\nBonne journée,\n\nL’équipe demarches"
            ),
        };
        enqueue(&mut tx, &mail_key("reset-password", user_id), &mail).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The e-mail address of the account a valid, unused link of `purpose` belongs to.
pub async fn link_email(
    db: &PgPool,
    token: &str,
    purpose: TokenPurpose,
) -> Result<Option<String>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    Ok(peek_token(&mut conn, token, purpose)
        .await?
        .map(|(_, email)| email))
}

/// Consumes a reset or activation link and sets the (already hashed) password: the
/// account is confirmed and unlocked, its other sessions and pending reset links are
/// revoked. `None` when the link is no longer valid.
pub async fn set_password_with_link(
    db: &PgPool,
    token: &str,
    purpose: TokenPurpose,
    password_hash: &str,
) -> Result<Option<Authenticated>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(user_id) = consume_token(&mut tx, token, purpose).await? else {
        return Ok(None);
    };
    let roles: Roles = sqlx::query_as(
        "update users set password_hash = $2, confirmed_at = coalesce(confirmed_at, now()),
           failed_attempts = 0, locked_until = null, updated_at = now()
         where id = $1 returning is_administrateur, is_instructeur, is_expert",
    )
    .bind(user_id)
    .bind(password_hash)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("delete from sessions where user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "update user_tokens set used_at = now()
         where user_id = $1 and purpose in ('reset_password', 'activation') and used_at is null",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(Authenticated { user_id, roles }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses() {
        for ok in [
            "jean.dupont@example.fr",
            "  Camille@Mairie-Lyon.gouv.fr ",
            "a+b@x.io",
            "élodie@exemple.fr",
        ] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "jean",
            "jean@",
            "@example.fr",
            "jean@example",
            "jean dupont@example.fr",
            "jean@exa mple.fr",
            "jean@example..fr",
            "jean@-example.fr",
            "jean@@example.fr",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn new_password_rules() {
        assert!(check_new_password("Kx9#vLq2!Tzw", "Kx9#vLq2!Tzw", "a@b.fr").is_empty());
        assert_eq!(
            check_new_password("Kx9#vLq2!Tzw", "Kx9#vLq2!Tzx", "a@b.fr"),
            vec![("password_confirmation", PASSWORD_MISMATCH.to_owned())]
        );
        let weak = check_new_password("court", "court", "a@b.fr");
        assert_eq!(weak.len(), 1);
        assert_eq!(weak[0].0, "password");
        assert!(weak[0].1.contains("12 caractères"));
    }
}
