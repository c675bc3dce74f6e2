//! The condition language of démarches (FEATURES §4.6, DS `Logic`): a JSON expression tree
//! that says when a champ is shown.
//!
//! ```json
//! {"term": "or", "operands": [
//!   {"term": "eq", "left": {"term": "champ_value", "stable_id": 12},
//!                  "right": {"term": "constant", "value": "Association"}},
//!   {"term": "greater_than", "left": {"term": "champ_value", "stable_id": 13},
//!                            "right": {"term": "constant", "value": 10}}]}
//! ```
//!
//! Pure: no I/O, only `serde`/`serde_json`, so the same code runs on the server and, compiled
//! to WebAssembly (`actors/logic-wasm`), in the browser.
//!
//! Evaluation is lenient: a value of an unexpected shape makes a comparison false, never an
//! error. A blank value (missing, null, `""`, `[]`) is "empty": `eq` and the ordering
//! operators are false on it, `not_eq` and `excludes` are true (as in DS, where they are the
//! negations of `eq` and `includes`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[doc(hidden)]
pub mod random;

/// A binary operator of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    NotEq,
    LessThan,
    LessThanEq,
    GreaterThan,
    GreaterThanEq,
    /// A multiple choice contains the constant ("Contient").
    Includes,
    /// A multiple choice does not contain the constant ("Ne contient pas").
    Excludes,
    InDepartement,
    NotInDepartement,
    InRegion,
    NotInRegion,
    /// An incomplete rule of the editor: always true.
    EmptyOperator,
}

impl Op {
    pub const ALL: [Op; 13] = [
        Op::Eq,
        Op::NotEq,
        Op::LessThan,
        Op::LessThanEq,
        Op::GreaterThan,
        Op::GreaterThanEq,
        Op::Includes,
        Op::Excludes,
        Op::InDepartement,
        Op::NotInDepartement,
        Op::InRegion,
        Op::NotInRegion,
        Op::EmptyOperator,
    ];

    /// The `term` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::NotEq => "not_eq",
            Op::LessThan => "less_than",
            Op::LessThanEq => "less_than_eq",
            Op::GreaterThan => "greater_than",
            Op::GreaterThanEq => "greater_than_eq",
            Op::Includes => "includes",
            Op::Excludes => "excludes",
            Op::InDepartement => "in_departement",
            Op::NotInDepartement => "not_in_departement",
            Op::InRegion => "in_region",
            Op::NotInRegion => "not_in_region",
            Op::EmptyOperator => "empty_operator",
        }
    }

    /// French label of the editor ("est", "est supérieur à"…).
    pub const fn libelle(self) -> &'static str {
        match self {
            Op::Eq => "est",
            Op::NotEq => "n’est pas",
            Op::LessThan => "est inférieur à",
            Op::LessThanEq => "est inférieur ou égal à",
            Op::GreaterThan => "est supérieur à",
            Op::GreaterThanEq => "est supérieur ou égal à",
            Op::Includes => "contient",
            Op::Excludes => "ne contient pas",
            Op::InDepartement => "est dans le département",
            Op::NotInDepartement => "n’est pas dans le département",
            Op::InRegion => "est dans la région",
            Op::NotInRegion => "n’est pas dans la région",
            Op::EmptyOperator => "(à compléter)",
        }
    }

    pub fn parse(term: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.as_str() == term)
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "term", rename_all = "snake_case")]
pub enum Operand {
    /// The value of a champ of the same dossier (empty when hidden, missing or blank).
    ChampValue {
        stable_id: i64,
    },
    Constant {
        value: Value,
    },
    /// An incomplete side of an editor rule.
    Empty,
}

/// A condition. Serialized as `{"term": …}` JSON (see the crate documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Raw", into = "Raw")]
pub enum Condition {
    /// True when every operand is (true when there is none).
    And(Vec<Condition>),
    /// True when one operand is (false when there is none).
    Or(Vec<Condition>),
    Compare {
        op: Op,
        left: Operand,
        right: Operand,
    },
    /// A constant condition (`{"term": "constant", "value": true}`).
    Constant(bool),
}

/// The serialized shape, shared by every term.
#[derive(Serialize, Deserialize)]
struct Raw {
    term: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operands: Option<Vec<Raw>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    left: Option<Operand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    right: Option<Operand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
}

impl TryFrom<Raw> for Condition {
    type Error = String;

