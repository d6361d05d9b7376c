//! The sign-in state machine of one authorization request: from what the request asks, who is
//! signed in and what they consented to before, the one next step. Every stage — the request
//! arriving, a password or upstream sign-in, a consent answer — asks this function again;
//! pages only show what it says and collect answers (docs/decisions.md, "sign-in flow").

use serde::{Deserialize, Serialize};

use crate::oauth::acr;
use crate::oauth::client::Client;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::scope::Scopes;
use crate::oauth::sign_in::SignIn;

use super::request::AuthorizationRequest;

/// An authorization request waiting in the browser session for sign-in or consent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    pub request: AuthorizationRequest,
    pub requested_at: i64,
    /// The `sid` of a sign-in completed while this request waited: it satisfies the request's
    /// demands for a fresh sign-in (`prompt=login`, `max_age`), whatever the clock says.
    #[serde(default)]
    pub fresh_sid: Option<String>,
    /// The answer given on the consent page for this request, under which sign-in.
    #[serde(default)]
    pub consent: Option<ConsentAnswer>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsentAnswer {
    pub sid: String,
    pub allowed: bool,
}

impl Pending {
    pub fn new(request: AuthorizationRequest, now: i64) -> Self {
        Self {
            request,
            requested_at: now,
            fresh_sid: None,
            consent: None,
        }
    }

    /// Records that the person signed in while this request waited.
    pub fn signed_in(&mut self, sign_in: &SignIn) {
        self.fresh_sid = Some(sign_in.sid.clone());
    }
}

/// Why the person must sign in (again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginReason {
    NotSignedIn,
    /// `prompt=login` (OIDC Core §3.1.2.1).
    PromptLogin,
    /// The sign-in is older than `max_age`.
    MaxAge,
    /// `id_token_hint` names someone other than who is signed in.
    OtherUser,
}

/// The next step of a pending request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    Login(LoginReason),
    /// The sign-in must add a second factor (the client or the request asks for two).
    SecondFactor,
    /// The client requires two factors and the account has no second factor to offer.
    SetUpSecondFactor,
    Consent,
    /// Issue a code to this sign-in.
    Issue(SignIn),
    /// Answer the client with this error (its redirect URI is already validated).
    Refuse(OAuthError),
}

/// What the decision looks at besides the request itself.
pub struct Situation<'a> {
    /// The browser's sign-in, only if current and its account active.
    pub sign_in: Option<&'a SignIn>,
    /// The subject of a valid `id_token_hint` of ours.
    pub hint_subject: Option<&'a str>,
    pub client: &'a Client,
    /// Scopes the signed-in person granted this client before.
    pub remembered: Option<&'a Scopes>,
    /// Whether the signed-in account has a second factor.
    pub has_second_factor: bool,
    pub now: i64,
}

pub fn next_step(pending: &Pending, situation: &Situation<'_>) -> Next {
    let request = &pending.request;
    let sign_in = match (situation.sign_in, login_reason(pending, situation)) {
        (Some(sign_in), None) => sign_in,
        _ if request.prompt.none => {
            return Next::Refuse(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user must sign in",
            ));
        }
        (_, reason) => return Next::Login(reason.unwrap_or(LoginReason::NotSignedIn)),
    };
    if let Some(next) = second_factor_step(pending, situation, sign_in) {
        return next;
    }
    match &pending.consent {
        Some(answer) if answer.sid == sign_in.sid && answer.allowed => {
            return Next::Issue(sign_in.clone());
        }
        Some(answer) if answer.sid == sign_in.sid => {
            return Next::Refuse(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user denied the request",
            ));
        }
        _ => {}
    }
    if needs_consent(request, situation.client, situation.remembered) {
        if request.prompt.none {
            return Next::Refuse(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user has not consented",
            ));
        }
        return Next::Consent;
    }
    Next::Issue(sign_in.clone())
}

/// Two factors, when the client requires them or the request asks (`acr_values`) and the
/// sign-in has one: the second is asked for if the account has one; otherwise a client that
/// requires two gets nothing, and a request that only asked goes on (`acr` says what it got).
fn second_factor_step(
    pending: &Pending,
    situation: &Situation<'_>,
    sign_in: &SignIn,
) -> Option<Next> {
    let request = &pending.request;
    let required = situation.client.record.require_mfa;
    if !(required || request.asks_for_two_factors()) || acr::is_multi_factor(&sign_in.amr) {
        return None;
    }
    if !situation.has_second_factor && !required {
        return None;
    }
    if request.prompt.none {
        return Some(Next::Refuse(OAuthError::new(
            ErrorCode::InteractionRequired,
            "the user must sign in with a second factor",
        )));
    }
    Some(if situation.has_second_factor {
        Next::SecondFactor
    } else {
        Next::SetUpSecondFactor
    })
}

