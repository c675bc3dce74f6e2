//! Pièces justificatives: streamed upload of a file to a champ, deletion, and download.
//!
//! An upload never holds the file in memory: the multipart field is streamed to a temporary
//! file while its SHA-256 and size are computed, the first bytes decide its real type, and
//! the body stops being read as soon as the size limit is passed. The stored file is then
//! recorded, with the champ's new value and its `virus_scan` job, by the dossier's actor.
//!
//! A titre d'identité takes the same path with its own rules: one JPEG or PNG image of
//! 20 Mo at most, watermarked (`storage::watermark`, on the blocking pool) before it is
//! stored; once purged after the decision its URL answers 410.

use std::path::{Path, PathBuf};

use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{HttpRequest, HttpResponse, web};
use demarches_actors::domain::Etat;
use demarches_actors::dossier::decide::{file_ids, too_many_files};
use demarches_actors::dossier::{Act, ActError, Command};
use demarches_actors::store::attachment::NewAttachment;
use demarches_actors::store::dossier::{Author, AuthorKind};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::queries::attachments::{self as queries, AttachmentRow};
use crate::queries::usager::{self as usager_queries, OwnedDossier};
use crate::state::AppState;
use crate::storage::new_key;
use crate::storage::sniff::{SNIFF_LEN, clean_filename, sniff};
use crate::storage::watermark::{self, WatermarkError};
use crate::web::csrf::{CsrfForm, CsrfMultipart};
use crate::web::error::{AppError, AppResult};
use crate::web::page::{FlashKind, redirect_with};
use crate::web::session::{CurrentUser, SessionUser};

/// The form field of the file.
pub const FILE_FIELD: &str = "fichier";
pub const MSG_PENDING: &str = "Analyse antivirus en cours";
pub const MSG_INFECTED: &str = "Fichier infecté : il ne peut pas être téléchargé";
pub const MSG_CORRUPT: &str = "Fichier corrompu : il ne peut pas être téléchargé";
pub const MSG_NO_FILE: &str = "Choisissez un fichier à joindre.";
pub const MSG_EMPTY: &str = "Le fichier est vide.";
pub const MSG_DELETED: &str = "Le fichier a bien été supprimé.";
/// Shown instead of a titre d'identité whose file was deleted after the decision.
pub const MSG_TITRE_PURGED: &str = "Titre d'identité supprimé après la décision";
/// The largest titre d'identité (DS: 20 Mo).
pub const TITRE_MAX_BYTES: u64 = 20 * 1024 * 1024;
/// Room for the multipart envelope around the file (token, headers, boundaries).
const ENVELOPE: u64 = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/dossiers/{id}/champs/{stable_id}/pieces",
        web::post().to(upload),
    )
    .route(
        "/dossiers/{id}/champs/{stable_id}/pieces/{attachment_id}/delete",
        web::post().to(delete),
    )
    .route("/pieces/{attachment_id}", web::get().to(download));
}

/// "Le fichier dépasse la taille maximale autorisée (200 Mo)."
pub fn too_large(max_bytes: u64) -> String {
    format!(
        "Le fichier dépasse la taille maximale autorisée ({}).",
        human_size(max_bytes)
    )
}

/// French size: "512 octets", "1,5 Ko", "200 Mo".
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["Ko", "Mo", "Go"];
    if bytes < 1024 {
        return format!("{bytes} octets");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = if value.fract() < 0.05 || value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}").replace('.', ",")
    };
    format!("{text} {}", UNITS[unit])
}

/// A file as shown on the pages.
#[derive(Debug, Clone)]
pub struct FileView {
    pub id: Uuid,
    pub filename: String,
    pub size: String,
    /// "Analyse antivirus en cours", "Fichier infecté…", or empty once safe.
    pub scan_message: &'static str,
    pub infected: bool,
    pub downloadable: bool,
    /// A titre d'identité deleted after the decision: only [`MSG_TITRE_PURGED`] is shown.
    pub purged: bool,
    pub href: String,
    pub delete_action: String,
}

impl FileView {
    pub fn new(dossier_id: i64, stable_id: i64, row: &AttachmentRow) -> Self {
        let (scan_message, infected) = match row.virus_scan.as_str() {
            _ if row.purged => ("", false),
            "safe" => ("", false),
            "infected" => (MSG_INFECTED, true),
            "integrity_error" => (MSG_CORRUPT, true),
            _ => (MSG_PENDING, false),
        };
        FileView {
            id: row.id,
            filename: row.filename.clone(),
            size: human_size(u64::try_from(row.byte_size).unwrap_or(0)),
            scan_message,
            infected,
            downloadable: !infected && !row.purged,
            purged: row.purged,
            href: format!("/pieces/{}", row.id),
            delete_action: format!(
                "/dossiers/{dossier_id}/champs/{stable_id}/pieces/{}/delete",
                row.id
            ),
        }
    }

