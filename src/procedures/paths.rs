//! Démarche links (`/commencer/<path>`, FEATURES §3.2): format, uniqueness, and the
//! default link made from the libellé.

use std::collections::HashSet;

use demarches_actors::domain::slug::{PATH_MAX_LEN, PATH_MIN_LEN};
use demarches_actors::domain::{slugify, validate_path};
use sqlx::PgConnection;

use super::{EditError, FieldError};

pub const PATH_TAKEN: &str = "Ce lien est déjà utilisé par une autre démarche.";

/// Fallback base when the libellé gives no usable slug (only symbols, non-Latin script).
const FALLBACK: &str = "demarche";

/// Key of the transaction-level advisory lock that serializes every change of a link,
/// so that "is it free?" then "take it" cannot race.
const PATHS_LOCK: i64 = 0x6465_6d61_7274;

/// Serializes link changes until the end of the transaction.
pub async fn lock_paths(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(PATHS_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether another démarche (than `except`) already uses `path`.
pub async fn is_taken(
    conn: &mut PgConnection,
    path: &str,
    except: Option<i64>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from procedures where path = $1 and id is distinct from $2)",
    )
    .bind(path)
    .bind(except)
    .fetch_one(conn)
    .await
}

/// Checks a link chosen by an administrateur: its format, then that no other démarche
/// uses it. Call [`lock_paths`] first in the same transaction.
pub async fn check_chosen(
    conn: &mut PgConnection,
    path: &str,
    except: Option<i64>,
) -> Result<(), EditError> {
    validate_path(path).map_err(|message| EditError::invalid("path", message))?;
    if is_taken(conn, path, except).await? {
        return Err(EditError::Invalid(vec![FieldError::new(
            "path", PATH_TAKEN,
        )]));
    }
    Ok(())
}

/// The link made from a libellé: its slug, or `slug-2`, `slug-3`… when taken.
/// Call [`lock_paths`] first in the same transaction.
pub async fn default_for(conn: &mut PgConnection, libelle: &str) -> Result<String, sqlx::Error> {
    let mut base = slugify(libelle);
    if base.len() < PATH_MIN_LEN {
        base = FALLBACK.to_owned();
    }
    // Every path that could collide: all candidates start with the first characters
    // of the base (at most 21 characters of suffix are ever added).
    let prefix = trimmed_base(&base, PATH_MAX_LEN - 20);
    let taken: HashSet<String> =
        sqlx::query_scalar("select path from procedures where path like $1 || '%'")
            .bind(like_escape(&prefix))
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    if !taken.contains(&base) {
        return Ok(base);
    }
    let mut n: u64 = 2;
    loop {
        let candidate = numbered(&base, n);
        if !taken.contains(&candidate) {
            return Ok(candidate);
        }
        n += 1;
    }
}

/// `base-n`, the base shortened so the whole stays within [`PATH_MAX_LEN`].
fn numbered(base: &str, n: u64) -> String {
    let suffix = format!("-{n}");
    format!("{}{suffix}", trimmed_base(base, suffix.len()))
}

fn trimmed_base(base: &str, room: usize) -> String {
    let keep = PATH_MAX_LEN.saturating_sub(room).min(base.len());
    // Slugs are ASCII: byte slicing is safe.
    base[..keep].trim_end_matches('-').to_owned()
}

fn like_escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_paths_stay_valid() {
        assert_eq!(numbered("aide", 2), "aide-2");
        let long = "a".repeat(50);
        let p = numbered(&long, 12);
        assert_eq!(p.len(), 50);
        assert!(p.ends_with("-12"));
        assert!(validate_path(&p).is_ok());
        // A dash just before the suffix is dropped.
        let base = format!("{}-{}", "a".repeat(47), "bb");
        assert_eq!(numbered(&base, 2), format!("{}-2", "a".repeat(47)));
    }
}
