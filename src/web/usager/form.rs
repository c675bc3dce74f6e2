//! The dossier form (brouillon and modifications en construction): what the usager
//! submitted, turned into a `SaveForm`, and the view of every field, either from the
//! stored values or from the raw values typed (re-rendered with their errors).

use std::collections::HashMap;

use demarches_actors::domain::geo::{GeoIndex, Place};
use demarches_actors::domain::repetition::{self, RowAction};
use demarches_actors::domain::{self, TypeChamp};
use demarches_actors::dossier::{IndividualInput, SaveForm};
use demarches_actors::store::revision::{ChampDefRow, RevisionDefs};
use serde_json::Value;
use uuid::Uuid;

use crate::queries::usager::IndividualRow;
use crate::web::form::FormErrors;
use crate::web::pieces::FileView;

/// The fields of a submitted dossier form, exactly as typed.
#[derive(Debug, Clone, Default)]
pub struct RawForm {
    pairs: Vec<(String, String)>,
}

impl RawForm {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The first value sent for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value sent for `name` (the checked boxes of a multiple choice).
    pub fn get_all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// "Déposer le dossier" / "Déposer les modifications" rather than "Enregistrer le brouillon".
    pub fn submits(&self) -> bool {
        self.get("action") == Some("submit")
    }

    /// The command for the dossier actor. The identity is sent when the démarche is for
    /// individuals, except for a brouillon save with the three identity fields left blank.
    pub fn save_form(&self, for_individual: bool) -> SaveForm {
        let submit = self.submits();
        let field = |name: &str| self.get(name).unwrap_or("").to_owned();
        let individual = IndividualInput {
            civilite: field("civilite"),
            nom: field("nom"),
            prenom: field("prenom"),
        };
        let typed = [&individual.civilite, &individual.nom, &individual.prenom]
            .iter()
            .any(|v| !v.trim().is_empty());
        // A champ made of several controls gets its parts on separate lines (see
        // `domain::validate_with`): every `champ_<id>` value (the boxes of a multiple
        // choice), then `champ_<id>_secondary` or `champ_<id>_other`. The values are
        // grouped by name once: a long form sends thousands of fields.
        let mut by_name: HashMap<&str, Vec<&str>> = HashMap::with_capacity(self.pairs.len());
        for (name, value) in &self.pairs {
            by_name
                .entry(name.as_str())
                .or_default()
                .push(value.as_str());
        }
        let mut champs: HashMap<i64, String> = HashMap::new();
        let mut rows: HashMap<(i64, Uuid), String> = HashMap::new();
        for (name, _) in &self.pairs {
            let Some(rest) = name.strip_prefix("champ_") else {
                continue;
            };
            let base = rest
                .strip_suffix("_secondary")
                .or_else(|| rest.strip_suffix("_other"))
                .unwrap_or(rest);
            if let Ok(id) = base.parse::<i64>() {
                champs
                    .entry(id)
                    .or_insert_with(|| raw_value(&by_name, &format!("champ_{base}")));
            } else if let Some(key) = repetition::parse_field(base) {
                rows.entry(key)
                    .or_insert_with(|| raw_value(&by_name, &format!("champ_{base}")));
            }
        }
        SaveForm {
            individual: (for_individual && (submit || typed)).then_some(individual),
            champs,
            rows,
            row_action: self
                .get("action")
                .and_then(|a| RowAction::parse(a, Uuid::new_v4())),
            full_form: true,
            submit,
            brouillon_only: false,
        }
    }

    /// The command of a background save while typing (autosave): the values typed only —
    /// no deposit, no row added or removed — and only while the dossier is a brouillon.
    pub fn autosave_form(&self, for_individual: bool) -> SaveForm {
        let typed = RawForm::new(
            self.pairs
                .iter()
                .filter(|(k, _)| k != "action")
                .cloned()
                .collect(),
        );
        SaveForm {
            brouillon_only: true,
            ..typed.save_form(for_individual)
        }
    }
}

/// The raw value of the champ whose field is `name` (`by_name`: the values sent, grouped
/// by field name): its text as typed, or the parts of a champ of several controls on
/// separate lines.
fn raw_value(by_name: &HashMap<&str, Vec<&str>>, name: &str) -> String {
    let values = by_name.get(name).map(Vec::as_slice).unwrap_or_default();
    let mut parts: Vec<String> = values
        .iter()
        .map(|v| v.replace(['\r', '\n'], " "))
        .collect();
    if parts.is_empty() {
        parts.push(String::new());
    }
    for suffix in ["_secondary", "_other"] {
        if let Some(v) = by_name
            .get(format!("{name}{suffix}").as_str())
            .and_then(|v| v.first())
        {
            parts.push(v.replace(['\r', '\n'], " "));
        }
    }
    if parts.len() == 1 {
        // A single control keeps its text as typed (a textarea's lines).
        values.first().map_or_else(String::new, |v| (*v).to_owned())
    } else {
        parts.join("\n")
    }
}