    /// Every file of a dossier, by stable id.
    pub async fn of_dossier(
        state: &AppState,
        dossier_id: i64,
    ) -> AppResult<std::collections::HashMap<i64, Vec<FileView>>> {
        Ok(queries::by_champ(&state.db, dossier_id)
            .await?
            .into_iter()
            .map(|(stable_id, rows)| {
                let files = rows
                    .iter()
                    .map(|row| FileView::new(dossier_id, stable_id, row))
                    .collect();
                (stable_id, files)
            })
            .collect())
    }
}

pub(crate) fn author(user: &SessionUser) -> Author {
    Author {
        kind: AuthorKind::Usager,
        user_id: Some(user.id),
        email: user.email.clone(),
    }
}

/// Where the usager edits the dossier.
pub(crate) fn form_url(dossier: &OwnedDossier, stable_id: i64) -> String {
    let page = if dossier.state == Etat::Brouillon {
        "brouillon"
    } else {
        "modifier"
    };
    format!("/dossiers/{}/{page}#champ_{stable_id}", dossier.id)
}

/// A refusal sent before the body was read to its end: the connection is closed after it.
pub(crate) fn refuse_early(location: &str, message: &str) -> HttpResponse {
    let mut response = redirect_with(location, FlashKind::Error, message);
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    response
}

/// Removes the temporary file unless the upload was kept.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

struct Received {
    tmp: TempFile,
    size: u64,
    checksum: String,
    content_type: &'static str,
}

enum Refusal {
    TooLarge,
    Type(&'static str),
    Empty,
    Failed(anyhow::Error),
}

/// What the first bytes must be: any allowed type (pièce justificative) or a JPEG or PNG
/// image (titre d'identité).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accept {
    Allowed,
    Image,
}

impl Accept {
    fn sniff(self, filename: &str, head: &[u8]) -> Result<&'static str, &'static str> {
        match self {
            Accept::Allowed => sniff(filename, head),
            Accept::Image => watermark::format_of(head)
                .map(watermark::Format::content_type)
                .ok_or(watermark::MSG_NOT_AN_IMAGE),
        }
    }
}

/// Streams `field` to a temporary file in `tmp_dir`.
async fn receive(
    field: &mut actix_multipart::Field,
    filename: &str,
    tmp_dir: &Path,
    max_bytes: u64,
    accept: Accept,
) -> Result<Received, Refusal> {
    let failed = |e: std::io::Error| Refusal::Failed(e.into());
    tokio::fs::create_dir_all(tmp_dir).await.map_err(failed)?;
    let tmp = TempFile {
        path: tmp_dir.join(format!("upload-{}", Uuid::new_v4().simple())),
        keep: false,
    };
    let mut file = tokio::fs::File::create(&tmp.path).await.map_err(failed)?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_LEN);
    let mut content_type = None;
    while let Some(chunk) = field
        .try_next()
        .await
        .map_err(|e| Refusal::Failed(anyhow::anyhow!("upload interrupted: {e}")))?
    {
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(Refusal::TooLarge);
        }
        if content_type.is_none() {
            let take = (SNIFF_LEN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() >= SNIFF_LEN {
                content_type = Some(accept.sniff(filename, &head).map_err(Refusal::Type)?);
            }
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(failed)?;
    }
    if size == 0 {
        return Err(Refusal::Empty);
    }
    let content_type = match content_type {
        Some(t) => t,
        None => accept.sniff(filename, &head).map_err(Refusal::Type)?,
    };
    file.flush().await.map_err(failed)?;
    file.sync_all().await.map_err(failed)?;
    Ok(Received {
        tmp,
        size,
        checksum: hex::encode(hasher.finalize()),
        content_type,
    })
}

