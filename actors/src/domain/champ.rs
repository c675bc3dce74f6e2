//! Champ types, their options, validation of submitted values and display
//! (FEATURES §4). Only the basic types for now.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, Month};

use super::carte;
use super::geo::{CommuneMatch, EMPTY_GEO, GeoIndex, Place};
use super::{ParseError, format_thousands};

/// Type of a champ, with the DS `type_champ` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeChamp {
    Text,
    Textarea,
    IntegerNumber,
    DecimalNumber,
    Date,
    Datetime,
    Checkbox,
    YesNo,
    Civilite,
    DropDownList,
    MultipleDropDownList,
    LinkedDropDownList,
    Email,
    Phone,
    Address,
    Siret,
    Rna,
    Iban,
    Formatted,
    DossierLink,
    Engagement,
    Pays,
    Regions,
    Departements,
    Communes,
    Epci,
    HeaderSection,
    Explication,
    PieceJustificative,
    TitreIdentite,
    Repetition,
    Carte,
}

impl TypeChamp {
    /// Every supported type, in the order of the editor's type picker.
    pub const ALL: [TypeChamp; 32] = [
        TypeChamp::Text,
        TypeChamp::Textarea,
        TypeChamp::IntegerNumber,
        TypeChamp::DecimalNumber,
        TypeChamp::Date,
        TypeChamp::Datetime,
        TypeChamp::Checkbox,
        TypeChamp::YesNo,
        TypeChamp::Civilite,
        TypeChamp::DropDownList,
        TypeChamp::MultipleDropDownList,
        TypeChamp::LinkedDropDownList,
        TypeChamp::Email,
        TypeChamp::Phone,
        TypeChamp::Address,
        TypeChamp::Siret,
        TypeChamp::Rna,
        TypeChamp::Iban,
        TypeChamp::Formatted,
        TypeChamp::DossierLink,
        TypeChamp::Engagement,
        TypeChamp::Pays,
        TypeChamp::Regions,
        TypeChamp::Departements,
        TypeChamp::Communes,
        TypeChamp::Epci,
        TypeChamp::HeaderSection,
        TypeChamp::Explication,
        TypeChamp::PieceJustificative,
        TypeChamp::TitreIdentite,
        TypeChamp::Repetition,
        TypeChamp::Carte,
    ];

    /// DS `type_champ` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TypeChamp::Text => "text",
            TypeChamp::Textarea => "textarea",
            TypeChamp::IntegerNumber => "integer_number",
            TypeChamp::DecimalNumber => "decimal_number",
            TypeChamp::Date => "date",
            TypeChamp::Datetime => "datetime",
            TypeChamp::Checkbox => "checkbox",
            TypeChamp::YesNo => "yes_no",
            TypeChamp::Civilite => "civilite",
            TypeChamp::DropDownList => "drop_down_list",
            TypeChamp::MultipleDropDownList => "multiple_drop_down_list",
            TypeChamp::LinkedDropDownList => "linked_drop_down_list",
            TypeChamp::Email => "email",
            TypeChamp::Phone => "phone",
            TypeChamp::Address => "address",
            TypeChamp::Siret => "siret",
            TypeChamp::Rna => "rna",
            TypeChamp::Iban => "iban",
            TypeChamp::Formatted => "formatted",
            TypeChamp::DossierLink => "dossier_link",
            TypeChamp::Engagement => "engagement",
            TypeChamp::Pays => "pays",
            TypeChamp::Regions => "regions",
            TypeChamp::Departements => "departements",
            TypeChamp::Communes => "communes",
            TypeChamp::Epci => "epci",
            TypeChamp::HeaderSection => "header_section",
            TypeChamp::Explication => "explication",
            TypeChamp::PieceJustificative => "piece_justificative",
            TypeChamp::TitreIdentite => "titre_identite",
            TypeChamp::Repetition => "repetition",
            TypeChamp::Carte => "carte",
        }
    }

    /// French label of the type (editor), as DS.
    pub const fn libelle(self) -> &'static str {
        match self {
            TypeChamp::Text => "Texte court",
            TypeChamp::Textarea => "Zone de texte",
            TypeChamp::IntegerNumber => "Nombre entier",
            TypeChamp::DecimalNumber => "Nombre décimal",
            TypeChamp::Date => "Date",
            TypeChamp::Datetime => "Date et heure",
            TypeChamp::Checkbox => "Case à cocher",
            TypeChamp::YesNo => "Oui/Non",
            TypeChamp::Civilite => "Civilité",
            TypeChamp::DropDownList => "Choix simple",
            TypeChamp::MultipleDropDownList => "Choix multiple",
            TypeChamp::LinkedDropDownList => "Deux menus déroulants liés",
            TypeChamp::Email => "Adresse électronique",
            TypeChamp::Phone => "Téléphone",
            TypeChamp::Address => "Adresse",
            TypeChamp::Siret => "SIRET",
            TypeChamp::Rna => "Numéro RNA",
            TypeChamp::Iban => "IBAN",
            TypeChamp::Formatted => "Champ formaté",
            TypeChamp::DossierLink => "Lien vers un autre dossier",
            TypeChamp::Engagement => "Engagement",
            TypeChamp::Pays => "Pays",
            TypeChamp::Regions => "Régions",
            TypeChamp::Departements => "Départements",
            TypeChamp::Communes => "Communes",
            TypeChamp::Epci => "EPCI",
            TypeChamp::HeaderSection => "Titre de section",
            TypeChamp::Explication => "Explication",
            TypeChamp::PieceJustificative => "Pièce justificative",
            TypeChamp::TitreIdentite => "Titre d'identité",
            TypeChamp::Repetition => "Bloc répétable",
            TypeChamp::Carte => "Carte",
        }
    }

    /// False for the layout types (header_section, explication), which hold
    /// no value and are never mandatory.
    pub const fn has_value(self) -> bool {
        !matches!(self, TypeChamp::HeaderSection | TypeChamp::Explication)
    }

    /// A value picked from a geographic referential.
    pub const fn is_geo(self) -> bool {
        matches!(
            self,
            TypeChamp::Pays
                | TypeChamp::Regions
                | TypeChamp::Departements
                | TypeChamp::Communes
                | TypeChamp::Epci
        )
    }

    /// A single box to check (checkbox, engagement): a mandatory one must be checked.
    pub const fn is_checkbox(self) -> bool {
        matches!(self, TypeChamp::Checkbox | TypeChamp::Engagement)
    }

    /// True for the file types: their value (a JSON list of attachment ids) is written by
    /// uploads and deletions, never by the dossier form.
    pub const fn is_file(self) -> bool {
        matches!(
            self,
            TypeChamp::PieceJustificative | TypeChamp::TitreIdentite
        )
    }

    /// A titre d'identité: one JPEG or PNG image, watermarked when attached and deleted
    /// from storage once the dossier is decided (accepté, refusé, classé sans suite).
    pub const fn is_titre_identite(self) -> bool {
        matches!(self, TypeChamp::TitreIdentite)
    }

    /// At most this many files on a file champ of this type, whatever the platform's
    /// limit (`storage.max_files_per_champ`) says: one for a titre d'identité.
    pub const fn max_files(self, platform_max: usize) -> usize {
        match self {
            TypeChamp::TitreIdentite => 1,
            _ => platform_max,
        }
    }

    /// A bloc répétable: its value (a JSON list of row ids, in order) is written by adding
    /// and removing rows, never typed; its children hold the values of each row.
    pub const fn is_repetition(self) -> bool {
        matches!(self, TypeChamp::Repetition)
    }

    /// Whether a champ of this type may be a child of a bloc répétable.
    pub const fn can_be_child(self) -> bool {
        !matches!(
            self,
            TypeChamp::Repetition | TypeChamp::PieceJustificative | TypeChamp::TitreIdentite
        )
    }

    /// True for the types whose value comes from the dossier form (not files, not blocks).
    pub const fn is_typed(self) -> bool {
        self.has_value() && !self.is_file() && !self.is_repetition()
    }
}

/// Displays the DS name (same as [`TypeChamp::as_str`]).
impl fmt::Display for TypeChamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TypeChamp {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TypeChamp::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseError::new("le type de champ", s))
    }
}

/// Per-type options of a champ definition (DS `options` jsonb).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChampOptions {
    /// Options of a drop-down list (simple, multiple) or, for linked drop-downs, the DS
    /// lines: `--Primary--` lines followed by their secondary values.
    #[serde(default)]
    pub drop_down_options: Vec<String>,
    /// Simple drop-down: the usager may pick « Autre » and type a value.
    #[serde(default)]
    pub drop_down_other: bool,
    /// Inclusive minimum of an integer.
    #[serde(default)]
    pub min: Option<i64>,
    /// Inclusive maximum of an integer.
    #[serde(default)]
    pub max: Option<i64>,
    /// Maximum number of characters of a textarea.
    #[serde(default)]
    pub character_limit: Option<u32>,
    /// Level of a header section, 1 to 3 (h2 to h4); 1 when unset.
    #[serde(default)]
    pub header_level: Option<u8>,
    /// Explication: the text below the title is folded (an accordion).
    #[serde(default)]
    pub collapsible_explanation_enabled: bool,
    /// Explication: the folded text.
    #[serde(default)]
    pub collapsible_explanation_text: String,
    /// Champ formaté (DS simple mode): letters allowed.
    #[serde(default)]
    pub letters_accepted: bool,
    /// Champ formaté: digits allowed.
    #[serde(default)]
    pub numbers_accepted: bool,
    /// Champ formaté: other characters (spaces, punctuation…) allowed.
    #[serde(default)]
    pub special_characters_accepted: bool,
    /// Champ formaté: minimum length.
    #[serde(default)]
    pub min_character_length: Option<u32>,
    /// Champ formaté: maximum length.
    #[serde(default)]
    pub max_character_length: Option<u32>,
    /// Carte: the reference layers offered besides the usager's own selection (keys of
    /// `carte::LAYERS`).
    #[serde(default)]
    pub carte_layers: Vec<String>,
}

