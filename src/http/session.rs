//! Browser sessions: tower-sessions over our store, and what munjigi keeps in them.
//!
//! Session ids are stored hashed. The cookie is `HttpOnly`, `SameSite=Lax`, `Secure` when the
//! issuer is https; the id is renewed at sign-in; idle expiry is the cookie's, the absolute
//! limit is checked against the sign-in time.

use std::collections::HashMap;

use async_trait::async_trait;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use crate::account::sessions::{DEVICE_KEY, DeviceInfo, SessionRecords};
use crate::account::sign_in::SignIn;
use crate::account::user::UserRecord;
use crate::app::AppState;
use crate::clock::{Clock, Expires, fresh};
use crate::federation::RoundTrip;
use crate::federation::link::PendingLink;
use crate::http::client_ip::ClientIp;
use crate::http::error::PageError;
use crate::http::web::page::see_other;
use crate::oauth::authorize::Pending;
use crate::oauth::secret::{random_token, sha256_hex};

pub const COOKIE_NAME: &str = "munjigi_session";
/// On an https issuer: the `__Host-` prefix makes browsers refuse the cookie unless it is
/// Secure, host-only and for `/`, so a sibling subdomain cannot plant one.
pub const SECURE_COOKIE_NAME: &str = "__Host-munjigi_session";

/// tower-sessions stamps expiry dates from the system clock, so expiry is compared with the
/// system clock here too (not the injectable one).
#[derive(Clone)]
pub struct DbSessionStore {
    records: SessionRecords,
    clock: Clock,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// Whose sign-in a session record holds (stored beside it, so an account's sessions can be
/// ended together).
fn user_of(record: &Record) -> Option<String> {
    record
        .data
        .get(AUTH)
        .and_then(|auth| auth.get("user_id"))
        .and_then(|id| id.as_str())
        .map(str::to_owned)
}

/// For a session nobody has signed in to: the (hashed) address that made it, stored beside
/// it so that each address keeps a bounded number of them (see `note_anonymous_origin`).
fn anonymous_origin(record: &Record) -> Option<String> {
    if user_of(record).is_some() {
        return None;
    }
    record
        .data
        .get(ANONYMOUS_FROM)
        .and_then(|from| from.as_str())
        .map(str::to_owned)
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_string(record)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        // A collision of 128-bit random ids is all but impossible; pick another if it happens.
        for _ in 0..3 {
            let created = self
                .records
                .create(
                    &sha256_hex(&record.id.to_string()),
                    &data,
                    record.expiry_date.unix_timestamp(),
                    user_of(record).as_deref(),
                    anonymous_origin(record).as_deref(),
                )
                .await
                .map_err(backend)?;
            if created {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(backend("could not allocate a session id"))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(record)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        self.records
            .save(
                &sha256_hex(&record.id.to_string()),
                &data,
                record.expiry_date.unix_timestamp(),
                user_of(record).as_deref(),
                anonymous_origin(record).as_deref(),
            )
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let data = self
            .records
            .load(&sha256_hex(&id.to_string()), self.clock.now())
            .await
            .map_err(backend)?;
        data.map(|d| {
            serde_json::from_str(&d).map_err(|e| session_store::Error::Decode(e.to_string()))
        })
        .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.records
            .delete(&sha256_hex(&id.to_string()))
            .await
            .map_err(backend)
    }
}

pub fn layer(state: &AppState) -> SessionManagerLayer<DbSessionStore> {
    let store = DbSessionStore {
        records: state.session_records(),
        clock: Clock::system(),
    };
    let https = state.config.issuer.is_https();
    SessionManagerLayer::new(store)
        .with_name(if https {
            SECURE_COOKIE_NAME
        } else {
            COOKIE_NAME
        })
        .with_secure(https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            state.config.lifetimes.session_idle,
        )))
}

const AUTH: &str = crate::account::sessions::SIGN_IN_KEY;
const PENDING: &str = "pending";
/// Enough for several tabs; older ones are dropped first.
const MAX_PENDING: usize = 8;

#[derive(Debug, thiserror::Error)]
#[error("session storage failed: {0}")]
pub struct SessionError(String);

