//! Champs enriched by connectors: the établissement of a SIRET champ, looked up through
//! the `siret` connector enabled on the démarche (`procedure_connectors`).
//!
//! After a save, each SIRET champ without data for its value is looked up at once; the
//! result is recorded through the dossier's actor (`RecordExternal`). An upstream that
//! does not answer never blocks anything: the champ is marked pending and a
//! `fetch_external_data` job retries with backoff (`jobs.rs`) until it gets an answer.
//! Unknown or refused SIRET → a definitive French message on the champ.
//!
//! The SIRET step of a personne morale's dossier uses the same look-up, before the SIRET
//! is stored ([`Fetcher::for_step`]): the result goes with the write (`Command::SetSiret`),
//! a pending one with its retry job; the job later records on the dossier itself.

use std::collections::HashMap;

use demarches_actors::Registry;
use demarches_actors::domain::external::{
    ExternalRecord, ExternalState, LookupOutcome, MSG_CLOSED, MSG_NOT_RETRIEVED,
    MSG_NOT_RETRIEVED_INSTRUCTEUR, MSG_PENDING, MSG_PENDING_INSTRUCTEUR,
};
use demarches_actors::dossier::RecordExternal;
use demarches_plugins::{CallError, ConnectorError, DemarcheConfig, Plugins};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;

/// One look-up to make: the payload of a `fetch_external_data` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRequest {
    pub dossier_id: i64,
    pub procedure_id: i64,
    /// The SIRET champ; `None`: the dossier's own SIRET (personnes morales).
    #[serde(default)]
    pub stable_id: Option<i64>,
    pub siret: String,
}

/// Looks up and records. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    db: PgPool,
    plugins: Plugins,
    registry: Registry,
}

impl Fetcher {
    pub fn new(db: PgPool, plugins: Plugins, registry: Registry) -> Self {
        Self {
            db,
            plugins,
            registry,
        }
    }

    pub fn of_state(state: &crate::state::AppState) -> Self {
        Self::new(
            state.db.clone(),
            state.plugins.clone(),
            state.registry.clone(),
        )
    }

    /// The enabled connector of the démarche that provides `siret`, with its
    /// per-démarche configuration (plus `object`, the démarche, as API Entreprise asks).
    async fn siret_connector(
        &self,
        procedure_id: i64,
    ) -> Result<Option<(String, DemarcheConfig)>, sqlx::Error> {
        let mut conn = self.db.acquire().await?;
        let enabled =
            crate::procedures::connectors::enabled_for(&mut conn, procedure_id, "siret").await?;
        Ok(enabled.map(|mut enabled| {
            if let Value::Object(map) = &mut enabled.config {
                map.entry("object")
                    .or_insert_with(|| Value::String(format!("procedure_id: {procedure_id}")));
            }
            let config = enabled.demarche_config();
            (enabled.name, config)
        }))
    }

    /// After a save: looks up every SIRET champ of the dossier that has no data for its
    /// current value. Failures only log: the save is already done.
    pub async fn after_save(&self, dossier_id: i64) {
        if let Err(err) = self.refresh(dossier_id).await {
            tracing::warn!(dossier = dossier_id, error = %err, "établissement look-up failed");
        }
    }

    async fn refresh(&self, dossier_id: i64) -> anyhow::Result<()> {
        let todo: Vec<(i64, i64, String)> = sqlx::query_as(
            "select d.procedure_id, c.stable_id, c.value #>> '{}'
             from champs c
             join dossiers d on d.id = c.dossier_id
             join types_de_champ t on t.revision_id = d.revision_id and t.stable_id = c.stable_id
             where c.dossier_id = $1 and not c.private and t.type_champ = 'siret'
               and c.row_id = '00000000-0000-0000-0000-000000000000'
               and c.external_state is null and jsonb_typeof(c.value) = 'string'",
        )
        .bind(dossier_id)
        .fetch_all(&self.db)
        .await?;
        let Some((procedure_id, ..)) = todo.first() else {
            return Ok(());
        };
        let Some((connector, config)) = self.siret_connector(*procedure_id).await? else {
            return Ok(());
        };
        for (procedure_id, stable_id, siret) in todo {
            let request = FetchRequest {
                dossier_id,
                procedure_id,
                stable_id: Some(stable_id),
                siret,
            };
            let outcome = self.lookup(&connector, &request, &config).await;
            let job = (outcome == LookupOutcome::Retry)
                .then(|| serde_json::to_value(&request))
                .transpose()?;
            self.record(&request, outcome, job).await?;
        }
        Ok(())
    }

