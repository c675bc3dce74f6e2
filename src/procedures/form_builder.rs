//! The form builder: public champs of the DRAFT revision (FEATURES §4.2 editor
//! operations). Published revisions are never touched; positions stay 0..n-1.

use demarches_actors::domain::champ::{ChampOptions, TypeChamp, linked_primary};
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::PgConnection;

use super::{EditError, FieldError, lock_procedure};

pub const EMPTY_DROP_DOWN: &str = "Ajoutez au moins une option à la liste.";
pub const EMPTY_LINKED: &str =
    "Ajoutez au moins une valeur principale, sous la forme --Valeur principale--.";
pub const ORPHAN_SECONDARY: &str =
    "Chaque valeur secondaire doit suivre une valeur principale (--Valeur principale--).";
pub const NO_CHARACTER_KIND: &str = "Choisissez au moins un type de caractères autorisés.";
const LIBELLE_MAX: usize = 500;

/// A champ definition to add or to write over an existing one.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChamp {
    pub type_champ: TypeChamp,
    pub libelle: String,
    pub description: String,
    /// Ignored (stored false) for header sections and explications.
    pub mandatory: bool,
    pub options: ChampOptions,
}

/// The champ form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChampInput {
    pub type_champ: String,
    pub libelle: String,
    pub description: String,
    /// A checkbox: present when checked.
    pub mandatory: Option<String>,
    /// Drop-down options, one per line.
    pub drop_down_options: String,
    pub min: String,
    pub max: String,
    pub character_limit: String,
    /// Simple drop-down: « Autre » allowed (a checkbox).
    pub drop_down_other: Option<String>,
    /// Header section: "1", "2" or "3".
    pub header_level: String,
    /// Explication: folded text (a checkbox).
    pub collapsible_explanation_enabled: Option<String>,
    pub collapsible_explanation_text: String,
    /// Champ formaté: allowed characters (checkboxes) and length bounds.
    pub letters_accepted: Option<String>,
    pub numbers_accepted: Option<String>,
    pub special_characters_accepted: Option<String>,
    pub min_character_length: String,
    pub max_character_length: String,
    /// Other fields: the checked layers of a carte, `carte_layer_<key>` (checkboxes).
    #[serde(flatten)]
    pub extra: std::collections::BTreeMap<String, String>,
}

impl ChampInput {
    /// The form of a new champ: a mandatory short text, as DS.
    pub fn blank() -> Self {
        ChampInput {
            type_champ: TypeChamp::Text.as_str().to_owned(),
            mandatory: Some("on".to_owned()),
            ..Default::default()
        }
    }

    /// The form filled with an existing champ.
    pub fn from_champ(champ: &DraftChamp) -> Self {
        let o = &champ.options;
        ChampInput {
            type_champ: champ.type_champ.as_str().to_owned(),
            libelle: champ.libelle.clone(),
            description: champ.description.clone(),
            mandatory: champ.mandatory.then(|| "on".to_owned()),
            drop_down_options: o.drop_down_options.join("\n"),
            min: o.min.map(|n| n.to_string()).unwrap_or_default(),
            max: o.max.map(|n| n.to_string()).unwrap_or_default(),
            character_limit: o.character_limit.map(|n| n.to_string()).unwrap_or_default(),
            drop_down_other: o.drop_down_other.then(on),
            header_level: o.header_level().to_string(),
            collapsible_explanation_enabled: o.collapsible_explanation_enabled.then(on),
            collapsible_explanation_text: o.collapsible_explanation_text.clone(),
            letters_accepted: o.letters_accepted.then(on),
            numbers_accepted: o.numbers_accepted.then(on),
            special_characters_accepted: o.special_characters_accepted.then(on),
            min_character_length: o
                .min_character_length
                .map(|n| n.to_string())
                .unwrap_or_default(),
            max_character_length: o
                .max_character_length
                .map(|n| n.to_string())
                .unwrap_or_default(),
            extra: o
                .carte_layers
                .iter()
                .map(|key| (format!("carte_layer_{key}"), on()))
                .collect(),
        }
    }

