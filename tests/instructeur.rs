//! The instructeur area: démarches and tabs, the dossier page, instruction through the
//! dossier actor (mails, history, follows), stale pages, concurrent decisions, live updates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::seed::{self, SeededProcedure};
use common::{Browser, Page, TestApp};
use serde_json::json;

const INSTRUCTEUR: &str = "instructeur@example.gouv.fr";
const COLLEGUE: &str = "collegue@example.gouv.fr";
const USAGER: &str = "camille.durand@example.fr";

struct Setup {
    app: TestApp,
    procedure: SeededProcedure,
    dossier: i64,
    browser: Browser,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention-associations").await;
    seed::assign(&app.db, procedure.groupe_id, INSTRUCTEUR).await;
    let dossier = deposit(&app, &procedure, USAGER).await;
    let browser = app
        .signed_in(INSTRUCTEUR, &["instructeur"], "instructeur")
        .await;
    Setup {
        app,
        procedure,
        dossier,
        browser,
    }
}

async fn deposit(app: &TestApp, procedure: &SeededProcedure, usager: &str) -> i64 {
    seed::deposited_dossier(
        &app.db,
        procedure,
        usager,
        &[
            ("Nom du projet", json!("Jardin partagé des Lilas")),
            ("Nombre de participants", json!(12)),
            ("Type de structure", json!("Association")),
        ],
    )
    .await
}

fn dossier_url(procedure: &SeededProcedure, dossier: i64) -> String {
    format!("/procedures/{}/dossiers/{dossier}", procedure.id)
}

