//! `/admin/procedures/{id}/connecteurs`: the connectors this node runs, enabled or not
//! for the démarche, each with its configuration form (built from the schema the
//! connector publishes, checked by [`crate::procedures::config_schema`]) and a
//! "Tester" button that makes a harmless sample call.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use demarches_plugins::{CallError, ConnectorError, ConnectorInfo, DemarcheConfig};
use serde_json::Value;

use super::{NoFields, app_error, procedure_for};
use crate::procedures::config_schema::{ConfigError, ConfigSchema, FieldKind, SchemaField};
use crate::procedures::connectors::{self, Enable, ProcedureConnector};
use crate::procedures::{EditError, Procedure};
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppResult;
use crate::web::page::{FlashKind, Page, redirect_with, render, render_status};
use crate::web::session::AdministrateurUser;

/// Form fields of a connector's configuration are `config.<key>`.
const FIELD_PREFIX: &str = "config.";
/// The sample address search of the "Tester" button.
pub const SAMPLE_ADDRESS: &str = "8 bd du Port";

/// One control of a configuration form, with what is shown in it.
pub(super) struct FieldView {
    field: SchemaField,
    value: String,
    error: Option<String>,
}

impl FieldView {
    fn name(&self) -> String {
        format!("{FIELD_PREFIX}{}", self.field.key)
    }
    fn id(&self, connector: &str) -> String {
        format!("{connector}-{}", self.field.key)
    }
    fn is_boolean(&self) -> bool {
        self.field.kind == FieldKind::Boolean
    }
    fn input_type(&self) -> &'static str {
        match self.field.kind {
            FieldKind::Integer | FieldKind::Number => "number",
            _ => "text",
        }
    }
    fn checked(&self) -> bool {
        !self.value.is_empty()
    }
    fn is_selected(&self, choice: &str) -> bool {
        self.value == choice
    }
}

/// What the "Tester" button found.
pub(super) struct TestOutcome {
    ok: bool,
    message: String,
}

pub(super) struct ConnectorCard {
    name: String,
    /// None: configured for the démarche but not loaded on this node.
    version: Option<String>,
    capabilities: Vec<String>,
    requested_hosts: Vec<String>,
    enabled: bool,
    fields: Vec<FieldView>,
    /// The schema cannot be read: the connector cannot be enabled.
    schema_error: Option<String>,
    /// A message about the whole configuration (the connector refused it).
    error: Option<String>,
    test: Option<TestOutcome>,
}

#[derive(Template)]
#[template(path = "admin/demarche_connecteurs.html")]
struct ConnecteursPage {
    page: Page,
    procedure: Procedure,
    cards: Vec<ConnectorCard>,
}

impl ConnecteursPage {
    fn error_count(&self) -> usize {
        self.cards
            .iter()
            .map(|c| {
                c.fields.iter().filter(|f| f.error.is_some()).count()
                    + usize::from(c.error.is_some())
            })
            .sum()
    }
}

fn url(procedure_id: i64) -> String {
    format!("/admin/procedures/{procedure_id}/connecteurs")
}

/// The stored value of a field as typed in the form.
fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => String::new(),
        Some(Value::Bool(true)) => "on".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn card(
    info: Option<&ConnectorInfo>,
    name: &str,
    row: Option<&ProcedureConnector>,
) -> ConnectorCard {
    let schema = info.map(|i| ConfigSchema::parse(&i.config_schema));
    let (fields, schema_error) = match &schema {
        Some(Ok(s)) => (
            s.fields
                .iter()
                .map(|f| FieldView {
                    value: shown(row.and_then(|r| r.config.get(&f.key))),
                    field: f.clone(),
                    error: None,
                })
                .collect(),
            None,
        ),
        Some(Err(e)) => {
            tracing::warn!(connector = name, error = %e, "unreadable config schema");
            (
                Vec::new(),
                Some("Ce connecteur publie un schéma de configuration illisible : il ne peut pas être activé.".to_owned()),
            )
        }
        None => (Vec::new(), None),
    };
    ConnectorCard {
        name: name.to_owned(),
        version: info.map(|i| i.version.clone()),
        capabilities: info
            .map(|i| i.capabilities.clone())
            .or_else(|| row.map(|r| r.capabilities.clone()))
            .unwrap_or_default(),
        requested_hosts: info.map(|i| i.requested_hosts.clone()).unwrap_or_default(),
        enabled: row.is_some_and(|r| r.enabled),
        fields,
        schema_error,
        error: None,
        test: None,
    }
}

