//! Texts about passkeys and what adding a second factor offers, in Korean and English: each
//! passkey failure says what happened and whether trying again can help.

/// One language's passkey texts.
#[derive(Debug)]
pub struct PasskeyTexts {
    /// The prompt waited too long (or was answered twice): trying again works.
    pub prompt_expired: &'static str,
    /// The browser's answer did not check out (or the prompt was cancelled).
    pub refused: &'static str,
    /// No account here has this passkey: trying again with it cannot work.
    pub unknown: &'static str,
    /// The passkey is another account's than the one signing in.
    pub other_account: &'static str,
    /// Refused as a copy of an authenticator; the account's owner is told.
    pub cloned: &'static str,
    /// The sign-in is too old to add a passkey.
    pub sign_in_again: &'static str,
    /// Not signed in (any more).
    pub not_signed_in: &'static str,
    /// The page's form token is stale.
    pub page_expired: &'static str,
    pub already_added: &'static str,
    pub off: &'static str,
    /// The account page: two-step sign-in is on through a passkey.
    pub two_step_by_passkey: &'static str,
    pub new_codes_button: &'static str,
    /// The account page, after a second factor: sessions still signed in with one factor.
    pub one_factor_sessions: &'static str,
    pub end_one_factor_sessions: &'static str,
    pub last_way_in: &'static str,
}

pub static KO: PasskeyTexts = PasskeyTexts {
    prompt_expired: "패스키 확인 시간이 지났습니다. 다시 시도하세요.",
    refused: "패스키를 확인하지 못했습니다. 다시 시도하거나 다른 방법을 쓰세요.",
    unknown: "이 패스키는 여기에 등록되어 있지 않습니다(삭제되었을 수 있습니다). 다시 시도해도 되지 않으니 다른 방법으로 로그인하세요.",
    other_account: "이 패스키는 로그인 중인 계정의 것이 아닙니다. 이 계정의 패스키를 쓰세요.",
    cloned: "복제되었을 수 있는 패스키라서 거부했습니다. 다른 방법으로 로그인하세요. 계정 주소로 알림을 보냈습니다.",
    sign_in_again: "로그인한 지 오래되어 패스키를 추가할 수 없습니다. 다시 로그인한 다음 추가하세요.",
    not_signed_in: "로그인되어 있지 않습니다. 다시 로그인하세요.",
    page_expired: "페이지가 오래되었습니다. 새로 고친 다음 다시 시도하세요.",
    already_added: "이 패스키는 이미 계정에 등록되어 있습니다.",
    off: "이 서버에서는 패스키를 쓸 수 없습니다.",
    two_step_by_passkey: "2단계 인증 사용 중: 패스키",
    new_codes_button: "새 복구 코드 받기",
    one_factor_sessions: "2단계 인증 없이 로그인한 다른 기기가 아직 로그인되어 있습니다:",
    end_one_factor_sessions: "그 기기들에서 로그아웃",
    last_way_in: "마지막 로그인 수단은 삭제할 수 없습니다.",
};

pub static EN: PasskeyTexts = PasskeyTexts {
    prompt_expired: "The passkey prompt expired. Try again.",
    refused: "The passkey could not be checked. Try again, or use another way.",
    unknown: "This passkey is not registered here (it may have been removed). Trying again will not help: sign in another way.",
    other_account: "This passkey belongs to another account than the one signing in. Use a passkey of this account.",
    cloned: "This passkey was refused because it may have been copied. Sign in another way; the account's address has been told.",
    sign_in_again: "Your sign-in is too old to add a passkey. Sign in again, then add it.",
    not_signed_in: "You are not signed in. Sign in again.",
    page_expired: "This page is out of date. Reload it and try again.",
    already_added: "This passkey is already registered for your account.",
    off: "Passkeys cannot be used on this server.",
    two_step_by_passkey: "Two-step sign-in is on: passkey",
    new_codes_button: "Get new recovery codes",
    one_factor_sessions: "Other devices signed in without the second step are still signed in:",
    end_one_factor_sessions: "Sign them out",
    last_way_in: "The last way to sign in cannot be removed.",
};
