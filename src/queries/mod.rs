//! Read queries of the web pages, straight to PostgreSQL (writes to a dossier go through
//! its actor). One module per audience.

pub mod instructeur;
