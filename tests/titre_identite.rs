//! The « titre d'identité » champ, end to end: offered by the builder (not in a bloc
//! répétable), one JPEG or PNG image stored watermarked, refusals with their French
//! messages (other types, renamed executables, oversize before the body is read,
//! decompression bombs), download rights, the mandatory check on deposit, and the deletion
//! of the file once the dossier is decided.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Cursor;
use std::time::{Duration, Instant};

use common::seed::{self, SeededProcedure};
use common::{Browser, Page, TestApp};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use reqwest::cookie::CookieStore;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const USAGER: &str = "camille.durand@example.fr";
const AUTRE: &str = "dominique.martin@example.fr";
const INSTRUCTEUR: &str = "admin@example.gouv.fr";
const TITRE: &str = "Pièce d'identité";
const NOT_AN_IMAGE: &str = "Le titre d'identité doit être une image au format JPEG ou PNG.";
const PURGED: &str = "Titre d'identité supprimé après la décision";
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

async fn procedure(app: &TestApp) -> SeededProcedure {
    seed::published_procedure(
        &app.db,
        "Demande de carte de stationnement",
        "stationnement",
        INSTRUCTEUR,
        &[
            ("text", "Nom du projet", false, json!({})),
            ("titre_identite", TITRE, true, json!({})),
        ],
    )
    .await
}

async fn brouillon(usager: &Browser) -> (i64, Page) {
    common::start_brouillon(usager, "/commencer/stationnement").await
}

fn photo(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            (((x / 8) + (y / 8)) % 2 * 200) as u8,
        ])
    })
}

fn png(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(image.clone())
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 95)
        .encode_image(image)
        .unwrap();
    out
}