async fn upload(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, i64)>,
    req: HttpRequest,
    CsrfMultipart(mut multipart): CsrfMultipart,
) -> AppResult<HttpResponse> {
    let (id, stable_id) = path.into_inner();
    let dossier = usager_queries::owned_dossier(&state.db, id, user.0.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let back = form_url(&dossier, stable_id);
    if !matches!(dossier.state, Etat::Brouillon | Etat::EnConstruction) {
        return Ok(refuse_early(
            &format!("/dossiers/{}", dossier.id),
            &ActError::ReadOnly(dossier.state).to_string(),
        ));
    }
    let defs = state
        .registry
        .env()
        .revisions
        .get(&state.db, dossier.revision_id)
        .await?;
    let def = defs
        .public()
        .find(|d| d.stable_id == stable_id && d.type_champ.is_file())
        .ok_or(AppError::NotFound)?;
    let storage_config = &state.config.storage;
    let titre = def.type_champ.is_titre_identite();
    let max_files = def.type_champ.max_files(storage_config.max_files_per_champ);
    let values = usager_queries::champ_values(&state.db, dossier.id).await?;
    if file_ids(values.get(&stable_id)).len() >= max_files {
        return Ok(refuse_early(
            &back,
            &too_many_files(&def.libelle, max_files),
        ));
    }
    let (max_bytes, accept) = if titre {
        (
            storage_config.max_file_bytes.min(TITRE_MAX_BYTES),
            Accept::Image,
        )
    } else {
        (storage_config.max_file_bytes, Accept::Allowed)
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes.saturating_add(ENVELOPE)) {
        return Ok(refuse_early(&back, &too_large(max_bytes)));
    }

    // The file field (other fields are skipped).
    let mut field = loop {
        match multipart.try_next().await {
            Ok(Some(field)) if field.name() == Some(FILE_FIELD) => break field,
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(redirect_with(&back, FlashKind::Error, MSG_NO_FILE)),
            Err(e) => return Err(AppError::BadRequest(e.to_string())),
        }
    };
    // A browser sends an empty name when no file was chosen.
    let filename = field
        .content_disposition()
        .and_then(|cd| cd.get_filename())
        .filter(|name| !name.trim().is_empty())
        .map(clean_filename);
    let Some(filename) = filename else {
        return Ok(refuse_early(&back, MSG_NO_FILE));
    };
    let tmp_dir = storage_config.dir.join("tmp");
    let received = match receive(&mut field, &filename, &tmp_dir, max_bytes, accept).await {
        Ok(received) => received,
        Err(Refusal::TooLarge) => return Ok(refuse_early(&back, &too_large(max_bytes))),
        Err(Refusal::Type(message)) => return Ok(refuse_early(&back, message)),
        Err(Refusal::Empty) => return Ok(refuse_early(&back, MSG_EMPTY)),
        Err(Refusal::Failed(err)) => return Err(AppError::Internal(err)),
    };
    drop(field);
    // A titre d'identité is stored watermarked, never as sent.
    let received = if titre {
        let text = watermark_text(&dossier.procedure_libelle, dossier.id);
        match watermarked(received, &tmp_dir, text).await {
            Ok(marked) => marked,
            Err(Refusal::Type(message)) => {
                return Ok(redirect_with(&back, FlashKind::Error, message));
            }
            Err(Refusal::Failed(err)) => return Err(AppError::Internal(err)),
            Err(Refusal::TooLarge | Refusal::Empty) => {
                return Ok(redirect_with(
                    &back,
                    FlashKind::Error,
                    &too_large(max_bytes),
                ));
            }
        }
    } else {
        received
    };

    let attachment_id = Uuid::new_v4();
    let key = new_key(attachment_id);
    let mut tmp = received.tmp;
    state
        .storage
        .put_file(&key, &tmp.path)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tmp.keep = true;
    let act = Act {
        author: author(&user.0),
        expected_version: None,
        command: Command::AttachPiece {
            stable_id,
            attachment: NewAttachment {
                id: attachment_id,
                filename: filename.clone(),
                content_type: received.content_type.to_owned(),
                byte_size: i64::try_from(received.size).unwrap_or(i64::MAX),
                checksum: received.checksum,
                storage_key: key.clone(),
            },
            max_files,
        },
    };
    match state.registry.send(dossier.id, act).await {
        Ok(_) => {
            tracing::info!(dossier_id = dossier.id, stable_id, attachment = %attachment_id, size = received.size, "piece attached");
            Ok(redirect_with(
                &back,
                FlashKind::Success,
                &format!("Le fichier « {filename} » a bien été joint. {MSG_PENDING}."),
            ))
        }
        Err(err) => {
            if let Err(e) = state.storage.delete(&key).await {
                tracing::warn!(error = %e, key, "cannot delete a refused upload");
            }
            act_refusal(&dossier, &back, err)
        }
    }
}

/// The text drawn over a titre d'identité: what it is for, the démarche and the dossier.
fn watermark_text(procedure_libelle: &str, dossier_id: i64) -> String {
    const MAX_LIBELLE: usize = 60;
    let mut libelle: String = procedure_libelle.chars().take(MAX_LIBELLE).collect();
    if procedure_libelle.chars().count() > MAX_LIBELLE {
        libelle.push('…');
    }
    format!("Document transmis à l’administration – {libelle} – dossier n° {dossier_id}")
}

/// The received image watermarked, in a new temporary file (the original one is removed).
/// Decoding and drawing are CPU work: they run on the blocking pool, never on the executor.
async fn watermarked(
    received: Received,
    tmp_dir: &Path,
    text: String,
) -> Result<Received, Refusal> {
    let source = received.tmp.path.clone();
    let target = TempFile {
        path: tmp_dir.join(format!("titre-{}", Uuid::new_v4().simple())),
        keep: false,
    };
    let out = target.path.clone();
    let marked = web::block(move || -> Result<(u64, String, &'static str), Refusal> {
        let bytes = std::fs::read(&source).map_err(|e| Refusal::Failed(e.into()))?;
        let (marked, format) = watermark::watermark(&bytes, &text).map_err(|e| match e {
            WatermarkError::Internal(msg) => Refusal::Failed(anyhow::anyhow!(msg)),
            WatermarkError::NotAnImage => Refusal::Type(watermark::MSG_NOT_AN_IMAGE),
            WatermarkError::TooManyPixels => Refusal::Type(watermark::MSG_TOO_MANY_PIXELS),
        })?;
        let mut file = std::fs::File::create(&out).map_err(|e| Refusal::Failed(e.into()))?;
        std::io::Write::write_all(&mut file, &marked).map_err(|e| Refusal::Failed(e.into()))?;
        file.sync_all().map_err(|e| Refusal::Failed(e.into()))?;
        Ok((
            marked.len() as u64,
            hex::encode(Sha256::digest(&marked)),
            format.content_type(),
        ))
    })
    .await
    .map_err(|e| Refusal::Failed(anyhow::anyhow!("watermark task: {e}")))??;
    drop(received);
    let (size, checksum, content_type) = marked;
    Ok(Received {
        tmp: target,
        size,
        checksum,
        content_type,
    })
}

pub(crate) fn act_refusal(
    dossier: &OwnedDossier,
    back: &str,
    err: ActError,
) -> AppResult<HttpResponse> {
    match err {
        ActError::NotFound | ActError::Forbidden => Err(AppError::NotFound),
        ActError::Invalid { errors, .. } => {
            let message = errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| err_text(&errors));
            Ok(redirect_with(back, FlashKind::Error, &message))
        }
        err @ ActError::ReadOnly(_) => Ok(redirect_with(
            &format!("/dossiers/{}", dossier.id),
            FlashKind::Error,
            &err.to_string(),
        )),
        err => Ok(redirect_with(back, FlashKind::Error, &err.to_string())),
    }
}

