//! The actor shell: load, decide (pure), commit, publish.

use std::sync::Arc;

use actix::prelude::*;

use super::decide::{self, Context as DecideContext, Decision};
use super::messages::{Act, ActError, ActOutcome, Command, Forget, RecordExternal};
use crate::bus::EventKind;
use crate::domain::Etat;
use crate::env::ActorEnv;
use crate::store::dossier::{self as store, CommitError, DossierState};

pub struct DossierActor {
    id: i64,
    env: Arc<ActorEnv>,
    state: Option<Arc<DossierState>>,
}

impl DossierActor {
    pub fn new(id: i64, env: Arc<ActorEnv>) -> Self {
        Self {
            id,
            env,
            state: None,
        }
    }
}

impl Actor for DossierActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(64);
    }
}

impl Handler<Act> for DossierActor {
    type Result = AtomicResponse<Self, Result<ActOutcome, ActError>>;

    fn handle(&mut self, act: Act, _ctx: &mut Self::Context) -> Self::Result {
        let env = self.env.clone();
        let id = self.id;
        let cached = self.state.clone();
        AtomicResponse::new(Box::pin(
            async move { run(&env, id, cached, act).await }
                .into_actor(self)
                .map(|(state, result), actor, _ctx| {
                    actor.state = state;
                    result
                }),
        ))
    }
}

impl Handler<RecordExternal> for DossierActor {
    type Result = AtomicResponse<Self, Result<bool, ActError>>;

    fn handle(&mut self, msg: RecordExternal, _ctx: &mut Self::Context) -> Self::Result {
        let env = self.env.clone();
        let id = self.id;
        AtomicResponse::new(Box::pin(
            async move {
                crate::store::external::record(&env.db, id, &msg.record, msg.job.as_ref())
                    .await
                    .map_err(internal)
            }
            .into_actor(self),
        ))
    }
}

impl Handler<Forget> for DossierActor {
    type Result = ();
    fn handle(&mut self, _: Forget, _ctx: &mut Self::Context) {
        self.state = None;
    }
}

type Answer = (Option<Arc<DossierState>>, Result<ActOutcome, ActError>);

fn internal(err: impl std::fmt::Display) -> ActError {
    tracing::error!(error = %err, "dossier actor failure");
    ActError::Internal(err.to_string())
}

/// Loads the dossier. For the usager's commands (`follow`), a brouillon or dossier en
/// construction still on an older revision than its démarche's published one is rebased
/// first (`store::rebase::rebase_dossier`, the job's code), and the other nodes forget it.
async fn load(env: &ActorEnv, id: i64, follow: bool) -> Result<Arc<DossierState>, ActError> {
    let rebased = if follow {
        crate::store::rebase::rebase_dossier(&env.db, id)
            .await
            .map_err(internal)?
    } else {
        None
    };
    let state = match store::load(&env.db, &env.revisions, id).await {
        Ok(Some(state)) => state,
        Ok(None) => return Err(ActError::NotFound),
        Err(err) => return Err(internal(err)),
    };
    if rebased.is_some() {
        // This actor holds the new state; other nodes drop what they cached.
        env.bus.publish(EventKind::DossierChanged {
            dossier_id: state.id,
            procedure_id: state.procedure_id,
            groupe_id: state.groupe_instructeur_id,
            state: state.state.as_str().to_owned(),
            version: state.lock_version,
            change: "rebase".to_owned(),
        });
    }
    Ok(Arc::new(state))
}

