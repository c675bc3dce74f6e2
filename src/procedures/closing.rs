//! Closing a démarche (FEATURES §3.1 `close`): no new dossier can be deposited; dossiers
//! already deposited are still instructed.

use sqlx::PgConnection;

use super::{EditError, ProcedureState, lock_procedure};

pub const NOT_PUBLISHED: &str = "Seule une démarche publiée peut être close.";

/// Closes a published démarche (`state = 'close'`, `closed_at`).
pub async fn close(conn: &mut PgConnection, procedure_id: i64) -> Result<(), EditError> {
    let procedure = lock_procedure(conn, procedure_id).await?;
    if procedure.state != ProcedureState::Publiee {
        return Err(EditError::Refused(NOT_PUBLISHED.to_owned()));
    }
    sqlx::query(
        "update procedures set state = 'close', closed_at = now(), updated_at = now()
         where id = $1",
    )
    .bind(procedure_id)
    .execute(conn)
    .await?;
    Ok(())
}
