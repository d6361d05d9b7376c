//! One `Config`: documented defaults ← optional TOML file (`MUNJIGI_CONFIG`) ← environment.
//!
//! Raw values are read as plain data first and then validated here, so that every error names
//! the setting (both its environment variable and its key in the file) and what is wrong.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

mod builder;
mod federation;
mod mail;
mod values;

pub use builder::ConfigBuilder;

use values::{database, validate_issuer};
pub(crate) use values::{decode_kek, is_loopback, redact_url_password};

pub use federation::{FederationConfig, OAuthUpstream, OidcUpstream, Secret};
pub use mail::{MailConfig, MailConfigError};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// The settings as read, before validation. Field names are the keys of munjigi.toml; the
/// environment variable of each is `MUNJIGI_` + the key in capitals (`DATABASE_URL` for
/// `database_url`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    /// Exact issuer URL: https (http only on a loopback host), no trailing slash.
    issuer: String,
    /// Address the HTTP server listens on.
    bind: String,
    /// Address of the Prometheus `/metrics` listener; unset: no metrics listener.
    metrics_bind: Option<String>,
    /// Days audit events are kept (0: kept until deleted by hand).
    audit_retention_days: i64,
    /// Record every client_credentials token as an audit event (otherwise only counted).
    audit_client_credentials: bool,
    /// `postgres://…` for PostgreSQL; unset for the embedded SQLite file in `data_dir`.
    database_url: Option<String>,
    /// Folder of the embedded SQLite database.
    data_dir: PathBuf,
    /// Key-encryption key: 32 random bytes in base64 (`openssl rand -base64 32`).
    kek: Option<String>,
    /// Where the development KEK is kept (generated, mode 0600) when `kek` is unset.
    kek_file: PathBuf,
    /// `auto` (pretty in a terminal, plain otherwise), `pretty`, `plain` or `json`.
    log_format: String,
    /// Largest number of database connections in the pool.
    db_max_connections: u32,
    /// Most client connections open at once; more are closed as they arrive.
    max_connections: usize,
    /// Seconds a client has to send a request's headers (also ends idle keep-alives).
    header_read_timeout_secs: u64,
    /// Milliseconds, after SIGTERM, during which munjigi still accepts and answers (each
    /// answer closing its connection) before it waits for the last requests to finish.
    shutdown_grace_ms: u64,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For`/`Forwarded` name
    /// the client; a list in the file, comma-separated in the environment.
    trusted_proxies: values::AddressList,
    /// Requests per client address per minute at `/token`, `/revoke`, `/introspect` and
    /// `/userinfo` (0: no limit).
    rate_limit_token_per_minute: u32,
    /// ... at `/authorize` and the starts of upstream sign-ins.
    rate_limit_authorize_per_minute: u32,
    /// ... for form posts of the hosted pages.
    rate_limit_forms_per_minute: u32,
    /// Requests per authenticated client per minute at the token endpoints, from anywhere.
    rate_limit_client_per_minute: u32,
    /// How long relying parties may cache the JWKS, in seconds.
    jwks_max_age_secs: u64,
    /// Allow an `http://` issuer on a non-loopback host (only behind a TLS-terminating proxy
    /// that rewrites nothing; never on the open internet).
    allow_insecure_issuer: bool,
    /// Whether people may create accounts on the hosted signup page.
    signup_enabled: bool,
    /// SMTP server for account mail (`smtps://user:pass@host:465`,
    /// `smtp://user:pass@host:587?tls=required`, or a plain `smtp://relay:25`); unset:
    /// no mail, so no address verification and no password reset by mail.
    smtp_url: Option<String>,
    /// The sender of account mail (`munjigi <no-reply@example.com>`); needed with `smtp_url`.
    mail_from: Option<String>,
    /// Lifetime of an authorization code (at most 60 s).
    code_ttl_secs: i64,
    /// Lifetime of access tokens.
    access_token_ttl_secs: i64,
    /// Lifetime of id_tokens.
    id_token_ttl_secs: i64,
    /// A refresh token unused for this long expires.
    refresh_token_idle_secs: i64,
    /// A refresh token family ends this long after sign-in, used or not.
    refresh_token_absolute_secs: i64,
    /// For this many seconds after a rotation the old refresh token may rotate again (for
    /// clients that retry); 0, the default, makes any second use revoke the family.
    refresh_token_reuse_grace_secs: i64,
    /// How long a new signing key is published before it signs anything.
    key_publish_secs: i64,
    /// Automatic rotation period of the signing keys (0: rotate only with `munjigi keys rotate`).
    key_rotation_secs: i64,
    /// How often each instance checks the database for key changes.
    key_poll_secs: i64,
    /// A browser session unused for this long ends.
    session_idle_secs: i64,
    /// A browser session ends this long after sign-in, used or not.
    session_absolute_secs: i64,
    /// Upstream providers (see `config/federation.rs`).
    federation: federation::RawFederation,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            issuer: DEFAULT_ISSUER.to_owned(),
            bind: DEFAULT_BIND.to_owned(),
            metrics_bind: None,
            audit_retention_days: 90,
            audit_client_credentials: false,
            database_url: None,
            data_dir: PathBuf::from("data"),
            kek: None,
            kek_file: PathBuf::from("keys/kek"),
            log_format: "auto".to_owned(),
            db_max_connections: 10,
            max_connections: 4096,
            header_read_timeout_secs: 10,
            shutdown_grace_ms: 500,
            trusted_proxies: values::AddressList::default(),
            rate_limit_token_per_minute: 6000,
            rate_limit_authorize_per_minute: 600,
            rate_limit_forms_per_minute: 300,
            rate_limit_client_per_minute: 60_000,
            jwks_max_age_secs: 300,
            allow_insecure_issuer: false,
            signup_enabled: true,
            smtp_url: None,
            mail_from: None,
            code_ttl_secs: 60,
            access_token_ttl_secs: 600,
            id_token_ttl_secs: 600,
            refresh_token_idle_secs: 30 * 86_400,
            refresh_token_absolute_secs: 90 * 86_400,
            refresh_token_reuse_grace_secs: 0,
            key_publish_secs: 3600,
            key_rotation_secs: 90 * 86_400,
            key_poll_secs: 30,
            session_idle_secs: 8 * 3600,
            session_absolute_secs: 7 * 86_400,
            federation: federation::RawFederation::default(),
        }
    }
}

