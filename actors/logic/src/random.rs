//! Random conditions and values for property tests (a tiny xorshift generator, no crates).
//! Used by this crate's tests and by the WebAssembly equivalence test.

use serde_json::{Value, json};

use crate::{Condition, Op, Operand};

/// xorshift64*: deterministic, good enough for tests.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Stable ids used by the generators: 1..=IDS.
pub const IDS: i64 = 6;

/// A random value of any shape the language meets.
pub fn value(rng: &mut XorShift) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 | 3 => json!(rng.below(7) as i64 - 3),
        4 => json!((rng.below(9) as f64 - 4.0) / 2.0),
        5 => json!(rng.pick(&["", "A", "B", "C", "2", "01", "75"])),
        6 => json!(
            (0..rng.below(3))
                .map(|_| *rng.pick(&["A", "B", "C"]))
                .collect::<Vec<_>>()
        ),
        7 => {
            json!({"code": rng.pick(&["75056", "13055"]), "departement": rng.pick(&["75", "13", "01"]), "code_region": rng.pick(&["11", "93"])})
        }
        8 => {
            json!({"code_departement": rng.pick(&["75", "13"]), "code_region": rng.pick(&["11", "93"])})
        }
        9 => {
            json!({"value": rng.pick(&["75", "13", "01"]), "code_region": rng.pick(&["11", "84"])})
        }
        10 => json!({"departement": {"code": rng.pick(&["75", "01"])}}),
        _ => json!(rng.pick(&["11", "84", "93"])),
    }
}

fn operand(rng: &mut XorShift) -> Operand {
    match rng.below(8) {
        0 => Operand::Empty,
        1 | 2 => Operand::Constant { value: value(rng) },
        _ => Operand::ChampValue {
            stable_id: 1 + rng.below(IDS as usize) as i64,
        },
    }
}

/// A random condition of at most `depth` levels of and/or.
pub fn condition(rng: &mut XorShift, depth: u32) -> Condition {
    let choice = if depth == 0 {
        2 + rng.below(8)
    } else {
        rng.below(10)
    };
    match choice {
        0 => Condition::And(
            (0..rng.below(4))
                .map(|_| condition(rng, depth - 1))
                .collect(),
        ),
        1 => Condition::Or(
            (0..rng.below(4))
                .map(|_| condition(rng, depth - 1))
                .collect(),
        ),
        2 => Condition::Constant(rng.below(2) == 0),
        _ => Condition::Compare {
            op: *rng.pick(&Op::ALL),
            left: operand(rng),
            right: operand(rng),
        },
    }
}

/// Random values for the ids 1..=IDS (some missing).
pub fn values(rng: &mut XorShift) -> Vec<(i64, Value)> {
    let mut out = Vec::new();
    for id in 1..=IDS {
        if rng.below(5) != 0 {
            out.push((id, value(rng)));
        }
    }
    out
}
