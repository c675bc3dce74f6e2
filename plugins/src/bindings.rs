//! Host bindings of `wit/connector.wit` (package `demarches:connector@1.0.0`),
//! one `bindgen!` per world, async imports and exports. The `host` and `types`
//! interfaces are generated once (in `address`) and shared by the other worlds
//! through `with`, so one `HostState` implementation serves every connector.
//! Wired: `address-provider`, `siret-provider`, `identity-provider`, `feedback-provider`.

pub mod address {
    wasmtime::component::bindgen!({
        world: "address-provider",
        path: "wit",
        imports: { default: async },
        exports: { default: async },
    });
}

pub mod feedback {
    wasmtime::component::bindgen!({
        world: "feedback-provider",
        path: "wit",
        imports: { default: async },
        exports: { default: async },
        with: {
            "demarches:connector/types": super::address::demarches::connector::types,
            "demarches:connector/host": super::address::demarches::connector::host,
        },
    });
}

pub mod siret {
    wasmtime::component::bindgen!({
        world: "siret-provider",
        path: "wit",
        imports: { default: async },
        exports: { default: async },
        with: {
            "demarches:connector/types": super::address::demarches::connector::types,
            "demarches:connector/host": super::address::demarches::connector::host,
        },
    });
}

pub mod identity {
    wasmtime::component::bindgen!({
        world: "identity-provider",
        path: "wit",
        imports: { default: async },
        exports: { default: async },
        with: {
            "demarches:connector/types": super::address::demarches::connector::types,
            "demarches:connector/host": super::address::demarches::connector::host,
        },
    });
}