/// The validated configuration the rest of the program uses.
#[derive(Clone)]
pub struct Config {
    pub issuer: Issuer,
    pub bind: SocketAddr,
    pub metrics_bind: Option<SocketAddr>,
    /// Seconds audit events are kept (0: forever).
    pub audit_retention: i64,
    pub audit_client_credentials: bool,
    pub database: DatabaseConfig,
    pub kek: KekSource,
    pub log_format: LogFormat,
    pub db_max_connections: u32,
    pub max_connections: usize,
    pub header_read_timeout_secs: u64,
    pub shutdown_grace_ms: u64,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub rate_limits: RateLimits,
    pub jwks_max_age_secs: u64,
    pub signup_enabled: bool,
    /// Account mail; `None` when no SMTP server is configured.
    pub mail: Option<MailConfig>,
    pub lifetimes: Lifetimes,
    pub keys: KeySchedule,
    pub federation: FederationConfig,
}

/// Requests per address per minute for each family of endpoints (0: off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub token: u32,
    pub authorize: u32,
    pub forms: u32,
    /// Per authenticated client id at the token endpoints.
    pub client: u32,
}

/// When signing keys change, in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySchedule {
    pub publish: i64,
    pub rotate_every: Option<i64>,
    pub poll: i64,
}

/// How long things live, in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    pub code: i64,
    pub access_token: i64,
    pub id_token: i64,
    pub refresh_idle: i64,
    pub refresh_absolute: i64,
    pub refresh_reuse_grace: i64,
    pub session_idle: i64,
    pub session_absolute: i64,
}

/// The issuer exactly as configured: compared byte for byte by relying parties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An absolute URL of an endpoint under the issuer (`path` starts with `/`).
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone)]
pub enum DatabaseConfig {
    Postgres { url: String },
    Sqlite { path: PathBuf },
}

