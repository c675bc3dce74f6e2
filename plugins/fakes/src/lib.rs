//! Faithful loopback fakes of the external upstreams the connectors call, for
//! tests and the offline demo. Each follows `shared/connectors/README.md`.
pub mod france_connect;