/// Every loaded connector, then those configured for the démarche but not loaded.
async fn cards(state: &AppState, procedure_id: i64) -> AppResult<Vec<ConnectorCard>> {
    let mut conn = state.db.acquire().await?;
    let rows = connectors::list(&mut conn, procedure_id).await?;
    let mut out: Vec<ConnectorCard> = state
        .plugins
        .status()
        .into_iter()
        .filter_map(|s| state.plugins.current(&s.name))
        .map(|l| {
            card(
                Some(&l.info),
                &l.name,
                rows.iter().find(|r| r.connector == l.name),
            )
        })
        .collect();
    for r in &rows {
        if !out.iter().any(|c| c.name == r.connector) {
            out.push(card(None, &r.connector, Some(r)));
        }
    }
    Ok(out)
}

async fn page_for(
    state: &AppState,
    page: Page,
    procedure: Procedure,
    edit: impl FnOnce(&mut Vec<ConnectorCard>),
) -> AppResult<ConnecteursPage> {
    let mut cards = cards(state, procedure.id).await?;
    edit(&mut cards);
    Ok(ConnecteursPage {
        page,
        procedure,
        cards,
    })
}

pub(super) async fn index(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let procedure = procedure_for(&state, &user, path.into_inner()).await?;
    render(&page_for(&state, page, procedure, |_| {}).await?)
}

/// The configuration fields typed in a form, without their prefix.
fn typed_config(form: &[(String, String)]) -> BTreeMap<String, String> {
    form.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(FIELD_PREFIX)?.to_owned(), v.clone())))
        .collect()
}

/// Why an enabling was refused, shown on the connector's card.
enum Refusal {
    Fields(Vec<ConfigError>),
    Whole(String),
}

/// Asks the connector itself about a configuration when its capability has a
/// validating call (MonAvis: the embed code). Its French message is kept.
async fn connector_check(
    state: &AppState,
    name: &str,
    capabilities: &[String],
    config: &Value,
    procedure_id: i64,
) -> Result<(), String> {
    if !capabilities.iter().any(|c| c == "feedback") {
        return Ok(());
    }
    match state
        .plugins
        .monavis_button(
            name,
            &DemarcheConfig::from_json(config),
            &procedure_id.to_string(),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(CallError::Guest(ConnectorError::InvalidInput(m))) => Err(m),
        Err(e) => {
            tracing::warn!(connector = name, error = %e, "feedback connector check failed");
            Err(french(&e))
        }
    }
}

