//! Pure decision: given the dossier in memory and a command, what to write.
//! No I/O here; the actor loads state, calls [`decide`], then commits the [`Decision`].

use std::collections::HashSet;

use serde_json::{Value, json};

use super::messages::{Act, ActError, Command, FieldError, SaveForm, SiretInput, Snapshot};
use uuid::Uuid;

use crate::domain::{self, Etat, MailKind, Transition, TypeChamp, validate_individual};
use crate::store::attachment::{Job, NewAttachment};
use crate::store::dossier::{AuthorKind, DossierState, StateChange, Write};
use crate::store::outbox::Mail;

/// What the caller knows about the world that the dossier does not.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// False when the démarche is known not to accept deposits (refused early); the commit
    /// of a deposit re-checks it in the same statement anyway.
    pub accepts_deposits: bool,
    /// The groupe a deposit is routed to.
    pub route_to: Option<i64>,
    pub base_url: &'a str,
    /// Which of the dossier numbers typed in `dossier_link` champs exist (looked up by
    /// the caller, see [`dossier_links`]).
    pub existing_dossiers: &'a [i64],
    /// The geographic referentials.
    pub geo: &'a crate::domain::geo::GeoIndex,
    /// Ids of this dossier's files that do not count (infected or corrupt).
    pub unusable_files: &'a [String],
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
        Command::Annotate { champs } => decide_annotate(state, act, champs, ctx),
        Command::AttachPiece {
            stable_id,
            attachment,
            max_files,
        } => decide_attach(state, act, *stable_id, attachment, *max_files),
        Command::DetachPiece {
            stable_id,
            attachment_id,
        } => decide_detach(state, act, *stable_id, *attachment_id),
        Command::SetSiret(input) => decide_set_siret(state, act, input),
    }
}

/// The SIRET step of a dossier for personnes morales (FEATURES §3): the owner gives (or
/// changes, while the dossier is editable) a valid SIRET. An établissement the connector
/// does not know is refused with its message; anything else is accepted — found, closed
/// (the page warns), pending (the job comes with the write) or not looked up.
fn decide_set_siret(
    state: &DossierState,
    act: &Act,
    input: &SiretInput,
) -> Result<Decision, ActError> {
    if act.author.kind != AuthorKind::Usager
        || act.author.user_id != Some(state.user_id)
        || state.for_individual
    {
        return Err(ActError::Forbidden);
    }
    if !matches!(state.state, Etat::Brouillon | Etat::EnConstruction) {
        return Err(ActError::ReadOnly(state.state));
    }
    let invalid = |message: String| ActError::Invalid {
        errors: vec![FieldError {
            field: "siret".to_owned(),
            message,
        }],
        snapshot: snapshot(state),
    };
    let siret = domain::validate_siret(&input.siret).map_err(invalid)?;
    let record = input
        .record
        .as_ref()
        .filter(|r| r.stable_id.is_none() && r.external_id == siret);
    if let Some(r) = record
        && r.state == domain::external::ExternalState::NotFound
    {
        return Err(invalid(
            r.message
                .clone()
                .unwrap_or_else(|| domain::external::MSG_NOT_FOUND.to_owned()),
        ));
    }
    let mut write = base_write(state, act, "modifier_etablissement");
    write.payload = json!({ "siret": siret });
    write.etablissement = Some(crate::store::dossier::EtablissementWrite {
        siret: siret.clone(),
        state: record.map(|r| r.state.as_str().to_owned()),
        data: record.and_then(|r| r.data.clone()),
    });
    if let (Some(r), Some(payload)) = (record, &input.job)
        && r.state == domain::external::ExternalState::Pending
    {
        write.jobs.push(Job {
            kind: domain::external::JOB_FETCH_EXTERNAL_DATA.to_owned(),
            payload: payload.clone(),
        });
    }
    let mut next = state.clone();
    next.siret = Some(siret);
    Ok(Decision::Commit {
        write: Box::new(write),
        next: Box::new(next),
        warnings: Vec::new(),
        then_invalid: None,
    })
}

