//! Pages of the accounts area: sign-up and e-mail confirmation, sign-in and sign-out,
//! password reset, activation of invited accounts, profile page and profile switch.
//! The rules live in `crate::accounts::service`; these handlers read forms and render.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::accounts::service::{
    self, Authenticated, Confirmation, HashSlots, INVALID_EMAIL, Roles, SignIn,
};
use crate::accounts::store::TokenPurpose;
use crate::accounts::throttle::LoginThrottle;
use crate::state::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, AppResult};
use crate::web::form::FormErrors;
use crate::web::page::{
    FlashKind, Page, redirect, redirect_with, render, render_status, safe_return_to, url_encode,
};
use crate::web::session::{self, CurrentUser, MaybeUser, Profile, SessionUser};

pub fn routes(cfg: &mut web::ServiceConfig) {
    // `routes` runs once per HTTP worker: each worker counts sign-in attempts on its own
    // (see `LoginThrottle`) and bounds its own password hashing (see `HashSlots`).
    cfg.app_data(web::Data::new(LoginThrottle::sign_in()))
        .app_data(web::Data::new(HashSlots::default()))
        .route("/users/sign_up", web::get().to(sign_up_form))
        .route("/users/sign_up", web::post().to(sign_up))
        .route("/users/confirmation", web::get().to(confirm))
        .route("/users/confirmation", web::post().to(resend_confirmation))
        .route(
            "/users/confirmation/new",
            web::get().to(resend_confirmation_form),
        )
        .route("/users/sign_in", web::get().to(sign_in_form))
        .route("/users/sign_in", web::post().to(sign_in))
        .route("/users/sign_out", web::post().to(sign_out))
        .route("/users/password/new", web::get().to(password_new_form))
        .route("/users/password/new", web::post().to(password_new))
        .route("/users/password/edit", web::get().to(password_edit_form))
        .route("/users/password/edit", web::post().to(password_edit))
        .route("/users/activate", web::get().to(activate_form))
        .route("/users/activate", web::post().to(activate))
        .route("/profil", web::get().to(profil))
        .route("/profil/switch", web::post().to(switch_profile));
}

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
const WRONG_CREDENTIALS: &str = "Adresse électronique ou mot de passe incorrect.";
const PASSWORD_HINT: &str = "12 caractères au minimum. Mélangez majuscules, minuscules, chiffres et symboles, ou choisissez une phrase d’au moins 20 caractères.";

// ------------------------------------------------------------------ helpers

/// Query string parameters; a malformed query counts as empty.
fn query<T: DeserializeOwned + Default>(req: &HttpRequest) -> T {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}

/// A local path to come back to after the accounts pages (never an accounts page itself).
fn clean_return_to(value: Option<&str>) -> Option<String> {
    safe_return_to(value).filter(|path| !path.starts_with("/users/"))
}

/// `?return_to=…` to carry the destination on a link, or nothing.
fn return_query(return_to: &Option<String>) -> String {
    match return_to {
        Some(path) => format!("?return_to={}", url_encode(path)),
        None => String::new(),
    }
}

fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(['/', '?', '#']))
}

/// The profile of a new session: the one `return_to` belongs to when the account has it
/// (an usager coming from /commencer stays usager), else the highest role.
fn profile_for(roles: Roles, return_to: Option<&str>) -> Profile {
    let has = |profile: Profile| match profile {
        Profile::Usager => true,
        Profile::Instructeur => roles.is_instructeur,
        Profile::Administrateur => roles.is_administrateur,
        Profile::Expert => roles.is_expert,
    };
    let wanted = return_to.and_then(|path| {
        [
            ("/commencer", Profile::Usager),
            ("/dossiers", Profile::Usager),
            ("/admin", Profile::Administrateur),
            ("/procedures", Profile::Instructeur),
            ("/avis", Profile::Expert),
        ]
        .into_iter()
        .find(|(prefix, _)| under(path, prefix))
        .map(|(_, profile)| profile)
    });
    match wanted {
        Some(profile) if has(profile) => profile,
        _ => [
            Profile::Administrateur,
            Profile::Instructeur,
            Profile::Expert,
        ]
        .into_iter()
        .find(|p| has(*p))
        .unwrap_or(Profile::Usager),
    }
}

