//! Accounts: sign-up with e-mail confirmation, sign-in with lockout and throttle,
//! sign-out, password reset, activation of invited accounts, CSRF, profile switch.
//! Real server, real PostgreSQL, real SMTP: links are followed from the mails received.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Browser, Page, TEST_PASSWORD, TestApp, link_in, seed};

const NEW_PASSWORD: &str = "Cerf-Volant-Indigo-77";
const WRONG: &str = "Adresse électronique ou mot de passe incorrect.";

/// A client sharing `browser`'s cookies that does not follow redirects, to look at
/// where a link leads and what message it leaves.
fn no_redirect(browser: &Browser) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(browser.jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The flash message set by a response, decoded: `(kind, message)` where kind is
/// "s" (success), "e" (error) or "i" (information).
fn flash(response: &reqwest::Response) -> Option<(String, String)> {
    response
        .cookies()
        .find(|c| c.name() == "demarches_flash" && !c.value().is_empty())
        .and_then(|c| {
            let (kind, message) = c.value().split_once(':')?;
            Some((kind.to_owned(), demarches::web::page::url_decode(message)))
        })
}

fn success(message: &str) -> Option<(String, String)> {
    Some(("s".to_owned(), message.to_owned()))
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn sign_up(browser: &Browser, from: &str, email: &str, password: &str) -> Page {
    let page = browser.get(from).await;
    assert_eq!(page.status, 200, "{}", page.body);
    browser
        .submit(
            &page,
            "form#sign-up",
            &[
                ("email", email),
                ("password", password),
                ("password_confirmation", password),
            ],
        )
        .await
}

async fn try_sign_in(browser: &Browser, email: &str, password: &str) -> Page {
    let page = browser.get("/users/sign_in").await;
    browser
        .submit(
            &page,
            "form#sign-in",
            &[("email", email), ("password", password)],
        )
        .await
}

/// Whether `browser` has a session: /profil answers instead of sending to sign-in.
async fn signed_in_as(browser: &Browser, email: &str) -> bool {
    let page = browser.get("/profil").await;
    page.status == 200
        && page.url.ends_with("/profil")
        && page.text("#profil-email").as_deref() == Some(email)
}

#[tokio::test]
async fn sign_up_confirms_by_mail_and_returns_to_the_demarche() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let email = "camille.durand@example.fr";

    let sent = sign_up(
        &browser,
        "/users/sign_up?return_to=/commencer/subvention",
        "Camille.Durand@example.fr",
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(sent.status, 200);
    assert!(sent.contains("Nous vous avons envoyé un e-mail"));
    assert!(sent.contains("Camille.Durand@example.fr"));

    // Not confirmed yet: the right password is not enough, and the page says why.
    let early = try_sign_in(&browser, email, NEW_PASSWORD).await;
    assert!(early.url.contains("/users/sign_in"));
    assert!(early.contains("Adresse électronique non confirmée"));
    assert!(early.contains("/users/confirmation/new?email="));

    let mail = app
        .mail
        .wait_for(email, "Confirmez votre adresse électronique")
        .await;
    let link = link_in(&mail.body, &format!("{}/users/confirmation", app.base));
    assert!(link.contains("return_to=/commencer/subvention"), "{link}");

    let response = no_redirect(&browser).get(&link).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/commencer/subvention");
    assert_eq!(flash(&response), success("Votre compte est activé."));
    assert!(signed_in_as(&browser, email).await);
    let profil = browser.get("/profil").await;
    assert_eq!(profil.text("#profil-actif").as_deref(), Some("Usager"));

    // The link works once; opened again, it sends to the sign-in page.
    let other = app.browser();
    let again = no_redirect(&other).get(&link).send().await.unwrap();
    assert_eq!(again.status(), 303);
    assert!(location(&again).starts_with("/users/sign_in"));
    assert_eq!(
        flash(&again),
        Some((
            "i".to_owned(),
            "Votre compte est déjà activé : connectez-vous.".to_owned()
        ))
    );
    assert!(!signed_in_as(&other, email).await);

    // The account now signs in with its password.
    let fresh = app.browser();
    fresh.sign_in(email, NEW_PASSWORD).await;
    assert!(signed_in_as(&fresh, email).await);
}

#[tokio::test]
async fn weak_password_is_refused_and_the_email_kept() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let email = "jean.martin@example.fr";

    let page = sign_up(&browser, "/users/sign_up", email, "soleil2024").await;
    assert_eq!(page.status, 422);
    assert!(page.url.ends_with("/users/sign_up"));
    assert_eq!(page.field("email").as_deref(), Some(email));
    assert_eq!(page.field("password").as_deref(), Some(""));
    assert_eq!(
        page.text("#password-error").as_deref(),
        Some("Le mot de passe doit comporter au moins 12 caractères.")
    );
    assert!(page.contains("aria-describedby=\"password-error\""));
    assert!(
        page.text("#error-summary")
            .unwrap()
            .contains("au moins 12 caractères")
    );

    let page = sign_up(&browser, "/users/sign_up", email, "Motdepasse123!").await;
    assert_eq!(page.status, 422);
    assert!(
        page.text("#password-error")
            .unwrap()
            .contains("trop facile à deviner")
    );

    // Confirmation that does not match.
    let form = browser.get("/users/sign_up").await;
    let page = browser
        .submit(
            &form,
            "form#sign-up",
            &[
                ("email", email),
                ("password", NEW_PASSWORD),
                ("password_confirmation", "Cerf-Volant-Indigo-78"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.text("#password_confirmation-error").as_deref(),
        Some("Les deux mots de passe ne sont pas identiques.")
    );
    assert_eq!(page.field("email").as_deref(), Some(email));

    // An invalid address is refused too, as typed.
    let page = sign_up(&browser, "/users/sign_up", "jean.martin@", NEW_PASSWORD).await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field("email").as_deref(), Some("jean.martin@"));
    assert!(
        page.text("#email-error")
            .unwrap()
            .contains("adresse électronique valide")
    );

    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 0, "no account is created by a refused form");
}

#[tokio::test]
async fn signing_up_with_a_confirmed_address_reveals_nothing_and_warns_the_owner() {
    let app = TestApp::spawn().await;
    let owner = "deja.inscrite@example.fr";
    app.account(owner, &[]).await;

    let browser = app.browser();
    let known = sign_up(&browser, "/users/sign_up", owner, NEW_PASSWORD).await;
    let unknown = sign_up(
        &app.browser(),
        "/users/sign_up",
        "nouvelle@example.fr",
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.text("h1"), unknown.text("h1"));
    assert_eq!(
        known.text("main .fr-alert").map(|t| t.replace(owner, "X")),
        unknown
            .text("main .fr-alert")
            .map(|t| t.replace("nouvelle@example.fr", "X"))
    );
    assert!(known.contains("Nous vous avons envoyé un e-mail"));

    let warning = app
        .mail
        .wait_for(owner, "Demande de création de compte")
        .await;
    assert!(warning.body.contains("un compte existe déjà"));
    link_in(&warning.body, &format!("{}/users/sign_in", app.base));
    link_in(&warning.body, &format!("{}/users/password/new", app.base));
    app.mail
        .wait_for(
            "nouvelle@example.fr",
            "Confirmez votre adresse électronique",
        )
        .await;
    assert!(
        app.mail
            .find(owner, "Confirmez votre adresse électronique")
            .is_empty()
    );

    // The attempt changed nothing: the owner's password still works.
    let owner_browser = app.browser();
    owner_browser.sign_in(owner, TEST_PASSWORD).await;
    assert!(signed_in_as(&owner_browser, owner).await);
    let failed = try_sign_in(&app.browser(), owner, NEW_PASSWORD).await;
    assert!(failed.contains(WRONG));
}

#[tokio::test]
async fn signing_up_again_before_confirming_sends_a_new_link() {
    let app = TestApp::spawn().await;
    let email = "distraite@example.fr";
    sign_up(&app.browser(), "/users/sign_up", email, NEW_PASSWORD).await;
    app.mail
        .wait_for(email, "Confirmez votre adresse électronique")
        .await;

    // From the sign-in page's message: ask for a new link.
    let browser = app.browser();
    let page = browser
        .get(&format!("/users/confirmation/new?email={email}"))
        .await;
    assert_eq!(page.field("email").as_deref(), Some(email));
    let sent = browser.submit(&page, "form#email-form", &[]).await;
    assert!(sent.contains("Nous vous avons envoyé un e-mail"));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while app
        .mail
        .find(email, "Confirmez votre adresse électronique")
        .len()
        < 2
    {
        assert!(std::time::Instant::now() < deadline, "second link not sent");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let links: Vec<String> = app
        .mail
        .find(email, "Confirmez votre adresse électronique")
        .iter()
        .map(|m| link_in(&m.body, &format!("{}/users/confirmation", app.base)))
        .collect();
    assert_ne!(links[0], links[1]);
    // Either link confirms the account.
    let response = no_redirect(&browser).get(&links[1]).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/dossiers");
    assert!(signed_in_as(&browser, email).await);
}

#[tokio::test]
async fn wrong_credentials_get_one_message_whether_the_account_exists_or_not() {
    let app = TestApp::spawn().await;
    let email = "usager@example.fr";
    app.account(email, &[]).await;
    let browser = app.browser();

    let wrong_password = try_sign_in(&browser, email, "Pas-Le-Bon-Mot-2!").await;
    let no_account = try_sign_in(&browser, "personne@example.fr", "Pas-Le-Bon-Mot-2!").await;
    for page in [&wrong_password, &no_account] {
        assert_eq!(page.status, 422);
        assert!(page.url.ends_with("/users/sign_in"));
        assert_eq!(page.text("[role=alert]").as_deref(), Some(WRONG));
        assert_eq!(page.field("password").as_deref(), Some(""));
    }
    assert_eq!(wrong_password.field("email").as_deref(), Some(email));
    assert!(!signed_in_as(&browser, email).await);

    // Empty fields are pointed out one by one.
    let form = browser.get("/users/sign_in").await;
    let empty = browser.submit(&form, "form#sign-in", &[]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.text("#email-error").is_some());
    assert!(empty.text("#password-error").is_some());
}

#[tokio::test]
async fn account_locks_after_repeated_failures_even_for_the_right_password() {
    let app = TestApp::spawn().await;
    let email = "cible@example.fr";
    let id = app.account(email, &[]).await;
    let max = app.config.security.max_failed_attempts;
    let browser = app.browser();

    for attempt in 1..max {
        let page = try_sign_in(&browser, email, "Mauvais-Essai-42!").await;
        assert!(page.contains(WRONG), "attempt {attempt}");
        if attempt == max - 1 {
            assert!(page.contains("après un nouvel échec, votre compte sera bloqué"));
        }
    }
    let locked = try_sign_in(&browser, email, "Mauvais-Essai-42!").await;
    let message = locked.text("[role=alert]").unwrap();
    assert!(message.contains("Votre compte est bloqué"), "{message}");
    assert!(message.contains(&format!("{} minutes", app.config.security.lock_minutes)));

    // The right password does not open a locked account.
    let right = try_sign_in(&browser, email, TEST_PASSWORD).await;
    assert!(
        right
            .text("[role=alert]")
            .unwrap()
            .contains("Votre compte est bloqué")
    );
    assert!(!signed_in_as(&browser, email).await);

    // Once the lock has expired, the right password works again.
    sqlx::query("update users set locked_until = now() - interval '1 second' where id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    browser.sign_in(email, TEST_PASSWORD).await;
    assert!(signed_in_as(&browser, email).await);
    let failed: i32 = sqlx::query_scalar("select failed_attempts from users where id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(failed, 0);
}

#[tokio::test]
async fn too_many_attempts_from_one_address_are_throttled() {
    let app = TestApp::spawn().await;
    let email = "victime@example.fr";
    app.account(email, &[]).await;
    let browser = app.browser();
    let token = browser.get("/users/sign_in").await.csrf().unwrap();
    // Every POST counts, even an incomplete one (which costs no password hashing).
    for attempt in 1..=25 {
        let page = browser
            .post_with_token(
                &token,
                "/users/sign_in",
                &[("email", email), ("password", "")],
            )
            .await;
        assert_eq!(page.status, 422, "attempt {attempt}");
    }
    // The 26th within 15 seconds is refused, even with the right password.
    let page = browser
        .post_with_token(
            &token,
            "/users/sign_in",
            &[("email", email), ("password", TEST_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 429);
    assert!(page.contains("Trop de tentatives"));
    assert!(!signed_in_as(&browser, email).await);
}

#[tokio::test]
async fn protected_page_sends_to_sign_in_and_back() {
    let app = TestApp::spawn().await;
    let email = "retour@example.fr";
    app.account(email, &[]).await;
    let browser = app.browser();
    let page = browser.get("/profil").await;
    assert!(
        page.url.contains("/users/sign_in?return_to=/profil"),
        "{}",
        page.url
    );
    let landed = browser
        .submit(
            &page,
            "form#sign-in",
            &[("email", email), ("password", TEST_PASSWORD)],
        )
        .await;
    assert!(landed.url.ends_with("/profil"), "{}", landed.url);
    assert_eq!(landed.text("#profil-email").as_deref(), Some(email));
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let email = "depart@example.fr";
    app.account(email, &[]).await;
    let browser = app.browser();
    browser.sign_in(email, TEST_PASSWORD).await;
    let profil = browser.get("/profil").await;
    assert_eq!(profil.status, 200);

    let home = browser
        .submit(&profil, "form[action=\"/users/sign_out\"]", &[])
        .await;
    assert!(home.url.ends_with('/'), "{}", home.url);
    assert!(home.contains("Vous êtes déconnecté(e)."));
    assert!(home.contains("Se connecter"));

    let after = browser.get("/profil").await;
    assert!(after.url.contains("/users/sign_in"), "{}", after.url);
    let sessions: i64 = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn password_reset_end_to_end() {
    let app = TestApp::spawn().await;
    let email = "oublieuse@example.fr";
    app.account(email, &[]).await;
    // Another device signed in before the reset.
    let other_device = app.browser();
    other_device.sign_in(email, TEST_PASSWORD).await;

    let browser = app.browser();
    let form = browser.get("/users/password/new").await;
    let sent = browser
        .submit(&form, "form#email-form", &[("email", email)])
        .await;
    assert!(sent.contains(&format!("Si un compte existe pour l’adresse {email}")));
    // The same answer for an address without account, and no mail.
    let form = browser.get("/users/password/new").await;
    let nobody = browser
        .submit(
            &form,
            "form#email-form",
            &[("email", "personne@example.fr")],
        )
        .await;
    assert!(nobody.contains("Si un compte existe pour l’adresse personne@example.fr"));

    let mail = app.mail.wait_for(email, "Changement de mot de passe").await;
    let link = link_in(&mail.body, &format!("{}/users/password/edit", app.base));
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(page.contains(email));

    // A weak password is refused with the rule.
    let weak = browser
        .submit(
            &page,
            "form#choose-password",
            &[("password", "azerty"), ("password_confirmation", "azerty")],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(
        weak.text("#password-error")
            .unwrap()
            .contains("12 caractères")
    );

    let done = browser
        .submit(
            &weak,
            "form#choose-password",
            &[
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(!done.url.contains("/users/password"), "{}", done.url);
    assert!(signed_in_as(&browser, email).await);
    // The other device was signed out.
    assert!(!signed_in_as(&other_device, email).await);

    // The old password no longer works, the new one does.
    assert!(
        try_sign_in(&app.browser(), email, TEST_PASSWORD)
            .await
            .contains(WRONG)
    );
    let fresh = app.browser();
    fresh.sign_in(email, NEW_PASSWORD).await;
    assert!(signed_in_as(&fresh, email).await);

    // The link cannot be used twice.
    let reused = app.browser().get(&link).await;
    assert_eq!(reused.status, 404);
    assert!(reused.contains("Ce lien n’est plus valide"));
    assert!(app.mail.find("personne@example.fr", "").is_empty());
}

#[tokio::test]
async fn password_reset_unlocks_a_locked_account() {
    let app = TestApp::spawn().await;
    let email = "bloquee@example.fr";
    let id = app.account(email, &[]).await;
    sqlx::query("update users set locked_until = now() + interval '1 hour' where id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    let browser = app.browser();
    browser
        .post(
            "/users/password/new",
            "/users/password/new",
            &[("email", email)],
        )
        .await;
    let mail = app.mail.wait_for(email, "Changement de mot de passe").await;
    let page = browser
        .get(&link_in(
            &mail.body,
            &format!("{}/users/password/edit", app.base),
        ))
        .await;
    browser
        .submit(
            &page,
            "form#choose-password",
            &[
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    let fresh = app.browser();
    fresh.sign_in(email, NEW_PASSWORD).await;
    assert!(signed_in_as(&fresh, email).await);
}

#[tokio::test]
async fn invited_instructeur_activates_the_account_then_signs_in() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let email = "nouvel.instructeur@example.gouv.fr";
    let mut conn = app.db.acquire().await.unwrap();
    demarches::accounts::invite::invite_instructeur(
        &mut conn,
        &app.config,
        email,
        procedure.groupe_id,
        &procedure.libelle,
    )
    .await
    .unwrap();
    drop(conn);

    // No password yet: signing in fails like any wrong password.
    assert!(try_sign_in(&app.browser(), email, "").await.status == 422);
    assert!(
        try_sign_in(&app.browser(), email, NEW_PASSWORD)
            .await
            .contains(WRONG)
    );

    let mail = app
        .mail
        .wait_for(email, "Activez votre compte instructeur")
        .await;
    assert!(mail.body.contains("Demande de subvention"));
    let link = link_in(&mail.body, &format!("{}/users/activate", app.base));
    let browser = app.browser();
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(page.contains(email));

    let mismatch = browser
        .submit(
            &page,
            "form#choose-password",
            &[
                ("password", NEW_PASSWORD),
                ("password_confirmation", "autre chose"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    assert!(
        mismatch
            .text("#password_confirmation-error")
            .unwrap()
            .contains("pas identiques")
    );

    let form = browser.get(&link).await;
    let response = {
        let token = form.field("token").unwrap();
        let csrf = form.csrf().unwrap();
        no_redirect(&browser)
            .post(format!("{}/users/activate", app.base))
            .form(&[
                ("authenticity_token", csrf.as_str()),
                ("token", token.as_str()),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ])
            .send()
            .await
            .unwrap()
    };
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/procedures");
    assert_eq!(flash(&response), success("Votre compte est activé."));
    let profil = browser.get("/profil").await;
    assert_eq!(profil.text("#profil-actif").as_deref(), Some("Instructeur"));

    // The link is spent; the account signs in with its new password.
    assert_eq!(app.browser().get(&link).await.status, 404);
    let later = app.browser();
    let landed = later.sign_in(email, NEW_PASSWORD).await;
    assert!(landed.url.ends_with("/procedures"), "{}", landed.url);
    assert!(signed_in_as(&later, email).await);
}

#[tokio::test]
async fn forms_posted_with_a_wrong_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let email = "csrf@example.fr";
    app.account(email, &[]).await;
    let browser = app.browser();
    browser.get("/users/sign_in").await;
    let page = browser
        .post_with_token(
            &"0".repeat(64),
            "/users/sign_in",
            &[("email", email), ("password", TEST_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(page.contains("Formulaire expiré"));
    assert!(!signed_in_as(&browser, email).await);

    // A forged sign-out does not end the session.
    browser.sign_in(email, TEST_PASSWORD).await;
    let forged = browser
        .post_with_token("forged", "/users/sign_out", &[])
        .await;
    assert_eq!(forged.status, 403);
    assert!(signed_in_as(&browser, email).await);

    // Nor does a forged sign-up create an account.
    let forged = browser
        .post_with_token(
            "forged",
            "/users/sign_up",
            &[
                ("email", "pirate@example.fr"),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let users: i64 =
        sqlx::query_scalar("select count(*) from users where email = 'pirate@example.fr'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn a_user_switches_between_the_profiles_of_the_account() {
    let app = TestApp::spawn().await;
    let email = "admin@example.gouv.fr";
    app.account(email, &["administrateur", "instructeur"]).await;
    let browser = app.browser();
    let landed = browser.sign_in(email, TEST_PASSWORD).await;
    assert!(landed.url.ends_with("/admin/procedures"), "{}", landed.url);

    let profil = browser.get("/profil").await;
    assert_eq!(
        profil.text("#profil-actif").as_deref(),
        Some("Administrateur")
    );
    let profils = profil.texts("#profils li");
    assert_eq!(profils.len(), 3, "{profils:?}");

    let response = {
        let csrf = profil.csrf().unwrap();
        no_redirect(&browser)
            .post(format!("{}/profil/switch", app.base))
            .form(&[
                ("authenticity_token", csrf.as_str()),
                ("profile", "instructeur"),
            ])
            .send()
            .await
            .unwrap()
    };
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/procedures");
    let profil = browser.get("/profil").await;
    assert_eq!(profil.text("#profil-actif").as_deref(), Some("Instructeur"));

    // Through the page's own button, back to usager.
    let page = browser.submit(&profil, "form#switch-usager", &[]).await;
    assert!(page.url.ends_with("/dossiers"), "{}", page.url);
    let profil = browser.get("/profil").await;
    assert_eq!(profil.text("#profil-actif").as_deref(), Some("Usager"));

    // A profile the account does not have is refused.
    let refused = browser
        .post("/profil", "/profil/switch", &[("profile", "expert")])
        .await;
    assert!(refused.url.ends_with("/profil"), "{}", refused.url);
    assert!(refused.contains("Votre compte n’a pas accès à ce profil."));
    assert_eq!(refused.text("#profil-actif").as_deref(), Some("Usager"));
}
