//! FranceConnect on the platform side: the sign-ins in progress (state and nonce kept
//! server-side, bound to the browser by a cookie), the identities FranceConnect vouches for
//! (`france_connect_informations`, one per `sub`, linked to an account) and how an identity
//! finds or makes its account. The OpenID Connect work itself is the `france_connect`
//! connector's (plugins); handlers are in `web/france_connect.rs`.

use demarches_actors::dossier::messages::IndividualInput;
use demarches_plugins::Person;
use sqlx::{PgConnection, PgPool};

use crate::accounts::store::normalize_email;
use crate::security::{random_token, sha256_hex};

/// Name of the identity connector (`var/plugins/france_connect.wasm`).
pub const CONNECTOR: &str = "france_connect";
/// Lifetime of a sign-in in progress.
const LOGIN_MINUTES: i32 = 10;

/// A sign-in just started: `cookie` goes to the browser, state and nonce to FranceConnect.
pub struct PendingLogin {
    pub cookie: String,
    pub state: String,
    pub nonce: String,
}

/// Records a new sign-in in progress.
pub async fn begin_login(db: &PgPool) -> Result<PendingLogin, sqlx::Error> {
    let login = PendingLogin {
        cookie: random_token(),
        state: random_token(),
        nonce: random_token(),
    };
    sqlx::query("delete from france_connect_logins where expires_at < now()")
        .execute(db)
        .await?;
    sqlx::query(
        "insert into france_connect_logins (token_hash, state, nonce, expires_at)
         values ($1, $2, $3, now() + make_interval(mins => $4))",
    )
    .bind(sha256_hex(&login.cookie))
    .bind(&login.state)
    .bind(&login.nonce)
    .bind(LOGIN_MINUTES)
    .execute(db)
    .await?;
    Ok(login)
}

/// Takes (one use) the sign-in of this browser's cookie; returns its state and nonce
/// unless it expired.
pub async fn take_login(
    db: &PgPool,
    cookie: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "delete from france_connect_logins where token_hash = $1
         returning state, nonce, expires_at > now() as live",
    )
    .bind(sha256_hex(cookie))
    .fetch_optional(db)
    .await
    .map(|row: Option<(String, String, bool)>| {
        row.and_then(|(state, nonce, live)| live.then_some((state, nonce)))
    })
}

/// What a FranceConnect identity leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Link {
    /// Sign in as this account (already linked, newly linked or newly created).
    Account(i64),
    /// Another account already uses this e-mail: the owner must sign in with the password
    /// first, then use FranceConnect again to link both (nothing is merged silently).
    EmailTaken(String),
    /// FranceConnect sent no e-mail and the identity is linked to no account.
    NoEmail,
    /// The identity is already linked to another account than the signed-in one.
    LinkedElsewhere,
}

/// Finds or creates the account of `person`, and records the identity (updated on every
/// sign-in, as DS does). `current` is the account signed in on this browser, if any: it
/// gets the identity when the identity is new.
pub async fn link(db: &PgPool, person: &Person, current: Option<i64>) -> anyhow::Result<Link> {
    let mut tx = db.begin().await?;
    let linked: Option<i64> = sqlx::query_scalar(
        "select user_id from france_connect_informations
         where france_connect_particulier_id = $1 for update",
    )
    .bind(&person.sub)
    .fetch_optional(&mut *tx)
    .await?;
    let user_id = match (linked, current) {
        (Some(owner), Some(me)) if owner != me => return Ok(Link::LinkedElsewhere),
        (Some(owner), _) => owner,
        (None, Some(me)) => me,
        (None, None) => {
            let Some(email) = person.email.as_deref().filter(|e| !e.trim().is_empty()) else {
                return Ok(Link::NoEmail);
            };
            match create_account(&mut tx, email).await? {
                Some(id) => id,
                None => return Ok(Link::EmailTaken(normalize_email(email))),
            }
        }
    };
    save_information(&mut tx, user_id, person).await?;
    tx.commit().await?;
    Ok(Link::Account(user_id))
}