fn with_cookie(mut response: HttpResponse, cookie: &Cookie<'_>) -> AppResult<HttpResponse> {
    response
        .add_cookie(cookie)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    Ok(response)
}

/// Opens a session for `account` (closing the one this browser had) and redirects to
/// `return_to` or the profile's home, with an optional success message.
async fn open_session(
    state: &AppState,
    previous: Option<SessionUser>,
    account: Authenticated,
    profile: Profile,
    return_to: Option<String>,
    message: Option<&str>,
) -> AppResult<HttpResponse> {
    if let Some(previous) = previous {
        session::end(&state.db, &previous).await?;
    }
    let cookie = session::start(&state.db, state, account.user_id, profile).await?;
    let location = return_to.unwrap_or_else(|| profile.home().to_owned());
    let response = match message {
        Some(message) => redirect_with(&location, FlashKind::Success, message),
        None => redirect(&location),
    };
    with_cookie(response, &cookie)
}

// ------------------------------------------------------------------ templates

#[derive(Template)]
#[template(path = "accounts/sign_up.html")]
struct SignUpPage {
    page: Page,
    email: String,
    errors: FormErrors,
    return_to: String,
    sign_in_href: String,
    password_hint: &'static str,
}

#[derive(Template)]
#[template(path = "accounts/mail_sent.html")]
struct MailSentPage {
    page: Page,
    title: &'static str,
    lead: String,
    details: &'static str,
    resend_href: Option<String>,
}

#[derive(Template)]
#[template(path = "accounts/sign_in.html")]
struct SignInPage {
    page: Page,
    email: String,
    errors: FormErrors,
    alert: Option<String>,
    unconfirmed_href: Option<String>,
    return_to: String,
    sign_up_href: String,
    /// The FranceConnect button, when the identity connector is loaded.
    france_connect: bool,
}

#[derive(Template)]
#[template(path = "accounts/email_form.html")]
struct EmailFormPage {
    page: Page,
    title: &'static str,
    intro: &'static str,
    action: &'static str,
    submit: &'static str,
    email: String,
    errors: FormErrors,
    return_to: String,
}

#[derive(Template)]
#[template(path = "accounts/choose_password.html")]
struct ChoosePasswordPage {
    page: Page,
    title: &'static str,
    intro: &'static str,
    action: &'static str,
    submit: &'static str,
    email: String,
    token: String,
    errors: FormErrors,
    password_hint: &'static str,
}

#[derive(Template)]
#[template(path = "accounts/invalid_link.html")]
struct InvalidLinkPage {
    page: Page,
    message: &'static str,
    action_href: &'static str,
    action_label: &'static str,
}

#[derive(Template)]
#[template(path = "accounts/profil.html")]
struct ProfilPage {
    page: Page,
    user: SessionUser,
}

fn invalid_link(
    page: Page,
    message: &'static str,
    action_href: &'static str,
    action_label: &'static str,
) -> AppResult<HttpResponse> {
    render_status(
        &InvalidLinkPage {
            page,
            message,
            action_href,
            action_label,
        },
        StatusCode::NOT_FOUND,
    )
}