/// The value of the « Autre » option of a simple drop-down (never a listed option:
/// listed options are trimmed lines).
pub const OTHER_OPTION: &str = "__autre__";

/// The text of a titre d'identité given (DS `stringValue`, exports).
pub const TITRE_PRESENT: &str = "présent";
/// The text of a titre d'identité not given.
pub const TITRE_ABSENT: &str = "absent";

impl ChampOptions {
    /// Parses the editor's drop-down text: one option per non-blank line,
    /// trimmed, duplicates removed, order kept.
    pub fn parse_drop_down(text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !out.iter().any(|o| o == line) {
                out.push(line.to_owned());
            }
        }
        out
    }

    /// Parses the editor's text of linked drop-downs: non-blank trimmed lines, kept as
    /// typed (a secondary value may appear under several primary values).
    pub fn parse_linked(text: &str) -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The groups of linked drop-downs: each `--Primary--` line and the secondary values
    /// after it. Lines before the first primary value are left out.
    pub fn linked_groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for line in &self.drop_down_options {
            if let Some(primary) = linked_primary(line) {
                if !groups.iter().any(|(p, _)| p == primary) {
                    groups.push((primary.to_owned(), Vec::new()));
                }
            } else if let Some((_, secondaries)) = groups.last_mut()
                && !secondaries.contains(line)
            {
                secondaries.push(line.clone());
            }
        }
        groups
    }

    /// Level of a header section, clamped to 1–3.
    pub fn header_level(&self) -> u8 {
        self.header_level.unwrap_or(1).clamp(1, 3)
    }
}

/// `--Primary--` → `Primary`.
pub fn linked_primary(line: &str) -> Option<&str> {
    let inner = line.trim().strip_prefix("--")?.strip_suffix("--")?.trim();
    (!inner.is_empty()).then_some(inner)
}

/// What validation needs to know about a champ definition.
#[derive(Debug, Clone, Copy)]
pub struct ChampDef<'a> {
    pub type_champ: TypeChamp,
    pub libelle: &'a str,
    pub mandatory: bool,
    pub options: &'a ChampOptions,
}

/// What validation cannot know by itself (the caller looks it up beforehand).
#[derive(Clone, Copy)]
pub struct Lookups<'a> {
    /// Whether a dossier with this number exists (champ `dossier_link`).
    pub dossier_exists: &'a dyn Fn(i64) -> bool,
    /// The geographic referentials (pays, régions, départements, communes, EPCI).
    pub geo: &'a GeoIndex,
}

impl Lookups<'static> {
    /// No lookup: every dossier number is taken as existing (format checks only), no
    /// geographic data.
    pub const NONE: Lookups<'static> = Lookups {
        dossier_exists: &|_| true,
        geo: &EMPTY_GEO,
    };
}

/// Validates a submitted form value and returns the value to store (see
/// [`validate_with`]; a dossier number's existence is not checked here).
pub fn validate(def: &ChampDef, raw: &str) -> Result<Option<Value>, String> {
    validate_with(def, raw, Lookups::NONE)
}

/// Validates a submitted form value and returns the value to store.
///
/// The input is trimmed; a blank input gives `Ok(None)` (mandatory champs
/// are checked by [`check_mandatory`]). Champs made of several controls get their
/// parts on separate lines: the checked options of a multiple drop-down; the primary
/// then the secondary value of linked drop-downs; the choice then the « Autre » text
/// of a drop-down ([`OTHER_OPTION`]).
///
/// Stored shapes: text, textarea, drop-down, e-mail, address, formatted, RNA →
/// string; integer, decimal, dossier link → number; date → `"YYYY-MM-DD"`; datetime
/// → `"YYYY-MM-DDTHH:MM"`; checkbox, engagement, yes/no → bool; civilité → `"M."` or
/// `"Mme"`; multiple drop-down → array of options in the list's order; linked
/// drop-downs → `{"primary", "secondary"}`; phone → digits with an optional leading
/// `+`; SIRET, IBAN → without spaces. Layout types always give `Ok(None)`. Errors are
/// French messages for the usager.
pub fn validate_with(
    def: &ChampDef,
    raw: &str,
    lookups: Lookups<'_>,
) -> Result<Option<Value>, String> {
    match def.type_champ {
        TypeChamp::HeaderSection | TypeChamp::Explication | TypeChamp::Repetition => {
            return Ok(None);
        }
        TypeChamp::DropDownList => return validate_drop_down(def, raw),
        TypeChamp::MultipleDropDownList => return validate_multiple(def, raw),
        TypeChamp::LinkedDropDownList => return validate_linked(def, raw),
        _ => {}
    }
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let libelle = def.libelle;
    let stored = match def.type_champ {
        TypeChamp::Text | TypeChamp::Address => Value::String(value.to_owned()),
        TypeChamp::Textarea => {
            let text = value.replace("\r\n", "\n");
            if let Some(limit) = def.options.character_limit
                && text.chars().count() > limit as usize
            {
                return Err(format!(
                    "Le texte ne doit pas dépasser {} caractères.",
                    format_thousands(u64::from(limit))
                ));
            }
            Value::String(text)
        }
        TypeChamp::IntegerNumber => Value::from(validate_integer(def, value)?),
        TypeChamp::DecimalNumber => parse_decimal(value).ok_or_else(|| {
            format!("« {libelle} » doit être un nombre décimal, par exemple 12,5 ou 1 000,25.")
        })?,
        TypeChamp::Date => {
            let date = parse_date(value)
                .ok_or_else(|| format!("« {libelle} » doit être une date valide (JJ/MM/AAAA)."))?;
            Value::String(format_iso(date))
        }
        TypeChamp::Datetime => Value::String(parse_datetime(value).ok_or_else(|| {
            format!("« {libelle} » doit être une date et une heure valides (JJ/MM/AAAA HH:MM).")
        })?),
        TypeChamp::Checkbox | TypeChamp::Engagement => match parse_bool(value) {
            Some(b) => Value::Bool(b),
            None => return Err(format!("« {libelle} » : valeur de case à cocher invalide.")),
        },
        TypeChamp::YesNo => match parse_bool(value) {
            Some(b) => Value::Bool(b),
            None => return Err(format!("« {libelle} » : répondez par Oui ou par Non.")),
        },
        TypeChamp::Civilite => match value.to_lowercase().as_str() {
            "m." | "m" | "monsieur" => Value::from("M."),
            "mme" | "madame" => Value::from("Mme"),
            _ => return Err(format!("« {libelle} » : choisissez « M. » ou « Mme ».")),
        },
        TypeChamp::Email => {
            if !is_valid_email(value) {
                return Err(format!(
                    "« {libelle} » doit être une adresse électronique valide, \
                     par exemple jean.dupont@example.fr."
                ));
            }
            Value::String(value.to_owned())
        }
        TypeChamp::Phone => {
            let phone = normalize_phone(value).ok_or_else(|| {
                format!(
                    "« {libelle} » doit être un numéro de téléphone valide, \
                     par exemple 06 12 34 56 78 ou +33 6 12 34 56 78."
                )
            })?;
            Value::String(phone)
        }
        TypeChamp::Siret => Value::String(validate_siret(value)?),
        TypeChamp::Rna => {
            let rna = compact(value).to_uppercase();
            let ok = rna.len() == 10
                && rna.starts_with('W')
                && rna[1..].chars().all(|c| c.is_ascii_digit());
            if !ok {
                return Err(format!(
                    "« {libelle} » doit être un numéro RNA : la lettre W suivie de 9 chiffres, \
                     par exemple W751234567."
                ));
            }
            Value::String(rna)
        }
        TypeChamp::Iban => {
            let iban = compact(value).to_uppercase();
            if !is_valid_iban(&iban) {
                return Err(format!(
                    "« {libelle} » doit être un IBAN valide, \
                     par exemple FR76 3000 6000 0112 3456 7890 189."
                ));
            }
            Value::String(iban)
        }
        TypeChamp::Formatted => Value::String(validate_formatted(def, value)?),
        TypeChamp::DossierLink => {
            let digits = compact(value);
            let digits = digits
                .strip_prefix("n°")
                .or_else(|| digits.strip_prefix("N°"))
                .unwrap_or(&digits);
            let number = (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
                .then(|| digits.parse::<i64>().ok())
                .flatten()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    format!("« {libelle} » doit être un numéro de dossier, par exemple 1234.")
                })?;
            if !(lookups.dossier_exists)(number) {
                return Err(format!("Le dossier n° {number} n’existe pas."));
            }
            Value::from(number)
        }
        TypeChamp::Pays => place(def, &lookups.geo.pays, value)?,
        TypeChamp::Regions => place(def, &lookups.geo.regions, value)?,
        TypeChamp::Departements => place(def, &lookups.geo.departements, value)?,
        TypeChamp::Epci => place(def, &lookups.geo.epci, value)?,
        TypeChamp::Communes => commune(def, lookups.geo, value)?,
        TypeChamp::Carte => match carte::validate(value) {
            Ok(Some(collection)) => collection,
            Ok(None) => return Ok(None),
            Err(message) => return Err(format!("« {libelle} » : {message}")),
        },
        TypeChamp::DropDownList
        | TypeChamp::MultipleDropDownList
        | TypeChamp::LinkedDropDownList
        | TypeChamp::HeaderSection
        | TypeChamp::Explication => return Ok(None),
        // Files are attached by upload, not typed in the form.
        TypeChamp::PieceJustificative | TypeChamp::TitreIdentite | TypeChamp::Repetition => {
            return Ok(None);
        }
    };
    Ok(Some(stored))
}

fn geo_unavailable(libelle: &str) -> String {
    format!(
        "Les données géographiques ne sont pas disponibles pour le moment : \
         « {libelle} » ne peut pas être enregistré. Réessayez plus tard."
    )
}

