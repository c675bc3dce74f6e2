//! Champ definitions of a revision. Published revisions never change, so they are cached;
//! a draft revision (test dossiers) is always read fresh.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::logic::{self, Condition};
use crate::domain::revision_change::ChampVersion;
use crate::domain::{ChampDef, ChampOptions, TypeChamp};

#[derive(Debug, Clone)]
pub struct ChampDefRow {
    pub stable_id: i64,
    pub type_champ: TypeChamp,
    pub libelle: String,
    pub description: String,
    pub mandatory: bool,
    pub private: bool,
    /// The bloc répétable this champ belongs to (`types_de_champ.parent_stable_id`).
    pub parent: Option<i64>,
    pub options: ChampOptions,
    /// Shown only when this holds (`types_de_champ.condition`).
    pub condition: Option<Condition>,
}

impl ChampDefRow {
    pub fn def(&self) -> ChampDef<'_> {
        ChampDef {
            type_champ: self.type_champ,
            libelle: &self.libelle,
            mandatory: self.mandatory,
            options: &self.options,
        }
    }

    /// The form field name of this champ.
    pub fn field(&self) -> String {
        format!("champ_{}", self.stable_id)
    }
}

#[derive(Debug, Clone)]
pub struct RevisionDefs {
    pub revision_id: i64,
    pub published: bool,
    /// Public champs then annotations privées, each in position order; the children of
    /// blocs répétables follow, in position order within their block.
    pub champs: Vec<ChampDefRow>,
}

impl RevisionDefs {
    /// The public champs of the form (children of blocks excluded).
    pub fn public(&self) -> impl Iterator<Item = &ChampDefRow> {
        self.champs
            .iter()
            .filter(|c| !c.private && c.parent.is_none())
    }
    pub fn private(&self) -> impl Iterator<Item = &ChampDefRow> {
        self.champs
            .iter()
            .filter(|c| c.private && c.parent.is_none())
    }
    /// The children of the bloc répétable `block`, in order.
    pub fn children(&self, block: i64) -> impl Iterator<Item = &ChampDefRow> {
        self.champs.iter().filter(move |c| c.parent == Some(block))
    }
    pub fn get(&self, stable_id: i64) -> Option<&ChampDefRow> {
        self.champs.iter().find(|c| c.stable_id == stable_id)
    }

    /// Visibility of the public champs with these values, in form order.
    pub fn public_visibility(&self, values: &HashMap<i64, Value>) -> Vec<(i64, bool)> {
        logic::visible_champs(
            self.public().map(|c| (c.stable_id, c.condition.as_ref())),
            |id| values.get(&id),
        )
    }

    /// The public champs hidden by their condition with these values.
    pub fn hidden_public(&self, values: &HashMap<i64, Value>) -> HashSet<i64> {
        self.public_visibility(values)
            .into_iter()
            .filter(|(_, visible)| !visible)
            .map(|(id, _)| id)
            .collect()
    }

    /// Visibility of the children of `block` in its row `row`, in order: a child's
    /// condition reads its earlier siblings in the same row and the top-level champs
    /// (those in `hidden` read as empty, as do hidden siblings).
    pub fn row_visibility(
        &self,
        block: i64,
        row: Uuid,
        values: &HashMap<i64, Value>,
        rows: &HashMap<(i64, Uuid), Value>,
        hidden: &HashSet<i64>,
    ) -> Vec<(i64, bool)> {
        let children: Vec<&ChampDefRow> = self.children(block).collect();
        logic::visible_champs(
            children.iter().map(|c| (c.stable_id, c.condition.as_ref())),
            |id| {
                if children.iter().any(|c| c.stable_id == id) {
                    rows.get(&(id, row))
                } else if hidden.contains(&id) {
                    None
                } else {
                    values.get(&id)
                }
            },
        )
    }

