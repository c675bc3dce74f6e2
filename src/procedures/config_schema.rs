//! The per-démarche configuration form of a connector, from the JSON Schema the
//! connector publishes (`describe().config-schema`), and its validation.
//!
//! The subset understood: a top-level `object` with `properties` and `required`;
//! each property has a `type` (`string`, `integer`, `number`, `boolean`), optional
//! `title`, `description`, `enum` (of strings), `pattern` (a regular expression the
//! whole value must match), `minLength`, `maxLength`, and `format: "textarea"` (a
//! multi-line control). Anything else in a schema is refused, so a connector never
//! gets a configuration this module did not check. Messages are French, per field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Kinds of value a configuration field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Integer,
    Number,
    Boolean,
}

/// One field of a connector's configuration form.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaField {
    pub key: String,
    pub title: String,
    pub description: String,
    pub kind: FieldKind,
    pub required: bool,
    pub choices: Vec<String>,
    pub pattern: Option<String>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub textarea: bool,
}

/// A connector's configuration schema, in the order of its properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigSchema {
    pub fields: Vec<SchemaField>,
}

/// A message about one configuration field (`key` is the property name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

const KNOWN_PROPERTY_KEYS: [&str; 9] = [
    "type",
    "title",
    "description",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "format",
    "default",
];

fn usize_of(v: Option<&Value>, what: &str) -> Result<Option<usize>, String> {
    match v {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("{what} must be a non-negative integer")),
    }
}

impl ConfigSchema {
    /// Parses the published schema. An empty text or `{}` is an empty form. The error
    /// (English, for the logs and the operator) says what is not understood.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let root: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let root = root.as_object().ok_or("the schema is not an object")?;
        if let Some(t) = root.get("type")
            && t != "object"
        {
            return Err(format!("top-level type {t} is not \"object\""));
        }
        let required: Vec<&str> = match root.get("required") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().ok_or("required lists non-strings"))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("required is not an array".into()),
        };
        let empty = Map::new();
        let properties = match root.get("properties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => return Err("properties is not an object".into()),
        };
        let mut fields = Vec::new();
        for (key, prop) in properties {
            let prop = prop
                .as_object()
                .ok_or_else(|| format!("property {key} is not an object"))?;
            if let Some(unknown) = prop
                .keys()
                .find(|k| !KNOWN_PROPERTY_KEYS.contains(&k.as_str()))
            {
                return Err(format!(
                    "property {key}: keyword {unknown} is not supported"
                ));
            }
            let kind = match prop.get("type").and_then(Value::as_str) {
                Some("string") => FieldKind::Text,
                Some("integer") => FieldKind::Integer,
                Some("number") => FieldKind::Number,
                Some("boolean") => FieldKind::Boolean,
                other => return Err(format!("property {key}: unsupported type {other:?}")),
            };
            let choices = match prop.get("enum") {
                None => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| format!("property {key}: enum of non-strings"))
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(format!("property {key}: enum is not an array")),
            };
            let pattern = match prop.get("pattern") {
                None => None,
                Some(Value::String(p)) => {
                    regex::Regex::new(p)
                        .map_err(|e| format!("property {key}: bad pattern: {e}"))?;
                    Some(p.clone())
                }
                Some(_) => return Err(format!("property {key}: pattern is not a string")),
            };
            let text = |k: &str| {
                prop.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let title = text("title");
            fields.push(SchemaField {
                title: if title.is_empty() { key.clone() } else { title },
                description: text("description"),
                kind,
                required: required.contains(&key.as_str()),
                choices,
                pattern,
                min_length: usize_of(prop.get("minLength"), "minLength")?,
                max_length: usize_of(prop.get("maxLength"), "maxLength")?,
                textarea: text("format") == "textarea",
                key: key.clone(),
            });
        }
        if let Some(missing) = required
            .iter()
            .find(|r| !fields.iter().any(|f| f.key == **r))
        {
            return Err(format!("required property {missing} is not described"));
        }
        Ok(Self { fields })
    }

    /// The configuration typed in the form (`config.<key>` fields, already without
    /// the prefix), converted to the schema's types, with a French message per field
    /// that is wrong. A blank optional field is left out.
    pub fn from_form(&self, typed: &BTreeMap<String, String>) -> Result<Value, Vec<ConfigError>> {
        let mut out = Map::new();
        let mut errors = Vec::new();
        for f in &self.fields {
            let raw = typed.get(&f.key).map(String::as_str).unwrap_or("");
            let trimmed = if f.textarea { raw } else { raw.trim() };
            let value = match f.kind {
                FieldKind::Boolean => Some(Value::Bool(!raw.is_empty())),
                _ if trimmed.trim().is_empty() => None,
                FieldKind::Text => Some(Value::String(trimmed.to_owned())),
                FieldKind::Integer => match trimmed.parse::<i64>() {
                    Ok(n) => Some(Value::from(n)),
                    Err(_) => {
                        errors
                            .push(f.error(format!("« {} » doit être un nombre entier.", f.title)));
                        continue;
                    }
                },
                FieldKind::Number => match trimmed
                    .replace(',', ".")
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    Some(n) => Some(Value::Number(n)),
                    None => {
                        errors.push(f.error(format!("« {} » doit être un nombre.", f.title)));
                        continue;
                    }
                },
            };
            if let Some(v) = value {
                out.insert(f.key.clone(), v);
            }
        }
        let value = Value::Object(out);
        let more: Vec<ConfigError> = self
            .validate(&value)
            .into_iter()
            .filter(|e| !errors.iter().any(|x| x.key == e.key))
            .collect();
        errors.extend(more);
        if errors.is_empty() {
            Ok(value)
        } else {
            Err(errors)
        }
    }

    /// Checks a stored or converted configuration against the schema.
    pub fn validate(&self, config: &Value) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let empty = Map::new();
        let object = config.as_object().unwrap_or(&empty);
        for f in &self.fields {
            let Some(v) = object.get(&f.key).filter(|v| !v.is_null()) else {
                if f.required {
                    errors.push(f.error(format!("Le champ « {} » doit être rempli.", f.title)));
                }
                continue;
            };
            if let Some(message) = f.check(v) {
                errors.push(f.error(message));
            }
        }
        errors
    }
}

