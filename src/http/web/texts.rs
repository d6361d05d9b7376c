//! Every text of the pages, in Korean and English.

use super::i18n::Lang;

/// Every text shown on the pages, in one language.
#[derive(Debug)]
pub struct Texts {
    /// The language tag, for `<html lang>`.
    pub lang: &'static str,
    pub site_name: &'static str,
    /// The self-service pages' texts.
    pub acct: &'static super::texts_account::AccountTexts,
    /// Passkey failures and second-factor offers.
    pub pk: &'static super::texts_passkeys::PasskeyTexts,

    pub login_title: &'static str,
    /// Followed by the client's name.
    pub login_intro_for_client: &'static str,
    pub username_label: &'static str,
    pub password_label: &'static str,
    pub login_button: &'static str,
    pub no_account: &'static str,
    pub signup_link: &'static str,
    /// The same for an unknown user and a wrong password.
    pub invalid_credentials: &'static str,
    /// Followed by a number and `seconds_suffix`; see [`Texts::throttled_message`].
    pub throttled: &'static str,
    pub seconds_suffix: &'static str,
    pub csrf_failed: &'static str,

    pub consent_title: &'static str,
    /// Follows the client's name directly (the English text starts with a space).
    pub consent_intro: &'static str,
    pub consent_scopes_heading: &'static str,
    pub allow_button: &'static str,
    pub deny_button: &'static str,
    /// Followed by the user's name.
    pub signed_in_as: &'static str,

    pub signup_title: &'static str,
    /// The sign-up form's username label (the login form's also accepts an email).
    pub signup_username_label: &'static str,
    pub username_hint: &'static str,
    pub email_label: &'static str,
    pub name_label: &'static str,
    /// Marks an optional field, after its label.
    pub optional: &'static str,
    pub password_hint: &'static str,
    pub signup_button: &'static str,
    pub have_account: &'static str,
    pub login_link: &'static str,

    pub logout_title: &'static str,
    pub logout_question: &'static str,
    pub logout_button: &'static str,
    pub logged_out: &'static str,

    pub signed_in_title: &'static str,
    pub signed_in_message: &'static str,

    pub error_title: &'static str,
    /// A generic message for unexpected failures.
    pub error_generic: &'static str,
    /// For a request that is malformed, unknown or expired.
    pub error_bad_request: &'static str,
    pub request_id_label: &'static str,
    pub back_link: &'static str,

    // Sign-up validation.
    pub username_invalid: &'static str,
    pub email_invalid: &'static str,
    pub password_too_short: &'static str,
    pub password_too_long: &'static str,
    pub password_common: &'static str,
    pub name_too_long: &'static str,
    /// Does not say whether the username or the email is taken.
    pub signup_unavailable: &'static str,
    pub signup_disabled: &'static str,
    /// The sign-in request is unknown here (expired, used, or from another browser).
    pub request_expired: &'static str,
    /// Our own failure: storage or signing unavailable.
    pub try_again_later: &'static str,
    /// Too many attempts, without a count of seconds.
    pub too_many_attempts: &'static str,

    // Upstream providers (federation).
    /// Between the password form and the provider buttons.
    pub or_divider: &'static str,
    pub google_button: &'static str,
    pub kakao_button: &'static str,
    pub naver_button: &'static str,
    /// A generic provider's button: `{before}{name}{after}`.
    pub provider_button_before: &'static str,
    pub provider_button_after: &'static str,
    /// Messages after a round trip, each after the provider's name and a colon.
    pub upstream_refused: &'static str,
    pub upstream_failed: &'static str,
    pub upstream_timeout: &'static str,
    pub upstream_invalid: &'static str,
    /// The request demands a fresh sign-in that the provider cannot prove.
    pub upstream_not_fresh: &'static str,
    pub upstream_expired: &'static str,
    pub account_unavailable: &'static str,
    pub linked_elsewhere: &'static str,
    pub provider_taken: &'static str,
    pub back_to_login: &'static str,
    pub back_to_account: &'static str,
    // Linking an upstream account to an existing one.
    pub link_title: &'static str,
    /// Followed by the provider's name.
    pub link_intro: &'static str,
    pub link_explain: &'static str,
    pub link_with_password: &'static str,
    pub link_with_provider: &'static str,
    pub link_cancel: &'static str,
    // The account page.
    pub account_title: &'static str,
    pub account_link: &'static str,
    pub methods_heading: &'static str,
    pub password_method: &'static str,
    pub unlink_button: &'static str,
    pub link_more_heading: &'static str,
    pub unlink_last_refused: &'static str,
}

impl Texts {
    /// "Too many attempts. Try again in 30 seconds." in this language.
    pub fn throttled_message(&self, seconds: u64) -> String {
        if self.lang == "ko" {
            format!("{} {}{}", self.throttled, seconds, self.seconds_suffix)
        } else {
            format!("{} {} {}.", self.throttled, seconds, self.seconds_suffix)
        }
    }
}