    fn try_from(raw: Raw) -> Result<Self, String> {
        let operands = |raw: Raw| -> Result<Vec<Condition>, String> {
            raw.operands
                .unwrap_or_default()
                .into_iter()
                .map(Condition::try_from)
                .collect()
        };
        match raw.term.as_str() {
            "and" => Ok(Condition::And(operands(raw)?)),
            "or" => Ok(Condition::Or(operands(raw)?)),
            "constant" => match raw.value {
                Some(Value::Bool(b)) => Ok(Condition::Constant(b)),
                _ => Err("a constant condition must be a boolean".to_owned()),
            },
            term => {
                let op = Op::parse(term).ok_or_else(|| format!("unknown term {term:?}"))?;
                Ok(Condition::Compare {
                    op,
                    left: raw.left.unwrap_or(Operand::Empty),
                    right: raw.right.unwrap_or(Operand::Empty),
                })
            }
        }
    }
}

impl From<Condition> for Raw {
    fn from(c: Condition) -> Raw {
        let raw = |term: &str| Raw {
            term: term.to_owned(),
            operands: None,
            left: None,
            right: None,
            value: None,
        };
        match c {
            Condition::And(ops) => Raw {
                operands: Some(ops.into_iter().map(Raw::from).collect()),
                ..raw("and")
            },
            Condition::Or(ops) => Raw {
                operands: Some(ops.into_iter().map(Raw::from).collect()),
                ..raw("or")
            },
            Condition::Constant(b) => Raw {
                value: Some(Value::Bool(b)),
                ..raw("constant")
            },
            Condition::Compare { op, left, right } => Raw {
                left: Some(left),
                right: Some(right),
                ..raw(op.as_str())
            },
        }
    }
}

impl Condition {
    /// A rule of the editor: `champ <op> constant`.
    pub fn rule(op: Op, stable_id: i64, value: Value) -> Condition {
        Condition::Compare {
            op,
            left: Operand::ChampValue { stable_id },
            right: Operand::Constant { value },
        }
    }

    /// Stable ids of the champs the condition reads.
    pub fn champ_ids(&self) -> Vec<i64> {
        let mut out = Vec::new();
        self.collect_ids(&mut out);
        out
    }

    fn collect_ids(&self, out: &mut Vec<i64>) {
        match self {
            Condition::And(ops) | Condition::Or(ops) => {
                ops.iter().for_each(|c| c.collect_ids(out));
            }
            Condition::Compare { left, right, .. } => {
                for side in [left, right] {
                    if let Operand::ChampValue { stable_id } = side
                        && !out.contains(stable_id)
                    {
                        out.push(*stable_id);
                    }
                }
            }
            Condition::Constant(_) => {}
        }
    }
}

// ------------------------------------------------------------------ evaluation

/// Evaluates a condition; `values` gives the value of a champ by stable id (`None` when
/// missing or hidden).
pub fn evaluate<'a, F>(condition: &Condition, values: &F) -> bool
where
    F: Fn(i64) -> Option<&'a Value>,
{
    match condition {
        Condition::And(ops) => ops.iter().all(|c| evaluate(c, values)),
        Condition::Or(ops) => ops.iter().any(|c| evaluate(c, values)),
        Condition::Constant(b) => *b,
        Condition::Compare { op, left, right } => {
            compare(*op, resolve(left, values), resolve(right, values))
        }
    }
}

fn resolve<'r, 'c: 'r, 'a: 'r, F>(operand: &'c Operand, values: &F) -> Option<&'r Value>
where
    F: Fn(i64) -> Option<&'a Value>,
{
    let value = match operand {
        Operand::ChampValue { stable_id } => values(*stable_id),
        Operand::Constant { value } => Some(value),
        Operand::Empty => None,
    }?;
    (!is_blank(value)).then_some(value)
}

/// Missing, null, a blank string or an empty list.
pub fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn compare(op: Op, left: Option<&Value>, right: Option<&Value>) -> bool {
    match op {
        Op::EmptyOperator => true,
        Op::Eq => matches!((left, right), (Some(l), Some(r)) if equal(l, r)),
        Op::NotEq => !compare(Op::Eq, left, right),
        Op::LessThan | Op::LessThanEq | Op::GreaterThan | Op::GreaterThanEq => {
            let (Some(l), Some(r)) = (left.and_then(number), right.and_then(number)) else {
                return false;
            };
            match op {
                Op::LessThan => l < r,
                Op::LessThanEq => l <= r,
                Op::GreaterThan => l > r,
                _ => l >= r,
            }
        }
        Op::Includes => matches!((left, right), (Some(l), Some(r)) if includes(l, r)),
        Op::Excludes => !compare(Op::Includes, left, right),
        Op::InDepartement | Op::NotInDepartement => {
            in_area(left, right, departement_code, op == Op::InDepartement)
        }
        Op::InRegion | Op::NotInRegion => in_area(left, right, region_code, op == Op::InRegion),
    }
}

