#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use serde_json::{Value, json};

use super::random::{self, XorShift};
use super::*;

fn eval(condition: &Condition, values: &HashMap<i64, Value>) -> bool {
    evaluate(condition, &|id| values.get(&id))
}

fn vals(pairs: &[(i64, Value)]) -> HashMap<i64, Value> {
    pairs.iter().cloned().collect()
}

fn parse(text: &str) -> Condition {
    serde_json::from_str(text).unwrap()
}

#[test]
fn json_shape_round_trips() {
    let text = r#"{"term":"or","operands":[
        {"term":"eq","left":{"term":"champ_value","stable_id":12},"right":{"term":"constant","value":"Association"}},
        {"term":"greater_than","left":{"term":"champ_value","stable_id":13},"right":{"term":"constant","value":10}},
        {"term":"constant","value":false}]}"#;
    let c = parse(text);
    assert_eq!(
        c,
        Condition::Or(vec![
            Condition::rule(Op::Eq, 12, json!("Association")),
            Condition::rule(Op::GreaterThan, 13, json!(10)),
            Condition::Constant(false),
        ])
    );
    let back = serde_json::to_value(&c).unwrap();
    assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
    assert_eq!(c.champ_ids(), vec![12, 13]);
    // An incomplete rule reads as empty operands.
    assert_eq!(
        parse(r#"{"term":"empty_operator"}"#),
        Condition::Compare {
            op: Op::EmptyOperator,
            left: Operand::Empty,
            right: Operand::Empty
        }
    );
    assert!(serde_json::from_str::<Condition>(r#"{"term":"xor"}"#).is_err());
    assert!(serde_json::from_str::<Condition>(r#"{"term":"constant","value":1}"#).is_err());
}

#[test]
fn comparisons() {
    let v = vals(&[
        (1, json!(true)),
        (2, json!(12)),
        (3, json!("Association")),
        (4, json!(["A", "C"])),
        (5, json!("")),
        (6, json!("12")),
    ]);
    let r = |op, id, value: Value| eval(&Condition::rule(op, id, value), &v);
    assert!(r(Op::Eq, 1, json!(true)));
    assert!(!r(Op::Eq, 1, json!(false)));
    assert!(r(Op::Eq, 2, json!(12)));
    assert!(r(Op::Eq, 2, json!(12.0)));
    assert!(r(Op::Eq, 6, json!(12)), "a number typed as a string");
    assert!(r(Op::Eq, 3, json!("Association")));
    assert!(!r(Op::Eq, 3, json!("association")));
    assert!(r(Op::NotEq, 3, json!("Particulier")));
    assert!(r(Op::LessThan, 2, json!(13)));
    assert!(!r(Op::LessThan, 2, json!(12)));
    assert!(r(Op::LessThanEq, 2, json!(12)));
    assert!(r(Op::GreaterThan, 2, json!(11.5)));
    assert!(r(Op::GreaterThanEq, 2, json!(12)));
    assert!(!r(Op::GreaterThan, 3, json!(1)), "not a number: false");
    assert!(r(Op::Includes, 4, json!("C")));
    assert!(!r(Op::Includes, 4, json!("B")));
    assert!(r(Op::Excludes, 4, json!("B")));
    assert!(r(Op::EmptyOperator, 99, json!(null)));
    // Blank and missing values.
    for id in [5, 99] {
        assert!(!r(Op::Eq, id, json!("")));
        assert!(r(Op::NotEq, id, json!("x")));
        assert!(!r(Op::GreaterThan, id, json!(0)));
        assert!(!r(Op::LessThan, id, json!(0)));
        assert!(!r(Op::Includes, id, json!("A")));
    }
}

#[test]
fn departements_and_regions_are_read_from_several_shapes() {
    let v = vals(&[
        (
            1,
            json!({"code": "75056", "departement": "75", "code_region": "11"}),
        ),
        (2, json!({"code_departement": "13", "code_region": "93"})),
        (3, json!({"value": "01", "code_region": "84"})),
        (4, json!("75")),
        (
            5,
            json!({"departement": {"code": "2A", "nom": "Corse-du-Sud"}, "region": {"code": "94"}}),
        ),
        (6, json!(42)),
        (7, json!(["75"])),
    ]);
    let r = |op, id, value: &str| eval(&Condition::rule(op, id, json!(value)), &v);
    assert!(r(Op::InDepartement, 1, "75"));
    assert!(!r(Op::InDepartement, 1, "13"));
    assert!(r(Op::NotInDepartement, 1, "13"));
    assert!(r(Op::InDepartement, 2, "13"));
    assert!(r(Op::InDepartement, 3, "01"));
    assert!(r(Op::InDepartement, 4, "75"));
    assert!(r(Op::InDepartement, 5, "2A"));
    assert!(r(Op::InRegion, 1, "11"));
    assert!(r(Op::InRegion, 2, "93"));
    assert!(r(Op::NotInRegion, 3, "11"));
    assert!(r(Op::InRegion, 5, "94"));
    assert!(r(Op::Eq, 3, "01"), "a département equals its code");
    // Unexpected shapes and blanks: false both ways.
    for id in [6, 7, 99] {
        for op in [
            Op::InDepartement,
            Op::NotInDepartement,
            Op::InRegion,
            Op::NotInRegion,
        ] {
            assert!(!r(op, id, "75"), "{op:?} {id}");
        }
    }
}

#[test]
fn and_or_and_constants() {
    let v = vals(&[(1, json!(5))]);
    let t = Condition::Constant(true);
    let f = Condition::Constant(false);
    assert!(eval(&Condition::And(vec![]), &v));
    assert!(!eval(&Condition::Or(vec![]), &v));
    assert!(eval(
        &Condition::And(vec![t.clone(), Condition::rule(Op::Eq, 1, json!(5))]),
        &v
    ));
    assert!(!eval(&Condition::And(vec![t.clone(), f.clone()]), &v));
    assert!(eval(&Condition::Or(vec![f, t]), &v));
}

#[test]
fn visibility_follows_the_form_order_and_hidden_champs_read_empty() {
    // 1: choice; 2 shown when 1 = "Oui"; 3 shown when 2 is not "x" (not_eq is true on empty);
    // 4 shown when 2 = "x".
    let c2 = Condition::rule(Op::Eq, 1, json!("Oui"));
    let c3 = Condition::rule(Op::NotEq, 2, json!("x"));
    let c4 = Condition::rule(Op::Eq, 2, json!("x"));
    let form = [(1, None), (2, Some(&c2)), (3, Some(&c3)), (4, Some(&c4))];
    let v = vals(&[(1, json!("Non")), (2, json!("x"))]);
    assert_eq!(
        visible_champs(form, |id| v.get(&id)),
        vec![(1, true), (2, false), (3, true), (4, false)]
    );
    let v = vals(&[(1, json!("Oui")), (2, json!("x"))]);
    assert_eq!(
        visible_champs(form, |id| v.get(&id)),
        vec![(1, true), (2, true), (3, false), (4, true)]
    );
}

fn info(stable_id: i64, libelle: &str, kind: Kind, options: &[&str]) -> ChampInfo {
    ChampInfo {
        stable_id,
        libelle: libelle.to_owned(),
        kind,
        options: options.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn checks_for_the_builder() {
    let form = [
        info(1, "Statut", Kind::Enum, &["Association", "Entreprise"]),
        info(2, "Montant", Kind::Number, &[]),
        info(3, "Accord", Kind::Boolean, &[]),
        info(4, "Nom", Kind::Other, &[]),
        info(5, "Commune", Kind::Commune, &[]),
        info(6, "Conditionnel", Kind::Other, &[]),
    ];
    let ok = Condition::And(vec![
        Condition::rule(Op::Eq, 1, json!("Association")),
        Condition::rule(Op::GreaterThan, 2, json!(100)),
        Condition::rule(Op::Eq, 3, json!(true)),
        Condition::rule(Op::InDepartement, 5, json!("75")),
    ]);
    assert_eq!(check(&ok, 5, &form), Ok(()));
    // Only earlier champs: so no cycle, not even on itself.
    assert_eq!(check(&ok, 3, &form), Err(EARLIER_ONLY.to_owned()));
    let own = Condition::rule(Op::Eq, 3, json!(true));
    assert_eq!(check(&own, 2, &form), Err(EARLIER_ONLY.to_owned()));
    assert_eq!(
        check(&Condition::rule(Op::Eq, 77, json!(1)), 5, &form),
        Err(UNKNOWN_CHAMP.to_owned())
    );
    assert_eq!(
        check(&Condition::rule(Op::Eq, 4, json!("x")), 5, &form),
        Err("Le champ « Nom » ne peut pas être utilisé dans une condition.".to_owned())
    );
    assert_eq!(
        check(&Condition::rule(Op::LessThan, 1, json!("x")), 5, &form),
        Err("L’opérateur « est inférieur à » ne s’applique pas au champ « Statut ».".to_owned())
    );
    assert_eq!(
        check(&Condition::rule(Op::Eq, 1, json!("Particulier")), 5, &form),
        Err("Pour le champ « Statut », choisissez une valeur de la liste.".to_owned())
    );
    assert_eq!(
        check(&Condition::rule(Op::Eq, 2, json!("cent")), 5, &form),
        Err("Pour le champ « Montant », la valeur doit être un nombre.".to_owned())
    );
    assert_eq!(
        check(&Condition::rule(Op::Eq, 3, json!("oui")), 5, &form),
        Err("Pour le champ « Accord », la valeur doit être Oui ou Non.".to_owned())
    );
    assert_eq!(
        check(&Condition::rule(Op::InDepartement, 5, json!(" ")), 5, &form),
        Err("Pour le champ « Commune », saisissez un code.".to_owned())
    );
    let constant_left = Condition::Compare {
        op: Op::Eq,
        left: Operand::Constant { value: json!(1) },
        right: Operand::ChampValue { stable_id: 2 },
    };
    assert_eq!(check(&constant_left, 5, &form), Err(RULE_SHAPE.to_owned()));
    for kind in [
        Kind::Boolean,
        Kind::Number,
        Kind::Enum,
        Kind::Enums,
        Kind::Departement,
        Kind::Commune,
        Kind::Region,
    ] {
        assert!(kind.is_conditionable() && !kind.operators().is_empty());
    }
}

/// Algebraic properties on random conditions and values (xorshift, 5,000 cases).
#[test]
fn randomized_algebraic_properties() {
    let mut rng = XorShift::new(0x5EED_CAFE);
    let t = Condition::Constant(true);
    let f = Condition::Constant(false);
    for _ in 0..5_000 {
        let a = random::condition(&mut rng, 3);
        let b = random::condition(&mut rng, 2);
        let v: HashMap<i64, Value> = random::values(&mut rng).into_iter().collect();
        let (ea, eb) = (eval(&a, &v), eval(&b, &v));
        let and = |x: &Condition, y: &Condition| Condition::And(vec![x.clone(), y.clone()]);
        let or = |x: &Condition, y: &Condition| Condition::Or(vec![x.clone(), y.clone()]);
        // Identities and absorbing elements.
        assert_eq!(eval(&and(&a, &t), &v), ea);
        assert!(!eval(&and(&a, &f), &v));
        assert_eq!(eval(&or(&a, &f), &v), ea);
        assert!(eval(&or(&a, &t), &v));
        // Commutativity, idempotence, the single operand.
        assert_eq!(eval(&and(&a, &b), &v), eval(&and(&b, &a), &v));
        assert_eq!(eval(&or(&a, &b), &v), eval(&or(&b, &a), &v));
        assert_eq!(eval(&and(&a, &a), &v), ea);
        assert_eq!(eval(&Condition::Or(vec![a.clone()]), &v), ea);
        assert_eq!(eval(&and(&a, &b), &v), ea && eb);
        assert_eq!(eval(&or(&a, &b), &v), ea || eb);
        // Serialization does not change the meaning.
        let back: Condition = serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        // De Morgan on the negated operators: not (x = c and y = d) <=> x != c or y != d.
        let id1 = 1 + rng.below(random::IDS as usize) as i64;
        let id2 = 1 + rng.below(random::IDS as usize) as i64;
        let (c1, c2) = (random::value(&mut rng), random::value(&mut rng));
        for (pos, neg) in [(Op::Eq, Op::NotEq), (Op::Includes, Op::Excludes)] {
            let p1 = Condition::rule(pos, id1, c1.clone());
            let p2 = Condition::rule(pos, id2, c2.clone());
            let n1 = Condition::rule(neg, id1, c1.clone());
            let n2 = Condition::rule(neg, id2, c2.clone());
            assert_eq!(eval(&n1, &v), !eval(&p1, &v));
            assert_eq!(!eval(&and(&p1, &p2), &v), eval(&or(&n1, &n2), &v));
            assert_eq!(!eval(&or(&p1, &p2), &v), eval(&and(&n1, &n2), &v));
        }
        // Orderings: a number is < c, = c or > c, exactly one of them.
        let r = |op| eval(&Condition::rule(op, id1, c1.clone()), &v);
        let (lt, eq, gt) = (r(Op::LessThan), r(Op::Eq), r(Op::GreaterThan));
        if lt || gt {
            assert!(!eq);
            assert!(!(lt && gt));
        }
        assert_eq!(r(Op::LessThanEq), lt || (eq && (r(Op::GreaterThanEq))));
        // in / not in are exclusive.
        assert!(!(r(Op::InDepartement) && r(Op::NotInDepartement)));
        assert!(!(r(Op::InRegion) && r(Op::NotInRegion)));
    }
}

#[test]
fn randomized_visibility_never_reads_hidden_champs() {
    let mut rng = XorShift::new(42);
    for _ in 0..2_000 {
        let conditions: Vec<Option<Condition>> = (1..=random::IDS)
            .map(|_| (rng.below(2) == 0).then(|| random::condition(&mut rng, 2)))
            .collect();
        let v: HashMap<i64, Value> = random::values(&mut rng).into_iter().collect();
        let form: Vec<(i64, Option<&Condition>)> = conditions
            .iter()
            .enumerate()
            .map(|(i, c)| (i as i64 + 1, c.as_ref()))
            .collect();
        let vis = visible_champs(form.iter().copied(), |id| v.get(&id));
        // Same as evaluating each condition with the hidden values removed.
        let hidden: Vec<i64> = vis.iter().filter(|(_, s)| !s).map(|(id, _)| *id).collect();
        let mut visible_values = v.clone();
        for (id, c) in &form {
            if let Some(c) = c {
                let before: HashMap<i64, Value> = visible_values
                    .iter()
                    .filter(|(k, _)| **k < *id)
                    .map(|(k, x)| (*k, x.clone()))
                    .collect();
                let seen = |x: i64| if x < *id { before.get(&x) } else { v.get(&x) };
                assert_eq!(evaluate(c, &seen), vis[(*id - 1) as usize].1, "{id}");
            }
            if hidden.contains(id) {
                visible_values.remove(id);
            }
        }
    }
}