impl SchemaField {
    fn error(&self, message: String) -> ConfigError {
        ConfigError {
            key: self.key.clone(),
            message,
        }
    }

    /// What is wrong with a present value, if anything.
    fn check(&self, v: &Value) -> Option<String> {
        let t = &self.title;
        match self.kind {
            FieldKind::Boolean => {
                (!v.is_boolean()).then(|| format!("« {t} » doit être coché ou non."))
            }
            FieldKind::Integer => (!(v.is_i64() || v.is_u64()))
                .then(|| format!("« {t} » doit être un nombre entier.")),
            FieldKind::Number => (!v.is_number()).then(|| format!("« {t} » doit être un nombre.")),
            FieldKind::Text => {
                let Some(s) = v.as_str() else {
                    return Some(format!("« {t} » doit être un texte."));
                };
                let chars = s.chars().count();
                if let Some(min) = self.min_length
                    && chars < min
                {
                    return Some(format!(
                        "« {t} » doit comporter au moins {min} caractère{}.",
                        if min > 1 { "s" } else { "" }
                    ));
                }
                if let Some(max) = self.max_length
                    && chars > max
                {
                    return Some(format!(
                        "« {t} » doit comporter au plus {max} caractère{} (actuellement {chars}).",
                        if max > 1 { "s" } else { "" }
                    ));
                }
                if !self.choices.is_empty() && !self.choices.iter().any(|c| c == s) {
                    return Some(format!(
                        "« {t} » doit être l’une des valeurs proposées : {}.",
                        self.choices.join(", ")
                    ));
                }
                if let Some(p) = &self.pattern
                    && !regex::Regex::new(&format!("^(?:{p})$")).is_ok_and(|r| r.is_match(s))
                {
                    return Some(format!("« {t} » n’a pas le format attendu."));
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCHEMA: &str = r#"{
      "type": "object",
      "required": ["embed", "mode"],
      "properties": {
        "embed": {"type": "string", "title": "Code du bouton", "minLength": 5, "maxLength": 40, "format": "textarea"},
        "mode": {"type": "string", "title": "Mode", "enum": ["site", "email"]},
        "code": {"type": "string", "title": "Code postal", "pattern": "[0-9]{5}"},
        "limit": {"type": "integer", "title": "Nombre de résultats"},
        "strict": {"type": "boolean", "title": "Strict"}
      }
    }"#;

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn messages(e: Vec<ConfigError>) -> Vec<(String, String)> {
        e.into_iter().map(|e| (e.key, e.message)).collect()
    }

    #[test]
    fn parses_the_subset_in_order() {
        let s = ConfigSchema::parse(SCHEMA).unwrap_or_else(|e| panic!("{e}"));
        let keys: Vec<_> = s.fields.iter().map(|f| f.key.as_str()).collect();
        // serde_json keeps properties sorted by key
        assert_eq!(keys, ["code", "embed", "limit", "mode", "strict"]);
        assert!(s.fields[1].textarea && s.fields[1].required);
        assert_eq!(s.fields[3].choices, ["site", "email"]);
        assert_eq!(ConfigSchema::parse("{}"), Ok(ConfigSchema::default()));
        assert_eq!(ConfigSchema::parse(""), Ok(ConfigSchema::default()));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert!(ConfigSchema::parse("[]").is_err());
        assert!(ConfigSchema::parse(r#"{"type":"array"}"#).is_err());
        assert!(
            ConfigSchema::parse(r#"{"properties":{"a":{"type":"string","oneOf":[]}}}"#).is_err()
        );
        assert!(ConfigSchema::parse(r#"{"properties":{"a":{"type":"object"}}}"#).is_err());
        assert!(
            ConfigSchema::parse(r#"{"properties":{"a":{"type":"string","pattern":"("}}}"#).is_err()
        );
        assert!(ConfigSchema::parse(r#"{"required":["b"],"properties":{}}"#).is_err());
    }

    #[test]
    fn converts_and_validates_a_form() {
        let s = ConfigSchema::parse(SCHEMA).unwrap_or_else(|e| panic!("{e}"));
        let ok = s
            .from_form(&form(&[
                ("embed", "<a>bouton</a>"),
                ("mode", "site"),
                ("code", " 75007 "),
                ("limit", "5"),
                ("strict", "on"),
            ]))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            ok,
            json!({"embed": "<a>bouton</a>", "mode": "site", "code": "75007", "limit": 5, "strict": true})
        );
        let optional_blank = s
            .from_form(&form(&[
                ("embed", "<a>bouton</a>"),
                ("mode", "email"),
                ("code", "  "),
            ]))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            optional_blank,
            json!({"embed": "<a>bouton</a>", "mode": "email", "strict": false})
        );

        let errors = s
            .from_form(&form(&[
                ("embed", "abc"),
                ("mode", "fax"),
                ("code", "7500"),
                ("limit", "cinq"),
            ]))
            .unwrap_err();
        assert_eq!(
            messages(errors),
            vec![
                (
                    "limit".into(),
                    "« Nombre de résultats » doit être un nombre entier.".into()
                ),
                (
                    "code".into(),
                    "« Code postal » n’a pas le format attendu.".into()
                ),
                (
                    "embed".into(),
                    "« Code du bouton » doit comporter au moins 5 caractères.".into()
                ),
                (
                    "mode".into(),
                    "« Mode » doit être l’une des valeurs proposées : site, email.".into()
                ),
            ]
        );
        let errors = s.from_form(&form(&[])).unwrap_err();
        assert_eq!(
            messages(errors),
            vec![
                (
                    "embed".into(),
                    "Le champ « Code du bouton » doit être rempli.".into()
                ),
                ("mode".into(), "Le champ « Mode » doit être rempli.".into()),
            ]
        );
        let long = "x".repeat(41);
        let errors = s
            .from_form(&form(&[("embed", &long), ("mode", "site")]))
            .unwrap_err();
        assert_eq!(
            errors[0].message,
            "« Code du bouton » doit comporter au plus 40 caractères (actuellement 41)."
        );
    }

    #[test]
    fn validates_stored_values_by_type() {
        let s = ConfigSchema::parse(SCHEMA).unwrap_or_else(|e| panic!("{e}"));
        let errors =
            s.validate(&json!({"embed": 12, "mode": "site", "limit": 1.5, "strict": "yes"}));
        assert_eq!(
            messages(errors),
            vec![
                (
                    "embed".into(),
                    "« Code du bouton » doit être un texte.".into()
                ),
                (
                    "limit".into(),
                    "« Nombre de résultats » doit être un nombre entier.".into()
                ),
                ("strict".into(), "« Strict » doit être coché ou non.".into()),
            ]
        );
    }
}
