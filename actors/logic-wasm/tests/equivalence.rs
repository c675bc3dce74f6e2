//! The browser evaluator is the server's: the built `logic.wasm`, run in wasmi (a pure Rust
//! interpreter), gives the same answers as `demarches_logic` on 2,000 random conditions and
//! values, and the same visibility on 500 random forms.
//!
//! The module is read from `DEMARCHES_LOGIC_WASM`, or `var/wasm/logic.wasm` at the workspace
//! root (`.ci/test` builds it there). Without it the test is skipped, except under CI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;

use demarches_logic::random::{self, XorShift};
use demarches_logic::{Condition, evaluate, visible_champs};
use serde_json::{Value, json};
use wasmi::{Engine, Instance, Linker, Memory, Module, Store, TypedFunc};

fn wasm_path() -> PathBuf {
    std::env::var_os("DEMARCHES_LOGIC_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../var/wasm/logic.wasm")
        })
}

struct Wasm {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    dealloc: TypedFunc<(i32, i32), ()>,
    evaluate: TypedFunc<(i32, i32), i32>,
    visible: TypedFunc<(i32, i32), i32>,
}

impl Wasm {
    fn load(bytes: &[u8]) -> Wasm {
        let engine = Engine::default();
        let module = Module::new(&engine, bytes).expect("a valid module");
        let mut store = Store::new(&engine, ());
        let linker = Linker::<()>::new(&engine);
        let instance: Instance = linker
            .instantiate_and_start(&mut store, &module)
            .expect("no imports");
        let memory = instance.get_memory(&store, "memory").expect("memory");
        let alloc = instance.get_typed_func(&store, "alloc").expect("alloc");
        let dealloc = instance.get_typed_func(&store, "dealloc").expect("dealloc");
        let evaluate = instance
            .get_typed_func(&store, "evaluate")
            .expect("evaluate");
        let visible = instance.get_typed_func(&store, "visible").expect("visible");
        Wasm {
            store,
            memory,
            alloc,
            dealloc,
            evaluate,
            visible,
        }
    }

    fn input(&mut self, json: &Value) -> (i32, i32) {
        let bytes = serde_json::to_vec(json).unwrap();
        let len = i32::try_from(bytes.len()).unwrap();
        let ptr = self.alloc.call(&mut self.store, len).unwrap();
        self.memory
            .write(&mut self.store, ptr as usize, &bytes)
            .unwrap();
        (ptr, len)
    }

    fn evaluate(&mut self, condition: &Condition, values: &HashMap<i64, Value>) -> i32 {
        let input = self.input(&json!({"condition": condition, "values": values}));
        self.evaluate.call(&mut self.store, input).unwrap()
    }

    fn visible(&mut self, form: &Value) -> Value {
        let input = self.input(form);
        let ptr = self.visible.call(&mut self.store, input).unwrap();
        assert_ne!(ptr, 0, "input not understood: {form}");
        let mut n = [0u8; 4];
        self.memory.read(&self.store, ptr as usize, &mut n).unwrap();
        let n = u32::from_le_bytes(n) as usize;
        let mut out = vec![0u8; n];
        self.memory
            .read(&self.store, ptr as usize + 4, &mut out)
            .unwrap();
        self.dealloc
            .call(&mut self.store, (ptr, i32::try_from(4 + n).unwrap()))
            .unwrap();
        serde_json::from_slice(&out).unwrap()
    }
}

#[test]
fn the_wasm_evaluator_agrees_with_the_native_one() {
    // The interpreter, unoptimized in test builds, needs a deep stack.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(agree)
        .unwrap()
        .join()
        .unwrap();
}

fn agree() {
    let path = wasm_path();
    let Ok(bytes) = std::fs::read(&path) else {
        if std::env::var_os("CI").is_some() {
            panic!("{} is missing: .ci/test builds it", path.display());
        }
        eprintln!("skipped: {} is missing (see .ci/test)", path.display());
        return;
    };
    let mut wasm = Wasm::load(&bytes);
    let mut rng = XorShift::new(0xD5_2024);
    let mut held = 0;
    for _ in 0..2_000 {
        let condition = random::condition(&mut rng, 3);
        let values: HashMap<i64, Value> = random::values(&mut rng).into_iter().collect();
        let native = evaluate(&condition, &|id| values.get(&id));
        assert_eq!(
            wasm.evaluate(&condition, &values),
            i32::from(native),
            "{}",
            json!({"condition": condition, "values": values})
        );
        held += usize::from(native);
    }
    // Both outcomes were exercised.
    assert!((200..1_800).contains(&held), "{held}");
    assert_eq!(
        wasm.evaluate(&Condition::Constant(true), &HashMap::new()),
        1
    );
    let bad = wasm.input(&json!({"condition": {"term": "nope"}}));
    assert_eq!(wasm.evaluate.call(&mut wasm.store, bad).unwrap(), -1);

    for _ in 0..500 {
        let conditions: Vec<Option<Condition>> = (1..=random::IDS)
            .map(|_| (rng.below(2) == 0).then(|| random::condition(&mut rng, 2)))
            .collect();
        let values: HashMap<i64, Value> = random::values(&mut rng).into_iter().collect();
        let native = visible_champs(
            conditions
                .iter()
                .enumerate()
                .map(|(i, c)| (i as i64 + 1, c.as_ref())),
            |id| values.get(&id),
        );
        let champs: Vec<Value> = conditions
            .iter()
            .enumerate()
            .map(|(i, c)| json!({"stable_id": i + 1, "condition": c}))
            .collect();
        let out = wasm.visible(&json!({"champs": champs, "values": values}));
        let expected: serde_json::Map<String, Value> = native
            .into_iter()
            .map(|(id, v)| (id.to_string(), Value::Bool(v)))
            .collect();
        assert_eq!(out, Value::Object(expected));
    }
}