    /// The SIRET step: looks up `siret` (already valid) for the dossier through the
    /// démarche's `siret` connector. No connector enabled → no record (the SIRET is
    /// accepted without data, as DS does). Never fails: a database error reading the
    /// démarche's connectors counts as an outage (pending, retried by the job).
    pub async fn for_step(
        &self,
        dossier_id: i64,
        procedure_id: i64,
        siret: &str,
    ) -> demarches_actors::dossier::SiretInput {
        let request = FetchRequest {
            dossier_id,
            procedure_id,
            stable_id: None,
            siret: siret.to_owned(),
        };
        let outcome = match self.siret_connector(procedure_id).await {
            Ok(Some((connector, config))) => self.lookup(&connector, &request, &config).await,
            Ok(None) => {
                return demarches_actors::dossier::SiretInput {
                    siret: siret.to_owned(),
                    record: None,
                    job: None,
                };
            }
            Err(err) => {
                tracing::warn!(dossier = dossier_id, error = %err, "cannot read the démarche's connectors");
                LookupOutcome::Retry
            }
        };
        let job = (outcome == LookupOutcome::Retry)
            .then(|| serde_json::to_value(&request).ok())
            .flatten();
        demarches_actors::dossier::SiretInput {
            siret: siret.to_owned(),
            record: Some(ExternalRecord::from_outcome(None, siret, outcome)),
            job,
        }
    }

    async fn lookup(
        &self,
        connector: &str,
        request: &FetchRequest,
        config: &DemarcheConfig,
    ) -> LookupOutcome {
        let result = self
            .plugins
            .lookup_siret(connector, config, &request.siret)
            .await;
        let outcome = match result {
            Ok(e) => match serde_json::from_str::<Value>(&e.raw_json) {
                Ok(v @ Value::Object(_)) => LookupOutcome::Found(v),
                _ => LookupOutcome::Retry,
            },
            Err(CallError::Guest(ConnectorError::NotFound)) => LookupOutcome::NotFound,
            Err(CallError::Guest(ConnectorError::InvalidInput(_))) => LookupOutcome::Invalid,
            Err(_) => LookupOutcome::Retry,
        };
        tracing::info!(
            dossier = request.dossier_id,
            champ = request.stable_id,
            connector,
            outcome = outcome_name(&outcome),
            "établissement look-up"
        );
        outcome
    }

    async fn record(
        &self,
        request: &FetchRequest,
        outcome: LookupOutcome,
        job: Option<Value>,
    ) -> anyhow::Result<bool> {
        let record = ExternalRecord::from_outcome(request.stable_id, &request.siret, outcome);
        self.registry
            .record_external(request.dossier_id, RecordExternal { record, job })
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))
    }

    /// A `fetch_external_data` job: done when the upstream answered (or the champ changed
    /// meanwhile, or the démarche no longer has the connector); an error otherwise, so the
    /// job backs off and the champ stays pending.
    pub async fn run_job(&self, payload: &Value) -> anyhow::Result<()> {
        let request: FetchRequest = serde_json::from_value(payload.clone())?;
        let Some((connector, config)) = self.siret_connector(request.procedure_id).await? else {
            tracing::info!(
                dossier = request.dossier_id,
                "no siret connector any more: job dropped"
            );
            return Ok(());
        };
        match self.lookup(&connector, &request, &config).await {
            LookupOutcome::Retry => anyhow::bail!("upstream still unavailable"),
            outcome => {
                self.record(&request, outcome, None).await?;
                Ok(())
            }
        }
    }
}

fn outcome_name(o: &LookupOutcome) -> &'static str {
    match o {
        LookupOutcome::Found(_) => "found",
        LookupOutcome::NotFound => "not_found",
        LookupOutcome::Invalid => "invalid",
        LookupOutcome::Retry => "retry",
    }
}

/// What the pages show with a SIRET champ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtablissementView {
    pub pending: bool,
    /// The definitive message (unknown SIRET), shown as the field's error.
    pub message: Option<String>,
    pub fetched: Option<Etablissement>,
}

/// The fields shown of a fetched établissement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Etablissement {
    pub raison_sociale: String,
    pub siret: String,
    pub adresse: String,
    pub naf: String,
    pub forme_juridique: String,
    pub actif: bool,
    pub association: Option<String>,
}

