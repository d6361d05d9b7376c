//! Completing a sign-in, for every way in: a password, an upstream provider, a passkey, a
//! second factor, a new account. Each page proves something and hands it here; this module
//! decides what that proof is worth — signed in, a second factor still to give, an upstream
//! identity waiting for the person to prove the account is theirs, or refused — records the
//! audit event where it decides, and stores a pending link only once the whole sign-in,
//! second factor included, has succeeded. One http function maps the `Outcome` to a response,
//! as `/authorize` maps `oauth::authorize::Next`.
//!
//! It sits above `account` and `federation` (it needs both) and below `http`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::account::links::Links;
use crate::account::second_factor::{SecondFactorError, SecondFactors, Used};
use crate::account::sign_in::{PasswordSignInError, SignIn};
use crate::audit::{Audit, Event, EventKind};
use crate::federation::link::{LinkError, PendingLink, Told, link_and_tell};
use crate::federation::{Federation, UpstreamIdentity, UpstreamOutcome};

pub use crate::federation::{Back, Failure};
use crate::store::StoreError;

/// A first factor waits this long for its second.
pub const SECOND_FACTOR_TTL: i64 = 5 * 60;

/// What the sign-in domain needs: the account's second factors, mail and accounts (`links`),
/// the providers (for their names in mail), the audit trail, and the time.
pub struct SignIns<'a> {
    pub second_factors: SecondFactors<'a>,
    pub links: Links<'a>,
    pub federation: &'a Federation,
    pub audit: &'a Audit,
    pub now: i64,
}

/// Where the sign-in happens: for the audit trail and the language of any mail.
#[derive(Clone, Debug)]
pub struct Place {
    pub ip: IpAddr,
    /// The client of the pending authorization request, if any.
    pub client_id: Option<String>,
    pub lang: &'static str,
}

/// A first factor just proved: who, and what else completes with the sign-in.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub sign_in: SignIn,
    /// The pending authorization request to resume afterwards (may be empty).
    pub request_id: String,
    /// An upstream identity to link to the account once the sign-in is complete.
    pub link: Option<UpstreamIdentity>,
}

impl Attempt {
    pub fn new(sign_in: SignIn, request_id: &str) -> Self {
        Self {
            sign_in,
            request_id: request_id.to_owned(),
            link: None,
        }
    }
}

/// A sign-in that has its first factor and waits for the second (or a current sign-in that
/// must add one for a request), with the request it is for and the link it would complete.
/// Kept in the browser session; nothing of it is stored before the second factor is given.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AwaitingSecondFactor {
    pub sign_in: SignIn,
    pub request_id: String,
    pub started_at: i64,
    /// The upstream identity to link once the second factor is given (`/login/link`).
    #[serde(default)]
    pub link: Option<UpstreamIdentity>,
}

/// A first factor is good for `SECOND_FACTOR_TTL` (`clock::fresh`).
impl crate::clock::Expires for AwaitingSecondFactor {
    const TTL: i64 = SECOND_FACTOR_TTL;
    fn made_at(&self) -> i64 {
        self.started_at
    }
}

/// What a completed step of a sign-in leads to.
#[derive(Debug)]
pub enum Outcome {
    /// Signed in: renew the session and go back to the pending request (or home).
    SignedIn { sign_in: SignIn, request_id: String },
    /// The account has a second factor still to give: keep this in the session and ask.
    NeedsSecondFactor(AwaitingSecondFactor),
    /// An account has the address an upstream provider vouched for: keep the link pending
    /// and ask the person to prove the account is theirs.
    ConfirmLink(PendingLink),
    /// A provider was linked to the signed-in account from the account page.
    Linked,
    /// Refused; `provider` is the upstream provider's id, when one was involved.
    Refused {
        provider: Option<String>,
        why: Failure,
        back: Back,
    },
}

