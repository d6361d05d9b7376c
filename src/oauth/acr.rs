//! Authentication context classes (`acr`, OIDC Core §2) and methods (`amr`, RFC 8176): what
//! a sign-in proved, and what a request or client may demand.

/// One factor: a password, or an upstream provider's sign-in.
pub const ONE_FACTOR: &str = "urn:munjigi:acr:1fa";
/// Two factors of different kinds (RFC 8176 `mfa`).
pub const TWO_FACTORS: &str = "urn:munjigi:acr:2fa";
/// The OpenID PAPE multi-factor policy, which some relying parties send: taken as two factors.
pub const PAPE_MULTI_FACTOR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// What discovery lists as `acr_values_supported`.
pub const SUPPORTED: [&str; 3] = [ONE_FACTOR, TWO_FACTORS, PAPE_MULTI_FACTOR];

/// Whether a sign-in used two factors.
pub fn is_multi_factor(amr: &[String]) -> bool {
    amr.iter().any(|m| m == "mfa")
}

/// The `acr` of a sign-in.
pub fn acr_of(amr: &[String]) -> &'static str {
    if is_multi_factor(amr) {
        TWO_FACTORS
    } else {
        ONE_FACTOR
    }
}

/// Whether `acr_values` (space-separated, in order of preference) asks for two factors: only
/// when every value it names is a two-factor class, since one acceptable one-factor class
/// means one factor will do.
pub fn asks_for_two_factors(acr_values: &str) -> bool {
    let mut values = acr_values.split_whitespace().peekable();
    values.peek().is_some()
        && values
            .filter(|v| SUPPORTED.contains(v))
            .all(|v| v == TWO_FACTORS || v == PAPE_MULTI_FACTOR)
        && acr_values
            .split_whitespace()
            .any(|v| v == TWO_FACTORS || v == PAPE_MULTI_FACTOR)
}

/// The methods of a sign-in completed with a second factor (RFC 8176: `otp` for a one-time
/// code; a passkey's own methods), and `mfa`, without repeats.
pub fn with_second_factor(amr: &[String], second: &[String]) -> Vec<String> {
    let mut all = amr.to_vec();
    for method in second.iter().map(String::as_str).chain(["mfa"]) {
        if !all.iter().any(|m| m == method) {
            all.push(method.to_owned());
        }
    }
    all
}

/// The method a one-time code adds.
pub fn one_time_code() -> Vec<String> {
    vec!["otp".to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_results() {
        assert!(asks_for_two_factors(TWO_FACTORS));
        assert!(asks_for_two_factors(PAPE_MULTI_FACTOR));
        assert!(asks_for_two_factors(&format!("{TWO_FACTORS} urn:unknown")));
        assert!(!asks_for_two_factors(&format!(
            "{TWO_FACTORS} {ONE_FACTOR}"
        )));
        assert!(!asks_for_two_factors(ONE_FACTOR));
        assert!(!asks_for_two_factors(""));
        assert!(!asks_for_two_factors("urn:unknown"));
        let pwd = vec!["pwd".to_owned()];
        assert_eq!(acr_of(&pwd), ONE_FACTOR);
        let both = with_second_factor(&pwd, &one_time_code());
        assert_eq!(both, ["pwd", "otp", "mfa"]);
        assert_eq!(with_second_factor(&both, &one_time_code()), both);
        let key = ["hwk".to_owned(), "user".to_owned(), "mfa".to_owned()];
        assert_eq!(
            with_second_factor(&pwd, &key),
            ["pwd", "hwk", "user", "mfa"]
        );
        assert_eq!(acr_of(&both), TWO_FACTORS);
    }
}