/// A valid PNG whose header announces 20 000 × 20 000 pixels (the CRC patched to match).
fn bomb() -> Vec<u8> {
    let mut out = png(&photo(2, 2));
    out[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    out[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let mut crc = 0xFFFF_FFFFu32;
    for &b in &out[12..29] {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    out[29..33].copy_from_slice(&(!crc).to_be_bytes());
    out
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: uuid::Uuid,
    content_type: String,
    byte_size: i64,
    checksum: String,
    storage_key: String,
}

async fn attachments(app: &TestApp, dossier: i64) -> Vec<Row> {
    sqlx::query_as(
        "select id, content_type, byte_size, checksum, storage_key
         from attachments where dossier_id = $1 order by created_at",
    )
    .bind(dossier)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.config.storage.dir, &mut out);
    out
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Share of pixels that differ by more than `tolerance` on a channel.
fn changed(before: &RgbImage, after: &RgbImage, tolerance: u8) -> f64 {
    let n = before
        .pixels()
        .zip(after.pixels())
        .filter(|(a, b)| a.0.iter().zip(b.0).any(|(x, y)| x.abs_diff(y) > tolerance))
        .count();
    n as f64 / f64::from(before.width() * before.height())
}

#[tokio::test]
async fn the_builder_offers_the_titre_identite_but_not_in_a_bloc_repetable() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(
            "createur@example.gouv.fr",
            &["administrateur", "instructeur"],
            "administrateur",
        )
        .await;
    let form = admin.get("/admin/procedures/new").await;
    let page = admin
        .submit(
            &form,
            "form#new-procedure",
            &[
                ("libelle", "Carte de stationnement"),
                ("description", "Une démarche pour les tests."),
                ("organisation", "Ministère des tests"),
                ("path", ""),
            ],
        )
        .await;
    let id = common::procedure_id(&page);
    let builder = admin.get(&format!("/admin/procedures/{id}/champs")).await;
    assert!(builder.contains("<option value=\"titre_identite\""));
    assert!(
        builder
            .texts("#type_champ option")
            .iter()
            .any(|t| t == "Titre d'identité"),
        "{:?}",
        builder.texts("#type_champ option")
    );
    let added = common::add_champ(
        &admin,
        id,
        &[
            ("type_champ", "titre_identite"),
            ("libelle", TITRE),
            ("mandatory", "on"),
        ],
    )
    .await;
    assert!(added.contains("a bien été ajouté."), "{}", added.body);
    let stable_id = common::draft_stable_id(&app, id, TITRE).await;
    let stored: String = sqlx::query_scalar(
        "select t.type_champ from types_de_champ t join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and t.stable_id = $2",
    )
    .bind(id)
    .bind(stable_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored, "titre_identite");

    // The preview shows the widget with its hint, its button disabled.
    let preview = admin.get(&format!("/admin/procedures/{id}/apercu")).await;
    assert_eq!(preview.status, 200);
    assert!(
        preview.contains("Formats acceptés : JPEG ou PNG."),
        "{}",
        preview.body
    );
    assert!(preview.contains("supprimé après la décision sur votre dossier"));
    assert!(preview.contains("accept=\"image/jpeg,image/png,.jpg,.jpeg,.png\""));

    // Not inside a bloc répétable.
    let added = common::add_champ(
        &admin,
        id,
        &[("type_champ", "repetition"), ("libelle", "Passagers")],
    )
    .await;
    let block = common::draft_stable_id(&app, id, "Passagers").await;
    let refused = admin
        .submit(
            &added,
            &format!("form[action=\"/admin/procedures/{id}/champs/{block}/children\"]"),
            &[
                ("type_champ", "titre_identite"),
                ("libelle", "Identité du passager"),
            ],
        )
        .await;
    assert!(
        refused.contains("ni un titre d’identité"),
        "{}",
        refused.body
    );
    let children: i64 =
        sqlx::query_scalar("select count(*) from types_de_champ where parent_stable_id = $1")
            .bind(block)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(children, 0);
}

#[tokio::test]
async fn a_png_and_a_jpeg_are_stored_watermarked_and_served_only_to_the_owner() {
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let titre = procedure.champ(TITRE).stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = brouillon(&usager).await;
    assert!(form.contains("Pour votre sécurité, le document est marqué d’un filigrane"));
    assert!(form.contains("Taille maximale : 20 Mo. Un seul fichier."));

    let original = photo(240, 160);
    let page = usager
        .upload_piece(dossier, titre, "carte recto.png", png(&original))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.contains("« carte recto.png » a bien été joint."),
        "{}",
        page.body
    );
    let rows = attachments(&app, dossier).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.content_type, "image/png");
    // What is stored is the watermarked image, never the original.
    let stored = std::fs::read(app.config.storage.dir.join(&row.storage_key)).unwrap();
    assert_ne!(stored, png(&original));
    assert_eq!(row.checksum, sha256(&stored));
    assert_eq!(row.byte_size, stored.len() as i64);
    assert_eq!(image::guess_format(&stored).unwrap(), ImageFormat::Png);
    let marked = image::load_from_memory(&stored).unwrap().to_rgb8();
    assert_eq!(marked.dimensions(), (240, 160));
    let share = changed(&original, &marked, 0);
    assert!(share > 0.05 && share < 0.9, "{share}");
    // Exactly the stored bytes are served to the owner.
    let href = format!("/pieces/{}", row.id);
    let response = usager
        .client
        .get(format!("{}{href}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.unwrap().as_ref(), stored.as_slice());
    // Nobody else.
    let autre = app.signed_in(AUTRE, &[], "usager").await;
    assert_eq!(autre.get(&href).await.status, 404);

    // One file only: the form no longer offers to add one, and a second upload is refused.
    let page = usager.get(&format!("/dossiers/{dossier}/brouillon")).await;
    assert!(!page.contains(&format!("form=\"champ_{titre}-upload\"")));
    let page = usager
        .upload_piece(dossier, titre, "verso.png", png(&original))
        .await;
    assert!(
        page.contains("« Pièce d&#39;identité » : un seul fichier est accepté.")
            || page.contains("« Pièce d&#x27;identité » : un seul fichier est accepté."),
        "{}",
        page.body
    );
    assert_eq!(attachments(&app, dossier).await.len(), 1);

    // Replaced by a JPEG: it stays a JPEG, of the same size, marked.
    let page = usager
        .submit(&page, &format!("form#delete-{}", row.id), &[])
        .await;
    assert!(
        page.contains("Le fichier a bien été supprimé."),
        "{}",
        page.body
    );
    let original = photo(320, 200);
    let input = jpeg(&original);
    let baseline = image::load_from_memory(&input).unwrap().to_rgb8();
    let page = usager
        .upload_piece(dossier, titre, "passeport.jpg", input.clone())
        .await;
    assert!(page.contains("a bien été joint"), "{}", page.body);
    let rows = attachments(&app, dossier).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].content_type, "image/jpeg");
    let stored = std::fs::read(app.config.storage.dir.join(&rows[0].storage_key)).unwrap();
    assert_ne!(stored, input);
    assert_eq!(image::guess_format(&stored).unwrap(), ImageFormat::Jpeg);
    let marked = image::load_from_memory(&stored).unwrap().to_rgb8();
    assert_eq!(marked.dimensions(), (320, 200));
    // Beyond the noise of a second JPEG compression.
    assert!(changed(&baseline, &marked, 24) > 0.03);
}

