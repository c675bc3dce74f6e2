//! What changed between two revisions of a démarche's form (DS `ProcedureRevision#compare`),
//! and what becomes of the values of a dossier moved from one to the other (DS
//! `DossierRebase`).
//!
//! Champs are matched by stable id. A change keeps, drops or restricts the values:
//! - a removed champ loses its values (a removed bloc répétable its rows);
//! - a type change keeps them only when every value of the old type is a value of the new
//!   one ([`keeps_value`]), otherwise they are dropped;
//! - options removed from a list drop the values that are no longer an option (a multiple
//!   choice keeps its remaining options); anything else (libellé, description, obligatoire,
//!   condition, bounds) keeps the values.

use std::collections::HashMap;

use serde_json::Value;

use super::champ::{ChampOptions, TypeChamp};

/// One champ of a revision, as compared.
#[derive(Debug, Clone, PartialEq)]
pub struct ChampVersion {
    pub stable_id: i64,
    /// The bloc répétable holding it.
    pub parent: Option<i64>,
    /// An annotation privée.
    pub private: bool,
    pub position: i32,
    pub type_champ: TypeChamp,
    pub libelle: String,
    pub description: String,
    pub mandatory: bool,
    pub options: ChampOptions,
    /// `types_de_champ.condition` as stored.
    pub condition: Option<Value>,
}

/// An attribute of a champ that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    Libelle,
    Type,
    Mandatory,
    Options,
    Condition,
    Description,
}

/// One difference between two revisions, in the order of the new form.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Added(ChampVersion),
    Removed(ChampVersion),
    Updated {
        before: Box<ChampVersion>,
        after: Box<ChampVersion>,
        attributes: Vec<Attribute>,
    },
}

/// What a change does to the values of a champ in the dossiers that move.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueRule {
    /// Every value is kept.
    Keep,
    /// Every value is dropped.
    Drop,
    /// Only these values are kept (a simple or linked drop-down without « Autre »).
    KeepOnly(Vec<Value>),
    /// These values are dropped (options removed from a drop-down that keeps « Autre »).
    DropValues(Vec<Value>),
    /// Each element of the list value not in these values is removed; an empty list is
    /// dropped (multiple choice).
    FilterArray(Vec<Value>),
}

impl ValueRule {
    /// The values do not all survive.
    pub fn loses_values(&self) -> bool {
        !matches!(self, ValueRule::Keep)
    }
}

/// Whether every value of a champ of type `from` is a valid value of type `to`, so a type
/// change keeps it: the same type; text and zone de texte between themselves; the
/// single-line text types (e-mail, téléphone, adresse, SIRET, RNA, IBAN, champ formaté)
/// into text or zone de texte; a whole number into a decimal one; case à cocher and
/// engagement between themselves.
pub fn keeps_value(from: TypeChamp, to: TypeChamp) -> bool {
    use TypeChamp::*;
    if from == to {
        return true;
    }
    match to {
        Text | Textarea => matches!(
            from,
            Text | Textarea | Email | Phone | Address | Siret | Rna | Iban | Formatted
        ),
        DecimalNumber => from == IntegerNumber,
        Checkbox | Engagement => matches!(from, Checkbox | Engagement),
        _ => false,
    }
}

/// The differences from `before` to `after`: added, removed and updated champs, in the
/// order of `after` (removed ones where they were, at the end).
pub fn compare(before: &[ChampVersion], after: &[ChampVersion]) -> Vec<Change> {
    let old: HashMap<i64, &ChampVersion> = before.iter().map(|c| (c.stable_id, c)).collect();
    let new: HashMap<i64, &ChampVersion> = after.iter().map(|c| (c.stable_id, c)).collect();
    let mut changes = Vec::new();
    for champ in after {
        match old.get(&champ.stable_id) {
            None => changes.push(Change::Added(champ.clone())),
            Some(previous) => {
                let attributes = attributes(previous, champ);
                if !attributes.is_empty() {
                    changes.push(Change::Updated {
                        before: Box::new((*previous).clone()),
                        after: Box::new(champ.clone()),
                        attributes,
                    });
                }
            }
        }
    }
    changes.extend(
        before
            .iter()
            .filter(|c| !new.contains_key(&c.stable_id))
            .cloned()
            .map(Change::Removed),
    );
    changes
}

