//! Pure decision: given the dossier in memory and a command, what to write.
//! No I/O here; the actor loads state, calls [`decide`], then commits the [`Decision`].

use serde_json::{Value, json};

use super::messages::{Act, ActError, Command, FieldError, SaveForm, Snapshot};
use crate::domain::{self, Etat, MailKind, Transition, validate_individual};
use crate::store::dossier::{AuthorKind, DossierState, StateChange, Write};
use crate::store::outbox::Mail;

/// What the caller knows about the world that the dossier does not.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The démarche accepts deposits (publiée, dépubliée, or brouillon for test dossiers).
    pub accepts_deposits: bool,
    /// The groupe a deposit is routed to.
    pub route_to: Option<i64>,
    pub base_url: &'a str,
    /// Which of the dossier numbers typed in `dossier_link` champs exist (looked up by
    /// the caller, see [`dossier_links`]).
    pub existing_dossiers: &'a [i64],
    /// The geographic referentials.
    pub geo: &'a crate::domain::geo::GeoIndex,
}

#[derive(Debug, Clone)]
pub enum Decision {
    /// Nothing to write (values that could not be saved are reported as warnings).
    Nothing { warnings: Vec<FieldError> },
    Commit {
        write: Box<Write>,
        /// State once committed (version excluded: the database gives it).
        next: Box<DossierState>,
        warnings: Vec<FieldError>,
        /// After committing, answer with `Invalid` (a brouillon saved with errors on deposit).
        then_invalid: Option<Vec<FieldError>>,
    },
}

pub fn snapshot(state: &DossierState) -> Snapshot {
    Snapshot {
        id: state.id,
        procedure_id: state.procedure_id,
        state: state.state,
        lock_version: state.lock_version,
        groupe_instructeur_id: state.groupe_instructeur_id,
    }
}

pub fn decide(state: &DossierState, act: &Act, ctx: Context<'_>) -> Result<Decision, ActError> {
    match &act.command {
        Command::Save(form) => decide_save(state, act, form, ctx),
        Command::Instruct {
            transition,
            motivation,
        } => decide_instruct(state, act, *transition, motivation.as_deref(), ctx),
    }
}

fn base_write(state: &DossierState, act: &Act, kind: &str) -> Write {
    Write {
        dossier_id: state.id,
        expected_version: state.lock_version,
        kind: kind.to_owned(),
        author: act.author.clone(),
        payload: Value::Object(Default::default()),
        state_change: None,
        champs_upsert: Vec::new(),
        champs_delete: Vec::new(),
        individual: None,
        mails: Vec::new(),
        follow: None,
    }
}

fn usager_mail(
    state: &DossierState,
    kind: MailKind,
    motivation: Option<&str>,
    ctx: Context<'_>,
) -> (String, Mail) {
    let url = format!(
        "{}/dossiers/{}",
        ctx.base_url.trim_end_matches('/'),
        state.id
    );
    let key = format!(
        "dossier-{}-v{}-{:?}",
        state.id,
        state.lock_version + 1,
        kind
    );
    let mail = Mail {
        to: state.user_email.clone(),
        subject: kind.subject(state.id, &state.procedure_libelle),
        text: kind.body(state.id, &state.procedure_libelle, motivation, &url),
    };
    (key, mail)
}