#[tokio::test]
async fn other_files_are_refused_with_a_french_message_and_the_form_is_kept() {
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let titre = procedure.champ(TITRE).stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = brouillon(&usager).await;
    let nom = format!("champ_{}", procedure.champ("Nom du projet").stable_id);
    let saved = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[(nom.as_str(), "Vélo cargo")],
            Some(("action", "save")),
        )
        .await;
    assert!(
        saved.contains("Votre brouillon a bien été enregistré."),
        "{}",
        saved.body
    );

    let mut exe = b"MZ\x90\0\x03\0\0\0\x04\0".to_vec();
    exe.extend_from_slice(&[0u8; 1024]);
    for (name, bytes, message) in [
        ("carte.pdf", PDF.to_vec(), NOT_AN_IMAGE),
        ("carte.png", PDF.to_vec(), NOT_AN_IMAGE),
        ("photo.jpg", exe, NOT_AN_IMAGE),
        (
            "photo.png",
            b"\x89PNG\r\n\x1a\nnot really".to_vec(),
            NOT_AN_IMAGE,
        ),
        (
            "immense.png",
            bomb(),
            "L'image est trop grande : elle ne doit pas dépasser 50 millions de pixels.",
        ),
    ] {
        let page = usager.upload_piece(dossier, titre, name, bytes).await;
        assert!(page.url.ends_with("/brouillon"), "{name}: {}", page.url);
        let flash = page.text(".fr-alert").unwrap_or_default();
        assert!(flash.contains(message), "{name}: {flash} / {}", page.body);
        // What was typed is still there.
        assert_eq!(page.field(&nom).as_deref(), Some("Vélo cargo"), "{name}");
    }
    assert!(attachments(&app, dossier).await.is_empty());
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
}

/// Sends a request by hand: the headers, then `body` piece by piece, and reads the
/// response without sending anything more.
async fn raw_request(app: &TestApp, browser: &Browser, head: &str, body: &[u8]) -> String {
    let url: reqwest::Url = app.base.parse().unwrap();
    let cookies = browser
        .jar
        .cookies(&url)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let mut stream = tokio::net::TcpStream::connect(url.socket_addrs(|| None).unwrap()[0])
        .await
        .unwrap();
    let request = format!(
        "{head}Host: {}\r\nCookie: {cookies}\r\n\r\n",
        url.authority()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    for piece in body.chunks(64 * 1024) {
        if stream.write_all(piece).await.is_err() {
            break;
        }
    }
    let mut response = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&response).contains("\r\n\r\n") && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => response.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}

fn flash(response: &str) -> String {
    let cookie = response
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: demarches_flash=")
        })
        .unwrap_or_else(|| panic!("no flash in {response}"));
    let value = cookie.split_once('=').unwrap().1.split(';').next().unwrap();
    demarches::web::page::url_decode(value.split_once(':').unwrap().1)
}

#[tokio::test]
async fn a_titre_over_20_mo_is_refused_before_its_body_is_read() {
    // The platform accepts 200 Mo per pièce justificative; a titre d'identité, 20 Mo.
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let titre = procedure.champ(TITRE).stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = brouillon(&usager).await;
    let token = form.csrf().unwrap();
    let path = format!("/dossiers/{dossier}/champs/{titre}/pieces");
    let boundary = "----demarchesboundary";
    let mut data = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"authenticity_token\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"scan.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    data.extend_from_slice(&png(&photo(8, 8)));
    data.extend(std::iter::repeat_n(0u8, 20 * 1024 * 1024 + 256 * 1024));
    // Chunked, without a length: refused once 20 Mo have passed, while the client still
    // has more to send (it never sends the end of the body).
    let head = format!(
        "POST {path} HTTP/1.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n"
    );
    let mut body = Vec::new();
    for piece in data.chunks(64 * 1024) {
        body.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        body.extend_from_slice(piece);
        body.extend_from_slice(b"\r\n");
    }
    let response = raw_request(&app, &usager, &head, &body).await;
    assert!(response.starts_with("HTTP/1.1 303"), "{response}");
    assert_eq!(
        flash(&response),
        "Le fichier dépasse la taille maximale autorisée (20 Mo)."
    );
    assert!(attachments(&app, dossier).await.is_empty());
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
}

