//! Calls of the `identity` interface (world `identity-provider`, FranceConnect):
//! the authorize URL, the code exchange (token, id_token validation, userinfo,
//! all in the guest) and the logout URL. The host owns the session, `state`
//! and `nonce`. Same per-call sandbox as the other worlds (see [`crate::call`]).
use std::sync::Arc;

use serde::Serialize;
use wasmtime::Store;

use crate::bindings::address::demarches::connector::types::ConnectorError as WitError;
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

enum Op {
    Authorize(wit::AuthorizeRequest),
    Exchange(wit::CallbackRequest),
    Logout {
        id_token_hint: String,
        post_logout_redirect_uri: String,
        state: String,
    },
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Self::Authorize(_) => "authorize-url",
            Self::Exchange(_) => "exchange-code",
            Self::Logout { .. } => "logout-url",
        }
    }
}

enum Out {
    Url(String),
    Person(wit::Person),
}

async fn run(
    pre: &IdentityProviderPre<HostState>,
    store: &mut Store<HostState>,
    op: Op,
) -> wasmtime::Result<Result<Out, WitError>> {
    let inst = pre.instantiate_async(&mut *store).await?;
    let id = inst.demarches_connector_identity();
    Ok(match op {
        Op::Authorize(r) => id.call_authorize_url(&mut *store, &r).await?.map(Out::Url),
        Op::Exchange(r) => id
            .call_exchange_code(&mut *store, &r)
            .await?
            .map(Out::Person),
        Op::Logout {
            id_token_hint,
            post_logout_redirect_uri,
            state,
        } => id
            .call_logout_url(
                &mut *store,
                &id_token_hint,
                &post_logout_redirect_uri,
                &state,
            )
            .await?
            .map(Out::Url),
    })
}

async fn call(loaded: &Arc<Loaded>, op: Op) -> Result<Out, CallError> {
    let pre = loaded
        .worlds
        .identity
        .clone()
        .ok_or_else(|| unsupported(loaded, "identity"))?;
    let op_name = op.name();
    invoke(loaded, Arc::default(), op_name, async |store| {
        run(&pre, store, op).await
    })
    .await
}

fn url(out: Out) -> Result<String, CallError> {
    match out {
        Out::Url(u) => Ok(u),
        Out::Person(_) => Err(CallError::Trap("unexpected result".into())),
    }
}

pub(crate) async fn authorize_url(
    loaded: &Arc<Loaded>,
    req: AuthorizeRequest,
) -> Result<String, CallError> {
    let req = wit::AuthorizeRequest {
        redirect_uri: req.redirect_uri,
        state: req.state,
        nonce: req.nonce,
        scopes: req.scopes,
    };
    url(call(loaded, Op::Authorize(req)).await?)
}

pub(crate) async fn exchange_code(
    loaded: &Arc<Loaded>,
    req: CallbackRequest,
) -> Result<Person, CallError> {
    let req = wit::CallbackRequest {
        redirect_uri: req.redirect_uri,
        code: req.code,
        expected_nonce: req.expected_nonce,
    };
    match call(loaded, Op::Exchange(req)).await? {
        Out::Person(p) => Ok(p.into()),
        Out::Url(_) => Err(CallError::Trap("unexpected result".into())),
    }
}

pub(crate) async fn logout_url(
    loaded: &Arc<Loaded>,
    id_token_hint: &str,
    post_logout_redirect_uri: &str,
    state: &str,
) -> Result<String, CallError> {
    url(call(
        loaded,
        Op::Logout {
            id_token_hint: id_token_hint.into(),
            post_logout_redirect_uri: post_logout_redirect_uri.into(),
            state: state.into(),
        },
    )
    .await?)
}