/// How a champ is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Widget {
    Header,
    Explication,
    Input,
    Textarea,
    Checkbox,
    Select,
    /// Radio buttons in a fieldset (civilité, oui/non).
    Radios,
    /// Checkboxes in a fieldset (choix multiple).
    Checkboxes,
    /// Two selects in a fieldset (menus liés).
    Linked,
    /// A select of codes and names (pays, régions, départements, EPCI).
    CodeSelect,
    /// Pièce justificative: the files, and an upload form of its own.
    File,
    /// Bloc répétable: its rows, each with its children, and the row buttons.
    Repetition,
    /// Carte: the GeoJSON textarea, the map over it (carte.js) and a GPX/KML import form.
    Carte,
}

/// One row of a bloc répétable on the form.
#[derive(Debug, Clone)]
pub struct RowView {
    pub id: String,
    /// From 1, in the block's order.
    pub number: usize,
    pub fields: Vec<ChampField>,
    /// The `action` of its « Supprimer l’élément » button.
    pub remove_action: String,
}

#[derive(Debug, Clone)]
pub struct ChampField {
    pub widget: Widget,
    /// Form field name and element id: `champ_<stable id>`.
    pub name: String,
    pub label: String,
    pub description: String,
    /// Expected format, shown under the label.
    pub format_hint: String,
    pub mandatory: bool,
    /// `type` of an input.
    pub input_type: &'static str,
    pub inputmode: &'static str,
    pub autocomplete: &'static str,
    /// JSON suggestions endpoint for app.js (address champ); the input stays free text.
    pub suggestions_url: &'static str,
    pub value: String,
    pub checked: bool,
    pub options: Vec<String>,
    /// Radios and code selects: (value, label).
    pub choices: Vec<(String, String)>,
    /// Checked options of a multiple choice.
    pub selected: Vec<String>,
    /// Linked drop-downs: the primary values and their secondary values; the second value.
    pub groups: Vec<(String, Vec<String>)>,
    pub secondary: String,
    /// Simple drop-down with « Autre »: the text typed.
    pub other_enabled: bool,
    pub other: String,
    /// Header: h2 to h4.
    pub heading: u8,
    /// Explication: folded text, when enabled.
    pub collapsible: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub maxlength: Option<u32>,
    pub error: Option<String>,
    pub stable_id: i64,
    /// Files of a pièce justificative or a titre d'identité.
    pub files: Vec<FileView>,
    /// A titre d'identité: one JPEG or PNG image, watermarked, deleted after the decision.
    pub titre_identite: bool,
    /// Hidden by its condition with the values shown (`hidden` attribute).
    pub hidden: bool,
    /// The condition as JSON, for the browser evaluator (`data-condition`); empty when none.
    pub condition: String,
    /// Rows of a bloc répétable.
    pub rows: Vec<RowView>,
    /// SIRET: the établissement looked up for the value stored.
    pub etablissement: Option<crate::external::EtablissementView>,
    /// Carte of a dossier's form (top level): where its stored tracé is downloaded as
    /// GeoJSON (see [`FormView::of_dossier`]); `None` in the administrateur's preview.
    pub geojson_url: Option<String>,
}

impl ChampField {
    /// The description as safe HTML (`rich_text`).
    pub fn description_html(&self) -> String {
        crate::rich_text::to_html(&self.description)
    }

    pub fn is_file(&self) -> bool {
        self.widget == Widget::File
    }

    /// Whether another file may be attached (`max_files`: the platform's limit per champ;
    /// a titre d'identité holds one).
    pub fn can_add_file(&self, max_files: &usize) -> bool {
        let max = if self.titre_identite { 1 } else { *max_files };
        self.files.len() < max
    }

    /// The largest titre d'identité, in French.
    pub fn titre_max_size(&self) -> String {
        crate::web::pieces::human_size(crate::web::pieces::TITRE_MAX_BYTES)
    }

    /// The `action` of a block's « Ajouter un élément » button.
    pub fn add_action(&self) -> String {
        format!("add_row:{}", self.stable_id)
    }

    /// The id of the champ's upload form (placed after the dossier form: forms don't nest).
    pub fn upload_form_id(&self) -> String {
        format!("{}-upload", self.name)
    }

    /// A top-level carte, which has a GPX/KML import form (not the children of a block).
    pub fn can_import(&self) -> bool {
        self.widget == Widget::Carte && self.name == format!("champ_{}", self.stable_id)
    }