async fn wait_purged(app: &TestApp, id: uuid::Uuid) -> bool {
    let start = Instant::now();
    loop {
        let purged: bool =
            sqlx::query_scalar("select purged_at is not null from attachments where id = $1")
                .bind(id)
                .fetch_one(&app.db)
                .await
                .unwrap();
        if purged || start.elapsed() > Duration::from_secs(20) {
            return purged;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn mandatory_on_deposit_then_deleted_once_the_dossier_is_accepted() {
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let titre = procedure.champ(TITRE).stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = brouillon(&usager).await;
    let identity = [
        ("civilite", "Mme"),
        ("nom", "Durand"),
        ("prenom", "Camille"),
    ];
    let page = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &identity,
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.contains("Le champ « Pièce d&#39;identité » doit être rempli.")
            || page.contains("Le champ « Pièce d&#x27;identité » doit être rempli."),
        "{}",
        page.body
    );

    let page = usager
        .upload_piece(dossier, titre, "carte.png", png(&photo(200, 120)))
        .await;
    assert!(page.contains("a bien été joint"), "{}", page.body);
    let row = attachments(&app, dossier).await.remove(0);
    let stored_path = app.config.storage.dir.join(&row.storage_key);
    assert!(stored_path.exists());
    let page = usager
        .submit_with_button(
            &page,
            "form#dossier-form",
            &identity,
            Some(("action", "submit")),
        )
        .await;
    assert!(
        page.contains("Votre dossier a bien été déposé"),
        "{}",
        page.body
    );

    // The instructeur sees the watermarked image and downloads it.
    let instructeur = app
        .signed_in(INSTRUCTEUR, &["instructeur"], "instructeur")
        .await;
    let href = format!("/pieces/{}", row.id);
    let url = format!("/procedures/{}/dossiers/{dossier}", procedure.id);
    let page = instructeur.get(&url).await;
    assert_eq!(page.status, 200);
    assert!(
        page.contains(&format!(
            "<img class=\"dm-titre-identite fr-responsive-img\" src=\"{href}\""
        )),
        "{}",
        page.body
    );
    assert_eq!(instructeur.get(&href).await.status, 200);

    let page = instructeur
        .submit(&page, "form#form-passer_en_instruction", &[])
        .await;
    assert!(
        page.contains("Le dossier a été passé en instruction."),
        "{}",
        page.body
    );
    // Not a decision yet: the file stays.
    assert!(stored_path.exists());
    let page = instructeur
        .submit(&page, "form#form-accepter", &[("motivation", "Conforme.")])
        .await;
    assert!(
        page.contains("Décision notifiée : dossier accepté."),
        "{}",
        page.body
    );
    // The decision's commit queued the purge; the worker deletes the file.
    let queued: i64 = sqlx::query_scalar(
        "select count(*) from jobs where kind = 'purge_titres_identite'
           and (payload->>'dossier_id')::bigint = $1",
    )
    .bind(dossier)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(queued, 1);
    assert!(wait_purged(&app, row.id).await, "the titre was not purged");
    assert!(!stored_path.exists());
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));

    // The pages say why it is gone; the link answers 410 to those who could see it.
    let page = instructeur.get(&url).await;
    assert!(
        page.contains(PURGED_HTML) || page.contains(PURGED),
        "{}",
        page.body
    );
    assert!(!page.contains(&format!("src=\"{href}\"")));
    let page = usager.get(&format!("/dossiers/{dossier}")).await;
    assert!(
        page.contains(PURGED_HTML) || page.contains(PURGED),
        "{}",
        page.body
    );
    assert!(!page.contains(&format!("href=\"{href}\"")));
    assert_eq!(usager.get(&href).await.status, 410);
    assert_eq!(instructeur.get(&href).await.status, 410);
    let autre = app.signed_in(AUTRE, &[], "usager").await;
    assert_eq!(autre.get(&href).await.status, 404);
    // The champ still says a titre was given.
    let value: serde_json::Value =
        sqlx::query_scalar("select value from champs where dossier_id = $1 and stable_id = $2")
            .bind(dossier)
            .bind(titre)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(value, json!([row.id.to_string()]));
}

/// [`PURGED`] as askama escapes its apostrophe.
const PURGED_HTML: &str = "Titre d&#39;identité supprimé après la décision";
