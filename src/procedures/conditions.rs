//! "Logique conditionnelle" of the form builder (FEATURES §4.6): the condition of a champ of
//! the draft revision, edited as a flat list of rules ("champ opérateur valeur") joined by
//! « et » or « ou », stored as Logic JSON in `types_de_champ.condition`.
//!
//! A condition may only read champs placed before its champ: adding such a rule, and any
//! move, deletion or change of type that would break an existing condition, is refused.
//! A child of a bloc répétable reads the top-level champs placed before its block and its
//! earlier siblings (evaluated in its own row).

use demarches_actors::domain::champ::{ChampOptions, TypeChamp};
use demarches_actors::domain::logic::{self, ChampInfo, Condition, Kind, Op, Operand};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::{EditError, FieldError, lock_procedure};

/// How the rules are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combinator {
    Et,
    Ou,
}

impl Combinator {
    pub fn join(self, rules: Vec<Condition>) -> Option<Condition> {
        if rules.is_empty() {
            return None;
        }
        Some(match self {
            Combinator::Et => Condition::And(rules),
            Combinator::Ou => Condition::Or(rules),
        })
    }
}

/// The rules of a stored condition and how they are joined (a single comparison is one rule).
pub fn rules_of(condition: Option<&Condition>) -> (Combinator, Vec<Condition>) {
    match condition {
        None => (Combinator::Et, Vec::new()),
        Some(Condition::And(rules)) => (Combinator::Et, rules.clone()),
        Some(Condition::Or(rules)) => (Combinator::Ou, rules.clone()),
        Some(other) => (Combinator::Et, vec![other.clone()]),
    }
}

/// A champ of the draft form as the conditions see it, in form order.
#[derive(Debug, Clone)]
pub struct FormChamp {
    pub info: ChampInfo,
    pub type_champ: Option<TypeChamp>,
    pub condition: Option<Condition>,
}

/// What the conditions of some champs may read, in form order: the top-level form, or
/// for the children of a bloc répétable, the top-level champs placed before their block,
/// the children, then the top-level champs after it (a child reads the champs before it:
/// its earlier siblings, evaluated in its row, and the champs before its block).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub champs: Vec<FormChamp>,
    /// The champs from this index on are the ones this scope is for (0 for the top level;
    /// top-level champs are found in the top-level scope first).
    pub own_from: usize,
}

/// A public champ of a draft revision: stable id, block, type, libellé, options, condition.
type DraftRow = (i64, Option<i64>, String, String, Value, Option<Value>);

/// The public champs of a draft revision, in order: the top-level scope first, then one
/// scope per bloc répétable.
pub async fn draft_scopes(
    conn: &mut PgConnection,
    revision_id: i64,
) -> Result<Vec<Scope>, sqlx::Error> {
    let rows: Vec<DraftRow> = sqlx::query_as(
        "select stable_id, parent_stable_id, type_champ, libelle, options, condition
         from types_de_champ
         where revision_id = $1 and private = false
         order by parent_stable_id nulls first, position, id",
    )
    .bind(revision_id)
    .fetch_all(conn)
    .await?;
    let mut top = Vec::new();
    let mut children: Vec<(i64, FormChamp)> = Vec::new();
    for (stable_id, parent, type_champ, libelle, options, condition) in rows {
        let type_champ = type_champ.parse::<TypeChamp>().ok();
        let options: ChampOptions = serde_json::from_value(options).unwrap_or_default();
        let champ = FormChamp {
            info: ChampInfo {
                stable_id,
                libelle,
                kind: type_champ.map_or(Kind::Other, logic::kind_of),
                options: options.drop_down_options,
            },
            type_champ,
            condition: condition.and_then(|c| serde_json::from_value(c).ok()),
        };
        match parent {
            None => top.push(champ),
            Some(block) => children.push((block, champ)),
        }
    }
    let mut scopes = Vec::new();
    for (position, block) in top.iter().enumerate() {
        if block.type_champ != Some(TypeChamp::Repetition) {
            continue;
        }
        // The champs after the block come last: a rule reading one of them is refused as
        // « placed after », like any later champ.
        let mut champs: Vec<FormChamp> = top[..position].to_vec();
        champs.extend(
            children
                .iter()
                .filter(|(b, _)| *b == block.info.stable_id)
                .map(|(_, c)| c.clone()),
        );
        champs.extend(top[position + 1..].iter().cloned());
        scopes.push(Scope {
            champs,
            own_from: position,
        });
    }
    scopes.insert(
        0,
        Scope {
            champs: top,
            own_from: 0,
        },
    );
    Ok(scopes)
}

