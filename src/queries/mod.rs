//! Read models: SQL queries behind the pages, one module per audience. Writes to a
//! dossier never happen here (they go through its actor).

pub mod attachments;
pub mod instructeur;
pub mod usager;