/// `in_*` is true when the value's code equals the constant, `not_in_*` when it differs;
/// both are false when the value is blank or has no such code.
fn in_area(
    left: Option<&Value>,
    right: Option<&Value>,
    code: fn(&Value) -> Option<&str>,
    inside: bool,
) -> bool {
    let (Some(l), Some(Value::String(r))) = (left.and_then(code), right) else {
        return false;
    };
    (l.trim() == r.trim()) == inside
}

/// The number of a JSON number, or of a string holding one (`"12"`, `"3,5"`).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', ".").parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// The code of a value that stands for a code: a string, or an object's `value`/`code`.
fn code(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(o) => o
            .get("value")
            .or_else(|| o.get("code"))
            .and_then(Value::as_str),
        _ => None,
    }
}

fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            matches!((number(left), number(right)), (Some(l), Some(r)) if l == r)
        }
        (Value::Bool(l), Value::Bool(r)) => l == r,
        (Value::Bool(b), Value::String(s)) | (Value::String(s), Value::Bool(b)) => {
            s.trim() == if *b { "true" } else { "false" }
        }
        (Value::String(l), Value::String(r)) => l.trim() == r.trim(),
        (Value::Object(_), Value::String(r)) => code(left).is_some_and(|l| l.trim() == r.trim()),
        _ => left == right,
    }
}

fn includes(left: &Value, right: &Value) -> bool {
    match left {
        Value::Array(items) => items.iter().any(|item| equal(item, right)),
        other => equal(other, right),
    }
}

/// The département code of a commune/EPCI/address (`code_departement`, `departement` as a
/// string or `{code}`), of a département (`value`/`code`), or a plain string.
fn departement_code(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(o) => {
            let field = |key: &str| match o.get(key)? {
                Value::String(s) => Some(s.as_str()),
                Value::Object(inner) => inner.get("code")?.as_str(),
                _ => None,
            };
            field("code_departement")
                .or_else(|| field("departement"))
                .or_else(|| code(value))
        }
        _ => None,
    }
}

/// The région code (`code_region`, `region` as a string or `{code}`), or a plain string.
fn region_code(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(o) => {
            let field = |key: &str| match o.get(key)? {
                Value::String(s) => Some(s.as_str()),
                Value::Object(inner) => inner.get("code")?.as_str(),
                _ => None,
            };
            field("code_region").or_else(|| field("region"))
        }
        _ => None,
    }
}

// ------------------------------------------------------------------ visibility

/// What visibility needs to know of a champ: its id and its condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormChamp {
    pub stable_id: i64,
    #[serde(default)]
    pub condition: Option<Condition>,
}

/// Visibility of each champ of a form, in form order: a champ without a condition is
/// visible; a champ with one is visible when it holds, reading hidden champs as empty.
pub fn visible_champs<'a, I, F>(champs: I, values: F) -> Vec<(i64, bool)>
where
    I: IntoIterator<Item = (i64, Option<&'a Condition>)>,
    F: Fn(i64) -> Option<&'a Value>,
{
    let mut visibility: HashMap<i64, bool> = HashMap::new();
    let mut out = Vec::new();
    for (stable_id, condition) in champs {
        let visible = match condition {
            None => true,
            Some(condition) => {
                let seen = |id: i64| {
                    if visibility.get(&id) == Some(&false) {
                        None
                    } else {
                        values(id)
                    }
                };
                evaluate(condition, &seen)
            }
        };
        visibility.insert(stable_id, visible);
        out.push((stable_id, visible));
    }
    out
}

// ------------------------------------------------------------------ checks (builder)

/// What a condition may do with a champ, by type (DS `Logic::ChampValue` types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// checkbox, yes_no.
    Boolean,
    /// integer_number, decimal_number.
    Number,
    /// drop_down_list: one option.
    Enum,
    /// multiple_drop_down_list: several options.
    Enums,
    /// departements.
    Departement,
    /// communes, epci, address: located in a département and a région.
    Commune,
    /// regions, pays: a code.
    Region,
    /// Not usable in a condition.
    Other,
}

