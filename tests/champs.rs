//! Every champ type beyond the basic ones, end to end: an administrateur adds one of each
//! through the builder, an usager fills them (refused values first, each with its message
//! on its field and everything typed kept), deposits, and the instructeur reads them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::{Page, TestApp, add_champ, attr, procedure_id, start_brouillon};
use serde_json::{Value, json};

const ADMIN: &str = "admin@example.gouv.fr";
const USAGER: &str = "camille.durand@example.fr";

fn has(page: &Page, css: &str) -> bool {
    let html = page.html();
    let sel = scraper::Selector::parse(css).unwrap();
    html.select(&sel).next().is_some()
}

/// The champs of the démarche, by libellé: (stable id, options).
async fn champs(app: &TestApp, id: i64) -> HashMap<String, (i64, Value)> {
    let rows: Vec<(String, i64, Value)> = sqlx::query_as(
        "select t.libelle, t.stable_id, t.options
         from types_de_champ t join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    rows.into_iter().map(|(l, s, o)| (l, (s, o))).collect()
}

async fn stored(app: &TestApp, dossier: i64) -> HashMap<i64, Value> {
    let rows: Vec<(i64, Value)> =
        sqlx::query_as("select stable_id, value from champs where dossier_id = $1")
            .bind(dossier)
            .fetch_all(&app.db)
            .await
            .unwrap();
    rows.into_iter().collect()
}

#[tokio::test]
async fn every_new_champ_type_from_the_builder_to_the_instructeur() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let form = admin.get("/admin/procedures/new").await;
    let created = admin
        .submit(
            &form,
            "form#new-procedure",
            &[
                ("libelle", "Tous les champs"),
                ("description", "Une démarche pour les tests."),
                ("organisation", "Ministère des tests"),
                ("path", ""),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = procedure_id(&created);

    // The builder refuses incomplete options, with their messages.
    let refused = add_champ(
        &admin,
        id,
        &[
            ("type_champ", "linked_drop_down_list"),
            ("libelle", "Produit"),
            ("drop_down_options", "Pomme\n--Fruits--"),
        ],
    )
    .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.text("#drop_down_options-error").as_deref(),
        Some("Chaque valeur secondaire doit suivre une valeur principale (--Valeur principale--).")
    );
    let refused = add_champ(
        &admin,
        id,
        &[("type_champ", "formatted"), ("libelle", "Code")],
    )
    .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .text("#error-summary")
            .unwrap()
            .contains("Choisissez au moins un type de caractères autorisés.")
    );

    let definitions: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("type_champ", "header_section"),
            ("libelle", "Votre structure"),
            ("header_level", "2"),
        ],
        vec![
            ("type_champ", "explication"),
            ("libelle", "À savoir"),
            ("collapsible_explanation_enabled", "on"),
            ("collapsible_explanation_text", "Le texte replié."),
        ],
        vec![("type_champ", "decimal_number"), ("libelle", "Surface")],
        vec![("type_champ", "datetime"), ("libelle", "Rendez-vous")],
        vec![
            ("type_champ", "civilite"),
            ("libelle", "Civilité du représentant"),
        ],
        vec![("type_champ", "yes_no"), ("libelle", "Déjà aidé")],
        vec![
            ("type_champ", "multiple_drop_down_list"),
            ("libelle", "Couleurs"),
            ("drop_down_options", "Rouge\nVert\nBleu"),
        ],
        vec![
            ("type_champ", "drop_down_list"),
            ("libelle", "Boisson"),
            ("drop_down_options", "Thé\nCafé"),
            ("drop_down_other", "on"),
        ],
        vec![
            ("type_champ", "linked_drop_down_list"),
            ("libelle", "Produit"),
            (
                "drop_down_options",
                "--Fruits--\nPomme\nPoire\n--Légumes--\nPoireau",
            ),
        ],
        vec![("type_champ", "engagement"), ("libelle", "Je m’engage")],
        vec![("type_champ", "siret"), ("libelle", "SIRET")],
        vec![("type_champ", "iban"), ("libelle", "IBAN")],
        vec![("type_champ", "rna"), ("libelle", "RNA")],
        vec![
            ("type_champ", "formatted"),
            ("libelle", "Code"),
            ("numbers_accepted", "on"),
            ("min_character_length", "5"),
            ("max_character_length", "5"),
        ],
        vec![("type_champ", "address"), ("libelle", "Adresse")],
        vec![("type_champ", "dossier_link"), ("libelle", "Dossier lié")],
        vec![("type_champ", "pays"), ("libelle", "Pays de naissance")],
        vec![("type_champ", "regions"), ("libelle", "Région")],
        vec![("type_champ", "departements"), ("libelle", "Département")],
        vec![("type_champ", "communes"), ("libelle", "Commune")],
        vec![("type_champ", "epci"), ("libelle", "Intercommunalité")],
    ];
    // Every champ is mandatory (the builder's default).
    for fields in &definitions {
        let page = add_champ(&admin, id, fields).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.contains(&format!("Le champ « {} » a bien été ajouté.", fields[1].1)),
            "{}",
            fields[1].1
        );
    }
    let defs = champs(&app, id).await;
    assert_eq!(defs["Votre structure"].1, json!({"header_level": 2}));
    assert_eq!(
        defs["À savoir"].1,
        json!({"collapsible_explanation_enabled": true,
               "collapsible_explanation_text": "Le texte replié."})
    );
    assert_eq!(
        defs["Boisson"].1,
        json!({"drop_down_options": ["Thé", "Café"], "drop_down_other": true})
    );
    assert_eq!(
        defs["Code"].1,
        json!({"letters_accepted": false, "numbers_accepted": true,
               "special_characters_accepted": false,
               "min_character_length": 5, "max_character_length": 5})
    );
    assert_eq!(defs["Surface"].1, json!({}));
    let builder = admin.get(&format!("/admin/procedures/{id}/champs")).await;
    for t in [
        "Nombre décimal",
        "Deux menus déroulants liés",
        "Champ formaté",
    ] {
        assert!(builder.contains(t), "{t}");
    }

    // Published (the creator instructs the default groupe).
    let publication = admin
        .get(&format!("/admin/procedures/{id}/publication"))
        .await;
    let published = admin
        .submit(&publication, "form#publish", &[("path", "tous-les-champs")])
        .await;
    assert!(
        published.contains("La démarche est publiée."),
        "{}",
        published.body
    );

    // The usager's widgets.
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (other_brouillon, _) = start_brouillon(&usager, "/commencer/tous-les-champs").await;
    let (dossier, form) = start_brouillon(&usager, "/commencer/tous-les-champs").await;
    let n = |libelle: &str| format!("champ_{}", defs[libelle].0);
    assert_eq!(
        form.text(&format!("h3#{}", n("Votre structure")))
            .as_deref(),
        Some("Votre structure")
    );
    assert_eq!(
        form.text(&format!("#{} details summary", n("À savoir")))
            .as_deref(),
        Some("En savoir plus")
    );
    assert!(form.contains("Le texte replié."));
    assert_eq!(
        attr(&form, &format!("#{}", n("Rendez-vous")), "type").as_deref(),
        Some("datetime-local")
    );
    assert_eq!(
        attr(&form, &format!("#{}", n("Surface")), "inputmode").as_deref(),
        Some("decimal")
    );
    for (libelle, kind) in [
        ("Civilité du représentant", "radio"),
        ("Déjà aidé", "radio"),
        ("Couleurs", "checkbox"),
    ] {
        let legend = format!("fieldset#{}-fieldset legend", n(libelle));
        assert!(
            form.text(&legend).unwrap().starts_with(libelle),
            "{libelle}"
        );
        assert_eq!(
            attr(&form, &format!("#{}", n(libelle)), "type").as_deref(),
            Some(kind)
        );
    }
    assert_eq!(
        form.texts(&format!("fieldset#{}-fieldset label", n("Déjà aidé"))),
        vec!["Oui", "Non"]
    );
    assert!(has(
        &form,
        &format!("select#{} option[value=\"__autre__\"]", n("Boisson"))
    ));
    assert!(has(&form, &format!("input#{}_other", n("Boisson"))));
    assert_eq!(
        form.texts(&format!("select#{} option", n("Produit"))),
        vec!["Sélectionnez une option", "Fruits", "Légumes"]
    );
    assert!(has(
        &form,
        &format!(
            "select#{}_secondary optgroup[label=\"Légumes\"] option[value=\"Poireau\"]",
            n("Produit")
        )
    ));
    assert_eq!(
        attr(&form, &format!("#{}", n("Je m’engage")), "type").as_deref(),
        Some("checkbox")
    );
    // Geographic lists from the referentials (the test fixtures).
    for (libelle, code, label) in [
        ("Pays de naissance", "FR", "France"),
        ("Région", "32", "Hauts-de-France"),
        ("Département", "60", "60 – Oise"),
        ("Intercommunalité", "200054781", "Métropole du Grand Paris"),
    ] {
        assert_eq!(
            form.text(&format!("select#{} option[value=\"{code}\"]", n(libelle)))
                .as_deref(),
            Some(label),
            "{libelle}"
        );
    }
    assert_eq!(
        attr(&form, &format!("#{}", n("Commune")), "type").as_deref(),
        Some("text")
    );
    assert!(
        form.contains("Caractères autorisés : chiffres. 5 caractères."),
        "formatted hint"
    );

    // Every refused value at once: each message on its field, everything typed kept.
    let identity = [
        ("civilite", "Mme"),
        ("nom", "Durand"),
        ("prenom", "Camille"),
    ];
    let invalid: Vec<(String, &str)> = vec![
        (n("Surface"), "douze"),
        (n("Rendez-vous"), "2026-02-30T10:00"),
        (n("Civilité du représentant"), "Mlle"),
        (n("Déjà aidé"), "peut-être"),
        (n("Couleurs"), "Rouge"),
        (n("Couleurs"), "Jaune"),
        (n("Boisson"), "__autre__"),
        (format!("{}_other", n("Boisson")), " "),
        (n("Produit"), "Légumes"),
        (format!("{}_secondary", n("Produit")), "Pomme"),
        (n("SIRET"), "123 456 789 01234"),
        (n("IBAN"), "FR76 3000 6000 0112 3456 7890 188"),
        (n("RNA"), "W12"),
        (n("Code"), "12a45"),
        (n("Dossier lié"), "999999"),
        (n("Adresse"), "20 avenue de Ségur, 75007 Paris"),
        (n("Pays de naissance"), "ZZ"),
        (n("Commune"), "60400"),
    ];
    let mut fields: Vec<(&str, &str)> = invalid.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    fields.extend(identity);
    let refused = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &fields,
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let error = |libelle: &str| refused.text(&format!("#{}-error", n(libelle)));
    for (libelle, message) in [
        (
            "Surface",
            "« Surface » doit être un nombre décimal, par exemple 12,5 ou 1 000,25.",
        ),
        (
            "Rendez-vous",
            "« Rendez-vous » doit être une date et une heure valides (JJ/MM/AAAA HH:MM).",
        ),
        (
            "Civilité du représentant",
            "« Civilité du représentant » : choisissez « M. » ou « Mme ».",
        ),
        ("Déjà aidé", "« Déjà aidé » : répondez par Oui ou par Non."),
        (
            "Couleurs",
            "« Couleurs » : choisissez des valeurs de la liste.",
        ),
        (
            "Boisson",
            "« Boisson » : précisez votre réponse dans le champ « Autre ».",
        ),
        (
            "Produit",
            "« Produit » : « Pomme » n’est pas un choix possible pour « Légumes ».",
        ),
        ("Je m’engage", "La case « Je m’engage » doit être cochée."),
        ("SIRET", "Le numéro SIRET n’est pas valide."),
        (
            "IBAN",
            "« IBAN » doit être un IBAN valide, par exemple FR76 3000 6000 0112 3456 7890 189.",
        ),
        (
            "RNA",
            "« RNA » doit être un numéro RNA : la lettre W suivie de 9 chiffres, par exemple W751234567.",
        ),
        ("Code", "« Code » ne doit contenir que des chiffres."),
        ("Dossier lié", "Le dossier n° 999999 n’existe pas."),
        (
            "Pays de naissance",
            "« Pays de naissance » : choisissez une valeur de la liste.",
        ),
        ("Région", "Le champ « Région » doit être rempli."),
    ] {
        assert_eq!(error(libelle).as_deref(), Some(message), "{libelle}");
    }
    assert_eq!(error("Adresse"), None);
    let ambiguous = error("Commune").unwrap();
    assert!(
        ambiguous.starts_with(
            "Plusieurs communes correspondent à « 60400 » : Appilly (60400), Babœuf (60400),"
        ),
        "{ambiguous}"
    );
    assert!(
        ambiguous.contains(" autres. Précisez le nom et le code postal"),
        "{ambiguous}"
    );
    for (libelle, typed) in [
        ("Surface", "douze"),
        ("Rendez-vous", "2026-02-30T10:00"),
        ("SIRET", "123 456 789 01234"),
        ("IBAN", "FR76 3000 6000 0112 3456 7890 188"),
        ("RNA", "W12"),
        ("Code", "12a45"),
        ("Dossier lié", "999999"),
        ("Adresse", "20 avenue de Ségur, 75007 Paris"),
        ("Commune", "60400"),
    ] {
        assert_eq!(
            attr(&refused, &format!("input#{}", n(libelle)), "value").as_deref(),
            Some(typed),
            "{libelle}"
        );
    }
    assert!(has(
        &refused,
        &format!(
            "input[name=\"{}\"][value=\"Rouge\"][checked]",
            n("Couleurs")
        )
    ));
    assert!(has(
        &refused,
        &format!(
            "select#{} option[value=\"__autre__\"][selected]",
            n("Boisson")
        )
    ));
    assert!(has(
        &refused,
        &format!(
            "select#{} option[value=\"Légumes\"][selected]",
            n("Produit")
        )
    ));
    assert!(has(
        &refused,
        &format!(
            "select#{}_secondary optgroup[label=\"Fruits\"] option[value=\"Pomme\"][selected]",
            n("Produit")
        )
    ));
    assert_eq!(
        attr(&refused, &format!("#{}", n("Surface")), "aria-describedby").as_deref(),
        Some(format!("{}-error", n("Surface")).as_str())
    );

    // Valid values: deposited, stored in their shapes.
    let valid: Vec<(String, String)> = vec![
        (n("Surface"), "1 250,5".into()),
        (n("Rendez-vous"), "2026-03-01T14:30".into()),
        (n("Civilité du représentant"), "Mme".into()),
        (n("Déjà aidé"), "false".into()),
        (n("Couleurs"), "Bleu".into()),
        (n("Couleurs"), "Rouge".into()),
        (n("Boisson"), "__autre__".into()),
        (format!("{}_other", n("Boisson")), "Chocolat chaud".into()),
        (n("Produit"), "Fruits".into()),
        (format!("{}_secondary", n("Produit")), "Poire".into()),
        (n("Je m’engage"), "on".into()),
        (n("SIRET"), "732 829 320 00074".into()),
        (n("IBAN"), "fr76 3000 6000 0112 3456 7890 189".into()),
        (n("RNA"), "W751234567".into()),
        (n("Code"), "75007".into()),
        (n("Dossier lié"), other_brouillon.to_string()),
        (n("Pays de naissance"), "FR".into()),
        (n("Région"), "32".into()),
        (n("Département"), "60".into()),
        (n("Commune"), "coye la foret".into()),
        (n("Intercommunalité"), "200054781".into()),
    ];
    let mut fields: Vec<(&str, &str)> = valid
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    fields.extend(identity);
    let deposited = usager
        .submit_with_button(
            &refused,
            "form#dossier-form",
            &fields,
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    let state: String = sqlx::query_scalar("select state::text from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "en_construction");
    let values = stored(&app, dossier).await;
    let v = |libelle: &str| values.get(&defs[libelle].0).cloned();
    assert_eq!(v("Surface"), Some(json!(1250.5)));
    assert_eq!(v("Rendez-vous"), Some(json!("2026-03-01T14:30")));
    assert_eq!(v("Civilité du représentant"), Some(json!("Mme")));
    assert_eq!(v("Déjà aidé"), Some(json!(false)));
    assert_eq!(v("Couleurs"), Some(json!(["Rouge", "Bleu"])));
    assert_eq!(v("Boisson"), Some(json!("Chocolat chaud")));
    assert_eq!(
        v("Produit"),
        Some(json!({"primary": "Fruits", "secondary": "Poire"}))
    );
    assert_eq!(v("Je m’engage"), Some(json!(true)));
    assert_eq!(v("SIRET"), Some(json!("73282932000074")));
    assert_eq!(v("IBAN"), Some(json!("FR7630006000011234567890189")));
    assert_eq!(v("RNA"), Some(json!("W751234567")));
    assert_eq!(v("Code"), Some(json!("75007")));
    assert_eq!(v("Dossier lié"), Some(json!(other_brouillon)));
    assert_eq!(v("Adresse"), Some(json!("20 avenue de Ségur, 75007 Paris")));
    assert_eq!(
        v("Pays de naissance"),
        Some(json!({"code": "FR", "name": "France"}))
    );
    assert_eq!(
        v("Région"),
        Some(json!({"code": "32", "name": "Hauts-de-France"}))
    );
    assert_eq!(
        v("Département"),
        Some(json!({"code": "60", "name": "Oise"}))
    );
    assert_eq!(
        v("Commune"),
        Some(
            json!({"code": "60172", "name": "Coye-la-Forêt", "postal_code": "60580",
                    "departement": "60"})
        )
    );
    assert_eq!(
        v("Intercommunalité"),
        Some(json!({"code": "200054781", "name": "Métropole du Grand Paris"}))
    );

    // The modification form shows the stored values back.
    let edit = usager.get(&format!("/dossiers/{dossier}/modifier")).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(has(
        &edit,
        &format!(
            "select#{} option[value=\"__autre__\"][selected]",
            n("Boisson")
        )
    ));
    assert_eq!(
        attr(&edit, &format!("input#{}_other", n("Boisson")), "value").as_deref(),
        Some("Chocolat chaud")
    );
    assert_eq!(
        attr(&edit, &format!("input#{}", n("Surface")), "value").as_deref(),
        Some("1250,5")
    );
    assert!(has(
        &edit,
        &format!(
            "input[name=\"{}\"][value=\"false\"][checked]",
            n("Déjà aidé")
        )
    ));
    assert_eq!(
        attr(&edit, &format!("input#{}", n("Commune")), "value").as_deref(),
        Some("Coye-la-Forêt (60580)")
    );
    assert!(has(
        &edit,
        &format!("select#{} option[value=\"60\"][selected]", n("Département"))
    ));

    let expected = [
        ("Surface", "1250,5"),
        ("Rendez-vous", "01/03/2026 à 14:30"),
        ("Civilité du représentant", "Mme"),
        ("Déjà aidé", "Non"),
        ("Couleurs", "Rouge, Bleu"),
        ("Boisson", "Chocolat chaud"),
        ("Produit", "Fruits / Poire"),
        ("Je m’engage", "Oui"),
        ("SIRET", "732 829 320 00074"),
        ("IBAN", "FR76 3000 6000 0112 3456 7890 189"),
        ("RNA", "W751234567"),
        ("Code", "75007"),
        ("Adresse", "20 avenue de Ségur, 75007 Paris"),
        ("Pays de naissance", "France"),
        ("Région", "Hauts-de-France"),
        ("Département", "60 – Oise"),
        ("Commune", "Coye-la-Forêt (60580)"),
        ("Intercommunalité", "Métropole du Grand Paris"),
    ];

    // The usager's summary: the linked dossier is theirs, so a link.
    let summary = usager.get(&format!("/dossiers/{dossier}")).await;
    assert_eq!(summary.status, 200);
    let text = summary.text("#champs").unwrap();
    for (libelle, shown) in expected {
        assert!(
            text.contains(&format!("{libelle} {shown}")),
            "{libelle}: {text}"
        );
    }
    assert_eq!(
        attr(&summary, "#champs dd a", "href"),
        Some(format!("/dossiers/{other_brouillon}"))
    );

    // The instructeur's page: every value; a brouillon of the usager is no link for them.
    let instructeur = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "instructeur")
        .await;
    let page = instructeur
        .get(&format!("/procedures/{id}/dossiers/{dossier}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let text = page.text("#demande").unwrap();
    for (libelle, shown) in expected {
        assert!(
            text.contains(&format!("{libelle} {shown}")),
            "{libelle}: {text}"
        );
    }
    assert!(text.contains(&format!("Dossier lié {other_brouillon}")));
    assert!(!has(&page, "#demande dd a"));

    // Pointing at a dossier of someone else in the same groupe: a link for the
    // instructeur, a bare number for the usager.
    let (groupe, revision): (i64, i64) = sqlx::query_as(
        "select defaut_groupe_instructeur_id, published_revision_id from procedures where id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let someone = common::seed::user_id(&app.db, "dominique@example.fr").await;
    let theirs: i64 = sqlx::query_scalar(
        "insert into dossiers (procedure_id, revision_id, user_id, state, groupe_instructeur_id,
           depose_at, en_construction_at)
         values ($1, $2, $3, 'en_construction', $4, now(), now()) returning id",
    )
    .bind(id)
    .bind(revision)
    .bind(someone)
    .bind(groupe)
    .fetch_one(&app.db)
    .await
    .unwrap();
    sqlx::query("update champs set value = $3 where dossier_id = $1 and stable_id = $2")
        .bind(dossier)
        .bind(defs["Dossier lié"].0)
        .bind(json!(theirs))
        .execute(&app.db)
        .await
        .unwrap();
    let page = instructeur
        .get(&format!("/procedures/{id}/dossiers/{dossier}"))
        .await;
    assert_eq!(
        attr(&page, "#demande dd a", "href"),
        Some(format!("/procedures/{id}/dossiers/{theirs}"))
    );
    let summary = usager.get(&format!("/dossiers/{dossier}")).await;
    assert!(!has(&summary, "#champs dd a"));
    assert!(
        summary
            .text("#champs")
            .unwrap()
            .contains(&format!("Dossier lié {theirs}"))
    );
}
