//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`s and the response
//! types, served at `/api/v1/openapi.json` without a token (it holds no data). The errors
//! every endpoint shares (401, 403, 429, 500) are added to each operation here, once.

use axum::Json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::errors::{ErrorBody, ErrorCode, ErrorDetail};
use super::{catalog, stats, vacancies};

/// The name the operations' `security` requirement uses.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "RemoteHunt content API",
        version = "1",
        description = "Vacancies read from Telegram channels and classified, the catalog, and daily figures. \
            Read-only JSON. Every request but this document's carries `Authorization: Bearer <token>`; \
            an operator makes tokens with `remotehunt web token create --name NAME`. \
            An unknown or malformed token is 401, a revoked one 403 (`revoked_token`: a new token is needed, \
            retrying will not help). Each token may make a configured number of requests a minute \
            (120 by default); beyond that the answer is 429 with `Retry-After` in seconds. \
            Every error is `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        vacancies::list,
        vacancies::one,
        catalog::categories,
        catalog::channels,
        stats::daily,
    ),
    components(schemas(ErrorBody, ErrorDetail, ErrorCode)),
    modifiers(&Bearer, &SharedErrors),
    security(("bearer" = [])),
    tags(
        (name = "vacancies", description = "Classified posts"),
        (name = "catalog", description = "Categories and channels"),
        (name = "stats", description = "Daily figures"),
    )
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("rh_<64 hex digits>")
            .description(Some("A token from `remotehunt web token create`"))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

struct SharedErrors;

fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

fn header(kind: Type, description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Schema::Object(
            ObjectBuilder::new().schema_type(kind).build(),
        ))
        .description(Some(description))
        .build()
}

impl Modify for SharedErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let challenge = header(
            Type::String,
            "`Bearer realm=\"remotehunt\"`, with `error=\"invalid_token\"` for a bad token",
        );
        let wait = header(Type::Integer, "Seconds until the token may ask again");
        let shared = [
            (
                "401",
                error_response("No token (`missing_token`), or not ours (`invalid_token`)")
                    .header("WWW-Authenticate", challenge),
            ),
            (
                "403",
                error_response("The token was revoked (`revoked_token`)"),
            ),
            (
                "429",
                error_response("The token's requests this minute are spent (`rate_limited`)")
                    .header("Retry-After", wait),
            ),
            ("500", error_response("Our failure (`internal`)")),
        ]
        .map(|(status, response)| (status, response.build()));
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get].into_iter().flatten() {
                for (status, response) in &shared {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| RefOr::T(response.clone()));
                }
            }
        }
    }
}
