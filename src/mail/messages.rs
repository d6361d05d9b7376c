//! The mails' texts, in Korean and English. Plain text: links are written out in full, and a
//! mail never contains anything but the link that the person asked for.

use super::Mail;

/// Korean for `ko` (any region), English otherwise.
fn korean(lang: &str) -> bool {
    lang.split(['-', '_'])
        .next()
        .is_some_and(|l| l.eq_ignore_ascii_case("ko"))
}

/// "Confirm your address": after signup and after the address changes.
pub fn verify_email(lang: &str, to: &str, link: &str, valid_hours: i64) -> Mail {
    let (subject, body) = if korean(lang) {
        (
            "[문지기] 이메일 주소를 확인해 주세요".to_owned(),
            format!(
                "안녕하세요.\n\n이 주소를 문지기 계정의 이메일로 확인하려면 아래 링크를 여세요.\n\n{link}\n\n\
                 링크는 {valid_hours}시간 동안 한 번만 쓸 수 있습니다.\n\
                 직접 요청하지 않았다면 이 메일을 무시하세요. 아무것도 바뀌지 않습니다.\n"
            ),
        )
    } else {
        (
            "[munjigi] Confirm your email address".to_owned(),
            format!(
                "Hello,\n\nTo confirm this address for your munjigi account, open this link:\n\n{link}\n\n\
                 The link works once, for {valid_hours} hours.\n\
                 If you did not ask for this, ignore this mail: nothing changes.\n"
            ),
        )
    };
    Mail {
        to: to.to_owned(),
        subject,
        body,
    }
}

/// "Reset your password": the link asked for on the "forgot password" page.
pub fn reset_password(
    lang: &str,
    to: &str,
    username: &str,
    link: &str,
    valid_minutes: i64,
) -> Mail {
    let (subject, body) = if korean(lang) {
        (
            "[문지기] 비밀번호 재설정".to_owned(),
            format!(
                "안녕하세요.\n\n아이디 {username}의 비밀번호 재설정을 요청하셨습니다. 새 비밀번호를 정하려면 아래 링크를 여세요.\n\n{link}\n\n\
                 링크는 {valid_minutes}분 동안 한 번만 쓸 수 있습니다. 비밀번호를 바꾸면 모든 기기에서 로그아웃됩니다.\n\
                 직접 요청하지 않았다면 이 메일을 무시하세요. 비밀번호는 바뀌지 않습니다.\n"
            ),
        )
    } else {
        (
            "[munjigi] Reset your password".to_owned(),
            format!(
                "Hello,\n\nSomeone asked to reset the password of the account {username}. To choose a new one, open this link:\n\n{link}\n\n\
                 The link works once, for {valid_minutes} minutes. A new password signs you out everywhere.\n\
                 If you did not ask for this, ignore this mail: your password stays as it is.\n"
            ),
        )
    };
    Mail {
        to: to.to_owned(),
        subject,
        body,
    }
}

/// Sent to an address that already has an account when someone signs up with it: the page
/// said "check your mail" either way, so the page tells nobody whether the address is known.
pub fn signup_attempt(lang: &str, to: &str, login_link: &str, reset_link: &str) -> Mail {
    let (subject, body) = if korean(lang) {
        (
            "[문지기] 이미 계정이 있는 주소입니다".to_owned(),
            format!(
                "안녕하세요.\n\n누군가 이 주소로 문지기 회원가입을 시도했지만, 이 주소에는 이미 계정이 있습니다.\n\n\
                 로그인: {login_link}\n비밀번호를 잊으셨다면: {reset_link}\n\n\
                 직접 시도하지 않았다면 이 메일을 무시하세요. 계정은 바뀌지 않았습니다.\n"
            ),
        )
    } else {
        (
            "[munjigi] You already have an account".to_owned(),
            format!(
                "Hello,\n\nSomeone tried to create a munjigi account with this address, but it already has one.\n\n\
                 Sign in: {login_link}\nForgot your password? {reset_link}\n\n\
                 If this was not you, ignore this mail: your account has not changed.\n"
            ),
        )
    };
    Mail {
        to: to.to_owned(),
        subject,
        body,
    }
}

