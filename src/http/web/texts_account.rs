//! Texts of the self-service pages (mailed links, the account page, two-factor sign-in), in
//! Korean and English. Reached from the page texts as `t.acct`.

/// The self-service texts in one language.
#[derive(Debug)]
pub struct AccountTexts {
    // Signup with mail: the same page whether the address was new or known.
    pub check_mail_title: &'static str,
    /// Followed by the address.
    pub check_mail_sent_to: &'static str,
    pub check_mail_next: &'static str,
    pub continue_to_sign_in: &'static str,
    pub username_taken: &'static str,

    // Address verification.
    pub confirm_email_button: &'static str,
    pub email_verified_title: &'static str,
    pub email_verified_message: &'static str,
    pub email_changed_since: &'static str,
    pub link_invalid: &'static str,
    pub email_unverified: &'static str,
    pub email_verified_badge: &'static str,
    pub resend_verification: &'static str,
    pub verification_sent: &'static str,
    pub mail_not_sent: &'static str,

    // Forgotten password.
    pub forgot_link: &'static str,
    pub forgot_title: &'static str,
    pub forgot_intro: &'static str,
    pub forgot_button: &'static str,
    pub forgot_sent: &'static str,
    pub forgot_unavailable: &'static str,
    pub reset_title: &'static str,
    /// Followed by the username.
    pub reset_for: &'static str,
    pub new_password_label: &'static str,
    pub reset_button: &'static str,
    pub reset_done: &'static str,
}

pub static KO: AccountTexts = AccountTexts {
    check_mail_title: "메일을 확인하세요",
    check_mail_sent_to: "다음 주소로 메일을 보냈습니다:",
    check_mail_next: "메일의 링크를 열어 주소를 확인하세요. 이미 계정이 있는 주소라면 로그인하거나 비밀번호를 재설정하는 방법을 안내합니다.",
    continue_to_sign_in: "로그인하러 가기",
    username_taken: "이미 사용 중인 아이디입니다. 다른 아이디를 고르세요.",

    confirm_email_button: "이 주소가 제 것임을 확인합니다",
    email_verified_title: "이메일 주소 확인 완료",
    email_verified_message: "이메일 주소가 확인되었습니다.",
    email_changed_since: "링크를 보낸 뒤 계정의 이메일 주소가 바뀌어 이 링크로는 확인할 수 없습니다.",
    link_invalid: "링크가 올바르지 않거나, 만료되었거나, 이미 사용되었습니다.",
    email_unverified: "확인 전",
    email_verified_badge: "확인됨",
    resend_verification: "확인 메일 다시 보내기",
    verification_sent: "확인 메일을 보냈습니다. 메일의 링크를 여세요.",
    mail_not_sent: "지금은 메일을 보낼 수 없습니다. 잠시 후 다시 시도하세요.",

    forgot_link: "비밀번호를 잊으셨나요?",
    forgot_title: "비밀번호 재설정",
    forgot_intro: "아이디 또는 이메일 주소를 입력하면 계정의 이메일로 재설정 링크를 보내 드립니다.",
    forgot_button: "재설정 링크 받기",
    forgot_sent: "입력한 정보와 일치하는 계정이 있으면 그 계정의 이메일로 재설정 링크를 보냈습니다. 링크는 30분 동안 한 번만 쓸 수 있습니다.",
    forgot_unavailable: "이 서버에서는 메일로 비밀번호를 재설정할 수 없습니다. 관리자에게 문의하세요.",
    reset_title: "새 비밀번호 정하기",
    reset_for: "계정:",
    new_password_label: "새 비밀번호",
    reset_button: "비밀번호 바꾸기",
    reset_done: "비밀번호를 바꿨습니다. 모든 기기에서 로그아웃되었으니 새 비밀번호로 로그인하세요.",
};

pub static EN: AccountTexts = AccountTexts {
    check_mail_title: "Check your mail",
    check_mail_sent_to: "We sent a message to",
    check_mail_next: "Open the link in it to confirm your address. If the address already has an account, the message tells you how to sign in or reset your password.",
    continue_to_sign_in: "Go to sign-in",
    username_taken: "This username is taken. Choose another.",

    confirm_email_button: "Confirm this address is mine",
    email_verified_title: "Address confirmed",
    email_verified_message: "Your email address is confirmed.",
    email_changed_since: "The account's address changed after this link was sent, so the link cannot confirm it.",
    link_invalid: "This link is not valid, has expired, or was used already.",
    email_unverified: "not confirmed",
    email_verified_badge: "confirmed",
    resend_verification: "Send the confirmation again",
    verification_sent: "We sent a confirmation message. Open the link in it.",
    mail_not_sent: "No mail can be sent right now. Try again later.",

    forgot_link: "Forgot your password?",
    forgot_title: "Reset your password",
    forgot_intro: "Enter your username or email address and we will mail a reset link to the account's address.",
    forgot_button: "Send the link",
    forgot_sent: "If an account matches, we sent a reset link to its address. The link works once, for 30 minutes.",
    forgot_unavailable: "Passwords cannot be reset by mail on this server. Ask your administrator.",
    reset_title: "Choose a new password",
    reset_for: "Account:",
    new_password_label: "New password",
    reset_button: "Change password",
    reset_done: "Your password is changed. You were signed out everywhere: sign in with the new one.",
};