pub static KO: Texts = Texts {
    lang: "ko",
    site_name: "문지기",
    acct: &super::texts_account::KO,
    pk: &super::texts_passkeys::KO,

    login_title: "로그인",
    login_intro_for_client: "다음 서비스로 계속하려면 로그인하세요:",
    username_label: "아이디 또는 이메일",
    password_label: "비밀번호",
    login_button: "로그인",
    no_account: "아직 계정이 없으신가요?",
    signup_link: "회원가입",
    invalid_credentials: "아이디 또는 비밀번호가 올바르지 않습니다.",
    throttled: "시도 횟수가 너무 많습니다. 다음 시간 후에 다시 시도하세요:",
    seconds_suffix: "초",
    csrf_failed: "페이지의 유효 시간이 지났습니다. 다시 시도하세요.",

    consent_title: "접근 권한 요청",
    consent_intro: "에서 회원님의 계정에 접근하려고 합니다.",
    consent_scopes_heading: "요청한 권한",
    allow_button: "동의",
    deny_button: "거부",
    signed_in_as: "로그인한 계정:",

    signup_title: "회원가입",
    signup_username_label: "아이디",
    username_hint: "3~32자의 영문, 숫자, '.', '_', '-'",
    email_label: "이메일",
    name_label: "이름",
    optional: "(선택)",
    password_hint: "8자 이상",
    signup_button: "가입하기",
    have_account: "이미 계정이 있으신가요?",
    login_link: "로그인",

    logout_title: "로그아웃",
    logout_question: "로그아웃하시겠습니까?",
    logout_button: "로그아웃",
    logged_out: "로그아웃되었습니다.",

    signed_in_title: "로그인 완료",
    signed_in_message: "로그인되어 있습니다.",

    error_title: "문제가 발생했습니다",
    error_generic: "예기치 않은 오류가 발생했습니다. 잠시 후 다시 시도하세요.",
    error_bad_request: "요청이 올바르지 않거나 만료되었습니다. 처음부터 다시 시도하세요.",
    request_id_label: "요청 ID",
    back_link: "처음으로 돌아가기",

    username_invalid: "아이디는 3~32자의 영문, 숫자, '.', '_', '-'만 사용할 수 있습니다.",
    email_invalid: "올바른 이메일 주소를 입력하세요.",
    password_too_short: "비밀번호는 8자 이상이어야 합니다.",
    password_too_long: "비밀번호가 너무 깁니다.",
    password_common: "너무 흔하거나 추측하기 쉬운 비밀번호입니다. 다른 비밀번호를 고르세요.",
    name_too_long: "이름은 100자까지 쓸 수 있습니다.",
    signup_unavailable: "이 아이디 또는 이메일은 사용할 수 없습니다.",
    signup_disabled: "현재 회원가입을 받지 않습니다.",
    request_expired: "로그인 요청이 만료되었거나 이미 사용되었습니다. 앱으로 돌아가 다시 시도하세요.",
    try_again_later: "일시적인 문제로 요청을 처리하지 못했습니다. 잠시 후 다시 시도하세요.",
    too_many_attempts: "시도가 너무 많습니다. 잠시 후 다시 시도하세요.",

    or_divider: "또는",
    google_button: "Google 계정으로 로그인",
    kakao_button: "카카오 로그인",
    naver_button: "네이버 로그인",
    provider_button_before: "",
    provider_button_after: " 계정으로 로그인",
    upstream_refused: "로그인이 취소되었습니다.",
    upstream_failed: "로그인을 완료하지 못했습니다. 잠시 후 다시 시도하세요.",
    upstream_timeout: "응답이 없어 로그인을 완료하지 못했습니다. 잠시 후 다시 시도하세요.",
    upstream_invalid: "받은 로그인 정보를 확인할 수 없어 로그인을 중단했습니다.",
    upstream_not_fresh: "이 서비스는 방금 다시 로그인했는지 확인해야 하는데, 이 로그인 방법으로는 그것을 확인할 수 없습니다. 다른 방법으로 로그인하세요.",
    upstream_expired: "로그인 요청이 만료되었거나 이미 사용되었습니다. 다시 시도하세요.",
    account_unavailable: "이 계정은 사용할 수 없습니다.",
    linked_elsewhere: "이 계정은 이미 다른 문지기 계정에 연결되어 있습니다.",
    provider_taken: "같은 서비스의 다른 계정이 이미 연결되어 있습니다. 먼저 연결을 해제하세요.",
    back_to_login: "로그인 화면으로 돌아가기",
    back_to_account: "내 계정으로 돌아가기",
    link_title: "계정 연결",
    link_intro: "같은 이메일 주소를 쓰는 문지기 계정이 이미 있습니다. 연결할 계정:",
    link_explain: "본인의 계정임을 확인하기 위해 그 계정으로 한 번 로그인하세요. 로그인하면 두 계정이 연결되어 다음부터 어느 쪽으로든 로그인할 수 있습니다.",
    link_with_password: "로그인하고 연결",
    link_with_provider: "이미 연결된 서비스로 확인:",
    link_cancel: "연결하지 않고 돌아가기",
    account_title: "내 계정",
    account_link: "내 계정",
    methods_heading: "로그인 수단",
    password_method: "비밀번호",
    unlink_button: "연결 해제",
    link_more_heading: "다른 서비스 연결",
    unlink_last_refused: "마지막 로그인 수단은 해제할 수 없습니다.",
};

