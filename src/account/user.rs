//! Creating accounts: the rules a username, email and password must meet.

use crate::store::{Store, StoreError};

use super::password;

/// Defined beside the row it is read from, so that it is parsed once.
pub use crate::store::Role;
/// An account as the domain hands it out (the store reads and writes it).
pub use crate::store::UserRecord;

pub struct NewUser {
    pub username: String,
    pub email: String,
    pub name: Option<String>,
    pub password: Option<String>,
    pub role: Role,
    pub email_verified: bool,
}

/// Why an account cannot be created. `Unavailable` does not say which of username or email
/// is taken, so the signup page cannot be used to probe for accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidUser {
    Username,
    Email,
    PasswordTooShort,
    PasswordTooLong,
    /// A password from the list of the most common ones, or made of the username or email.
    PasswordCommon,
    NameTooLong,
    /// The username is someone else's (signup says so: a username is chosen to be seen).
    UsernameTaken,
    Unavailable,
}

/// The problem as a sentence, for the command line and the admin API (the pages have their
/// own texts, in the person's language).
impl std::fmt::Display for InvalidUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Username => "Usernames are 3–32 letters, digits, '.', '_' or '-'.",
            Self::Email => "The email address is not valid.",
            Self::PasswordTooShort => "The password must be at least 8 characters.",
            Self::PasswordTooLong => "The password is too long (at most 256 characters).",
            Self::PasswordCommon => {
                "That password is too common or too easy to guess. Choose another."
            }
            Self::NameTooLong => "The name can be at most 100 characters.",
            Self::UsernameTaken => "This username is taken. Choose another.",
            Self::Unavailable => {
                "That username or email address cannot be used: another account may have it."
            }
        })
    }
}

/// Several problems, as one line of sentences.
pub fn describe(problems: &[InvalidUser]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("The account cannot be created. {}", describe(.0))]
    Invalid(Vec<InvalidUser>),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    /// Too many accounts from this address lately: wait this many seconds.
    #[error("Too many sign-ups from this address. Try again in {0} seconds.")]
    Throttled(i64),
}

pub const PASSWORD_MIN: usize = 8;
/// argon2 accepts more, but a cap keeps one request from costing unbounded memory and time.
pub const PASSWORD_MAX: usize = 256;
/// A display name goes into every ID token: kept short.
pub const NAME_MAX: usize = 100;

/// Whether a password is one attackers try first: a common one, one character repeated, or
/// the username or the address itself.
pub fn is_guessable(password: &str, username: &str, email: &str) -> bool {
    static COMMON: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let common = COMMON.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    });
    let lower = password.to_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    common.contains(lower.as_str())
        || chars.all(|c| Some(c) == first)
        || (!username.is_empty() && lower.contains(&username.to_lowercase()))
        || (!email.is_empty() && lower == email.to_lowercase())
        || email
            .split('@')
            .next()
            .is_some_and(|local| local.len() >= 4 && lower.contains(&local.to_lowercase()))
}

/// What is wrong with a new password for this account (empty: nothing).
pub fn password_problems(password: &str, username: &str, email: &str) -> Vec<InvalidUser> {
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        vec![InvalidUser::PasswordTooShort]
    } else if n > PASSWORD_MAX {
        vec![InvalidUser::PasswordTooLong]
    } else if is_guessable(password, username, email) {
        vec![InvalidUser::PasswordCommon]
    } else {
        Vec::new()
    }
}

pub fn validate(new: &NewUser) -> Vec<InvalidUser> {
    let mut problems = Vec::new();
    let u = &new.username;
    if !(3..=32).contains(&u.chars().count())
        || !u
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        problems.push(InvalidUser::Username);
    }
    if !is_plausible_email(&new.email) {
        problems.push(InvalidUser::Email);
    }
    if let Some(p) = &new.password {
        problems.extend(password_problems(p, &new.username, &new.email));
    }
    if new
        .name
        .as_ref()
        .is_some_and(|n| n.chars().count() > NAME_MAX)
    {
        problems.push(InvalidUser::NameTooLong);
    }
    problems
}

/// A light check: one `@`, something on both sides, a dot in the domain, no spaces. Real
/// verification is a message to the address.
pub fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// What a signup from the hosted page came to.
#[derive(Debug)]
pub enum SignedUp {
    Created(UserRecord),
    /// The address belongs to this account already. The page must answer as for `Created`
    /// when it can mail the owner instead, so that it tells nobody which addresses have
    /// accounts.
    AddressTaken(UserRecord),
}