/// A pays, région, département or EPCI chosen by its code → `{"code", "name"}`.
fn place(def: &ChampDef, places: &[Place], code: &str) -> Result<Value, String> {
    if places.is_empty() {
        return Err(geo_unavailable(def.libelle));
    }
    let place = GeoIndex::find(places, code)
        .ok_or_else(|| format!("« {} » : choisissez une valeur de la liste.", def.libelle))?;
    Ok(serde_json::json!({ "code": place.code, "name": place.name }))
}

/// At most 10 communes, "A (code), B (code) et 3 autres".
fn commune_list(matches: &[CommuneMatch<'_>]) -> String {
    const SHOWN: usize = 10;
    let labels: Vec<String> = matches
        .iter()
        .take(SHOWN)
        .map(CommuneMatch::label)
        .collect();
    let mut text = labels.join(", ");
    match matches.len().saturating_sub(SHOWN) {
        0 => {}
        1 => text.push_str(" et 1 autre"),
        n => text.push_str(&format!(" et {n} autres")),
    }
    text
}

/// A commune typed by its name, its postal code, or both ("Marseille 13001",
/// "Marseille (13001)") → `{"code", "name", "postal_code", "departement"}`.
fn commune(def: &ChampDef, geo: &GeoIndex, value: &str) -> Result<Value, String> {
    if geo.communes.is_empty() {
        return Err(geo_unavailable(def.libelle));
    }
    let cleaned = value.replace(['(', ')', ','], " ");
    let tokens: Vec<&str> = cleaned.split_whitespace().collect();
    let is_postal = |t: &str| t.len() == 5 && t.chars().all(|c| c.is_ascii_digit());
    let postal_code = tokens.iter().copied().find(|t| is_postal(t));
    let name = tokens
        .iter()
        .copied()
        .filter(|t| !is_postal(t))
        .collect::<Vec<_>>()
        .join(" ");
    let matches = if name.is_empty() {
        postal_code
            .map(|pc| geo.communes_of_postal_code(pc))
            .unwrap_or_default()
    } else {
        geo.communes_named(&name, postal_code)
    };
    match matches.as_slice() {
        [one] => Ok(serde_json::json!({
            "code": one.commune.code,
            "name": one.commune.name,
            "postal_code": one.postal_code,
            "departement": one.commune.departement,
        })),
        [] => {
            let near = if name.is_empty() {
                Vec::new()
            } else if postal_code.is_some() {
                geo.communes_named(&name, None)
            } else {
                geo.communes_starting(&name, None)
            };
            let mut message = match (name.is_empty(), postal_code) {
                (true, Some(pc)) => format!("Aucune commune ne correspond au code postal {pc}."),
                _ => format!("Aucune commune ne correspond à « {value} »."),
            };
            if !near.is_empty() {
                message.push_str(&format!(" Vouliez-vous dire : {} ?", commune_list(&near)));
            }
            Err(message)
        }
        several => Err(format!(
            "Plusieurs communes correspondent à « {value} » : {}. Précisez le nom et le code \
             postal, par exemple « {} ».",
            commune_list(several),
            several[0].label()
        )),
    }
}

/// The parts of a champ made of several controls (one per line), trimmed.
fn parts(raw: &str) -> Vec<&str> {
    raw.split('\n').map(str::trim).collect()
}

fn validate_drop_down(def: &ChampDef, raw: &str) -> Result<Option<Value>, String> {
    let libelle = def.libelle;
    let parts = parts(raw);
    let choice = parts[0];
    if choice.is_empty() {
        return Ok(None);
    }
    if choice == OTHER_OPTION && def.options.drop_down_other {
        let other = parts.get(1).copied().unwrap_or("");
        if other.is_empty() {
            return Err(format!(
                "« {libelle} » : précisez votre réponse dans le champ « Autre »."
            ));
        }
        return Ok(Some(Value::from(other)));
    }
    if !def
        .options
        .drop_down_options
        .iter()
        .any(|o| o.trim() == choice)
    {
        return Err(format!(
            "« {libelle} » : choisissez une valeur de la liste."
        ));
    }
    Ok(Some(Value::from(choice)))
}

fn validate_multiple(def: &ChampDef, raw: &str) -> Result<Option<Value>, String> {
    let chosen: Vec<&str> = parts(raw).into_iter().filter(|p| !p.is_empty()).collect();
    if chosen.is_empty() {
        return Ok(None);
    }
    let options = &def.options.drop_down_options;
    if chosen
        .iter()
        .any(|c| !options.iter().any(|o| o.trim() == *c))
    {
        return Err(format!(
            "« {} » : choisissez des valeurs de la liste.",
            def.libelle
        ));
    }
    let stored: Vec<Value> = options
        .iter()
        .filter(|o| chosen.contains(&o.trim()))
        .map(|o| Value::from(o.trim()))
        .collect();
    Ok(Some(Value::Array(stored)))
}

fn validate_linked(def: &ChampDef, raw: &str) -> Result<Option<Value>, String> {
    let libelle = def.libelle;
    let parts = parts(raw);
    let primary = parts[0];
    let secondary = parts.get(1).copied().unwrap_or("");
    if primary.is_empty() && secondary.is_empty() {
        return Ok(None);
    }
    if primary.is_empty() {
        return Err(format!(
            "« {libelle} » : choisissez d’abord une valeur dans la première liste."
        ));
    }
    let groups = def.options.linked_groups();
    let Some((_, secondaries)) = groups.iter().find(|(p, _)| p == primary) else {
        return Err(format!(
            "« {libelle} » : choisissez une valeur de la liste."
        ));
    };
    if !secondary.is_empty() && !secondaries.iter().any(|s| s == secondary) {
        return Err(format!(
            "« {libelle} » : « {secondary} » n’est pas un choix possible pour « {primary} »."
        ));
    }
    Ok(Some(
        serde_json::json!({ "primary": primary, "secondary": secondary }),
    ))
}

/// Checks that a mandatory champ has a value (a mandatory checkbox must be
/// checked; linked drop-downs need their second value when the first has any).
/// Layout types and optional champs always pass.
pub fn check_mandatory(def: &ChampDef, value: Option<&Value>) -> Result<(), String> {
    if !def.mandatory || !def.type_champ.has_value() {
        return Ok(());
    }
    let filled = match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Bool(b)) => *b || !def.type_champ.is_checkbox(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) if def.type_champ == TypeChamp::LinkedDropDownList => {
            let text = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").trim();
            let primary = text("primary");
            !primary.is_empty()
                && (!text("secondary").is_empty()
                    || def
                        .options
                        .linked_groups()
                        .iter()
                        .any(|(p, s)| p == primary && s.is_empty()))
        }
        Some(Value::Number(_) | Value::Object(_)) => true,
    };
    if filled {
        Ok(())
    } else if def.type_champ.is_checkbox() {
        Err(format!("La case « {} » doit être cochée.", def.libelle))
    } else {
        Err(format!("Le champ « {} » doit être rempli.", def.libelle))
    }
}

