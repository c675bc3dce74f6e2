//! Read models: SQL queries behind the pages, one module per audience. Writes to a
//! dossier never happen here (they go through its actor).

pub mod attachments;
pub mod carte;
pub mod instructeur;
pub mod usager;

use std::collections::HashMap;

use sqlx::PgPool;

/// Where a `dossier_link` value may point for `viewer_id`: the instructeur page when the
/// viewer instructs the target's groupe (and the target is deposited), the usager page
/// when the viewer owns it. Targets the viewer may not see are left out (shown as bare
/// numbers).
pub async fn dossier_link_urls(
    db: &PgPool,
    viewer_id: i64,
    ids: &[i64],
) -> Result<HashMap<i64, String>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
        "select d.id,
                case when d.state <> 'brouillon' and exists (
                            select 1 from assign_tos a
                            where a.groupe_instructeur_id = d.groupe_instructeur_id
                              and a.instructeur_id = $1)
                       then '/procedures/' || d.procedure_id || '/dossiers/' || d.id
                     when d.user_id = $1 then '/dossiers/' || d.id
                end
         from dossiers d where d.id = any($2)",
    )
    .bind(viewer_id)
    .bind(ids)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, url)| url.map(|u| (id, u)))
        .collect())
}