async fn state_of(app: &TestApp, dossier: i64) -> (String, i32) {
    sqlx::query_as("select state::text, lock_version from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Loads the dossier page and submits the action form of `transition`.
async fn act(
    browser: &Browser,
    procedure: &SeededProcedure,
    dossier: i64,
    transition: &str,
    motivation: Option<&str>,
) -> Page {
    let page = browser.get(&dossier_url(procedure, dossier)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fields: Vec<(&str, &str)> = motivation.map(|m| ("motivation", m)).into_iter().collect();
    browser
        .submit(&page, &format!("form#form-{transition}"), &fields)
        .await
}

#[tokio::test]
async fn procedures_and_tabs_list_the_dossiers_of_my_groupes() {
    let s = setup().await;
    let list = s.browser.get("/procedures").await;
    assert_eq!(list.status, 200);
    let card = format!("#procedure-{}", s.procedure.id);
    assert!(list.text(&card).unwrap().contains("Demande de subvention"));
    let count = |tab: &str| {
        list.text(&format!("{card} [data-tab=\"{tab}\"]"))
            .unwrap_or_default()
    };
    assert_eq!(count("a-suivre"), "1");
    assert_eq!(count("suivis"), "0");
    assert_eq!(count("traites"), "0");
    assert_eq!(count("tous"), "1");

    // A brouillon of the same démarche is never shown.
    let usager = seed::user_id(&s.app.db, "autre@example.fr").await;
    let brouillon = demarches_actors::store::dossier::create(
        &s.app.db,
        s.procedure.id,
        s.procedure.revision_id,
        &demarches_actors::store::dossier::Author {
            kind: demarches_actors::store::dossier::AuthorKind::Usager,
            user_id: Some(usager),
            email: "autre@example.fr".to_owned(),
        },
    )
    .await
    .unwrap();

    let table = s
        .browser
        .get(&format!("/procedures/{}", s.procedure.id))
        .await;
    assert_eq!(table.status, 200);
    let row = table
        .text(&format!("tbody#dossiers-live tr#dossier-{}", s.dossier))
        .expect("the dossier is à suivre");
    assert!(row.contains(&s.dossier.to_string()));
    assert!(row.contains("Durand Camille"), "{row}");
    assert!(row.contains("En construction"), "{row}");
    assert!(
        table
            .text("nav[aria-label=\"Statut des dossiers\"] [aria-current=\"page\"]")
            .unwrap()
            .contains("À suivre")
    );
    assert!(table.contains(&format!(
        "data-live-url=\"/procedures/{}/live\"",
        s.procedure.id
    )));
    assert!(table.contains("aria-live=\"polite\""));

    let tous = s
        .browser
        .get(&format!("/procedures/{}?statut=tous", s.procedure.id))
        .await;
    assert_eq!(tous.texts("tbody#dossiers-live tr[id]").len(), 1);
    assert!(!tous.contains(&format!("dossier-{brouillon}\"")));
    let traites = s
        .browser
        .get(&format!("/procedures/{}?statut=traites", s.procedure.id))
        .await;
    assert!(traites.texts("tbody#dossiers-live tr[id]").is_empty());
    assert!(traites.contains("Aucun dossier traité."));
    let brouillon_page = s.browser.get(&dossier_url(&s.procedure, brouillon)).await;
    assert_eq!(brouillon_page.status, 404);
    assert_eq!(
        s.browser
            .get(&format!("/procedures/{}?statut=nimporte", s.procedure.id))
            .await
            .status,
        404
    );

    // A usager without the instructeur role is refused.
    let usager = s.app.signed_in(USAGER, &[], "usager").await;
    assert_eq!(usager.get("/procedures").await.status, 403);
}

#[tokio::test]
async fn the_table_is_paginated_by_100_in_sql() {
    let s = setup().await;
    for n in 0..100 {
        deposit(&s.app, &s.procedure, &format!("usager{n}@example.fr")).await;
    }
    let base = format!("/procedures/{}?statut=a-suivre", s.procedure.id);
    let first = s.browser.get(&base).await;
    assert_eq!(first.texts("tbody#dossiers-live tr[id]").len(), 100);
    assert!(first.contains("class=\"fr-pagination"));
    assert!(first.contains("Page 1 sur 2"));
    let second = s.browser.get(&format!("{base}&page=2")).await;
    let rows = second.texts("tbody#dossiers-live tr[id]");
    assert_eq!(rows.len(), 1);
    // Most recent deposit first: the very first dossier is the last line.
    assert!(rows[0].starts_with(&s.dossier.to_string()), "{rows:?}");
    assert!(second.contains("Page 2 sur 2"));
}

#[tokio::test]
async fn dossier_page_shows_the_demande_and_stays_private_to_the_groupe() {
    let s = setup().await;
    let url = dossier_url(&s.procedure, s.dossier);
    let page = s.browser.get(&url).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text("#etat").unwrap(), "En construction");
    let demande = page.text("#demande").unwrap();
    assert!(
        demande.contains("Nom du projet Jardin partagé des Lilas"),
        "{demande}"
    );
    assert!(demande.contains("Nombre de participants 12"), "{demande}");
    assert!(
        demande.contains("Type de structure Association"),
        "{demande}"
    );
    let identite = page.text("#identite").unwrap();
    assert!(identite.contains("Mme Camille Durand"), "{identite}");
    assert!(identite.contains(USAGER));
    assert!(page.text("#dates").unwrap().contains("Déposé le"));
    assert_eq!(page.field("lock_version").as_deref(), Some("1"));
    assert!(
        page.text("#instruction")
            .unwrap()
            .contains("Passer en instruction")
    );
    assert!(
        page.text("#historique")
            .unwrap()
            .contains("En construction")
    );

    // An instructeur of another démarche sees nothing of this one.
    let other = seed::published_procedure(
        &s.app.db,
        "Autre démarche",
        "autre-demarche",
        "admin@example.gouv.fr",
        &[("text", "Question", true, json!({}))],
    )
    .await;
    seed::assign(&s.app.db, other.groupe_id, COLLEGUE).await;
    let collegue = s
        .app
        .signed_in(COLLEGUE, &["instructeur"], "instructeur")
        .await;
    assert_eq!(collegue.get(&url).await.status, 404);
    let through_own = format!("/procedures/{}/dossiers/{}", other.id, s.dossier);
    assert_eq!(collegue.get(&through_own).await.status, 404);
    assert_eq!(collegue.get(&format!("{url}/row")).await.status, 404);
    assert_eq!(
        collegue
            .get(&format!("/procedures/{}", s.procedure.id))
            .await
            .status,
        404
    );
    assert_eq!(
        collegue
            .get(&format!("/procedures/{}/live", s.procedure.id))
            .await
            .status,
        404
    );
    let own = collegue.get("/procedures").await;
    assert!(own.contains("Autre démarche"));
    assert!(!own.contains("Demande de subvention"));
    let token = own.csrf().unwrap();
    let post = collegue
        .post_with_token(
            &token,
            &format!("{url}/passer_en_instruction"),
            &[("lock_version", "1")],
        )
        .await;
    assert_eq!(post.status, 404);
    assert_eq!(
        state_of(&s.app, s.dossier).await,
        ("en_construction".into(), 1)
    );
}

#[tokio::test]
async fn passer_en_instruction_then_accept_notifies_the_usager() {
    let s = setup().await;
    let done = act(
        &s.browser,
        &s.procedure,
        s.dossier,
        "passer_en_instruction",
        None,
    )
    .await;
    assert_eq!(done.status, 200);
    assert!(done.url.ends_with(&dossier_url(&s.procedure, s.dossier)));
    assert!(done.contains("Le dossier a été passé en instruction."));
    assert_eq!(done.text("#etat").unwrap(), "En instruction");
    assert_eq!(
        state_of(&s.app, s.dossier).await,
        ("en_instruction".into(), 2)
    );

    let instructeur = seed::user_id(&s.app.db, INSTRUCTEUR).await;
    let follows: i64 = sqlx::query_scalar(
        "select count(*) from follows where instructeur_id = $1 and dossier_id = $2 and unfollowed_at is null",
    )
    .bind(instructeur)
    .bind(s.dossier)
    .fetch_one(&s.app.db)
    .await
    .unwrap();
    assert_eq!(follows, 1);
    assert!(done.contains("Vous suivez ce dossier."));
    let event: (String, String, Option<i64>) = sqlx::query_as(
        "select kind, actor_kind, actor_id from dossier_events where dossier_id = $1 and version = 2",
    )
    .bind(s.dossier)
    .fetch_one(&s.app.db)
    .await
    .unwrap();
    assert_eq!(
        event,
        (
            "passer_en_instruction".into(),
            "instructeur".into(),
            Some(instructeur)
        )
    );
    let mail = s.app.mail.wait_for(USAGER, "va être examiné").await;
    assert!(mail.subject.contains(&format!("n° {}", s.dossier)));

    // The dossier moved from « à suivre » to « suivis ».
    let a_suivre = s
        .browser
        .get(&format!("/procedures/{}?statut=a-suivre", s.procedure.id))
        .await;
    assert!(a_suivre.texts("tbody#dossiers-live tr[id]").is_empty());
    let suivis = s
        .browser
        .get(&format!("/procedures/{}?statut=suivis", s.procedure.id))
        .await;
    assert!(
        suivis
            .text(&format!("tr#dossier-{}", s.dossier))
            .unwrap()
            .contains("En instruction")
    );

    let motivation = "Projet complet et conforme au règlement.";
    let accepted = act(
        &s.browser,
        &s.procedure,
        s.dossier,
        "accepter",
        Some(motivation),
    )
    .await;
    assert_eq!(accepted.status, 200);
    assert!(accepted.contains("Décision notifiée : dossier accepté."));
    assert_eq!(accepted.text("#etat").unwrap(), "Accepté");
    assert!(accepted.text("#motivation").unwrap().contains(motivation));
    assert!(
        accepted
            .text("#instruction")
            .unwrap()
            .contains("Repasser en instruction")
    );
    let historique = accepted.text("#historique").unwrap();
    assert!(historique.contains(INSTRUCTEUR), "{historique}");
    assert!(historique.contains(motivation), "{historique}");
    assert_eq!(state_of(&s.app, s.dossier).await, ("accepte".into(), 3));
    let traitement: (Option<String>, Option<String>) = sqlx::query_as(
        "select instructeur_email, motivation from traitements where dossier_id = $1 and state = 'accepte'",
    )
    .bind(s.dossier)
    .fetch_one(&s.app.db)
    .await
    .unwrap();
    assert_eq!(
        traitement,
        (Some(INSTRUCTEUR.to_owned()), Some(motivation.to_owned()))
    );
    let mail = s.app.mail.wait_for(USAGER, "a été accepté").await;
    assert!(mail.body.contains(motivation), "{}", mail.body);

    let traites = s
        .browser
        .get(&format!("/procedures/{}?statut=traites", s.procedure.id))
        .await;
    assert!(traites.contains(&format!("id=\"dossier-{}\"", s.dossier)));
    let list = s.browser.get("/procedures").await;
    let card = format!("#procedure-{}", s.procedure.id);
    assert_eq!(
        list.text(&format!("{card} [data-tab=\"traites\"]"))
            .unwrap(),
        "1"
    );
    assert_eq!(
        list.text(&format!("{card} [data-tab=\"suivis\"]")).unwrap(),
        "0"
    );
}

#[tokio::test]
async fn refusing_without_motivation_is_refused_and_nothing_typed_is_lost() {
    let s = setup().await;
    act(
        &s.browser,
        &s.procedure,
        s.dossier,
        "passer_en_instruction",
        None,
    )
    .await;
    let refused = act(&s.browser, &s.procedure, s.dossier, "refuser", Some("   ")).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.text("#instruction-error").unwrap().contains(
            "La motivation est obligatoire pour refuser ou classer sans suite un dossier."
        )
    );
    assert!(
        refused
            .text("#motivation-refuser-error")
            .unwrap()
            .contains("La motivation est obligatoire")
    );
    assert_eq!(refused.text("#etat").unwrap(), "En instruction");
    assert_eq!(
        state_of(&s.app, s.dossier).await,
        ("en_instruction".into(), 2)
    );
    let decisions: i64 = sqlx::query_scalar(
        "select count(*) from traitements where dossier_id = $1 and state in ('accepte', 'refuse', 'sans_suite')",
    )
    .bind(s.dossier)
    .fetch_one(&s.app.db)
    .await
    .unwrap();
    assert_eq!(decisions, 0);

    // Too long a motivation: 422, and the text comes back in its textarea.
    let long = format!("Motif détaillé. {}", "x".repeat(5000));
    let too_long = act(&s.browser, &s.procedure, s.dossier, "accepter", Some(&long)).await;
    assert_eq!(too_long.status, 422);
    assert!(too_long.contains("La motivation ne peut pas dépasser 5 000 caractères."));
    assert_eq!(too_long.text("#motivation-accepter").unwrap(), long);
    assert_eq!(
        state_of(&s.app, s.dossier).await,
        ("en_instruction".into(), 2)
    );

    // An illegal transition is a 422 with its French message, never a 500.
    let page = s.browser.get(&dossier_url(&s.procedure, s.dossier)).await;
    let token = page.csrf().unwrap();
    let illegal = s
        .browser
        .post_with_token(
            &token,
            &format!(
                "{}/passer_en_instruction",
                dossier_url(&s.procedure, s.dossier)
            ),
            &[("lock_version", "2")],
        )
        .await;
    assert_eq!(illegal.status, 422);
    assert!(
        illegal.contains(
            "Ce dossier est « En instruction » : il ne peut pas être passé en instruction."
        )
    );
    for unknown in ["deposer", "supprimer"] {
        let post = s
            .browser
            .post_with_token(
                &token,
                &format!("{}/{unknown}", dossier_url(&s.procedure, s.dossier)),
                &[("lock_version", "2")],
            )
            .await;
        assert_eq!(post.status, 404, "{unknown}");
    }
    // Without the CSRF token, nothing happens.
    let forged = s
        .browser
        .post_with_token(
            "forged",
            &format!("{}/accepter", dossier_url(&s.procedure, s.dossier)),
            &[("lock_version", "2")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        state_of(&s.app, s.dossier).await,
        ("en_instruction".into(), 2)
    );
}

#[tokio::test]
async fn classer_sans_suite_then_repasser_en_instruction_and_en_construction() {
    let s = setup().await;
    act(
        &s.browser,
        &s.procedure,
        s.dossier,
        "passer_en_instruction",
        None,
    )
    .await;
    let motif = "Demande hors du périmètre de la démarche.";
    let classe = act(
        &s.browser,
        &s.procedure,
        s.dossier,
        "classer_sans_suite",
        Some(motif),
    )
    .await;
    assert_eq!(classe.status, 200);
    assert!(classe.contains("Décision notifiée : dossier classé sans suite."));
    assert_eq!(classe.text("#etat").unwrap(), "Classé sans suite");
    let mail = s.app.mail.wait_for(USAGER, "a été classé sans suite").await;
    assert!(mail.body.contains(motif));

    let repasse = act(
        &s.browser,
        &s.procedure,
        s.dossier,
        "repasser_en_instruction",
        None,
    )
    .await;
    assert_eq!(repasse.status, 200);
    assert!(repasse.contains("Le dossier a été repassé en instruction."));
    assert_eq!(repasse.text("#etat").unwrap(), "En instruction");
    assert!(repasse.text("#motivation").is_none());
    s.app
        .mail
        .wait_for(USAGER, "est en train d'être réexaminé")
        .await;

    let construction = act(
        &s.browser,
        &s.procedure,
        s.dossier,
        "repasser_en_construction",
        None,
    )
    .await;
    assert_eq!(construction.status, 200);
    assert_eq!(construction.text("#etat").unwrap(), "En construction");
    assert_eq!(
        state_of(&s.app, s.dossier).await,
        ("en_construction".into(), 5)
    );
    let states: Vec<String> = sqlx::query_scalar(
        "select state::text from traitements where dossier_id = $1 order by processed_at, id",
    )
    .bind(s.dossier)
    .fetch_all(&s.app.db)
    .await
    .unwrap();
    assert_eq!(
        states,
        [
            "en_construction",
            "en_instruction",
            "sans_suite",
            "en_instruction",
            "en_construction"
        ]
    );
}

#[tokio::test]
async fn follow_and_unfollow_move_the_dossier_between_tabs() {
    let s = setup().await;
    let url = dossier_url(&s.procedure, s.dossier);
    let page = s.browser.get(&url).await;
    let followed = s.browser.submit(&page, "form#form-follow", &[]).await;
    assert_eq!(followed.status, 200);
    assert!(followed.contains("Vous suivez maintenant ce dossier."));
    let tab = |statut: &str| format!("/procedures/{}?statut={statut}", s.procedure.id);
    let row = format!("id=\"dossier-{}\"", s.dossier);
    assert!(!s.browser.get(&tab("a-suivre")).await.contains(&row));
    assert!(s.browser.get(&tab("suivis")).await.contains(&row));
    // Following takes no version: the dossier itself did not change.
    assert_eq!(
        state_of(&s.app, s.dossier).await,
        ("en_construction".into(), 1)
    );

    let unfollowed = s.browser.submit(&followed, "form#form-unfollow", &[]).await;
    assert!(unfollowed.contains("Vous ne suivez plus ce dossier."));
    assert!(s.browser.get(&tab("a-suivre")).await.contains(&row));
    assert!(!s.browser.get(&tab("suivis")).await.contains(&row));
}

#[tokio::test]
async fn a_stale_page_gets_a_conflict_with_the_current_state() {
    let s = setup().await;
    seed::assign(&s.app.db, s.procedure.groupe_id, COLLEGUE).await;
    act(
        &s.browser,
        &s.procedure,
        s.dossier,
        "passer_en_instruction",
        None,
    )
    .await;
    let collegue = s
        .app
        .signed_in(COLLEGUE, &["instructeur"], "instructeur")
        .await;
    let url = dossier_url(&s.procedure, s.dossier);
    let mine = s.browser.get(&url).await;
    let theirs = collegue.get(&url).await;
    assert_eq!(theirs.field("lock_version").as_deref(), Some("2"));

    let accepted = s
        .browser
        .submit(&mine, "form#form-accepter", &[("motivation", "Conforme.")])
        .await;
    assert_eq!(accepted.status, 200);
    let motif = "Pièces justificatives manquantes.";
    let stale = collegue
        .submit(&theirs, "form#form-refuser", &[("motivation", motif)])
        .await;
    assert_eq!(stale.status, 409);
    assert!(
        stale
            .text("#instruction-error")
            .unwrap()
            .contains("modifié entre-temps")
    );
    assert_eq!(stale.text("#etat").unwrap(), "Accepté");
    // The refusal is no longer offered; what was typed is shown, not lost.
    assert!(stale.text("#form-refuser").is_none());
    assert_eq!(stale.text("#lost-motivation").unwrap(), motif);
    // The forms carry the current version.
    assert_eq!(stale.field("lock_version").as_deref(), Some("3"));
    assert_eq!(state_of(&s.app, s.dossier).await, ("accepte".into(), 3));

    // A stale page whose action is still offered keeps the motivation in its textarea.
    let again = act(
        &s.browser,
        &s.procedure,
        s.dossier,
        "repasser_en_instruction",
        None,
    )
    .await;
    assert_eq!(again.status, 200);
    let old = s.browser.get(&url).await;
    act(
        &collegue,
        &s.procedure,
        s.dossier,
        "repasser_en_construction",
        None,
    )
    .await;
    act(
        &collegue,
        &s.procedure,
        s.dossier,
        "passer_en_instruction",
        None,
    )
    .await;
    let typed = "Dossier conforme,\nsubvention de 1 500 €.";
    let late = s
        .browser
        .submit(&old, "form#form-accepter", &[("motivation", typed)])
        .await;
    assert_eq!(late.status, 409);
    assert!(late.contains("modifié entre-temps"));
    assert_eq!(late.text("#etat").unwrap(), "En instruction");
    assert_eq!(
        late.text("#motivation-accepter").unwrap(),
        typed.replace('\n', " ")
    );
    assert!(late.contains(typed));
    assert_eq!(late.field("lock_version").as_deref(), Some("6"));
    assert_eq!(
        state_of(&s.app, s.dossier).await,
        ("en_instruction".into(), 6)
    );
}

#[tokio::test]
async fn concurrent_decisions_have_exactly_one_winner() {
    let s = setup().await;
    seed::assign(&s.app.db, s.procedure.groupe_id, COLLEGUE).await;
    let collegue = s
        .app
        .signed_in(COLLEGUE, &["instructeur"], "instructeur")
        .await;
    let mut dossiers = vec![s.dossier];
    for n in 0..9 {
        dossiers.push(deposit(&s.app, &s.procedure, &format!("usager{n}@example.fr")).await);
    }
    for &dossier in &dossiers {
        let done = act(
            &s.browser,
            &s.procedure,
            dossier,
            "passer_en_instruction",
            None,
        )
        .await;
        assert_eq!(done.status, 200);
    }
    for &dossier in &dossiers {
        let url = dossier_url(&s.procedure, dossier);
        let (mine, theirs) = tokio::join!(s.browser.get(&url), collegue.get(&url));
        let (accept, refuse) = tokio::join!(
            s.browser
                .submit(&mine, "form#form-accepter", &[("motivation", "Conforme.")]),
            collegue.submit(
                &theirs,
                "form#form-refuser",
                &[("motivation", "Incomplet.")]
            ),
        );
        let won = |page: &Page| page.status == 200 && page.contains("Décision notifiée");
        let lost = |page: &Page| {
            (page.status == 409 && page.contains("modifié entre-temps"))
                || (page.status == 422 && page.contains("il ne peut pas être"))
        };
        assert!(
            (won(&accept) && lost(&refuse)) || (won(&refuse) && lost(&accept)),
            "dossier {dossier}: accept {} / refuse {}",
            accept.status,
            refuse.status
        );
        let (state, lock_version) = state_of(&s.app, dossier).await;
        let expected = if won(&accept) { "accepte" } else { "refuse" };
        assert_eq!(state, expected);
        let decisions: i64 = sqlx::query_scalar(
            "select count(*) from traitements where dossier_id = $1 and state in ('accepte', 'refuse', 'sans_suite')",
        )
        .bind(dossier)
        .fetch_one(&s.app.db)
        .await
        .unwrap();
        assert_eq!(decisions, 1, "dossier {dossier}");
        let versions: Vec<i32> = sqlx::query_scalar(
            "select version from dossier_events where dossier_id = $1 order by version",
        )
        .bind(dossier)
        .fetch_all(&s.app.db)
        .await
        .unwrap();
        assert_eq!(versions, (0..=lock_version).collect::<Vec<_>>());
        assert_eq!(lock_version, 3);
    }
}

/// Reads the event stream until a chunk contains `needle` (or panics after `within`).
async fn read_until(response: &mut reqwest::Response, needle: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let mut seen = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if seen.contains(needle) {
                    return seen;
                }
            }
            Ok(Ok(None)) => panic!("the stream ended; read so far: {seen}"),
            Ok(Err(err)) => panic!("stream error {err}; read so far: {seen}"),
            Err(_) => panic!("no {needle:?} within {within:?}; read so far: {seen}"),
        }
    }
}

