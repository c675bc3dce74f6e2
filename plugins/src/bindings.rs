//! Host bindings of `wit/connector.wit` (package `demarches:connector@1.0.0`),
//! one `bindgen!` per world, async imports and exports. Wired today:
//! `address-provider` and `siret-provider`; identity and feedback come with
//! their connectors. Every world shares the `types` and `host` interfaces of
//! the address bindings (`with`), so one linker and one host implementation
//! serve them all.

pub mod address {
    wasmtime::component::bindgen!({
        world: "address-provider",
        path: "wit",
        imports: { default: async },
        exports: { default: async },
    });
}

pub mod siret {
    wasmtime::component::bindgen!({
        world: "siret-provider",
        path: "wit",
        imports: { default: async },
        exports: { default: async },
        with: {
            "demarches:connector/types": crate::bindings::address::demarches::connector::types,
            "demarches:connector/host": crate::bindings::address::demarches::connector::host,
        },
    });
}