impl DatabaseConfig {
    /// The connection URL, with any password replaced by `****` for display.
    pub fn redacted(&self) -> String {
        match self {
            Self::Postgres { url } => redact_url_password(url),
            Self::Sqlite { path } => format!("sqlite://{} (embedded)", path.display()),
        }
    }
}

#[derive(Clone)]
pub enum KekSource {
    /// 32 bytes from `MUNJIGI_KEK`.
    Inline([u8; 32]),
    /// Read from (or generated into) this file.
    File(PathBuf),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Auto,
    Pretty,
    Plain,
    Json,
}

/// A configuration problem, naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid setting {env} ({key}): {problem}")]
    Invalid {
        env: String,
        key: &'static str,
        problem: String,
    },
    #[error("configuration could not be read: {0}")]
    Source(String),
}

/// The environment variable of a key of munjigi.toml: `MUNJIGI_` and the key in capitals
/// (dots as underscores), except `database_url`, which is the usual `DATABASE_URL`.
pub fn env_name(key: &str) -> String {
    match key {
        "database_url" => "DATABASE_URL".to_owned(),
        "-" => "MUNJIGI_CONFIG".to_owned(),
        _ => format!("MUNJIGI_{}", key.replace('.', "_").to_ascii_uppercase()),
    }
}

pub(crate) fn invalid(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        env: env_name(key),
        key,
        problem: problem.into(),
    }
}

impl Config {
    /// Reads the configuration from the process environment (and `MUNJIGI_CONFIG`, if set).
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some(path) = std::env::var_os("MUNJIGI_CONFIG") {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(invalid(
                    "-",
                    format!("{} is not a readable file", path.display()),
                ));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // MUNJIGI_CONFIG names the file; it is not a key inside it. Provider credentials and
        // test-only variables share the prefix but are read by their own modules.
        let figment = figment
            .merge(
                Env::prefixed("MUNJIGI_")
                    .ignore(&["config", "test_pg_url"])
                    .filter(|key| !key.starts_with("federation_")),
            )
            .merge(Env::raw().only(&["database_url"]));
        let figment = federation::merge_env(figment);
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| ConfigError::Source(e.to_string()))?;
        raw.validate()
    }

    /// A configuration for tests and embedding, from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder(RawConfig::default(), None)
    }

    /// The effective configuration as TOML, secrets redacted (for `munjigi check-config`).
    pub fn describe(&self) -> String {
        let kek = match &self.kek {
            KekSource::Inline(_) => "\"<set from MUNJIGI_KEK, redacted>\"".to_owned(),
            KekSource::File(path) => format!("\"<file {}>\"", path.display()),
        };
        let log_format = match self.log_format {
            LogFormat::Auto => "auto",
            LogFormat::Pretty => "pretty",
            LogFormat::Plain => "plain",
            LogFormat::Json => "json",
        };
        let l = &self.lifetimes;
        let r = &self.rate_limits;
        let proxies: Vec<String> = self
            .trusted_proxies
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect();
        let lines = [
            format!("issuer = \"{}\"", self.issuer),
            format!("bind = \"{}\"", self.bind),
            self.metrics_bind.map_or_else(
                || "# metrics_bind unset: no metrics listener".to_owned(),
                |a| format!("metrics_bind = \"{a}\""),
            ),
            format!("database = \"{}\"", self.database.redacted()),
            format!("kek = {kek}"),
            format!("log_format = \"{log_format}\""),
            format!("db_max_connections = {}", self.db_max_connections),
            format!("max_connections = {}", self.max_connections),
            format!(
                "header_read_timeout_secs = {}",
                self.header_read_timeout_secs
            ),
            format!("shutdown_grace_ms = {}", self.shutdown_grace_ms),
            format!("trusted_proxies = [{}]", proxies.join(", ")),
            format!("rate_limit_token_per_minute = {}", r.token),
            format!("rate_limit_authorize_per_minute = {}", r.authorize),
            format!("rate_limit_forms_per_minute = {}", r.forms),
            format!("rate_limit_client_per_minute = {}", r.client),
            format!("jwks_max_age_secs = {}", self.jwks_max_age_secs),
            format!("signup_enabled = {}", self.signup_enabled),
            self.mail.as_ref().map_or_else(
                || "# smtp_url unset: no account mail".to_owned(),
                |m| {
                    format!(
                        "smtp_url = \"{}\"\nmail_from = \"{}\"",
                        m.redacted_url(),
                        m.from
                    )
                },
            ),
            format!("audit_retention_days = {}", self.audit_retention / 86_400),
            format!(
                "audit_client_credentials = {}",
                self.audit_client_credentials
            ),
            format!("code_ttl_secs = {}", l.code),
            format!("access_token_ttl_secs = {}", l.access_token),
            format!("id_token_ttl_secs = {}", l.id_token),
            format!("refresh_token_idle_secs = {}", l.refresh_idle),
            format!("refresh_token_absolute_secs = {}", l.refresh_absolute),
            format!("refresh_token_reuse_grace_secs = {}", l.refresh_reuse_grace),
            format!("session_idle_secs = {}", l.session_idle),
            format!("session_absolute_secs = {}", l.session_absolute),
            format!("key_publish_secs = {}", self.keys.publish),
            format!(
                "key_rotation_secs = {}",
                self.keys.rotate_every.unwrap_or(0)
            ),
            format!("key_poll_secs = {}", self.keys.poll),
        ];
        format!("{}\n{}", lines.join("\n"), self.federation.describe())
    }
}

