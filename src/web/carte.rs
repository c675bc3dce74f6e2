//! The champ « carte »: GPX/KML import and GeoJSON download.
//!
//! `POST /dossiers/{id}/champs/{stable_id}/carte/import` (multipart, like the pièces
//! justificatives: a form of its own after the dossier form) reads a GPX or KML file,
//! converts it with the pure `domain::carte::import`, then:
//! - without JavaScript, adds its geometries to the stored ones and saves the champ through
//!   the dossier actor (the same validation as the form), then goes back to the form;
//! - with JavaScript (`Accept: application/json`), only answers the converted GeoJSON: the
//!   map adds it to what is drawn, and the form's save keeps it.
//!
//! On any error nothing is saved: what was drawn before stays.
//!
//! `GET /dossiers/{id}/champs/{stable_id}/geojson` serves the stored geometries to the
//! usager who owns the dossier and to the instructeurs of its groupe once deposited.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use demarches_actors::domain::{Etat, TypeChamp, carte};
use demarches_actors::dossier::{Act, ActError, Command, SaveForm};
use futures_util::TryStreamExt;
use serde_json::json;

use crate::queries::carte as queries;
use crate::queries::usager as usager_queries;
use crate::state::AppState;
use crate::storage::sniff::clean_filename;
use crate::web::csrf::CsrfMultipart;
use crate::web::error::{AppError, AppResult};
use crate::web::page::{FlashKind, redirect_with};
use crate::web::pieces::{FILE_FIELD, MSG_NO_FILE, act_refusal, author, form_url, refuse_early};
use crate::web::session::CurrentUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/dossiers/{id}/champs/{stable_id}/carte/import",
        web::post().to(import),
    )
    .route(
        "/dossiers/{id}/champs/{stable_id}/geojson",
        web::get().to(download),
    );
}

/// The import form's URL.
pub fn import_url(dossier_id: i64, stable_id: i64) -> String {
    format!("/dossiers/{dossier_id}/champs/{stable_id}/carte/import")
}

/// The GeoJSON download's URL.
pub fn geojson_url(dossier_id: i64, stable_id: i64) -> String {
    format!("/dossiers/{dossier_id}/champs/{stable_id}/geojson")
}

/// "1 géométrie importée", "3 géométries importées".
pub fn imported_message(count: usize, filename: &str) -> String {
    match count {
        1 => format!("1 géométrie a été importée depuis « {filename} »."),
        n => format!("{n} géométries ont été importées depuis « {filename} »."),
    }
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The refusal: a JSON error for the map, else a message on the form.
fn refuse(json: bool, back: &str, message: &str) -> HttpResponse {
    if json {
        HttpResponse::UnprocessableEntity().json(json!({ "error": message }))
    } else {
        refuse_early(back, message)
    }
}

async fn import(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, i64)>,
    req: HttpRequest,
    CsrfMultipart(mut multipart): CsrfMultipart,
) -> AppResult<HttpResponse> {
    let (id, stable_id) = path.into_inner();
    let json = wants_json(&req);
    let dossier = usager_queries::owned_dossier(&state.db, id, user.0.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let back = form_url(&dossier, stable_id);
    if !matches!(dossier.state, Etat::Brouillon | Etat::EnConstruction) {
        let message = ActError::ReadOnly(dossier.state).to_string();
        return Ok(refuse(json, &format!("/dossiers/{}", dossier.id), &message));
    }
    let defs = state
        .registry
        .env()
        .revisions
        .get(&state.db, dossier.revision_id)
        .await?;
    defs.public()
        .find(|d| d.stable_id == stable_id && d.type_champ == TypeChamp::Carte)
        .ok_or(AppError::NotFound)?;

    let mut field = loop {
        match multipart.try_next().await {
            Ok(Some(field)) if field.name() == Some(FILE_FIELD) => break field,
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(refuse(json, &back, MSG_NO_FILE)),
            Err(e) => return Err(AppError::BadRequest(e.to_string())),
        }
    };
    let filename = field
        .content_disposition()
        .and_then(|cd| cd.get_filename())
        .filter(|name| !name.trim().is_empty())
        .map(clean_filename);
    let Some(filename) = filename else {
        return Ok(refuse(json, &back, MSG_NO_FILE));
    };
    // GPX and KML files are small: read into memory, at most the limit (plus one byte to
    // know it was passed, which `carte::import` then refuses).
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(chunk) = field
        .try_next()
        .await
        .map_err(|e| AppError::BadRequest(format!("upload interrupted: {e}")))?
    {
        let room = (carte::MAX_IMPORT_BYTES + 1).saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() > carte::MAX_IMPORT_BYTES {
            break;
        }
    }
    drop(field);
    let features = match carte::import(&filename, &bytes) {
        Ok(features) => features,
        Err(message) => return Ok(refuse(json, &back, &message)),
    };
    let count = features.len();
    if json {
        return Ok(HttpResponse::Ok().json(json!({
            "geojson": carte::to_value(&features),
            "message": imported_message(count, &filename),
        })));
    }

    let values = usager_queries::champ_values(&state.db, dossier.id).await?;
    let merged = match carte::merge(values.get(&stable_id), features) {
        Ok(merged) => merged,
        Err(message) => {
            let message = format!("Import impossible : {message}");
            return Ok(redirect_with(&back, FlashKind::Error, &message));
        }
    };
    let act = Act {
        author: author(&user.0),
        expected_version: None,
        command: Command::Save(SaveForm {
            champs: HashMap::from([(stable_id, merged.to_string())]),
            ..SaveForm::default()
        }),
    };
    match state.registry.send(dossier.id, act).await {
        Ok(_) => {
            tracing::info!(dossier_id = dossier.id, stable_id, count, "carte imported");
            Ok(redirect_with(
                &back,
                FlashKind::Success,
                &imported_message(count, &filename),
            ))
        }
        Err(err) => act_refusal(&dossier, &back, err),
    }
}

async fn download(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (id, stable_id) = path.into_inner();
    let row = queries::value(&state.db, id, stable_id, user.0.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let owner = row.owner_id == user.0.id;
    let instructeur = row.instructeur && row.state != Etat::Brouillon.as_str();
    if !(owner || instructeur) {
        return Err(AppError::NotFound);
    }
    let defs = state
        .registry
        .env()
        .revisions
        .get(&state.db, row.revision_id)
        .await?;
    defs.public()
        .find(|d| d.stable_id == stable_id && d.type_champ == TypeChamp::Carte)
        .ok_or(AppError::NotFound)?;
    let value = row.value.ok_or(AppError::NotFound)?;
    let body = serde_json::to_string_pretty(&carte::to_value(&carte::features_of(&value)))
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"dossier-{id}-champ-{stable_id}.geojson\""),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_urls() {
        assert_eq!(
            imported_message(1, "a.gpx"),
            "1 géométrie a été importée depuis « a.gpx »."
        );
        assert_eq!(
            imported_message(3, "a.kml"),
            "3 géométries ont été importées depuis « a.kml »."
        );
        assert_eq!(import_url(4, 7), "/dossiers/4/champs/7/carte/import");
        assert_eq!(geojson_url(4, 7), "/dossiers/4/champs/7/geojson");
    }
}
