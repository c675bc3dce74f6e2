//! demarches: put administrative procedures online and instruct the dossiers received.
//!
//! This crate is the delivery layer: configuration, the web interface, mail, the worker
//! and the CLI wiring. Domain rules, actors and storage live in `demarches-actors`.

pub mod accounts;
pub mod bench;
pub mod config;
pub mod demo;
pub mod external;
pub mod france_connect;
pub mod geo;
pub mod jobs;
pub mod mail;
pub mod procedures;
pub mod queries;
pub mod rich_text;
pub mod security;
pub mod server;
pub mod state;
pub mod storage;
pub mod web;
pub mod worker;