async fn run(env: &ActorEnv, id: i64, cached: Option<Arc<DossierState>>, act: Act) -> Answer {
    let follow = act.command.follows_published_revision();
    let mut state = match cached {
        Some(state) => state,
        None => match load(env, id, follow).await {
            Ok(state) => state,
            Err(err) => return (None, Err(err)),
        },
    };
    // A usager save applies to the latest version: retry once after a concurrent write.
    for attempt in 0..2 {
        if let Some(expected) = act.expected_version
            && expected != state.lock_version
        {
            // The cache may be stale (another node wrote): check against the database.
            match load(env, id, follow).await {
                Ok(fresh) => state = fresh,
                Err(err) => return (None, Err(err)),
            }
            if expected != state.lock_version {
                let snapshot = decide::snapshot(&state);
                return (Some(state), Err(ActError::Conflict(snapshot)));
            }
        }
        match attempt_once(env, &state, &act).await {
            Ok((next, outcome)) => return (Some(next), outcome),
            Err(Retry::Conflict) => match load(env, id, follow).await {
                Ok(fresh) => {
                    state = fresh;
                    if act.expected_version.is_some() || attempt == 1 {
                        let snapshot = decide::snapshot(&state);
                        return (Some(state), Err(ActError::Conflict(snapshot)));
                    }
                }
                Err(err) => return (None, Err(err)),
            },
            Err(Retry::Fail(err)) => {
                let keep = !matches!(err, ActError::Internal(_));
                return (keep.then_some(state), Err(err));
            }
        }
    }
    let snapshot = decide::snapshot(&state);
    (Some(state), Err(ActError::Conflict(snapshot)))
}

enum Retry {
    Conflict,
    Fail(ActError),
}

async fn attempt_once(
    env: &ActorEnv,
    state: &Arc<DossierState>,
    act: &Act,
) -> Result<(Arc<DossierState>, Result<ActOutcome, ActError>), Retry> {
    let deposing = matches!(&act.command, Command::Save(form) if form.submit)
        && state.state == Etat::Brouillon;
    let route_to = if deposing {
        env.routing
            .groupe_for(state.procedure_id, &state.values)
            .await
            .map_err(|e| Retry::Fail(internal(e)))?
    } else {
        None
    };
    // Files that do not count for the mandatory check (read fresh: the worker scans them).
    let strict = matches!(&act.command, Command::Save(form) if form.submit)
        || (matches!(&act.command, Command::Save(_)) && state.state == Etat::EnConstruction);
    let unusable_files = if strict && state.defs.public().any(|d| d.type_champ.is_file()) {
        crate::store::attachment::unusable(&env.db, state.id)
            .await
            .map_err(|e| Retry::Fail(internal(e)))?
    } else {
        Vec::new()
    };
    let links = decide::dossier_links(state, &act.command);
    let existing_dossiers = if links.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar("select id from dossiers where id = any($1)")
            .bind(&links)
            .fetch_all(&env.db)
            .await
            .map_err(|e| Retry::Fail(internal(e)))?
    };
    let ctx = DecideContext {
        accepts_deposits: true,
        route_to,
        base_url: &env.base_url,
        existing_dossiers: &existing_dossiers,
        geo: &env.geo,
        unusable_files: &unusable_files,
    };
    let decision = decide::decide(state, act, ctx).map_err(Retry::Fail)?;
    match decision {
        Decision::Nothing { warnings } => Ok((
            state.clone(),
            Ok(ActOutcome {
                snapshot: decide::snapshot(state),
                change: "aucun_changement".to_owned(),
                warnings,
            }),
        )),
        Decision::Commit {
            write,
            mut next,
            warnings,
            then_invalid,
        } => {
            let version = match store::commit(&env.db, &write).await {
                Ok(v) => v,
                Err(CommitError::Conflict) if write.require_open => {
                    // Nothing written: either someone else wrote, or the démarche closed.
                    let open = env
                        .procedure_accepts_deposits(state.procedure_id, state.revision_id)
                        .await
                        .map_err(|e| Retry::Fail(internal(e)))?;
                    return Err(if open {
                        Retry::Conflict
                    } else {
                        Retry::Fail(ActError::Closed)
                    });
                }
                Err(CommitError::Conflict) => return Err(Retry::Conflict),
                Err(CommitError::Db(err)) => return Err(Retry::Fail(internal(err))),
            };
            next.lock_version = version;
            let next = Arc::new(*next);
            if !write.mails.is_empty() {
                env.outbox.wake();
            }
            env.bus.publish(EventKind::DossierChanged {
                dossier_id: next.id,
                procedure_id: next.procedure_id,
                groupe_id: next.groupe_instructeur_id,
                state: next.state.as_str().to_owned(),
                version,
                change: write.kind.clone(),
            });
            let snapshot = decide::snapshot(&next);
            let result = match then_invalid {
                Some(errors) => Err(ActError::Invalid { errors, snapshot }),
                None => Ok(ActOutcome {
                    snapshot,
                    change: write.kind,
                    warnings,
                }),
            };
            Ok((next, result))
        }
    }
}
