//! Client authentication at the token endpoint (RFC 6749 §2.3.1, OIDC Core §9).

use base64::Engine;

use super::client::{AuthMethod, Client};
use super::context::OAuthContext;
use super::error::OAuthError;

/// What the request presented.
#[derive(Default)]
pub struct PresentedCredentials {
    pub basic: Option<(String, String)>,
    pub form_client_id: Option<String>,
    pub form_client_secret: Option<String>,
    /// The `Origin` a browser sent (absent on server-to-server requests).
    pub origin: Option<String>,
}

/// Client ids are shown, secrets never.
impl std::fmt::Debug for PresentedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedCredentials")
            .field("basic_client_id", &self.basic.as_ref().map(|(id, _)| id))
            .field("form_client_id", &self.form_client_id)
            .field(
                "form_client_secret",
                &self.form_client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("origin", &self.origin)
            .finish()
    }
}

impl PresentedCredentials {
    /// Reads an `Authorization` header value and the form's client fields. A malformed Basic
    /// header is an authentication failure, not a fallback to the form.
    pub fn from_request(
        authorization: Option<&str>,
        form_client_id: Option<String>,
        form_client_secret: Option<String>,
        assertion: bool,
    ) -> Result<Self, OAuthError> {
        if assertion {
            // RFC 6749 §2.3: one method per request; and JWT assertions (RFC 7523) are not
            // a method munjigi offers.
            return Err(if authorization.is_some() || form_client_secret.is_some() {
                OAuthError::invalid_request("use one client authentication method, not two")
            } else {
                OAuthError::invalid_client()
            });
        }
        let basic = match authorization {
            None => None,
            Some(value) => Some(parse_basic(value).ok_or_else(OAuthError::invalid_client)?),
        };
        Ok(Self {
            basic,
            form_client_id,
            form_client_secret,
            origin: None,
        })
    }
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    let (id, secret) = (unescape(id)?, unescape(secret)?);
    // Ids and secrets are printable; anything else is not a credential of ours.
    let printable = |v: &str| !v.chars().any(char::is_control);
    (printable(&id) && printable(&secret)).then_some((id, secret))
}

/// Authenticates the client (`check`). A browser request (one with an `Origin`) must come
/// from an origin the client allows: a page elsewhere cannot act as a public client, whose id
/// is no secret. Only a secret compared and found wrong counts against the (client, address)
/// pair; a success clears the pair's count, so a client library that tries one way and then
/// another (Go's `golang.org/x/oauth2`: Basic, then the body) never locks itself out.
pub async fn authenticate(
    ctx: &OAuthContext<'_>,
    presented: PresentedCredentials,
    ip: std::net::IpAddr,
) -> Result<Client, OAuthError> {
    let origin = presented.origin.clone();
    let (client_id, checked) = check(ctx, presented).await?;
    if matches!(checked, Checked::WrongSecret) {
        ctx.client_throttle.record_failure(&client_id, ip, ctx.now);
    }
    // Checked after the secret (an HMAC is cheap), so while the pair is locked even the right
    // secret is refused: guessing gains nothing during a lock-out.
    let client = match ctx.client_throttle.wait_secs(&client_id, ip, ctx.now) {
        0 => match checked {
            Checked::Authenticated(client) => {
                ctx.client_throttle.record_success(&client_id, ip);
                *client
            }
            Checked::WrongSecret | Checked::Refused => return Err(OAuthError::invalid_client()),
        },
        wait => return Err(OAuthError::invalid_client().retry_after(wait)),
    };
    match origin {
        Some(origin) if !client.allows_origin(&origin) => Err(OAuthError::invalid_request(
            "this client does not allow requests from the page's origin",
        )),
        _ => Ok(client),
    }
}

/// How presented credentials fared against the registered client.
enum Checked {
    Authenticated(Box<Client>),
    /// A secret was compared and was wrong (or given for an unknown client, which costs the
    /// same): the only failure counted.
    WrongSecret,
    /// Refused without comparing a secret: none was sent where one is needed, or one was sent
    /// where none exists or by a way the client may not use.
    Refused,
}

/// Where the request put its secret.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Basic,
    Body,
}

/// The presented credentials against the registered client: the client id, and the outcome
/// (`Err` for requests malformed before any client is named). The rules (docs/decisions.md,
/// "Client authentication"):
///
/// - a confidential client's secret is accepted in `Authorization: Basic` whatever method it
///   registered (RFC 6749 §2.3.1: servers MUST support Basic for clients issued a secret), and
///   in the body only when it registered `client_secret_post`;
/// - a public client names itself by `client_id` in the body, or by Basic with an empty
///   password (`base64("id:")`, what Go's oauth2 sends for a client without a secret);
/// - an empty secret is no secret.
async fn check(
    ctx: &OAuthContext<'_>,
    presented: PresentedCredentials,
) -> Result<(String, Checked), OAuthError> {
    let (client_id, secret, transport) = match (
        presented.basic,
        presented.form_client_id,
        presented.form_client_secret,
    ) {
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        (Some((id, secret)), form_id, None) => {
            if form_id.is_some_and(|f| f != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the Authorization header",
                ));
            }
            (id, secret, Transport::Basic)
        }
        (None, Some(id), secret) => (id, secret.unwrap_or_default(), Transport::Body),
        (None, None, _) => return Err(OAuthError::invalid_client()),
    };
    let secret = Some(secret).filter(|s| !s.is_empty());
    let Some(client) = ctx.clients.get(ctx.store, &client_id, ctx.now).await? else {
        // Same work as a wrong secret, so unknown ids are not told apart by timing.
        let checked = match &secret {
            Some(secret) => {
                ctx.hasher.verify(secret, None);
                Checked::WrongSecret
            }
            None => Checked::Refused,
        };
        return Ok((client_id, checked));
    };
    let checked = match (client.auth_method, transport, secret) {
        (AuthMethod::None, _, None) => Checked::Authenticated(Box::new(client)),
        (AuthMethod::None, _, Some(_)) => Checked::Refused,
        (_, _, None) => Checked::Refused,
        (AuthMethod::ClientSecretBasic, Transport::Body, Some(_)) => Checked::Refused,
        (_, _, Some(secret)) => {
            if ctx
                .hasher
                .verify(&secret, client.record.secret_hash.as_deref())
            {
                Checked::Authenticated(Box::new(client))
            } else {
                Checked::WrongSecret
            }
        }
    };
    Ok((client_id, checked))
}

#[cfg(test)]
mod tests {
    use super::parse_basic;

    #[test]
    fn basic_credentials_are_form_decoded() {
        // "my%3Aclient:p%40ss+word" base64
        let header = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                "my%3Aclient:p%40ss+word"
            )
        );
        assert_eq!(
            parse_basic(&header),
            Some(("my:client".into(), "p@ss word".into()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Basic"), None);
        let nul = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "a\0b:s")
        );
        assert_eq!(parse_basic(&nul), None);
    }
}
