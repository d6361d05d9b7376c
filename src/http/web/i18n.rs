//! Interface language: negotiation (`ui_locales`, then `Accept-Language`). The texts are in
//! `texts.rs`.

pub use super::texts::{EN, KO, Texts, scope_description};

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
        assert_eq!(scope_description(Lang::En, "api.read"), "Other access");
        assert_eq!(
            scope_description(Lang::En, "admin"),
            "Administer munjigi (administrator accounts only)"
        );
        assert_eq!(scope_description(Lang::Ko, ""), "기타 권한");
    }
}
