//! Domain, actors and storage of demarches.
//!
//! - [`domain`]: pure rules (states, transitions, champ validation…), no I/O;
//! - [`store`]: sqlx repositories, the only place that writes dossiers;
//! - [`dossier`], [`groupe`], [`router`]: the actors;
//! - [`registry`]: spawns and caches dossier actors; [`bus`]: live signals between nodes.

pub mod bus;
pub mod domain;
pub mod dossier;
pub mod env;
pub mod groupe;
pub mod registry;
pub mod router;
pub mod store;

pub use bus::{Bus, BusEvent, EventKind};
pub use env::ActorEnv;
pub use registry::Registry;