impl Kind {
    /// The operators the editor offers for this kind (FEATURES §4.6).
    pub const fn operators(self) -> &'static [Op] {
        match self {
            Kind::Boolean => &[Op::Eq],
            Kind::Number => &[
                Op::Eq,
                Op::NotEq,
                Op::LessThan,
                Op::LessThanEq,
                Op::GreaterThan,
                Op::GreaterThanEq,
            ],
            Kind::Enum | Kind::Region => &[Op::Eq, Op::NotEq],
            Kind::Enums => &[Op::Includes, Op::Excludes],
            Kind::Departement => &[Op::Eq, Op::NotEq, Op::InRegion, Op::NotInRegion],
            Kind::Commune => &[
                Op::InDepartement,
                Op::NotInDepartement,
                Op::InRegion,
                Op::NotInRegion,
            ],
            Kind::Other => &[],
        }
    }

    pub const fn is_conditionable(self) -> bool {
        !matches!(self, Kind::Other)
    }
}

/// What the checks need to know of a champ of the form.
#[derive(Debug, Clone, PartialEq)]
pub struct ChampInfo {
    pub stable_id: i64,
    pub libelle: String,
    pub kind: Kind,
    /// The options of a choice (empty otherwise).
    pub options: Vec<String>,
}

pub const EARLIER_ONLY: &str = "La condition ne peut porter que sur un champ placé avant celui-ci.";
pub const UNKNOWN_CHAMP: &str =
    "La condition porte sur un champ qui n’existe pas dans le formulaire.";
pub const RULE_SHAPE: &str = "Une règle compare la valeur d’un champ à une valeur fixe.";

/// Checks the condition of the champ at `position` in `champs` (form order): it may only
/// read champs placed before it (so there is no cycle), of a type usable in a condition,
/// with an operator and a value that fit that type. Errors are French messages.
pub fn check(condition: &Condition, position: usize, champs: &[ChampInfo]) -> Result<(), String> {
    match condition {
        Condition::And(ops) | Condition::Or(ops) => {
            ops.iter().try_for_each(|c| check(c, position, champs))
        }
        Condition::Constant(_) => Ok(()),
        Condition::Compare { op, left, right } => {
            let Operand::ChampValue { stable_id } = left else {
                return Err(RULE_SHAPE.to_owned());
            };
            let index = champs
                .iter()
                .position(|c| c.stable_id == *stable_id)
                .ok_or_else(|| UNKNOWN_CHAMP.to_owned())?;
            if index >= position {
                return Err(EARLIER_ONLY.to_owned());
            }
            let champ = &champs[index];
            if !champ.kind.is_conditionable() {
                return Err(format!(
                    "Le champ « {} » ne peut pas être utilisé dans une condition.",
                    champ.libelle
                ));
            }
            if *op == Op::EmptyOperator {
                return Ok(());
            }
            if !champ.kind.operators().contains(op) {
                return Err(format!(
                    "L’opérateur « {} » ne s’applique pas au champ « {} ».",
                    op.libelle(),
                    champ.libelle
                ));
            }
            let Operand::Constant { value } = right else {
                return Err(RULE_SHAPE.to_owned());
            };
            check_constant(champ, *op, value)
        }
    }
}

fn check_constant(champ: &ChampInfo, op: Op, value: &Value) -> Result<(), String> {
    let libelle = &champ.libelle;
    let ok = match (champ.kind, op) {
        (Kind::Boolean, _) => value.is_boolean(),
        (Kind::Number, _) => value.is_number(),
        (Kind::Enum | Kind::Enums, _) => value
            .as_str()
            .is_some_and(|s| champ.options.is_empty() || champ.options.iter().any(|o| o == s)),
        _ => value.as_str().is_some_and(|s| !s.trim().is_empty()),
    };
    if ok {
        return Ok(());
    }
    Err(match champ.kind {
        Kind::Boolean => format!("Pour le champ « {libelle} », la valeur doit être Oui ou Non."),
        Kind::Number => format!("Pour le champ « {libelle} », la valeur doit être un nombre."),
        Kind::Enum | Kind::Enums => {
            format!("Pour le champ « {libelle} », choisissez une valeur de la liste.")
        }
        _ => format!("Pour le champ « {libelle} », saisissez un code."),
    })
}

#[cfg(test)]
mod tests;
