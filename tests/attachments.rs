//! Pièces justificatives, end to end: streamed upload (type sniffing, size and count limits,
//! CSRF), the virus_scan job, download rights, and the mandatory check on deposit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::seed::{self, SeededProcedure};
use common::{Browser, Page, TestApp, TestOptions};
use reqwest::cookie::CookieStore;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const USAGER: &str = "camille.durand@example.fr";
const AUTRE: &str = "dominique.martin@example.fr";
const INSTRUCTEUR: &str = "admin@example.gouv.fr";
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

async fn procedure(app: &TestApp) -> SeededProcedure {
    seed::published_procedure(
        &app.db,
        "Demande de subvention",
        "subvention",
        INSTRUCTEUR,
        &[
            ("text", "Nom du projet", false, json!({})),
            ("piece_justificative", "Justificatif", true, json!({})),
        ],
    )
    .await
}

/// A brouillon of `USAGER` on the démarche; returns its id and the form.
async fn brouillon(usager: &Browser) -> (i64, Page) {
    let page = usager.get("/commencer/subvention").await;
    let form = usager.submit(&page, "form#commencer", &[]).await;
    assert!(form.url.ends_with("/brouillon"), "{}", form.url);
    let id = form
        .url
        .split("/dossiers/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|id| id.parse().ok())
        .unwrap();
    (id, form)
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: uuid::Uuid,
    filename: String,
    content_type: String,
    byte_size: i64,
    checksum: String,
    storage_key: String,
}

async fn attachments(app: &TestApp, dossier: i64) -> Vec<Row> {
    sqlx::query_as(
        "select id, filename, content_type, byte_size, checksum, storage_key
         from attachments where dossier_id = $1 order by created_at",
    )
    .bind(dossier)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

async fn wait_scanned(app: &TestApp, id: uuid::Uuid) -> String {
    let start = Instant::now();
    loop {
        let state: String = sqlx::query_scalar("select virus_scan from attachments where id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
        if state != "pending" || start.elapsed() > Duration::from_secs(20) {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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

#[tokio::test]
async fn a_pdf_is_stored_listed_and_served_only_to_those_who_see_the_dossier() {
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let pj = procedure.champ("Justificatif").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = brouillon(&usager).await;

    // The widget works without JavaScript: a multipart form of its own, after the dossier
    // form, that the file input and its button belong to.
    let action = format!("/dossiers/{dossier}/champs/{pj}/pieces");
    assert!(form.contains(&format!(
        "<form id=\"champ_{pj}-upload\" class=\"dm-upload-form\" method=\"post\" enctype=\"multipart/form-data\" action=\"{action}\">"
    )));
    assert!(form.contains(&format!(
        "type=\"file\" id=\"champ_{pj}\" name=\"fichier\" form=\"champ_{pj}-upload\""
    )));
    assert!(form.contains("Taille maximale : 200 Mo. 10 fichiers au maximum."));

    let page = usager
        .upload_piece(dossier, pj, "devis signé.pdf", PDF.to_vec())
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.url.ends_with("/brouillon"), "{}", page.url);
    assert!(page.contains("Le fichier « devis signé.pdf » a bien été joint."));
    let rows = attachments(&app, dossier).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.filename, "devis signé.pdf");
    assert_eq!(row.content_type, "application/pdf");
    assert_eq!(row.byte_size, PDF.len() as i64);
    assert_eq!(row.checksum, sha256(PDF));
    assert!(!row.storage_key.contains("devis"));
    assert_eq!(
        std::fs::read(app.config.storage.dir.join(&row.storage_key)).unwrap(),
        PDF
    );
    // The champ's value is the list of ids, written through the actor (a new version).
    let value: serde_json::Value =
        sqlx::query_scalar("select value from champs where dossier_id = $1 and stable_id = $2")
            .bind(dossier)
            .bind(pj)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(value, json!([row.id.to_string()]));
    let event: String = sqlx::query_scalar(
        "select kind from dossier_events where dossier_id = $1 order by version desc limit 1",
    )
    .bind(dossier)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(event, "modifier_brouillon");
    // Its scan job, in the same transaction; the worker marks it safe.
    assert_eq!(wait_scanned(&app, row.id).await, "safe");

    // Listed with its size, with a download link.
    let page = usager.get(&format!("/dossiers/{dossier}/brouillon")).await;
    assert!(page.contains(&format!("href=\"/pieces/{}\"", row.id)));
    assert!(page.contains("devis signé.pdf"));
    assert!(page.contains(&format!("{} octets", PDF.len())));

    // The owner downloads it.
    let response = usager
        .client
        .get(format!("{}/pieces/{}", app.base, row.id))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(
        disposition.contains("UTF-8''devis%20sign%C3%A9.pdf"),
        "{disposition}"
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), PDF);

    // Not the instructeur while it is a brouillon; nobody else, ever.
    let instructeur = app
        .signed_in(INSTRUCTEUR, &["instructeur"], "instructeur")
        .await;
    let autre = app.signed_in(AUTRE, &[], "usager").await;
    let href = format!("/pieces/{}", row.id);
    assert_eq!(instructeur.get(&href).await.status, 404);
    assert_eq!(autre.get(&href).await.status, 404);
    assert_eq!(
        autre
            .get(&format!("/pieces/{}", uuid::Uuid::new_v4()))
            .await
            .status,
        404
    );
    // Another usager cannot upload to this dossier either.
    let page = autre.upload_piece(dossier, pj, "x.pdf", PDF.to_vec()).await;
    assert_eq!(page.status, 404);

    // Deposited: the instructeur of its groupe sees the file and downloads it.
    let form = usager.get(&format!("/dossiers/{dossier}/brouillon")).await;
    let deposited = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                ("civilite", "Mme"),
                ("nom", "Durand"),
                ("prenom", "Camille"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert!(
        deposited.contains("Votre dossier a bien été déposé"),
        "{}",
        deposited.body
    );
    assert!(deposited.contains(&format!("href=\"{href}\"")));
    let page = instructeur
        .get(&format!("/procedures/{}/dossiers/{dossier}", procedure.id))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.contains(&format!("href=\"{href}\"")));
    assert!(page.contains("devis signé.pdf"));
    let response = instructeur
        .client
        .get(format!("{}{href}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), PDF);
    assert_eq!(autre.get(&href).await.status, 404);
    assert!(
        app.browser()
            .get(&href)
            .await
            .url
            .contains("/users/sign_in")
    );
}

#[tokio::test]
async fn a_renamed_executable_or_an_inconsistent_file_is_refused() {
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let pj = procedure.champ("Justificatif").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, _) = brouillon(&usager).await;

    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    elf.extend_from_slice(&[0u8; 2048]);
    for (name, bytes) in [
        ("facture.pdf", elf),
        ("setup.pdf", b"MZ\x90\0\x03\0\0\0\x04\0".to_vec()),
        ("photo.png", PDF.to_vec()),
        ("programme.exe", PDF.to_vec()),
    ] {
        let page = usager.upload_piece(dossier, pj, name, bytes).await;
        assert!(page.url.ends_with("/brouillon"), "{name}: {}", page.url);
        assert!(
            page.contains("Ce type de fichier n’est pas accepté."),
            "{name}: {}",
            page.body
        );
    }
    // No file chosen (the browser sends an empty name and no bytes), or an empty file.
    let page = usager.upload_piece(dossier, pj, "", Vec::new()).await;
    assert!(
        page.contains("Choisissez un fichier à joindre."),
        "{}",
        page.body
    );
    let page = usager
        .upload_piece(dossier, pj, "vide.pdf", Vec::new())
        .await;
    assert!(page.contains("Le fichier est vide."), "{}", page.body);
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
        // The server may stop reading (and close) as soon as it refused.
        if stream.write_all(piece).await.is_err() {
            break;
        }
    }
    let mut response = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    // Read the response head (it comes before the body was sent to its end).
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
async fn an_oversize_upload_is_refused_before_its_body_is_read() {
    let app = TestApp::spawn_with(TestOptions {
        vars: vec![(
            "DEMARCHES__STORAGE__MAX_FILE_BYTES".to_owned(),
            (1024 * 1024).to_string(),
        )],
        ..Default::default()
    })
    .await;
    let procedure = procedure(&app).await;
    let pj = procedure.champ("Justificatif").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = brouillon(&usager).await;
    assert!(form.contains("Taille maximale : 1 Mo."));
    let token = form.csrf().unwrap();
    let path = format!("/dossiers/{dossier}/champs/{pj}/pieces");
    let boundary = "----demarchesboundary";
    let preamble = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"authenticity_token\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"gros.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    );
    let message = "Le fichier dépasse la taille maximale autorisée (1 Mo).";

    // Declared too large: refused on its headers; only a part of the body is ever sent.
    let declared = 50 * 1024 * 1024;
    let head = format!(
        "POST {path} HTTP/1.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {declared}\r\n"
    );
    let mut body = preamble.clone().into_bytes();
    body.extend(std::iter::repeat_n(b'a', 256 * 1024));
    let response = raw_request(&app, &usager, &head, &body).await;
    assert!(response.starts_with("HTTP/1.1 303"), "{response}");
    assert_eq!(flash(&response), message);

    // Streamed without a length (chunked): refused once 1 Mo has passed, while the client
    // still has more to send (it never sends the end of the body).
    let head = format!(
        "POST {path} HTTP/1.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n"
    );
    let mut body = Vec::new();
    let mut data = preamble.into_bytes();
    data.extend(std::iter::repeat_n(b'a', 1024 * 1024 + 128 * 1024));
    for piece in data.chunks(32 * 1024) {
        body.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        body.extend_from_slice(piece);
        body.extend_from_slice(b"\r\n");
    }
    let response = raw_request(&app, &usager, &head, &body).await;
    assert!(response.starts_with("HTTP/1.1 303"), "{response}");
    assert_eq!(flash(&response), message);

    // Nothing remains: no row, no file, no temporary file.
    assert!(attachments(&app, dossier).await.is_empty());
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    // A file under the limit still passes.
    let page = usager
        .upload_piece(dossier, pj, "petit.pdf", PDF.to_vec())
        .await;
    assert!(page.contains("a bien été joint"), "{}", page.body);
}

#[tokio::test]
async fn an_eleventh_file_is_refused() {
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let pj = procedure.champ("Justificatif").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, _) = brouillon(&usager).await;
    for i in 1..=10 {
        let page = usager
            .upload_piece(dossier, pj, &format!("piece-{i}.pdf"), PDF.to_vec())
            .await;
        assert!(page.contains("a bien été joint"), "{i}: {}", page.body);
    }
    // The form no longer offers to add one.
    let page = usager.get(&format!("/dossiers/{dossier}/brouillon")).await;
    assert!(!page.contains(&format!("form=\"champ_{pj}-upload\"")));
    let page = usager
        .upload_piece(dossier, pj, "piece-11.pdf", PDF.to_vec())
        .await;
    assert!(
        page.contains("« Justificatif » : 10 fichiers au maximum."),
        "{}",
        page.body
    );
    assert_eq!(attachments(&app, dossier).await.len(), 10);

    // Deleting one makes room again; its file is gone.
    let rows = attachments(&app, dossier).await;
    let first = &rows[0];
    let page = usager
        .submit(&page, &format!("form#delete-{}", first.id), &[])
        .await;
    assert!(
        page.contains("Le fichier a bien été supprimé."),
        "{}",
        page.body
    );
    assert_eq!(attachments(&app, dossier).await.len(), 9);
    assert!(!app.config.storage.dir.join(&first.storage_key).exists());
    let page = usager
        .upload_piece(dossier, pj, "piece-11.pdf", PDF.to_vec())
        .await;
    assert!(page.contains("a bien été joint"), "{}", page.body);
}

#[tokio::test]
async fn an_eicar_file_becomes_infected_and_cannot_be_downloaded() {
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let pj = procedure.champ("Justificatif").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, _) = brouillon(&usager).await;
    let page = usager
        .upload_piece(dossier, pj, "eicar.txt", EICAR.as_bytes().to_vec())
        .await;
    assert!(page.contains("a bien été joint"), "{}", page.body);
    let row = &attachments(&app, dossier).await[0];
    assert_eq!(row.content_type, "text/plain");
    let jobs: i64 = sqlx::query_scalar("select count(*) from jobs where kind = 'virus_scan'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(jobs, 1);
    assert_eq!(wait_scanned(&app, row.id).await, "infected");
    let page = usager.get(&format!("/dossiers/{dossier}/brouillon")).await;
    assert!(page.contains("Fichier infecté : il ne peut pas être téléchargé"));
    assert!(!page.contains(&format!("href=\"/pieces/{}\"", row.id)));
    assert_eq!(usager.get(&format!("/pieces/{}", row.id)).await.status, 404);

    // An infected file does not satisfy the mandatory champ.
    let form = usager.get(&format!("/dossiers/{dossier}/brouillon")).await;
    let page = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                ("civilite", "Mme"),
                ("nom", "Durand"),
                ("prenom", "Camille"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.contains("Le champ « Justificatif » doit être rempli."));
}

#[tokio::test]
async fn an_upload_without_its_csrf_token_is_forbidden() {
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let pj = procedure.champ("Justificatif").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, _) = brouillon(&usager).await;
    let url = format!("{}/dossiers/{dossier}/champs/{pj}/pieces", app.base);
    let part = || {
        reqwest::multipart::Part::bytes(PDF.to_vec())
            .file_name("devis.pdf")
            .mime_str("application/pdf")
            .unwrap()
    };
    for form in [
        reqwest::multipart::Form::new().part("fichier", part()),
        reqwest::multipart::Form::new()
            .text("authenticity_token", "x".repeat(64))
            .part("fichier", part()),
        // The token must come first.
        reqwest::multipart::Form::new()
            .part("fichier", part())
            .text("authenticity_token", usager.csrf_cookie().await),
    ] {
        let response = usager
            .client
            .post(&url)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
    }
    assert!(attachments(&app, dossier).await.is_empty());
}

#[tokio::test]
async fn a_deposit_without_its_mandatory_piece_is_refused() {
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let pj = procedure.champ("Justificatif").stable_id;
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
    assert!(page.contains("Le champ « Justificatif » doit être rempli."));
    // The error links to the file input.
    assert!(page.contains(&format!("href=\"#champ_{pj}\"")));

    // A pending file counts; saving the form keeps the file (the form does not carry it).
    let page = usager
        .upload_piece(dossier, pj, "devis.pdf", PDF.to_vec())
        .await;
    assert!(page.contains("a bien été joint"));
    let page = usager
        .submit_with_button(
            &page,
            "form#dossier-form",
            &identity,
            Some(("action", "save")),
        )
        .await;
    assert!(
        page.contains("Votre brouillon a bien été enregistré."),
        "{}",
        page.body
    );
    assert_eq!(attachments(&app, dossier).await.len(), 1);
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
}

#[tokio::test]
async fn the_widget_uploads_and_deletes_in_chromium() {
    use fantoccini::Locator;
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let pj = procedure.champ("Justificatif").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, _) = brouillon(&usager).await;
    let file = std::env::temp_dir().join(format!(
        "demarches-upload-{}/attestation.pdf",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, PDF).unwrap();

    let chrome = common::chrome::Chrome::start().await;
    chrome.sign_in_as(&app, &usager).await;
    chrome
        .client
        .goto(&format!("{}/dossiers/{dossier}/brouillon", app.base))
        .await
        .unwrap();
    // The file input sits in the dossier form but belongs to the champ's upload form.
    chrome
        .client
        .find(Locator::Css(&format!("input#champ_{pj}")))
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    chrome
        .client
        .find(Locator::Css(&format!("button[form=\"champ_{pj}-upload\"]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    chrome
        .wait_text("Le fichier « attestation.pdf » a bien été joint.")
        .await;
    let rows = attachments(&app, dossier).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].checksum, sha256(PDF));
    chrome.wait_text("attestation.pdf").await;

    chrome
        .client
        .find(Locator::Css(&format!(
            "button[form=\"delete-{}\"]",
            rows[0].id
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    chrome.wait_text("Le fichier a bien été supprimé.").await;
    assert!(attachments(&app, dossier).await.is_empty());
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}

#[tokio::test]
async fn the_builder_offers_the_piece_justificative_type() {
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
                ("libelle", "Aide au permis"),
                ("description", "Une démarche pour les tests."),
                ("organisation", "Ministère des tests"),
                ("path", ""),
            ],
        )
        .await;
    let id: i64 = page
        .url
        .split("/admin/procedures/")
        .nth(1)
        .and_then(|r| r.split(['/', '?', '#']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{}", page.url));
    let builder = admin.get(&format!("/admin/procedures/{id}/champs")).await;
    assert!(builder.contains("<option value=\"piece_justificative\""));
    assert!(builder.contains("Pièce justificative"));
    let added = admin
        .submit(
            &builder,
            "form#add-champ",
            &[
                ("type_champ", "piece_justificative"),
                ("libelle", "Justificatif de domicile"),
            ],
        )
        .await;
    assert!(
        added.contains("Le champ « Justificatif de domicile » a bien été ajouté."),
        "{}",
        added.body
    );
    let stored: String = sqlx::query_scalar(
        "select t.type_champ from types_de_champ t join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored, "piece_justificative");
}

/// A pièce justificative removed from the form by a new revision takes its files along:
/// the rebase deletes their rows and queues the deletion of the stored files.
#[tokio::test]
async fn files_of_a_champ_a_revision_removes_are_deleted() {
    let app = TestApp::spawn().await;
    let procedure = procedure(&app).await;
    let pj = procedure.champ("Justificatif").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, _) = brouillon(&usager).await;
    let uploaded = usager
        .upload_piece(dossier, pj, "devis.pdf", PDF.to_vec())
        .await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    let stored = attachments(&app, dossier).await;
    assert_eq!(stored.len(), 1);
    let file = app.config.storage.dir.join(&stored[0].storage_key);
    assert!(file.exists());

    // The administrateur removes the champ from the form and publishes.
    let admin = app
        .signed_in(INSTRUCTEUR, &["administrateur"], "administrateur")
        .await;
    let builder = admin
        .get(&format!("/admin/procedures/{}/champs", procedure.id))
        .await;
    let removed = admin
        .submit(&builder, &format!("tr#champ-{pj} form.delete"), &[])
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let publication = admin
        .get(&format!("/admin/procedures/{}/publication", procedure.id))
        .await;
    let published = admin
        .submit(&publication, "form#publish", &[("path", "subvention")])
        .await;
    assert!(
        published.contains("La démarche est publiée avec ses modifications."),
        "{}",
        published.body
    );

    // The worker moves the brouillon, then deletes the file.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !attachments(&app, dossier).await.is_empty() || file.exists() {
        assert!(
            Instant::now() < deadline,
            "the removed champ's file is still there"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
