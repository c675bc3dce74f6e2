//! The condition evaluator of `demarches-logic`, exported for the browser with a plain C ABI
//! (no wasm-bindgen). Built by `cargo build --release --target wasm32-unknown-unknown -p
//! demarches-logic-wasm`; served at `/static/logic.wasm`; loaded by `static/app.js`.
//!
//! Protocol: the host calls `alloc(len)`, writes UTF-8 JSON there, calls a function with
//! `(ptr, len)`; the input buffer is freed by the callee.
//!
//! - `evaluate(ptr, len) -> i32` with `{"condition": …, "values": {"<stable id>": value}}`:
//!   1 when the condition holds, 0 when it does not, -1 when the input is not understood.
//! - `visible(ptr, len) -> ptr` with `{"champs": [{"stable_id", "condition"}…],
//!   "values": {…}}` in form order: returns a buffer holding a little-endian u32 length then
//!   the JSON `{"<stable id>": true|false, …}`; the host frees it with
//!   `dealloc(ptr, 4 + length)`. A null pointer means the input was not understood.

use std::collections::HashMap;

use demarches_logic::{Condition, FormChamp};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct EvaluateInput {
    condition: Condition,
    #[serde(default)]
    values: HashMap<i64, Value>,
}

#[derive(Deserialize)]
struct VisibleInput {
    champs: Vec<FormChamp>,
    #[serde(default)]
    values: HashMap<i64, Value>,
}

/// Evaluates a condition given as JSON (see the crate documentation): `Some(bool)`, or
/// `None` when the input is not understood.
pub fn evaluate_json(input: &[u8]) -> Option<bool> {
    let input: EvaluateInput = serde_json::from_slice(input).ok()?;
    Some(demarches_logic::evaluate(&input.condition, &|id| {
        input.values.get(&id)
    }))
}

/// Visibility of a whole form given as JSON, as a JSON object by stable id.
pub fn visible_json(input: &[u8]) -> Option<Vec<u8>> {
    let input: VisibleInput = serde_json::from_slice(input).ok()?;
    let visibility = demarches_logic::visible_champs(
        input
            .champs
            .iter()
            .map(|c| (c.stable_id, c.condition.as_ref())),
        |id| input.values.get(&id),
    );
    let out: serde_json::Map<String, Value> = visibility
        .into_iter()
        .map(|(id, visible)| (id.to_string(), Value::Bool(visible)))
        .collect();
    serde_json::to_vec(&out).ok()
}

fn layout(len: usize) -> Option<std::alloc::Layout> {
    std::alloc::Layout::from_size_align(len.max(1), 1).ok()
}

/// Allocates `len` bytes for the host to write into.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    match layout(len) {
        // SAFETY: the layout has a non-zero size.
        Some(layout) => unsafe { std::alloc::alloc(layout) },
        None => std::ptr::null_mut(),
    }
}

/// Frees a buffer given by `alloc` or returned by `visible`.
///
/// # Safety
/// `ptr` comes from `alloc(len)` (or is a `visible` result of `len` bytes) and is freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    if let Some(layout) = layout(len)
        && !ptr.is_null()
    {
        // SAFETY: guaranteed by the caller.
        unsafe { std::alloc::dealloc(ptr, layout) }
    }
}

/// Takes back the input buffer written by the host.
///
/// # Safety
/// `ptr` comes from `alloc(len)` and holds `len` initialized bytes.
unsafe fn take_input(ptr: *mut u8, len: usize) -> Vec<u8> {
    if ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: guaranteed by the caller.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec();
    // SAFETY: the buffer came from `alloc(len)`.
    unsafe { dealloc(ptr, len) };
    bytes
}

/// # Safety
/// `ptr` comes from `alloc(len)` and holds `len` bytes of JSON; it is freed here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evaluate(ptr: *mut u8, len: usize) -> i32 {
    // SAFETY: guaranteed by the caller.
    let input = unsafe { take_input(ptr, len) };
    match evaluate_json(&input) {
        Some(true) => 1,
        Some(false) => 0,
        None => -1,
    }
}

/// # Safety
/// `ptr` comes from `alloc(len)` and holds `len` bytes of JSON; it is freed here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn visible(ptr: *mut u8, len: usize) -> *mut u8 {
    // SAFETY: guaranteed by the caller.
    let input = unsafe { take_input(ptr, len) };
    let Some(json) = visible_json(&input) else {
        return std::ptr::null_mut();
    };
    let Ok(n) = u32::try_from(json.len()) else {
        return std::ptr::null_mut();
    };
    let out = alloc(4 + json.len());
    if out.is_null() {
        return out;
    }
    // SAFETY: `out` has room for 4 + json.len() bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(n.to_le_bytes().as_ptr(), out, 4);
        std::ptr::copy_nonoverlapping(json.as_ptr(), out.add(4), json.len());
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn json_entry_points() {
        let input =
            br#"{"condition": {"term": "eq", "left": {"term": "champ_value", "stable_id": 1},
                         "right": {"term": "constant", "value": "Oui"}}, "values": {"1": "Oui"}}"#;
        assert_eq!(evaluate_json(input), Some(true));
        assert_eq!(evaluate_json(b"{}"), None);
        let form = br#"{"champs": [{"stable_id": 1}, {"stable_id": 2, "condition":
            {"term": "eq", "left": {"term": "champ_value", "stable_id": 1},
             "right": {"term": "constant", "value": "Oui"}}}], "values": {"1": "Non"}}"#;
        let out: Value = serde_json::from_slice(&visible_json(form).unwrap()).unwrap();
        assert_eq!(out, serde_json::json!({"1": true, "2": false}));
    }

    #[test]
    fn c_abi_round_trip() {
        let input = br#"{"condition": {"term": "constant", "value": true}}"#;
        let ptr = alloc(input.len());
        // SAFETY: ptr has room for the input; evaluate frees it.
        let result = unsafe {
            std::ptr::copy_nonoverlapping(input.as_ptr(), ptr, input.len());
            evaluate(ptr, input.len())
        };
        assert_eq!(result, 1);
        let form = br#"{"champs": [{"stable_id": 7}]}"#;
        let ptr = alloc(form.len());
        // SAFETY: as above; the result is read then freed with its length.
        let out = unsafe {
            std::ptr::copy_nonoverlapping(form.as_ptr(), ptr, form.len());
            let out = visible(ptr, form.len());
            let mut n = [0u8; 4];
            std::ptr::copy_nonoverlapping(out, n.as_mut_ptr(), 4);
            let n = u32::from_le_bytes(n) as usize;
            let json = std::slice::from_raw_parts(out.add(4), n).to_vec();
            dealloc(out, 4 + n);
            json
        };
        assert_eq!(out, br#"{"7":true}"#);
    }
}
