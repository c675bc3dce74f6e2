//! Connectors enabled per démarche (table `procedure_connectors`): which WASM connector
//! serves a capability (`address`, `feedback`, `siret`, `identity`) for a démarche, with
//! the démarche's configuration of it (validated against the connector's schema by the
//! caller, see [`super::config_schema`]). The call sites ask [`enabled_for`].
//!
//! One enabled connector per capability and démarche: enabling a second one that
//! provides a capability already served is refused. Disabling keeps the configuration,
//! so enabling again starts from it.

use demarches_plugins::DemarcheConfig;
use serde_json::Value;
use sqlx::PgConnection;

use super::{EditError, lock_procedure};

/// A connector as configured for a démarche.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureConnector {
    pub connector: String,
    pub interface_major: i32,
    pub config: Value,
    pub enabled: bool,
    pub capabilities: Vec<String>,
}

/// The connector that serves a capability for a démarche, and its configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct EnabledConnector {
    pub name: String,
    pub config: Value,
}

impl EnabledConnector {
    /// The configuration as the connector reads it (`config-get`).
    pub fn demarche_config(&self) -> DemarcheConfig {
        DemarcheConfig::from_json(&self.config)
    }
}

/// What enabling a connector records.
#[derive(Debug, Clone)]
pub struct Enable {
    pub connector: String,
    pub interface_major: i32,
    /// The capabilities the loaded connector declares.
    pub capabilities: Vec<String>,
    /// Already validated against the connector's schema.
    pub config: Value,
}

/// The connectors configured for a démarche (enabled or not), by name.
pub async fn list(
    conn: &mut PgConnection,
    procedure_id: i64,
) -> Result<Vec<ProcedureConnector>, sqlx::Error> {
    let rows: Vec<(String, i32, Value, bool, Vec<String>)> = sqlx::query_as(
        "select connector, interface_major, config, enabled, capabilities
         from procedure_connectors where procedure_id = $1 order by connector",
    )
    .bind(procedure_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(connector, interface_major, config, enabled, capabilities)| ProcedureConnector {
                connector,
                interface_major,
                config,
                enabled,
                capabilities,
            },
        )
        .collect())
}

/// The enabled connector that provides `capability` for the démarche, if any.
pub async fn enabled_for(
    conn: &mut PgConnection,
    procedure_id: i64,
    capability: &str,
) -> Result<Option<EnabledConnector>, sqlx::Error> {
    let row: Option<(String, Value)> = sqlx::query_as(
        "select connector, config from procedure_connectors
         where procedure_id = $1 and enabled and $2 = any(capabilities)
         order by connector limit 1",
    )
    .bind(procedure_id)
    .bind(capability)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(name, config)| EnabledConnector { name, config }))
}

/// Enables a connector for a démarche with its configuration (insert or update).
/// Refused when another enabled connector already provides one of its capabilities.
pub async fn enable(
    conn: &mut PgConnection,
    procedure_id: i64,
    enable: Enable,
) -> Result<(), EditError> {
    lock_procedure(conn, procedure_id).await?;
    let clash: Option<(String, String)> = sqlx::query_as(
        "select connector, c from procedure_connectors, unnest(capabilities) c
         where procedure_id = $1 and enabled and connector <> $2 and c = any($3)
         order by connector limit 1",
    )
    .bind(procedure_id)
    .bind(&enable.connector)
    .bind(&enable.capabilities)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((other, capability)) = clash {
        return Err(EditError::Refused(format!(
            "Le connecteur « {other} » fournit déjà la capacité « {capability} » à cette démarche : désactivez-le d’abord."
        )));
    }
    sqlx::query(
        "insert into procedure_connectors
           (procedure_id, connector, interface_major, config, enabled, capabilities, updated_at)
         values ($1, $2, $3, $4, true, $5, now())
         on conflict (procedure_id, connector) do update
           set interface_major = excluded.interface_major, config = excluded.config,
               enabled = true, capabilities = excluded.capabilities, updated_at = now()",
    )
    .bind(procedure_id)
    .bind(&enable.connector)
    .bind(enable.interface_major)
    .bind(&enable.config)
    .bind(&enable.capabilities)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Disables a connector for a démarche; its configuration is kept.
pub async fn disable(
    conn: &mut PgConnection,
    procedure_id: i64,
    connector: &str,
) -> Result<(), EditError> {
    lock_procedure(conn, procedure_id).await?;
    let updated = sqlx::query(
        "update procedure_connectors set enabled = false, updated_at = now()
         where procedure_id = $1 and connector = $2 and enabled",
    )
    .bind(procedure_id)
    .bind(connector)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(EditError::NotFound);
    }
    Ok(())
}