impl From<tower_sessions::session::Error> for SessionError {
    fn from(e: tower_sessions::session::Error) -> Self {
        Self(e.to_string())
    }
}

/// Who is signed in on this browser, with their account: the sign-in is within the absolute
/// session lifetime and the account exists and is not disabled. Anything else is nobody.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub sign_in: SignIn,
    pub user: UserRecord,
}

/// The browser's sign-in, if any (see `SignedIn`).
pub struct MaybeSignedIn(pub Option<SignedIn>);

impl MaybeSignedIn {
    pub fn sign_in(&self) -> Option<&SignIn> {
        self.0.as_ref().map(|s| &s.sign_in)
    }
}

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, why)| PageError::unavailable(why))?;
        let Some(sign_in) = session
            .get::<SignIn>(AUTH)
            .await
            .map_err(SessionError::from)?
        else {
            return Ok(Self(None));
        };
        let now = state.clock.now();
        let user = if sign_in.is_current(now, state.config.lifetimes.session_absolute) {
            state.accounts().active_user(&sign_in.user_id).await?
        } else {
            None
        };
        match user {
            Some(user) => Ok(Self(Some(SignedIn { sign_in, user }))),
            None => {
                // Expired, deleted or disabled: this browser is signed out from now on.
                session
                    .remove::<SignIn>(AUTH)
                    .await
                    .map_err(SessionError::from)?;
                Ok(Self(None))
            }
        }
    }
}

/// Pages for signed-in people only: anyone else is sent to sign in.
impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match MaybeSignedIn::from_request_parts(parts, state).await {
            Ok(MaybeSignedIn(Some(signed_in))) => Ok(signed_in),
            Ok(MaybeSignedIn(None)) => Err(see_other("/login")),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Records a sign-in under a fresh session id (no session fixation), kept for the idle
/// lifetime of a signed-in session, with the device it happened on.
pub async fn sign_in(
    session: &Session,
    sign_in: &SignIn,
    device: &DeviceInfo,
    idle_secs: i64,
) -> Result<(), SessionError> {
    session.cycle_id().await?;
    session.insert(AUTH, sign_in).await?;
    session.insert(DEVICE_KEY, device).await?;
    session.set_expiry(Some(Expiry::OnInactivity(time::Duration::seconds(
        idle_secs,
    ))));
    Ok(())
}

/// How long a session that nobody has signed in to may hold its pending requests and round
/// trips while unused: long enough to sign in, short enough that a flood of anonymous
/// requests does not keep rows for hours.
const ANONYMOUS_IDLE_MINUTES: i64 = 30;

const ANONYMOUS_FROM: &str = "anonymous_from";

/// The key an address counts under (`client_ip::address_group`), hashed so that anonymous
/// visitors' addresses are not stored.
fn address_key(ip: std::net::IpAddr) -> String {
    sha256_hex(&format!(
        "anonymous-session:{}",
        crate::http::client_ip::address_group(ip)
    ))
}

/// Runs inside the session layer: when a request leaves state in a session nobody has signed
/// in to, notes which address made it, so that the store can bound them per address.
pub async fn note_anonymous_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let session = parts.extensions.get::<Session>().cloned();
    let Ok(ClientIp(ip)) = ClientIp::from_request_parts(&mut parts, &state).await;
    let response = next.run(Request::from_parts(parts, body)).await;
    if let Some(session) = session
        && session.is_modified()
        && let Err(e) = mark_anonymous(&session, ip).await
    {
        tracing::warn!(error = %e, "could not note the address of an anonymous session");
    }
    response
}

async fn mark_anonymous(session: &Session, ip: std::net::IpAddr) -> Result<(), SessionError> {
    if session.is_empty().await || session.get::<SignIn>(AUTH).await?.is_some() {
        return Ok(());
    }
    let key = address_key(ip);
    if session.get::<String>(ANONYMOUS_FROM).await?.as_deref() != Some(key.as_str()) {
        session.insert(ANONYMOUS_FROM, key).await?;
    }
    Ok(())
}

/// Before storing something in a session: an anonymous one expires soon.
async fn keep_anonymous_short(session: &Session) -> Result<(), SessionError> {
    if session.get::<SignIn>(AUTH).await?.is_none() {
        session.set_expiry(Some(Expiry::OnInactivity(time::Duration::minutes(
            ANONYMOUS_IDLE_MINUTES,
        ))));
    }
    Ok(())
}