    /// The layers of a carte, in the builder's order: (key, label, checked).
    pub fn carte_layers(&self) -> Vec<(&'static str, &'static str, bool)> {
        demarches_actors::domain::carte::LAYERS
            .iter()
            .map(|(key, label)| {
                let checked = self.extra.contains_key(&format!("carte_layer_{key}"));
                (*key, *label, checked)
            })
            .collect()
    }

    /// The header level typed, for the level picker.
    pub fn is_header_level(&self, level: &str) -> bool {
        let typed = self.header_level.trim();
        typed == level || (typed.is_empty() && level == "1")
    }

    pub fn is_mandatory(&self) -> bool {
        self.mandatory.is_some()
    }

    /// Checks the typed values; on success gives the champ to write.
    pub fn parse(&self) -> Result<NewChamp, Vec<FieldError>> {
        let mut errors = Vec::new();
        let type_champ = match self.type_champ.parse::<TypeChamp>() {
            Ok(t) => Some(t),
            Err(_) => {
                errors.push(FieldError::new(
                    "type_champ",
                    "Choisissez le type du champ.",
                ));
                None
            }
        };
        let mut options = ChampOptions::default();
        match type_champ {
            Some(TypeChamp::DropDownList) => {
                options.drop_down_options = ChampOptions::parse_drop_down(&self.drop_down_options);
                options.drop_down_other = self.drop_down_other.is_some();
            }
            Some(TypeChamp::MultipleDropDownList) => {
                options.drop_down_options = ChampOptions::parse_drop_down(&self.drop_down_options);
            }
            Some(TypeChamp::LinkedDropDownList) => {
                options.drop_down_options = ChampOptions::parse_linked(&self.drop_down_options);
            }
            Some(TypeChamp::HeaderSection) => {
                options.header_level = match self.header_level.trim() {
                    "" | "1" => Some(1),
                    "2" => Some(2),
                    "3" => Some(3),
                    _ => {
                        errors.push(FieldError::new(
                            "header_level",
                            "Choisissez un niveau de titre entre 1 et 3.",
                        ));
                        None
                    }
                };
            }
            Some(TypeChamp::Explication) => {
                options.collapsible_explanation_enabled =
                    self.collapsible_explanation_enabled.is_some();
                options.collapsible_explanation_text = self
                    .collapsible_explanation_text
                    .replace("\r\n", "\n")
                    .trim()
                    .to_owned();
            }
            Some(TypeChamp::Formatted) => {
                options.letters_accepted = self.letters_accepted.is_some();
                options.numbers_accepted = self.numbers_accepted.is_some();
                options.special_characters_accepted = self.special_characters_accepted.is_some();
                options.min_character_length = parse_length(
                    &self.min_character_length,
                    "min_character_length",
                    "La longueur minimale",
                    &mut errors,
                );
                options.max_character_length = parse_length(
                    &self.max_character_length,
                    "max_character_length",
                    "La longueur maximale",
                    &mut errors,
                );
            }
            Some(TypeChamp::IntegerNumber) => {
                options.min = parse_integer(&self.min, "min", "Le minimum", &mut errors);
                options.max = parse_integer(&self.max, "max", "Le maximum", &mut errors);
            }
            Some(TypeChamp::Carte) => {
                options.carte_layers = self
                    .carte_layers()
                    .into_iter()
                    .filter(|(_, _, checked)| *checked)
                    .map(|(key, _, _)| key.to_owned())
                    .collect();
            }
            Some(TypeChamp::Textarea) => {
                let raw = compact(&self.character_limit);
                if !raw.is_empty() {
                    match raw.parse::<u32>() {
                        Ok(n) if n > 0 => options.character_limit = Some(n),
                        _ => errors.push(FieldError::new(
                            "character_limit",
                            "La limite de caractères doit être un nombre entier positif.",
                        )),
                    }
                }
            }
            _ => {}
        }
        let champ = type_champ.map(|type_champ| NewChamp {
            type_champ,
            libelle: self.libelle.trim().to_owned(),
            description: crate::rich_text::sanitize(&self.description),
            mandatory: self.is_mandatory(),
            options,
        });
        if let Some(champ) = &champ {
            errors.extend(check(champ));
        } else if self.libelle.trim().is_empty() {
            errors.push(FieldError::new("libelle", "Saisissez le libellé du champ."));
        }
        match champ {
            Some(champ) if errors.is_empty() => Ok(champ),
            _ => Err(errors),
        }
    }
}