impl SignIns<'_> {
    /// Checks a password (see `Accounts::sign_in_with_password`) and records a failure or a
    /// lockout, with the name tried (no account may match it). A success is recorded when the
    /// sign-in completes.
    pub async fn password(
        &self,
        login: &str,
        password: String,
        place: &Place,
    ) -> Result<SignIn, PasswordSignInError> {
        let attempt = self
            .links
            .accounts
            .sign_in_with_password(login, password, Some(place.ip), self.now)
            .await;
        let kind = match &attempt {
            Err(PasswordSignInError::Invalid) => EventKind::SignInFailed,
            Err(PasswordSignInError::Throttled(_)) => EventKind::Lockout,
            _ => return attempt,
        };
        // Bounded: the name is whatever was typed.
        let login: String = login.trim().chars().take(64).collect();
        let event = Event::new(kind)
            .client(place.client_id.as_deref())
            .ip(place.ip)
            .with("method", "password")
            .with("login", login);
        self.audit.record(event, self.now);
        attempt
    }

    /// Confirms a pending link with the account's password. Both are proved then (the
    /// provider a moment ago, the password now: `amr` `pwd` and `fed`), and the sign-in
    /// completes — its second factor included — before the identity is linked.
    pub async fn link_with_password(
        &self,
        link: PendingLink,
        password: String,
        place: &Place,
    ) -> Result<Outcome, PasswordSignInError> {
        let Some(owner) = self.links.accounts.active_user(&link.user_id).await? else {
            return Ok(Outcome::Refused {
                provider: Some(link.identity.provider),
                why: Failure::Link(LinkError::Disabled),
                back: Back::Login(link.request_id),
            });
        };
        let mut sign_in = self.password(&owner.username, password, place).await?;
        sign_in.amr.push("fed".into());
        sign_in.idp = Some(link.identity.provider.clone());
        let attempt = Attempt {
            sign_in,
            request_id: link.request_id,
            link: Some(link.identity),
        };
        Ok(self.complete(attempt, place).await?)
    }

    /// A code from the authenticator app (or a recovery code) for the waiting sign-in: the
    /// sign-in completes, or the failure is recorded and returned.
    pub async fn code_given(
        &self,
        waiting: AwaitingSecondFactor,
        code: &str,
        place: &Place,
    ) -> Result<Outcome, SecondFactorError> {
        let user_id = waiting.sign_in.user_id.clone();
        let checked = self
            .second_factors
            .check(&user_id, code, place.ip, self.now)
            .await;
        match checked {
            Ok(used) => {
                let methods = crate::oauth::acr::one_time_code();
                Ok(self
                    .second_factor_given(waiting, &methods, Some(used), place)
                    .await?)
            }
            Err(e) => {
                let kind = match e {
                    SecondFactorError::Throttled(_) => EventKind::Lockout,
                    _ => EventKind::SignInFailed,
                };
                let event = Event::new(kind)
                    .user(user_id)
                    .client(place.client_id.as_deref())
                    .ip(place.ip)
                    .with("method", "otp");
                self.audit.record(event, self.now);
                Err(e)
            }
        }
    }

    /// A first factor proved: signed in, or a second factor still to give.
    pub async fn complete(&self, attempt: Attempt, place: &Place) -> Result<Outcome, StoreError> {
        if self.must_give_second_factor(&attempt.sign_in).await? {
            return Ok(Outcome::NeedsSecondFactor(AwaitingSecondFactor {
                sign_in: attempt.sign_in,
                request_id: attempt.request_id,
                started_at: self.now,
                link: attempt.link,
            }));
        }
        self.finish(attempt.sign_in, attempt.request_id, attempt.link, place)
            .await
    }

    /// A current sign-in that a request asks to add a second factor (step-up): it waits for
    /// the factor as a first factor does.
    pub fn step_up(&self, sign_in: SignIn, request_id: &str) -> AwaitingSecondFactor {
        AwaitingSecondFactor {
            sign_in,
            request_id: request_id.to_owned(),
            started_at: self.now,
            link: None,
        }
    }

    /// The second factor (`methods`, RFC 8176) of a waiting sign-in was given.
    pub async fn second_factor_given(
        &self,
        waiting: AwaitingSecondFactor,
        methods: &[String],
        used: Option<Used>,
        place: &Place,
    ) -> Result<Outcome, StoreError> {
        let sign_in = waiting.sign_in.with_second_factor(methods, self.now);
        if used == Some(Used::RecoveryCode) {
            let event = Event::new(EventKind::Account)
                .user(sign_in.user_id.clone())
                .ip(place.ip)
                .with("action", "recovery_code_used");
            self.audit.record(event, self.now);
        }
        self.finish(sign_in, waiting.request_id, waiting.link, place)
            .await
    }

    /// A round trip to an upstream provider came back (`federation::Federation::callback`).
    pub async fn upstream(
        &self,
        upstream: UpstreamOutcome,
        place: &Place,
    ) -> Result<Outcome, StoreError> {
        match upstream {
            UpstreamOutcome::SignIn {
                sign_in,
                request_id,
                link,
            } => {
                let attempt = Attempt {
                    sign_in,
                    request_id,
                    link,
                };
                self.complete(attempt, place).await
            }
            UpstreamOutcome::ConfirmLink(link) => Ok(Outcome::ConfirmLink(link)),
            UpstreamOutcome::Linked => Ok(Outcome::Linked),
            // The provider's own failures are recorded where the round trip ended.
            UpstreamOutcome::Failed {
                provider,
                why,
                back,
            } => Ok(Outcome::Refused {
                provider: Some(provider),
                why,
                back,
            }),
        }
    }

    /// Whether `sign_in` must still give a second factor of the account's own: the account
    /// has one, and the sign-in has not given it here. An upstream provider's `mfa` does not
    /// stand in for it: the account's own factor is what its owner chose to require.
    pub async fn must_give_second_factor(&self, sign_in: &SignIn) -> Result<bool, StoreError> {
        if sign_in.gave_own_second_factor() {
            return Ok(false);
        }
        self.second_factors.enrolled(&sign_in.user_id).await
    }

    /// The sign-in is complete: the pending link is stored now (and its owner told), and the
    /// sign-in recorded.
    async fn finish(
        &self,
        sign_in: SignIn,
        request_id: String,
        link: Option<UpstreamIdentity>,
        place: &Place,
    ) -> Result<Outcome, StoreError> {
        if let Some(identity) = &link {
            let told = Told {
                ip: place.ip,
                lang: place.lang,
                now: self.now,
            };
            let linked = link_and_tell(
                &self.links,
                self.federation,
                self.audit,
                &sign_in.user_id,
                identity,
                &told,
            )
            .await;
            match linked {
                Ok(()) => {}
                Err(LinkError::Store(e)) => return Err(e),
                Err(e) => {
                    return Ok(Outcome::Refused {
                        provider: Some(identity.provider.clone()),
                        why: Failure::Link(e),
                        back: Back::Login(request_id),
                    });
                }
            }
        }
        let event = Event::new(EventKind::SignIn)
            .user(sign_in.user_id.clone())
            .client(place.client_id.as_deref())
            .ip(place.ip)
            .with("method", sign_in.method())
            .with("amr", sign_in.amr.clone());
        self.audit.record(event, sign_in.auth_time);
        Ok(Outcome::SignedIn {
            sign_in,
            request_id,
        })
    }
}