/// The scope whose own champs hold `stable_id`, and its position there.
fn scope_of(scopes: Vec<Scope>, stable_id: i64) -> Option<(Vec<FormChamp>, usize)> {
    scopes.into_iter().find_map(|scope| {
        let position = scope
            .champs
            .iter()
            .skip(scope.own_from)
            .position(|c| c.info.stable_id == stable_id)?;
        Some((scope.champs, scope.own_from + position))
    })
}

/// Checks every condition of the form; the message names the champ whose condition breaks.
pub fn check_form(form: &[FormChamp]) -> Result<(), String> {
    let infos: Vec<ChampInfo> = form.iter().map(|c| c.info.clone()).collect();
    for (position, champ) in form.iter().enumerate() {
        let Some(condition) = &champ.condition else {
            continue;
        };
        if let Err(message) = logic::check(condition, position, &infos) {
            let libelle = &champ.info.libelle;
            let referenced = |ids: &mut dyn Iterator<Item = i64>| -> Option<String> {
                ids.filter_map(|id| form.iter().find(|c| c.info.stable_id == id))
                    .map(|c| c.info.libelle.clone())
                    .next()
            };
            let ids = condition.champ_ids();
            return Err(if message == logic::EARLIER_ONLY {
                let later = referenced(&mut ids.iter().copied().filter(|id| {
                    form.iter()
                        .position(|c| c.info.stable_id == *id)
                        .is_some_and(|i| i >= position)
                }))
                .unwrap_or_default();
                format!(
                    "La condition du champ « {libelle} » porte sur le champ « {later} », \
                     qui doit rester placé avant lui."
                )
            } else if message == logic::UNKNOWN_CHAMP {
                format!(
                    "Ce champ est utilisé dans la condition du champ « {libelle} » : \
                     retirez d’abord la règle qui le concerne."
                )
            } else {
                format!("La condition du champ « {libelle} » ne serait plus valable : {message}")
            });
        }
    }
    Ok(())
}

/// Checks the draft form of a démarche after a change in the same transaction.
pub async fn check_draft(conn: &mut PgConnection, revision_id: i64) -> Result<(), EditError> {
    for scope in draft_scopes(conn, revision_id).await? {
        check_form(&scope.champs).map_err(EditError::Refused)?;
    }
    Ok(())
}

/// The value typed in the editor, read for the type of the champ.
pub fn parse_value(kind: Kind, raw: &str) -> Value {
    let raw = raw.trim();
    match kind {
        Kind::Boolean => match raw.to_lowercase().as_str() {
            "oui" | "true" | "on" | "1" | "coché" | "cochée" => Value::Bool(true),
            "non" | "false" | "off" | "0" => Value::Bool(false),
            _ => Value::String(raw.to_owned()),
        },
        Kind::Number => {
            let compact: String = raw
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .replace(',', ".");
            if let Ok(n) = compact.parse::<i64>() {
                Value::from(n)
            } else if let Some(n) = compact
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Value::Number(n)
            } else {
                Value::String(raw.to_owned())
            }
        }
        _ => Value::String(raw.to_owned()),
    }
}

/// A rule as typed in the editor.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RuleInput {
    /// Stable id of the champ read.
    pub champ: String,
    pub operator: String,
    pub value: String,
}

fn rule_error(message: impl Into<String>) -> EditError {
    EditError::Invalid(vec![FieldError::new("condition", message)])
}

async fn load(
    conn: &mut PgConnection,
    procedure_id: i64,
    stable_id: i64,
) -> Result<(i64, Vec<FormChamp>, usize), EditError> {
    let draft = lock_procedure(conn, procedure_id).await?.draft_revision_id;
    let scopes = draft_scopes(conn, draft).await?;
    let (form, position) = scope_of(scopes, stable_id).ok_or(EditError::NotFound)?;
    Ok((draft, form, position))
}

async fn store(
    conn: &mut PgConnection,
    draft: i64,
    stable_id: i64,
    condition: Option<&Condition>,
) -> Result<(), EditError> {
    let json = condition
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| EditError::Refused(e.to_string()))?;
    sqlx::query(
        "update types_de_champ set condition = $3
         where revision_id = $1 and stable_id = $2 and private = false",
    )
    .bind(draft)
    .bind(stable_id)
    .bind(json)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds a rule to the condition of a champ (joined with the current « et » / « ou »).