fn attributes(before: &ChampVersion, after: &ChampVersion) -> Vec<Attribute> {
    let mut out = Vec::new();
    if before.libelle != after.libelle {
        out.push(Attribute::Libelle);
    }
    if before.type_champ != after.type_champ {
        out.push(Attribute::Type);
    }
    if before.mandatory != after.mandatory {
        out.push(Attribute::Mandatory);
    }
    if before.options != after.options {
        out.push(Attribute::Options);
    }
    if before.condition != after.condition {
        out.push(Attribute::Condition);
    }
    if before.description != after.description {
        out.push(Attribute::Description);
    }
    out
}

impl Change {
    /// The champ as it is after the change (before it, for a removed one).
    pub fn champ(&self) -> &ChampVersion {
        match self {
            Change::Added(c) | Change::Removed(c) => c,
            Change::Updated { after, .. } => after,
        }
    }

    pub fn stable_id(&self) -> i64 {
        self.champ().stable_id
    }

    /// What becomes of the values of this champ in the dossiers that move.
    pub fn value_rule(&self) -> ValueRule {
        match self {
            Change::Added(_) => ValueRule::Keep,
            Change::Removed(_) => ValueRule::Drop,
            Change::Updated { before, after, .. } => value_rule(before, after),
        }
    }

    /// The change in French, for the administrateur ("Modifications" summary).
    pub fn summary(&self) -> Vec<String> {
        match self {
            Change::Added(c) => vec![format!(
                "{} ajouté{} : « {} » ({}{})",
                kind(c),
                feminine(c),
                c.libelle,
                c.type_champ.libelle(),
                if c.mandatory { ", obligatoire" } else { "" }
            )],
            Change::Removed(c) => {
                vec![format!(
                    "{} supprimé{} : « {} »",
                    kind(c),
                    feminine(c),
                    c.libelle
                )]
            }
            Change::Updated {
                before,
                after,
                attributes,
            } => attributes
                .iter()
                .map(|attribute| describe(*attribute, before, after))
                .collect(),
        }
    }
}

fn kind(c: &ChampVersion) -> &'static str {
    match (c.private, c.parent.is_some()) {
        (true, _) => "Annotation privée",
        (false, true) => "Champ de bloc répétable",
        (false, false) => "Champ",
    }
}

fn feminine(c: &ChampVersion) -> &'static str {
    if c.private { "e" } else { "" }
}

fn describe(attribute: Attribute, before: &ChampVersion, after: &ChampVersion) -> String {
    let name = &after.libelle;
    match attribute {
        Attribute::Libelle => format!(
            "« {} » : libellé modifié en « {} »",
            before.libelle, after.libelle
        ),
        Attribute::Type => format!(
            "« {name} » : type modifié de « {} » en « {} »",
            before.type_champ.libelle(),
            after.type_champ.libelle()
        ),
        Attribute::Mandatory if after.mandatory => format!("« {name} » : devient obligatoire"),
        Attribute::Mandatory => format!("« {name} » : devient facultatif"),
        Attribute::Options => {
            let removed = removed_options(&before.options, &after.options);
            let added = removed_options(&after.options, &before.options);
            let mut parts = Vec::new();
            if !added.is_empty() {
                parts.push(format!("ajoutées : {}", quoted(&added)));
            }
            if !removed.is_empty() {
                parts.push(format!("retirées : {}", quoted(&removed)));
            }
            if before.options.drop_down_other != after.options.drop_down_other {
                parts.push(if after.options.drop_down_other {
                    "choix « Autre » ajouté".to_owned()
                } else {
                    "choix « Autre » retiré".to_owned()
                });
            }
            if parts.is_empty() {
                format!("« {name} » : options modifiées")
            } else {
                format!("« {name} » : options modifiées ({})", parts.join(" ; "))
            }
        }
        Attribute::Condition => match (&before.condition, &after.condition) {
            (None, Some(_)) => format!("« {name} » : condition d’affichage ajoutée"),
            (Some(_), None) => format!("« {name} » : condition d’affichage retirée"),
            _ => format!("« {name} » : condition d’affichage modifiée"),
        },
        Attribute::Description => format!("« {name} » : description modifiée"),
    }
}

