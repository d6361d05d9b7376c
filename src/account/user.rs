//! Creating accounts: the rules a username, email and password must meet.

use crate::store::{Store, StoreError, UserRecord};

use super::password;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

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
    Unavailable,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("invalid account details: {0:?}")]
    Invalid(Vec<InvalidUser>),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
}

pub const PASSWORD_MIN: usize = 8;
/// argon2 accepts more, but a cap keeps one request from costing unbounded memory and time.
pub const PASSWORD_MAX: usize = 256;

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
        let n = p.chars().count();
        if n < PASSWORD_MIN {
            problems.push(InvalidUser::PasswordTooShort);
        } else if n > PASSWORD_MAX {
            problems.push(InvalidUser::PasswordTooLong);
        }
    }
    problems
}

/// A light check: one `@`, something on both sides, a dot in the domain, no spaces. Real
/// verification is a message to the address.
fn is_plausible_email(email: &str) -> bool {
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

impl super::Accounts<'_> {
    pub async fn create_user(&self, new: NewUser, now: i64) -> Result<UserRecord, CreateUserError> {
        create(self.store, new, now).await
    }
}

pub async fn create(store: &Store, new: NewUser, now: i64) -> Result<UserRecord, CreateUserError> {
    let problems = validate(&new);
    if !problems.is_empty() {
        return Err(CreateUserError::Invalid(problems));
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
        role: new.role.as_str().to_owned(),
        disabled: false,
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
    }
}
