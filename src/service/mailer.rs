//! Outgoing mail over SMTP (`[smtp]`): STARTTLS required unless the
//! configuration says `tls = "none"`, which it allows only to a loopback
//! relay. Used for the onboarding passes sent to managers.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{SmtpSettings, SmtpTls};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the mail settings cannot be used: {0}")]
    Settings(String),
    #[error("not a mail address: {0}")]
    Address(String),
    #[error("the SMTP server refused or failed: {reason}")]
    Send {
        reason: String,
        /// Trying again may work (a connection or a 4xx answer); not for a
        /// 5xx answer or a server that cannot be used as configured.
        retry: bool,
    },
}

impl MailError {
    pub fn may_retry(&self) -> bool {
        matches!(self, MailError::Send { retry: true, .. })
    }
}

/// One message: to whom, the subject and a plain-text body.
pub struct Mail {
    pub to: Mailbox,
    pub subject: String,
    pub body: String,
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The transport for `settings`; `hello` is the name this side gives
    /// in EHLO (the issuer's host). Nothing connects until a send.
    pub fn new(settings: &SmtpSettings, hello: &str) -> Result<Self, MailError> {
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|e| MailError::Settings(format!("smtp.from: {e}")))?;
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => {
                let mut params = TlsParameters::builder(settings.host.clone());
                if let Some(path) = &settings.ca_file {
                    let pem = std::fs::read(path).map_err(|e| {
                        MailError::Settings(format!("smtp.ca_file {}: {e}", path.display()))
                    })?;
                    for cert in pem_certificates(&pem) {
                        let cert = Certificate::from_pem(cert).map_err(|e| {
                            MailError::Settings(format!("smtp.ca_file {}: {e}", path.display()))
                        })?;
                        params = params.add_root_certificate(cert);
                    }
                }
                Tls::Required(
                    params
                        .build_rustls()
                        .map_err(|e| MailError::Settings(e.to_string()))?,
                )
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .hello_name(ClientId::Domain(hello.to_owned()))
            .timeout(Some(Duration::from_secs(settings.timeout_seconds)));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail.to)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body)
            .map_err(|e| MailError::Address(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| MailError::Send {
                retry: !(e.is_permanent() || e.is_client()),
                reason: e.to_string(),
            })
    }
}

/// The PEM blocks of a file that may hold several certificates.
fn pem_certificates(pem: &[u8]) -> Vec<&[u8]> {
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(at) = rest.windows(END.len()).position(|w| w == END) {
        let (block, tail) = rest.split_at(at + END.len());
        out.push(block);
        rest = tail;
    }
    out
}

/// A mailbox from a display name and an address.
pub fn mailbox(name: &str, address: &str) -> Result<Mailbox, MailError> {
    let address = address
        .parse()
        .map_err(|e| MailError::Address(format!("{address}: {e}")))?;
    Ok(Mailbox::new(Some(name.to_owned()), address))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn splits_a_bundle() {
        let one = b"-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----";
        let mut two = one.to_vec();
        two.extend_from_slice(b"\n");
        two.extend_from_slice(one);
        two.extend_from_slice(b"\n");
        assert_eq!(pem_certificates(&two).len(), 2);
        assert!(pem_certificates(b"nothing").is_empty());
    }

    #[test]
    fn mailbox_refuses_a_non_address() {
        assert!(mailbox("A", "a@example.com").is_ok());
        assert!(mailbox("A", "not an address").is_err());
    }
}
