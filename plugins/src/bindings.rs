//! Host bindings of `wit/connector.wit` (package `demarches:connector@1.0.0`),
//! one `bindgen!` per world, async imports and exports. Only `address-provider`
//! is wired today; siret, identity and feedback worlds come with their connectors.

pub mod address {
    wasmtime::component::bindgen!({
        world: "address-provider",
        path: "wit",
        imports: { default: async },
        exports: { default: async },
    });
}
