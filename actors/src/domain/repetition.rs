//! Blocs répétables (FEATURES §4.4): the rows of a block, their form field names and the
//! row actions of the dossier form. The block's own value is the JSON list of its row ids,
//! in order; each child's value of a row is stored with that row id.

use serde_json::Value;
use uuid::Uuid;

/// The row ids of a block, in order, from the block's stored value.
pub fn row_ids(value: Option<&Value>) -> Vec<Uuid> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The block's stored value for these rows.
pub fn rows_value(rows: &[Uuid]) -> Value {
    Value::Array(rows.iter().map(|r| Value::String(r.to_string())).collect())
}

/// Form field of a child in a row: `champ_<child>_<row>`.
pub fn field(child: i64, row: Uuid) -> String {
    format!("champ_{child}_{row}")
}

/// Reads `<child>_<row>` (the part after `champ_`, without a control suffix).
pub fn parse_field(rest: &str) -> Option<(i64, Uuid)> {
    let (child, row) = rest.split_once('_')?;
    Some((child.parse().ok()?, row.parse().ok()?))
}

/// "Élément n° 2 – <message>": a child's message names its row (numbered from 1).
pub fn row_message(number: usize, message: &str) -> String {
    format!("Élément n° {number} – {message}")
}

/// A row action of the dossier form (`action` = `add_row:<block>` or
/// `remove_row:<block>:<row>`), applied after the typed values are saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction {
    /// Add a row with this (new, random) id at the end of the block.
    Add {
        block: i64,
        row: Uuid,
    },
    Remove {
        block: i64,
        row: Uuid,
    },
}

impl RowAction {
    /// Parses the `action` of the form; `new_row` is the id given to an added row.
    pub fn parse(action: &str, new_row: Uuid) -> Option<Self> {
        if let Some(block) = action.strip_prefix("add_row:") {
            return Some(RowAction::Add {
                block: block.parse().ok()?,
                row: new_row,
            });
        }
        let (block, row) = action.strip_prefix("remove_row:")?.split_once(':')?;
        Some(RowAction::Remove {
            block: block.parse().ok()?,
            row: row.parse().ok()?,
        })
    }

    pub fn block(self) -> i64 {
        match self {
            RowAction::Add { block, .. } | RowAction::Remove { block, .. } => block,
        }
    }

    /// The rows of the block after the action (an unknown row is left alone).
    pub fn apply(self, rows: &[Uuid]) -> Vec<Uuid> {
        match self {
            RowAction::Add { row, .. } if !rows.contains(&row) => {
                rows.iter().copied().chain([row]).collect()
            }
            RowAction::Add { .. } => rows.to_vec(),
            RowAction::Remove { row, .. } => rows.iter().copied().filter(|r| *r != row).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_in_order() {
        let rows = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        let value = rows_value(&rows);
        assert_eq!(row_ids(Some(&value)), rows);
        assert!(row_ids(None).is_empty());
        assert!(row_ids(Some(&Value::String("x".into()))).is_empty());
    }

    #[test]
    fn fields_and_actions_parse() {
        let row = Uuid::new_v4();
        let name = field(12, row);
        assert_eq!(
            parse_field(name.strip_prefix("champ_").unwrap()),
            Some((12, row))
        );
        assert_eq!(parse_field("12"), None);
        assert_eq!(parse_field("12_secondary"), None);
        let new = Uuid::new_v4();
        assert_eq!(
            RowAction::parse("add_row:7", new),
            Some(RowAction::Add { block: 7, row: new })
        );
        assert_eq!(
            RowAction::parse(&format!("remove_row:7:{row}"), new),
            Some(RowAction::Remove { block: 7, row })
        );
        assert_eq!(RowAction::parse("submit", new), None);
        assert_eq!(RowAction::parse("remove_row:7:nope", new), None);
    }

    #[test]
    fn actions_apply_in_order() {
        let [a, b, c] = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        let rows = RowAction::Add { block: 1, row: c }.apply(&[a, b]);
        assert_eq!(rows, [a, b, c]);
        assert_eq!(RowAction::Add { block: 1, row: c }.apply(&rows), rows);
        assert_eq!(RowAction::Remove { block: 1, row: b }.apply(&rows), [a, c]);
        assert_eq!(
            RowAction::Remove {
                block: 1,
                row: Uuid::nil()
            }
            .apply(&rows),
            rows
        );
    }
}
