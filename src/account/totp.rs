//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP, HMAC-SHA1, 6 digits, 30 s),
//! the `otpauth://` URI authenticator apps read, and its QR code drawn as SVG.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const PERIOD: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps either side of now that still count: clocks drift, people type slowly.
const SKEW_STEPS: i64 = 1;

/// A new 160-bit secret (RFC 4226 §4 recommends 160 bits).
pub fn new_secret() -> [u8; 20] {
    rand::random()
}

/// The time step of a unix time.
pub fn step_at(unix: i64) -> i64 {
    unix.div_euclid(PERIOD)
}

/// HOTP (RFC 4226 §5.3) of `counter`, `digits` long.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The time step a typed `code` matches, if it is one of the steps around `now` and later than
/// `last_used_step` (a code works once: a step is spent when used). Constant time per step.
pub fn matching_step(secret: &[u8], code: &str, now: i64, last_used_step: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now_step = step_at(now);
    let mut found = None;
    for step in now_step - SKEW_STEPS..=now_step + SKEW_STEPS {
        let expected = format!(
            "{:0width$}",
            hotp(secret, step as u64, DIGITS),
            width = DIGITS as usize
        );
        let same = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes());
        if bool::from(same) && step > last_used_step && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding: how authenticator apps take a secret.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The key URI authenticator apps scan (Google Authenticator's `otpauth://` format).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let label: String =
        url::form_urlencoded::byte_serialize(format!("{issuer}:{account}").as_bytes()).collect();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("secret", &base32(secret))
        .append_pair("issuer", issuer)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", &DIGITS.to_string())
        .append_pair("period", &PERIOD.to_string())
        .finish();
    format!("otpauth://totp/{label}?{query}")
}

/// `text` as a QR code in an SVG image, as a `data:` URL for an `<img>` (the pages' CSP allows
/// `data:` images and no inline markup is needed).
pub fn qr_data_url(text: &str) -> Option<String> {
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium).ok()?;
    let border = 4;
    let size = qr.size() + border * 2;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/><path d=\"{path}\" fill=\"#000000\"/></svg>"
    );
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (8 digits, T0 = 0, X = 30).
    #[test]
    fn rfc6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59_i64, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(hotp(secret, step_at(time) as u64, 8), expected, "T={time}");
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0 and 9.
    #[test]
    fn rfc4226_test_vectors() {
        let secret = b"12345678901234567890";
        assert_eq!(hotp(secret, 0, 6), 755_224);
        assert_eq!(hotp(secret, 9, 6), 520_489);
    }

    #[test]
    fn codes_match_near_now_and_only_once() {
        let secret = [7u8; 20];
        let now = 1_800_000_000;
        let code = |t: i64| format!("{:06}", hotp(&secret, step_at(t) as u64, 6));
        assert_eq!(
            matching_step(&secret, &code(now), now, 0),
            Some(step_at(now))
        );
        assert_eq!(
            matching_step(&secret, &code(now - 30), now, 0),
            Some(step_at(now) - 1)
        );
        assert_eq!(
            matching_step(&secret, &code(now - 90), now, 0),
            None,
            "too old"
        );
        assert_eq!(
            matching_step(&secret, &code(now), now, step_at(now)),
            None,
            "a spent step"
        );
        assert_eq!(matching_step(&secret, "12345", now, 0), None);
        assert_eq!(matching_step(&secret, "12a456", now, 0), None);
        let spaced = code(now);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert!(matching_step(&secret, &spaced, now, 0).is_some());
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        let uri = otpauth_uri(b"12345678901234567890", "munjigi", "민지");
        assert!(uri.starts_with("otpauth://totp/munjigi%3A%EB%AF%BC%EC%A7%80?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=munjigi"), "{uri}");
        let qr = qr_data_url(&uri).unwrap_or_default();
        assert!(qr.starts_with("data:image/svg+xml;base64,"));
    }
}