/// The hash of this browser's session id, as the sessions table keys it (`None` before the
/// session is stored).
pub fn id_hash(session: &Session) -> Option<String> {
    session.id().map(|id| sha256_hex(&id.to_string()))
}

/// Ends the session: server-side record and cookie.
pub async fn sign_out(session: &Session) -> Result<(), SessionError> {
    session.flush().await?;
    Ok(())
}

/// Keeps a pending request under `id` (a new id when `None`) and returns the id.
pub async fn put_pending(
    session: &Session,
    id: Option<&str>,
    pending: Pending,
) -> Result<String, SessionError> {
    keep_anonymous_short(session).await?;
    let mut all: HashMap<String, Pending> = session.get(PENDING).await?.unwrap_or_default();
    if let Some(id) = id {
        all.insert(id.to_owned(), pending);
        session.insert(PENDING, all).await?;
        return Ok(id.to_owned());
    }
    while all.len() >= MAX_PENDING {
        let oldest = all
            .iter()
            .min_by_key(|(_, p)| p.requested_at)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => all.remove(&k),
            None => break,
        };
    }
    let id = random_token();
    all.insert(id.clone(), pending);
    session.insert(PENDING, all).await?;
    Ok(id)
}

pub async fn get_pending(session: &Session, id: &str) -> Result<Option<Pending>, SessionError> {
    if id.is_empty() {
        return Ok(None);
    }
    let all: Option<HashMap<String, Pending>> = session.get(PENDING).await?;
    Ok(all.and_then(|mut all| all.remove(id)))
}

/// The pending request `id`, or the page that says it is gone.
pub async fn require_pending(session: &Session, id: &str) -> Result<Pending, PageError> {
    get_pending(session, id)
        .await?
        .ok_or_else(PageError::request_expired)
}

pub async fn take_pending(session: &Session, id: &str) -> Result<Option<Pending>, SessionError> {
    let Some(mut all) = session.get::<HashMap<String, Pending>>(PENDING).await? else {
        return Ok(None);
    };
    let taken = all.remove(id);
    if taken.is_some() {
        session.insert(PENDING, all).await?;
    }
    Ok(taken)
}

const SECOND_FACTOR: &str = "second_factor";
const ENROLMENT: &str = "totp_enrolment";

pub use crate::sign_in::{AwaitingSecondFactor, SECOND_FACTOR_TTL};

pub async fn put_awaiting_second_factor(
    session: &Session,
    awaiting: &AwaitingSecondFactor,
) -> Result<(), SessionError> {
    keep_anonymous_short(session).await?;
    session.insert(SECOND_FACTOR, awaiting).await?;
    Ok(())
}

/// The sign-in waiting for its second factor, unless it waited too long.
pub async fn awaiting_second_factor(
    session: &Session,
    now: i64,
) -> Result<Option<AwaitingSecondFactor>, SessionError> {
    Ok(fresh(session.get(SECOND_FACTOR).await?, now))
}

pub async fn forget_awaiting_second_factor(session: &Session) -> Result<(), SessionError> {
    session
        .remove::<AwaitingSecondFactor>(SECOND_FACTOR)
        .await?;
    Ok(())
}

/// An authenticator being set up on the account page.
pub async fn put_enrolment(
    session: &Session,
    enrolment: &crate::account::second_factor::Enrolment,
) -> Result<(), SessionError> {
    session.insert(ENROLMENT, enrolment).await?;
    Ok(())
}

/// The authenticator being set up, unless it waited too long.
pub async fn enrolment(
    session: &Session,
    now: i64,
) -> Result<Option<crate::account::second_factor::Enrolment>, SessionError> {
    Ok(fresh(session.get(ENROLMENT).await?, now))
}

pub async fn forget_enrolment(session: &Session) -> Result<(), SessionError> {
    session
        .remove::<crate::account::second_factor::Enrolment>(ENROLMENT)
        .await?;
    Ok(())
}

const PASSKEY_CEREMONY: &str = "passkey_ceremony";
/// A passkey prompt is answered within this time.
pub const PASSKEY_CEREMONY_TTL: i64 = 5 * 60;