impl super::Accounts<'_> {
    /// Signup from the hosted page: limited per address, and the password hashed only once
    /// every cheap check has passed — also when the address turns out to be taken, so both
    /// answers take as long.
    pub async fn sign_up(
        &self,
        new: NewUser,
        ip: Option<std::net::IpAddr>,
        now: i64,
    ) -> Result<SignedUp, CreateUserError> {
        self.throttle
            .begin_signup(ip, now)
            .map_err(CreateUserError::Throttled)?;
        let problems = validate(&new);
        if !problems.is_empty() {
            return Err(CreateUserError::Invalid(problems));
        }
        let store = self.store;
        let username_taken = store
            .user_by_username(&new.username)
            .await
            .map_err(CreateUserError::Store)?;
        if username_taken.is_some() {
            return Err(CreateUserError::Invalid(vec![InvalidUser::UsernameTaken]));
        }
        let owner = store
            .user_by_email(new.email.trim())
            .await
            .map_err(CreateUserError::Store)?;
        if let Some(owner) = owner {
            if let Some(p) = new.password {
                password::hash(p).await?;
            }
            return Ok(SignedUp::AddressTaken(owner));
        }
        create(store, new, now).await.map(SignedUp::Created)
    }
}

pub async fn create(store: &Store, new: NewUser, now: i64) -> Result<UserRecord, CreateUserError> {
    let problems = validate(&new);
    if !problems.is_empty() {
        return Err(CreateUserError::Invalid(problems));
    }
    // Taken names are found before the (costly) hash; the insert still decides races.
    let taken = store
        .user_by_username(&new.username)
        .await
        .map_err(CreateUserError::Store)?;
    let email_taken = store
        .user_by_email(new.email.trim())
        .await
        .map_err(CreateUserError::Store)?;
    if taken.is_some() || email_taken.is_some() {
        return Err(CreateUserError::Invalid(vec![InvalidUser::Unavailable]));
    }
    let password_hash = match new.password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let record = UserRecord {
        id: uuid::Uuid::new_v4().to_string(),
        username: new.username,
        email: Some(new.email.trim().to_owned()),
        email_verified: new.email_verified,
        name: new.name.filter(|n| !n.trim().is_empty()),
        password_hash,
        role: new.role,
        disabled: false,
        access_epoch: 0,
        created_at: now,
        updated_at: now,
    };
    match store.insert_user(&record).await {
        Ok(()) => Ok(record),
        Err(StoreError::Conflict) => Err(CreateUserError::Invalid(vec![InvalidUser::Unavailable])),
        Err(e) => Err(CreateUserError::Store(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(username: &str, email: &str, password: &str) -> NewUser {
        NewUser {
            username: username.into(),
            email: email.into(),
            name: None,
            password: Some(password.into()),
            role: Role::User,
            email_verified: false,
        }
    }

    #[test]
    fn validation_rules() {
        assert!(validate(&new("alice", "alice@example.com", "long enough")).is_empty());
        assert_eq!(
            validate(&new("a", "alice@example.com", "long enough")),
            [InvalidUser::Username]
        );
        assert_eq!(
            validate(&new("al ice", "alice@example.com", "long enough")),
            [InvalidUser::Username]
        );
        assert_eq!(
            validate(&new("alice", "alice@", "long enough")),
            [InvalidUser::Email]
        );
        assert_eq!(
            validate(&new("alice", "a b@example.com", "long enough")),
            [InvalidUser::Email]
        );
        assert_eq!(
            validate(&new("alice", "alice@example.com", "short")),
            [InvalidUser::PasswordTooShort]
        );
        let long = "x".repeat(PASSWORD_MAX + 1);
        assert_eq!(
            validate(&new("alice", "alice@example.com", &long)),
            [InvalidUser::PasswordTooLong]
        );
        for guessable in [
            "password",
            "12345678",
            "Qwerty123",
            "aaaaaaaaaa",
            "alice2026!",
            "x-alice-x1",
        ] {
            assert_eq!(
                validate(&new("alice", "someone@example.com", guessable)),
                [InvalidUser::PasswordCommon],
                "{guessable}"
            );
        }
        let mut long_name = new("alice", "alice@example.com", "long enough");
        long_name.name = Some("가".repeat(NAME_MAX + 1));
        assert_eq!(validate(&long_name), [InvalidUser::NameTooLong]);
    }

    #[test]
    fn problems_read_as_sentences() {
        let said = describe(&[InvalidUser::PasswordCommon, InvalidUser::Email]);
        assert_eq!(
            said,
            "That password is too common or too easy to guess. Choose another. \
             The email address is not valid."
        );
        assert!(
            !CreateUserError::Invalid(vec![InvalidUser::PasswordTooShort])
                .to_string()
                .contains("PasswordTooShort")
        );
    }
}