    /// The children hidden in each row of each block, as `(child, row)`: by their own
    /// condition, or because their block is hidden (`hidden`, from `hidden_public`).
    pub fn hidden_rows(
        &self,
        values: &HashMap<i64, Value>,
        rows: &HashMap<(i64, Uuid), Value>,
        hidden: &HashSet<i64>,
    ) -> HashSet<(i64, Uuid)> {
        let mut out = HashSet::new();
        for block in self.public().filter(|d| d.type_champ.is_repetition()) {
            let block_hidden = hidden.contains(&block.stable_id);
            let conditional = self
                .children(block.stable_id)
                .any(|c| c.condition.is_some());
            if !block_hidden && !conditional {
                continue;
            }
            let row_ids = crate::domain::repetition::row_ids(values.get(&block.stable_id));
            for row in row_ids {
                if block_hidden {
                    out.extend(self.children(block.stable_id).map(|c| (c.stable_id, row)));
                    continue;
                }
                out.extend(
                    self.row_visibility(block.stable_id, row, values, rows, hidden)
                        .into_iter()
                        .filter(|(_, visible)| !visible)
                        .map(|(id, _)| (id, row)),
                );
            }
        }
        out
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    stable_id: i64,
    type_champ: String,
    libelle: String,
    description: String,
    mandatory: bool,
    private: bool,
    parent_stable_id: Option<i64>,
    options: Value,
    condition: Option<Value>,
}

pub async fn load(db: &PgPool, revision_id: i64) -> Result<RevisionDefs, sqlx::Error> {
    let published: bool = sqlx::query_scalar(
        "select (published_at is not null) from procedure_revisions where id = $1",
    )
    .bind(revision_id)
    .fetch_one(db)
    .await?;
    let rows: Vec<Row> = sqlx::query_as(
        "select stable_id, type_champ, libelle, description, mandatory, private,
                parent_stable_id, options, condition
         from types_de_champ where revision_id = $1
         order by parent_stable_id is not null, private, position",
    )
    .bind(revision_id)
    .fetch_all(db)
    .await?;
    let champs = rows
        .into_iter()
        .filter_map(|r| {
            let type_champ = r.type_champ.parse::<TypeChamp>().ok()?;
            Some(ChampDefRow {
                stable_id: r.stable_id,
                type_champ,
                libelle: r.libelle,
                description: r.description,
                mandatory: r.mandatory,
                private: r.private,
                parent: r.parent_stable_id,
                options: serde_json::from_value(r.options).unwrap_or_default(),
                // A condition this version cannot read shows the champ (never hides data).
                condition: r.condition.and_then(|c| serde_json::from_value(c).ok()),
            })
        })
        .collect();
    Ok(RevisionDefs {
        revision_id,
        published,
        champs,
    })
}

/// Cache of published revisions, shared by every dossier actor of the node.
#[derive(Clone)]
pub struct RevisionCache(moka::future::Cache<i64, Arc<RevisionDefs>>);

impl Default for RevisionCache {
    fn default() -> Self {
        Self(moka::future::Cache::builder().max_capacity(2_000).build())
    }
}

impl RevisionCache {
    pub async fn get(
        &self,
        db: &PgPool,
        revision_id: i64,
    ) -> Result<Arc<RevisionDefs>, sqlx::Error> {
        if let Some(defs) = self.0.get(&revision_id).await {
            return Ok(defs);
        }
        let defs = Arc::new(load(db, revision_id).await?);
        if defs.published {
            self.0.insert(revision_id, defs.clone()).await;
        }
        Ok(defs)
    }
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    stable_id: i64,
    parent_stable_id: Option<i64>,
    private: bool,
    position: i32,
    type_champ: String,
    libelle: String,
    description: String,
    mandatory: bool,
    options: Value,
    condition: Option<Value>,
}

/// Every champ of a revision (public, children, annotations privées) as compared by
/// [`crate::domain::revision_change::compare`], in form order.
pub async fn versions<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    revision_id: i64,
) -> Result<Vec<ChampVersion>, sqlx::Error> {
    let rows: Vec<VersionRow> = sqlx::query_as(
        "select stable_id, parent_stable_id, private, position, type_champ, libelle,
                description, mandatory, options, condition
         from types_de_champ where revision_id = $1
         order by private, parent_stable_id is not null, position, id",
    )
    .bind(revision_id)
    .fetch_all(executor)
    .await?;
    let all: Vec<ChampVersion> = rows
        .into_iter()
        .filter_map(|r| {
            Some(ChampVersion {
                stable_id: r.stable_id,
                parent: r.parent_stable_id,
                private: r.private,
                position: r.position,
                type_champ: r.type_champ.parse::<TypeChamp>().ok()?,
                libelle: r.libelle,
                description: r.description,
                mandatory: r.mandatory,
                options: serde_json::from_value(r.options).unwrap_or_default(),
                condition: r.condition,
            })
        })
        .collect();
    // Each block's children right after it.
    let (top, children): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.parent.is_none());
    let mut ordered = Vec::with_capacity(top.len() + children.len());
    for champ in top {
        let id = champ.stable_id;
        ordered.push(champ);
        ordered.extend(children.iter().filter(|c| c.parent == Some(id)).cloned());
    }
    Ok(ordered)
}
