//! Checks of single values: the issuer, the database URL, the KEK.

use std::path::PathBuf;

use base64::Engine;
use url::Url;

use serde::{Deserialize, Serialize};

use super::{ConfigError, DatabaseConfig, Issuer, invalid};

/// Addresses and ranges: a TOML list, or one comma-separated string (the environment).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AddressList {
    One(String),
    Many(Vec<String>),
}

impl Default for AddressList {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

impl AddressList {
    /// `10.0.0.0/8`, `192.0.2.7`, `::1`: a single address is a range of one.
    pub(super) fn parse(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        let items: Vec<&str> = match self {
            Self::One(s) => s.split(',').collect(),
            Self::Many(v) => v.iter().map(String::as_str).collect(),
        };
        items
            .into_iter()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(|item| {
                item.parse::<ipnet::IpNet>()
                    .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        invalid(
                            "trusted_proxies",
                            format!("{item:?} is not an address or CIDR range"),
                        )
                    })
            })
            .collect()
    }
}

/// PostgreSQL when `database_url` names it, else the embedded SQLite file.
pub(super) fn database(
    url: Option<&str>,
    data_dir: &std::path::Path,
) -> Result<DatabaseConfig, ConfigError> {
    let problem = |p: String| invalid("database_url", p);
    match url.map(str::trim) {
        None | Some("") => Ok(DatabaseConfig::Sqlite {
            path: data_dir.join("munjigi.db"),
        }),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Url::parse(url).map_err(|e| problem(format!("not a valid URL: {e}")))?;
            Ok(DatabaseConfig::Postgres {
                url: url.to_owned(),
            })
        }
        Some(url) if url.starts_with("sqlite:") => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(problem(
                    "an SQLite URL must name a file (sqlite://path/to/munjigi.db)".into(),
                ));
            }
            Ok(DatabaseConfig::Sqlite {
                path: PathBuf::from(path),
            })
        }
        Some(url) => Err(problem(format!(
            "must start with postgres:// (or sqlite://), got {:?}",
            redact_url_password(url)
        ))),
    }
}

/// OIDC Discovery §3 and RFC 8414 §2: https, no query or fragment; we also refuse a trailing
/// slash so that `iss` comparisons by relying parties cannot go wrong.
pub(super) fn validate_issuer(value: &str, allow_insecure: bool) -> Result<Issuer, ConfigError> {
    let problem = |p: &str| invalid("issuer", format!("{value:?}: {p}"));
    let url = Url::parse(value).map_err(|e| problem(&format!("not an absolute URL ({e})")))?;
    if value.ends_with('/') {
        return Err(problem(
            "must not end with '/' (write it exactly as clients will see it)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(problem("must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(problem("must not contain user information"));
    }
    // The URL parser normalises; the issuer must already be in normal form to compare exactly.
    if url.as_str().trim_end_matches('/') != value {
        return Err(problem(&format!(
            "must be written in normal form: {}",
            url.as_str()
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" => {
            if !is_loopback(&url) && !allow_insecure {
                return Err(problem(
                    "must use https (http is allowed only on localhost or a loopback address)",
                ));
            }
        }
        _ => return Err(problem("must use https")),
    }
    Ok(Issuer(value.to_owned()))
}

/// `localhost` or a loopback address: where plain http is acceptable.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

pub(crate) fn decode_kek(encoded: &str) -> Result<[u8; 32], ConfigError> {
    let problem = |p: String| {
        invalid(
            "kek",
            format!(
                "{p}; it must be 32 random bytes in base64, as `openssl rand -base64 32` prints"
            ),
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| problem("not valid base64".to_owned()))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| problem(format!("decodes to {} bytes, not 32", bytes.len())))
}

pub(crate) fn redact_url_password(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // set_password only fails for URLs that cannot have credentials.
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_lists_take_addresses_and_ranges() {
        let one = AddressList::One("10.0.0.0/8, 192.0.2.7 ,::1".into()).parse();
        assert_eq!(one.as_ref().map(Vec::len).ok(), Some(3));
        assert!(AddressList::Many(vec!["not-an-ip".into()]).parse().is_err());
        assert_eq!(AddressList::default().parse().ok(), Some(vec![]));
    }

    fn issuer_error(value: &str) -> String {
        match validate_issuer(value, false) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn issuer_must_be_exact() {
        assert!(validate_issuer("https://id.example.com", false).is_ok());
        assert!(validate_issuer("https://example.com/auth", false).is_ok());
        assert!(validate_issuer("http://127.0.0.1:8080", false).is_ok());
        assert!(validate_issuer("http://localhost:8080", false).is_ok());
        assert!(issuer_error("https://id.example.com/").contains("must not end with '/'"));
        assert!(issuer_error("http://id.example.com").contains("must use https"));
        assert!(issuer_error("https://id.example.com?x=1").contains("query"));
        assert!(issuer_error("https://u:p@id.example.com").contains("user information"));
        assert!(issuer_error("https://ID.example.com").contains("normal form"));
        assert!(issuer_error("id.example.com").contains("MUNJIGI_ISSUER (issuer)"));
        assert!(validate_issuer("http://10.0.0.1", true).is_ok());
    }

    #[test]
    fn kek_must_be_32_bytes_of_base64() {
        let good = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(decode_kek(&good).ok(), Some([7u8; 32]));
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let err = decode_kek(&short)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("MUNJIGI_KEK") && err.contains("16 bytes, not 32"),
            "{err}"
        );
        assert!(decode_kek("not base64!").is_err());
    }
}