/// Sent to the old address when an account's address changes, so a takeover is noticed.
pub fn email_changed(lang: &str, to: &str, username: &str, new_address: &str) -> Mail {
    let (subject, body) = if korean(lang) {
        (
            "[문지기] 계정의 이메일 주소가 바뀌었습니다".to_owned(),
            format!(
                "안녕하세요.\n\n아이디 {username}의 이메일 주소가 {new_address}(으)로 바뀌었습니다.\n\
                 직접 바꾸지 않았다면 바로 비밀번호를 재설정하고 관리자에게 알려 주세요.\n"
            ),
        )
    } else {
        (
            "[munjigi] Your account's email address changed".to_owned(),
            format!(
                "Hello,\n\nThe email address of the account {username} is now {new_address}.\n\
                 If you did not change it, reset your password now and tell your administrator.\n"
            ),
        )
    };
    Mail {
        to: to.to_owned(),
        subject,
        body,
    }
}

/// Sent when a sign-in with one of the account's passkeys was refused because the passkey's
/// signature counter did not move forward: a copy of the authenticator may be in use.
pub fn passkey_cloned(lang: &str, to: &str, username: &str, passkey: &str) -> Mail {
    let (subject, body) = if korean(lang) {
        (
            "[문지기] 복제된 것으로 보이는 패스키의 로그인을 막았습니다".to_owned(),
            format!(
                "안녕하세요.\n\n아이디 {username}의 패스키 \"{passkey}\"로 로그인하려는 시도를 막았습니다. \
                 이 패스키의 서명 카운터가 늘지 않았는데, 이는 인증기가 복제되어 다른 곳에서 쓰이고 있을 수 있다는 뜻입니다.\n\n\
                 직접 로그인하려던 것이 아니라면 계정 페이지에서 이 패스키를 삭제하고 비밀번호를 바꾸세요. \
                 그래도 이상하면 관리자에게 알려 주세요.\n"
            ),
        )
    } else {
        (
            "[munjigi] A sign-in with a possibly copied passkey was refused".to_owned(),
            format!(
                "Hello,\n\nA sign-in to the account {username} with its passkey \"{passkey}\" was refused: \
                 the passkey's signature counter did not increase, which means a copy of the authenticator may be in use somewhere else.\n\n\
                 If this was not you, remove this passkey on your account page and change your password. \
                 If anything else looks wrong, tell your administrator.\n"
            ),
        )
    };
    Mail {
        to: to.to_owned(),
        subject,
        body,
    }
}

/// Sent to the account's address when an upstream provider is linked to the account (a new
/// way in) or unlinked from it, so a link nobody asked for is noticed.
pub fn provider_changed(
    lang: &str,
    to: &str,
    username: &str,
    provider: &str,
    linked: bool,
) -> Mail {
    let (subject, body) = match (korean(lang), linked) {
        (true, true) => (
            format!("[문지기] 계정에 {provider} 로그인이 연결되었습니다"),
            format!(
                "안녕하세요.\n\n아이디 {username} 계정에 {provider} 계정이 연결되어, 이제 {provider}(으)로도 \
                 로그인할 수 있습니다.\n직접 연결하지 않았다면 바로 로그인해 계정 페이지에서 연결을 해제하고 \
                 비밀번호를 바꾼 뒤 관리자에게 알려 주세요.\n"
            ),
        ),
        (true, false) => (
            format!("[문지기] 계정에서 {provider} 로그인 연결이 해제되었습니다"),
            format!(
                "안녕하세요.\n\n아이디 {username} 계정에서 {provider} 계정 연결이 해제되어, 이제 \
                 {provider}(으)로는 로그인할 수 없습니다.\n직접 해제하지 않았다면 바로 비밀번호를 재설정하고 \
                 관리자에게 알려 주세요.\n"
            ),
        ),
        (false, true) => (
            format!("[munjigi] {provider} sign-in was linked to your account"),
            format!(
                "Hello,\n\nA {provider} account was linked to the account {username}: it can now be used \
                 to sign in to it.\nIf you did not link it, sign in now, unlink it on your account page, \
                 change your password and tell your administrator.\n"
            ),
        ),
        (false, false) => (
            format!("[munjigi] {provider} sign-in was unlinked from your account"),
            format!(
                "Hello,\n\nThe {provider} account linked to the account {username} was unlinked: it can \
                 no longer be used to sign in to it.\nIf you did not unlink it, reset your password now and \
                 tell your administrator.\n"
            ),
        ),
    };
    Mail {
        to: to.to_owned(),
        subject,
        body,
    }
}

