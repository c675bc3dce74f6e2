//! Pages of the instructeur area: the démarches, the dossiers table by tab (with live
//! updates), the dossier page and its instruction actions.
//!
//! Reads go to PostgreSQL through [`crate::queries::instructeur`], whose queries only
//! reach dossiers of the instructeur's groupes; every change of a dossier is a command to
//! its actor, conditional on the `lock_version` the instructeur saw.

use std::convert::Infallible;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, http::header};
use askama::Template;
use demarches_actors::domain::{self, Etat, Transition, TransitionError, TypeChamp};
use demarches_actors::dossier::{Act, ActError, CONFLICT_MESSAGE, Command};
use demarches_actors::groupe::LiveEvent;
use demarches_actors::store::dossier::{Author, AuthorKind};
use futures_util::StreamExt;
use futures_util::stream::{self, SelectAll};
use serde::Deserialize;
use tokio_stream::wrappers::ReceiverStream;

use crate::queries::instructeur::{
    self as queries, DossierHead, DossierRow, PER_PAGE, ProcedureCounts, Statut, Traitement,
};
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::page::{FlashKind, Page, redirect_with, render, render_status};
use crate::web::session::{InstructeurUser, SessionUser};

/// Interval of the comment lines that keep a live stream open through proxies.
const KEEPALIVE: Duration = Duration::from_secs(15);

mod annotations;

use annotations::AnnotationView;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/procedures", web::get().to(procedures))
        .route("/procedures/{id}", web::get().to(procedure))
        .route("/procedures/{id}/live", web::get().to(live))
        .route(
            "/procedures/{id}/dossiers/{dossier_id}",
            web::get().to(show),
        )
        .route(
            "/procedures/{id}/dossiers/{dossier_id}/row",
            web::get().to(row),
        )
        .route(
            "/procedures/{id}/dossiers/{dossier_id}/follow",
            web::post().to(follow),
        )
        .route(
            "/procedures/{id}/dossiers/{dossier_id}/unfollow",
            web::post().to(unfollow),
        )
        .route(
            "/procedures/{id}/dossiers/{dossier_id}/annotations",
            web::post().to(annotations::annotate),
        )
        .route(
            "/procedures/{id}/dossiers/{dossier_id}/{transition}",
            web::post().to(instruct),
        );
}

/// The DSFR badge modifier of a state.
pub fn badge(etat: &Etat) -> &'static str {
    match etat {
        Etat::Brouillon => "",
        Etat::EnConstruction => "fr-badge--new",
        Etat::EnInstruction => "fr-badge--info",
        Etat::Accepte => "fr-badge--success",
        Etat::Refuse => "fr-badge--error",
        Etat::SansSuite => "fr-badge--warning",
    }
}

fn dossier_path(procedure_id: i64, dossier_id: i64) -> String {
    format!("/procedures/{procedure_id}/dossiers/{dossier_id}")
}

// ------------------------------------------------------------------ démarches

#[derive(Template)]
#[template(path = "instructeur/procedures.html")]
struct ProceduresPage {
    page: Page,
    procedures: Vec<ProcedureCounts>,
}

async fn procedures(
    InstructeurUser(user): InstructeurUser,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let procedures = queries::procedures(&state.db, user.id).await?;
    render(&ProceduresPage { page, procedures })
}

// ------------------------------------------------------------------ dossiers table

#[derive(Deserialize)]
struct TableQuery {
    statut: Option<String>,
    page: Option<i64>,
}

struct TabLink {
    libelle: &'static str,
    count: i64,
    href: String,
    current: bool,
}

struct PageLink {
    number: i64,
    href: String,
    current: bool,
    /// An ellipsis stands before this page.
    gap_before: bool,
}

struct Pagination {
    current: i64,
    last: i64,
    first_href: String,
    last_href: String,
    prev_href: Option<String>,
    next_href: Option<String>,
    pages: Vec<PageLink>,
}

