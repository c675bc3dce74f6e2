//! Calls of the `identity` interface (world `identity-provider`, FranceConnect):
//! the authorize URL, the code exchange (token, id_token validation, userinfo,
//! all in the guest) and the logout URL. The host owns the session, `state`
//! and `nonce`. Same per-call sandbox as the other worlds (see [`crate::call`]).
use std::sync::Arc;

use serde::Serialize;

use crate::bindings::identity::IdentityProviderPre;
use crate::bindings::identity::exports::demarches::connector::identity as wit;
use crate::call::{CallError, invoke, unsupported};
use crate::host_impl::HostState;
use crate::loader::Loaded;

/// What the host asks the provider to put in the authorize URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    /// Empty: the connector's default scopes.
    pub scopes: Vec<String>,
}

/// The callback the browser came back with, and the nonce kept in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    pub redirect_uri: String,
    pub code: String,
    pub expected_nonce: String,
}

/// A validated identity (id_token checked, userinfo read).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub sub: String,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
    pub birthdate: Option<String>,
    /// "male" or "female".
    pub gender: Option<String>,
    /// The userinfo claims, JSON.
    pub raw_claims: String,
    /// The validated id_token, the `id_token_hint` of the logout URL.
    #[serde(skip)]
    pub id_token: String,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // personal data stays out of logs
        f.debug_struct("Person")
            .field("sub", &self.sub)
            .finish_non_exhaustive()
    }
}

impl From<wit::Person> for Person {
    fn from(p: wit::Person) -> Self {
        Self {
            sub: p.sub,
            given_name: p.given_name,
            family_name: p.family_name,
            email: p.email,
            birthdate: p.birthdate,
            gender: p.gender,
            raw_claims: p.raw_claims,
            id_token: p.id_token,
        }
    }
}

/// The connector's `identity-provider` world, or `Unsupported`.
fn world(loaded: &Loaded) -> Result<IdentityProviderPre<HostState>, CallError> {
    loaded
        .worlds
        .identity
        .clone()
        .ok_or_else(|| unsupported(loaded, "identity"))
}

pub(crate) async fn authorize_url(
    loaded: &Arc<Loaded>,
    req: AuthorizeRequest,
) -> Result<String, CallError> {
    let pre = world(loaded)?;
    let req = wit::AuthorizeRequest {
        redirect_uri: req.redirect_uri,
        state: req.state,
        nonce: req.nonce,
        scopes: req.scopes,
    };
    invoke(loaded, Arc::default(), "authorize-url", async |store| {
        let inst = pre.instantiate_async(&mut *store).await?;
        inst.demarches_connector_identity()
            .call_authorize_url(&mut *store, &req)
            .await
    })
    .await
}

pub(crate) async fn exchange_code(
    loaded: &Arc<Loaded>,
    req: CallbackRequest,
) -> Result<Person, CallError> {
    let pre = world(loaded)?;
    let req = wit::CallbackRequest {
        redirect_uri: req.redirect_uri,
        code: req.code,
        expected_nonce: req.expected_nonce,
    };
    let person = invoke(loaded, Arc::default(), "exchange-code", async |store| {
        let inst = pre.instantiate_async(&mut *store).await?;
        inst.demarches_connector_identity()
            .call_exchange_code(&mut *store, &req)
            .await
    })
    .await?;
    Ok(person.into())
}

pub(crate) async fn logout_url(
    loaded: &Arc<Loaded>,
    id_token_hint: &str,
    post_logout_redirect_uri: &str,
    state: &str,
) -> Result<String, CallError> {
    let pre = world(loaded)?;
    invoke(loaded, Arc::default(), "logout-url", async |store| {
        let inst = pre.instantiate_async(&mut *store).await?;
        inst.demarches_connector_identity()
            .call_logout_url(&mut *store, id_token_hint, post_logout_redirect_uri, state)
            .await
    })
    .await
}