fn on() -> String {
    "on".to_owned()
}

fn parse_length(
    raw: &str,
    field: &'static str,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<u32> {
    let raw = compact(raw);
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<u32>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            errors.push(FieldError::new(
                field,
                format!("{name} doit être un nombre entier positif."),
            ));
            None
        }
    }
}

fn compact(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace()).collect()
}

fn parse_integer(
    raw: &str,
    field: &'static str,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    let raw = compact(raw);
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                format!("{name} doit être un nombre entier."),
            ));
            None
        }
    }
}

/// The rules of a champ definition, whoever builds it (form or `demo` command).
pub fn check(champ: &NewChamp) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let libelle = champ.libelle.trim();
    if libelle.is_empty() {
        errors.push(FieldError::new("libelle", "Saisissez le libellé du champ."));
    } else if libelle.chars().count() > LIBELLE_MAX {
        errors.push(FieldError::new(
            "libelle",
            format!("Le libellé ne doit pas dépasser {LIBELLE_MAX} caractères."),
        ));
    }
    let o = &champ.options;
    match champ.type_champ {
        TypeChamp::DropDownList | TypeChamp::MultipleDropDownList
            if o.drop_down_options.is_empty() =>
        {
            errors.push(FieldError::new("drop_down_options", EMPTY_DROP_DOWN));
        }
        TypeChamp::LinkedDropDownList => {
            let first = o.drop_down_options.first();
            if first.is_some_and(|l| linked_primary(l).is_none()) {
                errors.push(FieldError::new("drop_down_options", ORPHAN_SECONDARY));
            } else if o.linked_groups().is_empty() {
                errors.push(FieldError::new("drop_down_options", EMPTY_LINKED));
            }
        }
        TypeChamp::Formatted => {
            if !(o.letters_accepted || o.numbers_accepted || o.special_characters_accepted) {
                errors.push(FieldError::new("letters_accepted", NO_CHARACTER_KIND));
            }
            if let (Some(min), Some(max)) = (o.min_character_length, o.max_character_length)
                && min > max
            {
                errors.push(FieldError::new(
                    "max_character_length",
                    "La longueur maximale doit être supérieure ou égale à la longueur minimale.",
                ));
            }
        }
        TypeChamp::IntegerNumber => {
            if let (Some(min), Some(max)) = (o.min, o.max)
                && min > max
            {
                errors.push(FieldError::new(
                    "max",
                    "Le maximum doit être supérieur ou égal au minimum.",
                ));
            }
        }
        _ => {}
    }
    errors
}

/// The options kept for a type, as stored in `types_de_champ.options` (only the keys
/// that apply, unset ones left out).
pub fn options_json(type_champ: TypeChamp, options: &ChampOptions) -> Value {
    let mut map = Map::new();
    match type_champ {
        TypeChamp::DropDownList
        | TypeChamp::MultipleDropDownList
        | TypeChamp::LinkedDropDownList => {
            map.insert(
                "drop_down_options".to_owned(),
                Value::from(options.drop_down_options.clone()),
            );
            if type_champ == TypeChamp::DropDownList && options.drop_down_other {
                map.insert("drop_down_other".to_owned(), Value::Bool(true));
            }
        }
        TypeChamp::HeaderSection => {
            map.insert(
                "header_level".to_owned(),
                Value::from(options.header_level()),
            );
        }
        TypeChamp::Explication if options.collapsible_explanation_enabled => {
            map.insert(
                "collapsible_explanation_enabled".to_owned(),
                Value::Bool(true),
            );
            map.insert(
                "collapsible_explanation_text".to_owned(),
                Value::from(options.collapsible_explanation_text.clone()),
            );
        }
        TypeChamp::Formatted => {
            for (key, on) in [
                ("letters_accepted", options.letters_accepted),
                ("numbers_accepted", options.numbers_accepted),
                (
                    "special_characters_accepted",
                    options.special_characters_accepted,
                ),
            ] {
                map.insert(key.to_owned(), Value::Bool(on));
            }
            if let Some(n) = options.min_character_length {
                map.insert("min_character_length".to_owned(), Value::from(n));
            }
            if let Some(n) = options.max_character_length {
                map.insert("max_character_length".to_owned(), Value::from(n));
            }
        }
        TypeChamp::IntegerNumber => {
            if let Some(min) = options.min {
                map.insert("min".to_owned(), Value::from(min));
            }
            if let Some(max) = options.max {
                map.insert("max".to_owned(), Value::from(max));
            }
        }
        TypeChamp::Textarea => {
            if let Some(limit) = options.character_limit {
                map.insert("character_limit".to_owned(), Value::from(limit));
            }
        }
        TypeChamp::Carte if !options.carte_layers.is_empty() => {
            map.insert(
                "carte_layers".to_owned(),
                Value::from(options.carte_layers.clone()),
            );
        }
        _ => {}
    }
    Value::Object(map)
}