pub(super) async fn enable(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (procedure_id, name) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let Some(loaded) = state.plugins.current(&name) else {
        return Ok(redirect_with(
            &url(procedure.id),
            FlashKind::Error,
            &format!(
                "Le connecteur « {name} » n’est pas chargé sur ce serveur : il ne peut pas être activé."
            ),
        ));
    };
    let typed = typed_config(&form);
    let result = match ConfigSchema::parse(&loaded.info.config_schema) {
        Err(_) => Err(Refusal::Whole(
            "Ce connecteur publie un schéma de configuration illisible : il ne peut pas être activé.".into(),
        )),
        Ok(schema) => match schema.from_form(&typed) {
            Err(errors) => Err(Refusal::Fields(errors)),
            Ok(config) => {
                match connector_check(&state, &name, &loaded.info.capabilities, &config, procedure.id)
                    .await
                {
                    Err(message) => Err(match schema.fields.as_slice() {
                        [only] => Refusal::Fields(vec![ConfigError {
                            key: only.key.clone(),
                            message,
                        }]),
                        _ => Refusal::Whole(message),
                    }),
                    Ok(()) => {
                        let mut tx = state.db.begin().await?;
                        let enabled = connectors::enable(
                            &mut tx,
                            procedure.id,
                            Enable {
                                connector: name.clone(),
                                interface_major: demarches_plugins::INTERFACE_MAJOR,
                                capabilities: loaded.info.capabilities.clone(),
                                config,
                            },
                        )
                        .await;
                        match enabled {
                            Ok(()) => {
                                tx.commit().await?;
                                Ok(())
                            }
                            Err(EditError::Refused(m)) => Err(Refusal::Whole(m)),
                            Err(e) => return Err(app_error(e)),
                        }
                    }
                }
            }
        },
    };
    match result {
        Ok(()) => Ok(redirect_with(
            &url(procedure.id),
            FlashKind::Success,
            &format!("Le connecteur « {name} » est activé pour cette démarche."),
        )),
        Err(refusal) => {
            let page = page_for(&state, page, procedure, |cards| {
                if let Some(c) = cards.iter_mut().find(|c| c.name == name) {
                    // nothing typed is lost
                    for f in &mut c.fields {
                        f.value = typed.get(&f.field.key).cloned().unwrap_or_default();
                    }
                    match refusal {
                        Refusal::Fields(errors) => {
                            for e in errors {
                                if let Some(f) = c.fields.iter_mut().find(|f| f.field.key == e.key)
                                {
                                    f.error.get_or_insert(e.message);
                                }
                            }
                        }
                        Refusal::Whole(m) => c.error = Some(m),
                    }
                }
            })
            .await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

pub(super) async fn disable(
    AdministrateurUser(user): AdministrateurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let (procedure_id, name) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let mut tx = state.db.begin().await?;
    connectors::disable(&mut tx, procedure.id, &name)
        .await
        .map_err(app_error)?;
    tx.commit().await?;
    Ok(redirect_with(
        &url(procedure.id),
        FlashKind::Success,
        &format!("Le connecteur « {name} » est désactivé pour cette démarche."),
    ))
}

/// A French sentence for a failed connector call.
pub fn french(e: &CallError) -> String {
    match e {
        CallError::NotLoaded(_) => "Le connecteur n’est pas chargé sur ce serveur.".into(),
        CallError::Timeout => "Le connecteur n’a pas répondu dans le temps imparti.".into(),
        CallError::Trap(_) | CallError::MemoryLimit => {
            "Le connecteur s’est arrêté sur une erreur ; la plateforme continue sans lui.".into()
        }
        CallError::DeniedHost(h) => {
            format!("Le connecteur a tenté de joindre un serveur non autorisé : {h}.")
        }
        CallError::Unavailable(_) => "Le connecteur est momentanément saturé.".into(),
        CallError::Unsupported { capability, .. } => {
            format!("Le connecteur ne fournit pas la capacité « {capability} ».")
        }
        CallError::Guest(g) => match g {
            ConnectorError::InvalidInput(m) => format!("Donnée refusée : {m}"),
            ConnectorError::NotFound => "Aucun résultat pour l’exemple.".into(),
            ConnectorError::Unauthorized => {
                "Le service distant refuse l’accès : vérifiez les identifiants du connecteur."
                    .into()
            }
            ConnectorError::RateLimited(_) => {
                "Le service distant limite les appels : réessayez dans un moment.".into()
            }
            ConnectorError::Unavailable(_) => {
                "Le service distant est momentanément indisponible.".into()
            }
            ConnectorError::Internal(_) => "Le connecteur a rencontré une erreur interne.".into(),
        },
    }
}

/// The harmless sample call of the "Tester" button, for the démarche's configuration.
async fn sample_call(
    state: &AppState,
    name: &str,
    info: &ConnectorInfo,
    config: &DemarcheConfig,
    procedure_id: i64,
) -> TestOutcome {
    let described = format!(
        "{} {} répond (capacités : {}).",
        info.name,
        info.version,
        info.capabilities.join(", ")
    );
    let has = |c: &str| info.capabilities.iter().any(|x| x == c);
    let outcome = if has("address") {
        state
            .plugins
            .search_address_for(name, config, SAMPLE_ADDRESS, 3)
            .await
            .map(|list| match list.first() {
                Some(a) => format!(
                    "Recherche « {SAMPLE_ADDRESS} » : {} résultat{}, le premier : {}.",
                    list.len(),
                    if list.len() > 1 { "s" } else { "" },
                    a.label
                ),
                None => format!("Recherche « {SAMPLE_ADDRESS} » : aucun résultat."),
            })
    } else if has("feedback") {
        state
            .plugins
            .monavis_button(name, config, &procedure_id.to_string())
            .await
            .map(|b| match b {
                Some(b) => format!("Bouton « {} » vers {}.", b.alt, b.href),
                None => "Aucun code MonAvis n’est configuré.".into(),
            })
    } else {
        Ok(described.clone())
    };
    match outcome {
        Ok(m) if m == described => TestOutcome {
            ok: true,
            message: m,
        },
        Ok(m) => TestOutcome {
            ok: true,
            message: format!("{described} {m}"),
        },
        Err(e) => TestOutcome {
            ok: false,
            message: french(&e),
        },
    }
}

pub(super) async fn test(
    AdministrateurUser(user): AdministrateurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let (procedure_id, name) = path.into_inner();
    let procedure = procedure_for(&state, &user, procedure_id).await?;
    let mut conn = state.db.acquire().await?;
    let row = connectors::list(&mut conn, procedure.id)
        .await?
        .into_iter()
        .find(|r| r.connector == name && r.enabled);
    drop(conn);
    let outcome = match (state.plugins.current(&name), row) {
        (_, None) => TestOutcome {
            ok: false,
            message: "Activez d’abord le connecteur pour cette démarche.".into(),
        },
        (None, Some(_)) => TestOutcome {
            ok: false,
            message: french(&CallError::NotLoaded(name.clone())),
        },
        (Some(loaded), Some(row)) => {
            sample_call(
                &state,
                &name,
                &loaded.info,
                &DemarcheConfig::from_json(&row.config),
                procedure.id,
            )
            .await
        }
    };
    let page = page_for(&state, page, procedure, |cards| {
        if let Some(c) = cards.iter_mut().find(|c| c.name == name) {
            c.test = Some(outcome);
        }
    })
    .await?;
    render(&page)
}
