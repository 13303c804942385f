//! The actix application: routes, shared state, JSON error handling and the docs UI.

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::uri::PathAndQuery;
use actix_web::http::{Uri, header};
use actix_web::{App, HttpRequest, HttpResponse, web};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use room_chats_core::auth::TokenVerifier;
use room_chats_core::error::ApiError;

use crate::error::HttpError;
use crate::method_table::MethodTable;
use crate::realtime::AllowedOrigins;
use crate::request_id;
use crate::routes;
use crate::state::AppState;
use crate::telemetry::RequestSpan;

/// Builds the application for one worker. `spec` is the OpenAPI document to serve.
pub fn app(
    state: web::Data<AppState>,
    verifier: web::Data<TokenVerifier>,
    spec: utoipa::openapi::OpenApi,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let max_body = state.limits.max_body_bytes;
    let cors = cors(&state.realtime.allowed_origins);
    let methods = web::Data::new(MethodTable::from_spec(&spec));
    let (app, _) = App::new()
        .app_data(state)
        .app_data(verifier)
        .app_data(methods)
        .app_data(
            web::JsonConfig::default()
                .limit(max_body)
                .error_handler(json_error),
        )
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .into_utoipa_app()
        .configure(routes::configure)
        .split_for_parts();
    let asyncapi = web::Bytes::from(crate::asyncapi_json());
    app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", spec))
        .route(
            "/asyncapi.json",
            web::get().to(move || {
                let document = asyncapi.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type(header::ContentType::json())
                        .body(document)
                }
            }),
        )
        .service(web::redirect("/docs", "/docs/"))
        .default_service(web::to(no_such_endpoint))
        .wrap_fn(|mut request, service| {
            trim_trailing_slash(&mut request);
            service.call(request)
        })
        // Inside the request span and the metrics, so a panic's 500 is logged and counted
        // like any answer.
        .wrap(actix_web::middleware::from_fn(crate::panic_guard::catch))
        .wrap(cors)
        .wrap(actix_web::middleware::from_fn(crate::http_metrics::record))
        .wrap(TracingLogger::<RequestSpan>::new())
        // Every body read through an idle timeout, and an unread one closes its connection.
        .wrap(actix_web::middleware::from_fn(crate::request_body::guard))
        // Outermost: the id is chosen before the span opens and added to every answer.
        .wrap(actix_web::middleware::from_fn(request_id::assign))
}

/// CORS for browser apps served from `ALLOWED_ORIGINS`. A request from another origin is
/// not refused here (same-origin POSTs carry an Origin header too); it just gets no CORS
/// headers, so the browser keeps the answer from the page.
fn cors(origins: &AllowedOrigins) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            request_id::HEADER,
        ])
        .expose_headers([request_id::HEADER, header::RETRY_AFTER, header::LOCATION])
        .max_age(3600)
        .block_on_origin_mismatch(false);
    match origins {
        AllowedOrigins::Any => cors.allow_any_origin(),
        AllowedOrigins::List(list) => list
            .iter()
            .fold(cors, |cors, origin| cors.allowed_origin(origin)),
    }
}

/// Makes the trailing slash optional (`/chat/` is `/chat`), except under `/docs/`, whose
/// file server needs it.
fn trim_trailing_slash(request: &mut ServiceRequest) {
    let path = request.path();
    if path.len() <= 1 || !path.ends_with('/') || path.starts_with("/docs/") {
        return;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let path_and_query = match request.query_string() {
        "" => trimmed.to_owned(),
        query => format!("{trimmed}?{query}"),
    };
    let mut parts = request.head().uri.clone().into_parts();
    let Ok(path_and_query) = PathAndQuery::try_from(path_and_query) else {
        return;
    };
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = Uri::from_parts(parts) {
        request.match_info_mut().get_mut().update(&uri);
        request.head_mut().uri = uri;
    }
}

fn json_error(error: JsonPayloadError, request: &HttpRequest) -> actix_web::Error {
    let api_error = match error {
        JsonPayloadError::Payload(error) => crate::request_body::refusal(&error, request)
            .unwrap_or_else(|| ApiError::BadRequest(format!("unreadable body: {error}"))),
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::TooLarge(limit),
        JsonPayloadError::ContentType => {
            ApiError::BadRequest("Content-Type must be application/json".to_owned())
        }
        // Well-formed JSON of the wrong shape (missing field, wrong type) is a validation
        // failure; broken JSON is a bad request.
        JsonPayloadError::Deserialize(error) if error.is_data() => {
            ApiError::Validation(format!("invalid body: {error}"))
        }
        JsonPayloadError::Deserialize(error) => {
            ApiError::BadRequest(format!("malformed JSON: {error}"))
        }
        other => ApiError::BadRequest(format!("unreadable body: {other}")),
    };
    HttpError::from(api_error).into()
}

fn path_error(_: PathError, request: &HttpRequest) -> actix_web::Error {
    // The typed path segments are room and message ids: one that is not a number names none.
    let what = if request.path().contains("/messages/") {
        "room or message"
    } else {
        "room"
    };
    HttpError::from(ApiError::NotFound(what)).into()
}

fn query_error(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    HttpError::from(ApiError::BadRequest(format!(
        "invalid query string: {error}"
    )))
    .into()
}

/// A path no route has is 404; a known path called with a method it does not answer is 405.
async fn no_such_endpoint(
    request: HttpRequest,
    methods: web::Data<MethodTable>,
) -> Result<HttpResponse, HttpError> {
    match methods.allowed(request.path()) {
        Some(allowed) => Err(ApiError::MethodNotAllowed(allowed).into()),
        None => Err(ApiError::NotFound("endpoint").into()),
    }
}