/// Human-readable French rendering of a stored value.
pub fn display(type_champ: TypeChamp, value: &Value) -> String {
    match (type_champ, value) {
        (_, Value::Null) | (TypeChamp::HeaderSection | TypeChamp::Explication, _) => String::new(),
        (TypeChamp::Checkbox | TypeChamp::Engagement | TypeChamp::YesNo, Value::Bool(b)) => {
            oui_non(*b)
        }
        (TypeChamp::Checkbox | TypeChamp::Engagement | TypeChamp::YesNo, Value::String(s)) => {
            oui_non(matches!(s.as_str(), "true" | "on" | "1"))
        }
        (TypeChamp::Date, Value::String(s)) => match parse_iso(s) {
            Some(d) => format_fr(d),
            None => s.clone(),
        },
        (TypeChamp::Datetime, Value::String(s)) => match s.split_once('T') {
            Some((d, t)) if parse_iso(d).is_some() => {
                format!(
                    "{} à {}",
                    parse_iso(d).map(format_fr).unwrap_or_default(),
                    t
                )
            }
            _ => s.clone(),
        },
        (TypeChamp::DecimalNumber, Value::Number(n)) => match n.as_f64() {
            Some(f) => format_decimal(f),
            None => n.to_string(),
        },
        (TypeChamp::Phone, Value::String(s)) => format_phone(s),
        (TypeChamp::Repetition, Value::Array(rows)) => match rows.len() {
            0 => String::new(),
            1 => "1 élément".to_owned(),
            n => format!("{n} éléments"),
        },
        (TypeChamp::PieceJustificative, Value::Array(files)) => match files.len() {
            0 => String::new(),
            1 => "1 fichier".to_owned(),
            n => format!("{n} fichiers"),
        },
        // DS's `stringValue` of a titre d'identité: whether one was given, never the file
        // (it stays « présent » after the file is deleted at the decision).
        (TypeChamp::TitreIdentite, Value::Array(files)) if !files.is_empty() => {
            TITRE_PRESENT.to_owned()
        }
        (TypeChamp::TitreIdentite, _) => TITRE_ABSENT.to_owned(),
        (TypeChamp::Carte, v) => carte::display(v),
        (TypeChamp::Iban, Value::String(s)) => groups_of(s, &[4; 9]),
        (TypeChamp::Siret, Value::String(s)) if s.len() == 14 => groups_of(s, &[3, 3, 3, 5]),
        (_, Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        (TypeChamp::Communes, Value::Object(o)) => {
            let text = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            format!("{} ({})", text("name"), text("postal_code"))
        }
        (TypeChamp::Departements, Value::Object(o)) => {
            let text = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            format!("{} – {}", text("code"), text("name"))
        }
        (TypeChamp::Pays | TypeChamp::Regions | TypeChamp::Epci, Value::Object(o)) => o
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        (TypeChamp::LinkedDropDownList, Value::Object(o)) => {
            let text = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let (primary, secondary) = (text("primary"), text("secondary"));
            if secondary.is_empty() {
                primary
            } else {
                format!("{primary} / {secondary}")
            }
        }
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

fn compact(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace()).collect()
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_lowercase().as_str() {
        "on" | "true" | "1" | "oui" => Some(true),
        "off" | "false" | "0" | "non" => Some(false),
        _ => None,
    }
}

fn format_fr(d: Date) -> String {
    format!("{:02}/{:02}/{:04}", d.day(), u8::from(d.month()), d.year())
}

/// `"12,5"`, `"-3.25"`, `"1 000,5"` → a JSON number. Integers stay integers.
fn parse_decimal(value: &str) -> Option<Value> {
    let text = compact(value).replace(',', ".");
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(&text);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if int.is_empty()
        || !digits(int)
        || !digits(frac)
        || (unsigned.contains('.') && frac.is_empty())
    {
        return None;
    }
    if frac.is_empty()
        && let Ok(n) = text.parse::<i64>()
    {
        return Some(Value::from(n));
    }
    let f: f64 = text.parse().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// A decimal with a comma, as written in French.
fn format_decimal(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        f.to_string().replace('.', ",")
    }
}

/// `YYYY-MM-DDTHH:MM` (seconds dropped), `YYYY-MM-DD HH:MM` or `JJ/MM/AAAA HH:MM`
/// → `YYYY-MM-DDTHH:MM`.
fn parse_datetime(value: &str) -> Option<String> {
    let (date, time) = value.split_once('T').or_else(|| value.rsplit_once(' '))?;
    let date = parse_date(date.trim())?;
    let mut hm = time.trim().split(':');
    let (h, m) = (hm.next()?, hm.next()?);
    let s = hm.next();
    if hm.next().is_some() || !(1..=2).contains(&h.len()) || m.len() != 2 {
        return None;
    }
    let num = |x: &str| {
        x.chars()
            .all(|c| c.is_ascii_digit())
            .then(|| x.parse::<u8>().ok())
            .flatten()
    };
    let (h, m) = (num(h)?, num(m)?);
    if let Some(s) = s
        && (s.len() != 2 || num(s)? > 59)
    {
        return None;
    }
    (h < 24 && m < 60).then(|| format!("{}T{h:02}:{m:02}", format_iso(date)))
}

/// SIRET: 14 digits (spaces allowed) passing the Luhn check; La Poste's
/// establishments (SIREN 356 000 000) use the sum of the digits, a multiple of 5.
/// Also the personne morale's SIRET step of a dossier. Blank is refused.
pub fn validate_siret(value: &str) -> Result<String, String> {
    let siret = compact(value);
    if siret.len() != 14 || !siret.chars().all(|c| c.is_ascii_digit()) {
        return Err("Le numéro SIRET doit comporter exactement 14 chiffres.".to_owned());
    }
    let digits: Vec<u32> = siret.chars().filter_map(|c| c.to_digit(10)).collect();
    let valid = if siret.starts_with("356000000") {
        digits.iter().sum::<u32>() % 5 == 0
    } else {
        luhn(&digits)
    };
    if valid {
        Ok(siret)
    } else {
        Err("Le numéro SIRET n’est pas valide.".to_owned())
    }
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// IBAN (ISO 13616): country letters, check digits, 11 to 30 letters or digits, and
/// the number with its first four characters moved to the end is 1 modulo 97.
fn is_valid_iban(iban: &str) -> bool {
    let b = iban.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let n = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rem = if n >= 10 {
            (rem * 100 + n) % 97
        } else {
            (rem * 10 + n) % 97
        };
    }
    rem == 1
}

/// Champ formaté (DS simple mode): allowed kinds of characters and length bounds.
fn validate_formatted(def: &ChampDef, value: &str) -> Result<String, String> {
    let o = def.options;
    let libelle = def.libelle;
    let allowed = |c: char| {
        if c.is_alphabetic() {
            o.letters_accepted
        } else if c.is_ascii_digit() {
            o.numbers_accepted
        } else {
            o.special_characters_accepted
        }
    };
    if !value.chars().all(allowed) {
        let mut kinds = Vec::new();
        if o.letters_accepted {
            kinds.push("des lettres");
        }
        if o.numbers_accepted {
            kinds.push("des chiffres");
        }
        if o.special_characters_accepted {
            kinds.push("des caractères spéciaux");
        }
        let list = match kinds.as_slice() {
            [] => "aucun caractère".to_owned(),
            [one] => (*one).to_owned(),
            [init @ .., last] => format!("{} et {last}", init.join(", ")),
        };
        return Err(format!("« {libelle} » ne doit contenir que {list}."));
    }
    let len = value.chars().count();
    match (o.min_character_length, o.max_character_length) {
        (Some(lo), Some(hi)) if len < lo as usize || len > hi as usize => Err(if lo == hi {
            format!("« {libelle} » doit comporter exactement {lo} caractères.")
        } else {
            format!("« {libelle} » doit comporter entre {lo} et {hi} caractères.")
        }),
        (Some(lo), _) if len < lo as usize => Err(format!(
            "« {libelle} » doit comporter au moins {lo} caractères."
        )),
        (_, Some(hi)) if len > hi as usize => Err(format!(
            "« {libelle} » doit comporter au plus {hi} caractères."
        )),
        _ => Ok(value.to_owned()),
    }
}

/// Splits `s` into groups of the given sizes (the rest in one last group).
fn groups_of(s: &str, sizes: &[usize]) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    for &n in sizes {
        if i >= chars.len() {
            break;
        }
        let end = (i + n).min(chars.len());
        out.push(chars[i..end].iter().collect::<String>());
        i = end;
    }
    if i < chars.len() {
        out.push(chars[i..].iter().collect());
    }
    out.join(" ")
}

fn oui_non(b: bool) -> String {
    if b { "Oui" } else { "Non" }.to_owned()
}

fn validate_integer(def: &ChampDef, value: &str) -> Result<i64, String> {
    let libelle = def.libelle;
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = compact.strip_prefix(['+', '-']).unwrap_or(&compact);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "« {libelle} » doit être un nombre entier (sans virgule)."
        ));
    }
    let n: i64 = compact
        .parse()
        .map_err(|_| format!("« {libelle} » est un nombre trop grand."))?;
    let (min, max) = (def.options.min, def.options.max);
    let below = min.is_some_and(|m| n < m);
    let above = max.is_some_and(|m| n > m);
    match (min, max) {
        (Some(lo), Some(hi)) if below || above => Err(format!(
            "« {libelle} » doit être compris entre {lo} et {hi}."
        )),
        (Some(lo), _) if below => Err(format!("« {libelle} » doit être supérieur ou égal à {lo}.")),
        (_, Some(hi)) if above => Err(format!("« {libelle} » doit être inférieur ou égal à {hi}.")),
        _ => Ok(n),
    }
}

/// Parses `YYYY-MM-DD` or `JJ/MM/AAAA` (day and month may have one digit).
fn parse_date(value: &str) -> Option<Date> {
    parse_iso(value).or_else(|| {
        let mut parts = value.split('/');
        let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !(1..=2).contains(&d.len()) || !(1..=2).contains(&m.len()) {
            return None;
        }
        make_date(y, m, d)
    })
}

fn parse_iso(value: &str) -> Option<Date> {
    let mut parts = value.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() != 2 || d.len() != 2 {
        return None;
    }
    make_date(y, m, d)
}

fn make_date(y: &str, m: &str, d: &str) -> Option<Date> {
    let all_digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if y.len() != 4 || !all_digits(y) || !all_digits(m) || !all_digits(d) {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

fn format_iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A simple but real e-mail check: one `@`, a non-empty local part made of
/// the usual characters, a domain with at least one dot and a TLD of 2+
/// letters, no spaces.
pub fn is_valid_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    if domain.contains('@') || local.is_empty() || local.len() > 64 || value.len() > 254 {
        return false;
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok || !domain.contains('.') {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let labels_ok = labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    labels_ok && tld_ok
}

/// Normalizes a phone number to its digits, keeping a leading `+` for the
/// international form. Accepts French numbers (`0X XX XX XX XX`, with
/// spaces, dots or dashes; `+33 …`, `+33 (0)…`, `0033 …`) and international
/// numbers (`+` then 8 to 15 digits, or `00` then the same).
fn normalize_phone(value: &str) -> Option<String> {
    let compact: String = value
        .replace("(0)", "")
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '.' | '-' | '(' | ')' | '/')))
        .collect();
    // `00` is the international prefix only when the number is longer than
    // a French national number (`00 12 34 56 78` is not a phone number).
    let international = if let Some(rest) = compact.strip_prefix('+') {
        Some(rest)
    } else if compact.len() > 10 {
        compact.strip_prefix("00")
    } else {
        None
    };
    match international {
        Some(digits) => {
            if !digits.chars().all(|c| c.is_ascii_digit()) || digits.starts_with('0') {
                return None;
            }
            if let Some(national) = digits.strip_prefix("33") {
                let national = if national.len() == 10 {
                    national.strip_prefix('0')?
                } else {
                    national
                };
                if national.len() != 9 || national.starts_with('0') {
                    return None;
                }
                return Some(format!("+33{national}"));
            }
            (8..=15)
                .contains(&digits.len())
                .then(|| format!("+{digits}"))
        }
        None => {
            let ok = compact.len() == 10
                && compact.chars().all(|c| c.is_ascii_digit())
                && compact.starts_with('0')
                && !compact[1..].starts_with('0');
            ok.then_some(compact)
        }
    }
}