pub async fn add_rule(
    conn: &mut PgConnection,
    procedure_id: i64,
    stable_id: i64,
    input: &RuleInput,
) -> Result<(), EditError> {
    let (draft, form, position) = load(conn, procedure_id, stable_id).await?;
    let read: i64 = input
        .champ
        .trim()
        .parse()
        .map_err(|_| rule_error("Choisissez le champ dont dépend l’affichage."))?;
    let op = Op::parse(input.operator.trim())
        .filter(|op| *op != Op::EmptyOperator)
        .ok_or_else(|| rule_error("Choisissez un opérateur."))?;
    let kind = form
        .iter()
        .find(|c| c.info.stable_id == read)
        .map_or(Kind::Other, |c| c.info.kind);
    let rule = Condition::rule(op, read, parse_value(kind, &input.value));
    let infos: Vec<ChampInfo> = form.iter().map(|c| c.info.clone()).collect();
    logic::check(&rule, position, &infos).map_err(rule_error)?;
    let (combinator, mut rules) = rules_of(form[position].condition.as_ref());
    rules.push(rule);
    store(conn, draft, stable_id, combinator.join(rules).as_ref()).await
}

/// Removes the rule at `index` (0-based); removing the last one removes the condition.
pub async fn remove_rule(
    conn: &mut PgConnection,
    procedure_id: i64,
    stable_id: i64,
    index: usize,
) -> Result<(), EditError> {
    let (draft, form, position) = load(conn, procedure_id, stable_id).await?;
    let (combinator, mut rules) = rules_of(form[position].condition.as_ref());
    if index >= rules.len() {
        return Err(EditError::NotFound);
    }
    rules.remove(index);
    store(conn, draft, stable_id, combinator.join(rules).as_ref()).await
}

/// Joins the rules with « et » or « ou ».
pub async fn set_combinator(
    conn: &mut PgConnection,
    procedure_id: i64,
    stable_id: i64,
    combinator: Combinator,
) -> Result<(), EditError> {
    let (draft, form, position) = load(conn, procedure_id, stable_id).await?;
    let (_, rules) = rules_of(form[position].condition.as_ref());
    store(conn, draft, stable_id, combinator.join(rules).as_ref()).await
}

/// One rule as the editor lists it.
#[derive(Debug, Clone)]
pub struct RuleView {
    pub index: usize,
    pub text: String,
}

/// A champ a new rule may read, with its operators.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub stable_id: i64,
    pub libelle: String,
    pub operators: Vec<Op>,
    pub options: Vec<String>,
}

/// The "Logique conditionnelle" section of a champ's edit page.
#[derive(Debug, Clone)]
pub struct LogicView {
    pub combinator: Combinator,
    pub rules: Vec<RuleView>,
    pub candidates: Vec<Candidate>,
    /// Every operator offered by one of the candidates, in the language's order.
    pub operators: Vec<Op>,
}

impl LogicView {
    pub fn is_ou(&self) -> bool {
        self.combinator == Combinator::Ou
    }
}

