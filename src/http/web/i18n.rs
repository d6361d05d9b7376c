//! Interface language: negotiation (`ui_locales`, then `Accept-Language`) and the page texts.

/// The languages the pages are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ko,
    En,
}

impl Lang {
    /// The BCP 47 tag, for `<html lang>` and `Content-Language`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }

    /// The texts of every page in this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Ko => &KO,
            Lang::En => &EN,
        }
    }

    /// The language whose primary subtag (`ko` in `ko-KR`) is `tag`'s, if it is one of ours.
    fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or("").trim();
        if primary.eq_ignore_ascii_case("ko") {
            Some(Lang::Ko)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }
}

/// Picks the page language: the first of the space-separated `ui_locales` (OIDC Core
/// §3.1.2.1) that we speak, else the best of `Accept-Language` (RFC 9110 §12.5.4), else English.
/// Never panics, whatever the input.
pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Lang {
    if let Some(lang) = ui_locales.and_then(from_ui_locales) {
        return lang;
    }
    accept_language
        .and_then(from_accept_language)
        .unwrap_or(Lang::En)
}

fn from_ui_locales(value: &str) -> Option<Lang> {
    value.split_whitespace().find_map(Lang::from_tag)
}

/// A weight in thousandths (`q=0.8` is 800) and the position of the range in the header.
#[derive(Clone, Copy)]
struct Weight {
    q: u16,
    pos: usize,
}

impl Weight {
    /// Higher weight first; at equal weight, the range that came first in the header.
    fn beats(self, other: Weight) -> bool {
        self.q > other.q || (self.q == other.q && self.pos < other.pos)
    }
}

fn from_accept_language(value: &str) -> Option<Lang> {
    let mut ko: Option<Weight> = None;
    let mut en: Option<Weight> = None;
    let mut wildcard: Option<Weight> = None;

    for (pos, item) in value.split(',').enumerate() {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        if range.is_empty() {
            continue;
        }
        let Some(q) = weight(parts) else {
            // A malformed weight makes the whole range unusable.
            continue;
        };
        let candidate = Weight { q, pos };
        let slot = if range == "*" {
            &mut wildcard
        } else {
            match Lang::from_tag(range) {
                Some(Lang::Ko) => &mut ko,
                Some(Lang::En) => &mut en,
                None => continue,
            }
        };
        // Several ranges for one language (`ko-KR, ko;q=0.9`): the best one counts.
        // For `*`, the first one counts.
        *slot = match *slot {
            Some(current) if range == "*" || !candidate.beats(current) => Some(current),
            _ => Some(candidate),
        };
    }

    // `*` stands for every language not named by another range.
    let ko = ko.or(wildcard).filter(|w| w.q > 0);
    let en = en.or(wildcard).filter(|w| w.q > 0);
    match (ko, en) {
        (Some(k), Some(e)) if k.beats(e) => Some(Lang::Ko),
        (Some(_), Some(_)) => Some(Lang::En),
        (Some(_), None) => Some(Lang::Ko),
        (None, Some(_)) => Some(Lang::En),
        (None, None) => None,
    }
}