    /// The link « Télécharger le tracé enregistré », when there is a tracé.
    pub fn geojson_link(&self) -> Option<&str> {
        self.geojson_url
            .as_deref()
            .filter(|_| self.can_import() && !self.value.trim().is_empty())
    }

    /// The id of a carte's import form (placed after the dossier form).
    pub fn import_form_id(&self) -> String {
        format!("{}-import", self.name)
    }

    pub fn is_selected(&self, option: &str) -> bool {
        self.value.trim() == option.trim()
    }

    pub fn is_chosen(&self, option: &str) -> bool {
        self.selected.iter().any(|s| s.trim() == option.trim())
    }

    /// The second choice is shown under its group, or under the first group that has it
    /// when the pair typed does not match (so that what was typed is kept).
    pub fn secondary_selected(&self, primary: &str, secondary: &str) -> bool {
        if self.secondary.trim() != secondary.trim() {
            return false;
        }
        let in_group = |p: &str| {
            self.groups
                .iter()
                .any(|(g, s)| g == p && s.iter().any(|x| x == secondary))
        };
        if in_group(self.value.trim()) {
            self.is_selected(primary)
        } else {
            self.groups
                .iter()
                .find(|(_, s)| s.iter().any(|x| x == secondary))
                .is_some_and(|(g, _)| g == primary)
        }
    }

