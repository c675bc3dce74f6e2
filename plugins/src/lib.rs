//! Host for sandboxed WASM connectors (filled by the connectors issue).