#[tokio::test]
async fn live_stream_announces_a_change_made_by_a_colleague() {
    let s = setup().await;
    seed::assign(&s.app.db, s.procedure.groupe_id, COLLEGUE).await;
    let second = deposit(&s.app, &s.procedure, "claude.martin@example.fr").await;
    let collegue = s
        .app
        .signed_in(COLLEGUE, &["instructeur"], "instructeur")
        .await;

    let table = s
        .browser
        .get(&format!("/procedures/{}", s.procedure.id))
        .await;
    let live_url = format!("/procedures/{}/live", s.procedure.id);
    assert!(table.contains(&format!("data-live-url=\"{live_url}\"")));
    let mut stream = s
        .browser
        .client
        .get(format!("{}{live_url}", s.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    read_until(&mut stream, ": keepalive", Duration::from_secs(10)).await;

    let done = act(
        &collegue,
        &s.procedure,
        second,
        "passer_en_instruction",
        None,
    )
    .await;
    assert_eq!(done.status, 200);
    let seen = read_until(
        &mut stream,
        &format!("\"dossier_id\":{second}"),
        Duration::from_secs(10),
    )
    .await;
    let line = seen
        .lines()
        .find(|l| l.starts_with("data: ") && l.contains(&format!("\"dossier_id\":{second}")))
        .unwrap();
    assert!(seen.contains("event: dossier\n"), "{seen}");
    let event: serde_json::Value = serde_json::from_str(&line["data: ".len()..]).unwrap();
    assert_eq!(event["state"], "en_instruction");
    assert_eq!(event["change"], "passer_en_instruction");
    assert_eq!(event["procedure_id"], s.procedure.id);

    // The page then fetches the line: same markup as the table, or 204 when it left the tab.
    let row_url = format!("{}/row", dossier_url(&s.procedure, second));
    let row = s.browser.get(&row_url).await;
    assert_eq!(row.status, 200);
    assert!(
        row.body
            .trim_start()
            .starts_with(&format!("<tr id=\"dossier-{second}\""))
    );
    assert!(row.contains("En instruction"));
    assert_eq!(
        s.browser
            .get(&format!("{row_url}?statut=a-suivre"))
            .await
            .status,
        204
    );
    assert_eq!(
        collegue
            .get(&format!("{row_url}?statut=suivis"))
            .await
            .status,
        200
    );
    let tous = s
        .browser
        .get(&format!("/procedures/{}?statut=tous", s.procedure.id))
        .await;
    let in_table = tous.html();
    let selector = scraper::Selector::parse(&format!("tr#dossier-{second}")).unwrap();
    let table_row = in_table.select(&selector).next().unwrap().html();
    let partial =
        scraper::Html::parse_fragment(&format!("<table><tbody>{}</tbody></table>", row.body));
    let partial_row = partial.select(&selector).next().unwrap().html();
    assert_eq!(table_row, partial_row);
    drop(stream);
}

#[tokio::test]
async fn the_open_table_updates_itself_in_a_real_browser() {
    let s = setup().await;
    seed::assign(&s.app.db, s.procedure.groupe_id, COLLEGUE).await;
    let second = deposit(&s.app, &s.procedure, "claude.martin@example.fr").await;
    let collegue = s
        .app
        .signed_in(COLLEGUE, &["instructeur"], "instructeur")
        .await;
    let chrome = common::chrome::Chrome::start().await;
    chrome.sign_in_as(&s.app, &s.browser).await;

    // « Tous les dossiers »: the line of the changed dossier is replaced in place.
    chrome
        .client
        .goto(&format!(
            "{}/procedures/{}?statut=tous",
            s.app.base, s.procedure.id
        ))
        .await
        .unwrap();
    chrome
        .wait()
        .for_element(fantoccini::Locator::Css("[data-live-state=\"open\"]"))
        .await
        .unwrap();
    let done = act(
        &collegue,
        &s.procedure,
        second,
        "passer_en_instruction",
        None,
    )
    .await;
    assert_eq!(done.status, 200);
    let row = chrome
        .wait()
        .for_element(fantoccini::Locator::Css(&format!(
            "tbody#dossiers-live tr#dossier-{second}.dm-live-new"
        )))
        .await
        .unwrap();
    assert!(row.text().await.unwrap().contains("En instruction"));
    assert_eq!(
        chrome
            .client
            .find_all(fantoccini::Locator::Css("tbody#dossiers-live tr[id]"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        chrome.text("#dossiers-notice").await,
        format!("Dossier n° {second} : En instruction")
    );

    // « À suivre »: a dossier someone now follows leaves the table.
    chrome
        .client
        .goto(&format!(
            "{}/procedures/{}?statut=a-suivre",
            s.app.base, s.procedure.id
        ))
        .await
        .unwrap();
    chrome
        .wait()
        .for_element(fantoccini::Locator::Css("[data-live-state=\"open\"]"))
        .await
        .unwrap();
    let selector = format!("tr#dossier-{}", s.dossier);
    chrome
        .client
        .find(fantoccini::Locator::Css(&selector))
        .await
        .unwrap();
    act(
        &collegue,
        &s.procedure,
        s.dossier,
        "passer_en_instruction",
        None,
    )
    .await;
    chrome
        .wait()
        .for_element(fantoccini::Locator::Css("#dossiers-notice:not(:empty)"))
        .await
        .unwrap();
    assert!(
        chrome
            .client
            .find_all(fantoccini::Locator::Css(&selector))
            .await
            .unwrap()
            .is_empty()
    );
    let _ = chrome.client.clone().close().await;
}
