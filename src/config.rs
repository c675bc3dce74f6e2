//! Typed configuration: `config/default.toml`, then `config/<env>.toml`, then environment
//! variables (`DEMARCHES__SECTION__KEY`, plus the conventional `DATABASE_URL`, `REDIS_URL`,
//! `SMTP_URL` and `PORT`). Built once in `main` and passed explicitly; never a global.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub env: String,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub mail: MailConfig,
    pub security: SecurityConfig,
    pub assets: AssetsConfig,
    pub actors: ActorsConfig,
    #[serde(default)]
    pub geo: GeoConfig,
    pub storage: StorageConfig,
    #[serde(default)]
    pub plugins: PluginsConfig,
    #[serde(default)]
    pub carte: CarteConfig,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    pub base_url: String,
    pub workers: usize,
    pub run_worker: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseConfig {
    pub url: Secret,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisConfig {
    pub url: Secret,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailConfig {
    pub from: String,
    pub smtp_url: Secret,
    pub dir: PathBuf,
    pub max_attempts: i32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecurityConfig {
    pub secure_cookies: bool,
    pub session_days: i64,
    pub max_failed_attempts: i32,
    pub lock_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AssetsConfig {
    pub dsfr_dir: PathBuf,
    /// The condition evaluator compiled to WebAssembly (`actors/logic-wasm`, built by
    /// `.ci/test` and `.ci/serve`), served at `/static/logic.wasm`. When the file is missing
    /// the URL answers 404 and the form shows visibility after each save (no live update).
    #[serde(default = "default_logic_wasm")]
    pub logic_wasm: PathBuf,
}

fn default_logic_wasm() -> PathBuf {
    PathBuf::from("var/wasm/logic.wasm")
}

/// Files of the geographic referentials (see `geo.rs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct GeoConfig {
    /// The `data` folder of `@etalab/decoupage-administratif`.
    pub decoupage_dir: PathBuf,
    /// `langs/fr.json` of `i18n-iso-countries`.
    pub pays_file: PathBuf,
}

impl Default for GeoConfig {
    fn default() -> Self {
        GeoConfig {
            decoupage_dir: PathBuf::from(
                "var/npm/node_modules/@etalab/decoupage-administratif/data",
            ),
            pays_file: PathBuf::from("var/npm/node_modules/i18n-iso-countries/langs/fr.json"),
        }
    }
}

/// WASM connectors (crate `demarches-plugins`): the directory watched for `<name>.wasm`
/// artifacts (hot swap: write a temporary file, then rename it) and the operator grants.
/// A missing directory or grants file only logs: the platform runs without connectors.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PluginsConfig {
    pub dir: PathBuf,
    pub grants: PathBuf,
    /// Start the loopback fakes of API Entreprise and of the BAN address search (crate
    /// `demarches-fakes`) and point the `api_entreprise` and `ban` grants at them, so the
    /// demo works offline. Refused in production.
    pub fake_upstreams: bool,
    /// Development and demo only: a loopback address (`127.0.0.1:8091`) where `serve`
    /// starts a fake FranceConnect and points the `france_connect` grant at it, so the
    /// demo signs in with FranceConnect offline. Empty: off. Refused in production.
    pub fake_france_connect: String,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            dir: PathBuf::from("var/plugins"),
            grants: PathBuf::from("config/connectors.toml"),
            fake_upstreams: false,
            fake_france_connect: String::new(),
        }
    }
}