/// A public champ of the draft revision.
#[derive(Debug, Clone)]
pub struct DraftChamp {
    pub stable_id: i64,
    /// The bloc répétable holding this champ.
    pub parent: Option<i64>,
    /// Place among the champs of the form, or among the children of its block.
    pub position: i32,
    pub type_champ: TypeChamp,
    pub libelle: String,
    pub description: String,
    pub mandatory: bool,
    pub options: ChampOptions,
}

impl DraftChamp {
    /// A short French summary of the options ("3 options", "entre 1 et 10"…).
    pub fn options_summary(&self) -> String {
        let o = &self.options;
        match self.type_champ {
            TypeChamp::DropDownList | TypeChamp::MultipleDropDownList => {
                let count = match o.drop_down_options.len() {
                    1 => "1 option".to_owned(),
                    n => format!("{n} options"),
                };
                if o.drop_down_other {
                    format!("{count} et « Autre »")
                } else {
                    count
                }
            }
            TypeChamp::LinkedDropDownList => match o.linked_groups().len() {
                1 => "1 valeur principale".to_owned(),
                n => format!("{n} valeurs principales"),
            },
            TypeChamp::HeaderSection => format!("niveau {}", o.header_level()),
            TypeChamp::Explication if o.collapsible_explanation_enabled => {
                "texte repliable".to_owned()
            }
            TypeChamp::Carte => {
                let mut layers = vec!["sélection utilisateur"];
                layers.extend(
                    o.carte_layers
                        .iter()
                        .filter_map(|k| demarches_actors::domain::carte::layer_libelle(k)),
                );
                layers.join(", ")
            }
            TypeChamp::Formatted => {
                let mut kinds = Vec::new();
                if o.letters_accepted {
                    kinds.push("lettres");
                }
                if o.numbers_accepted {
                    kinds.push("chiffres");
                }
                if o.special_characters_accepted {
                    kinds.push("caractères spéciaux");
                }
                let mut text = kinds.join(", ");
                match (o.min_character_length, o.max_character_length) {
                    (Some(lo), Some(hi)) => text.push_str(&format!(", {lo} à {hi} caractères")),
                    (Some(lo), None) => text.push_str(&format!(", au moins {lo} caractères")),
                    (None, Some(hi)) => text.push_str(&format!(", au plus {hi} caractères")),
                    (None, None) => {}
                }
                text
            }
            TypeChamp::IntegerNumber => match (o.min, o.max) {
                (Some(lo), Some(hi)) => format!("entre {lo} et {hi}"),
                (Some(lo), None) => format!("au moins {lo}"),
                (None, Some(hi)) => format!("au plus {hi}"),
                (None, None) => String::new(),
            },
            TypeChamp::Textarea => o
                .character_limit
                .map(|n| format!("{n} caractères au plus"))
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct DraftChampRow {
    stable_id: i64,
    parent_stable_id: Option<i64>,
    position: i32,
    type_champ: String,
    libelle: String,
    description: String,
    mandatory: bool,
    options: Value,
}

impl DraftChampRow {
    fn into_champ(self) -> Option<DraftChamp> {
        Some(DraftChamp {
            stable_id: self.stable_id,
            parent: self.parent_stable_id,
            position: self.position,
            type_champ: self.type_champ.parse().ok()?,
            libelle: self.libelle,
            description: self.description,
            mandatory: self.mandatory,
            options: serde_json::from_value(self.options).unwrap_or_default(),
        })
    }
}

/// Condition selecting the public top-level champs of a revision (SQL fragment).
macro_rules! public_root {
    () => {
        "private = false and parent_stable_id is null"
    };
}

/// Number of public champs of the draft revision.
pub async fn count_draft(conn: &mut PgConnection, procedure_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "select count(*) from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and t.",
        public_root!(),
        ""
    ))
    .bind(procedure_id)
    .fetch_one(conn)
    .await
}

/// One page of the public champs of the draft revision, in order. Types this version
/// does not know are left out.
pub async fn list_draft(
    conn: &mut PgConnection,
    procedure_id: i64,
    offset: i64,
    limit: i64,
) -> Result<Vec<DraftChamp>, sqlx::Error> {
    let rows: Vec<DraftChampRow> = sqlx::query_as(concat!(
        "select t.stable_id, t.parent_stable_id, t.position, t.type_champ, t.libelle,
                t.description, t.mandatory, t.options
         from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and t.",
        public_root!(),
        "
         order by t.position, t.id
         offset $2 limit $3"
    ))
    .bind(procedure_id)
    .bind(offset)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(DraftChampRow::into_champ)
        .collect())
}