// ------------------------------------------------------------------ forms

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReturnToQuery {
    return_to: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenQuery {
    token: Option<String>,
    return_to: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignUpForm {
    email: String,
    password: String,
    password_confirmation: String,
    return_to: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignInForm {
    email: String,
    password: String,
    return_to: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EmailForm {
    email: String,
    return_to: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    token: String,
    password: String,
    password_confirmation: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProfileForm {
    profile: String,
}

#[derive(Deserialize, Default)]
struct Empty {}

// ------------------------------------------------------------------ sign-up

fn sign_up_page(
    page: Page,
    email: String,
    errors: FormErrors,
    return_to: Option<String>,
) -> SignUpPage {
    SignUpPage {
        page,
        email,
        errors,
        sign_in_href: format!("/users/sign_in{}", return_query(&return_to)),
        return_to: return_to.unwrap_or_default(),
        password_hint: PASSWORD_HINT,
    }
}

async fn sign_up_form(req: HttpRequest, page: Page) -> AppResult<HttpResponse> {
    let q: ReturnToQuery = query(&req);
    let return_to = clean_return_to(q.return_to.as_deref());
    render(&sign_up_page(
        page,
        q.email.unwrap_or_default(),
        FormErrors::new(),
        return_to,
    ))
}

fn confirmation_sent(page: Page, email: &str, return_to: &Option<String>) -> MailSentPage {
    let mut resend = format!("/users/confirmation/new?email={}", url_encode(email));
    if let Some(path) = return_to {
        resend.push_str("&return_to=");
        resend.push_str(&url_encode(path));
    }
    MailSentPage {
        page,
        title: "Vérifiez votre boîte de réception",
        lead: format!(
            "Nous vous avons envoyé un e-mail à l’adresse {email}. Ouvrez le lien qu’il contient pour activer votre compte."
        ),
        details: "Le lien est valable 48 heures. Si vous ne recevez rien d’ici quelques minutes, vérifiez vos courriers indésirables et l’orthographe de votre adresse.",
        resend_href: Some(resend),
    }
}

async fn sign_up(
    page: Page,
    state: web::Data<AppState>,
    slots: web::Data<HashSlots>,
    CsrfForm(form): CsrfForm<SignUpForm>,
) -> AppResult<HttpResponse> {
    let return_to = clean_return_to(Some(&form.return_to));
    let email = form.email.trim().to_owned();
    let mut errors = FormErrors::new();
    if !service::valid_email(&email) {
        errors.add("email", INVALID_EMAIL);
    }
    for (field, message) in
        service::check_new_password(&form.password, &form.password_confirmation, &email)
    {
        errors.add(field, message);
    }
    if !errors.is_empty() {
        return render_status(&sign_up_page(page, email, errors, return_to), UNPROCESSABLE);
    }
    let hash = service::hash(&slots, &form.password).await?;
    service::sign_up(
        &state.db,
        &state.config,
        &email,
        &hash,
        return_to.as_deref(),
    )
    .await?;
    render(&confirmation_sent(page, &email, &return_to))
}

// ------------------------------------------------------------------ confirmation

async fn confirm(
    req: HttpRequest,
    page: Page,
    state: web::Data<AppState>,
    MaybeUser(current): MaybeUser,
) -> AppResult<HttpResponse> {
    let q: TokenQuery = query(&req);
    let return_to = clean_return_to(q.return_to.as_deref());
    let outcome = match q.token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => service::confirm(&state.db, token).await?,
        None => Confirmation::Invalid,
    };
    match outcome {
        Confirmation::Confirmed(account) => {
            let profile = profile_for(account.roles, return_to.as_deref());
            open_session(
                &state,
                current,
                account,
                profile,
                return_to,
                Some("Votre compte est activé."),
            )
            .await
        }
        Confirmation::AlreadyConfirmed => Ok(redirect_with(
            &format!("/users/sign_in{}", return_query(&return_to)),
            FlashKind::Info,
            "Votre compte est déjà activé : connectez-vous.",
        )),
        Confirmation::Invalid => invalid_link(
            page,
            "Ce lien de confirmation n’est pas valide : il a expiré (il est valable 48 heures) ou a déjà été utilisé.",
            "/users/confirmation/new",
            "Recevoir un nouveau lien",
        ),
    }
}

fn resend_page(
    page: Page,
    email: String,
    errors: FormErrors,
    return_to: Option<String>,
) -> EmailFormPage {
    EmailFormPage {
        page,
        title: "Recevoir un nouveau lien de confirmation",
        intro: "Saisissez l’adresse électronique de votre compte : nous vous enverrons un nouveau lien pour l’activer.",
        action: "/users/confirmation",
        submit: "Recevoir un nouveau lien",
        email,
        errors,
        return_to: return_to.unwrap_or_default(),
    }
}

async fn resend_confirmation_form(req: HttpRequest, page: Page) -> AppResult<HttpResponse> {
    let q: ReturnToQuery = query(&req);
    let return_to = clean_return_to(q.return_to.as_deref());
    render(&resend_page(
        page,
        q.email.unwrap_or_default(),
        FormErrors::new(),
        return_to,
    ))
}

async fn resend_confirmation(
    page: Page,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> AppResult<HttpResponse> {
    let return_to = clean_return_to(Some(&form.return_to));
    let email = form.email.trim().to_owned();
    if !service::valid_email(&email) {
        let mut errors = FormErrors::new();
        errors.add("email", INVALID_EMAIL);
        return render_status(&resend_page(page, email, errors, return_to), UNPROCESSABLE);
    }
    service::resend_confirmation(&state.db, &state.config, &email, return_to.as_deref()).await?;
    render(&confirmation_sent(page, &email, &return_to))
}

// ------------------------------------------------------------------ sign-in

fn sign_in_page(
    state: &AppState,
    page: Page,
    email: String,
    return_to: Option<String>,
) -> SignInPage {
    SignInPage {
        france_connect: crate::web::france_connect::available(state),
        page,
        email,
        errors: FormErrors::new(),
        alert: None,
        unconfirmed_href: None,
        sign_up_href: format!("/users/sign_up{}", return_query(&return_to)),
        return_to: return_to.unwrap_or_default(),
    }
}

async fn sign_in_form(
    req: HttpRequest,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let q: ReturnToQuery = query(&req);
    let return_to = clean_return_to(q.return_to.as_deref());
    render(&sign_in_page(
        &state,
        page,
        q.email.unwrap_or_default(),
        return_to,
    ))
}

fn client_ip(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|addr| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

async fn sign_in(
    req: HttpRequest,
    page: Page,
    state: web::Data<AppState>,
    throttle: web::Data<LoginThrottle>,
    slots: web::Data<HashSlots>,
    MaybeUser(current): MaybeUser,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> AppResult<HttpResponse> {
    if !throttle.allow(client_ip(&req), Instant::now()) {
        return Err(AppError::TooManyRequests);
    }
    let return_to = clean_return_to(Some(&form.return_to));
    let email = form.email.trim().to_owned();
    let mut view = sign_in_page(&state, page, email.clone(), return_to.clone());
    if email.is_empty() {
        view.errors
            .add("email", "Saisissez l’adresse électronique de votre compte.");
    }
    if form.password.is_empty() {
        view.errors.add("password", "Saisissez votre mot de passe.");
    }
    if !view.errors.is_empty() {
        return render_status(&view, UNPROCESSABLE);
    }
    match service::authenticate(&state.db, &state.config, &slots, &email, &form.password).await? {
        SignIn::Success(account) => {
            let profile = profile_for(account.roles, return_to.as_deref());
            open_session(&state, current, account, profile, return_to, None).await
        }
        SignIn::Invalid { remaining } => {
            view.alert = Some(match remaining {
                Some(1) => format!(
                    "{WRONG_CREDENTIALS} Attention : après un nouvel échec, votre compte sera bloqué pendant {} minutes.",
                    state.config.security.lock_minutes
                ),
                _ => WRONG_CREDENTIALS.to_owned(),
            });
            render_status(&view, UNPROCESSABLE)
        }
        SignIn::Locked { minutes } => {
            view.alert = Some(format!(
                "Votre compte est bloqué après trop de tentatives de connexion infructueuses. \
                 Réessayez dans {minutes} minute{}, ou choisissez un nouveau mot de passe \
                 (« Mot de passe oublié ? ») pour le débloquer tout de suite.",
                if minutes > 1 { "s" } else { "" }
            ));
            render_status(&view, UNPROCESSABLE)
        }
        SignIn::Unconfirmed => {
            let mut href = format!("/users/confirmation/new?email={}", url_encode(&email));
            if let Some(path) = &return_to {
                href.push_str("&return_to=");
                href.push_str(&url_encode(path));
            }
            view.unconfirmed_href = Some(href);
            render_status(&view, UNPROCESSABLE)
        }
    }
}

async fn sign_out(
    state: web::Data<AppState>,
    MaybeUser(current): MaybeUser,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<HttpResponse> {
    match current {
        Some(user) => {
            // A session opened with FranceConnect also ends FranceConnect's, which then
            // comes back to the home page.
            let location = crate::web::france_connect::logout_location(&state, &user.session_hash)
                .await
                .unwrap_or_else(|| "/".to_owned());
            let response = redirect_with(&location, FlashKind::Info, SIGNED_OUT);
            let removal = session::end(&state.db, &user).await?;
            with_cookie(response, &removal)
        }
        None => Ok(redirect_with("/", FlashKind::Info, SIGNED_OUT)),
    }
}

const SIGNED_OUT: &str = "Vous êtes déconnecté(e).";

// ------------------------------------------------------------------ password reset

fn password_new_page(page: Page, email: String, errors: FormErrors) -> EmailFormPage {
    EmailFormPage {
        page,
        title: "Mot de passe oublié",
        intro: "Saisissez l’adresse électronique de votre compte : nous vous enverrons un lien pour choisir un nouveau mot de passe.",
        action: "/users/password/new",
        submit: "Recevoir un lien",
        email,
        errors,
        return_to: String::new(),
    }
}

async fn password_new_form(req: HttpRequest, page: Page) -> AppResult<HttpResponse> {
    let q: ReturnToQuery = query(&req);
    render(&password_new_page(
        page,
        q.email.unwrap_or_default(),
        FormErrors::new(),
    ))
}

async fn password_new(
    page: Page,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> AppResult<HttpResponse> {
    let email = form.email.trim().to_owned();
    if !service::valid_email(&email) {
        let mut errors = FormErrors::new();
        errors.add("email", INVALID_EMAIL);
        return render_status(&password_new_page(page, email, errors), UNPROCESSABLE);
    }
    service::request_password_reset(&state.db, &state.config, &email).await?;
    render(&MailSentPage {
        page,
        title: "Vérifiez votre boîte de réception",
        lead: format!(
            "Si un compte existe pour l’adresse {email}, vous allez recevoir un e-mail contenant un lien pour choisir un nouveau mot de passe."
        ),
        details: "Le lien est valable 6 heures. Si vous ne recevez rien d’ici quelques minutes, vérifiez vos courriers indésirables et l’orthographe de votre adresse.",
        resend_href: None,
    })
}

/// The two pages that set a password from an e-mailed link.
#[derive(Clone, Copy)]
struct PasswordLink {
    purpose: TokenPurpose,
    title: &'static str,
    intro: &'static str,
    action: &'static str,
    submit: &'static str,
    invalid: &'static str,
    success: &'static str,
}

const RESET: PasswordLink = PasswordLink {
    purpose: TokenPurpose::ResetPassword,
    title: "Choisissez un nouveau mot de passe",
    intro: "Votre nouveau mot de passe remplacera l’ancien, et vous serez déconnecté(e) de vos autres appareils.",
    action: "/users/password/edit",
    submit: "Changer le mot de passe",
    invalid: "Ce lien de changement de mot de passe n’est pas valide : il a expiré (il est valable 6 heures) ou a déjà été utilisé.",
    success: "Votre mot de passe a été changé. Vous êtes connecté(e).",
};

const ACTIVATION: PasswordLink = PasswordLink {
    purpose: TokenPurpose::Activation,
    title: "Activez votre compte",
    intro: "Choisissez le mot de passe de votre compte pour l’activer.",
    action: "/users/activate",
    submit: "Activer mon compte",
    invalid: "Ce lien d’activation n’est pas valide : il a expiré (il est valable 7 jours) ou a déjà été utilisé. Demandez un lien pour choisir votre mot de passe : il activera aussi votre compte.",
    success: "Votre compte est activé.",
};

fn choose_password_page(
    page: Page,
    kind: PasswordLink,
    email: String,
    token: String,
    errors: FormErrors,
) -> ChoosePasswordPage {
    ChoosePasswordPage {
        page,
        title: kind.title,
        intro: kind.intro,
        action: kind.action,
        submit: kind.submit,
        email,
        token,
        errors,
        password_hint: PASSWORD_HINT,
    }
}

async fn password_link_form(
    req: HttpRequest,
    page: Page,
    state: web::Data<AppState>,
    kind: PasswordLink,
) -> AppResult<HttpResponse> {
    let q: TokenQuery = query(&req);
    let token = q.token.unwrap_or_default();
    let email = match token.is_empty() {
        true => None,
        false => service::link_email(&state.db, &token, kind.purpose).await?,
    };
    match email {
        Some(email) => render(&choose_password_page(
            page,
            kind,
            email,
            token,
            FormErrors::new(),
        )),
        None => invalid_link(
            page,
            kind.invalid,
            "/users/password/new",
            "Recevoir un nouveau lien",
        ),
    }
}

async fn password_link_submit(
    page: Page,
    state: web::Data<AppState>,
    slots: web::Data<HashSlots>,
    current: Option<SessionUser>,
    form: PasswordForm,
    kind: PasswordLink,
) -> AppResult<HttpResponse> {
    let Some(email) = service::link_email(&state.db, &form.token, kind.purpose).await? else {
        return invalid_link(
            page,
            kind.invalid,
            "/users/password/new",
            "Recevoir un nouveau lien",
        );
    };
    let problems = service::check_new_password(&form.password, &form.password_confirmation, &email);
    if !problems.is_empty() {
        let mut errors = FormErrors::new();
        for (field, message) in problems {
            errors.add(field, message);
        }
        let view = choose_password_page(page, kind, email, form.token, errors);
        return render_status(&view, UNPROCESSABLE);
    }
    let hash = service::hash(&slots, &form.password).await?;
    let Some(account) =
        service::set_password_with_link(&state.db, &form.token, kind.purpose, &hash).await?
    else {
        return invalid_link(
            page,
            kind.invalid,
            "/users/password/new",
            "Recevoir un nouveau lien",
        );
    };
    let profile = profile_for(account.roles, None);
    // The service deleted every session of the account, this browser's included.
    let previous = current.filter(|user| user.id != account.user_id);
    open_session(&state, previous, account, profile, None, Some(kind.success)).await
}

async fn password_edit_form(
    req: HttpRequest,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    password_link_form(req, page, state, RESET).await
}

async fn password_edit(
    page: Page,
    state: web::Data<AppState>,
    slots: web::Data<HashSlots>,
    MaybeUser(current): MaybeUser,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> AppResult<HttpResponse> {
    password_link_submit(page, state, slots, current, form, RESET).await
}

// ------------------------------------------------------------------ activation

async fn activate_form(
    req: HttpRequest,
    page: Page,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    password_link_form(req, page, state, ACTIVATION).await
}

async fn activate(
    page: Page,
    state: web::Data<AppState>,
    slots: web::Data<HashSlots>,
    MaybeUser(current): MaybeUser,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> AppResult<HttpResponse> {
    password_link_submit(page, state, slots, current, form, ACTIVATION).await
}

// ------------------------------------------------------------------ profile

async fn profil(page: Page, CurrentUser(user): CurrentUser) -> AppResult<HttpResponse> {
    render(&ProfilPage { page, user })
}

async fn switch_profile(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> AppResult<HttpResponse> {
    if let Some(profile) = Profile::parse(&form.profile)
        && session::switch_profile(&state.db, &user, profile).await?
    {
        return Ok(redirect(profile.home()));
    }
    Ok(redirect_with(
        "/profil",
        FlashKind::Error,
        "Votre compte n’a pas accès à ce profil.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USAGER: Roles = Roles {
        is_administrateur: false,
        is_instructeur: false,
        is_expert: false,
    };
    const ADMIN: Roles = Roles {
        is_administrateur: true,
        is_instructeur: true,
        is_expert: false,
    };

    #[test]
    fn profile_of_a_new_session() {
        assert_eq!(profile_for(USAGER, None), Profile::Usager);
        assert_eq!(profile_for(ADMIN, None), Profile::Administrateur);
        assert_eq!(
            profile_for(ADMIN, Some("/commencer/subvention")),
            Profile::Usager
        );
        assert_eq!(profile_for(ADMIN, Some("/dossiers/3")), Profile::Usager);
        assert_eq!(
            profile_for(ADMIN, Some("/procedures/4?statut=a-suivre")),
            Profile::Instructeur
        );
        // A prefix only matches whole path segments.
        assert_eq!(
            profile_for(ADMIN, Some("/proceduresX")),
            Profile::Administrateur
        );
        assert_eq!(
            profile_for(USAGER, Some("/admin/procedures")),
            Profile::Usager
        );
        let expert = Roles {
            is_expert: true,
            ..USAGER
        };
        assert_eq!(profile_for(expert, None), Profile::Expert);
    }

    #[test]
    fn return_to_stays_local_and_outside_accounts_pages() {
        assert_eq!(
            clean_return_to(Some("/commencer/x")),
            Some("/commencer/x".to_owned())
        );
        assert_eq!(clean_return_to(Some("/users/sign_in")), None);
        assert_eq!(clean_return_to(Some("https://evil.example/")), None);
        assert_eq!(clean_return_to(Some("")), None);
    }
}