pub static EN: Texts = Texts {
    lang: "en",
    site_name: "munjigi",
    acct: &super::texts_account::EN,
    pk: &super::texts_passkeys::EN,

    login_title: "Sign in",
    login_intro_for_client: "Sign in to continue to",
    username_label: "Username or email",
    password_label: "Password",
    login_button: "Sign in",
    no_account: "No account yet?",
    signup_link: "Create one",
    invalid_credentials: "The username or password is incorrect.",
    throttled: "Too many attempts. Try again in",
    seconds_suffix: "seconds",
    csrf_failed: "Your form expired. Please try again.",

    consent_title: "Allow access?",
    consent_intro: " wants to access your account.",
    consent_scopes_heading: "It is asking for:",
    allow_button: "Allow",
    deny_button: "Deny",
    signed_in_as: "Signed in as",

    signup_title: "Create an account",
    signup_username_label: "Username",
    username_hint: "3–32 letters, digits, '.', '_' or '-'",
    email_label: "Email",
    name_label: "Name",
    optional: "(optional)",
    password_hint: "At least 8 characters",
    signup_button: "Create account",
    have_account: "Already have an account?",
    login_link: "Sign in",

    logout_title: "Sign out",
    logout_question: "Do you want to sign out?",
    logout_button: "Sign out",
    logged_out: "You have been signed out.",

    signed_in_title: "Signed in",
    signed_in_message: "You are signed in.",

    error_title: "Something went wrong",
    error_generic: "An unexpected error occurred. Please try again later.",
    error_bad_request: "The request is invalid or has expired. Please start again.",
    request_id_label: "Request ID",
    back_link: "Back to the start",

    username_invalid: "Usernames are 3–32 letters, digits, '.', '_' or '-'.",
    email_invalid: "Enter a valid email address.",
    password_too_short: "The password must be at least 8 characters.",
    password_too_long: "The password is too long.",
    password_common: "That password is too common or too easy to guess. Please choose another.",
    name_too_long: "The name can be at most 100 characters.",
    signup_unavailable: "That username or email cannot be used.",
    signup_disabled: "Sign-up is currently closed.",
    request_expired: "This sign-in request has expired or was already used. Go back to the app and try again.",
    try_again_later: "We could not complete your request just now. Please try again in a moment.",
    too_many_attempts: "Too many attempts. Please try again later.",

    or_divider: "or",
    google_button: "Sign in with Google",
    kakao_button: "Login with Kakao",
    naver_button: "Log in with NAVER",
    provider_button_before: "Sign in with ",
    provider_button_after: "",
    upstream_refused: "the sign-in was cancelled.",
    upstream_failed: "the sign-in could not be completed. Please try again in a moment.",
    upstream_timeout: "no answer came in time. Please try again in a moment.",
    upstream_invalid: "its answer could not be verified, so the sign-in was stopped.",
    upstream_not_fresh: "this app asks you to sign in again just now, and this way of signing in cannot confirm that you did. Please sign in another way.",
    upstream_expired: "this sign-in has expired or was already used. Please try again.",
    account_unavailable: "this account cannot be used.",
    linked_elsewhere: "this account is already linked to another munjigi account.",
    provider_taken: "another account of this service is already linked. Unlink it first.",
    back_to_login: "Back to sign-in",
    back_to_account: "Back to your account",
    link_title: "Link your accounts",
    link_intro: "A munjigi account already uses the same email address. Account to link:",
    link_explain: "To show it is yours, sign in to that account once. The two are then linked, and you can sign in either way from now on.",
    link_with_password: "Sign in and link",
    link_with_provider: "Or confirm with a service already linked:",
    link_cancel: "Go back without linking",
    account_title: "Your account",
    account_link: "Your account",
    methods_heading: "Ways to sign in",
    password_method: "Password",
    unlink_button: "Unlink",
    link_more_heading: "Link another service",
    unlink_last_refused: "You cannot remove your last way to sign in.",
};

/// What a scope grants, in plain words.
pub fn scope_description(lang: Lang, scope: &str) -> &'static str {
    match (lang, scope) {
        (Lang::Ko, "openid") => "회원님이 누구인지 확인",
        (Lang::Ko, "profile") => "이름과 아이디",
        (Lang::Ko, "email") => "이메일 주소",
        (Lang::Ko, "offline_access") => "로그아웃 상태에서도 계속 접근",
        (Lang::Ko, "roles") => "회원님의 역할(일반 사용자 또는 관리자)",
        (Lang::Ko, "admin") => "관리자 권한으로 munjigi 관리(관리자 계정만)",
        (Lang::Ko, _) => "기타 권한",
        (Lang::En, "openid") => "Confirm who you are",
        (Lang::En, "profile") => "Your name and username",
        (Lang::En, "email") => "Your email address",
        (Lang::En, "offline_access") => "Keep access while you are away",
        (Lang::En, "roles") => "Your role (user or administrator)",
        (Lang::En, "admin") => "Administer munjigi (administrator accounts only)",
        (Lang::En, _) => "Other access",
    }
}