#[derive(serde::Serialize, serde::Deserialize)]
struct KeptCeremony {
    ceremony: crate::account::passkeys::Ceremony,
    started_at: i64,
}

impl Expires for KeptCeremony {
    const TTL: i64 = PASSKEY_CEREMONY_TTL;
    fn made_at(&self) -> i64 {
        self.started_at
    }
}

/// Keeps the state of a passkey prompt (one at a time) until the browser answers it: for a
/// session that is signed in or half-way (registration, second factor). A prompt to sign in
/// with a passkey alone is sealed in the browser instead (`web::passkeys`).
pub async fn put_passkey_ceremony(
    session: &Session,
    ceremony: crate::account::passkeys::Ceremony,
    now: i64,
) -> Result<(), SessionError> {
    keep_anonymous_short(session).await?;
    let kept = KeptCeremony {
        ceremony,
        started_at: now,
    };
    session.insert(PASSKEY_CEREMONY, kept).await?;
    Ok(())
}

/// The passkey prompt's state, taken: an answer is checked once.
pub async fn take_passkey_ceremony(
    session: &Session,
    now: i64,
) -> Result<Option<crate::account::passkeys::Ceremony>, SessionError> {
    let kept: Option<KeptCeremony> = session.remove(PASSKEY_CEREMONY).await?;
    Ok(fresh(kept, now).map(|k| k.ceremony))
}

const ROUND_TRIPS: &str = "upstream";
/// Round trips to providers at once (tabs); older ones are dropped first.
const MAX_ROUND_TRIPS: usize = 4;
const PENDING_LINK: &str = "pending_link";

/// Keeps a round trip to a provider under its `state` until the provider sends the person back.
pub async fn put_round_trip(session: &Session, trip: RoundTrip) -> Result<(), SessionError> {
    keep_anonymous_short(session).await?;
    let mut all: HashMap<String, RoundTrip> = session.get(ROUND_TRIPS).await?.unwrap_or_default();
    while all.len() >= MAX_ROUND_TRIPS {
        let oldest = all
            .iter()
            .min_by_key(|(_, t)| t.started_at)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => all.remove(&k),
            None => break,
        };
    }
    all.insert(trip.state.clone(), trip);
    session.insert(ROUND_TRIPS, all).await?;
    Ok(())
}

/// The round trip of this `state`, taken: a `state` is good for one callback only. Compared
/// in constant time, since it is what binds the callback to this browser.
pub async fn take_round_trip(
    session: &Session,
    state: &str,
) -> Result<Option<RoundTrip>, SessionError> {
    let Some(mut all) = session
        .get::<HashMap<String, RoundTrip>>(ROUND_TRIPS)
        .await?
    else {
        return Ok(None);
    };
    let key = all
        .keys()
        .find(|k| !state.is_empty() && bool::from(k.as_bytes().ct_eq(state.as_bytes())))
        .cloned();
    let taken = key.and_then(|k| all.remove(&k));
    if taken.is_some() {
        session.insert(ROUND_TRIPS, all).await?;
    }
    Ok(taken)
}

pub async fn put_pending_link(session: &Session, link: &PendingLink) -> Result<(), SessionError> {
    keep_anonymous_short(session).await?;
    session.insert(PENDING_LINK, link).await?;
    Ok(())
}

/// The link waiting for confirmation, unless it is too old.
pub async fn pending_link(
    session: &Session,
    now: i64,
) -> Result<Option<PendingLink>, SessionError> {
    Ok(fresh(session.get(PENDING_LINK).await?, now))
}

pub async fn forget_pending_link(session: &Session) -> Result<(), SessionError> {
    session.remove::<PendingLink>(PENDING_LINK).await?;
    Ok(())
}

const CODES_TO_SHOW: &str = "codes_to_show";

/// Recovery codes (sealed) that the next page shows once.
pub async fn put_codes_to_show(session: &Session, sealed: &str) -> Result<(), SessionError> {
    session.insert(CODES_TO_SHOW, sealed).await?;
    Ok(())
}

pub async fn take_codes_to_show(session: &Session) -> Result<Option<String>, SessionError> {
    Ok(session.remove(CODES_TO_SHOW).await?)
}
