//! Loopback fakes of the external upstreams, faithful to `../shared/connectors/`
//! (status codes, error bodies, required parameters). Used by the tests and by
//! `demarches demo`, so the demo works offline.
pub mod api_entreprise;
