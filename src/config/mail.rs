//! Account mail settings (`smtp_url`, `mail_from`): checked here, where every setting is
//! checked, so the configuration needs nothing of the mail sender that uses them.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use super::values::{is_loopback, redact_url_password};

/// `smtp_url` and `mail_from`, validated.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `smtps://host:465` (TLS), `smtp://host:587?tls=required` (STARTTLS) or plain
    /// `smtp://host:25`, with `user:password@` when the server wants them. Kept secret.
    pub url: String,
    pub from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("not an SMTP URL lettre understands: {0}")]
    Url(String),
    #[error("not a mail address: {0}")]
    From(String),
}

impl MailConfig {
    pub fn parse(url: &str, from: &str) -> Result<Self, MailConfigError> {
        // lettre must understand the URL: the worker builds its transport from it.
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailConfigError::Url(e.to_string()))?;
        let parsed = url::Url::parse(url).map_err(|e| MailConfigError::Url(e.to_string()))?;
        let encrypted = parsed.scheme() == "smtps"
            || parsed
                .query_pairs()
                .any(|(k, v)| k == "tls" && v == "required");
        if parsed.password().is_some() && !encrypted && !is_loopback(&parsed) {
            return Err(MailConfigError::Url(
                "a password would cross the network unencrypted: use smtps:// or ?tls=required"
                    .into(),
            ));
        }
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| MailConfigError::From(e.to_string()))?;
        Ok(Self {
            url: url.to_owned(),
            from,
        })
    }

    /// The URL with any password replaced, for display.
    pub fn redacted_url(&self) -> String {
        redact_url_password(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_checks_url_and_sender() {
        assert!(
            MailConfig::parse("smtp://127.0.0.1:2525", "munjigi <no-reply@example.com>").is_ok()
        );
        assert!(MailConfig::parse("smtps://u:secret@mail.example.com", "a@example.com").is_ok());
        assert!(matches!(
            MailConfig::parse("http://mail.example.com", "a@example.com"),
            Err(MailConfigError::Url(_))
        ));
        assert!(
            MailConfig::parse("smtp://relay.internal:25", "a@example.com").is_ok(),
            "a plain relay without credentials"
        );
        assert!(matches!(
            MailConfig::parse(
                "smtp://u:secret@mail.example.com:587?tls=opportunistic",
                "a@example.com"
            ),
            Err(MailConfigError::Url(_))
        ));
        assert!(
            MailConfig::parse(
                "smtp://u:secret@mail.example.com:587?tls=required",
                "a@example.com"
            )
            .is_ok()
        );
        assert!(matches!(
            MailConfig::parse("smtp://127.0.0.1", "not an address"),
            Err(MailConfigError::From(_))
        ));
        let c = MailConfig::parse("smtps://u:secret@mail.example.com", "a@example.com");
        let shown = c.map(|c| c.redacted_url()).unwrap_or_default();
        assert!(
            !shown.contains("secret") && shown.contains("mail.example.com"),
            "{shown}"
        );
    }
}
