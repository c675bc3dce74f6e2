//! The first journey end to end, through the pages only, with every e-mail received by a
//! real SMTP server: an administrateur builds and publishes a démarche and names an
//! instructeur; an usager signs up, fills, saves, deposits and edits; the instructeur
//! activates its account, instructs, decides, reconsiders and decides again.

mod common;

use common::{TEST_PASSWORD, TestApp, id_after, link_in};

#[tokio::test]
async fn from_an_empty_platform_to_a_decision() {
    let app = TestApp::spawn().await;

    // --- The administrateur builds the démarche.
    let admin = app
        .signed_in(
            "admin@ville.gouv.fr",
            &["administrateur", "instructeur"],
            "administrateur",
        )
        .await;
    let new = admin.get("/admin/procedures/new").await;
    let created = admin
        .submit(
            &new,
            "form#new-procedure",
            &[
                ("libelle", "Permis de végétaliser"),
                (
                    "description",
                    "Demandez l’autorisation de végétaliser un pied d’arbre.",
                ),
                ("organisation", "Ville de Lyon"),
                ("public", "particuliers"),
                ("path", ""),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let procedure_id = id_after(&created.url, "/admin/procedures/");

    let champs_url = format!("/admin/procedures/{procedure_id}/champs");
    for (type_champ, libelle, mandatory, options) in [
        ("text", "Adresse du pied d’arbre", true, ""),
        ("integer_number", "Surface en m²", false, ""),
        ("date", "Date souhaitée", true, ""),
        (
            "drop_down_list",
            "Type de plantation",
            true,
            "Fleurs\nAromatiques\nPotager",
        ),
        ("email", "E-mail de contact", false, ""),
        ("phone", "Téléphone", false, ""),
        ("checkbox", "J’accepte la charte", true, ""),
    ] {
        let page = admin.get(&champs_url).await;
        let mut fields = vec![
            ("type_champ", type_champ),
            ("libelle", libelle),
            ("drop_down_options", options),
        ];
        if !mandatory {
            fields.push(("mandatory", ""));
        }
        let added = admin.submit(&page, "form#add-champ", &fields).await;
        assert_eq!(added.status, 200, "{}", added.body);
    }
    let champs: Vec<(i64, String, bool)> = sqlx::query_as(
        "select t.stable_id, t.libelle, t.mandatory from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 order by t.position",
    )
    .bind(procedure_id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(champs.len(), 7);
    let stable = |libelle: &str| {
        champs
            .iter()
            .find(|(_, l, _)| l == libelle)
            .map(|(id, _, _)| format!("champ_{id}"))
            .unwrap()
    };

    let instructeurs_url = format!("/admin/procedures/{procedure_id}/instructeurs");
    let page = admin.get(&instructeurs_url).await;
    admin
        .submit(
            &page,
            "form#add-instructeur",
            &[("email", "instructrice@ville.gouv.fr")],
        )
        .await;
    let invitation = app
        .mail
        .wait_for(
            "instructrice@ville.gouv.fr",
            "Activez votre compte instructeur",
        )
        .await;
    assert!(invitation.body.contains("Permis de végétaliser"));

    let page = admin
        .get(&format!("/admin/procedures/{procedure_id}/publication"))
        .await;
    let published = admin
        .submit(&page, "form#publish", &[("path", "vegetaliser")])
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert!(published.contains("/commencer/vegetaliser"));

    // --- The usager arrives by the public link and creates an account.
    let usager = app.browser();
    let commencer = usager.get("/commencer/vegetaliser").await;
    assert!(commencer.contains("Permis de végétaliser"));
    let sign_up = usager
        .get("/users/sign_up?return_to=/commencer/vegetaliser")
        .await;
    let sent = usager
        .submit(
            &sign_up,
            "form#sign-up",
            &[
                ("email", "camille@example.fr"),
                ("password", TEST_PASSWORD),
                ("password_confirmation", TEST_PASSWORD),
            ],
        )
        .await;
    assert_eq!(sent.status, 200);
    let confirmation = app
        .mail
        .wait_for("camille@example.fr", "Confirmez votre adresse électronique")
        .await;
    let back = usager.get(&link_in(&confirmation.body, &app.base)).await;
    assert!(back.url.ends_with("/commencer/vegetaliser"), "{}", back.url);

    let brouillon = usager.submit(&back, "form#commencer", &[]).await;
    let dossier_id = id_after(&brouillon.url, "/dossiers/");
    let typed: Vec<(String, &str)> = vec![
        ("civilite".to_owned(), "Mme"),
        ("nom".to_owned(), "Martin"),
        ("prenom".to_owned(), "Camille"),
        (stable("Adresse du pied d’arbre"), "12 rue des Tilleuls"),
        (stable("Surface en m²"), "3"),
        (stable("Date souhaitée"), "15/04/2027"),
        (stable("Type de plantation"), "Aromatiques"),
        (stable("E-mail de contact"), "camille@example.fr"),
        (stable("Téléphone"), "06 12 34 56 78"),
    ];
    let form_fields: Vec<(&str, &str)> = typed.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    // Save a brouillon without the mandatory checkbox: saved, not deposited.
    let saved = usager
        .submit_with_button(
            &brouillon,
            "form#dossier-form",
            &form_fields,
            Some(("action", "save")),
        )
        .await;
    assert!(
        saved.contains("Votre brouillon a bien été enregistré"),
        "{}",
        saved.body
    );
    // Depositing without the checkbox is refused, nothing typed is lost.
    let refused = usager
        .submit_with_button(&saved, "form#dossier-form", &[], Some(("action", "submit")))
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.contains("La case « J’accepte la charte » doit être cochée."));
    assert_eq!(
        refused.field(&stable("Adresse du pied d’arbre")).as_deref(),
        Some("12 rue des Tilleuls")
    );
    let checkbox = stable("J’accepte la charte");
    let deposited = usager
        .submit_with_button(
            &refused,
            "form#dossier-form",
            &[(checkbox.as_str(), "on")],
            Some(("action", "submit")),
        )
        .await;
    assert!(
        deposited.contains("Votre dossier a bien été déposé"),
        "{}",
        deposited.body
    );
    app.mail
        .wait_for(
            "camille@example.fr",
            &format!("Votre dossier n° {dossier_id} a bien été déposé (Permis de végétaliser)"),
        )
        .await;
    let mes_dossiers = usager.get("/dossiers").await;
    assert!(mes_dossiers.contains(&format!("{dossier_id}")));
    assert!(mes_dossiers.contains("Permis de végétaliser"));

    // The usager edits the dossier while it is en construction.
    let modifier = usager
        .get(&format!("/dossiers/{dossier_id}/modifier"))
        .await;
    let surface = stable("Surface en m²");
    let modified = usager
        .submit_with_button(
            &modifier,
            "form#dossier-form",
            &[(surface.as_str(), "4")],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(modified.status, 200, "{}", modified.body);

    // --- The instructrice activates her account from the invitation.
    let instructrice = app.browser();
    let activate = instructrice
        .get(&link_in(&invitation.body, &app.base))
        .await;
    let home = instructrice
        .submit(
            &activate,
            "form#choose-password",
            &[
                ("password", TEST_PASSWORD),
                ("password_confirmation", TEST_PASSWORD),
            ],
        )
        .await;
    assert!(home.url.ends_with("/procedures"), "{}", home.url);
    assert!(home.contains("Permis de végétaliser"));
    let table = instructrice
        .get(&format!("/procedures/{procedure_id}?statut=a-suivre"))
        .await;
    assert!(table.contains(&format!("dossier-{dossier_id}")));

    let dossier_url = format!("/procedures/{procedure_id}/dossiers/{dossier_id}");
    let page = instructrice.get(&dossier_url).await;
    assert!(page.contains("12 rue des Tilleuls"));
    assert!(page.contains("15/04/2027"));
    let page = instructrice
        .submit(&page, "form#form-passer_en_instruction", &[])
        .await;
    app.mail
        .wait_for("camille@example.fr", "va être examiné")
        .await;
    let page = instructrice
        .submit(
            &page,
            "form#form-accepter",
            &[("motivation", "Projet conforme à la charte.")],
        )
        .await;
    let accepte = app
        .mail
        .wait_for("camille@example.fr", "a été accepté")
        .await;
    assert!(accepte.body.contains("Projet conforme à la charte."));
    let page = instructrice
        .submit(&page, "form#form-repasser_en_instruction", &[])
        .await;
    app.mail.wait_for("camille@example.fr", "réexaminé").await;
    let page = instructrice
        .submit(
            &page,
            "form#form-refuser",
            &[("motivation", "Le pied d’arbre est réservé.")],
        )
        .await;
    assert!(page.contains("Refusé"), "{}", page.body);
    let refus = app
        .mail
        .wait_for("camille@example.fr", "a été refusé")
        .await;
    assert!(refus.body.contains("Le pied d’arbre est réservé."));

    // The usager sees the decision and its motivation.
    let vue = usager.get(&format!("/dossiers/{dossier_id}")).await;
    assert!(vue.contains("Refusé"));
    assert!(vue.contains("Le pied d’arbre est réservé."));

    // The audit trail: one event per version, no gap, and one traitement per state change.
    let versions: Vec<i32> = sqlx::query_scalar(
        "select version from dossier_events where dossier_id = $1 order by version",
    )
    .bind(dossier_id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let lock_version: i32 = sqlx::query_scalar("select lock_version from dossiers where id = $1")
        .bind(dossier_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(versions, (0..=lock_version).collect::<Vec<_>>());
    let states: Vec<String> = sqlx::query_scalar(
        "select state::text from traitements where dossier_id = $1 order by processed_at, id",
    )
    .bind(dossier_id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        states,
        [
            "en_construction",
            "en_instruction",
            "accepte",
            "en_instruction",
            "refuse"
        ]
    );
}
