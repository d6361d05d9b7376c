//! `/users`: accounts, through the same domain functions as `munjigi user …`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::error::{AdminErrorBody, AdminJson};
use super::{AdminApiError, change_event, record_change};
use crate::account::admin::{AccountAdminError, Ended};
use crate::account::user::{CreateUserError, InvalidUser, NewUser, Role, UserRecord};
use crate::app::AppState;

/// An account as the API shows it (never its password hash).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub user_id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// `user` or `admin`.
    pub role: String,
    pub disabled: bool,
    pub has_password: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<UserRecord> for UserView {
    fn from(u: UserRecord) -> Self {
        Self {
            has_password: u.password_hash.is_some(),
            user_id: u.id,
            username: u.username,
            email: u.email,
            email_verified: u.email_verified,
            name: u.name,
            role: u.role.as_str().to_owned(),
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct UserSearch {
    /// Part of a username, email or name (case-insensitive).
    q: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    pub username: String,
    pub email: String,
    pub name: Option<String>,
    /// Absent: the account can sign in only through an upstream provider.
    pub password: Option<String>,
    /// `user` (default) or `admin`.
    pub role: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub name: Option<String>,
    /// `user` or `admin`.
    pub role: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub password: String,
}

/// What ending an account's access took.
#[derive(Serialize, ToSchema)]
pub struct EndedView {
    pub sessions_ended: u64,
    pub token_families_revoked: u64,
}

impl From<Ended> for EndedView {
    fn from(e: Ended) -> Self {
        Self {
            sessions_ended: e.sessions,
            token_families_revoked: e.grants,
        }
    }
}

fn role(value: Option<&str>) -> Result<Option<Role>, AdminApiError> {
    value
        .map(|v| Role::parse(v).ok_or_else(|| AdminApiError::invalid("role: user or admin")))
        .transpose()
}

fn problems(list: &[InvalidUser]) -> AdminApiError {
    AdminApiError::invalid(crate::account::user::describe(list))
}

impl From<AccountAdminError> for AdminApiError {
    fn from(e: AccountAdminError) -> Self {
        match e {
            AccountAdminError::NoSuchUser(_) => AdminApiError::not_found("user"),
            AccountAdminError::Password(p) | AccountAdminError::Invalid(p) => problems(&p),
            AccountAdminError::Store(e) => e.into(),
            AccountAdminError::Hash(_) => AdminApiError::unavailable(),
        }
    }
}

#[utoipa::path(get, path = "/users", tag = "users", params(UserSearch),
    responses((status = 200, body = [UserView]), (status = 401, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    Query(search): Query<UserSearch>,
) -> Result<Json<Vec<UserView>>, AdminApiError> {
    let limit = search.limit.unwrap_or(100).clamp(1, 1000);
    let users = state
        .accounts()
        .search(search.q.as_deref().unwrap_or(""), limit)
        .await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

#[utoipa::path(get, path = "/users/{id}", tag = "users",
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 200, body = UserView), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<UserView>, AdminApiError> {
    Ok(Json(state.accounts().find(&id).await?.into()))
}

#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUserBody,
    responses((status = 201, body = UserView), (status = 400, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    admin: Admin,
    State(state): State<AppState>,
    AdminJson(body): AdminJson<NewUserBody>,
) -> Result<(StatusCode, Json<UserView>), AdminApiError> {
    let new = NewUser {
        username: body.username,
        email: body.email,
        name: body.name,
        password: body.password,
        role: role(body.role.as_deref())?.unwrap_or(Role::User),
        email_verified: body.email_verified,
    };
    let now = state.clock.now();
    let user = state
        .accounts()
        .create(new, now)
        .await
        .map_err(|e| match e {
            CreateUserError::Invalid(p) => problems(&p),
            CreateUserError::Store(e) => e.into(),
            CreateUserError::Password(_) | CreateUserError::Throttled(_) => {
                AdminApiError::unavailable()
            }
        })?;
    record_change(&state, &admin, "user.create", &user.id, now);
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[utoipa::path(patch, path = "/users/{id}", tag = "users", request_body = UserUpdate,
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 200, body = UserView), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    AdminJson(body): AdminJson<UserUpdate>,
) -> Result<Json<UserView>, AdminApiError> {
    let now = state.clock.now();
    let role = role(body.role.as_deref())?;
    let (user, changes) = state
        .accounts()
        .set_profile(&id, body.name, role, now)
        .await?;
    // What changed is in the event: a role given or taken away must be visible.
    let mut event =
        change_event(&admin, "user.update", &user.id).with("name_changed", changes.name);
    if let Some((from, to)) = changes.role {
        event = event
            .with("role_from", from.as_str())
            .with("role_to", to.as_str());
    }
    state.audit.record(event, now);
    Ok(Json(user.into()))
}

#[utoipa::path(post, path = "/users/{id}/disable", tag = "users",
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 200, body = EndedView), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn disable(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EndedView>, AdminApiError> {
    let now = state.clock.now();
    let ttl = state.config.lifetimes.access_token;
    let ended = state.accounts().disable(&id, now, ttl).await?;
    record_change(&state, &admin, "user.disable", &id, now);
    Ok(Json(ended.into()))
}

/// A passkey of an account, as the admin API shows it (never its key).
#[derive(Serialize, ToSchema)]
pub struct PasskeyView {
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// An account's second factors.
#[derive(Serialize, ToSchema)]
pub struct SecondFactorsView {
    /// When the authenticator app was set up; absent when it is off.
    pub authenticator_app_since: Option<i64>,
    pub recovery_codes_left: i64,
    pub passkeys: Vec<PasskeyView>,
}

#[utoipa::path(get, path = "/users/{id}/second-factors", tag = "users",
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 200, body = SecondFactorsView), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn second_factors(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SecondFactorsView>, AdminApiError> {
    let factors = state.accounts().second_factors(&id).await?;
    let passkeys = factors
        .passkeys
        .into_iter()
        .map(|p| PasskeyView {
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        })
        .collect();
    Ok(Json(SecondFactorsView {
        authenticator_app_since: factors.authenticator_since,
        recovery_codes_left: factors.recovery_codes_left,
        passkeys,
    }))
}

/// What resetting an account's second factors removed.
#[derive(Serialize, ToSchema)]
pub struct SecondFactorsReset {
    pub authenticator_app: bool,
    pub passkeys: u64,
}

#[utoipa::path(post, path = "/users/{id}/second-factors/reset", tag = "users",
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 200, body = SecondFactorsReset), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn reset_second_factors(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SecondFactorsReset>, AdminApiError> {
    let now = state.clock.now();
    let ttl = state.config.lifetimes.access_token;
    let (authenticator_app, passkeys) =
        state.accounts().reset_second_factors(&id, now, ttl).await?;
    record_change(&state, &admin, "user.reset_second_factors", &id, now);
    Ok(Json(SecondFactorsReset {
        authenticator_app,
        passkeys,
    }))
}

#[utoipa::path(post, path = "/users/{id}/enable", tag = "users",
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 204), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn enable(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AdminApiError> {
    let now = state.clock.now();
    state.accounts().enable(&id, now).await?;
    record_change(&state, &admin, "user.enable", &id, now);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/users/{id}/password", tag = "users", request_body = PasswordBody,
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 200, body = EndedView), (status = 400, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn set_password(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    AdminJson(body): AdminJson<PasswordBody>,
) -> Result<Json<EndedView>, AdminApiError> {
    let now = state.clock.now();
    let ttl = state.config.lifetimes.access_token;
    let ended = state
        .accounts()
        .set_password(&id, body.password, now, ttl)
        .await?;
    record_change(&state, &admin, "user.set_password", &id, now);
    Ok(Json(ended.into()))
}

/// Ends the account's access: its browser sessions, its refresh-token families, and every
/// access token issued until now (refused at userinfo, introspection and the gateway).
#[utoipa::path(delete, path = "/users/{id}/sessions", tag = "users",
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 200, body = EndedView), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn end_sessions(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EndedView>, AdminApiError> {
    let now = state.clock.now();
    let ttl = state.config.lifetimes.access_token;
    let (user, ended) = state.accounts().end_sessions(&id, now, ttl).await?;
    record_change(&state, &admin, "user.sessions.revoke", &user.id, now);
    Ok(Json(ended.into()))
}

#[utoipa::path(delete, path = "/users/{id}", tag = "users",
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 204), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AdminApiError> {
    let now = state.clock.now();
    state.accounts().delete(&id).await?;
    record_change(&state, &admin, "user.delete", &id, now);
    Ok(StatusCode::NO_CONTENT)
}

/// A browser session, named by the start of its id's hash (the id itself is never stored).
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub session: String,
    /// Browser and system, from the User-Agent at sign-in.
    pub device: String,
    pub ip: Option<String>,
    pub signed_in_at: Option<i64>,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

#[utoipa::path(get, path = "/users/{id}/sessions", tag = "users",
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 200, body = [SessionView]), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn sessions(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<SessionView>>, AdminApiError> {
    let user = state.accounts().find(&id).await?;
    let sessions = state
        .accounts()
        .sessions(&user.id, state.config.lifetimes.session_idle)
        .await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|s| SessionView {
                session: s.id_hash.chars().take(16).collect(),
                device: s.device,
                ip: s.ip,
                signed_in_at: s.signed_in_at,
                last_seen_at: s.last_seen,
                expires_at: s.expires_at,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ConsentView {
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[utoipa::path(get, path = "/users/{id}/consents", tag = "users",
    params(("id" = String, Path, description = "user id or username")),
    responses((status = 200, body = [ConsentView]), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn consents(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<ConsentView>>, AdminApiError> {
    let consents = state.accounts().consents(&id).await?;
    Ok(Json(
        consents
            .into_iter()
            .map(|c| ConsentView {
                client_id: c.client_id,
                scope: c.scope,
                created_at: c.created_at,
                updated_at: c.updated_at,
            })
            .collect(),
    ))
}

/// Withdraws the consent; the client's refresh-token families of this user are revoked.
#[utoipa::path(delete, path = "/users/{id}/consents/{client_id}", tag = "users",
    params(("id" = String, Path, description = "user id or username"),
           ("client_id" = String, Path, description = "client id")),
    responses((status = 200, body = EndedView), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_consent(
    admin: Admin,
    State(state): State<AppState>,
    Path((id, client_id)): Path<(String, String)>,
) -> Result<Json<EndedView>, AdminApiError> {
    let now = state.clock.now();
    let ttl = state.config.lifetimes.access_token;
    let accounts = state.accounts();
    let user = accounts.find(&id).await?;
    let grants = accounts
        .revoke_consent(&user.id, &client_id, now, ttl)
        .await?
        .ok_or_else(|| AdminApiError::not_found("consent"))?;
    let event = crate::audit::Event::new(crate::audit::EventKind::ConsentRevoked)
        .user(user.id.clone())
        .client(Some(&client_id))
        .with("actor", admin.actor.clone());
    state.audit.record(event, now);
    Ok(Json(EndedView {
        sessions_ended: 0,
        token_families_revoked: grants,
    }))
}
