//! E-mail through the transactional outbox: a mail is a row written in the same
//! transaction as the change that causes it (`enqueue`), delivered at least once by the
//! worker (`dispatcher`) through a `transport` (SMTP, or files in development).

pub mod dispatcher;
pub mod transport;

pub use demarches_actors::store::outbox::{MAIL_TOPIC as TOPIC, Mail, enqueue_mail as enqueue};