/// The map of the champ « carte ». Without a tile URL the map is drawn on a coordinate
/// grid (no network needed).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CarteConfig {
    /// A raster tile URL template with `{z}`, `{x}` and `{y}`, e.g.
    /// `https://tile.openstreetmap.org/{z}/{x}/{y}.png`; empty: no tiles.
    pub tiles_url: String,
    /// The attribution shown on the map with the tiles, e.g. « © OpenStreetMap ».
    pub tiles_attribution: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActorsConfig {
    pub dossier_idle_seconds: u64,
    pub max_dossier_actors: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StorageConfig {
    /// Where `LocalStorage` keeps the files (and its temporary uploads, under `tmp/`).
    pub dir: PathBuf,
    /// Largest accepted file, in bytes.
    pub max_file_bytes: u64,
    /// Files per pièce justificative champ.
    pub max_files_per_champ: usize,
    /// `"default"` (every file becomes safe) or `"eicar"` (files holding the EICAR test
    /// string become infected).
    pub virus_scanner: String,
}

/// A string that never shows in logs or `Debug` output (URLs carry passwords).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("\"***\"")
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid TOML in {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(#[from] toml::de::Error),
    #[error("refused in production: {0}")]
    Production(&'static str),
}

impl Config {
    /// Loads the configuration from `dir` (normally `config/`) and the process environment.
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_with(dir, &vars)
    }

    /// Same as [`Config::load`] with an explicit environment, for tests.
    pub fn load_with(dir: &Path, vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let env_name = lookup(vars, "DEMARCHES_ENV").unwrap_or("development");
        let mut table = read_table(&dir.join("default.toml"))?;
        let env_file = dir.join(format!("{env_name}.toml"));
        if env_file.exists() {
            merge(&mut table, read_table(&env_file)?);
        }
        table.insert("env".to_owned(), Value::String(env_name.to_owned()));
        apply_env(&mut table, vars);
        let config: Config = Table::try_into(table)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.is_production() {
            if self.mail.smtp_url.is_empty() {
                return Err(ConfigError::Production(
                    "mail.smtp_url must be set (no file mailer in production)",
                ));
            }
            if !self.security.secure_cookies {
                return Err(ConfigError::Production(
                    "security.secure_cookies must be true",
                ));
            }
            if self.plugins.fake_upstreams {
                return Err(ConfigError::Production(
                    "plugins.fake_upstreams must be false (fakes are for the demo and tests)",
                ));
            }
            if !self.plugins.fake_france_connect.is_empty() {
                return Err(ConfigError::Production(
                    "plugins.fake_france_connect must be empty (no fake identity provider)",
                ));
            }
        }
        Ok(())
    }

    pub fn is_production(&self) -> bool {
        self.env == "production"
    }

    /// Development-only pages (the mail viewer) are served outside production.
    pub fn dev_pages(&self) -> bool {
        !self.is_production()
    }

    /// Absolute URL for a path of this platform.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base_url.trim_end_matches('/'), path)
    }
}

fn lookup<'a>(vars: &'a [(String, String)], key: &str) -> Option<&'a str> {
    vars.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn read_table(path: &Path) -> Result<Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.parse::<Table>().map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    })
}

fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

fn apply_env(table: &mut Table, vars: &[(String, String)]) {
    let conventional = [
        ("DATABASE_URL", "database", "url"),
        ("REDIS_URL", "redis", "url"),
        ("SMTP_URL", "mail", "smtp_url"),
        ("PORT", "server", "port"),
    ];
    for (var, section, key) in conventional {
        if let Some(value) = lookup(vars, var) {
            set(table, &[section, key], value);
        }
    }
    for (var, value) in vars {
        if let Some(rest) = var.strip_prefix("DEMARCHES__") {
            let path: Vec<String> = rest.split("__").map(|p| p.to_lowercase()).collect();
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            set(table, &path, value);
        }
    }
}

/// Sets a dotted path, keeping the type of the value it replaces (numbers and booleans
/// arrive from the environment as text).
fn set(table: &mut Table, path: &[&str], raw: &str) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = table;
    for part in parents {
        let entry = current
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        let Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
    let value = match current.get(*last) {
        Some(Value::Integer(_)) => raw
            .parse::<i64>()
            .map(Value::Integer)
            .unwrap_or_else(|_| Value::String(raw.to_owned())),
        Some(Value::Boolean(_)) => raw
            .parse::<bool>()
            .map(Value::Boolean)
            .unwrap_or_else(|_| Value::String(raw.to_owned())),
        _ => Value::String(raw.to_owned()),
    };
    current.insert((*last).to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn conventional_variables_override_files() {
        let config = Config::load_with(
            &dir(),
            &vars(&[
                ("DATABASE_URL", "postgres://u:secret@db/x"),
                ("PORT", "9090"),
                ("DEMARCHES__SECURITY__SESSION_DAYS", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(config.database.url.expose(), "postgres://u:secret@db/x");
        assert_eq!(config.server.port, 9090);
        assert_eq!(config.security.session_days, 3);
    }

    #[test]
    fn secrets_are_not_printed() {
        let config = Config::load_with(
            &dir(),
            &vars(&[("DATABASE_URL", "postgres://u:topsecret@db/x")]),
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("topsecret"));
    }

    #[test]
    fn environment_file_is_merged() {
        let config = Config::load_with(&dir(), &vars(&[("DEMARCHES_ENV", "test")])).unwrap();
        assert_eq!(config.env, "test");
        assert_eq!(config.server.port, 0);
        assert_eq!(config.mail.max_attempts, 12);
    }

    #[test]
    fn production_refuses_file_mailer() {
        let err = Config::load_with(
            &dir(),
            &vars(&[
                ("DEMARCHES_ENV", "production"),
                ("DEMARCHES__SECURITY__SECURE_COOKIES", "true"),
            ]),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::Production(_)));
    }
}
