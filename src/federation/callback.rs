//! The provider sends the person back: what the round trip proves, decided once. The round
//! trip must be this browser's, for this provider and recent; the provider's answer must
//! verify (and prove a fresh sign-in when the request demanded one); then its purpose decides
//! — a sign-in (with a link to store once the sign-in is complete, when addresses match and
//! linking on verified addresses is on), a link waiting for the person to prove the account
//! is theirs, a link confirmed with a provider already linked, or a provider linked from the
//! account page.

use std::net::IpAddr;

use crate::account::links::Links;
use crate::account::sign_in::SignIn;
use crate::audit::{Audit, Event, EventKind};

use super::link::{LinkError, PendingLink, Policy, Resolution, Told, link_and_tell};
use super::{Callback, Federation, FederationError, Purpose, RoundTrip};
use super::{UpstreamIdentity, UpstreamOutcome};
use crate::clock::fresh;

/// Where a refused upstream sign-in leads back to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Back {
    /// The login page, for this pending request (may be empty).
    Login(String),
    /// The account page (linking a provider from there).
    Account,
}

/// Why a round trip (or the link it brought) did not sign anyone in.
#[derive(Debug)]
pub enum Failure {
    /// The round trip, the pending link or the waiting sign-in is gone (expired, used, from
    /// another browser, for another person).
    Expired,
    /// The provider failed, refused, or could not prove what the request demanded.
    Provider(FederationError),
    /// The identity cannot be linked (or its account is disabled).
    Link(LinkError),
}

/// What came back, and what this browser's session holds for it.
pub struct Return<'a> {
    /// The provider of the callback's path.
    pub provider: &'a str,
    pub callback: &'a Callback,
    /// The round trip the session kept under the callback's `state` (taken: one use).
    pub trip: Option<RoundTrip>,
    /// Who is signed in on this browser, if anyone.
    pub signed_in_user: Option<&'a str>,
    /// The link waiting for confirmation in this session, if any.
    pub pending_link: Option<PendingLink>,
    pub ip: IpAddr,
    /// The page's language, for the mail a link sends.
    pub lang: &'a str,
    pub now: i64,
}

impl Federation {
    /// Decides what a provider's redirect back proves (see the module's doc). Store errors
    /// are the only `Err`.
    pub async fn callback(
        &self,
        links: &Links<'_>,
        audit: &Audit,
        back: Return<'_>,
    ) -> Result<UpstreamOutcome, crate::store::StoreError> {
        let now = back.now;
        let request_id = back
            .trip
            .as_ref()
            .map_or_else(String::new, |t| t.request_id.clone());
        let fail = |why: Failure, to: Back| UpstreamOutcome::Failed {
            provider: back.provider.to_owned(),
            why,
            back: to,
        };
        // A callback without its round trip (forged, replayed, from another browser) or for
        // another provider goes no further.
        let Some(trip) = fresh(back.trip, now).filter(|t| t.provider == back.provider) else {
            return Ok(fail(Failure::Expired, Back::Login(request_id)));
        };
        let to = match &trip.purpose {
            Purpose::Link { .. } => Back::Account,
            _ => Back::Login(request_id.clone()),
        };
        let identity = match self.finish(&trip, back.callback, now).await {
            Ok(identity) => identity,
            Err(e) => {
                let event = Event::new(EventKind::SignInFailed)
                    .ip(back.ip)
                    .with("method", back.provider)
                    .with("reason", e.reason());
                audit.record(event, now);
                return Ok(fail(Failure::Provider(e), to));
            }
        };
        let accounts = &links.accounts;
        let linked_failure = |e: LinkError, to: Back| match e {
            LinkError::Store(e) => Err(e),
            e => Ok(fail(Failure::Link(e), to)),
        };
        match trip.purpose {
            Purpose::SignIn => {
                let Some(connector) = self.connector(back.provider) else {
                    return Ok(fail(Failure::Expired, to));
                };
                let policy = Policy {
                    vouches_for_email: connector.vouches_for_email(),
                    link_verified_email: self.link_verified_email,
                };
                let resolution = match accounts.resolve_upstream(&identity, &policy, now).await {
                    Ok(resolution) => resolution,
                    Err(e) => return linked_failure(e, to),
                };
                Ok(match resolution {
                    Resolution::SignIn { user_id, link, .. } => UpstreamOutcome::SignIn {
                        sign_in: signed_in_upstream(user_id, &identity, now),
                        request_id,
                        link: link.then_some(identity),
                    },
                    Resolution::ConfirmLink { user_id } => {
                        UpstreamOutcome::ConfirmLink(PendingLink {
                            identity,
                            user_id,
                            request_id,
                            created_at: now,
                        })
                    }
                })
            }
            Purpose::Link { user_id } => {
                // Only for the person who started it, still signed in.
                if back.signed_in_user != Some(user_id.as_str()) {
                    return Ok(fail(Failure::Expired, Back::Account));
                }
                let told = Told {
                    ip: back.ip,
                    lang: back.lang,
                    now,
                };
                let linked = link_and_tell(links, self, audit, &user_id, &identity, &told).await;
                match linked {
                    Ok(()) => Ok(UpstreamOutcome::Linked),
                    Err(e) => linked_failure(e, Back::Account),
                }
            }
            Purpose::ConfirmLink => {
                let Some(link) = fresh(back.pending_link, now) else {
                    return Ok(fail(Failure::Expired, to));
                };
                // The provider must name the account being linked to, and nobody else.
                let owner = match accounts.linked_user(&identity).await {
                    Ok(owner) => owner,
                    Err(e) => return linked_failure(e, to),
                };
                let Some(owner) = owner.filter(|o| *o == link.user_id) else {
                    return linked_failure(LinkError::LinkedElsewhere, to);
                };
                Ok(UpstreamOutcome::SignIn {
                    sign_in: signed_in_upstream(owner, &identity, now),
                    request_id: link.request_id,
                    link: Some(link.identity),
                })
            }
        }
    }
}

/// A sign-in through the provider that named `identity`, just now.
fn signed_in_upstream(user_id: String, identity: &UpstreamIdentity, now: i64) -> SignIn {
    SignIn::federated(user_id, &identity.provider, identity.multi_factor, now)
}
