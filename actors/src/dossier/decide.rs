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
        match domain::validate(&def.def(), raw) {
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