    pub fn other_value(&self) -> &'static str {
        domain::champ::OTHER_OPTION
    }

    /// The `aria-describedby` of the control: its error message.
    pub fn error_id(&self) -> String {
        format!("{}-error", self.name)
    }

    /// Id of the i-th control of a group (the first one is the champ's id, the target of
    /// the error summary).
    pub fn control_id(&self, i: &usize) -> String {
        if *i == 0 {
            self.name.clone()
        } else {
            format!("{}-{i}", self.name)
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct IdentityView {
    pub civilite: String,
    pub nom: String,
    pub prenom: String,
    pub civilite_error: Option<String>,
    pub nom_error: Option<String>,
    pub prenom_error: Option<String>,
    /// Transmitted by FranceConnect: shown read-only, never taken from the form.
    pub france_connect: bool,
}

impl IdentityView {
    pub fn is(&self, civilite: &str) -> bool {
        self.civilite.trim() == civilite
    }
}

#[derive(Debug, Clone, Default)]
pub struct FormView {
    pub identity: Option<IdentityView>,
    pub fields: Vec<ChampField>,
}

impl FormView {
    /// The identity FranceConnect transmitted replaces the one of the form (read-only).
    pub fn with_france_connect(mut self, fc: Option<&crate::france_connect::Identity>) -> Self {
        if let (Some(identity), Some(fc)) = (self.identity.as_mut(), fc) {
            *identity = IdentityView {
                civilite: fc.civilite().to_owned(),
                nom: fc.family_name.clone(),
                prenom: fc.given_name.clone(),
                france_connect: true,
                ..IdentityView::default()
            };
        }
        self
    }
}

/// The values of a champ as its controls show them.
#[derive(Debug, Clone, Default)]
struct Shown {
    value: String,
    checked: bool,
    selected: Vec<String>,
    secondary: String,
    other: String,
}

fn formatted_hint(o: &domain::ChampOptions) -> String {
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
    let mut hint = format!("Caractères autorisés : {}.", kinds.join(", "));
    match (o.min_character_length, o.max_character_length) {
        (Some(lo), Some(hi)) if lo == hi => hint.push_str(&format!(" {lo} caractères.")),
        (Some(lo), Some(hi)) => hint.push_str(&format!(" De {lo} à {hi} caractères.")),
        (Some(lo), None) => hint.push_str(&format!(" Au moins {lo} caractères.")),
        (None, Some(hi)) => hint.push_str(&format!(" Au plus {hi} caractères.")),
        (None, None) => {}
    }
    hint
}

fn code_choices(places: &[Place], with_code: bool) -> Vec<(String, String)> {
    places
        .iter()
        .map(|p| {
            let label = if with_code {
                format!("{} – {}", p.code, p.name)
            } else {
                p.name.clone()
            };
            (p.code.clone(), label)
        })
        .collect()
}

fn field(def: &ChampDefRow, shown: Shown, error: Option<String>, geo: &GeoIndex) -> ChampField {
    let options = &def.options;
    let (widget, input_type, format_hint, autocomplete) = match def.type_champ {
        TypeChamp::HeaderSection => (Widget::Header, "", "", ""),
        TypeChamp::Explication => (Widget::Explication, "", "", ""),
        TypeChamp::Text => (Widget::Input, "text", "", ""),
        TypeChamp::Textarea => (Widget::Textarea, "", "", ""),
        TypeChamp::IntegerNumber => (Widget::Input, "number", "Nombre entier, sans virgule.", ""),
        TypeChamp::DecimalNumber => (
            Widget::Input,
            "text",
            "Nombre décimal, par exemple 12,5.",
            "",
        ),
        TypeChamp::Date => (Widget::Input, "date", "Format attendu : JJ/MM/AAAA.", ""),
        TypeChamp::Datetime => (
            Widget::Input,
            "datetime-local",
            "Format attendu : JJ/MM/AAAA HH:MM.",
            "",
        ),
        TypeChamp::Checkbox | TypeChamp::Engagement => (Widget::Checkbox, "checkbox", "", ""),
        TypeChamp::YesNo | TypeChamp::Civilite => (Widget::Radios, "radio", "", ""),
        TypeChamp::DropDownList => (Widget::Select, "", "", ""),
        TypeChamp::MultipleDropDownList => (Widget::Checkboxes, "checkbox", "", ""),
        TypeChamp::LinkedDropDownList => (Widget::Linked, "", "", ""),
        TypeChamp::Email => (
            Widget::Input,
            "email",
            "Format attendu : nom@domaine.fr.",
            "email",
        ),
        TypeChamp::Phone => (
            Widget::Input,
            "tel",
            "Par exemple : 06 12 34 56 78 ou +33 6 12 34 56 78.",
            "tel",
        ),
        TypeChamp::Address => (Widget::Input, "text", "", "street-address"),
        TypeChamp::Siret => (
            Widget::Input,
            "text",
            "14 chiffres, par exemple 732 829 320 00074.",
            "",
        ),
        TypeChamp::Rna => (
            Widget::Input,
            "text",
            "La lettre W suivie de 9 chiffres, par exemple W751234567.",
            "",
        ),
        TypeChamp::Iban => (
            Widget::Input,
            "text",
            "Par exemple : FR76 3000 6000 0112 3456 7890 189.",
            "",
        ),
        TypeChamp::Formatted => (Widget::Input, "text", "", ""),
        TypeChamp::DossierLink => (
            Widget::Input,
            "text",
            "Le numéro du dossier, par exemple 1234.",
            "",
        ),
        TypeChamp::Pays | TypeChamp::Regions | TypeChamp::Departements | TypeChamp::Epci => {
            (Widget::CodeSelect, "", "", "")
        }
        TypeChamp::Communes => (
            Widget::Input,
            "text",
            "Le nom de la commune, son code postal, ou les deux, par exemple « Coye-la-Forêt » ou « 60580 ».",
            "",
        ),
        TypeChamp::PieceJustificative | TypeChamp::TitreIdentite => (Widget::File, "file", "", ""),
        TypeChamp::Repetition => (Widget::Repetition, "", "", ""),
        TypeChamp::Carte => (Widget::Carte, "", "", ""),
    };
    let inputmode = match def.type_champ {
        TypeChamp::DecimalNumber => "decimal",
        TypeChamp::IntegerNumber | TypeChamp::Siret | TypeChamp::DossierLink => "numeric",
        _ => "",
    };
    let format_hint = if def.type_champ == TypeChamp::Formatted {
        formatted_hint(options)
    } else {
        format_hint.to_owned()
    };
    let choices = match def.type_champ {
        TypeChamp::YesNo => vec![
            ("true".to_owned(), "Oui".to_owned()),
            ("false".to_owned(), "Non".to_owned()),
        ],
        TypeChamp::Civilite => vec![
            ("M.".to_owned(), "M.".to_owned()),
            ("Mme".to_owned(), "Mme".to_owned()),
        ],
        TypeChamp::Pays => code_choices(&geo.pays, false),
        TypeChamp::Regions => code_choices(&geo.regions, false),
        TypeChamp::Departements => code_choices(&geo.departements, true),
        TypeChamp::Epci => code_choices(&geo.epci, false),
        _ => Vec::new(),
    };
    let groups = if def.type_champ == TypeChamp::LinkedDropDownList {
        options.linked_groups()
    } else {
        Vec::new()
    };
    let collapsible = (def.type_champ == TypeChamp::Explication
        && options.collapsible_explanation_enabled
        && !options.collapsible_explanation_text.is_empty())
    .then(|| options.collapsible_explanation_text.clone());
    ChampField {
        widget,
        name: def.field(),
        label: def.libelle.clone(),
        description: def.description.clone(),
        format_hint,
        mandatory: def.mandatory && def.type_champ.has_value(),
        input_type,
        inputmode,
        autocomplete,
        suggestions_url: if def.type_champ == TypeChamp::Address {
            "/api/adresses"
        } else {
            ""
        },
        value: shown.value,
        checked: shown.checked,
        options: options.drop_down_options.clone(),
        choices,
        selected: shown.selected,
        groups,
        secondary: shown.secondary,
        other_enabled: def.type_champ == TypeChamp::DropDownList && options.drop_down_other,
        other: shown.other,
        heading: options.header_level() + 1,
        collapsible,
        min: options.min,
        max: options.max,
        maxlength: options.character_limit,
        error,
        stable_id: def.stable_id,
        files: Vec::new(),
        titre_identite: def.type_champ.is_titre_identite(),
        hidden: false,
        condition: def
            .condition
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok())
            .unwrap_or_default(),
        rows: Vec::new(),
        etablissement: None,
        geojson_url: None,
    }
}

/// The rows of the block `def` (in the order of `block_value`), each child shown by `shown`
/// with its message from `error` (both given the child and its field name).
fn rows_of(
    defs: &RevisionDefs,
    def: &ChampDefRow,
    block_value: Option<&Value>,
    shown: impl Fn(&ChampDefRow, Uuid, &str) -> Shown,
    error: impl Fn(&str) -> Option<String>,
    geo: &GeoIndex,
) -> Vec<RowView> {
    repetition::row_ids(block_value)
        .into_iter()
        .enumerate()
        .map(|(i, row)| RowView {
            id: row.to_string(),
            number: i + 1,
            fields: defs
                .children(def.stable_id)
                .map(|child| {
                    let name = repetition::field(child.stable_id, row);
                    let mut f = field(child, shown(child, row, &name), error(&name), geo);
                    f.name = name;
                    f
                })
                .collect(),
            remove_action: format!("remove_row:{}:{row}", def.stable_id),
        })
        .collect()
}

/// Marks the fields hidden by their condition with these values (same order as
/// `defs.public()`), and in each row of a block the children hidden by theirs.
fn apply_visibility(
    fields: &mut [ChampField],
    defs: &RevisionDefs,
    values: &HashMap<i64, Value>,
    rows: &HashMap<(i64, Uuid), Value>,
) {
    for (field, (_, visible)) in fields.iter_mut().zip(defs.public_visibility(values)) {
        field.hidden = !visible;
    }
    let conditional = |block: i64| defs.children(block).any(|c| c.condition.is_some());
    let mut hidden = None;
    for field in fields
        .iter_mut()
        .filter(|f| f.widget == Widget::Repetition && conditional(f.stable_id))
    {
        let hidden = hidden.get_or_insert_with(|| defs.hidden_public(values));
        for row in &mut field.rows {
            let Ok(row_id) = row.id.parse::<Uuid>() else {
                continue;
            };
            let visibility = defs.row_visibility(field.stable_id, row_id, values, rows, hidden);
            for (child, (_, visible)) in row.fields.iter_mut().zip(visibility) {
                child.hidden = !visible;
            }
        }
    }
}

/// The controls' values of a stored value.
fn stored_shown(def: &ChampDefRow, value: &Value) -> Shown {
    let t = def.type_champ;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match (t, value) {
        (TypeChamp::Checkbox | TypeChamp::Engagement, v) => Shown {
            checked: domain::display(t, v) == "Oui",
            ..Shown::default()
        },
        (TypeChamp::YesNo, Value::Bool(b)) => Shown {
            value: b.to_string(),
            ..Shown::default()
        },
        (TypeChamp::MultipleDropDownList, Value::Array(items)) => Shown {
            selected: items.iter().map(text).collect(),
            ..Shown::default()
        },
        (TypeChamp::LinkedDropDownList, Value::Object(o)) => Shown {
            value: o.get("primary").map(text).unwrap_or_default(),
            secondary: o.get("secondary").map(text).unwrap_or_default(),
            ..Shown::default()
        },
        (TypeChamp::DropDownList, Value::String(s))
            if def.options.drop_down_other
                && !def.options.drop_down_options.iter().any(|o| o.trim() == s) =>
        {
            Shown {
                value: domain::champ::OTHER_OPTION.to_owned(),
                other: s.clone(),
                ..Shown::default()
            }
        }
        (
            TypeChamp::Pays | TypeChamp::Regions | TypeChamp::Departements | TypeChamp::Epci,
            Value::Object(o),
        ) => Shown {
            value: o.get("code").map(text).unwrap_or_default(),
            ..Shown::default()
        },
        (
            TypeChamp::Phone
            | TypeChamp::DecimalNumber
            | TypeChamp::Iban
            | TypeChamp::Siret
            | TypeChamp::Communes,
            v,
        ) => Shown {
            value: domain::display(t, v),
            ..Shown::default()
        },
        (_, v) => Shown {
            value: text(v),
            ..Shown::default()
        },
    }
}

/// The controls' values as typed.
fn typed_shown(def: &ChampDefRow, raw: &RawForm) -> Shown {
    typed_shown_as(def, &def.field(), raw)
}

fn typed_shown_as(def: &ChampDefRow, name: &str, raw: &RawForm) -> Shown {
    let name = name.to_owned();
    let typed = |n: &str| raw.get(n).unwrap_or("").to_owned();
    match def.type_champ {
        TypeChamp::Checkbox | TypeChamp::Engagement => Shown {
            checked: !typed(&name).trim().is_empty(),
            ..Shown::default()
        },
        TypeChamp::MultipleDropDownList => Shown {
            selected: raw.get_all(&name),
            ..Shown::default()
        },
        _ => Shown {
            value: typed(&name),
            secondary: typed(&format!("{name}_secondary")),
            other: typed(&format!("{name}_other")),
            ..Shown::default()
        },
    }
}

impl FormView {
    /// The form has row buttons (« Ajouter un élément », « Supprimer l’élément »).
    pub fn has_row_buttons(&self) -> bool {
        self.fields.iter().any(|f| f.widget == Widget::Repetition)
    }

    /// The form has a champ « carte » (top level or in a block): it loads the map script.
    pub fn has_carte(&self) -> bool {
        self.fields.iter().any(|f| {
            f.widget == Widget::Carte
                || f.rows
                    .iter()
                    .any(|r| r.fields.iter().any(|c| c.widget == Widget::Carte))
        })
    }

    /// Adds the files of the pièces justificatives.
    /// The établissements looked up for the SIRET champs; an unknown SIRET's message
    /// becomes the field's error.
    pub fn with_external(
        mut self,
        external: &HashMap<i64, crate::external::EtablissementView>,
    ) -> Self {
        for field in self.fields.iter_mut() {
            // A field re-rendered with its own error shows what was typed, not the stored value.
            let Some(view) = external.get(&field.stable_id) else {
                continue;
            };
            if field.error.is_some() {
                continue;
            }
            field.error = view.message.clone();
            field.etablissement = Some(view.clone());
        }
        self
    }

    /// The form of dossier `dossier_id`: its top-level cartes link to their stored tracé.
    pub fn of_dossier(mut self, dossier_id: i64) -> Self {
        for field in self.fields.iter_mut().filter(|f| f.can_import()) {
            field.geojson_url = Some(crate::web::carte::geojson_url(dossier_id, field.stable_id));
        }
        self
    }

    pub fn with_files(mut self, files: &HashMap<i64, Vec<FileView>>) -> Self {
        for field in self.fields.iter_mut().filter(|f| f.is_file()) {
            field.files = files.get(&field.stable_id).cloned().unwrap_or_default();
        }
        self
    }

    /// The form as stored: current values prefilled.
    pub fn stored(
        for_individual: bool,
        defs: &RevisionDefs,
        values: &HashMap<i64, Value>,
        rows: &HashMap<(i64, Uuid), Value>,
        individual: Option<&IndividualRow>,
        geo: &GeoIndex,
    ) -> Self {
        let identity = for_individual.then(|| IdentityView {
            civilite: individual.map(|i| i.civilite.clone()).unwrap_or_default(),
            nom: individual.map(|i| i.nom.clone()).unwrap_or_default(),
            prenom: individual.map(|i| i.prenom.clone()).unwrap_or_default(),
            ..IdentityView::default()
        });
        let mut fields: Vec<ChampField> = defs
            .public()
            .map(|def| {
                let shown = values
                    .get(&def.stable_id)
                    .filter(|_| !def.type_champ.is_repetition())
                    .map(|v| stored_shown(def, v))
                    .unwrap_or_default();
                let mut f = field(def, shown, None, geo);
                if def.type_champ.is_repetition() {
                    f.rows = rows_of(
                        defs,
                        def,
                        values.get(&def.stable_id),
                        |child, row, _| {
                            rows.get(&(child.stable_id, row))
                                .map(|v| stored_shown(child, v))
                                .unwrap_or_default()
                        },
                        |_| None,
                        geo,
                    );
                }
                f
            })
            .collect();
        apply_visibility(&mut fields, defs, values, rows);
        FormView { identity, fields }
    }

    /// The form as submitted, with the message of each field in error.
    /// `stored` gives the rows of each block (their order after the save); their children
    /// show what was typed.
    pub fn submitted(
        for_individual: bool,
        defs: &RevisionDefs,
        stored: &HashMap<i64, Value>,
        raw: &RawForm,
        errors: &FormErrors,
        geo: &GeoIndex,
    ) -> Self {
        let typed = |name: &str| raw.get(name).unwrap_or("").to_owned();
        let error = |name: &str| errors.get(name).map(str::to_owned);
        let identity = for_individual.then(|| IdentityView {
            civilite: typed("civilite"),
            nom: typed("nom"),
            prenom: typed("prenom"),
            civilite_error: error("civilite"),
            nom_error: error("nom"),
            prenom_error: error("prenom"),
            france_connect: false,
        });
        // Visibility follows what was typed, read as the dossier actor reads it (the parts
        // of a champ of several controls together; values that do not validate read as
        // empty).
        let typed = raw.save_form(false);
        let lookups = domain::Lookups {
            dossier_exists: &|_| true,
            geo,
        };
        let values: HashMap<i64, Value> = defs
            .public()
            .filter_map(|def| {
                let raw = typed.champs.get(&def.stable_id)?;
                let value = domain::validate_with(&def.def(), raw, lookups).ok()??;
                Some((def.stable_id, value))
            })
            .collect();
        let typed_rows: HashMap<(i64, Uuid), Value> = typed
            .rows
            .iter()
            .filter_map(|((child, row), raw)| {
                let def = defs.get(*child)?;
                let value = domain::validate_with(&def.def(), raw, lookups).ok()??;
                Some(((*child, *row), value))
            })
            .collect();

        let mut fields: Vec<ChampField> = defs
            .public()
            .map(|def| {
                let mut f = field(def, typed_shown(def, raw), error(&def.field()), geo);
                if def.type_champ.is_repetition() {
                    f.rows = rows_of(
                        defs,
                        def,
                        stored.get(&def.stable_id),
                        |child, _, name| typed_shown_as(child, name, raw),
                        error,
                        geo,
                    );
                }
                f
            })
            .collect();
        apply_visibility(&mut fields, defs, &values, &typed_rows);
        FormView { identity, fields }
    }
}

/// One line of the dossier summary.
#[derive(Debug, Clone)]
pub struct SummaryItem {
    pub header: bool,
    pub label: String,
    /// `domain::display` of the value; empty when not filled.
    pub value: String,
    /// A dossier link the viewer may follow.
    pub link: Option<String>,
    /// Files of a pièce justificative.
    pub files: Vec<FileView>,
    /// The rows of a bloc répétable.
    pub table: Option<RowsTable>,
    /// A filled carte: the GeoJSON download of its geometries.
    pub geojson: Option<String>,
}

/// The rows of a bloc répétable as a table: a column per child, a line per row.
#[derive(Debug, Clone, Default)]
pub struct RowsTable {
    pub headers: Vec<String>,
    /// Per row: its number (from 1) and the display of each child ("" when not filled).
    pub rows: Vec<(usize, Vec<String>)>,
}

/// The table of the block `block` with its value and the values of the rows' children.
pub fn rows_table(
    defs: &RevisionDefs,
    block: i64,
    block_value: Option<&Value>,
    rows: &HashMap<(i64, Uuid), Value>,
) -> RowsTable {
    let children: Vec<&ChampDefRow> = defs
        .children(block)
        .filter(|c| c.type_champ.is_typed())
        .collect();
    RowsTable {
        headers: children.iter().map(|c| c.libelle.clone()).collect(),
        rows: repetition::row_ids(block_value)
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let cells = children
                    .iter()
                    .map(|c| match rows.get(&(c.stable_id, row)) {
                        Some(v) => domain::display(c.type_champ, v),
                        None if c.type_champ.is_checkbox() => {
                            domain::display(c.type_champ, &Value::Bool(false))
                        }
                        None => String::new(),
                    })
                    .collect();
                (i + 1, cells)
            })
            .collect(),
    }
}