/// One public champ of the draft revision.
pub async fn find_draft(
    conn: &mut PgConnection,
    procedure_id: i64,
    stable_id: i64,
) -> Result<Option<DraftChamp>, sqlx::Error> {
    let row: Option<DraftChampRow> = sqlx::query_as(
        "select t.stable_id, t.parent_stable_id, t.position, t.type_champ, t.libelle,
                t.description, t.mandatory, t.options
         from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and t.stable_id = $2 and not t.private",
    )
    .bind(procedure_id)
    .bind(stable_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(DraftChampRow::into_champ))
}

/// The children of the blocs répétables `blocks` of the draft form, by block then position
/// (one query for a page of the builder).
pub async fn list_children(
    conn: &mut PgConnection,
    procedure_id: i64,
    blocks: &[i64],
) -> Result<Vec<DraftChamp>, sqlx::Error> {
    let rows: Vec<DraftChampRow> = sqlx::query_as(
        "select t.stable_id, t.parent_stable_id, t.position, t.type_champ, t.libelle,
                t.description, t.mandatory, t.options
         from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and not t.private and t.parent_stable_id = any($2)
         order by t.parent_stable_id, t.position, t.id",
    )
    .bind(procedure_id)
    .bind(blocks)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(DraftChampRow::into_champ)
        .collect())
}

/// "Un bloc répétable ne peut contenir…": the types refused in a block.
pub const CHILD_TYPE_REFUSED: &str = "Un bloc répétable ne peut contenir ni un autre bloc répétable ni une pièce justificative ni un titre d’identité : choisissez un autre type.";

/// Refuses a child type a block cannot hold.
fn check_child(champ: &NewChamp) -> Result<(), EditError> {
    if champ.type_champ.can_be_child() {
        Ok(())
    } else {
        Err(EditError::Invalid(vec![FieldError::new(
            "type_champ",
            CHILD_TYPE_REFUSED,
        )]))
    }
}

/// Adds a champ at the end of the draft form, or at the end of the bloc répétable `parent`;
/// returns its new stable id.
pub async fn add_champ(
    conn: &mut PgConnection,
    procedure_id: i64,
    champ: NewChamp,
    parent: Option<i64>,
) -> Result<i64, EditError> {
    let errors = check(&champ);
    if !errors.is_empty() {
        return Err(EditError::Invalid(errors));
    }
    let draft = lock_procedure(conn, procedure_id).await?.draft_revision_id;
    if let Some(block) = parent {
        check_child(&champ)?;
        let is_block: bool = sqlx::query_scalar(concat!(
            "select exists (select 1 from types_de_champ where revision_id = $1
               and stable_id = $2 and type_champ = 'repetition' and ",
            public_root!(),
            ")"
        ))
        .bind(draft)
        .bind(block)
        .fetch_one(&mut *conn)
        .await?;
        if !is_block {
            return Err(EditError::NotFound);
        }
    }
    let stable_id: i64 = sqlx::query_scalar(
        "insert into types_de_champ
           (revision_id, stable_id, parent_stable_id, position, type_champ, libelle,
            description, mandatory, options)
         select $1, nextval('types_de_champ_stable_id_seq'), $7,
                coalesce((select max(position) + 1 from types_de_champ
                          where revision_id = $1 and private = false
                            and parent_stable_id is not distinct from $7), 0),
                $2, $3, $4, $5, $6
         returning stable_id",
    )
    .bind(draft)
    .bind(champ.type_champ.as_str())
    .bind(champ.libelle.trim())
    .bind(champ.description.trim())
    .bind(champ.mandatory && champ.type_champ.has_value())
    .bind(options_json(champ.type_champ, &champ.options))
    .bind(parent)
    .fetch_one(&mut *conn)
    .await?;
    Ok(stable_id)
}