impl RawConfig {
    fn validate(self) -> Result<Config, ConfigError> {
        let issuer = validate_issuer(&self.issuer, self.allow_insecure_issuer)?;
        let bind: SocketAddr = self.bind.parse().map_err(|_| {
            invalid(
                "bind",
                format!(
                    "{:?} is not an address and port such as 127.0.0.1:8080",
                    self.bind
                ),
            )
        })?;
        let metrics_bind = match self.metrics_bind.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(addr) => Some(addr.parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "metrics_bind",
                    format!("{addr:?} is not an address and port such as 127.0.0.1:9100"),
                )
            })?),
        };
        if metrics_bind.is_some_and(|m| m == bind && m.port() != 0) {
            return Err(invalid(
                "metrics_bind",
                "must differ from bind: metrics are not served on the public address",
            ));
        }
        if self.audit_retention_days < 0 {
            return Err(invalid(
                "audit_retention_days",
                "must be 0 (keep) or a number of days",
            ));
        }
        let database = database(self.database_url.as_deref(), &self.data_dir)?;
        let kek = match self.kek.as_deref().map(str::trim) {
            None | Some("") => KekSource::File(self.kek_file),
            Some(encoded) => KekSource::Inline(decode_kek(encoded)?),
        };
        let log_format = match self.log_format.to_ascii_lowercase().as_str() {
            "auto" => LogFormat::Auto,
            "pretty" => LogFormat::Pretty,
            "plain" | "text" => LogFormat::Plain,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "log_format",
                    format!("{other:?} is not one of auto, pretty, plain, json"),
                ));
            }
        };
        if self.db_max_connections == 0 {
            return Err(invalid("db_max_connections", "must be at least 1"));
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        if !(1..=300).contains(&self.header_read_timeout_secs) {
            return Err(invalid(
                "header_read_timeout_secs",
                "must be between 1 and 300 seconds",
            ));
        }
        if self.shutdown_grace_ms > 10_000 {
            return Err(invalid(
                "shutdown_grace_ms",
                "must be at most 10000 milliseconds",
            ));
        }
        let secs = |key: &'static str, value: i64, max: Option<(i64, &str)>| match max {
            _ if value <= 0 => Err(invalid(key, "must be a positive number of seconds")),
            Some((max, why)) if value > max => Err(invalid(
                key,
                format!("must be at most {max} seconds ({why})"),
            )),
            _ => Ok(value),
        };
        let grace = self.refresh_token_reuse_grace_secs;
        if !(0..=60).contains(&grace) {
            return Err(invalid(
                "refresh_token_reuse_grace_secs",
                "must be between 0 and 60 seconds",
            ));
        }
        let lifetimes = Lifetimes {
            code: secs(
                "code_ttl_secs",
                self.code_ttl_secs,
                Some((60, "codes are meant to be redeemed at once")),
            )?,
            access_token: secs("access_token_ttl_secs", self.access_token_ttl_secs, None)?,
            id_token: secs("id_token_ttl_secs", self.id_token_ttl_secs, None)?,
            refresh_idle: secs(
                "refresh_token_idle_secs",
                self.refresh_token_idle_secs,
                None,
            )?,
            refresh_absolute: secs(
                "refresh_token_absolute_secs",
                self.refresh_token_absolute_secs,
                None,
            )?,
            refresh_reuse_grace: grace,
            session_idle: secs("session_idle_secs", self.session_idle_secs, None)?,
            session_absolute: secs("session_absolute_secs", self.session_absolute_secs, None)?,
        };
        let publish = secs("key_publish_secs", self.key_publish_secs, None)?;
        if publish < self.jwks_max_age_secs as i64 {
            return Err(invalid(
                "key_publish_secs",
                "must be at least jwks_max_age_secs, so relying parties see a key before it signs",
            ));
        }
        let keys = KeySchedule {
            publish,
            rotate_every: match self.key_rotation_secs {
                0 => None,
                n if n > publish => Some(n),
                _ => {
                    return Err(invalid(
                        "key_rotation_secs",
                        "must be 0 (off) or longer than key_publish_secs",
                    ));
                }
            },
            poll: secs("key_poll_secs", self.key_poll_secs, None)?,
        };
        let mail = match (
            self.smtp_url.as_deref().map(str::trim),
            self.mail_from.as_deref().map(str::trim),
        ) {
            (None | Some(""), _) => None,
            (Some(_), None | Some("")) => {
                return Err(invalid(
                    "mail_from",
                    "must be set with smtp_url: the sender of account mail",
                ));
            }
            (Some(url), Some(from)) => Some(MailConfig::parse(url, from).map_err(|e| match e {
                MailConfigError::Url(why) => invalid("smtp_url", why),
                MailConfigError::From(why) => invalid("mail_from", why),
            })?),
        };
        Ok(Config {
            federation: self.federation.validate()?,
            mail,
            keys,
            signup_enabled: self.signup_enabled,
            lifetimes,
            issuer,
            bind,
            metrics_bind,
            audit_retention: self.audit_retention_days.saturating_mul(86_400),
            audit_client_credentials: self.audit_client_credentials,
            database,
            kek,
            log_format,
            db_max_connections: self.db_max_connections,
            max_connections: self.max_connections,
            header_read_timeout_secs: self.header_read_timeout_secs,
            shutdown_grace_ms: self.shutdown_grace_ms,
            trusted_proxies: self.trusted_proxies.parse()?,
            rate_limits: RateLimits {
                token: self.rate_limit_token_per_minute,
                authorize: self.rate_limit_authorize_per_minute,
                forms: self.rate_limit_forms_per_minute,
                client: self.rate_limit_client_per_minute,
            },
            jwks_max_age_secs: self.jwks_max_age_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_chooses_backend_and_redacts() {
        let cfg = Config::builder().build();
        assert!(matches!(
            cfg.map(|c| c.database),
            Ok(DatabaseConfig::Sqlite { .. })
        ));
        let cfg = Config::builder()
            .database_url(Some("postgres://app:hunter2@127.0.0.1:5432/db".into()))
            .build();
        let redacted = cfg.map(|c| c.database.redacted()).unwrap_or_default();
        assert!(
            redacted.contains("****") && !redacted.contains("hunter2"),
            "{redacted}"
        );
        let err = Config::builder()
            .database_url(Some("mysql://x".into()))
            .build();
        assert!(
            err.err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("DATABASE_URL")
        );
    }

    #[test]
    fn env_names_follow_the_keys() {
        assert_eq!(env_name("issuer"), "MUNJIGI_ISSUER");
        assert_eq!(env_name("database_url"), "DATABASE_URL");
        assert_eq!(
            env_name("federation.google.client_id"),
            "MUNJIGI_FEDERATION_GOOGLE_CLIENT_ID"
        );
    }

    #[test]
    fn bad_bind_names_the_setting() {
        let err = Config::builder()
            .bind("localhost")
            .build()
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("MUNJIGI_BIND (bind)"));
    }
}
