//! Where mails go: a real SMTP server (lettre) when `mail.smtp_url` is set, otherwise one
//! `.eml` file per mail in `mail.dir`, listed at the development page `/dev/mails`.

use std::path::PathBuf;

use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Mail;
use crate::config::MailConfig;

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Dir(PathBuf),
}

impl Transport {
    pub fn from_config(config: &MailConfig) -> anyhow::Result<Self> {
        if config.smtp_url.is_empty() {
            std::fs::create_dir_all(&config.dir)
                .with_context(|| format!("cannot create {}", config.dir.display()))?;
            Ok(Transport::Dir(config.dir.clone()))
        } else {
            let transport =
                AsyncSmtpTransport::<Tokio1Executor>::from_url(config.smtp_url.expose())
                    .context("invalid mail.smtp_url")?
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build();
            Ok(Transport::Smtp(transport))
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Transport::Smtp(_) => "smtp",
            Transport::Dir(_) => "directory",
        }
    }

    pub async fn send(&self, from: &str, message_id: &str, mail: &Mail) -> anyhow::Result<()> {
        let message = build(from, message_id, mail)?;
        match self {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("SMTP delivery failed")?;
            }
            Transport::Dir(dir) => {
                let name = format!(
                    "{}-{}.eml",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
                    crate::security::sha256_hex(message_id)
                        .get(..16)
                        .unwrap_or("mail")
                );
                tokio::fs::write(dir.join(name), message.formatted())
                    .await
                    .context("cannot write mail file")?;
            }
        }
        Ok(())
    }
}

fn build(from: &str, message_id: &str, mail: &Mail) -> anyhow::Result<Message> {
    let from: Mailbox = from.parse().context("invalid mail.from")?;
    let to: Mailbox = mail.to.parse().context("invalid recipient")?;
    let domain = from.email.domain().to_owned();
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!(
            "<{}@{}>",
            crate::security::sha256_hex(message_id),
            domain
        )))
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text.clone())
        .context("cannot build message")
}