impl Pagination {
    fn new(base: &str, current: i64, total: i64) -> Pagination {
        let last = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
        let href = |n: i64| format!("{base}&page={n}");
        let mut numbers: Vec<i64> = vec![1, last];
        numbers.extend((current - 2..=current + 2).filter(|n| (1..=last).contains(n)));
        numbers.sort_unstable();
        numbers.dedup();
        let mut pages = Vec::with_capacity(numbers.len());
        let mut previous = 0;
        for n in numbers {
            pages.push(PageLink {
                number: n,
                href: href(n),
                current: n == current,
                gap_before: n > previous + 1,
            });
            previous = n;
        }
        Pagination {
            current,
            last,
            first_href: href(1),
            last_href: href(last),
            prev_href: (current > 1).then(|| href(current - 1)),
            next_href: (current < last).then(|| href(current + 1)),
            pages,
        }
    }
}

#[derive(Template)]
#[template(path = "instructeur/procedure.html")]
struct ProcedurePage {
    page: Page,
    procedure: ProcedureCounts,
    procedure_id: i64,
    statut: Statut,
    tabs: Vec<TabLink>,
    rows: Vec<DossierRow>,
    pagination: Pagination,
    live_url: String,
    row_url: String,
}

async fn procedure(
    InstructeurUser(user): InstructeurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<TableQuery>,
) -> AppResult<HttpResponse> {
    let procedure_id = path.into_inner();
    let procedure = queries::procedure(&state.db, user.id, procedure_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let statut = match query.statut.as_deref() {
        None | Some("") => Statut::ASuivre,
        Some(value) => Statut::parse(value).ok_or(AppError::NotFound)?,
    };
    let total = procedure.count(statut);
    let last = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let current = query.page.unwrap_or(1).clamp(1, last);
    let rows = queries::dossiers(&state.db, user.id, procedure_id, statut, current).await?;
    let base = format!("/procedures/{procedure_id}");
    let tabs = Statut::ALL
        .into_iter()
        .map(|s| TabLink {
            libelle: s.libelle(),
            count: procedure.count(s),
            href: format!("{base}?statut={}", s.as_str()),
            current: s == statut,
        })
        .collect();
    let pagination = Pagination::new(
        &format!("{base}?statut={}", statut.as_str()),
        current,
        total,
    );
    render(&ProcedurePage {
        page,
        procedure,
        procedure_id,
        statut,
        tabs,
        rows,
        pagination,
        live_url: format!("{base}/live"),
        row_url: format!("{base}/dossiers/{{id}}/row?statut={}", statut.as_str()),
    })
}

#[derive(Template)]
#[template(path = "instructeur/row.html")]
struct RowPartial {
    procedure_id: i64,
    row: DossierRow,
}

#[derive(Deserialize)]
struct RowQuery {
    statut: Option<String>,
}

/// The `<tr>` of one dossier, for live updates. With `statut`, answers 204 when the
/// dossier does not belong in that tab (any more): the page then drops the line.
async fn row(
    InstructeurUser(user): InstructeurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    query: web::Query<RowQuery>,
) -> AppResult<HttpResponse> {
    let (procedure_id, dossier_id) = path.into_inner();
    let found = queries::row(&state.db, user.id, procedure_id, dossier_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(statut) = query.statut.as_deref().and_then(Statut::parse)
        && !found.tabs.contains(&statut)
    {
        return Ok(HttpResponse::NoContent().finish());
    }
    let html = RowPartial {
        procedure_id,
        row: found.row,
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

// ------------------------------------------------------------------ live updates

/// What the live stream holds: the events of the instructeur's groupes and a keepalive.
struct LiveStream {
    events: SelectAll<ReceiverStream<LiveEvent>>,
    keepalive: tokio::time::Interval,
}

fn sse_event(event: &LiveEvent) -> Option<Bytes> {
    let json = serde_json::to_string(event).ok()?;
    Some(Bytes::from(format!("event: dossier\ndata: {json}\n\n")))
}

/// `text/event-stream` of the changes of the démarche's dossiers in the instructeur's
/// groupes. It ends when the client goes away (the next write fails and the stream is
/// dropped, which unsubscribes it).
async fn live(
    InstructeurUser(user): InstructeurUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let procedure_id = path.into_inner();
    let groupes = queries::groupes(&state.db, user.id, procedure_id).await?;
    if groupes.is_empty() {
        return Err(AppError::NotFound);
    }
    let events = stream::select_all(
        groupes
            .into_iter()
            .map(|groupe_id| ReceiverStream::new(state.groupes.subscribe(groupe_id))),
    );
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let body = stream::unfold(
        LiveStream { events, keepalive },
        move |mut live| async move {
            loop {
                tokio::select! {
                    event = live.events.next() => {
                        let event = event?;
                        if event.procedure_id != procedure_id {
                            continue;
                        }
                        if let Some(bytes) = sse_event(&event) {
                            return Some((Ok::<_, Infallible>(bytes), live));
                        }
                    }
                    _ = live.keepalive.tick() => {
                        return Some((Ok(Bytes::from_static(b": keepalive\n\n")), live));
                    }
                }
            }
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

// ------------------------------------------------------------------ dossier page

enum ChampView {
    Section(String),
    Explication(String),
    Value {
        libelle: String,
        value: Option<String>,
        /// A dossier link the instructeur may follow.
        link: Option<String>,
    },
    Files {
        libelle: String,
        files: Vec<crate::web::pieces::FileView>,
        /// A titre d'identité: its (watermarked) image is shown, not only linked.
        titre: bool,
    },
    /// A SIRET with the établissement looked up for it, if any.
    Siret {
        libelle: String,
        value: Option<String>,
        etablissement: Option<crate::external::EtablissementView>,
    },
    /// A bloc répétable: its rows.
    Rows {
        libelle: String,
        table: crate::web::usager::form::RowsTable,
    },
    /// A carte: one line per geometry (kind, measure) and the GeoJSON download.
    Carte {
        libelle: String,
        geometries: Vec<String>,
        geojson: String,
    },
}

struct ActionView {
    transition: Transition,
    /// The motivation typed (kept after an error).
    motivation: String,
    error: Option<String>,
}

impl ActionView {
    fn id(&self) -> String {
        format!("motivation-{}", self.transition.as_str())
    }
}

#[derive(Template)]
#[template(path = "instructeur/dossier.html")]
struct DossierPage {
    page: Page,
    dossier: DossierHead,
    champs: Vec<ChampView>,
    traitements: Vec<Traitement>,
    actions: Vec<ActionView>,
    /// The alert at the top (conflict, refused transition).
    error: Option<String>,
    /// A motivation typed for an action no longer offered, shown so it is not lost.
    lost_motivation: Option<String>,
    /// Annotations privées (instructeurs only) and the alert of a refused save.
    annotations: Vec<AnnotationView>,
    annotations_error: Option<String>,
    /// The établissement of a personne morale's dossier (its SIRET step).
    etablissement: Option<crate::external::DossierEtablissement>,
}

impl DossierPage {
    fn demandeur(&self) -> Option<String> {
        let d = &self.dossier;
        match (&d.civilite, &d.nom, &d.prenom) {
            (Some(civilite), Some(nom), Some(prenom)) => Some(format!("{civilite} {prenom} {nom}")),
            _ => None,
        }
    }
}

/// What the instructeur sent that the page shows again after an error.
struct Attempt {
    transition: Transition,
    motivation: String,
    message: String,
    field_error: Option<String>,
}

async fn dossier_page(
    state: &AppState,
    page: Page,
    user: &SessionUser,
    procedure_id: i64,
    dossier_id: i64,
    attempt: Option<Attempt>,
) -> AppResult<DossierPage> {
    let dossier = queries::dossier(&state.db, user.id, procedure_id, dossier_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let defs = state
        .registry
        .env()
        .revisions
        .get(&state.db, dossier.revision_id)
        .await?;
    let values: std::collections::HashMap<i64, serde_json::Value> =
        queries::champ_values(&state.db, dossier.id)
            .await?
            .into_iter()
            .collect();
    let hidden = defs.hidden_public(&values);
    let links = crate::queries::dossier_link_urls(
        &state.db,
        user.id,
        &crate::web::usager::form::linked_dossiers(&defs, &values),
    )
    .await?;
    let mut files = crate::web::pieces::FileView::of_dossier(state, dossier.id).await?;
    let rows = crate::queries::usager::row_values(&state.db, dossier.id).await?;
    let mut external = crate::external::of_dossier(&state.db, dossier.id).await?;
    let etablissement = crate::external::of_dossier_itself(&state.db, dossier.id).await?;
    let champs = defs
        .public()
        .filter(|def| !hidden.contains(&def.stable_id))
        .map(|def| match def.type_champ {
            TypeChamp::HeaderSection => ChampView::Section(def.libelle.clone()),
            TypeChamp::PieceJustificative | TypeChamp::TitreIdentite => ChampView::Files {
                libelle: def.libelle.clone(),
                files: files.remove(&def.stable_id).unwrap_or_default(),
                titre: def.type_champ.is_titre_identite(),
            },
            TypeChamp::Explication => ChampView::Explication(def.libelle.clone()),
            TypeChamp::Siret => ChampView::Siret {
                libelle: def.libelle.clone(),
                value: values
                    .get(&def.stable_id)
                    .map(|v| domain::display(TypeChamp::Siret, v))
                    .filter(|v| !v.is_empty()),
                etablissement: external.remove(&def.stable_id),
            },
            TypeChamp::Repetition => ChampView::Rows {
                libelle: def.libelle.clone(),
                table: crate::web::usager::form::rows_table(
                    &defs,
                    def.stable_id,
                    values.get(&def.stable_id),
                    &rows,
                ),
            },
            TypeChamp::Carte => ChampView::Carte {
                libelle: def.libelle.clone(),
                geometries: values
                    .get(&def.stable_id)
                    .map(domain::carte::describe)
                    .unwrap_or_default(),
                geojson: crate::web::carte::geojson_url(dossier.id, def.stable_id),
            },
            type_champ => ChampView::Value {
                libelle: def.libelle.clone(),
                value: values
                    .get(&def.stable_id)
                    .map(|v| domain::display(type_champ, v))
                    .filter(|v| !v.is_empty()),
                link: values
                    .get(&def.stable_id)
                    .filter(|_| type_champ == TypeChamp::DossierLink)
                    .and_then(serde_json::Value::as_i64)
                    .and_then(|id| links.get(&id).cloned()),
            },
        })
        .collect();
    let annotation_values: std::collections::HashMap<i64, serde_json::Value> =
        queries::annotation_values(&state.db, dossier.id)
            .await?
            .into_iter()
            .collect();
    let annotations = annotations::views(&defs, &annotation_values, None, &[]);
    let traitements = queries::traitements(&state.db, dossier.id).await?;
    let mut actions: Vec<ActionView> = domain::available(dossier.state)
        .into_iter()
        .map(|transition| ActionView {
            transition,
            motivation: String::new(),
            error: None,
        })
        .collect();
    let (error, lost_motivation) = match attempt {
        None => (None, None),
        Some(attempt) => {
            let typed = attempt.motivation.trim().to_owned();
            match actions
                .iter_mut()
                .find(|a| a.transition == attempt.transition)
            {
                Some(action) if attempt.transition.is_decision() => {
                    action.motivation = attempt.motivation;
                    action.error = attempt.field_error;
                    (Some(attempt.message), None)
                }
                _ => (
                    Some(attempt.message),
                    (attempt.transition.is_decision() && !typed.is_empty()).then_some(typed),
                ),
            }
        }
    };
    Ok(DossierPage {
        page,
        dossier,
        champs,
        traitements,
        actions,
        error,
        lost_motivation,
        annotations,
        annotations_error: None,
        etablissement,
    })
}

async fn show(
    InstructeurUser(user): InstructeurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (procedure_id, dossier_id) = path.into_inner();
    render(&dossier_page(&state, page, &user, procedure_id, dossier_id, None).await?)
}

// ------------------------------------------------------------------ follow

async fn follow(
    InstructeurUser(user): InstructeurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    _form: CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (procedure_id, dossier_id) = path.into_inner();
    queries::dossier(&state.db, user.id, procedure_id, dossier_id)
        .await?
        .ok_or(AppError::NotFound)?;
    queries::follow(&state.db, user.id, dossier_id).await?;
    Ok(redirect_with(
        &dossier_path(procedure_id, dossier_id),
        FlashKind::Success,
        "Vous suivez maintenant ce dossier.",
    ))
}

async fn unfollow(
    InstructeurUser(user): InstructeurUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    _form: CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (procedure_id, dossier_id) = path.into_inner();
    queries::dossier(&state.db, user.id, procedure_id, dossier_id)
        .await?
        .ok_or(AppError::NotFound)?;
    queries::unfollow(&state.db, user.id, dossier_id).await?;
    Ok(redirect_with(
        &dossier_path(procedure_id, dossier_id),
        FlashKind::Info,
        "Vous ne suivez plus ce dossier.",
    ))
}

// ------------------------------------------------------------------ instruction

#[derive(Deserialize)]
struct InstructForm {
    lock_version: i32,
    #[serde(default)]
    motivation: Option<String>,
}

/// The message shown once the transition is done.
fn done_message(transition: Transition) -> &'static str {
    match transition {
        Transition::Deposer => "Le dossier a été déposé.",
        Transition::PasserEnInstruction => "Le dossier a été passé en instruction.",
        Transition::RepasserEnConstruction => {
            "Le dossier a été repassé en construction. Informez l’usager si nécessaire."
        }
        Transition::Accepter => "Décision notifiée : dossier accepté.",
        Transition::Refuser => "Décision notifiée : dossier refusé.",
        Transition::ClasserSansSuite => "Décision notifiée : dossier classé sans suite.",
        Transition::RepasserEnInstruction => "Le dossier a été repassé en instruction.",
    }
}

async fn instruct(
    InstructeurUser(user): InstructeurUser,
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64, String)>,
    CsrfForm(form): CsrfForm<InstructForm>,
) -> AppResult<HttpResponse> {
    let (procedure_id, dossier_id, name) = path.into_inner();
    let transition = name
        .parse::<Transition>()
        .ok()
        .filter(|t| *t != Transition::Deposer)
        .ok_or(AppError::NotFound)?;
    queries::dossier(&state.db, user.id, procedure_id, dossier_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let motivation = form.motivation.unwrap_or_default();
    let act = Act {
        author: Author {
            kind: AuthorKind::Instructeur,
            user_id: Some(user.id),
            email: user.email.clone(),
        },
        expected_version: Some(form.lock_version),
        command: Command::Instruct {
            transition,
            motivation: Some(motivation.clone()).filter(|m| !m.trim().is_empty()),
        },
    };
    let (status, message, field_error) = match state.registry.send(dossier_id, act).await {
        Ok(_) => {
            return Ok(redirect_with(
                &dossier_path(procedure_id, dossier_id),
                FlashKind::Success,
                done_message(transition),
            ));
        }
        Err(ActError::Conflict(_)) => (StatusCode::CONFLICT, CONFLICT_MESSAGE.to_owned(), None),
        Err(ActError::Transition(err)) => {
            let on_field = matches!(
                err,
                TransitionError::MotivationRequired | TransitionError::MotivationTooLong
            );
            let message = err.to_string();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                message.clone(),
                on_field.then_some(message),
            )
        }
        // Mandatory annotations privées missing before a decision.
        Err(ActError::Invalid { errors, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            None,
        ),
        Err(ActError::NotFound) => return Err(AppError::NotFound),
        Err(ActError::Forbidden) => return Err(AppError::Forbidden),
        Err(ActError::Internal(err)) => return Err(AppError::Internal(anyhow::anyhow!(err))),
        Err(other) => (StatusCode::UNPROCESSABLE_ENTITY, other.to_string(), None),
    };
    let attempt = Attempt {
        transition,
        motivation,
        message,
        field_error,
    };
    let page = dossier_page(&state, page, &user, procedure_id, dossier_id, Some(attempt)).await?;
    render_status(&page, status)
}