fn err_text(errors: &[demarches_actors::dossier::FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn delete(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, i64, Uuid)>,
    _form: CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (id, stable_id, attachment_id) = path.into_inner();
    let dossier = usager_queries::owned_dossier(&state.db, id, user.0.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let back = form_url(&dossier, stable_id);
    let (key, record_key) = queries::of_dossier(&state.db, dossier.id, attachment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if record_key != stable_id.to_string() {
        return Err(AppError::NotFound);
    }
    let act = Act {
        author: author(&user.0),
        expected_version: None,
        command: Command::DetachPiece {
            stable_id,
            attachment_id,
        },
    };
    match state.registry.send(dossier.id, act).await {
        Ok(_) => {
            if let Err(e) = state.storage.delete(&key).await {
                tracing::warn!(error = %e, key, "cannot delete a removed file");
            }
            Ok(redirect_with(&back, FlashKind::Success, MSG_DELETED))
        }
        Err(err) => act_refusal(&dossier, &back, err),
    }
}

async fn download(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let file = queries::download(&state.db, id, user.0.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let owner = file.owner_id == user.0.id;
    let instructeur = file.instructeur && file.state != Etat::Brouillon.as_str();
    if !(owner || instructeur)
        || file.virus_scan == "infected"
        || file.virus_scan == "integrity_error"
    {
        return Err(AppError::NotFound);
    }
    if file.purged {
        return Err(AppError::Gone(MSG_TITRE_PURGED));
    }
    let reader = state
        .storage
        .open(&file.storage_key)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            // ASCII for old clients; the exact name in `filename*`.
            DispositionParam::Filename(
                file.filename
                    .chars()
                    .map(|c| if c.is_ascii() { c } else { '_' })
                    .collect(),
            ),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: file.filename.into_bytes(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(tokio_util::io::ReaderStream::new(reader)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_french() {
        assert_eq!(human_size(12), "12 octets");
        assert_eq!(human_size(1536), "1,5 Ko");
        assert_eq!(human_size(200 * 1024 * 1024), "200 Mo");
        assert_eq!(human_size(1024 * 1024), "1 Mo");
        assert_eq!(
            too_large(200 * 1024 * 1024),
            "Le fichier dépasse la taille maximale autorisée (200 Mo)."
        );
    }
}
