//! The dossier form (brouillon and modifications en construction): what the usager
//! submitted, turned into a `SaveForm`, and the view of every field, either from the
//! stored values or from the raw values typed (re-rendered with their errors).

use std::collections::HashMap;

use demarches_actors::domain::{self, TypeChamp};
use demarches_actors::dossier::{IndividualInput, SaveForm};
use demarches_actors::store::revision::{ChampDefRow, RevisionDefs};
use serde_json::Value;

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
        let mut champs = HashMap::new();
        for (name, value) in &self.pairs {
            if let Some(id) = name
                .strip_prefix("champ_")
                .and_then(|id| id.parse::<i64>().ok())
            {
                champs.entry(id).or_insert_with(|| value.clone());
            }
        }
        SaveForm {
            individual: (for_individual && (submit || typed)).then_some(individual),
            champs,
            full_form: true,
            submit,
        }
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
    /// Pièce justificative: the files, and an upload form of its own.
    File,
}

#[derive(Debug, Clone)]
pub struct ChampField {
    pub widget: Widget,
    /// Form field name and element id: `champ_<stable id>`.
    pub name: String,
    pub label: String,
    pub description: String,
    /// Expected format, shown under the label.
    pub format_hint: &'static str,
    pub mandatory: bool,
    /// `type` of an input.
    pub input_type: &'static str,
    pub autocomplete: &'static str,
    pub value: String,
    pub checked: bool,
    pub options: Vec<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub maxlength: Option<u32>,
    pub error: Option<String>,
    pub stable_id: i64,
    /// Files of a pièce justificative.
    pub files: Vec<FileView>,
}

impl ChampField {
    pub fn is_file(&self) -> bool {
        self.widget == Widget::File
    }

    /// The id of the champ's upload form (placed after the dossier form: forms don't nest).
    pub fn upload_form_id(&self) -> String {
        format!("{}-upload", self.name)
    }

    pub fn is_selected(&self, option: &str) -> bool {
        self.value.trim() == option.trim()
    }

    /// The `aria-describedby` of the control: its error message.
    pub fn error_id(&self) -> String {
        format!("{}-error", self.name)
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

fn field(def: &ChampDefRow, value: String, checked: bool, error: Option<String>) -> ChampField {
    let (widget, input_type, format_hint, autocomplete) = match def.type_champ {
        TypeChamp::HeaderSection => (Widget::Header, "", "", ""),
        TypeChamp::Explication => (Widget::Explication, "", "", ""),
        TypeChamp::Text => (Widget::Input, "text", "", ""),
        TypeChamp::Textarea => (Widget::Textarea, "", "", ""),
        TypeChamp::IntegerNumber => (Widget::Input, "number", "Nombre entier, sans virgule.", ""),
        TypeChamp::Date => (Widget::Input, "date", "Format attendu : JJ/MM/AAAA.", ""),
        TypeChamp::Checkbox => (Widget::Checkbox, "checkbox", "", ""),
        TypeChamp::DropDownList => (Widget::Select, "", "", ""),
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
        TypeChamp::PieceJustificative => (Widget::File, "file", "", ""),
    };
    let options = &def.options;
    ChampField {
        widget,
        name: def.field(),
        label: def.libelle.clone(),
        description: def.description.clone(),
        format_hint,
        mandatory: def.mandatory && def.type_champ.has_value(),
        input_type,
        autocomplete,
        value,
        checked,
        options: options.drop_down_options.clone(),
        min: options.min,
        max: options.max,
        maxlength: options.character_limit,
        error,
        stable_id: def.stable_id,
        files: Vec::new(),
    }
}

/// The form value of a stored value.
fn stored_raw(type_champ: TypeChamp, value: &Value) -> (String, bool) {
    match (type_champ, value) {
        (TypeChamp::Checkbox, v) => (String::new(), domain::display(type_champ, v) == "Oui"),
        (TypeChamp::Phone, v) => (domain::display(type_champ, v), false),
        (_, Value::String(s)) => (s.clone(), false),
        (_, Value::Null) => (String::new(), false),
        (_, other) => (other.to_string(), false),
    }
}

impl FormView {
    /// Adds the files of the pièces justificatives.
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
        individual: Option<&IndividualRow>,
    ) -> Self {
        let identity = for_individual.then(|| IdentityView {
            civilite: individual.map(|i| i.civilite.clone()).unwrap_or_default(),
            nom: individual.map(|i| i.nom.clone()).unwrap_or_default(),
            prenom: individual.map(|i| i.prenom.clone()).unwrap_or_default(),
            ..IdentityView::default()
        });
        let fields = defs
            .public()
            .map(|def| {
                let (value, checked) = values
                    .get(&def.stable_id)
                    .map(|v| stored_raw(def.type_champ, v))
                    .unwrap_or_default();
                field(def, value, checked, None)
            })
            .collect();
        FormView { identity, fields }
    }

    /// The form as submitted, with the message of each field in error.
    pub fn submitted(
        for_individual: bool,
        defs: &RevisionDefs,
        raw: &RawForm,
        errors: &FormErrors,
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
        });
        let fields = defs
            .public()
            .map(|def| {
                let name = def.field();
                let value = typed(&name);
                let checked = def.type_champ == TypeChamp::Checkbox && !value.trim().is_empty();
                let value = if def.type_champ == TypeChamp::Checkbox {
                    String::new()
                } else {
                    value
                };
                field(def, value, checked, error(&name))
            })
            .collect();
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
    /// Files of a pièce justificative.
    pub files: Vec<FileView>,
}

pub fn summary(
    defs: &RevisionDefs,
    values: &HashMap<i64, Value>,
    files: &HashMap<i64, Vec<FileView>>,
) -> Vec<SummaryItem> {
    defs.public()
        .filter(|def| def.type_champ != TypeChamp::Explication)
        .map(|def| SummaryItem {
            header: def.type_champ == TypeChamp::HeaderSection,
            label: def.libelle.clone(),
            value: match (values.get(&def.stable_id), def.type_champ) {
                (Some(v), t) => domain::display(t, v),
                // An unchecked box is stored as no value.
                (None, TypeChamp::Checkbox) => {
                    domain::display(TypeChamp::Checkbox, &Value::Bool(false))
                }
                (None, _) => String::new(),
            },
            files: if def.type_champ.is_file() {
                files.get(&def.stable_id).cloned().unwrap_or_default()
            } else {
                Vec::new()
            },
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
}
