//! Accounts: users, roles, invitations and the one-time links sent by e-mail.

pub mod invite;
pub mod service;
pub mod store;
pub mod throttle;