fn display_constant(value: &Value) -> String {
    match value {
        Value::Bool(true) => "Oui".to_owned(),
        Value::Bool(false) => "Non".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A French sentence for a rule: « Statut » est « Association ».
pub fn describe(rule: &Condition, form: &[FormChamp]) -> String {
    match rule {
        Condition::Compare { op, left, right } => {
            let side = |operand: &Operand| match operand {
                Operand::ChampValue { stable_id } => form
                    .iter()
                    .find(|c| c.info.stable_id == *stable_id)
                    .map_or_else(
                        || "(champ supprimé)".to_owned(),
                        |c| format!("« {} »", c.info.libelle),
                    ),
                Operand::Constant { value } => format!("« {} »", display_constant(value)),
                Operand::Empty => "(à compléter)".to_owned(),
            };
            format!("{} {} {}", side(left), op.libelle(), side(right))
        }
        Condition::Constant(true) => "toujours".to_owned(),
        Condition::Constant(false) => "jamais".to_owned(),
        Condition::And(_) | Condition::Or(_) => "(groupe de règles)".to_owned(),
    }
}

/// The editor's view of the condition of the champ at `position`.
pub fn view(form: &[FormChamp], position: usize) -> LogicView {
    let (combinator, rules) = rules_of(form.get(position).and_then(|c| c.condition.as_ref()));
    let candidates: Vec<Candidate> = form
        .iter()
        .take(position)
        .filter(|c| c.info.kind.is_conditionable())
        .map(|c| Candidate {
            stable_id: c.info.stable_id,
            libelle: c.info.libelle.clone(),
            operators: c.info.kind.operators().to_vec(),
            options: c.info.options.clone(),
        })
        .collect();
    let operators = Op::ALL
        .into_iter()
        .filter(|op| candidates.iter().any(|c| c.operators.contains(op)))
        .collect();
    LogicView {
        combinator,
        rules: rules
            .iter()
            .enumerate()
            .map(|(index, rule)| RuleView {
                index,
                text: describe(rule, form),
            })
            .collect(),
        candidates,
        operators,
    }
}

/// The editor's view for a champ of the draft form of a démarche.
pub async fn view_for(
    conn: &mut PgConnection,
    revision_id: i64,
    stable_id: i64,
) -> Result<LogicView, sqlx::Error> {
    let scopes = draft_scopes(conn, revision_id).await?;
    Ok(match scope_of(scopes, stable_id) {
        Some((form, position)) => view(&form, position),
        None => view(&[], 0),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn champ(stable_id: i64, libelle: &str, kind: Kind, condition: Option<Condition>) -> FormChamp {
        FormChamp {
            info: ChampInfo {
                stable_id,
                libelle: libelle.to_owned(),
                kind,
                options: vec!["Association".to_owned(), "Entreprise".to_owned()],
            },
            type_champ: None,
            condition,
        }
    }

    #[test]
    fn values_are_read_for_the_type() {
        assert_eq!(parse_value(Kind::Boolean, " Oui "), json!(true));
        assert_eq!(parse_value(Kind::Boolean, "non"), json!(false));
        assert_eq!(parse_value(Kind::Boolean, "peut-être"), json!("peut-être"));
        assert_eq!(parse_value(Kind::Number, "1 000"), json!(1000));
        assert_eq!(parse_value(Kind::Number, "2,5"), json!(2.5));
        assert_eq!(parse_value(Kind::Number, "beaucoup"), json!("beaucoup"));
        assert_eq!(
            parse_value(Kind::Enum, " Association "),
            json!("Association")
        );
    }

    #[test]
    fn rules_and_combinators() {
        let a = Condition::rule(Op::Eq, 1, json!("Association"));
        let b = Condition::rule(Op::GreaterThan, 2, json!(3));
        assert_eq!(rules_of(None), (Combinator::Et, vec![]));
        assert_eq!(rules_of(Some(&a)), (Combinator::Et, vec![a.clone()]));
        let or = Combinator::Ou.join(vec![a.clone(), b.clone()]);
        assert_eq!(
            rules_of(or.as_ref()),
            (Combinator::Ou, vec![a.clone(), b.clone()])
        );
        assert_eq!(Combinator::Et.join(vec![]), None);
    }

    #[test]
    fn the_form_check_names_the_broken_condition() {
        let cond = Condition::rule(Op::Eq, 1, json!("Association"));
        let ok = vec![
            champ(1, "Statut", Kind::Enum, None),
            champ(2, "Numéro RNA", Kind::Other, Some(cond.clone())),
        ];
        assert_eq!(check_form(&ok), Ok(()));
        let moved = vec![ok[1].clone(), ok[0].clone()];
        assert_eq!(
            check_form(&moved),
            Err(
                "La condition du champ « Numéro RNA » porte sur le champ « Statut », \
                 qui doit rester placé avant lui."
                    .to_owned()
            )
        );
        let deleted = vec![ok[1].clone()];
        assert_eq!(
            check_form(&deleted),
            Err(
                "Ce champ est utilisé dans la condition du champ « Numéro RNA » : \
                 retirez d’abord la règle qui le concerne."
                    .to_owned()
            )
        );
        let retyped = vec![champ(1, "Statut", Kind::Other, None), ok[1].clone()];
        assert!(check_form(&retyped).unwrap_err().starts_with(
            "La condition du champ « Numéro RNA » ne serait plus valable : Le champ « Statut »"
        ));
    }

    #[test]
    fn the_view_offers_earlier_conditionable_champs() {
        let cond = Condition::rule(Op::Eq, 1, json!("Association"));
        let form = vec![
            champ(1, "Statut", Kind::Enum, None),
            champ(2, "Nom", Kind::Other, None),
            champ(3, "Montant", Kind::Number, Some(cond)),
            champ(4, "Plus tard", Kind::Number, None),
        ];
        let v = view(&form, 2);
        assert_eq!(v.candidates.len(), 1);
        assert_eq!(v.candidates[0].libelle, "Statut");
        assert_eq!(v.operators, vec![Op::Eq, Op::NotEq]);
        assert_eq!(v.rules.len(), 1);
        assert_eq!(v.rules[0].text, "« Statut » est « Association »");
        assert!(!v.is_ou());
    }
}
