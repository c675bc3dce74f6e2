//! User rows and one-time tokens. Tokens are random; only their SHA-256 is stored.

use sqlx::PgConnection;

use crate::security::{random_token, sha256_hex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Confirms the e-mail address of a self-registered account.
    Confirmation,
    /// Lets the owner choose a new password.
    ResetPassword,
    /// Lets an invited instructeur or administrateur choose a password.
    Activation,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Confirmation => "confirmation",
            TokenPurpose::ResetPassword => "reset_password",
            TokenPurpose::Activation => "activation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Instructeur,
    Administrateur,
    Expert,
}

impl Role {
    fn column(self) -> &'static str {
        match self {
            Role::Instructeur => "is_instructeur",
            Role::Administrateur => "is_administrateur",
            Role::Expert => "is_expert",
        }
    }
}

/// Normalizes an e-mail address for storage and lookup.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Finds the user with this e-mail or creates one without password (an invited account).
/// Returns the id and whether the account still has to be activated (no password yet).
pub async fn ensure_user(conn: &mut PgConnection, email: &str) -> Result<(i64, bool), sqlx::Error> {
    let email = normalize_email(email);
    let existing: Option<(i64, bool)> =
        sqlx::query_as("select id, password_hash is null from users where lower(email) = $1")
            .bind(&email)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(found) = existing {
        return Ok(found);
    }
    let id: i64 = sqlx::query_scalar(
        "insert into users (email) values ($1)
         on conflict (lower(email)) do update set updated_at = now() returning id",
    )
    .bind(&email)
    .fetch_one(&mut *conn)
    .await?;
    Ok((id, true))
}

/// Grants a role (idempotent).
pub async fn grant(conn: &mut PgConnection, user_id: i64, role: Role) -> Result<(), sqlx::Error> {
    let sql = format!(
        "update users set {} = true, updated_at = now() where id = $1",
        role.column()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Issues a one-time token valid `hours` hours and returns it (to put in a link).
pub async fn issue_token(
    conn: &mut PgConnection,
    user_id: i64,
    purpose: TokenPurpose,
    hours: i32,
) -> Result<String, sqlx::Error> {
    let token = random_token();
    sqlx::query(
        "insert into user_tokens (token_hash, user_id, purpose, expires_at)
         values ($1, $2, $3, now() + make_interval(hours => $4))",
    )
    .bind(sha256_hex(&token))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(hours)
    .execute(conn)
    .await?;
    Ok(token)
}

/// Consumes a valid, unused token of `purpose`; returns its user.
pub async fn consume_token(
    conn: &mut PgConnection,
    token: &str,
    purpose: TokenPurpose,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "update user_tokens set used_at = now()
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
         returning user_id",
    )
    .bind(sha256_hex(token))
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
}

/// Checks a token without consuming it (to show the form it unlocks).
pub async fn peek_token(
    conn: &mut PgConnection,
    token: &str,
    purpose: TokenPurpose,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "select u.id, u.email from user_tokens t join users u on u.id = t.user_id
         where t.token_hash = $1 and t.purpose = $2 and t.used_at is null and t.expires_at > now()",
    )
    .bind(sha256_hex(token))
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
}