/// A way into an account, as mails name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way<'a> {
    /// A password set before the address was proven (replaced by a reset).
    EarlierPassword,
    /// Signing in through a linked provider (its id).
    Provider(&'a str),
    /// A passkey (its name).
    Passkey(&'a str),
    /// An authenticator app, with its recovery codes.
    Authenticator,
}

/// One line of a list of ways in.
fn way_line(ko: bool, way: &Way<'_>) -> String {
    match (way, ko) {
        (Way::EarlierPassword, true) => {
            "- 주소 확인 전에 정해진 비밀번호 (새 비밀번호로 바뀜)".to_owned()
        }
        (Way::EarlierPassword, false) => {
            "- the password set before the address was confirmed (replaced by the new one)"
                .to_owned()
        }
        (Way::Provider(p), true) => format!("- 연결된 로그인: {p}"),
        (Way::Provider(p), false) => format!("- sign-in through the linked provider {p}"),
        (Way::Passkey(name), true) => format!("- 패스키 \"{name}\""),
        (Way::Passkey(name), false) => format!("- the passkey \"{name}\""),
        (Way::Authenticator, true) => "- 인증 앱 (복구 코드 포함)".to_owned(),
        (Way::Authenticator, false) => {
            "- the authenticator app (and its recovery codes)".to_owned()
        }
    }
}

fn way_lines(ko: bool, ways: &[Way<'_>]) -> String {
    ways.iter()
        .map(|w| way_line(ko, w))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sent when someone signs up with the address of an account whose address nobody has
/// proven: that account may have been started by someone else, and a reset claims it.
pub fn signup_attempt_unproven(lang: &str, to: &str, username: &str, reset_link: &str) -> Mail {
    let (subject, body) = if korean(lang) {
        (
            "[문지기] 이 주소로 이미 시작된 계정이 있습니다".to_owned(),
            format!(
                "안녕하세요.\n\n이 주소로 회원가입을 시도했지만, 누군가 이미 이 주소로 계정({username})을 시작했습니다. \
                 이 주소는 아직 확인되지 않았습니다.\n\n\
                 직접 만든 계정이 아니라면, 비밀번호를 재설정해 이 계정을 가져오세요. 재설정하면 주소가 확인되기 전에 \
                 추가된 다른 로그인 방법(연결된 계정, 패스키, 인증 앱)은 모두 지워지고, 모든 기기에서 로그아웃됩니다.\n\n\
                 비밀번호 재설정: {reset_link}\n"
            ),
        )
    } else {
        (
            "[munjigi] Someone started an account with your address".to_owned(),
            format!(
                "Hello,\n\nSomeone tried to sign up with this address, but an account ({username}) was already started with it. \
                 Nobody has confirmed this address for it yet.\n\n\
                 If you did not start that account, reset its password to claim it: the reset removes every other way in \
                 that was added before the address was confirmed (linked accounts, passkeys, authenticator apps) and \
                 signs everyone out.\n\n\
                 Reset the password: {reset_link}\n"
            ),
        )
    };
    Mail {
        to: to.to_owned(),
        subject,
        body,
    }
}

/// Sent after a confirmation link was the first proof of an account's address and removed
/// ways in that were added before it.
pub fn address_claimed(lang: &str, to: &str, username: &str, removed: &[Way<'_>]) -> Mail {
    let ko = korean(lang);
    let list = way_lines(ko, removed);
    let (subject, body) = if ko {
        (
            "[문지기] 주소가 확인되어 이전 로그인 방법을 지웠습니다".to_owned(),
            format!(
                "안녕하세요.\n\n아이디 {username}의 이메일 주소가 확인되었습니다. 주소가 확인되기 전에 추가된 \
                 다음 로그인 방법은 지워졌고, 모든 기기에서 로그아웃되었습니다.\n\n{list}\n\n\
                 직접 추가한 것이라면 계정 페이지에서 다시 추가하세요.\n"
            ),
        )
    } else {
        (
            "[munjigi] Address confirmed: earlier ways in removed".to_owned(),
            format!(
                "Hello,\n\nThe email address of the account {username} is confirmed. These ways in were added before \
                 it was confirmed and have been removed, and every device was signed out:\n\n{list}\n\n\
                 If you added them yourself, add them again on your account page.\n"
            ),
        )
    };
    Mail {
        to: to.to_owned(),
        subject,
        body,
    }
}

/// Sent after a password reset: what it did, what it removed (when it was the first proof
/// of the address) and what still opens the account besides the new password.
pub fn password_was_reset(
    lang: &str,
    to: &str,
    username: &str,
    removed: &[Way<'_>],
    remaining: &[Way<'_>],
    account_link: &str,
) -> Mail {
    let ko = korean(lang);
    let mut body = if ko {
        format!(
            "안녕하세요.\n\n아이디 {username}의 비밀번호가 재설정되었고, 모든 기기에서 로그아웃되었습니다.\n"
        )
    } else {
        format!(
            "Hello,\n\nThe password of the account {username} was reset, and every device was signed out.\n"
        )
    };
    if !removed.is_empty() {
        body.push_str(if ko {
            "\n주소가 확인되기 전에 추가된 다음 로그인 방법은 지워졌습니다:\n"
        } else {
            "\nThese ways in were added before the address was confirmed and have been removed:\n"
        });
        body.push_str(&way_lines(ko, removed));
        body.push('\n');
    }
    if remaining.is_empty() {
        body.push_str(if ko {
            "\n이제 새 비밀번호로만 로그인할 수 있습니다.\n"
        } else {
            "\nThe new password is now the only way in.\n"
        });
    } else {
        body.push_str(if ko {
            "\n새 비밀번호 말고도 다음 방법으로 이 계정에 로그인할 수 있습니다. 모르는 것이 있으면 계정 페이지에서 지우세요:\n"
        } else {
            "\nBesides the new password, these still open the account. Remove any you do not recognise on your account page:\n"
        });
        body.push_str(&way_lines(ko, remaining));
        body.push_str(&format!("\n{account_link}\n"));
    }
    body.push_str(if ko {
        "\n직접 재설정하지 않았다면 바로 관리자에게 알려 주세요.\n"
    } else {
        "\nIf you did not reset it, tell your administrator now.\n"
    });
    let subject = if ko {
        "[문지기] 비밀번호가 재설정되었습니다"
    } else {
        "[munjigi] Your password was reset"
    };
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        body,
    }
}

/// Sent when a passkey is added to an account: a new way in is never silent.
pub fn passkey_added(lang: &str, to: &str, username: &str, name: &str, account_link: &str) -> Mail {
    let (subject, body) = if korean(lang) {
        (
            "[문지기] 계정에 패스키가 추가되었습니다".to_owned(),
            format!(
                "안녕하세요.\n\n아이디 {username}에 패스키 \"{name}\"이(가) 추가되었습니다. 이제 이 패스키로 로그인할 수 있습니다.\n\n\
                 직접 추가하지 않았다면 계정 페이지에서 지우고 비밀번호를 바꾸세요: {account_link}\n"
            ),
        )
    } else {
        (
            "[munjigi] A passkey was added to your account".to_owned(),
            format!(
                "Hello,\n\nThe passkey \"{name}\" was added to the account {username}. It can now be used to sign in.\n\n\
                 If you did not add it, remove it on your account page and change your password: {account_link}\n"
            ),
        )
    };
    Mail {
        to: to.to_owned(),
        subject,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_and_link() {
        let ko = verify_email(
            "ko-KR",
            "a@example.com",
            "https://id.example.com/x?token=t",
            24,
        );
        assert!(
            ko.subject.contains("이메일") && ko.body.contains("https://id.example.com/x?token=t")
        );
        let en = reset_password("fr", "a@example.com", "alice", "https://l", 30);
        assert!(
            en.subject.contains("Reset")
                && en.body.contains("30 minutes")
                && en.body.contains("alice")
        );
        let attempt = signup_attempt("en", "a@example.com", "https://l/login", "https://l/forgot");
        assert!(attempt.body.contains("https://l/forgot"));
        let cloned = passkey_cloned("ko", "a@example.com", "minji", "Laptop");
        assert!(cloned.subject.contains("패스키") && cloned.body.contains("\"Laptop\""));
        let cloned = passkey_cloned("en", "a@example.com", "alice", "Laptop");
        assert!(cloned.body.contains("alice") && cloned.body.contains("counter"));
    }

    #[test]
    fn a_reset_mail_lists_what_went_and_what_stays() {
        let removed = [
            Way::EarlierPassword,
            Way::Provider("kakao"),
            Way::Authenticator,
        ];
        let remaining = [Way::Passkey("Phone")];
        let en = password_was_reset(
            "en",
            "a@example.com",
            "alice",
            &removed,
            &remaining,
            "https://l/account",
        );
        assert!(en.body.contains("have been removed") && en.body.contains("linked provider kakao"));
        assert!(en.body.contains("the passkey \"Phone\"") && en.body.contains("https://l/account"));
        let only = password_was_reset(
            "ko",
            "a@example.com",
            "alice",
            &[],
            &[],
            "https://l/account",
        );
        assert!(only.body.contains("새 비밀번호로만") && !only.body.contains("지워졌습니다"));
        let unproven =
            signup_attempt_unproven("en", "a@example.com", "squatter", "https://l/forgot");
        assert!(unproven.body.contains("squatter") && unproven.body.contains("claim it"));
        let added = passkey_added(
            "ko",
            "a@example.com",
            "alice",
            "Laptop",
            "https://l/account",
        );
        assert!(added.subject.contains("패스키") && added.body.contains("Laptop"));
    }
}
