//! Host bindings of `wit/connector.wit` (package `demarches:connector@1.0.0`),
//! one `bindgen!` per world, async imports and exports. The `types` and `host`
//! interfaces are generated once (in `address`) and shared by the other worlds
//! through `with`, so `HostState` implements the host imports once and one
//! linker serves every world.

pub mod address {
    wasmtime::component::bindgen!({
        world: "address-provider",
        path: "wit",
        imports: { default: async },
        exports: { default: async },
    });
}

pub mod identity {
    wasmtime::component::bindgen!({
        world: "identity-provider",
        path: "wit",
        imports: { default: async },
        exports: { default: async },
        with: {
            "demarches:connector/types": crate::bindings::address::demarches::connector::types,
            "demarches:connector/host": crate::bindings::address::demarches::connector::host,
        },
    });
}