/// Formats a stored phone number for display: French numbers by pairs.
fn format_phone(stored: &str) -> String {
    let pairs = |digits: &str| -> String {
        digits
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let is_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if stored.len() == 10 && stored.starts_with('0') && is_digits(stored) {
        return pairs(stored);
    }
    if let Some(national) = stored.strip_prefix("+33")
        && national.len() == 9
        && is_digits(national)
    {
        return format!("+33 {} {}", &national[..1], pairs(&national[1..]));
    }
    stored.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts() -> ChampOptions {
        ChampOptions::default()
    }

    fn def<'a>(type_champ: TypeChamp, options: &'a ChampOptions) -> ChampDef<'a> {
        ChampDef {
            type_champ,
            libelle: "Mon champ",
            mandatory: true,
            options,
        }
    }

    fn check(type_champ: TypeChamp, raw: &str) -> Result<Option<Value>, String> {
        let o = opts();
        validate(&def(type_champ, &o), raw)
    }

    // ---- TypeChamp ----

    #[test]
    fn type_names_and_labels() {
        let names: Vec<&str> = TypeChamp::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "text",
                "textarea",
                "integer_number",
                "decimal_number",
                "date",
                "datetime",
                "checkbox",
                "yes_no",
                "civilite",
                "drop_down_list",
                "multiple_drop_down_list",
                "linked_drop_down_list",
                "email",
                "phone",
                "address",
                "siret",
                "rna",
                "iban",
                "formatted",
                "dossier_link",
                "engagement",
                "pays",
                "regions",
                "departements",
                "communes",
                "epci",
                "header_section",
                "explication",
                "piece_justificative",
                "titre_identite",
                "repetition",
                "carte"
            ]
        );
        assert_eq!(TypeChamp::Text.libelle(), "Texte court");
        assert_eq!(
            TypeChamp::LinkedDropDownList.libelle(),
            "Deux menus déroulants liés"
        );
        assert_eq!(
            TypeChamp::PieceJustificative.libelle(),
            "Pièce justificative"
        );
        let mut labels: Vec<&str> = TypeChamp::ALL.iter().map(|t| t.libelle()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), TypeChamp::ALL.len());
        for t in TypeChamp::ALL {
            assert_eq!(t.as_str().parse::<TypeChamp>(), Ok(t));
            assert_eq!(t.to_string(), t.as_str());
            assert_eq!(
                serde_json::to_string(&t).ok(),
                Some(format!("\"{}\"", t.as_str()))
            );
            let back: Option<TypeChamp> = serde_json::from_str(&format!("\"{}\"", t.as_str())).ok();
            assert_eq!(back, Some(t));
        }
        assert_eq!(
            "cartes".parse::<TypeChamp>(),
            Err(ParseError::new("le type de champ", "cartes"))
        );
    }

    #[test]
    fn piece_justificative_counts_files_and_is_not_typed() {
        // The file count, not the attachment ids (the generic list display comes after).
        let t = TypeChamp::PieceJustificative;
        assert!(t.is_file() && t.has_value() && !t.is_geo() && !t.is_checkbox());
        assert_eq!(display(t, &json!([])), "");
        assert_eq!(display(t, &json!(["a1b2"])), "1 fichier");
        assert_eq!(display(t, &json!(["a1b2", "c3d4"])), "2 fichiers");
        assert_eq!(check(t, "n'importe quoi"), Ok(None));
    }

    #[test]
    fn titre_identite_is_one_file_shown_as_present_or_absent() {
        let t = TypeChamp::TitreIdentite;
        assert!(t.is_file() && t.is_titre_identite() && t.has_value() && !t.is_typed());
        assert!(!t.can_be_child());
        assert_eq!(t.libelle(), "Titre d'identité");
        assert_eq!(t.max_files(10), 1);
        assert_eq!(TypeChamp::PieceJustificative.max_files(10), 10);
        assert_eq!(display(t, &json!(["a1b2"])), "présent");
        assert_eq!(display(t, &json!([])), "absent");
        assert_eq!(check(t, "n'importe quoi"), Ok(None));
    }

    #[test]
    fn has_value() {
        for t in TypeChamp::ALL {
            let layout = matches!(t, TypeChamp::HeaderSection | TypeChamp::Explication);
            assert_eq!(t.has_value(), !layout, "{t:?}");
        }
    }

    // ---- ChampOptions ----

    #[test]
    fn parse_drop_down_lines() {
        assert_eq!(
            ChampOptions::parse_drop_down("  Fromage \n\nDessert\r\n  \nFromage\nCafé\n"),
            vec!["Fromage", "Dessert", "Café"]
        );
        assert!(ChampOptions::parse_drop_down("   \n\n").is_empty());
        assert!(ChampOptions::parse_drop_down("").is_empty());
    }

    #[test]
    fn options_serde_defaults() {
        let o: Option<ChampOptions> = serde_json::from_str("{}").ok();
        assert_eq!(o, Some(ChampOptions::default()));
        let o: Option<ChampOptions> =
            serde_json::from_str(r#"{"min": 1, "drop_down_options": ["a"]}"#).ok();
        assert_eq!(
            o,
            Some(ChampOptions {
                drop_down_options: vec!["a".into()],
                min: Some(1),
                ..ChampOptions::default()
            })
        );
    }

    // ---- blanks and layout ----

    #[test]
    fn blank_is_none_for_every_type() {
        for t in TypeChamp::ALL {
            for raw in ["", "   ", "\n\t"] {
                assert_eq!(check(t, raw), Ok(None), "{t:?} {raw:?}");
            }
        }
    }

    #[test]
    fn layout_types_store_nothing() {
        assert_eq!(check(TypeChamp::HeaderSection, "x"), Ok(None));
        assert_eq!(check(TypeChamp::Explication, "x"), Ok(None));
    }

    // ---- text / textarea ----

    #[test]
    fn text_is_trimmed_string() {
        assert_eq!(
            check(TypeChamp::Text, "  Bonjour  "),
            Ok(Some(json!("Bonjour")))
        );
        let long = "a".repeat(10_000);
        assert_eq!(check(TypeChamp::Text, &long), Ok(Some(json!(long))));
    }

    #[test]
    fn textarea_character_limit() {
        let o = ChampOptions {
            character_limit: Some(10),
            ..opts()
        };
        let d = def(TypeChamp::Textarea, &o);
        assert_eq!(validate(&d, "éééééééééé"), Ok(Some(json!("éééééééééé"))));
        assert_eq!(
            validate(&d, "12345678901"),
            Err("Le texte ne doit pas dépasser 10 caractères.".to_owned())
        );
        // CRLF counts as one newline and is stored as LF.
        assert_eq!(validate(&d, "1234\r\n5678"), Ok(Some(json!("1234\n5678"))));
        let o = ChampOptions {
            character_limit: Some(1000),
            ..opts()
        };
        assert_eq!(
            validate(&def(TypeChamp::Textarea, &o), &"a".repeat(1001)),
            Err("Le texte ne doit pas dépasser 1 000 caractères.".to_owned())
        );
        assert_eq!(
            check(TypeChamp::Textarea, &"a".repeat(20_000)).map(|v| v.is_some()),
            Ok(true)
        );
    }

    // ---- integer ----

    #[test]
    fn integer_accepted() {
        for (raw, n) in [
            ("42", 42),
            (" 0 ", 0),
            ("-17", -17),
            ("+5", 5),
            ("1 000", 1000),
            ("1\u{a0}000\u{202f}000", 1_000_000),
            ("9223372036854775807", i64::MAX),
        ] {
            assert_eq!(
                check(TypeChamp::IntegerNumber, raw),
                Ok(Some(json!(n))),
                "{raw}"
            );
        }
    }

    #[test]
    fn integer_refused() {
        let msg = "« Mon champ » doit être un nombre entier (sans virgule).".to_owned();
        for raw in ["12,5", "12.5", "abc", "1e3", "-", "+", "--1", "0x10", "½"] {
            assert_eq!(
                check(TypeChamp::IntegerNumber, raw),
                Err(msg.clone()),
                "{raw}"
            );
        }
        assert_eq!(
            check(TypeChamp::IntegerNumber, "99999999999999999999"),
            Err("« Mon champ » est un nombre trop grand.".to_owned())
        );
    }

    #[test]
    fn integer_min_max() {
        let both = ChampOptions {
            min: Some(1),
            max: Some(10),
            ..opts()
        };
        let d = def(TypeChamp::IntegerNumber, &both);
        assert_eq!(validate(&d, "1"), Ok(Some(json!(1))));
        assert_eq!(validate(&d, "10"), Ok(Some(json!(10))));
        let between = Err("« Mon champ » doit être compris entre 1 et 10.".to_owned());
        assert_eq!(validate(&d, "0"), between);
        assert_eq!(validate(&d, "11"), between);

        let min = ChampOptions {
            min: Some(0),
            ..opts()
        };
        let d = def(TypeChamp::IntegerNumber, &min);
        assert_eq!(validate(&d, "0"), Ok(Some(json!(0))));
        assert_eq!(
            validate(&d, "-1"),
            Err("« Mon champ » doit être supérieur ou égal à 0.".to_owned())
        );

        let max = ChampOptions {
            max: Some(2024),
            ..opts()
        };
        let d = def(TypeChamp::IntegerNumber, &max);
        assert_eq!(validate(&d, "-50"), Ok(Some(json!(-50))));
        assert_eq!(
            validate(&d, "2025"),
            Err("« Mon champ » doit être inférieur ou égal à 2024.".to_owned())
        );
    }

    // ---- date ----

    #[test]
    fn date_accepted() {
        for (raw, iso) in [
            ("2024-03-01", "2024-03-01"),
            ("01/03/2024", "2024-03-01"),
            ("1/3/2024", "2024-03-01"),
            ("29/02/2024", "2024-02-29"),
            ("2000-02-29", "2000-02-29"),
            ("31/12/1899", "1899-12-31"),
        ] {
            assert_eq!(check(TypeChamp::Date, raw), Ok(Some(json!(iso))), "{raw}");
        }
    }

    #[test]
    fn date_refused() {
        let msg = "« Mon champ » doit être une date valide (JJ/MM/AAAA).".to_owned();
        for raw in [
            "29/02/2023",
            "31/04/2024",
            "00/01/2024",
            "01/13/2024",
            "2024-13-01",
            "2024-1-1",
            "01/01/24",
            "1er janvier 2024",
            "2024/03/01",
            "01-03-2024",
            "01/03/2024/1",
            "+1/03/2024",
            "2024-03-01T10:00",
        ] {
            assert_eq!(check(TypeChamp::Date, raw), Err(msg.clone()), "{raw}");
        }
    }

    // ---- checkbox ----

    #[test]
    fn checkbox_values() {
        for raw in ["on", "true", "1", "ON", "True", "oui"] {
            assert_eq!(
                check(TypeChamp::Checkbox, raw),
                Ok(Some(json!(true))),
                "{raw}"
            );
        }
        for raw in ["off", "false", "0", "non"] {
            assert_eq!(
                check(TypeChamp::Checkbox, raw),
                Ok(Some(json!(false))),
                "{raw}"
            );
        }
        assert_eq!(check(TypeChamp::Checkbox, ""), Ok(None));
        assert_eq!(
            check(TypeChamp::Checkbox, "peut-être"),
            Err("« Mon champ » : valeur de case à cocher invalide.".to_owned())
        );
    }

    // ---- drop-down ----

    #[test]
    fn drop_down_list() {
        let o = ChampOptions {
            drop_down_options: vec!["Fromage".into(), "Dessert".into()],
            ..opts()
        };
        let d = def(TypeChamp::DropDownList, &o);
        assert_eq!(validate(&d, "Fromage"), Ok(Some(json!("Fromage"))));
        assert_eq!(validate(&d, " Dessert "), Ok(Some(json!("Dessert"))));
        let msg = Err("« Mon champ » : choisissez une valeur de la liste.".to_owned());
        assert_eq!(validate(&d, "fromage"), msg);
        assert_eq!(validate(&d, "Café"), msg);
        let empty = opts();
        assert_eq!(validate(&def(TypeChamp::DropDownList, &empty), "x"), msg);
    }

    // ---- email ----

    #[test]
    fn email_accepted() {
        for raw in [
            "jean.dupont@example.fr",
            "  a@b.co ",
            "Jean.Dupont+ds@sub.example.gouv.fr",
            "o'brien@mail-server.ie",
            "x_y-z@a1.io",
        ] {
            assert_eq!(
                check(TypeChamp::Email, raw),
                Ok(Some(json!(raw.trim()))),
                "{raw}"
            );
        }
    }

    #[test]
    fn email_refused() {
        let msg = "« Mon champ » doit être une adresse électronique valide, \
                   par exemple jean.dupont@example.fr."
            .to_owned();
        for raw in [
            "jean.dupont",
            "@example.fr",
            "jean@",
            "jean@example",
            "jean@@example.fr",
            "jean@a@example.fr",
            "jean dupont@example.fr",
            "jean@exa mple.fr",
            "jean@.example.fr",
            "jean@example..fr",
            "jean@example.fr.",
            "jean@-example.fr",
            "jean@example.f",
            "jean@example.12",
            ".jean@example.fr",
            "jean.@example.fr",
            "je..an@example.fr",
            "jéan@example.fr",
            "jean@exémple.fr",
            "jean,dupont@example.fr",
        ] {
            assert_eq!(check(TypeChamp::Email, raw), Err(msg.clone()), "{raw}");
        }
    }

    // ---- phone ----

    #[test]
    fn phone_accepted() {
        for (raw, stored) in [
            ("0612345678", "0612345678"),
            ("06 12 34 56 78", "0612345678"),
            ("06.12.34.56.78", "0612345678"),
            ("06-12-34-56-78", "0612345678"),
            ("01 23 45 67 89", "0123456789"),
            ("0590 12 34 56", "0590123456"),
            ("+33 6 12 34 56 78", "+33612345678"),
            ("+33612345678", "+33612345678"),
            ("+33 (0)6 12 34 56 78", "+33612345678"),
            ("+330612345678", "+33612345678"),
            ("0033 6 12 34 56 78", "+33612345678"),
            ("+1 415 555 2671", "+14155552671"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+49 30 12345678", "+493012345678"),
            ("+262 262 12 34 56", "+262262123456"),
            ("+12345678", "+12345678"),
            ("+123456789012345", "+123456789012345"),
        ] {
            assert_eq!(
                check(TypeChamp::Phone, raw),
                Ok(Some(json!(stored))),
                "{raw}"
            );
        }
    }

    #[test]
    fn phone_refused() {
        let msg = "« Mon champ » doit être un numéro de téléphone valide, \
                   par exemple 06 12 34 56 78 ou +33 6 12 34 56 78."
            .to_owned();
        for raw in [
            "061234567",
            "06123456789",
            "6 12 34 56 78",
            "0012345678",
            "00 12 34 56 78",
            "06 12 34 56 7a",
            "+33 6 12 34 56",
            "+33 6 12 34 56 78 9",
            "+33 0 12 34 56 78",
            "+1234567",
            "+1234567890123456",
            "+0 123 456 789",
            "+",
            "téléphone",
            "06_12_34_56_78",
        ] {
            assert_eq!(check(TypeChamp::Phone, raw), Err(msg.clone()), "{raw}");
        }
    }

    // ---- mandatory ----

    #[test]
    fn mandatory_checks() {
        let o = opts();
        let text = def(TypeChamp::Text, &o);
        let filled = Err("Le champ « Mon champ » doit être rempli.".to_owned());
        assert_eq!(check_mandatory(&text, None), filled);
        assert_eq!(check_mandatory(&text, Some(&Value::Null)), filled);
        assert_eq!(check_mandatory(&text, Some(&json!("  "))), filled);
        assert_eq!(check_mandatory(&text, Some(&json!([]))), filled);
        assert_eq!(check_mandatory(&text, Some(&json!("x"))), Ok(()));

        let int = def(TypeChamp::IntegerNumber, &o);
        assert_eq!(check_mandatory(&int, Some(&json!(0))), Ok(()));
        assert_eq!(check_mandatory(&int, None), filled);

        let cb = def(TypeChamp::Checkbox, &o);
        let coche = Err("La case « Mon champ » doit être cochée.".to_owned());
        assert_eq!(check_mandatory(&cb, None), coche);
        assert_eq!(check_mandatory(&cb, Some(&json!(false))), coche);
        assert_eq!(check_mandatory(&cb, Some(&json!(true))), Ok(()));

        for t in [TypeChamp::HeaderSection, TypeChamp::Explication] {
            assert_eq!(check_mandatory(&def(t, &o), None), Ok(()));
        }

        for t in TypeChamp::ALL {
            let optional = ChampDef {
                mandatory: false,
                ..def(t, &o)
            };
            assert_eq!(check_mandatory(&optional, None), Ok(()), "{t:?}");
            assert_eq!(check_mandatory(&optional, Some(&json!(false))), Ok(()));
        }
    }

    #[test]
    fn validate_then_mandatory() {
        let o = opts();
        let d = def(TypeChamp::Checkbox, &o);
        let v = validate(&d, "").ok().flatten();
        assert!(check_mandatory(&d, v.as_ref()).is_err());
        let v = validate(&d, "on").ok().flatten();
        assert_eq!(check_mandatory(&d, v.as_ref()), Ok(()));
    }

    // ---- display ----

    #[test]
    fn display_values() {
        assert_eq!(display(TypeChamp::Text, &json!("Bonjour")), "Bonjour");
        assert_eq!(display(TypeChamp::Textarea, &json!("a\nb")), "a\nb");
        assert_eq!(
            display(TypeChamp::IntegerNumber, &json!(1234567)),
            "1234567"
        );
        assert_eq!(display(TypeChamp::IntegerNumber, &json!(-3)), "-3");
        assert_eq!(display(TypeChamp::Date, &json!("2024-03-01")), "01/03/2024");
        assert_eq!(display(TypeChamp::Date, &json!("n'importe")), "n'importe");
        assert_eq!(display(TypeChamp::Checkbox, &json!(true)), "Oui");
        assert_eq!(display(TypeChamp::Checkbox, &json!(false)), "Non");
        assert_eq!(display(TypeChamp::Checkbox, &json!("true")), "Oui");
        assert_eq!(display(TypeChamp::Checkbox, &json!("false")), "Non");
        assert_eq!(
            display(TypeChamp::DropDownList, &json!("Fromage")),
            "Fromage"
        );
        assert_eq!(display(TypeChamp::Email, &json!("a@b.fr")), "a@b.fr");
        assert_eq!(
            display(TypeChamp::Phone, &json!("0612345678")),
            "06 12 34 56 78"
        );
        assert_eq!(
            display(TypeChamp::Phone, &json!("+33612345678")),
            "+33 6 12 34 56 78"
        );
        assert_eq!(
            display(TypeChamp::Phone, &json!("+14155552671")),
            "+14155552671"
        );
        for t in TypeChamp::ALL {
            assert_eq!(display(t, &Value::Null), "", "{t:?}");
        }
        assert_eq!(display(TypeChamp::HeaderSection, &json!("x")), "");
        assert_eq!(display(TypeChamp::Explication, &json!("x")), "");
    }

    #[test]
    fn validate_display_round_trip() {
        let o = opts();
        for (t, raw, shown) in [
            (TypeChamp::Date, "5/7/2023", "05/07/2023"),
            (TypeChamp::Phone, "06.12.34.56.78", "06 12 34 56 78"),
            (
                TypeChamp::Phone,
                "+33 (0)1 23 45 67 89",
                "+33 1 23 45 67 89",
            ),
            (TypeChamp::IntegerNumber, " 1 500 ", "1500"),
            (TypeChamp::Checkbox, "on", "Oui"),
        ] {
            let v = validate(&def(t, &o), raw).ok().flatten();
            assert_eq!(v.map(|v| display(t, &v)), Some(shown.to_owned()), "{raw}");
        }
    }

    // ---- new types ----

    fn with(t: TypeChamp, o: &ChampOptions, raw: &str) -> Result<Option<Value>, String> {
        validate(&def(t, o), raw)
    }

    #[test]
    fn decimal_number() {
        for (raw, stored) in [
            ("12,5", json!(12.5)),
            ("12.5", json!(12.5)),
            ("-0,25", json!(-0.25)),
            ("1 000,75", json!(1000.75)),
            ("42", json!(42)),
            ("+3", json!(3)),
        ] {
            assert_eq!(
                check(TypeChamp::DecimalNumber, raw),
                Ok(Some(stored)),
                "{raw}"
            );
        }
        let msg = "« Mon champ » doit être un nombre décimal, par exemple 12,5 ou 1 000,25.";
        for raw in ["abc", "12,", ",5", "1,2,3", "1e3", "12.5.1", "-", "0x1"] {
            assert_eq!(
                check(TypeChamp::DecimalNumber, raw),
                Err(msg.to_owned()),
                "{raw}"
            );
        }
        assert_eq!(display(TypeChamp::DecimalNumber, &json!(12.5)), "12,5");
        assert_eq!(display(TypeChamp::DecimalNumber, &json!(1000)), "1000");
        assert_eq!(display(TypeChamp::DecimalNumber, &json!(-0.25)), "-0,25");
    }

    #[test]
    fn datetime() {
        for (raw, stored) in [
            ("2024-03-01T14:30", "2024-03-01T14:30"),
            ("2024-03-01T14:30:00", "2024-03-01T14:30"),
            ("2024-03-01 09:05", "2024-03-01T09:05"),
            ("01/03/2024 9:05", "2024-03-01T09:05"),
            ("29/02/2024 23:59", "2024-02-29T23:59"),
        ] {
            assert_eq!(
                check(TypeChamp::Datetime, raw),
                Ok(Some(json!(stored))),
                "{raw}"
            );
        }
        let msg = "« Mon champ » doit être une date et une heure valides (JJ/MM/AAAA HH:MM).";
        for raw in [
            "2024-03-01",
            "2024-03-01T24:00",
            "2024-03-01T12:60",
            "30/02/2024 10:00",
            "2024-03-01T1230",
            "demain midi",
            "2024-03-01T12:30:99",
        ] {
            assert_eq!(
                check(TypeChamp::Datetime, raw),
                Err(msg.to_owned()),
                "{raw}"
            );
        }
        assert_eq!(
            display(TypeChamp::Datetime, &json!("2024-03-01T14:30")),
            "01/03/2024 à 14:30"
        );
    }

    #[test]
    fn civilite_yes_no_engagement() {
        assert_eq!(check(TypeChamp::Civilite, "M."), Ok(Some(json!("M."))));
        assert_eq!(check(TypeChamp::Civilite, "Mme"), Ok(Some(json!("Mme"))));
        assert_eq!(
            check(TypeChamp::Civilite, "Mlle"),
            Err("« Mon champ » : choisissez « M. » ou « Mme ».".to_owned())
        );
        assert_eq!(display(TypeChamp::Civilite, &json!("Mme")), "Mme");

        assert_eq!(check(TypeChamp::YesNo, "true"), Ok(Some(json!(true))));
        assert_eq!(check(TypeChamp::YesNo, "false"), Ok(Some(json!(false))));
        assert_eq!(
            check(TypeChamp::YesNo, "bof"),
            Err("« Mon champ » : répondez par Oui ou par Non.".to_owned())
        );
        assert_eq!(display(TypeChamp::YesNo, &json!(false)), "Non");
        let o = opts();
        // « Non » answers a mandatory yes/no question.
        assert_eq!(
            check_mandatory(&def(TypeChamp::YesNo, &o), Some(&json!(false))),
            Ok(())
        );

        assert_eq!(check(TypeChamp::Engagement, "on"), Ok(Some(json!(true))));
        assert_eq!(display(TypeChamp::Engagement, &json!(true)), "Oui");
        assert_eq!(
            check_mandatory(&def(TypeChamp::Engagement, &o), None),
            Err("La case « Mon champ » doit être cochée.".to_owned())
        );
    }

    #[test]
    fn drop_down_other() {
        let o = ChampOptions {
            drop_down_options: vec!["Fromage".into(), "Dessert".into()],
            drop_down_other: true,
            ..opts()
        };
        let t = TypeChamp::DropDownList;
        assert_eq!(with(t, &o, "Fromage\n"), Ok(Some(json!("Fromage"))));
        assert_eq!(with(t, &o, "Fromage\nignoré"), Ok(Some(json!("Fromage"))));
        assert_eq!(
            with(t, &o, "__autre__\n Café gourmand "),
            Ok(Some(json!("Café gourmand")))
        );
        assert_eq!(
            with(t, &o, "__autre__\n "),
            Err("« Mon champ » : précisez votre réponse dans le champ « Autre ».".to_owned())
        );
        assert_eq!(with(t, &o, "\nCafé"), Ok(None));
        let closed = ChampOptions {
            drop_down_other: false,
            ..o.clone()
        };
        assert_eq!(
            with(t, &closed, "__autre__\nCafé"),
            Err("« Mon champ » : choisissez une valeur de la liste.".to_owned())
        );
    }

    #[test]
    fn multiple_drop_down_list() {
        let o = ChampOptions {
            drop_down_options: vec!["Rouge".into(), "Vert".into(), "Bleu".into()],
            ..opts()
        };
        let t = TypeChamp::MultipleDropDownList;
        assert_eq!(
            with(t, &o, "Bleu\nRouge\nBleu"),
            Ok(Some(json!(["Rouge", "Bleu"])))
        );
        assert_eq!(with(t, &o, "\n \n"), Ok(None));
        assert_eq!(
            with(t, &o, "Rouge\nJaune"),
            Err("« Mon champ » : choisissez des valeurs de la liste.".to_owned())
        );
        assert_eq!(display(t, &json!(["Rouge", "Bleu"])), "Rouge, Bleu");
        assert_eq!(
            check_mandatory(&def(t, &o), Some(&json!([]))),
            Err("Le champ « Mon champ » doit être rempli.".to_owned())
        );
    }

    fn linked() -> ChampOptions {
        ChampOptions {
            drop_down_options: ChampOptions::parse_linked(
                "--Fruits--\nPomme\nPoire\n\n--Légumes--\nPoireau\n--Autre--\n",
            ),
            ..opts()
        }
    }

    #[test]
    fn linked_groups_follow_ds_syntax() {
        assert_eq!(
            linked().linked_groups(),
            vec![
                (
                    "Fruits".to_owned(),
                    vec!["Pomme".to_owned(), "Poire".to_owned()]
                ),
                ("Légumes".to_owned(), vec!["Poireau".to_owned()]),
                ("Autre".to_owned(), vec![]),
            ]
        );
        assert_eq!(linked_primary("-- A --"), Some("A"));
        assert_eq!(linked_primary("----"), None);
        assert_eq!(linked_primary("-A-"), None);
    }

    #[test]
    fn linked_drop_down_list() {
        let o = linked();
        let t = TypeChamp::LinkedDropDownList;
        assert_eq!(
            with(t, &o, "Fruits\nPoire"),
            Ok(Some(json!({"primary": "Fruits", "secondary": "Poire"})))
        );
        assert_eq!(
            with(t, &o, "Autre\n"),
            Ok(Some(json!({"primary": "Autre", "secondary": ""})))
        );
        assert_eq!(with(t, &o, "\n"), Ok(None));
        assert_eq!(
            with(t, &o, "Légumes\nPomme"),
            Err(
                "« Mon champ » : « Pomme » n’est pas un choix possible pour « Légumes »."
                    .to_owned()
            )
        );
        assert_eq!(
            with(t, &o, "Viandes\n"),
            Err("« Mon champ » : choisissez une valeur de la liste.".to_owned())
        );
        assert_eq!(
            with(t, &o, "\nPomme"),
            Err("« Mon champ » : choisissez d’abord une valeur dans la première liste.".to_owned())
        );
        let d = def(t, &o);
        let rempli = Err("Le champ « Mon champ » doit être rempli.".to_owned());
        assert_eq!(
            check_mandatory(&d, Some(&json!({"primary": "Fruits", "secondary": ""}))),
            rempli
        );
        assert_eq!(
            check_mandatory(&d, Some(&json!({"primary": "Autre", "secondary": ""}))),
            Ok(())
        );
        assert_eq!(
            display(t, &json!({"primary": "Fruits", "secondary": "Poire"})),
            "Fruits / Poire"
        );
        assert_eq!(
            display(t, &json!({"primary": "Autre", "secondary": ""})),
            "Autre"
        );
    }

    #[test]
    fn siret() {
        let t = TypeChamp::Siret;
        // Luhn; then La Poste (SIREN 356 000 000): digits summing to a multiple of 5,
        // whatever Luhn says.
        for (raw, stored) in [
            ("732 829 320 00074", "73282932000074"),
            ("41816609600069", "41816609600069"),
            ("35600000000015", "35600000000015"),
            ("35600000049837", "35600000049837"),
        ] {
            assert_eq!(check(t, raw), Ok(Some(json!(stored))), "{raw}");
        }
        let length = "Le numéro SIRET doit comporter exactement 14 chiffres.";
        for raw in ["7328293200007", "732829320000745", "7328293200007A"] {
            assert_eq!(check(t, raw), Err(length.to_owned()), "{raw}");
        }
        let invalid = "Le numéro SIRET n’est pas valide.";
        for raw in ["73282932000075", "35600000049838", "12345678901234"] {
            assert_eq!(check(t, raw), Err(invalid.to_owned()), "{raw}");
        }
        assert_eq!(display(t, &json!("73282932000074")), "732 829 320 00074");
    }

    #[test]
    fn iban() {
        let t = TypeChamp::Iban;
        for (raw, stored) in [
            (
                "FR76 3000 6000 0112 3456 7890 189",
                "FR7630006000011234567890189",
            ),
            ("fr7630006000011234567890189", "FR7630006000011234567890189"),
            ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
            ("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
        ] {
            assert_eq!(check(t, raw), Ok(Some(json!(stored))), "{raw}");
        }
        let msg = "« Mon champ » doit être un IBAN valide, \
                   par exemple FR76 3000 6000 0112 3456 7890 189.";
        for raw in [
            "FR76 3000 6000 0112 3456 7890 188",
            "FR7630006000",
            "7630006000011234567890189",
            "FR76-3000-6000-0112-3456-7890-189",
        ] {
            assert_eq!(check(t, raw), Err(msg.to_owned()), "{raw}");
        }
        assert_eq!(
            display(t, &json!("FR7630006000011234567890189")),
            "FR76 3000 6000 0112 3456 7890 189"
        );
    }

    #[test]
    fn rna() {
        let t = TypeChamp::Rna;
        assert_eq!(check(t, "W751234567"), Ok(Some(json!("W751234567"))));
        assert_eq!(check(t, " w 751 234 567 "), Ok(Some(json!("W751234567"))));
        let msg = "« Mon champ » doit être un numéro RNA : la lettre W suivie de 9 chiffres, \
                   par exemple W751234567.";
        for raw in [
            "751234567",
            "W75123456",
            "W7512345678",
            "X751234567",
            "W75123456A",
        ] {
            assert_eq!(check(t, raw), Err(msg.to_owned()), "{raw}");
        }
    }

    #[test]
    fn formatted() {
        let t = TypeChamp::Formatted;
        let o = ChampOptions {
            letters_accepted: true,
            numbers_accepted: true,
            min_character_length: Some(3),
            max_character_length: Some(6),
            ..opts()
        };
        assert_eq!(with(t, &o, "AB12é"), Ok(Some(json!("AB12é"))));
        assert_eq!(
            with(t, &o, "AB-12"),
            Err("« Mon champ » ne doit contenir que des lettres et des chiffres.".to_owned())
        );
        assert_eq!(
            with(t, &o, "AB"),
            Err("« Mon champ » doit comporter entre 3 et 6 caractères.".to_owned())
        );
        let digits = ChampOptions {
            numbers_accepted: true,
            min_character_length: Some(5),
            max_character_length: Some(5),
            ..opts()
        };
        assert_eq!(with(t, &digits, "75001"), Ok(Some(json!("75001"))));
        assert_eq!(
            with(t, &digits, "7500"),
            Err("« Mon champ » doit comporter exactement 5 caractères.".to_owned())
        );
        assert_eq!(
            with(t, &digits, "7500A"),
            Err("« Mon champ » ne doit contenir que des chiffres.".to_owned())
        );
        let special = ChampOptions {
            letters_accepted: true,
            special_characters_accepted: true,
            max_character_length: Some(10),
            ..opts()
        };
        assert_eq!(with(t, &special, "Jean-Paul"), Ok(Some(json!("Jean-Paul"))));
        assert_eq!(
            with(t, &special, "Jean-Paul II"),
            Err("« Mon champ » doit comporter au plus 10 caractères.".to_owned())
        );
        assert_eq!(
            with(t, &special, "R2D2"),
            Err(
                "« Mon champ » ne doit contenir que des lettres et des caractères spéciaux."
                    .to_owned()
            )
        );
    }

    #[test]
    fn dossier_link() {
        let t = TypeChamp::DossierLink;
        let o = opts();
        let exists = |n: i64| n == 42;
        let lookups = Lookups {
            dossier_exists: &exists,
            geo: &EMPTY_GEO,
        };
        let d = def(t, &o);
        assert_eq!(validate_with(&d, "42", lookups), Ok(Some(json!(42))));
        assert_eq!(validate_with(&d, "n° 42", lookups), Ok(Some(json!(42))));
        assert_eq!(
            validate_with(&d, "43", lookups),
            Err("Le dossier n° 43 n’existe pas.".to_owned())
        );
        let msg = "« Mon champ » doit être un numéro de dossier, par exemple 1234.";
        for raw in ["abc", "0", "-4", "4.2"] {
            assert_eq!(
                validate_with(&d, raw, lookups),
                Err(msg.to_owned()),
                "{raw}"
            );
        }
        assert_eq!(display(t, &json!(42)), "42");
    }

    #[test]
    fn address_and_header_options() {
        assert_eq!(
            check(TypeChamp::Address, " 20 avenue de Ségur, 75007 Paris "),
            Ok(Some(json!("20 avenue de Ségur, 75007 Paris")))
        );
        let o: ChampOptions = serde_json::from_str(r#"{"header_level": 3}"#).unwrap_or_default();
        assert_eq!(o.header_level(), 3);
        assert_eq!(opts().header_level(), 1);
        let o: ChampOptions = serde_json::from_str(r#"{"header_level": 9}"#).unwrap_or_default();
        assert_eq!(o.header_level(), 3);
    }

    // ---- geographic types ----

    fn geo() -> GeoIndex {
        GeoIndex {
            pays: vec![Place {
                code: "FR".into(),
                name: "France".into(),
            }],
            regions: vec![Place {
                code: "32".into(),
                name: "Hauts-de-France".into(),
            }],
            departements: vec![Place {
                code: "60".into(),
                name: "Oise".into(),
            }],
            epci: vec![Place {
                code: "246000756".into(),
                name: "CC du Pays Noyonnais".into(),
            }],
            communes: GeoIndex::parse_communes(
                r#"[{"code": "60172", "nom": "Coye-la-Forêt", "departement": "60",
                     "codesPostaux": ["60580"]},
                    {"code": "60471", "nom": "Noyon", "departement": "60",
                     "codesPostaux": ["60400"]},
                    {"code": "60021", "nom": "Appilly", "departement": "60",
                     "codesPostaux": ["60400"]},
                    {"code": "13055", "nom": "Marseille", "departement": "13",
                     "codesPostaux": ["13001", "13002"]}]"#,
            )
            .unwrap_or_default(),
        }
    }

    fn geo_check(t: TypeChamp, raw: &str) -> Result<Option<Value>, String> {
        let o = opts();
        let g = geo();
        validate_with(
            &def(t, &o),
            raw,
            Lookups {
                dossier_exists: &|_| true,
                geo: &g,
            },
        )
    }

    #[test]
    fn places_are_chosen_by_code() {
        for (t, code, name, shown) in [
            (TypeChamp::Pays, "FR", "France", "France"),
            (
                TypeChamp::Regions,
                "32",
                "Hauts-de-France",
                "Hauts-de-France",
            ),
            (TypeChamp::Departements, "60", "Oise", "60 – Oise"),
            (
                TypeChamp::Epci,
                "246000756",
                "CC du Pays Noyonnais",
                "CC du Pays Noyonnais",
            ),
        ] {
            let stored = json!({"code": code, "name": name});
            assert_eq!(geo_check(t, code), Ok(Some(stored.clone())), "{t:?}");
            assert_eq!(display(t, &stored), shown);
            assert_eq!(
                geo_check(t, "ZZ"),
                Err("« Mon champ » : choisissez une valeur de la liste.".to_owned())
            );
        }
    }

    #[test]
    fn communes_by_name_or_postal_code() {
        let t = TypeChamp::Communes;
        let coye = json!({"code": "60172", "name": "Coye-la-Forêt", "postal_code": "60580",
                          "departement": "60"});
        for raw in [
            "Coye-la-Forêt",
            "coye la foret",
            "60580",
            "Coye-la-Forêt (60580)",
        ] {
            assert_eq!(geo_check(t, raw), Ok(Some(coye.clone())), "{raw}");
        }
        assert_eq!(display(t, &coye), "Coye-la-Forêt (60580)");
        assert_eq!(
            geo_check(t, "Marseille 13002")
                .ok()
                .flatten()
                .map(|v| v["postal_code"].clone()),
            Some(json!("13002"))
        );
        assert_eq!(
            geo_check(t, "60400"),
            Err(
                "Plusieurs communes correspondent à « 60400 » : Appilly (60400), \
                 Noyon (60400). Précisez le nom et le code postal, par exemple \
                 « Appilly (60400) »."
                    .to_owned()
            )
        );
        assert_eq!(
            geo_check(t, "Marseille"),
            Err(
                "Plusieurs communes correspondent à « Marseille » : Marseille (13001), \
                 Marseille (13002). Précisez le nom et le code postal, par exemple \
                 « Marseille (13001) »."
                    .to_owned()
            )
        );
        assert_eq!(
            geo_check(t, "Coye"),
            Err("Aucune commune ne correspond à « Coye ». \
                 Vouliez-vous dire : Coye-la-Forêt (60580) ?"
                .to_owned())
        );
        assert_eq!(
            geo_check(t, "Noyon 60580"),
            Err("Aucune commune ne correspond à « Noyon 60580 ». \
                 Vouliez-vous dire : Noyon (60400) ?"
                .to_owned())
        );
        assert_eq!(
            geo_check(t, "75001"),
            Err("Aucune commune ne correspond au code postal 75001.".to_owned())
        );
        assert_eq!(
            geo_check(t, "Atlantide"),
            Err("Aucune commune ne correspond à « Atlantide ».".to_owned())
        );
    }

    #[test]
    fn geographic_types_without_data() {
        let msg = "Les données géographiques ne sont pas disponibles pour le moment : \
                   « Mon champ » ne peut pas être enregistré. Réessayez plus tard.";
        for t in [
            TypeChamp::Pays,
            TypeChamp::Regions,
            TypeChamp::Departements,
            TypeChamp::Communes,
            TypeChamp::Epci,
        ] {
            assert_eq!(check(t, "60"), Err(msg.to_owned()), "{t:?}");
            assert_eq!(check(t, " "), Ok(None), "{t:?}");
        }
    }
}
