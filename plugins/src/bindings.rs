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

/// `pub mod $module`: the bindings of world `$world` (a string literal, taken as a `tt`
/// so that `bindgen!` receives the literal token itself), with the `types` and `host`
/// interfaces of [`address`].
macro_rules! world_sharing_address {
    ($module:ident, $world:tt) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                world: $world,
                path: "wit",
                imports: { default: async },
                exports: { default: async },
                with: {
                    "demarches:connector/types": super::address::demarches::connector::types,
                    "demarches:connector/host": super::address::demarches::connector::host,
                },
            });
        }
    };
}

world_sharing_address!(feedback, "feedback-provider");
world_sharing_address!(siret, "siret-provider");
world_sharing_address!(identity, "identity-provider");