/// The dossier numbers typed in the `dossier_link` champs of a save, to look up
/// before deciding.
pub fn dossier_links(state: &DossierState, form: &SaveForm) -> Vec<i64> {
    state
        .defs
        .public()
        .filter(|d| d.type_champ == domain::TypeChamp::DossierLink)
        .filter_map(|d| form.champs.get(&d.stable_id))
        .filter_map(|raw| {
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

fn decide_save(
    state: &DossierState,
    act: &Act,
    form: &SaveForm,
    ctx: Context<'_>,
) -> Result<Decision, ActError> {
    if act.author.kind != AuthorKind::Usager || act.author.user_id != Some(state.user_id) {
        return Err(ActError::Forbidden);
    }
    let deposing = form.submit && state.state == Etat::Brouillon;
    let strict = form.submit || state.state == Etat::EnConstruction;
    if !matches!(state.state, Etat::Brouillon | Etat::EnConstruction) {
        return Err(ActError::ReadOnly(state.state));
    }
    if deposing && !ctx.accepts_deposits {
        return Err(ActError::Closed);
    }

    let mut errors = Vec::new();
    let mut next = state.clone();

    if let Some(input) = &form.individual {
        match validate_individual(&input.civilite, &input.nom, &input.prenom) {
            Ok(individual) => next.individual = Some(individual),
            Err(field_errors) => {
                errors.extend(field_errors.into_iter().map(|(field, message)| FieldError {
                    field: field.to_owned(),
                    message,
                }))
            }
        }
    }

    let mut upsert = Vec::new();
    let mut delete = Vec::new();
    for def in state.defs.public().filter(|d| d.type_champ.has_value()) {
        let raw = match form.champs.get(&def.stable_id) {
            Some(raw) => raw.as_str(),
            None if form.full_form => "",
            None => continue,
        };
        let exists = |n: i64| ctx.existing_dossiers.contains(&n);
        let lookups = domain::Lookups {
            dossier_exists: &exists,
            geo: ctx.geo,
        };
        match domain::validate_with(&def.def(), raw, lookups) {
            Ok(Some(value)) => {
                if state.values.get(&def.stable_id) != Some(&value) {
                    upsert.push((def.stable_id, value.clone()));
                }
                next.values.insert(def.stable_id, value);
            }
            Ok(None) => {
                if state.values.contains_key(&def.stable_id) {
                    delete.push(def.stable_id);
                }
                next.values.remove(&def.stable_id);
            }
            Err(message) => errors.push(FieldError {
                field: def.field(),
                message,
            }),
        }
    }

    if strict {
        if state.for_individual && next.individual.is_none() && form.individual.is_none() {
            errors.push(FieldError {
                field: "civilite".to_owned(),
                message: "Renseignez votre identité : civilité, nom et prénom.".to_owned(),
            });
        }
        for def in state.defs.public().filter(|d| d.type_champ.has_value()) {
            let already = errors.iter().any(|e| e.field == def.field());
            if !already
                && let Err(message) =
                    domain::check_mandatory(&def.def(), next.values.get(&def.stable_id))
            {
                errors.push(FieldError {
                    field: def.field(),
                    message,
                });
            }
        }
    }

    let individual_changed = next.individual != state.individual;
    let individual = individual_changed
        .then(|| next.individual.clone())
        .flatten();

    if strict && !errors.is_empty() {
        if deposing {
            // Keep every valid value of the brouillon, then report what blocks the deposit.
            if upsert.is_empty() && delete.is_empty() && individual.is_none() {
                return Err(ActError::Invalid {
                    errors,
                    snapshot: snapshot(state),
                });
            }
            let mut write = base_write(state, act, "modifier_brouillon");
            write.champs_upsert = upsert;
            write.champs_delete = delete;
            write.individual = individual;
            return Ok(Decision::Commit {
                write: Box::new(write),
                next: Box::new(next),
                warnings: Vec::new(),
                then_invalid: Some(errors),
            });
        }
        return Err(ActError::Invalid {
            errors,
            snapshot: snapshot(state),
        });
    }

    if deposing {
        let outcome =
            domain::apply(state.state, Transition::Deposer, None).map_err(ActError::Transition)?;
        let mut write = base_write(state, act, event_kind(Transition::Deposer));
        write.champs_upsert = upsert;
        write.champs_delete = delete;
        write.individual = individual;
        write.state_change = Some(StateChange {
            to: outcome.to,
            motivation: None,
            groupe_id: ctx.route_to,
        });
        write
            .mails
            .push(usager_mail(state, MailKind::AccuseReception, None, ctx));
        next.state = outcome.to;
        next.groupe_instructeur_id = ctx.route_to.or(state.groupe_instructeur_id);
        return Ok(Decision::Commit {
            write: Box::new(write),
            next: Box::new(next),
            warnings: Vec::new(),
            then_invalid: None,
        });
    }

    if upsert.is_empty() && delete.is_empty() && individual.is_none() {
        return Ok(Decision::Nothing { warnings: errors });
    }
    let kind = if state.state == Etat::Brouillon {
        "modifier_brouillon"
    } else {
        "modifier"
    };
    let mut write = base_write(state, act, kind);
    write.payload = json!({ "champs": upsert.iter().map(|(id, _)| id).chain(delete.iter()).collect::<Vec<_>>() });
    write.champs_upsert = upsert;
    write.champs_delete = delete;
    write.individual = individual;
    Ok(Decision::Commit {
        write: Box::new(write),
        next: Box::new(next),
        warnings: errors,
        then_invalid: None,
    })
}

fn decide_instruct(
    state: &DossierState,
    act: &Act,
    transition: Transition,
    motivation: Option<&str>,
    ctx: Context<'_>,
) -> Result<Decision, ActError> {
    if transition == Transition::Deposer
        || !matches!(
            act.author.kind,
            AuthorKind::Instructeur | AuthorKind::Administrateur
        )
    {
        return Err(ActError::Forbidden);
    }
    let outcome =
        domain::apply(state.state, transition, motivation).map_err(ActError::Transition)?;
    let mut write = base_write(state, act, event_kind(transition));
    write.payload = json!({ "motivation": outcome.motivation });
    write.state_change = Some(StateChange {
        to: outcome.to,
        motivation: outcome.motivation.clone(),
        groupe_id: None,
    });
    if let Some(kind) = transition.emits_usager_mail() {
        write
            .mails
            .push(usager_mail(state, kind, outcome.motivation.as_deref(), ctx));
    }
    if transition == Transition::PasserEnInstruction {
        write.follow = act.author.user_id;
    }
    let mut next = state.clone();
    next.state = outcome.to;
    Ok(Decision::Commit {
        write: Box::new(write),
        next: Box::new(next),
        warnings: Vec::new(),
        then_invalid: None,
    })
}

/// The `dossier_events.kind` of a transition (DS names the deposit `passer_en_construction`).
pub fn event_kind(transition: Transition) -> &'static str {
    match transition {
        Transition::Deposer => "passer_en_construction",
        other => other.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::domain::{ChampOptions, Civilite, Individual, TypeChamp};
    use crate::dossier::messages::IndividualInput;
    use crate::store::dossier::Author;
    use crate::store::revision::{ChampDefRow, RevisionDefs};

    const CTX: Context<'static> = Context {
        accepts_deposits: true,
        route_to: Some(7),
        base_url: "http://localhost:8080",
        existing_dossiers: &[],
        geo: &crate::domain::geo::EMPTY_GEO,
    };

    fn champ(stable_id: i64, type_champ: TypeChamp, libelle: &str, mandatory: bool) -> ChampDefRow {
        ChampDefRow {
            stable_id,
            type_champ,
            libelle: libelle.to_owned(),
            description: String::new(),
            mandatory,
            private: false,
            options: ChampOptions::default(),
        }
    }

    fn dossier(state: Etat) -> DossierState {
        DossierState {
            id: 42,
            procedure_id: 1,
            procedure_libelle: "Demande de subvention".to_owned(),
            for_individual: true,
            revision_id: 3,
            user_id: 10,
            user_email: "usager@example.fr".to_owned(),
            state,
            groupe_instructeur_id: None,
            lock_version: 4,
            defs: Arc::new(RevisionDefs {
                revision_id: 3,
                published: true,
                champs: vec![
                    champ(100, TypeChamp::Text, "Nom du projet", true),
                    champ(101, TypeChamp::IntegerNumber, "Participants", false),
                    champ(102, TypeChamp::Checkbox, "J'accepte", false),
                ],
            }),
            values: HashMap::from([(100, json!("Jardin partagé"))]),
            individual: Some(Individual {
                civilite: Civilite::Mme,
                nom: "Durand".to_owned(),
                prenom: "Camille".to_owned(),
            }),
        }
    }

    fn usager(id: i64) -> Author {
        Author {
            kind: AuthorKind::Usager,
            user_id: Some(id),
            email: "usager@example.fr".to_owned(),
        }
    }

    fn instructeur() -> Author {
        Author {
            kind: AuthorKind::Instructeur,
            user_id: Some(20),
            email: "instructeur@example.gouv.fr".to_owned(),
        }
    }

    fn save(champs: &[(i64, &str)], submit: bool) -> Act {
        Act {
            author: usager(10),
            expected_version: None,
            command: Command::Save(SaveForm {
                individual: None,
                champs: champs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
                full_form: true,
                submit,
            }),
        }
    }

    fn commit(
        decision: Decision,
    ) -> (
        Box<Write>,
        Box<DossierState>,
        Vec<FieldError>,
        Option<Vec<FieldError>>,
    ) {
        match decision {
            Decision::Commit {
                write,
                next,
                warnings,
                then_invalid,
            } => (write, next, warnings, then_invalid),
            Decision::Nothing { .. } => panic!("expected a write"),
        }
    }

    #[test]
    fn brouillon_save_writes_only_changed_values_and_reports_invalid_ones() {
        let state = dossier(Etat::Brouillon);
        let act = save(
            &[(100, "Jardin partagé"), (101, "douze"), (102, "on")],
            false,
        );
        let (write, next, warnings, invalid) = commit(decide(&state, &act, CTX).unwrap());
        assert_eq!(write.kind, "modifier_brouillon");
        assert_eq!(write.expected_version, 4);
        assert_eq!(write.champs_upsert, vec![(102, json!(true))]);
        assert!(write.state_change.is_none());
        assert!(write.mails.is_empty());
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].field, "champ_101");
        assert!(invalid.is_none());
        assert_eq!(next.values.get(&102), Some(&json!(true)));
    }

    #[test]
    fn unchanged_brouillon_writes_nothing() {
        let state = dossier(Etat::Brouillon);
        let act = save(&[(100, "Jardin partagé")], false);
        assert!(
            matches!(decide(&state, &act, CTX).unwrap(), Decision::Nothing { warnings } if warnings.is_empty())
        );
    }

    #[test]
    fn deposit_routes_sends_the_accuse_de_reception_and_moves_en_construction() {
        let state = dossier(Etat::Brouillon);
        let act = save(&[(100, "Jardin partagé"), (101, "12")], true);
        let (write, next, _, invalid) = commit(decide(&state, &act, CTX).unwrap());
        assert!(invalid.is_none());
        assert_eq!(write.kind, "passer_en_construction");
        let change = write.state_change.as_ref().unwrap();
        assert_eq!(change.to, Etat::EnConstruction);
        assert_eq!(change.groupe_id, Some(7));
        assert_eq!(write.mails.len(), 1);
        let (key, mail) = &write.mails[0];
        assert_eq!(key, "dossier-42-v5-AccuseReception");
        assert_eq!(mail.to, "usager@example.fr");
        assert_eq!(
            mail.subject,
            "Votre dossier n° 42 a bien été déposé (Demande de subvention)"
        );
        assert!(mail.text.contains("http://localhost:8080/dossiers/42"));
        assert_eq!(next.state, Etat::EnConstruction);
        assert_eq!(next.groupe_instructeur_id, Some(7));
    }

    #[test]
    fn deposit_with_a_missing_mandatory_champ_keeps_the_valid_values() {
        let state = dossier(Etat::Brouillon);
        let act = save(&[(100, ""), (101, "12")], true);
        let (write, _, _, invalid) = commit(decide(&state, &act, CTX).unwrap());
        assert_eq!(write.kind, "modifier_brouillon");
        assert!(write.state_change.is_none());
        assert_eq!(write.champs_upsert, vec![(101, json!(12))]);
        let errors = invalid.unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "champ_100");
        assert_eq!(
            errors[0].message,
            "Le champ « Nom du projet » doit être rempli."
        );
    }

    #[test]
    fn deposit_requires_the_identity_for_particuliers() {
        let mut state = dossier(Etat::Brouillon);
        state.individual = None;
        let err = decide(&state, &save(&[(100, "Jardin")], true), CTX);
        // Nothing valid changed except the text: the brouillon is saved, the deposit refused.
        let (_, _, _, invalid) = commit(err.unwrap());
        assert_eq!(invalid.unwrap()[0].field, "civilite");
    }

    #[test]
    fn identity_errors_are_attached_to_their_fields() {
        let state = dossier(Etat::Brouillon);
        let mut act = save(&[(100, "Jardin partagé")], false);
        if let Command::Save(form) = &mut act.command {
            form.individual = Some(IndividualInput {
                civilite: "Mme".to_owned(),
                nom: String::new(),
                prenom: "Camille".to_owned(),
            });
        }
        let Decision::Nothing { warnings } = decide(&state, &act, CTX).unwrap() else {
            panic!("nothing valid changed");
        };
        assert_eq!(warnings[0].field, "nom");
    }

    #[test]
    fn closed_procedure_refuses_deposit() {
        let state = dossier(Etat::Brouillon);
        let ctx = Context {
            accepts_deposits: false,
            ..CTX
        };
        assert!(matches!(
            decide(&state, &save(&[(100, "x")], true), ctx),
            Err(ActError::Closed)
        ));
    }

    #[test]
    fn only_the_owner_saves_and_not_once_en_instruction() {
        let state = dossier(Etat::Brouillon);
        let mut act = save(&[(100, "x")], false);
        act.author = usager(11);
        assert!(matches!(
            decide(&state, &act, CTX),
            Err(ActError::Forbidden)
        ));
        let state = dossier(Etat::EnInstruction);
        assert!(matches!(
            decide(&state, &save(&[(100, "x")], false), CTX),
            Err(ActError::ReadOnly(Etat::EnInstruction))
        ));
    }

    #[test]
    fn en_construction_edit_is_all_or_nothing() {
        let state = dossier(Etat::EnConstruction);
        let invalid = decide(
            &state,
            &save(&[(100, "Nouveau nom"), (101, "x")], true),
            CTX,
        );
        assert!(matches!(invalid, Err(ActError::Invalid { .. })));
        let (write, _, _, _) =
            commit(decide(&state, &save(&[(100, "Nouveau nom")], true), CTX).unwrap());
        assert_eq!(write.kind, "modifier");
        assert!(write.state_change.is_none());
        assert!(write.mails.is_empty());
    }

    fn instruct(transition: Transition, motivation: Option<&str>) -> Act {
        Act {
            author: instructeur(),
            expected_version: Some(4),
            command: Command::Instruct {
                transition,
                motivation: motivation.map(str::to_owned),
            },
        }
    }

    #[test]
    fn passer_en_instruction_follows_and_mails_the_usager() {
        let state = dossier(Etat::EnConstruction);
        let (write, next, _, _) = commit(
            decide(
                &state,
                &instruct(Transition::PasserEnInstruction, None),
                CTX,
            )
            .unwrap(),
        );
        assert_eq!(write.kind, "passer_en_instruction");
        assert_eq!(write.follow, Some(20));
        assert_eq!(write.mails.len(), 1);
        assert!(write.mails[0].1.subject.contains("va être examiné"));
        assert_eq!(next.state, Etat::EnInstruction);
    }

    #[test]
    fn refus_carries_its_motivation_in_the_mail_and_the_traitement() {
        let state = dossier(Etat::EnInstruction);
        let (write, _, _, _) = commit(
            decide(
                &state,
                &instruct(Transition::Refuser, Some("  Pièces manquantes. ")),
                CTX,
            )
            .unwrap(),
        );
        let change = write.state_change.as_ref().unwrap();
        assert_eq!(change.to, Etat::Refuse);
        assert_eq!(change.motivation.as_deref(), Some("Pièces manquantes."));
        assert!(write.mails[0].1.text.contains("Pièces manquantes."));
    }

    #[test]
    fn repasser_en_construction_sends_no_mail() {
        let state = dossier(Etat::EnInstruction);
        let (write, _, _, _) = commit(
            decide(
                &state,
                &instruct(Transition::RepasserEnConstruction, None),
                CTX,
            )
            .unwrap(),
        );
        assert!(write.mails.is_empty());
    }

    #[test]
    fn illegal_transitions_and_usager_authors_are_refused() {
        let state = dossier(Etat::Accepte);
        assert!(matches!(
            decide(&state, &instruct(Transition::Refuser, Some("non")), CTX),
            Err(ActError::Transition(_))
        ));
        let mut act = instruct(Transition::RepasserEnInstruction, None);
        act.author = usager(10);
        assert!(matches!(
            decide(&state, &act, CTX),
            Err(ActError::Forbidden)
        ));
        assert!(matches!(
            decide(
                &dossier(Etat::Brouillon),
                &instruct(Transition::Deposer, None),
                CTX
            ),
            Err(ActError::Forbidden)
        ));
    }
}