/// The dossier numbers of the `dossier_link` champs of a dossier.
pub fn linked_dossiers(defs: &RevisionDefs, values: &HashMap<i64, Value>) -> Vec<i64> {
    defs.public()
        .filter(|def| def.type_champ == TypeChamp::DossierLink)
        .filter_map(|def| values.get(&def.stable_id).and_then(Value::as_i64))
        .collect()
}

/// The visible champs with their values (a champ hidden by its condition is left out).
pub fn summary(
    dossier_id: i64,
    defs: &RevisionDefs,
    values: &HashMap<i64, Value>,
    rows: &HashMap<(i64, Uuid), Value>,
    links: &HashMap<i64, String>,
    files: &HashMap<i64, Vec<FileView>>,
) -> Vec<SummaryItem> {
    let hidden = defs.hidden_public(values);
    defs.public()
        .filter(|def| def.type_champ != TypeChamp::Explication && !hidden.contains(&def.stable_id))
        .map(|def| SummaryItem {
            header: def.type_champ == TypeChamp::HeaderSection,
            label: def.libelle.clone(),
            value: match (values.get(&def.stable_id), def.type_champ) {
                (Some(v), t) => domain::display(t, v),
                // An unchecked box is stored as no value.
                (None, t) if t.is_checkbox() => domain::display(t, &Value::Bool(false)),
                (None, _) => String::new(),
            },
            link: match def.type_champ {
                TypeChamp::DossierLink => values
                    .get(&def.stable_id)
                    .and_then(Value::as_i64)
                    .and_then(|id| links.get(&id).cloned()),
                _ => None,
            },
            files: if def.type_champ.is_file() {
                files.get(&def.stable_id).cloned().unwrap_or_default()
            } else {
                Vec::new()
            },
            table: def
                .type_champ
                .is_repetition()
                .then(|| rows_table(defs, def.stable_id, values.get(&def.stable_id), rows)),
            geojson: (def.type_champ == TypeChamp::Carte)
                .then(|| values.get(&def.stable_id))
                .flatten()
                .map(|_| crate::web::carte::geojson_url(dossier_id, def.stable_id)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> RawForm {
        RawForm::new(
            items
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn save_form_reads_champs_and_action() {
        let raw = pairs(&[
            ("authenticity_token", "x"),
            ("champ_12", "Bonjour"),
            ("champ_13", "douze"),
            ("champ_abc", "ignored"),
            ("action", "submit"),
            ("civilite", "Mme"),
            ("nom", "Curie"),
            ("prenom", "Marie"),
        ]);
        let form = raw.save_form(true);
        assert!(form.submit && form.full_form);
        assert_eq!(form.champs.len(), 2);
        assert_eq!(form.champs.get(&13).map(String::as_str), Some("douze"));
        assert_eq!(form.individual.map(|i| i.nom), Some("Curie".to_owned()));
    }

    #[test]
    fn blank_identity_is_not_sent_with_a_brouillon_save() {
        let raw = pairs(&[
            ("civilite", ""),
            ("nom", " "),
            ("prenom", ""),
            ("action", "save"),
        ]);
        assert!(raw.save_form(true).individual.is_none());
        let raw = pairs(&[("nom", "Curie"), ("action", "save")]);
        assert!(raw.save_form(true).individual.is_some());
        let raw = pairs(&[("action", "submit")]);
        assert!(raw.save_form(true).individual.is_some());
        assert!(raw.save_form(false).individual.is_none());
    }

    #[test]
    fn champs_of_several_controls_are_sent_as_lines() {
        let raw = pairs(&[
            ("champ_1", "Rouge"),
            ("champ_1", "Bleu"),
            ("champ_2", "Fruits"),
            ("champ_2_secondary", "Poire"),
            ("champ_3", "__autre__"),
            ("champ_3_other", "Chocolat\nchaud"),
            ("champ_4", "ligne 1\r\nligne 2"),
            ("champ_5_secondary", "Pomme"),
            ("action", "save"),
        ]);
        let form = raw.save_form(false);
        let get = |id: i64| form.champs.get(&id).map(String::as_str);
        assert_eq!(get(1), Some("Rouge\nBleu"));
        assert_eq!(get(2), Some("Fruits\nPoire"));
        assert_eq!(get(3), Some("__autre__\nChocolat chaud"));
        // A single control keeps its lines (a textarea).
        assert_eq!(get(4), Some("ligne 1\r\nligne 2"));
        assert_eq!(get(5), Some("\nPomme"));
    }

    #[test]
    fn save_form_reads_rows_and_row_actions() {
        let row = Uuid::new_v4();
        let other = Uuid::new_v4();
        let raw = pairs(&[
            ("champ_12", "Bonjour"),
            (&format!("champ_20_{row}"), "Ada"),
            (&format!("champ_21_{row}"), "Fruits"),
            (&format!("champ_21_{row}_secondary"), "Poire"),
            (&format!("champ_20_{other}"), ""),
            ("action", &format!("remove_row:7:{other}")),
        ]);
        let form = raw.save_form(false);
        assert!(!form.submit);
        assert_eq!(form.champs.len(), 1);
        assert_eq!(form.rows.len(), 3);
        assert_eq!(form.rows[&(20, row)], "Ada");
        assert_eq!(form.rows[&(21, row)], "Fruits\nPoire");
        assert_eq!(form.rows[&(20, other)], "");
        assert_eq!(
            form.row_action,
            Some(RowAction::Remove {
                block: 7,
                row: other
            })
        );
        let add = pairs(&[("action", "add_row:7")]).save_form(false);
        assert!(matches!(
            add.row_action,
            Some(RowAction::Add { block: 7, .. })
        ));
    }
}