/// Annotations privées (FEATURES §5): instructeurs and administrateurs only, once the dossier
/// is deposited; every value must be valid (nothing is written otherwise). Usagers never see
/// them.
fn decide_annotate(
    state: &DossierState,
    act: &Act,
    champs: &std::collections::HashMap<i64, String>,
    ctx: Context<'_>,
) -> Result<Decision, ActError> {
    if !matches!(
        act.author.kind,
        AuthorKind::Instructeur | AuthorKind::Administrateur
    ) {
        return Err(ActError::Forbidden);
    }
    if state.state == Etat::Brouillon {
        return Err(ActError::ReadOnly(state.state));
    }
    let mut errors = Vec::new();
    let mut upsert = Vec::new();
    let mut delete = Vec::new();
    let mut next = state.clone();
    let exists = |n: i64| ctx.existing_dossiers.contains(&n);
    let lookups = domain::Lookups {
        dossier_exists: &exists,
        geo: ctx.geo,
    };
    for def in state
        .defs
        .private()
        .filter(|d| d.type_champ.has_value() && !d.type_champ.is_file())
    {
        let Some(raw) = champs.get(&def.stable_id) else {
            continue;
        };
        match domain::validate_with(&def.def(), raw, lookups) {
            Ok(Some(value)) => {
                if state.annotations.get(&def.stable_id) != Some(&value) {
                    upsert.push((def.stable_id, value.clone()));
                }
                next.annotations.insert(def.stable_id, value);
            }
            Ok(None) => {
                if next.annotations.remove(&def.stable_id).is_some() {
                    delete.push(def.stable_id);
                }
            }
            Err(message) => errors.push(FieldError {
                field: def.field(),
                message,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ActError::Invalid {
            errors,
            snapshot: snapshot(state),
        });
    }
    if upsert.is_empty() && delete.is_empty() {
        return Ok(Decision::Nothing {
            warnings: Vec::new(),
        });
    }
    let mut write = base_write(state, act, "modifier_annotations");
    write.payload = json!({ "champs": upsert.iter().map(|(id, _)| id).chain(delete.iter()).collect::<Vec<_>>() });
    write.champs_upsert = upsert;
    write.champs_delete = delete;
    write.private_champs = true;
    Ok(Decision::Commit {
        write: Box::new(write),
        next: Box::new(next),
        warnings: Vec::new(),
        then_invalid: None,
    })
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
        row_champs_upsert: Vec::new(),
        row_champs_delete: Vec::new(),
        private_champs: false,
        individual: None,
        mails: Vec::new(),
        follow: None,
        require_open: false,
        require_published_revision: act.command.follows_published_revision(),
        attachment_insert: None,
        attachments_delete: Vec::new(),
        jobs: Vec::new(),
        etablissement: None,
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

/// The dossier numbers typed in the `dossier_link` champs of a save, or of the annotations
/// privées of an `Annotate`, to look up before deciding.
pub fn dossier_links(state: &DossierState, command: &Command) -> Vec<i64> {
    let (champs, private) = match command {
        Command::Save(form) => (&form.champs, false),
        Command::Annotate { champs } => (champs, true),
        _ => return Vec::new(),
    };
    let is_link = |stable_id: i64| {
        state
            .defs
            .get(stable_id)
            .is_some_and(|d| d.type_champ == domain::TypeChamp::DossierLink)
    };
    // The children of blocs répétables, row by row.
    let in_rows = match command {
        Command::Save(form) => form
            .rows
            .iter()
            .filter(|((child, _), _)| is_link(*child))
            .map(|(_, raw)| raw)
            .collect(),
        _ => Vec::new(),
    };
    state
        .defs
        .champs
        .iter()
        .filter(|d| {
            d.private == private
                && d.parent.is_none()
                && d.type_champ == domain::TypeChamp::DossierLink
        })
        .filter_map(|d| champs.get(&d.stable_id))
        .chain(in_rows)
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
    // A row added or removed en construction is saved like a brouillon (its new row is
    // empty); "Déposer les modifications" checks everything.
    let strict = form.submit || (state.state == Etat::EnConstruction && form.row_action.is_none());
    if !matches!(state.state, Etat::Brouillon | Etat::EnConstruction)
        || (form.brouillon_only && state.state != Etat::Brouillon)
    {
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
    for def in state.defs.public().filter(|d| d.type_champ.is_typed()) {
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

    let mut rows = save_rows(
        state,
        form,
        &mut next,
        &mut upsert,
        &mut delete,
        &mut errors,
        ctx,
    );

    // Only visible champs are validated and mandatory (FEATURES §4.5); a hidden champ reads
    // as empty in the conditions after it.
    let hidden = state.defs.hidden_public(&next.values);
    // The children of a row hidden by their condition (read in that row), or in a hidden
    // block, likewise.
    let hidden_rows = state.defs.hidden_rows(&next.values, &next.rows, &hidden);
    if strict {
        let hidden_fields: HashSet<String> = state
            .defs
            .public()
            .filter(|d| hidden.contains(&d.stable_id))
            .map(|d| d.field())
            .chain(
                hidden_rows
                    .iter()
                    .map(|(child, row)| crate::domain::repetition::field(*child, *row)),
            )
            .collect();
        errors.retain(|e| !hidden_fields.contains(&e.field));
    }

    if strict {
        if state.for_individual && next.individual.is_none() && form.individual.is_none() {
            errors.push(FieldError {
                field: "civilite".to_owned(),
                message: "Renseignez votre identité : civilité, nom et prénom.".to_owned(),
            });
        }
        if !state.for_individual && state.siret.is_none() {
            errors.push(FieldError {
                field: "siret".to_owned(),
                message: domain::external::MSG_SIRET_REQUIRED.to_owned(),
            });
        }
        for def in state
            .defs
            .public()
            .filter(|d| d.type_champ.has_value() && !hidden.contains(&d.stable_id))
        {
            let already = errors.iter().any(|e| e.field == def.field());
            let value = usable_value(def.type_champ, next.values.get(&def.stable_id), ctx);
            if !already && let Err(message) = domain::check_mandatory(&def.def(), value.as_ref()) {
                errors.push(FieldError {
                    field: def.field(),
                    message,
                });
            }
            if def.type_champ.is_repetition() {
                mandatory_rows(state, def.stable_id, &next, &hidden_rows, &mut errors);
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
            if upsert.is_empty() && delete.is_empty() && individual.is_none() && rows.is_empty() {
                return Err(ActError::Invalid {
                    errors,
                    snapshot: snapshot(state),
                });
            }
            let mut write = base_write(state, act, "modifier_brouillon");
            write.champs_upsert = upsert;
            write.champs_delete = delete;
            rows.into_write(&mut write);
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

    // Deposited dossiers keep no value of a hidden champ (a brouillon keeps what was typed).
    // A hidden pièce justificative keeps its files: they are attachments, removed only by
    // the usager (`DetachPiece`), and the champ is left out of every page while hidden.
    if strict {
        let files: Vec<i64> = state
            .defs
            .public()
            .filter(|d| d.type_champ.is_file())
            .map(|d| d.stable_id)
            .collect();
        for id in hidden.iter().filter(|id| !files.contains(id)) {
            upsert.retain(|(stable_id, _)| stable_id != id);
            if next.values.remove(id).is_some() && state.values.contains_key(id) {
                delete.push(*id);
            }
        }
        delete.sort_unstable();
        delete.dedup();
        for key in &hidden_rows {
            rows.upsert.retain(|(child, row, _)| (*child, *row) != *key);
            if next.rows.remove(key).is_some()
                && state.rows.contains_key(key)
                && !rows.delete.contains(key)
            {
                rows.delete.push(*key);
            }
        }
    }

    if deposing {
        let outcome =
            domain::apply(state.state, Transition::Deposer, None).map_err(ActError::Transition)?;
        let mut write = base_write(state, act, event_kind(Transition::Deposer));
        write.champs_upsert = upsert;
        write.champs_delete = delete;
        rows.into_write(&mut write);
        write.individual = individual;
        write.state_change = Some(StateChange {
            to: outcome.to,
            motivation: None,
            groupe_id: ctx.route_to,
        });
        write
            .mails
            .push(usager_mail(state, MailKind::AccuseReception, None, ctx));
        write.require_open = true;
        next.state = outcome.to;
        next.groupe_instructeur_id = ctx.route_to.or(state.groupe_instructeur_id);
        return Ok(Decision::Commit {
            write: Box::new(write),
            next: Box::new(next),
            warnings: Vec::new(),
            then_invalid: None,
        });
    }

    if upsert.is_empty() && delete.is_empty() && individual.is_none() && rows.is_empty() {
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
    rows.into_write(&mut write);
    write.individual = individual;
    Ok(Decision::Commit {
        write: Box::new(write),
        next: Box::new(next),
        warnings: errors,
        then_invalid: None,
    })
}

/// What a save writes to the rows of blocs répétables.
#[derive(Debug, Default)]
struct RowChanges {
    upsert: Vec<(i64, Uuid, Value)>,
    delete: Vec<(i64, Uuid)>,
}

impl RowChanges {
    fn is_empty(&self) -> bool {
        self.upsert.is_empty() && self.delete.is_empty()
    }

    fn into_write(self, write: &mut Write) {
        write.row_champs_upsert = self.upsert;
        write.row_champs_delete = self.delete;
    }
}

/// The children of every bloc répétable, row by row (same rules as the other champs, the
/// message naming the row), then the row action: an added row gets its id in the block's
/// value, a removed row loses the values of its children.
fn save_rows(
    state: &DossierState,
    form: &SaveForm,
    next: &mut DossierState,
    upsert: &mut Vec<(i64, Value)>,
    delete: &mut Vec<i64>,
    errors: &mut Vec<FieldError>,
    ctx: Context<'_>,
) -> RowChanges {
    use crate::domain::repetition;
    let mut changes = RowChanges::default();
    let exists = |n: i64| ctx.existing_dossiers.contains(&n);
    let lookups = domain::Lookups {
        dossier_exists: &exists,
        geo: ctx.geo,
    };
    for block in state.defs.public().filter(|d| d.type_champ.is_repetition()) {
        let rows = repetition::row_ids(state.values.get(&block.stable_id));
        for (i, row) in rows.iter().enumerate() {
            for child in state
                .defs
                .children(block.stable_id)
                .filter(|d| d.type_champ.is_typed())
            {
                let key = (child.stable_id, *row);
                let raw = match form.rows.get(&key) {
                    Some(raw) => raw.as_str(),
                    None if form.full_form => "",
                    None => continue,
                };
                match domain::validate_with(&child.def(), raw, lookups) {
                    Ok(Some(value)) => {
                        if state.rows.get(&key) != Some(&value) {
                            changes.upsert.push((key.0, key.1, value.clone()));
                        }
                        next.rows.insert(key, value);
                    }
                    Ok(None) => {
                        if next.rows.remove(&key).is_some() {
                            changes.delete.push(key);
                        }
                    }
                    Err(message) => errors.push(FieldError {
                        field: repetition::field(key.0, key.1),
                        message: repetition::row_message(i + 1, &message),
                    }),
                }
            }
        }
        let Some(action) = form.row_action.filter(|a| a.block() == block.stable_id) else {
            continue;
        };
        let after = action.apply(&rows);
        if after == rows {
            continue;
        }
        for row in rows.iter().filter(|r| !after.contains(r)) {
            errors.retain(|e| !e.field.ends_with(&format!("_{row}")));
            changes.upsert.retain(|(_, r, _)| r != row);
            let gone: Vec<(i64, Uuid)> = next
                .rows
                .keys()
                .filter(|(_, r)| r == row)
                .copied()
                .collect();
            for key in gone {
                next.rows.remove(&key);
                if state.rows.contains_key(&key) && !changes.delete.contains(&key) {
                    changes.delete.push(key);
                }
            }
        }
        let value = repetition::rows_value(&after);
        upsert.retain(|(id, _)| *id != block.stable_id);
        delete.retain(|id| *id != block.stable_id);
        upsert.push((block.stable_id, value.clone()));
        next.values.insert(block.stable_id, value);
    }
    changes
}

/// On deposit: the mandatory children of a block, in every row (but those `hidden`).
fn mandatory_rows(
    state: &DossierState,
    block: i64,
    next: &DossierState,
    hidden: &HashSet<(i64, Uuid)>,
    errors: &mut Vec<FieldError>,
) {
    use crate::domain::repetition;
    let rows = repetition::row_ids(next.values.get(&block));
    for (i, row) in rows.iter().enumerate() {
        for child in state
            .defs
            .children(block)
            .filter(|d| d.type_champ.is_typed())
        {
            let field = repetition::field(child.stable_id, *row);
            if hidden.contains(&(child.stable_id, *row)) || errors.iter().any(|e| e.field == field)
            {
                continue;
            }
            if let Err(message) =
                domain::check_mandatory(&child.def(), next.rows.get(&(child.stable_id, *row)))
            {
                errors.push(FieldError {
                    field,
                    message: repetition::row_message(i + 1, &message),
                });
            }
        }
    }
}

/// The value that counts for the mandatory check: a file list without its unusable files.
fn usable_value(type_champ: TypeChamp, value: Option<&Value>, ctx: Context<'_>) -> Option<Value> {
    match value {
        Some(Value::Array(ids)) if type_champ.is_file() => Some(Value::Array(
            ids.iter()
                .filter(|id| {
                    !id.as_str()
                        .is_some_and(|id| ctx.unusable_files.iter().any(|u| u == id))
                })
                .cloned()
                .collect(),
        )),
        other => other.cloned(),
    }
}

/// The ids of a file champ's value.
pub fn file_ids(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The attachment ids of the dossier's titres d'identité (never in blocs répétables).
pub fn titre_identite_ids(state: &DossierState) -> Vec<String> {
    state
        .defs
        .public()
        .filter(|d| d.type_champ.is_titre_identite())
        .flat_map(|d| file_ids(state.values.get(&d.stable_id)))
        .collect()
}

/// The file champ `stable_id` of a dossier its owner may still edit.
fn editable_file_champ(state: &DossierState, act: &Act, stable_id: i64) -> Result<(), ActError> {
    if act.author.kind != AuthorKind::Usager || act.author.user_id != Some(state.user_id) {
        return Err(ActError::Forbidden);
    }
    if !matches!(state.state, Etat::Brouillon | Etat::EnConstruction) {
        return Err(ActError::ReadOnly(state.state));
    }
    match state.defs.public().find(|d| d.stable_id == stable_id) {
        Some(def) if def.type_champ.is_file() => Ok(()),
        _ => Err(ActError::NotFound),
    }
}

fn modification_kind(state: &DossierState) -> &'static str {
    if state.state == Etat::Brouillon {
        "modifier_brouillon"
    } else {
        "modifier"
    }
}

fn decide_attach(
    state: &DossierState,
    act: &Act,
    stable_id: i64,
    attachment: &NewAttachment,
    max_files: usize,
) -> Result<Decision, ActError> {
    editable_file_champ(state, act, stable_id)?;
    let max_files = state
        .defs
        .get(stable_id)
        .map_or(max_files, |d| d.type_champ.max_files(max_files));
    let mut ids = file_ids(state.values.get(&stable_id));
    if ids.len() >= max_files {
        let libelle = state
            .defs
            .get(stable_id)
            .map(|d| d.libelle.clone())
            .unwrap_or_default();
        return Err(ActError::Invalid {
            errors: vec![FieldError {
                field: format!("champ_{stable_id}"),
                message: too_many_files(&libelle, max_files),
            }],
            snapshot: snapshot(state),
        });
    }
    ids.push(attachment.id.to_string());
    let value = json!(ids);
    let mut write = base_write(state, act, modification_kind(state));
    write.payload = json!({ "champs": [stable_id], "piece_ajoutee": attachment.id });
    write.champs_upsert = vec![(stable_id, value.clone())];
    write.attachment_insert = Some((stable_id, attachment.clone()));
    write.jobs = vec![Job::virus_scan(attachment.id)];
    let mut next = state.clone();
    next.values.insert(stable_id, value);
    Ok(Decision::Commit {
        write: Box::new(write),
        next: Box::new(next),
        warnings: Vec::new(),
        then_invalid: None,
    })
}

/// "« Pièces » : 10 fichiers au maximum."
pub fn too_many_files(libelle: &str, max_files: usize) -> String {
    if max_files == 1 {
        format!("« {libelle} » : un seul fichier est accepté.")
    } else {
        format!("« {libelle} » : {max_files} fichiers au maximum.")
    }
}

fn decide_detach(
    state: &DossierState,
    act: &Act,
    stable_id: i64,
    attachment_id: Uuid,
) -> Result<Decision, ActError> {
    editable_file_champ(state, act, stable_id)?;
    let id = attachment_id.to_string();
    let mut ids = file_ids(state.values.get(&stable_id));
    if !ids.contains(&id) {
        return Err(ActError::NotFound);
    }
    ids.retain(|i| i != &id);
    let mut write = base_write(state, act, modification_kind(state));
    write.payload = json!({ "champs": [stable_id], "piece_supprimee": attachment_id });
    write.attachments_delete = vec![attachment_id];
    let mut next = state.clone();
    if ids.is_empty() {
        write.champs_delete = vec![stable_id];
        next.values.remove(&stable_id);
    } else {
        let value = json!(ids);
        write.champs_upsert = vec![(stable_id, value.clone())];
        next.values.insert(stable_id, value);
    }
    Ok(Decision::Commit {
        write: Box::new(write),
        next: Box::new(next),
        warnings: Vec::new(),
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
    // A decision needs the mandatory annotations privées (FEATURES §4.5, DS `can_terminer?`).
    if transition.is_decision() {
        let errors: Vec<FieldError> = state
            .defs
            .private()
            .filter_map(|def| {
                domain::check_mandatory(&def.def(), state.annotations.get(&def.stable_id))
                    .err()
                    .map(|message| FieldError {
                        field: def.field(),
                        message: format!("Annotation privée : {message}"),
                    })
            })
            .collect();
        if !errors.is_empty() {
            return Err(ActError::Invalid {
                errors,
                snapshot: snapshot(state),
            });
        }
    }
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
    // A decided dossier no longer needs its titres d'identité: their deletion is queued by
    // the decision's own commit, so it cannot be forgotten.
    if outcome.to.is_termine() {
        let titres = titre_identite_ids(state);
        if !titres.is_empty() {
            write.jobs.push(Job::purge_titres(state.id, &titres));
        }
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
    use crate::domain::external::{ExternalRecord, LookupOutcome};
    use crate::domain::logic::{Condition, Op};
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
        unusable_files: &[],
    };

    fn champ(stable_id: i64, type_champ: TypeChamp, libelle: &str, mandatory: bool) -> ChampDefRow {
        ChampDefRow {
            stable_id,
            type_champ,
            libelle: libelle.to_owned(),
            description: String::new(),
            mandatory,
            private: false,
            parent: None,
            options: ChampOptions::default(),
            condition: None,
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
            annotations: HashMap::new(),
            rows: HashMap::new(),
            individual: Some(Individual {
                civilite: Civilite::Mme,
                nom: "Durand".to_owned(),
                prenom: "Camille".to_owned(),
            }),
            siret: None,
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
                ..SaveForm::default()
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

    fn set_siret(siret: &str, record: Option<ExternalRecord>, job: Option<Value>) -> Act {
        Act {
            author: usager(10),
            expected_version: None,
            command: Command::SetSiret(SiretInput {
                siret: siret.to_owned(),
                record,
                job,
            }),
        }
    }

    fn personne_morale(state: Etat) -> DossierState {
        let mut d = dossier(state);
        d.for_individual = false;
        d.individual = None;
        d
    }

    #[test]
    fn the_siret_step_writes_the_siret_with_its_look_up() {
        let state = personne_morale(Etat::Brouillon);
        let data = json!({"siret": "12000101100010"});
        let found = ExternalRecord::from_outcome(
            None,
            "12000101100010",
            LookupOutcome::Found(data.clone()),
        );
        let act = set_siret("120 001 011 00010", Some(found), None);
        let (write, next, _, invalid) = commit(decide(&state, &act, CTX).unwrap());
        assert!(invalid.is_none());
        assert_eq!(write.kind, "modifier_etablissement");
        let e = write.etablissement.as_ref().unwrap();
        assert_eq!(e.siret, "12000101100010");
        assert_eq!(e.state.as_deref(), Some("fetched"));
        assert_eq!(e.data.as_ref(), Some(&data));
        assert!(write.jobs.is_empty());
        assert_eq!(next.siret.as_deref(), Some("12000101100010"));

        // Pending: the retry job goes with the write.
        let pending = ExternalRecord::from_outcome(None, "12000101100010", LookupOutcome::Retry);
        let job = json!({"dossier_id": 42});
        let act = set_siret("12000101100010", Some(pending), Some(job.clone()));
        let (write, ..) = commit(decide(&state, &act, CTX).unwrap());
        assert_eq!(
            write.etablissement.as_ref().unwrap().state.as_deref(),
            Some("pending")
        );
        assert_eq!(write.jobs.len(), 1);
        assert_eq!(write.jobs[0].payload, job);

        // No connector: accepted without data.
        let (write, ..) =
            commit(decide(&state, &set_siret("12000101100010", None, None), CTX).unwrap());
        let e = write.etablissement.unwrap();
        assert_eq!((e.state, e.data), (None, None));
    }

    #[test]
    fn the_siret_step_refuses_unknown_and_invalid_numbers_and_other_authors() {
        let state = personne_morale(Etat::Brouillon);
        let unknown = ExternalRecord::from_outcome(None, "73282932000074", LookupOutcome::NotFound);
        let messages = |act: &Act| match decide(&state, act, CTX) {
            Err(ActError::Invalid { errors, .. }) => errors
                .into_iter()
                .map(|e| (e.field, e.message))
                .collect::<Vec<_>>(),
            other => panic!("expected Invalid, got {other:?}"),
        };
        assert_eq!(
            messages(&set_siret("73282932000074", Some(unknown), None)),
            vec![(
                "siret".to_owned(),
                domain::external::MSG_NOT_FOUND.to_owned()
            )]
        );
        assert_eq!(
            messages(&set_siret("12000101100011", None, None)),
            vec![(
                "siret".to_owned(),
                "Le numéro SIRET n’est pas valide.".to_owned()
            )]
        );
        let mut other = set_siret("12000101100010", None, None);
        other.author = usager(11);
        assert!(matches!(
            decide(&state, &other, CTX),
            Err(ActError::Forbidden)
        ));
        assert!(matches!(
            decide(
                &dossier(Etat::Brouillon),
                &set_siret("12000101100010", None, None),
                CTX
            ),
            Err(ActError::Forbidden)
        ));
        assert!(matches!(
            decide(
                &personne_morale(Etat::EnInstruction),
                &set_siret("12000101100010", None, None),
                CTX
            ),
            Err(ActError::ReadOnly(Etat::EnInstruction))
        ));
    }

    #[test]
    fn a_personne_morale_deposits_only_with_a_siret() {
        let mut state = personne_morale(Etat::Brouillon);
        let act = save(&[(100, "Jardin partagé")], true);
        match decide(&state, &act, CTX) {
            Err(ActError::Invalid { errors, .. }) => {
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].field, "siret");
                assert_eq!(errors[0].message, domain::external::MSG_SIRET_REQUIRED);
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        state.siret = Some("12000101100010".to_owned());
        let (write, ..) = commit(decide(&state, &act, CTX).unwrap());
        assert_eq!(write.kind, "passer_en_construction");
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
        assert!(
            write.require_open,
            "a deposit commits only while the démarche is open"
        );
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
    fn an_autosave_applies_only_to_a_brouillon() {
        let mut act = save(&[(100, "Brouillon")], false);
        if let Command::Save(form) = &mut act.command {
            form.brouillon_only = true;
        }
        let (write, _, _, _) = commit(decide(&dossier(Etat::Brouillon), &act, CTX).unwrap());
        assert_eq!(write.kind, "modifier_brouillon");
        // Deposited meanwhile: the background save changes nothing.
        assert!(matches!(
            decide(&dossier(Etat::EnConstruction), &act, CTX),
            Err(ActError::ReadOnly(Etat::EnConstruction))
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

    /// The dossier with a mandatory "Précisez" (103) shown only when "J'accepte" (102) is
    /// checked.
    fn conditional(state: Etat, values: &[(i64, Value)]) -> DossierState {
        let mut d = dossier(state);
        let mut precisez = champ(103, TypeChamp::Text, "Précisez", true);
        precisez.condition = Some(Condition::rule(Op::Eq, 102, json!(true)));
        d.defs = Arc::new(RevisionDefs {
            revision_id: 3,
            published: true,
            champs: vec![
                champ(100, TypeChamp::Text, "Nom du projet", true),
                champ(102, TypeChamp::Checkbox, "J'accepte", false),
                precisez,
            ],
        });
        d.values = values.iter().cloned().collect();
        d
    }

    /// A block « Salariés » (200) whose « Contrat » (202, mandatory) shows only in the rows
    /// where « Salarié » (201) is checked; rows `a` and `b`.
    fn conditional_rows(a: Uuid, b: Uuid) -> DossierState {
        let mut d = dossier(Etat::Brouillon);
        let mut salarie = champ(201, TypeChamp::Checkbox, "Salarié", false);
        salarie.parent = Some(200);
        let mut contrat = champ(202, TypeChamp::Text, "Contrat", true);
        contrat.parent = Some(200);
        contrat.condition = Some(Condition::rule(Op::Eq, 201, json!(true)));
        d.defs = Arc::new(RevisionDefs {
            revision_id: 3,
            published: true,
            champs: vec![
                champ(100, TypeChamp::Text, "Nom du projet", true),
                champ(200, TypeChamp::Repetition, "Salariés", false),
                salarie,
                contrat,
            ],
        });
        d.values
            .insert(200, crate::domain::repetition::rows_value(&[a, b]));
        // A value typed in row b while « Salarié » was checked there.
        d.rows.insert((202, b), json!("CDI"));
        d
    }

    fn save_in_rows(rows: &[((i64, Uuid), &str)], submit: bool) -> Act {
        let mut act = save(&[(100, "Jardin partagé")], submit);
        if let Command::Save(form) = &mut act.command {
            form.rows = rows.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        }
        act
    }

    #[test]
    fn conditions_of_children_are_evaluated_per_row() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let state = conditional_rows(a, b);
        // Row a: « Salarié » checked, « Contrat » shown and mandatory.
        let act = save_in_rows(
            &[
                ((201, a), "on"),
                ((202, a), ""),
                ((201, b), ""),
                ((202, b), "CDI"),
            ],
            true,
        );
        let (_, _, _, invalid) = commit(decide(&state, &act, CTX).unwrap());
        let invalid = invalid.unwrap();
        assert_eq!(invalid.len(), 1, "{invalid:?}");
        assert_eq!(invalid[0].field, crate::domain::repetition::field(202, a));
        assert!(invalid[0].message.starts_with("Élément n° 1 – "));
        // Filled: deposited; row b's hidden « Contrat » is neither required nor kept.
        let act = save_in_rows(
            &[
                ((201, a), "on"),
                ((202, a), "CDD"),
                ((201, b), ""),
                ((202, b), "CDI"),
            ],
            true,
        );
        let (write, next, _, invalid) = commit(decide(&state, &act, CTX).unwrap());
        assert!(invalid.is_none());
        assert_eq!(write.kind, "passer_en_construction");
        assert!(
            write
                .row_champs_upsert
                .iter()
                .any(|(c, r, v)| (*c, *r) == (202, a) && *v == json!("CDD"))
        );
        assert!(
            !write
                .row_champs_upsert
                .iter()
                .any(|(c, r, _)| (*c, *r) == (202, b))
        );
        assert_eq!(write.row_champs_delete, vec![(202, b)]);
        assert!(!next.rows.contains_key(&(202, b)));
        // A brouillon keeps what was typed in a hidden child.
        let act = save_in_rows(&[((201, b), ""), ((202, b), "CDD")], false);
        let (write, next, _, _) = commit(decide(&state, &act, CTX).unwrap());
        assert_eq!(next.rows.get(&(202, b)), Some(&json!("CDD")));
        assert!(write.row_champs_delete.is_empty());
    }

    #[test]
    fn a_hidden_mandatory_champ_does_not_block_the_deposit_and_is_not_stored() {
        let state = conditional(Etat::Brouillon, &[(100, json!("Jardin"))]);
        let (write, next, _, invalid) =
            commit(decide(&state, &save(&[(100, "Jardin"), (103, "typed")], true), CTX).unwrap());
        assert!(invalid.is_none());
        assert_eq!(write.kind, "passer_en_construction");
        assert!(write.champs_upsert.is_empty(), "{:?}", write.champs_upsert);
        assert!(!next.values.contains_key(&103));
    }

    #[test]
    fn a_visible_mandatory_champ_blocks_the_deposit() {
        let state = conditional(Etat::Brouillon, &[(100, json!("Jardin"))]);
        let (write, _, _, invalid) = commit(
            decide(
                &state,
                &save(&[(100, "Jardin"), (102, "on"), (103, "")], true),
                CTX,
            )
            .unwrap(),
        );
        assert_eq!(write.kind, "modifier_brouillon");
        let errors = invalid.unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "champ_103");
        // Checked and filled: deposited with the value.
        let (write, _, _, invalid) = commit(
            decide(
                &state,
                &save(&[(100, "Jardin"), (102, "on"), (103, "Oui")], true),
                CTX,
            )
            .unwrap(),
        );
        assert!(invalid.is_none());
        assert!(write.champs_upsert.contains(&(103, json!("Oui"))));
    }

    #[test]
    fn a_brouillon_keeps_hidden_values_as_typed() {
        let state = conditional(Etat::Brouillon, &[(100, json!("Jardin"))]);
        let (write, next, _, _) = commit(
            decide(
                &state,
                &save(&[(100, "Jardin"), (103, "typed")], false),
                CTX,
            )
            .unwrap(),
        );
        assert_eq!(write.champs_upsert, vec![(103, json!("typed"))]);
        assert_eq!(next.values.get(&103), Some(&json!("typed")));
    }

    #[test]
    fn a_modification_removes_the_values_of_champs_it_hides() {
        let state = conditional(
            Etat::EnConstruction,
            &[
                (100, json!("Jardin")),
                (102, json!(true)),
                (103, json!("Oui")),
            ],
        );
        let (write, next, _, _) =
            commit(decide(&state, &save(&[(100, "Jardin"), (103, "Oui")], true), CTX).unwrap());
        assert_eq!(write.kind, "modifier");
        assert_eq!(write.champs_delete, vec![102, 103]);
        assert!(write.champs_upsert.is_empty());
        assert!(!next.values.contains_key(&103));
        // An invalid value in a hidden champ does not block a modification either.
        let mut state = conditional(Etat::EnConstruction, &[(100, json!("Jardin"))]);
        let mut defs = (*state.defs).clone();
        defs.champs[2].type_champ = TypeChamp::IntegerNumber;
        state.defs = Arc::new(defs);
        assert!(decide(&state, &save(&[(100, "Autre"), (103, "douze")], true), CTX).is_ok());
    }

    fn annotate(author: Author, champs: &[(i64, &str)]) -> (Act, DossierState) {
        let mut d = dossier(Etat::EnInstruction);
        let mut defs = (*d.defs).clone();
        let mut note = champ(200, TypeChamp::IntegerNumber, "Note du service", false);
        note.private = true;
        defs.champs.push(note);
        d.defs = Arc::new(defs);
        let act = Act {
            author,
            expected_version: Some(4),
            command: Command::Annotate {
                champs: champs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            },
        };
        (act, d)
    }

    #[test]
    fn instructeurs_write_annotations_in_any_deposited_state() {
        for etat in [Etat::EnConstruction, Etat::EnInstruction, Etat::Accepte] {
            let (act, mut state) = annotate(instructeur(), &[(200, "17"), (100, "ignored")]);
            state.state = etat;
            let (write, next, _, _) = commit(decide(&state, &act, CTX).unwrap());
            assert_eq!(write.kind, "modifier_annotations");
            assert!(write.private_champs);
            assert_eq!(
                write.champs_upsert,
                vec![(200, json!(17))],
                "public champs untouched"
            );
            assert!(write.state_change.is_none() && write.mails.is_empty());
            assert_eq!(next.annotations.get(&200), Some(&json!(17)));
            assert_eq!(next.values, state.values);
        }
        // Blank removes, unchanged writes nothing, invalid refuses everything.
        let (act, mut state) = annotate(instructeur(), &[(200, "")]);
        state.annotations.insert(200, json!(3));
        let (write, _, _, _) = commit(decide(&state, &act, CTX).unwrap());
        assert_eq!(write.champs_delete, vec![200]);
        let (act, mut state) = annotate(instructeur(), &[(200, "3")]);
        state.annotations.insert(200, json!(3));
        assert!(matches!(
            decide(&state, &act, CTX).unwrap(),
            Decision::Nothing { .. }
        ));
        let (act, state) = annotate(instructeur(), &[(200, "beaucoup")]);
        let Err(ActError::Invalid { errors, .. }) = decide(&state, &act, CTX) else {
            panic!("an invalid annotation is refused");
        };
        assert_eq!(errors[0].field, "champ_200");
    }

    #[test]
    fn a_decision_needs_the_mandatory_annotations() {
        let (_, mut state) = annotate(instructeur(), &[]);
        let mut defs = (*state.defs).clone();
        defs.champs.last_mut().unwrap().mandatory = true;
        state.defs = Arc::new(defs);
        let Err(ActError::Invalid { errors, .. }) =
            decide(&state, &instruct(Transition::Accepter, None), CTX)
        else {
            panic!("refused without the mandatory annotation");
        };
        assert_eq!(errors[0].field, "champ_200");
        assert_eq!(
            errors[0].message,
            "Annotation privée : Le champ « Note du service » doit être rempli."
        );
        // Not needed to repasser en construction; enough once filled.
        assert!(
            decide(
                &state,
                &instruct(Transition::RepasserEnConstruction, None),
                CTX
            )
            .is_ok()
        );
        state.annotations.insert(200, json!(12));
        assert!(decide(&state, &instruct(Transition::Accepter, None), CTX).is_ok());
    }

    #[test]
    fn usagers_never_write_annotations_nor_on_a_brouillon() {
        let (act, state) = annotate(usager(10), &[(200, "17")]);
        assert!(matches!(
            decide(&state, &act, CTX),
            Err(ActError::Forbidden)
        ));
        let (act, mut state) = annotate(instructeur(), &[(200, "17")]);
        state.state = Etat::Brouillon;
        assert!(matches!(
            decide(&state, &act, CTX),
            Err(ActError::ReadOnly(Etat::Brouillon))
        ));
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

    // ---- pièces justificatives ----

    fn with_piece(state: Etat, ids: &[&str]) -> DossierState {
        let mut state = dossier(state);
        let mut champs = state.defs.champs.clone();
        champs.push(champ(
            103,
            TypeChamp::PieceJustificative,
            "Justificatif",
            true,
        ));
        state.defs = Arc::new(RevisionDefs {
            revision_id: 3,
            published: true,
            champs,
        });
        if !ids.is_empty() {
            state.values.insert(103, json!(ids));
        }
        state
    }

    fn piece(id: u128) -> NewAttachment {
        NewAttachment {
            id: Uuid::from_u128(id),
            filename: "devis.pdf".to_owned(),
            content_type: "application/pdf".to_owned(),
            byte_size: 12,
            checksum: "00".to_owned(),
            storage_key: "ab/cd/x".to_owned(),
        }
    }

    fn attach(id: u128, max_files: usize) -> Act {
        Act {
            author: usager(10),
            expected_version: None,
            command: Command::AttachPiece {
                stable_id: 103,
                attachment: piece(id),
                max_files,
            },
        }
    }

    #[test]
    fn attaching_appends_the_id_records_the_file_and_its_scan_job() {
        let state = with_piece(Etat::Brouillon, &[]);
        let (write, next, _, _) = commit(decide(&state, &attach(1, 10), CTX).unwrap());
        let id = Uuid::from_u128(1).to_string();
        assert_eq!(write.kind, "modifier_brouillon");
        assert_eq!(write.champs_upsert, vec![(103, json!([id]))]);
        assert_eq!(write.attachment_insert, Some((103, piece(1))));
        assert_eq!(write.jobs, vec![Job::virus_scan(Uuid::from_u128(1))]);
        assert_eq!(next.values.get(&103), Some(&json!([id])));

        let state = with_piece(Etat::EnConstruction, &[&id]);
        let (write, _, _, _) = commit(decide(&state, &attach(2, 10), CTX).unwrap());
        assert_eq!(write.kind, "modifier");
        assert_eq!(
            write.champs_upsert,
            vec![(103, json!([id, Uuid::from_u128(2).to_string()]))]
        );
    }

    fn with_titre(state: Etat, ids: &[&str]) -> DossierState {
        let mut state = with_piece(state, &["pj"]);
        let mut champs = state.defs.champs.clone();
        champs.push(champ(
            104,
            TypeChamp::TitreIdentite,
            "Pièce d'identité",
            true,
        ));
        state.defs = Arc::new(RevisionDefs {
            revision_id: 3,
            published: true,
            champs,
        });
        if !ids.is_empty() {
            state.values.insert(104, json!(ids));
        }
        state
    }

    #[test]
    fn a_titre_identite_holds_one_file() {
        let state = with_titre(Etat::Brouillon, &[]);
        let mut act = attach(1, 10);
        if let Command::AttachPiece { stable_id, .. } = &mut act.command {
            *stable_id = 104;
        }
        let (write, next, _, _) = commit(decide(&state, &act, CTX).unwrap());
        assert_eq!(write.attachment_insert, Some((104, piece(1))));
        let Err(ActError::Invalid { errors, .. }) = decide(&next, &act, CTX) else {
            panic!("a second titre d'identité was accepted");
        };
        assert_eq!(
            errors[0].message,
            "« Pièce d'identité » : un seul fichier est accepté."
        );
    }

    #[test]
    fn a_decision_queues_the_purge_of_the_titres_identite_in_its_commit() {
        for (transition, motivation) in [
            (Transition::Accepter, None),
            (Transition::Refuser, Some("Incomplet")),
            (Transition::ClasserSansSuite, Some("Doublon")),
        ] {
            let state = with_titre(Etat::EnInstruction, &["t1"]);
            let (write, _, _, _) =
                commit(decide(&state, &instruct(transition, motivation), CTX).unwrap());
            // Only the titre d'identité, not the pièce justificative.
            assert_eq!(
                write.jobs,
                vec![Job::purge_titres(state.id, &["t1".to_owned()])],
                "{transition:?}"
            );
        }
        // No titre given, or no decision: nothing to purge.
        let state = with_titre(Etat::EnInstruction, &[]);
        let (write, _, _, _) =
            commit(decide(&state, &instruct(Transition::Accepter, None), CTX).unwrap());
        assert!(write.jobs.is_empty());
        let state = with_titre(Etat::EnConstruction, &["t1"]);
        let (write, _, _, _) = commit(
            decide(
                &state,
                &instruct(Transition::PasserEnInstruction, None),
                CTX,
            )
            .unwrap(),
        );
        assert!(write.jobs.is_empty());
    }

    #[test]
    fn attaching_refuses_past_the_limit_other_users_and_read_only_dossiers() {
        let state = with_piece(Etat::Brouillon, &["a", "b"]);
        let Err(ActError::Invalid { errors, .. }) = decide(&state, &attach(3, 2), CTX) else {
            panic!("limit");
        };
        assert_eq!(
            errors[0].message,
            "« Justificatif » : 2 fichiers au maximum."
        );
        let mut act = attach(3, 10);
        act.author = usager(11);
        assert!(matches!(
            decide(&state, &act, CTX),
            Err(ActError::Forbidden)
        ));
        let state = with_piece(Etat::EnInstruction, &[]);
        assert!(matches!(
            decide(&state, &attach(3, 10), CTX),
            Err(ActError::ReadOnly(Etat::EnInstruction))
        ));
        // Only on a file champ.
        let state = with_piece(Etat::Brouillon, &[]);
        let mut act = attach(3, 10);
        act.command = Command::AttachPiece {
            stable_id: 100,
            attachment: piece(3),
            max_files: 10,
        };
        assert!(matches!(decide(&state, &act, CTX), Err(ActError::NotFound)));
    }

    #[test]
    fn detaching_removes_the_id_and_the_row() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let state = with_piece(Etat::Brouillon, &[&a.to_string(), &b.to_string()]);
        let detach = |id| Act {
            author: usager(10),
            expected_version: None,
            command: Command::DetachPiece {
                stable_id: 103,
                attachment_id: id,
            },
        };
        let (write, next, _, _) = commit(decide(&state, &detach(a), CTX).unwrap());
        assert_eq!(write.champs_upsert, vec![(103, json!([b.to_string()]))]);
        assert_eq!(write.attachments_delete, vec![a]);
        let (write, _, _, _) = commit(decide(&next, &detach(b), CTX).unwrap());
        assert_eq!(write.champs_delete, vec![103]);
        assert!(matches!(
            decide(&state, &detach(Uuid::from_u128(9)), CTX),
            Err(ActError::NotFound)
        ));
    }

    #[test]
    fn saving_the_form_keeps_the_files_and_unusable_files_do_not_count_on_deposit() {
        let id = Uuid::from_u128(1).to_string();
        let state = with_piece(Etat::Brouillon, &[&id]);
        // The form never carries the file champ: its value stays.
        let (write, _, _, invalid) = commit(
            decide(
                &state,
                &save(&[(100, "Jardin partagé"), (101, "12")], true),
                CTX,
            )
            .unwrap(),
        );
        assert!(invalid.is_none());
        assert_eq!(write.kind, "passer_en_construction");
        assert!(!write.champs_delete.contains(&103));
        let infected = [id.clone()];
        let ctx = Context {
            unusable_files: &infected,
            ..CTX
        };
        let Err(ActError::Invalid { errors, .. }) =
            decide(&state, &save(&[(100, "Jardin partagé")], true), ctx)
        else {
            panic!("an infected file does not count");
        };
        assert_eq!(errors[0].field, "champ_103");
        assert_eq!(
            errors[0].message,
            "Le champ « Justificatif » doit être rempli."
        );
    }

    // ------------------------------------------------------------ blocs répétables

    fn with_block(rows: &[Uuid]) -> DossierState {
        let mut state = dossier(Etat::Brouillon);
        let mut defs = (*state.defs).clone();
        defs.champs
            .push(champ(300, TypeChamp::Repetition, "Membres", true));
        defs.champs.push(ChampDefRow {
            parent: Some(300),
            ..champ(301, TypeChamp::Text, "Nom", true)
        });
        defs.champs.push(ChampDefRow {
            parent: Some(300),
            ..champ(302, TypeChamp::IntegerNumber, "Âge", false)
        });
        state.defs = Arc::new(defs);
        state
            .values
            .insert(300, crate::domain::repetition::rows_value(rows));
        state
    }

    fn save_rows_act(
        rows: &[(i64, Uuid, &str)],
        action: Option<crate::domain::repetition::RowAction>,
        submit: bool,
    ) -> Act {
        Act {
            author: usager(10),
            expected_version: None,
            command: Command::Save(SaveForm {
                champs: HashMap::from([(100, "Jardin partagé".to_owned())]),
                rows: rows
                    .iter()
                    .map(|(c, r, v)| ((*c, *r), (*v).to_owned()))
                    .collect(),
                row_action: action,
                full_form: true,
                submit,
                ..SaveForm::default()
            }),
        }
    }

    #[test]
    fn dossier_links_of_rows_are_looked_up() {
        let a = Uuid::new_v4();
        let mut state = with_block(&[a]);
        let mut defs = (*state.defs).clone();
        defs.champs.push(ChampDefRow {
            parent: Some(300),
            ..champ(303, TypeChamp::DossierLink, "Dossier lié", false)
        });
        state.defs = Arc::new(defs);
        let act = save_rows_act(&[(303, a, "n° 1234"), (301, a, "5678")], None, false);
        assert_eq!(dossier_links(&state, &act.command), [1234]);
    }

    #[test]
    fn rows_are_saved_then_a_row_is_added() {
        use crate::domain::repetition::{RowAction, row_ids};
        let a = Uuid::new_v4();
        let state = with_block(&[a]);
        let new = Uuid::new_v4();
        let act = save_rows_act(
            &[(301, a, "Ada"), (302, a, "36")],
            Some(RowAction::Add {
                block: 300,
                row: new,
            }),
            false,
        );
        let (write, next, warnings, _) = commit(decide(&state, &act, CTX).unwrap());
        assert!(warnings.is_empty());
        assert_eq!(write.row_champs_upsert.len(), 2);
        assert!(write.row_champs_upsert.contains(&(302, a, json!(36))));
        assert_eq!(row_ids(next.values.get(&300)), [a, new]);
        assert!(write.champs_upsert.iter().any(|(id, _)| *id == 300));
    }

    #[test]
    fn removing_a_row_deletes_its_values_and_errors_name_the_row() {
        use crate::domain::repetition::{RowAction, row_ids};
        let [a, b, c] = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        let mut state = with_block(&[a, b, c]);
        state.rows.insert((301, b), json!("Bob"));
        let act = save_rows_act(
            &[
                (301, a, "Ada"),
                (301, b, "Bob"),
                (301, c, "Cy"),
                (302, c, "douze"),
            ],
            Some(RowAction::Remove { block: 300, row: b }),
            false,
        );
        let (write, next, warnings, _) = commit(decide(&state, &act, CTX).unwrap());
        assert_eq!(row_ids(next.values.get(&300)), [a, c]);
        assert_eq!(write.row_champs_delete, [(301, b)]);
        assert!(!next.rows.contains_key(&(301, b)));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].field, format!("champ_302_{c}"));
        assert!(warnings[0].message.starts_with("Élément n° 3 – "));
    }

    #[test]
    fn deposit_needs_a_row_and_mandatory_children_in_every_row() {
        let state = with_block(&[]);
        let Err(ActError::Invalid { errors, .. }) =
            decide(&state, &save_rows_act(&[], None, true), CTX)
        else {
            panic!("a mandatory block needs a row");
        };
        assert_eq!(errors[0].field, "champ_300");
        let a = Uuid::new_v4();
        let state = with_block(&[a]);
        // The valid value is kept in the brouillon, the deposit refused.
        let decision = decide(&state, &save_rows_act(&[(302, a, "3")], None, true), CTX);
        let (write, _, _, invalid) = commit(decision.unwrap());
        assert_eq!(write.row_champs_upsert, [(302, a, json!(3))]);
        let errors = invalid.expect("the mandatory child is required");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, format!("champ_301_{a}"));
        assert_eq!(
            errors[0].message,
            "Élément n° 1 – Le champ « Nom » doit être rempli."
        );
        let ok = decide(&state, &save_rows_act(&[(301, a, "Ada")], None, true), CTX);
        let (write, ..) = commit(ok.unwrap());
        assert_eq!(write.kind, "passer_en_construction");
    }
}