/// A new confirmed account without password for `email`; None when the e-mail is taken.
async fn create_account(conn: &mut PgConnection, email: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into users (email, confirmed_at) values ($1, now())
         on conflict (lower(email)) do nothing returning id",
    )
    .bind(normalize_email(email))
    .fetch_optional(conn)
    .await
}

fn raw_claim(person: &Person, key: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&person.raw_claims)
        .ok()?
        .get(key)?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

async fn save_information(
    conn: &mut PgConnection,
    user_id: i64,
    person: &Person,
) -> Result<(), sqlx::Error> {
    let birthdate = person.birthdate.as_deref().and_then(|d| {
        time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok()
    });
    sqlx::query(
        "insert into france_connect_informations
           (user_id, france_connect_particulier_id, given_name, family_name, birthdate,
            birthplace, birthcountry, gender, email_france_connect)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (france_connect_particulier_id) do update set
           user_id = excluded.user_id, given_name = excluded.given_name,
           family_name = excluded.family_name, birthdate = excluded.birthdate,
           birthplace = excluded.birthplace, birthcountry = excluded.birthcountry,
           gender = excluded.gender, email_france_connect = excluded.email_france_connect,
           updated_at = now()",
    )
    .bind(user_id)
    .bind(&person.sub)
    .bind(&person.given_name)
    .bind(&person.family_name)
    .bind(birthdate)
    .bind(raw_claim(person, "birthplace"))
    .bind(raw_claim(person, "birthcountry"))
    .bind(&person.gender)
    .bind(&person.email)
    .execute(conn)
    .await?;
    Ok(())
}

/// The identity FranceConnect vouches for, as the identity of a dossier.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Identity {
    pub given_name: String,
    pub family_name: String,
    pub gender: Option<String>,
}

impl Identity {
    /// DS: "female" → Mme, anything else → M.
    pub fn civilite(&self) -> &'static str {
        if self.gender.as_deref() == Some("female") {
            "Mme"
        } else {
            "M."
        }
    }

    /// The identity of a dossier for an individual.
    pub fn individual(&self) -> IndividualInput {
        IndividualInput {
            civilite: self.civilite().to_owned(),
            nom: self.family_name.clone(),
            prenom: self.given_name.clone(),
        }
    }
}

/// The FranceConnect identity of a dossier's owner: the identity of its dossiers for
/// individuals, shown as coming from FranceConnect.
pub async fn identity_of_dossier(
    db: &PgPool,
    dossier_id: i64,
) -> Result<Option<Identity>, sqlx::Error> {
    sqlx::query_as(
        "select f.given_name, f.family_name, f.gender
         from dossiers d join france_connect_informations f on f.user_id = d.user_id
         where d.id = $1 order by f.updated_at desc limit 1",
    )
    .bind(dossier_id)
    .fetch_optional(db)
    .await
}

/// Keeps the id_token of a FranceConnect session, for its logout.
pub async fn remember_id_token(
    db: &PgPool,
    session_hash: &str,
    id_token: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update sessions set france_connect_id_token = $2 where token_hash = $1")
        .bind(session_hash)
        .bind(id_token)
        .execute(db)
        .await?;
    Ok(())
}

/// The id_token of a session opened with FranceConnect.
pub async fn session_id_token(
    db: &PgPool,
    session_hash: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select france_connect_id_token from sessions where token_hash = $1")
        .bind(session_hash)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civilite_follows_ds() {
        let mut id = Identity {
            given_name: "Angela Claire Louise".into(),
            family_name: "DUBOIS".into(),
            gender: Some("female".into()),
        };
        assert_eq!(id.civilite(), "Mme");
        assert_eq!(id.individual().nom, "DUBOIS");
        id.gender = Some("male".into());
        assert_eq!(id.civilite(), "M.");
        id.gender = None;
        assert_eq!(id.civilite(), "M.");
    }
}
