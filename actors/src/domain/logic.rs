//! Conditions on champs (FEATURES §4.5–4.6): the language lives in the `demarches-logic`
//! crate (pure, also compiled to WebAssembly for the browser); this module ties it to the
//! champ types.

pub use demarches_logic::*;

use super::champ::TypeChamp;

/// What a condition may do with a champ of this type. Matched on the DS type names so that
/// types added later (yes_no, decimal_number, communes…) are usable as soon as they exist.
pub fn kind_of(type_champ: TypeChamp) -> Kind {
    match type_champ.as_str() {
        "checkbox" | "yes_no" => Kind::Boolean,
        "integer_number" | "decimal_number" => Kind::Number,
        "drop_down_list" => Kind::Enum,
        "multiple_drop_down_list" => Kind::Enums,
        "departements" => Kind::Departement,
        "communes" | "epci" | "address" => Kind::Commune,
        "regions" | "pays" => Kind::Region,
        _ => Kind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_the_basic_types() {
        assert_eq!(kind_of(TypeChamp::Checkbox), Kind::Boolean);
        assert_eq!(kind_of(TypeChamp::IntegerNumber), Kind::Number);
        assert_eq!(kind_of(TypeChamp::DropDownList), Kind::Enum);
        for t in [TypeChamp::Text, TypeChamp::Date, TypeChamp::HeaderSection] {
            assert_eq!(kind_of(t), Kind::Other);
        }
    }
}
