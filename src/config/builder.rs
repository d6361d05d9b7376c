//! `Config::builder()`: defaults plus explicit overrides, for tests and embedders.

use std::path::PathBuf;

use super::{Config, ConfigError, FederationConfig, RawConfig, values};

/// Builds a `Config` from defaults plus explicit overrides, validated the same way.
pub struct ConfigBuilder(pub(super) RawConfig, pub(super) Option<FederationConfig>);

impl ConfigBuilder {
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.0.issuer = issuer.into();
        self
    }
    pub fn bind(mut self, bind: impl Into<String>) -> Self {
        self.0.bind = bind.into();
        self
    }
    pub fn database_url(mut self, url: Option<String>) -> Self {
        self.0.database_url = url;
        self
    }
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.0.data_dir = dir.into();
        self
    }
    pub fn kek_base64(mut self, kek: impl Into<String>) -> Self {
        self.0.kek = Some(kek.into());
        self
    }
    pub fn signup_enabled(mut self, enabled: bool) -> Self {
        self.0.signup_enabled = enabled;
        self
    }
    /// Account mail through this SMTP server (a loopback sink in tests).
    pub fn smtp(mut self, url: impl Into<String>, from: impl Into<String>) -> Self {
        self.0.smtp_url = Some(url.into());
        self.0.mail_from = Some(from.into());
        self
    }
    pub fn key_publish_secs(mut self, secs: i64) -> Self {
        self.0.key_publish_secs = secs;
        self
    }
    pub fn trusted_proxies(mut self, proxies: &[&str]) -> Self {
        self.0.trusted_proxies =
            values::AddressList::Many(proxies.iter().map(|p| (*p).to_owned()).collect());
        self
    }
    /// Per-minute limits of the token, authorize and form families (0: off).
    pub fn client_rate_limit(mut self, per_minute: u32) -> Self {
        self.0.rate_limit_client_per_minute = per_minute;
        self
    }
    pub fn rate_limits(mut self, token: u32, authorize: u32, forms: u32) -> Self {
        self.0.rate_limit_token_per_minute = token;
        self.0.rate_limit_authorize_per_minute = authorize;
        self.0.rate_limit_forms_per_minute = forms;
        self
    }
    pub fn max_connections(mut self, n: usize) -> Self {
        self.0.max_connections = n;
        self
    }
    pub fn header_read_timeout_secs(mut self, secs: u64) -> Self {
        self.0.header_read_timeout_secs = secs;
        self
    }
    pub fn shutdown_grace_ms(mut self, ms: u64) -> Self {
        self.0.shutdown_grace_ms = ms;
        self
    }
    pub fn refresh_reuse_grace_secs(mut self, secs: i64) -> Self {
        self.0.refresh_token_reuse_grace_secs = secs;
        self
    }
    /// Upstream providers, set directly (tests point them at loopback stubs).
    pub fn federation(mut self, federation: FederationConfig) -> Self {
        self.1 = Some(federation);
        self
    }
    /// Where `/metrics` is served (`127.0.0.1:0` in tests).
    pub fn metrics_bind(mut self, addr: impl Into<String>) -> Self {
        self.0.metrics_bind = Some(addr.into());
        self
    }
    pub fn audit_client_credentials(mut self, on: bool) -> Self {
        self.0.audit_client_credentials = on;
        self
    }
    pub fn build(self) -> Result<Config, ConfigError> {
        let mut config = self.0.validate()?;
        if let Some(federation) = self.1 {
            config.federation = federation;
        }
        Ok(config)
    }
}