/// Writes over a champ of the draft form (its place does not change).
pub async fn update_champ(
    conn: &mut PgConnection,
    procedure_id: i64,
    stable_id: i64,
    champ: NewChamp,
) -> Result<(), EditError> {
    let errors = check(&champ);
    if !errors.is_empty() {
        return Err(EditError::Invalid(errors));
    }
    let draft = lock_procedure(conn, procedure_id).await?.draft_revision_id;
    let (parent, children): (Option<i64>, bool) = sqlx::query_as(
        "select t.parent_stable_id,
                exists (select 1 from types_de_champ c
                        where c.revision_id = $1 and c.parent_stable_id = t.stable_id)
         from types_de_champ t where t.revision_id = $1 and t.stable_id = $2 and not t.private",
    )
    .bind(draft)
    .bind(stable_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(EditError::NotFound)?;
    if parent.is_some() {
        check_child(&champ)?;
    }
    super::revisions::check_type_change(conn, procedure_id, draft, stable_id, champ.type_champ)
        .await?;
    if children && !champ.type_champ.is_repetition() {
        return Err(EditError::Invalid(vec![FieldError::new(
            "type_champ",
            "Ce bloc répétable contient des champs : supprimez-les avant de changer son type.",
        )]));
    }
    let updated = sqlx::query(
        "update types_de_champ set type_champ = $3, libelle = $4, description = $5,
           mandatory = $6, options = $7
         where revision_id = $1 and stable_id = $2 and not private",
    )
    .bind(draft)
    .bind(stable_id)
    .bind(champ.type_champ.as_str())
    .bind(champ.libelle.trim())
    .bind(champ.description.trim())
    .bind(champ.mandatory && champ.type_champ.has_value())
    .bind(options_json(champ.type_champ, &champ.options))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(EditError::NotFound);
    }
    // A new type may no longer fit the conditions that read this champ.
    super::conditions::check_draft(conn, draft)
        .await
        .map_err(|e| match e {
            EditError::Refused(message) => {
                EditError::Invalid(vec![FieldError::new("type_champ", message)])
            }
            other => other,
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

/// Swaps a champ with its neighbour above or below. Moving the first champ up (or the
/// last one down) changes nothing. Returns the champ's new position.
pub async fn move_champ(
    conn: &mut PgConnection,
    procedure_id: i64,
    stable_id: i64,
    direction: Direction,
) -> Result<i32, EditError> {
    let draft = lock_procedure(conn, procedure_id).await?.draft_revision_id;
    let parent: Option<Option<i64>> = sqlx::query_scalar(
        "select parent_stable_id from types_de_champ
         where revision_id = $1 and stable_id = $2 and not private",
    )
    .bind(draft)
    .bind(stable_id)
    .fetch_optional(&mut *conn)
    .await?;
    let parent = parent.ok_or(EditError::NotFound)?;
    renumber(conn, draft, parent).await?;
    let position: Option<i32> = sqlx::query_scalar(
        "select position from types_de_champ
         where revision_id = $1 and stable_id = $2 and not private",
    )
    .bind(draft)
    .bind(stable_id)
    .fetch_optional(&mut *conn)
    .await?;
    let position = position.ok_or(EditError::NotFound)?;
    let target = match direction {
        Direction::Up => position - 1,
        Direction::Down => position + 1,
    };
    // Both rows swap positions in one statement; nothing happens at either end.
    let moved = sqlx::query(
        "update types_de_champ t
         set position = case when t.position = $2 then $3 else $2 end
         where t.revision_id = $1 and not t.private and t.parent_stable_id is not distinct from $4
           and t.position in ($2, $3)
           and exists (select 1 from types_de_champ o
                       where o.revision_id = $1 and not o.private
                         and o.parent_stable_id is not distinct from $4 and o.position = $3)",
    )
    .bind(draft)
    .bind(position)
    .bind(target)
    .bind(parent)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // A condition may only read champs placed before its champ.
    super::conditions::check_draft(conn, draft).await?;
    Ok(if moved == 2 { target } else { position })
}

/// Removes a champ from the draft form and closes the gap.
pub async fn delete_champ(
    conn: &mut PgConnection,
    procedure_id: i64,
    stable_id: i64,
) -> Result<(), EditError> {
    let draft = lock_procedure(conn, procedure_id).await?.draft_revision_id;
    // A block goes with its children.
    let parent: Option<Option<i64>> = sqlx::query_scalar(
        "with gone as (
           delete from types_de_champ where revision_id = $1 and not private
             and (stable_id = $2 or parent_stable_id = $2)
           returning stable_id, parent_stable_id
         )
         select parent_stable_id from gone where stable_id = $2",
    )
    .bind(draft)
    .bind(stable_id)
    .fetch_optional(&mut *conn)
    .await?;
    let parent = parent.ok_or(EditError::NotFound)?;
    // Refused while a condition reads this champ.
    super::conditions::check_draft(conn, draft).await?;
    renumber(conn, draft, parent).await?;
    Ok(())
}

/// Gives the public champs of a revision (or the children of the block `parent`) the
/// positions 0..n-1, keeping their order.
async fn renumber(
    conn: &mut PgConnection,
    revision_id: i64,
    parent: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update types_de_champ t set position = r.rank
         from (select id, (row_number() over (order by position, id) - 1)::int as rank
               from types_de_champ where revision_id = $1 and not private
                 and parent_stable_id is not distinct from $2) r
         where t.id = r.id and t.position <> r.rank",
    )
    .bind(revision_id)
    .bind(parent)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(type_champ: &str) -> ChampInput {
        ChampInput {
            type_champ: type_champ.into(),
            libelle: "Libellé".into(),
            ..ChampInput::blank()
        }
    }

    #[test]
    fn carte_layers_are_kept_in_the_builders_order() {
        let mut form = input("carte");
        for key in [
            "carte_layer_znieff",
            "carte_layer_cadastres",
            "carte_layer_inconnue",
        ] {
            form.extra.insert(key.to_owned(), "on".to_owned());
        }
        let champ = form.parse().unwrap();
        assert_eq!(champ.options.carte_layers, vec!["cadastres", "znieff"]);
        assert_eq!(
            options_json(TypeChamp::Carte, &champ.options),
            serde_json::json!({"carte_layers": ["cadastres", "znieff"]})
        );
        assert_eq!(
            options_json(TypeChamp::Carte, &ChampOptions::default()),
            serde_json::json!({})
        );
        let back = ChampInput::from_champ(&DraftChamp {
            stable_id: 1,
            parent: None,
            position: 0,
            type_champ: TypeChamp::Carte,
            libelle: "Emprise".into(),
            description: String::new(),
            mandatory: false,
            options: champ.options.clone(),
        });
        let checked: Vec<&str> = back
            .carte_layers()
            .into_iter()
            .filter(|(_, _, c)| *c)
            .map(|(k, _, _)| k)
            .collect();
        assert_eq!(checked, ["cadastres", "znieff"]);
        assert_eq!(
            back.carte_layers().len(),
            demarches_actors::domain::carte::LAYERS.len()
        );
    }

    #[test]
    fn empty_drop_down_is_refused() {
        let mut i = input("drop_down_list");
        i.drop_down_options = " \n \n".into();
        let errors = i.parse().unwrap_err();
        assert_eq!(errors[0].field, "drop_down_options");
        assert_eq!(errors[0].message, EMPTY_DROP_DOWN);
        i.drop_down_options = "A\nB\nA\n".into();
        let champ = i.parse().unwrap();
        assert_eq!(champ.options.drop_down_options, vec!["A", "B"]);
    }

    #[test]
    fn integer_bounds_are_checked() {
        let mut i = input("integer_number");
        i.min = "10".into();
        i.max = "2".into();
        assert_eq!(i.parse().unwrap_err()[0].field, "max");
        i.max = "x".into();
        assert_eq!(i.parse().unwrap_err()[0].field, "max");
        i.max = " 1 000 ".into();
        let c = i.parse().unwrap();
        assert_eq!((c.options.min, c.options.max), (Some(10), Some(1000)));
        assert_eq!(
            options_json(c.type_champ, &c.options),
            json!({"min": 10, "max": 1000})
        );
    }

    #[test]
    fn options_of_other_types_are_dropped() {
        let mut i = input("text");
        i.drop_down_options = "A".into();
        i.min = "oops".into();
        let c = i.parse().unwrap();
        assert_eq!(options_json(c.type_champ, &c.options), json!({}));
    }

    #[test]
    fn unknown_type_and_blank_libelle() {
        let mut i = input("nope");
        i.libelle = " ".into();
        let fields: Vec<_> = i.parse().unwrap_err().iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["type_champ", "libelle"]);
    }

    #[test]
    fn linked_drop_down_syntax() {
        let mut i = input("linked_drop_down_list");
        i.drop_down_options = "Pomme\n--Fruits--\n".into();
        assert_eq!(i.parse().unwrap_err()[0].message, ORPHAN_SECONDARY);
        i.drop_down_options = " \n".into();
        assert_eq!(i.parse().unwrap_err()[0].message, EMPTY_LINKED);
        i.drop_down_options = "--Fruits--\nPomme\n--Légumes--\nPomme\n".into();
        let c = i.parse().unwrap();
        assert_eq!(c.options.linked_groups().len(), 2);
        assert_eq!(
            options_json(c.type_champ, &c.options),
            json!({"drop_down_options": ["--Fruits--", "Pomme", "--Légumes--", "Pomme"]})
        );
    }

    #[test]
    fn drop_down_other_and_multiple() {
        let mut i = input("drop_down_list");
        i.drop_down_options = "A\nB".into();
        i.drop_down_other = Some("on".into());
        let c = i.parse().unwrap();
        assert_eq!(
            options_json(c.type_champ, &c.options),
            json!({"drop_down_options": ["A", "B"], "drop_down_other": true})
        );
        let mut m = input("multiple_drop_down_list");
        m.drop_down_other = Some("on".into());
        assert_eq!(m.parse().unwrap_err()[0].message, EMPTY_DROP_DOWN);
        m.drop_down_options = "A".into();
        let c = m.parse().unwrap();
        assert_eq!(
            options_json(c.type_champ, &c.options),
            json!({"drop_down_options": ["A"]})
        );
    }

    #[test]
    fn header_explication_and_formatted_options() {
        let mut h = input("header_section");
        h.header_level = "4".into();
        assert_eq!(h.parse().unwrap_err()[0].field, "header_level");
        h.header_level = "2".into();
        let c = h.parse().unwrap();
        assert_eq!(
            options_json(c.type_champ, &c.options),
            json!({"header_level": 2})
        );

        let mut e = input("explication");
        e.collapsible_explanation_enabled = Some("on".into());
        e.collapsible_explanation_text = " Détails\r\nici ".into();
        let c = e.parse().unwrap();
        assert_eq!(
            options_json(c.type_champ, &c.options),
            json!({"collapsible_explanation_enabled": true,
                   "collapsible_explanation_text": "Détails\nici"})
        );

        let mut f = input("formatted");
        assert_eq!(f.parse().unwrap_err()[0].message, NO_CHARACTER_KIND);
        f.numbers_accepted = Some("on".into());
        f.min_character_length = "5".into();
        f.max_character_length = "3".into();
        assert_eq!(f.parse().unwrap_err()[0].field, "max_character_length");
        f.max_character_length = "0".into();
        assert_eq!(f.parse().unwrap_err()[0].field, "max_character_length");
        f.max_character_length = "5".into();
        let c = f.parse().unwrap();
        assert_eq!(
            options_json(c.type_champ, &c.options),
            json!({"letters_accepted": false, "numbers_accepted": true,
                   "special_characters_accepted": false,
                   "min_character_length": 5, "max_character_length": 5})
        );
    }
}
