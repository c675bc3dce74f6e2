//! sqlx repositories. Every write of a dossier goes through [`dossier::commit`]: a
//! conditional update on `lock_version`, an append to `dossier_events`, and the outbox
//! rows of its side effects, in one transaction.

pub mod attachment;
pub mod dossier;
pub mod external;
pub mod outbox;
pub mod rebase;
pub mod revision;
