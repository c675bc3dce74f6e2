//! One actor per dossier: the single writer of that dossier on this node. It keeps the
//! aggregate hot, runs one command at a time (`AtomicResponse`), and leaves the truth to
//! PostgreSQL: every write is conditional on `lock_version`.

pub mod actor;
pub mod decide;
pub mod messages;

pub use actor::DossierActor;
pub use messages::{
    Act, ActError, ActOutcome, CONFLICT_MESSAGE, Command, FieldError, Forget, IndividualInput,
    RecordExternal, SaveForm, SiretInput, Snapshot,
};