/// The weight from a range's parameters: 1000 without `q`, `None` if `q` is malformed.
fn weight(params: std::str::Split<'_, char>) -> Option<u16> {
    let mut q = 1000;
    for param in params {
        let param = param.trim();
        if param.is_empty() {
            continue;
        }
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            q = parse_qvalue(value.trim())?;
        }
    }
    Some(q)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_qvalue(value: &str) -> Option<u16> {
    let (&first, rest) = value.as_bytes().split_first()?;
    let fraction = match rest.split_first() {
        None => &[][..],
        Some((&b'.', digits)) if digits.len() <= 3 => digits,
        Some(_) => return None,
    };
    let mut thousandths: u16 = 0;
    let mut scale: u16 = 100;
    for &digit in fraction {
        if !digit.is_ascii_digit() {
            return None;
        }
        thousandths += u16::from(digit - b'0') * scale;
        scale /= 10;
    }
    match first {
        b'0' => Some(thousandths),
        b'1' if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Every text shown on the pages, in one language.
#[derive(Debug)]
pub struct Texts {
    /// The language tag, for `<html lang>`.
    pub lang: &'static str,
    pub site_name: &'static str,

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
    /// Does not say whether the username or the email is taken.
    pub signup_unavailable: &'static str,
    pub signup_disabled: &'static str,
    /// The sign-in request is unknown here (expired, used, or from another browser).
    pub request_expired: &'static str,
    /// Our own failure: storage or signing unavailable.
    pub try_again_later: &'static str,
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
    signup_unavailable: "이 아이디 또는 이메일은 사용할 수 없습니다.",
    signup_disabled: "현재 회원가입을 받지 않습니다.",
    request_expired: "로그인 요청이 만료되었거나 이미 사용되었습니다. 앱으로 돌아가 다시 시도하세요.",
    try_again_later: "일시적인 문제로 요청을 처리하지 못했습니다. 잠시 후 다시 시도하세요.",
};

pub static EN: Texts = Texts {
    lang: "en",
    site_name: "munjigi",

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
    signup_unavailable: "That username or email cannot be used.",
    signup_disabled: "Sign-up is currently closed.",
    request_expired: "This sign-in request has expired or was already used. Go back to the app and try again.",
    try_again_later: "We could not complete your request just now. Please try again in a moment.",
};

/// What a scope grants, in plain words.
pub fn scope_description(lang: Lang, scope: &str) -> &'static str {
    match (lang, scope) {
        (Lang::Ko, "openid") => "회원님이 누구인지 확인",
        (Lang::Ko, "profile") => "이름과 아이디",
        (Lang::Ko, "email") => "이메일 주소",
        (Lang::Ko, "offline_access") => "로그아웃 상태에서도 계속 접근",
        (Lang::Ko, _) => "기타 권한",
        (Lang::En, "openid") => "Confirm who you are",
        (Lang::En, "profile") => "Your name and username",
        (Lang::En, "email") => "Your email address",
        (Lang::En, "offline_access") => "Keep access while you are away",
        (Lang::En, _) => "Other access",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(header: &str) -> Lang {
        negotiate(None, Some(header))
    }

    #[test]
    fn ui_locales_beat_accept_language() {
        assert_eq!(negotiate(Some("ko-KR en"), Some("en")), Lang::Ko);
        assert_eq!(negotiate(Some("en"), Some("ko")), Lang::En);
        assert_eq!(negotiate(Some("fr-CA KO"), Some("en")), Lang::Ko);
    }

    #[test]
    fn ui_locales_without_ours_fall_back_to_accept_language() {
        assert_eq!(negotiate(Some("fr de"), Some("ko")), Lang::Ko);
        assert_eq!(negotiate(Some("   "), Some("ko")), Lang::Ko);
        assert_eq!(negotiate(Some(""), None), Lang::En);
    }

    #[test]
    fn browser_headers() {
        assert_eq!(accept("ko-KR,ko;q=0.9,en-US;q=0.8"), Lang::Ko);
        assert_eq!(accept("en-US,en;q=0.9,ko;q=0.8"), Lang::En);
        assert_eq!(accept("fr-FR,fr;q=0.9,ko;q=0.5"), Lang::Ko);
    }

    #[test]
    fn highest_weight_wins() {
        assert_eq!(accept("en;q=0.5, ko;q=0.8"), Lang::Ko);
        assert_eq!(accept("ko;q=0.5, en;q=0.8"), Lang::En);
        assert_eq!(accept("KO ; Q = 0.9 , en ; q=0.1"), Lang::Ko);
    }

    #[test]
    fn ties_keep_header_order() {
        assert_eq!(accept("ko, en"), Lang::Ko);
        assert_eq!(accept("en, ko"), Lang::En);
        assert_eq!(accept("ko;q=0.7, en;q=0.700"), Lang::Ko);
    }

    #[test]
    fn zero_means_not_acceptable() {
        assert_eq!(accept("ko;q=0"), Lang::En);
        assert_eq!(accept("en;q=0, ko;q=0.1"), Lang::Ko);
        assert_eq!(accept("ko;q=0.000"), Lang::En);
    }

    #[test]
    fn wildcard_covers_languages_not_named() {
        assert_eq!(accept("ko;q=0.5, *"), Lang::En);
        assert_eq!(accept("en;q=0, *;q=0.5"), Lang::Ko);
        // Both acceptable at the same weight: the default.
        assert_eq!(accept("*"), Lang::En);
        assert_eq!(accept("*;q=0"), Lang::En);
    }

    #[test]
    fn malformed_weights_are_ignored() {
        assert_eq!(accept("ko;q=2, en;q=0.1"), Lang::En);
        assert_eq!(accept("ko;q=0.1234"), Lang::En);
        assert_eq!(accept("ko;q=abc"), Lang::En);
        assert_eq!(accept("ko;q=1.5"), Lang::En);
        assert_eq!(accept("ko;q"), Lang::En);
        assert_eq!(accept("ko;q=1.000"), Lang::Ko);
        assert_eq!(accept("ko;q=0."), Lang::En);
    }

    #[test]
    fn garbage_and_unknown() {
        assert_eq!(accept(";;;q=,,,"), Lang::En);
        assert_eq!(accept("fr"), Lang::En);
        assert_eq!(accept(""), Lang::En);
        assert_eq!(accept(",,,;,;=;==q=;"), Lang::En);
        assert_eq!(accept("-ko, -, --, ;q=1"), Lang::En);
        assert_eq!(accept("한국어, 😀;q=0.5, ko\u{0};q=1"), Lang::En);
        assert_eq!(negotiate(None, None), Lang::En);
        assert_eq!(negotiate(Some(""), Some("")), Lang::En);
    }

    #[test]
    fn texts_match_their_language() {
        assert_eq!(Lang::Ko.texts().lang, Lang::Ko.code());
        assert_eq!(Lang::En.texts().lang, Lang::En.code());
    }

    #[test]
    fn throttled_message_reads_naturally() {
        assert_eq!(
            EN.throttled_message(30),
            "Too many attempts. Try again in 30 seconds."
        );
        assert_eq!(
            KO.throttled_message(30),
            "시도 횟수가 너무 많습니다. 다음 시간 후에 다시 시도하세요: 30초"
        );
    }

    #[test]
    fn scopes_have_plain_descriptions() {
        assert_eq!(scope_description(Lang::En, "email"), "Your email address");
        assert_eq!(scope_description(Lang::Ko, "profile"), "이름과 아이디");
        assert_eq!(scope_description(Lang::En, "admin"), "Other access");
        assert_eq!(scope_description(Lang::Ko, ""), "기타 권한");
    }
}