/// Whether the person must (re-)authenticate before this request can go on (OIDC Core
/// §3.1.2.1 `prompt=login`, `max_age`, `id_token_hint`).
fn login_reason(pending: &Pending, situation: &Situation<'_>) -> Option<LoginReason> {
    let Some(sign_in) = situation.sign_in else {
        return Some(LoginReason::NotSignedIn);
    };
    let request = &pending.request;
    let fresh = pending.fresh_sid.as_deref() == Some(sign_in.sid.as_str());
    if request.prompt.login && !fresh {
        return Some(LoginReason::PromptLogin);
    }
    // `max_age=0` is `prompt=login` (OIDC Core §3.1.2.1): a sign-in made in this very second,
    // but not for this request, is not fresh enough either.
    let too_old = request
        .max_age
        .is_some_and(|max_age| max_age == 0 || situation.now - sign_in.auth_time > max_age);
    if too_old && !fresh {
        return Some(LoginReason::MaxAge);
    }
    if situation
        .hint_subject
        .is_some_and(|sub| sub != sign_in.user_id)
    {
        return Some(LoginReason::OtherUser);
    }
    None
}

/// Whether the person must be asked: always with `prompt=consent`, never for first-party
/// clients, otherwise unless an earlier consent covers every requested scope.
fn needs_consent(
    request: &AuthorizationRequest,
    client: &Client,
    remembered: Option<&Scopes>,
) -> bool {
    if request.prompt.consent {
        return true;
    }
    if client.record.skip_consent {
        return false;
    }
    !remembered.is_some_and(|r| request.scopes().is_subset_of(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::authorize::request::Prompt;
    use crate::oauth::client::fixture;

    fn request() -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "app".into(),
            redirect_uri: "https://app.example.com/cb".into(),
            scope: "openid profile".into(),
            state: Some("s1".into()),
            nonce: None,
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            ui_locales: None,
            id_token_hint: None,
            acr_values: None,
        }
    }

    fn signed_in(user: &str, auth_time: i64, sid: &str) -> SignIn {
        SignIn {
            user_id: user.into(),
            auth_time,
            amr: vec!["pwd".into()],
            sid: sid.into(),
            idp: None,
        }
    }

    fn decide(
        p: &Pending,
        sign_in: Option<&SignIn>,
        hint: Option<&str>,
        remembered: Option<&Scopes>,
    ) -> Next {
        let client = fixture(false);
        next_step(
            p,
            &Situation {
                sign_in,
                hint_subject: hint,
                client: &client,
                remembered,
                has_second_factor: false,
                now: 2000,
            },
        )
    }

    fn decide_mfa(p: &Pending, sign_in: &SignIn, required: bool, enrolled: bool) -> Next {
        let mut client = fixture(false);
        client.record.require_mfa = required;
        let remembered = Scopes::parse("openid profile email");
        next_step(
            p,
            &Situation {
                sign_in: Some(sign_in),
                hint_subject: None,
                client: &client,
                remembered: remembered.as_ref(),
                has_second_factor: enrolled,
                now: 2000,
            },
        )
    }

    #[test]
    fn two_factors_when_the_client_requires_or_the_request_asks() {
        let password = signed_in("u1", 1000, "sid-1");
        let mut both = password.clone();
        both.amr = vec!["pwd".into(), "otp".into(), "mfa".into()];
        let p = Pending::new(request(), 2000);
        assert_eq!(decide_mfa(&p, &password, true, true), Next::SecondFactor);
        assert_eq!(
            decide_mfa(&p, &password, true, false),
            Next::SetUpSecondFactor
        );
        assert!(matches!(decide_mfa(&p, &both, true, true), Next::Issue(_)));
        assert!(
            matches!(decide_mfa(&p, &password, false, true), Next::Issue(_)),
            "nobody asked"
        );
        let mut asks = Pending::new(request(), 2000);
        asks.request.acr_values = Some(acr::TWO_FACTORS.into());
        assert_eq!(
            decide_mfa(&asks, &password, false, true),
            Next::SecondFactor
        );
        assert!(
            matches!(decide_mfa(&asks, &password, false, false), Next::Issue(_)),
            "asked, not required: goes on with one factor"
        );
        let mut none = Pending::new(request(), 2000);
        none.request.prompt.none = true;
        assert_eq!(
            code(&decide_mfa(&none, &password, true, true)),
            Some(ErrorCode::InteractionRequired)
        );
    }

    fn code(next: &Next) -> Option<ErrorCode> {
        match next {
            Next::Refuse(e) => Some(e.code),
            _ => None,
        }
    }

    #[test]
    fn sign_in_comes_first() {
        let p = Pending::new(request(), 2000);
        assert_eq!(
            decide(&p, None, None, None),
            Next::Login(LoginReason::NotSignedIn)
        );
        let mut none = p.clone();
        none.request.prompt.none = true;
        assert_eq!(
            code(&decide(&none, None, None, None)),
            Some(ErrorCode::LoginRequired)
        );
        let alice = signed_in("u1", 1000, "sid-1");
        assert_eq!(decide(&p, Some(&alice), None, None), Next::Consent);
        assert_eq!(
            decide(&p, Some(&alice), Some("u2"), None),
            Next::Login(LoginReason::OtherUser),
            "hint for someone else"
        );
    }

    #[test]
    fn fresh_sign_in_demands_hold_until_a_sign_in_for_this_request() {
        let remembered = Scopes::parse("openid profile email");
        let old = signed_in("u1", 2000, "sid-old");
        let mut p = Pending::new(request(), 2000);
        p.request.prompt.login = true;
        // Same second as the request, yet not a sign-in made for it.
        assert_eq!(
            decide(&p, Some(&old), None, remembered.as_ref()),
            Next::Login(LoginReason::PromptLogin)
        );
        let new = signed_in("u1", 2000, "sid-new");
        p.signed_in(&new);
        assert_eq!(
            decide(&p, Some(&new), None, remembered.as_ref()),
            Next::Issue(new.clone())
        );
        assert_eq!(
            decide(&p, Some(&old), None, remembered.as_ref()),
            Next::Login(LoginReason::PromptLogin),
            "only the sign-in made for the request counts"
        );

        let mut p = Pending::new(request(), 2000);
        p.request.max_age = Some(0);
        let this_second = signed_in("u1", 2000, "sid-0");
        assert_eq!(
            decide(&p, Some(&this_second), None, remembered.as_ref()),
            Next::Login(LoginReason::MaxAge),
            "max_age=0 is prompt=login, even within the second of the last sign-in"
        );
        let stale = signed_in("u1", 1999, "sid-1");
        assert_eq!(
            decide(&p, Some(&stale), None, remembered.as_ref()),
            Next::Login(LoginReason::MaxAge)
        );
        p.request.max_age = Some(500);
        assert!(matches!(
            decide(&p, Some(&stale), None, remembered.as_ref()),
            Next::Issue(_)
        ));
        p.request.max_age = Some(0);
        p.signed_in(&stale);
        assert!(
            matches!(
                decide(&p, Some(&stale), None, remembered.as_ref()),
                Next::Issue(_)
            ),
            "a sign-in for this request satisfies max_age=0 even a second later"
        );
        // A fresh sign-in as the wrong person still does not satisfy the hint.
        assert_eq!(
            decide(&p, Some(&stale), Some("u2"), remembered.as_ref()),
            Next::Login(LoginReason::OtherUser)
        );
    }

    #[test]
    fn consent_rules_and_answers() {
        let alice = signed_in("u1", 1000, "sid-1");
        let remembered = Scopes::parse("openid profile email");
        let mut p = Pending::new(request(), 2000);
        assert_eq!(decide(&p, Some(&alice), None, None), Next::Consent);
        assert!(matches!(
            decide(&p, Some(&alice), None, remembered.as_ref()),
            Next::Issue(_)
        ));
        p.request.prompt.consent = true;
        assert_eq!(
            decide(&p, Some(&alice), None, remembered.as_ref()),
            Next::Consent
        );
        p.consent = Some(ConsentAnswer {
            sid: "sid-1".into(),
            allowed: true,
        });
        assert!(matches!(
            decide(&p, Some(&alice), None, None),
            Next::Issue(_)
        ));
        let bob = signed_in("u2", 1000, "sid-2");
        assert_eq!(
            decide(&p, Some(&bob), None, None),
            Next::Consent,
            "an answer binds only the sign-in that gave it"
        );
        p.consent = Some(ConsentAnswer {
            sid: "sid-1".into(),
            allowed: false,
        });
        assert_eq!(
            code(&decide(&p, Some(&alice), None, None)),
            Some(ErrorCode::AccessDenied)
        );
        let mut none = Pending::new(request(), 2000);
        none.request.prompt.none = true;
        assert_eq!(
            code(&decide(&none, Some(&alice), None, None)),
            Some(ErrorCode::ConsentRequired)
        );
    }
}
