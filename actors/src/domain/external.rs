//! Data fetched from an external source for a champ (today: the établissement of a
//! SIRET champ, through a `siret` connector) or for the dossier itself (the établissement
//! of a personne morale, given at the dossier's SIRET step). Pure rules: what a look-up
//! outcome becomes, and the French messages shown with it.

use serde_json::Value;

/// `jobs.kind` of a retried look-up (`payload` = [`FetchRequest`] as JSON).
pub const JOB_FETCH_EXTERNAL_DATA: &str = "fetch_external_data";

/// Shown with the champ while the data is awaited.
pub const MSG_PENDING: &str = "Données en attente : le service qui fournit les informations de l’établissement ne répond pas pour le moment. Votre numéro SIRET est bien enregistré ; les informations seront récupérées automatiquement.";
/// Shown to the instructeur while the data is awaited.
pub const MSG_PENDING_INSTRUCTEUR: &str = "Données de l’établissement en attente : le service fournisseur ne répond pas pour le moment, une nouvelle tentative est programmée.";
pub const MSG_NOT_FOUND: &str = "Aucun établissement n’est enregistré avec ce numéro SIRET.";
pub const MSG_INVALID: &str =
    "Ce numéro SIRET n’est pas reconnu par le répertoire des entreprises : vérifiez-le.";
/// The SIRET step without any connector to ask (DS accepts the number all the same).
pub const MSG_NOT_RETRIEVED: &str = "Les informations de l’établissement n’ont pas pu être récupérées. Votre numéro SIRET est bien enregistré.";
/// Shown to the instructeur when no connector could be asked.
pub const MSG_NOT_RETRIEVED_INSTRUCTEUR: &str =
    "Les informations de l’établissement n’ont pas été récupérées (aucun service fournisseur).";
/// A closed établissement: the usager may continue (as in DS), warned.
pub const MSG_CLOSED: &str = "Cet établissement est fermé selon le répertoire des entreprises (état administratif : fermé). Vous pouvez continuer, mais vérifiez qu’il s’agit bien de l’établissement concerné par votre demande.";
/// A dossier of a démarche for personnes morales deposited without its SIRET.
pub const MSG_SIRET_REQUIRED: &str =
    "Renseignez le numéro SIRET de votre établissement avant de déposer le dossier.";

/// Where the fetched data stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalState {
    /// The upstream did not answer: a job retries.
    Pending,
    Fetched,
    /// Definitive: the identifier is unknown or refused by the upstream.
    NotFound,
}

impl ExternalState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Fetched => "fetched",
            Self::NotFound => "not_found",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "fetched" => Some(Self::Fetched),
            "not_found" => Some(Self::NotFound),
            _ => None,
        }
    }
}

/// What a look-up gave, for one champ (or the dossier itself) holding `external_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalRecord {
    /// The champ; `None`: the dossier's own établissement (its SIRET step).
    pub stable_id: Option<i64>,
    pub external_id: String,
    pub state: ExternalState,
    /// The data (state `Fetched`).
    pub data: Option<Value>,
    /// The French message (state `NotFound`).
    pub message: Option<String>,
}

/// How a look-up ended, without the connector's types.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupOutcome {
    Found(Value),
    NotFound,
    Invalid,
    /// Anything else (upstream down, timeout, rate limit, token refused, connector
    /// not loaded…): try again later.
    Retry,
}

impl ExternalRecord {
    pub fn from_outcome(stable_id: Option<i64>, external_id: &str, outcome: LookupOutcome) -> Self {
        let (state, data, message) = match outcome {
            LookupOutcome::Found(v) => (ExternalState::Fetched, Some(v), None),
            LookupOutcome::NotFound => (ExternalState::NotFound, None, Some(MSG_NOT_FOUND)),
            LookupOutcome::Invalid => (ExternalState::NotFound, None, Some(MSG_INVALID)),
            LookupOutcome::Retry => (ExternalState::Pending, None, None),
        };
        Self {
            stable_id,
            external_id: external_id.to_owned(),
            state,
            data,
            message: message.map(str::to_owned),
        }
    }
}

/// The SIRET a champ holds, when it is a non-empty string.
pub fn champ_identifier(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_become_states_with_french_messages() {
        let r = ExternalRecord::from_outcome(Some(1), "123", LookupOutcome::NotFound);
        assert_eq!(r.state, ExternalState::NotFound);
        assert_eq!(r.message.as_deref(), Some(MSG_NOT_FOUND));
        let r = ExternalRecord::from_outcome(Some(1), "123", LookupOutcome::Retry);
        assert_eq!(
            (r.state, r.data, r.message),
            (ExternalState::Pending, None, None)
        );
        let v = serde_json::json!({"siret": "123"});
        let r = ExternalRecord::from_outcome(Some(1), "123", LookupOutcome::Found(v.clone()));
        assert_eq!((r.state, r.data), (ExternalState::Fetched, Some(v)));
        for s in [
            ExternalState::Pending,
            ExternalState::Fetched,
            ExternalState::NotFound,
        ] {
            assert_eq!(ExternalState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn identifier_of_a_champ() {
        assert_eq!(
            champ_identifier(Some(&serde_json::json!(" 123 "))),
            Some("123")
        );
        assert_eq!(champ_identifier(Some(&serde_json::json!(""))), None);
        assert_eq!(champ_identifier(None), None);
    }
}