impl EtablissementView {
    pub fn pending_message(&self) -> &'static str {
        MSG_PENDING
    }

    pub fn pending_message_instructeur(&self) -> &'static str {
        MSG_PENDING_INSTRUCTEUR
    }

    fn from_row(state: &str, data: Option<&Value>) -> Option<Self> {
        let str_of = |k: &str| {
            data.and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Some(match ExternalState::parse(state)? {
            ExternalState::Pending => Self {
                pending: true,
                message: None,
                fetched: None,
            },
            ExternalState::NotFound => Self {
                pending: false,
                message: str_of("message"),
                fetched: None,
            },
            ExternalState::Fetched => {
                let personne = match (str_of("entreprise_prenom"), str_of("entreprise_nom")) {
                    (Some(p), Some(n)) => Some(format!("{p} {n}")),
                    (None, Some(n)) => Some(n),
                    _ => None,
                };
                let adresse = str_of("adresse")
                    .map(|a| {
                        a.split(['\r', '\n'])
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .skip(1)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                let naf = match (str_of("naf"), str_of("libelle_naf")) {
                    (Some(code), Some(libelle)) => format!("{code} – {libelle}"),
                    (Some(code), None) => code,
                    (None, _) => String::new(),
                };
                Self {
                    pending: false,
                    message: None,
                    fetched: Some(Etablissement {
                        raison_sociale: str_of("entreprise_raison_sociale")
                            .or(personne)
                            .or_else(|| str_of("enseigne"))
                            .unwrap_or_default(),
                        siret: str_of("siret").unwrap_or_default(),
                        adresse,
                        naf,
                        forme_juridique: str_of("entreprise_forme_juridique").unwrap_or_default(),
                        actif: str_of("etat_administratif").as_deref() == Some("actif"),
                        association: str_of("association_titre"),
                    }),
                }
            }
        })
    }
}

/// The établissement of a personne morale's dossier (its SIRET step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierEtablissement {
    pub siret: String,
    /// `None`: not looked up (the démarche has no connector to ask).
    pub view: Option<EtablissementView>,
}

impl DossierEtablissement {
    pub fn not_retrieved_message(&self) -> &'static str {
        MSG_NOT_RETRIEVED
    }

    pub fn not_retrieved_message_instructeur(&self) -> &'static str {
        MSG_NOT_RETRIEVED_INSTRUCTEUR
    }

    /// The établissement is known to be closed (the usager may continue, warned).
    pub fn closed(&self) -> bool {
        self.view
            .as_ref()
            .and_then(|v| v.fetched.as_ref())
            .is_some_and(|e| !e.actif)
    }

    pub fn closed_message(&self) -> &'static str {
        MSG_CLOSED
    }

    /// The SIRET grouped as it is read: 123 456 789 00012.
    pub fn siret_display(&self) -> String {
        demarches_actors::domain::display(
            demarches_actors::domain::TypeChamp::Siret,
            &Value::String(self.siret.clone()),
        )
    }
}

/// The SIRET of a dossier and what was looked up for it; `None` before the SIRET step
/// (and for dossiers of individuals).
pub async fn of_dossier_itself(
    db: &PgPool,
    dossier_id: i64,
) -> Result<Option<DossierEtablissement>, sqlx::Error> {
    let row: Option<(Option<String>, Option<String>, Option<Value>)> = sqlx::query_as(
        "select siret, etablissement_state, etablissement_data from dossiers where id = $1",
    )
    .bind(dossier_id)
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|(siret, state, data)| {
        Some(DossierEtablissement {
            siret: siret?,
            view: state.and_then(|s| EtablissementView::from_row(&s, data.as_ref())),
        })
    }))
}

/// The looked-up data of a dossier's public champs, by stable id.
pub async fn of_dossier(
    db: &PgPool,
    dossier_id: i64,
) -> Result<HashMap<i64, EtablissementView>, sqlx::Error> {
    let rows: Vec<(i64, String, Option<Value>)> = sqlx::query_as(
        "select stable_id, external_state, external_data from champs
         where dossier_id = $1 and not private and external_state is not null
           and row_id = '00000000-0000-0000-0000-000000000000'",
    )
    .bind(dossier_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, state, data)| {
            EtablissementView::from_row(&state, data.as_ref()).map(|v| (id, v))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetched_view_reads_the_ds_shape() {
        let data = serde_json::json!({
            "siret": "12000101100010",
            "naf": "84.11Z",
            "libelle_naf": "Administration publique générale",
            "adresse": "SECRETARIAT GENERAL DU GOUVERNEMENT\r\n\r\n\r\n57 RUE DE VARENNE\r\n\r\n75007 PARIS 7\r\nFRANCE",
            "etat_administratif": "actif",
            "entreprise_raison_sociale": "SECRETARIAT GENERAL DU GOUVERNEMENT",
            "entreprise_forme_juridique": "Service central d'un ministère",
        });
        let v = EtablissementView::from_row("fetched", Some(&data)).unwrap();
        let e = v.fetched.unwrap();
        assert_eq!(e.raison_sociale, "SECRETARIAT GENERAL DU GOUVERNEMENT");
        assert_eq!(e.adresse, "57 RUE DE VARENNE, 75007 PARIS 7, FRANCE");
        assert_eq!(e.naf, "84.11Z – Administration publique générale");
        assert!(e.actif);
        let p = EtablissementView::from_row("pending", None).unwrap();
        assert!(p.pending && p.fetched.is_none());
        let n = EtablissementView::from_row(
            "not_found",
            Some(&serde_json::json!({"message": "Aucun"})),
        )
        .unwrap();
        assert_eq!(n.message.as_deref(), Some("Aucun"));
        assert!(EtablissementView::from_row("other", None).is_none());
    }

    #[test]
    fn sole_trader_named_by_person() {
        let data = serde_json::json!({"entreprise_prenom": "Jean", "entreprise_nom": "DUPONT"});
        let e = EtablissementView::from_row("fetched", Some(&data))
            .unwrap()
            .fetched
            .unwrap();
        assert_eq!(e.raison_sociale, "Jean DUPONT");
        assert!(!e.actif);
    }
}
