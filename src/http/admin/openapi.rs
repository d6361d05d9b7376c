//! The OpenAPI document of the admin API, generated from the handlers (utoipa).

use axum::Json;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{audit, clients, error, keys, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "munjigi admin API",
        description = "Clients, users, signing keys and audit events. Bearer access tokens \
                       with the `admin` scope, from an account with the admin role, or from \
                       `munjigi admin token`."
    ),
    servers((url = "/admin/api/v1")),
    paths(
        clients::list, clients::get, clients::create, clients::update, clients::rotate_secret,
        clients::delete,
        users::list, users::get, users::create, users::update, users::disable, users::enable,
        users::set_password, users::sessions, users::end_sessions, users::consents,
        users::revoke_consent, users::delete, users::second_factors, users::reset_second_factors,
        keys::list, keys::rotate,
        audit::query,
    ),
    components(schemas(error::AdminErrorBody)),
    modifiers(&BearerAuth),
)]
pub struct AdminApi;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// `GET /admin/api/v1/openapi.json`: public, like any API description.
pub async fn document() -> Response {
    Json(AdminApi::openapi()).into_response()
}
