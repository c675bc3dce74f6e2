//! FranceConnect v2 (OpenID Connect) identity connector: authorize URL, code
//! exchange with id_token validation (ES256/RS256 against the provider's JWKS;
//! iss, aud, exp, nonce, at_hash), userinfo, logout URL. Configuration
//! (`config-get`): `base_url` (the issuer), `client_id`, `client_secret`
//! (a granted secret), optional `scopes` and `prompt`.
use connector_sdk::{ConnectorError, ConnectorInfo};
use exports::demarches::connector::identity::{
    AuthorizeRequest, CallbackRequest, Guest as IdentityGuest, Person,
};
use exports::demarches::connector::meta::Guest as MetaGuest;

mod jwt;
mod oidc;

// The `identity-provider` world; `types` and `host` are the SDK's (same WIT package), so
// its helpers apply.
wit_bindgen::generate!({
    world: "identity-provider",
    path: "../../plugins/wit",
    with: {
        "demarches:connector/types@1.0.0": connector_sdk::address::demarches::connector::types,
        "demarches:connector/host@1.0.0": connector_sdk::address::demarches::connector::host,
    },
});

struct FranceConnect;

impl MetaGuest for FranceConnect {
    fn describe() -> ConnectorInfo {
        oidc::describe(env!("CARGO_PKG_VERSION"))
    }
}

impl IdentityGuest for FranceConnect {
    fn authorize_url(req: AuthorizeRequest) -> Result<String, ConnectorError> {
        oidc::authorize_url(req)
    }

    fn exchange_code(req: CallbackRequest) -> Result<Person, ConnectorError> {
        oidc::exchange_code(req)
    }

    fn logout_url(
        id_token_hint: String,
        post_logout_redirect_uri: String,
        state: String,
    ) -> Result<String, ConnectorError> {
        oidc::logout_url(&id_token_hint, &post_logout_redirect_uri, &state)
    }
}

export!(FranceConnect);