fn quoted(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("« {v} »"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The list lines of `from` that `to` no longer has.
fn removed_options(from: &ChampOptions, to: &ChampOptions) -> Vec<String> {
    from.drop_down_options
        .iter()
        .filter(|o| !to.drop_down_options.contains(o))
        .cloned()
        .collect()
}

fn value_rule(before: &ChampVersion, after: &ChampVersion) -> ValueRule {
    if !keeps_value(before.type_champ, after.type_champ) {
        return ValueRule::Drop;
    }
    if before.type_champ != after.type_champ {
        return ValueRule::Keep;
    }
    let (old, new) = (&before.options, &after.options);
    match after.type_champ {
        TypeChamp::DropDownList => {
            let removed = removed_options(old, new);
            if new.drop_down_other {
                // « Autre » answers stay « Autre » answers; a removed option is dropped.
                if removed.is_empty() {
                    ValueRule::Keep
                } else {
                    ValueRule::DropValues(trimmed(&removed))
                }
            } else if removed.is_empty() && !old.drop_down_other {
                ValueRule::Keep
            } else {
                ValueRule::KeepOnly(trimmed(&new.drop_down_options))
            }
        }
        TypeChamp::MultipleDropDownList => {
            if removed_options(old, new).is_empty() {
                ValueRule::Keep
            } else {
                ValueRule::FilterArray(trimmed(&new.drop_down_options))
            }
        }
        TypeChamp::LinkedDropDownList => {
            let pairs = |o: &ChampOptions| -> Vec<(String, String)> {
                o.linked_groups()
                    .into_iter()
                    .flat_map(|(primary, secondaries)| {
                        std::iter::once((primary.clone(), String::new()))
                            .chain(secondaries.into_iter().map(move |s| (primary.clone(), s)))
                    })
                    .collect()
            };
            let kept = pairs(new);
            if pairs(old).iter().all(|p| kept.contains(p)) {
                ValueRule::Keep
            } else {
                ValueRule::KeepOnly(
                    kept.into_iter()
                        .map(|(primary, secondary)| {
                            serde_json::json!({ "primary": primary, "secondary": secondary })
                        })
                        .collect(),
                )
            }
        }
        _ => ValueRule::Keep,
    }
}

fn trimmed(options: &[String]) -> Vec<Value> {
    options.iter().map(|o| Value::from(o.trim())).collect()
}

/// What moving dossiers from one revision to another does to their values, by stable id
/// (only the champs that lose values). A removed bloc répétable drops its children too.
pub fn value_rules(changes: &[Change]) -> Vec<(i64, ValueRule)> {
    changes
        .iter()
        .map(|c| (c.stable_id(), c.value_rule()))
        .filter(|(_, rule)| rule.loses_values())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn champ(stable_id: i64, type_champ: TypeChamp, libelle: &str) -> ChampVersion {
        ChampVersion {
            stable_id,
            parent: None,
            private: false,
            position: 0,
            type_champ,
            libelle: libelle.to_owned(),
            description: String::new(),
            mandatory: true,
            options: ChampOptions::default(),
            condition: None,
        }
    }

    fn list(type_champ: TypeChamp, options: &[&str], other: bool) -> ChampVersion {
        let mut c = champ(1, type_champ, "Liste");
        c.options.drop_down_options = options.iter().map(|o| (*o).to_owned()).collect();
        c.options.drop_down_other = other;
        c
    }

    #[test]
    fn added_removed_and_updated_champs() {
        let before = vec![
            champ(1, TypeChamp::Text, "Nom"),
            champ(2, TypeChamp::Date, "Date"),
        ];
        let mut renamed = champ(1, TypeChamp::Textarea, "Nom complet");
        renamed.mandatory = false;
        let after = vec![renamed, champ(3, TypeChamp::Email, "Courriel")];
        let changes = compare(&before, &after);
        assert_eq!(changes.len(), 3);
        assert!(matches!(&changes[0], Change::Updated { attributes, .. }
            if attributes == &[Attribute::Libelle, Attribute::Type, Attribute::Mandatory]));
        assert_eq!(
            changes[0].summary(),
            vec![
                "« Nom » : libellé modifié en « Nom complet »",
                "« Nom complet » : type modifié de « Texte court » en « Zone de texte »",
                "« Nom complet » : devient facultatif",
            ]
        );
        assert_eq!(
            changes[1].summary(),
            vec!["Champ ajouté : « Courriel » (Adresse électronique, obligatoire)"]
        );
        assert_eq!(changes[2].summary(), vec!["Champ supprimé : « Date »"]);
        // Text into textarea keeps, a removed champ drops.
        assert_eq!(
            value_rules(&changes),
            vec![(2, ValueRule::Drop)],
            "only the removed champ loses values"
        );
        assert!(compare(&before, &before).is_empty());
    }

    #[test]
    fn type_compatibility_follows_value_shapes() {
        use TypeChamp::*;
        assert!(keeps_value(Text, Textarea));
        assert!(keeps_value(Textarea, Text));
        assert!(keeps_value(Email, Text));
        assert!(!keeps_value(Text, Email));
        assert!(keeps_value(IntegerNumber, DecimalNumber));
        assert!(!keeps_value(DecimalNumber, IntegerNumber));
        assert!(!keeps_value(Text, DropDownList));
        assert!(!keeps_value(Date, Datetime));
        assert!(keeps_value(Checkbox, Engagement));
        let changes = compare(&[champ(1, Text, "A")], &[champ(1, IntegerNumber, "A")]);
        assert_eq!(value_rules(&changes), vec![(1, ValueRule::Drop)]);
    }

    #[test]
    fn removed_options_restrict_values() {
        use TypeChamp::*;
        let rules = |a: ChampVersion, b: ChampVersion| value_rules(&compare(&[a], &[b]));
        // A new option keeps every value.
        assert!(
            rules(
                list(DropDownList, &["A"], false),
                list(DropDownList, &["A", "B"], false)
            )
            .is_empty()
        );
        assert_eq!(
            rules(
                list(DropDownList, &["A", "B"], false),
                list(DropDownList, &["A"], false)
            ),
            vec![(1, ValueRule::KeepOnly(vec![json!("A")]))]
        );
        assert_eq!(
            rules(
                list(DropDownList, &["A", "B"], true),
                list(DropDownList, &["A"], true)
            ),
            vec![(1, ValueRule::DropValues(vec![json!("B")]))]
        );
        // « Autre » removed: only listed options stay.
        assert_eq!(
            rules(
                list(DropDownList, &["A"], true),
                list(DropDownList, &["A"], false)
            ),
            vec![(1, ValueRule::KeepOnly(vec![json!("A")]))]
        );
        assert_eq!(
            rules(
                list(MultipleDropDownList, &["A", "B"], false),
                list(MultipleDropDownList, &["B"], false)
            ),
            vec![(1, ValueRule::FilterArray(vec![json!("B")]))]
        );
        let linked = rules(
            list(LinkedDropDownList, &["--X--", "a", "b"], false),
            list(LinkedDropDownList, &["--X--", "a"], false),
        );
        assert_eq!(
            linked,
            vec![(
                1,
                ValueRule::KeepOnly(vec![
                    json!({"primary": "X", "secondary": ""}),
                    json!({"primary": "X", "secondary": "a"}),
                ])
            )]
        );
        let summary = compare(
            &[list(DropDownList, &["A", "B"], false)],
            &[list(DropDownList, &["A", "C"], true)],
        )[0]
        .summary();
        assert_eq!(
            summary,
            vec![
                "« Liste » : options modifiées (ajoutées : « C » ; retirées : « B » ; choix « Autre » ajouté)"
            ]
        );
    }

    #[test]
    fn condition_and_annotation_summaries() {
        let before = champ(1, TypeChamp::Text, "A");
        let mut after = before.clone();
        after.condition = Some(json!({"term": "constant", "value": true}));
        assert_eq!(
            compare(std::slice::from_ref(&before), &[after])[0].summary(),
            vec!["« A » : condition d’affichage ajoutée"]
        );
        let mut note = champ(5, TypeChamp::Text, "Note");
        note.private = true;
        assert_eq!(
            compare(&[], &[note])[0].summary(),
            vec!["Annotation privée ajoutée : « Note » (Texte court, obligatoire)"]
        );
    }
}
