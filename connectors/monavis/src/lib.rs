//! MonAvis ("Je donne mon avis") connector: validates the embed code an
//! administrateur pastes for a démarche (démarche config key `embed`) and returns the
//! button as structured data (`href`, `image-url`, `alt`). The host's templates render
//! it; no HTML from here is ever injected. No network access.
//!
//! Bindings are generated here for the `feedback-provider` world only (the SDK's
//! bindings are those of `address-provider`).

mod embed;

wit_bindgen::generate!({
    world: "feedback-provider",
    path: "../../plugins/wit",
});

use demarches::connector::host;
use demarches::connector::types::{ConnectorError, ConnectorInfo};
use exports::demarches::connector::feedback::{Button, Guest as FeedbackGuest};
use exports::demarches::connector::meta::Guest as MetaGuest;

/// JSON Schema of the per-démarche configuration.
const CONFIG_SCHEMA: &str = r#"{
  "type": "object",
  "required": ["embed"],
  "properties": {
    "embed": {
      "type": "string",
      "title": "Code du bouton MonAvis",
      "description": "Le code HTML fourni par jedonnemonavis.numerique.gouv.fr (onglet « Démarches Simplifiées ») : un lien <a> et une image <img>.",
      "minLength": 20,
      "maxLength": 5000,
      "format": "textarea"
    }
  }
}"#;

struct MonAvis;

impl MetaGuest for MonAvis {
    fn describe() -> ConnectorInfo {
        ConnectorInfo {
            name: "monavis".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec!["feedback".into()],
            requested_hosts: Vec::new(),
            config_schema: CONFIG_SCHEMA.into(),
        }
    }
}

impl FeedbackGuest for MonAvis {
    /// `None` when the démarche has no embed code; `invalid-input` with the French
    /// messages (one per line) when it is refused.
    fn monavis_button(_procedure_ref: String) -> Result<Option<Button>, ConnectorError> {
        let Some(code) = host::config_get("embed").filter(|c| !c.trim().is_empty()) else {
            return Ok(None);
        };
        match embed::validate(&code) {
            Ok(b) => Ok(Some(Button {
                href: embed::for_site(&b.href),
                image_url: b.image_url,
                alt: b.alt,
            })),
            Err(messages) => Err(ConnectorError::InvalidInput(messages.join("\n"))),
        }
    }
}

export!(MonAvis);
