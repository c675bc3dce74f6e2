//! Faithful loopback fakes of the external upstreams the connectors call, faithful to
//! `../shared/connectors/` (status codes, error bodies, required parameters). Used by the
//! tests and by the development server, so the demo works offline.
pub mod api_entreprise;
pub mod ban;
pub mod france_connect;
mod http;
