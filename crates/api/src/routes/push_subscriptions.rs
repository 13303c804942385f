//! Web Push: `GET /push/vapid-public-key`, and `/me/push-subscriptions` for the caller's
//! browsers (docs/NOTIFICATIONS.md shows the service worker side).

use actix_web::{HttpResponse, delete, get, post, web};
use room_chats_types::{ErrorBody, PushSubscriptionBody, PushSubscriptionDto, VapidPublicKeyDto};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::routes::json_body::JsonBody;
use crate::state::AppState;

/// The server's VAPID public key: a browser passes it as `applicationServerKey` to
/// `pushManager.subscribe`. Public; needs no token.
#[utoipa::path(
    tag = "push",
    responses(
        (status = 200, body = VapidPublicKeyDto, description = "The key"),
        (status = 404, body = ErrorBody, description = "Web Push is not configured on this server (`not_found`)"),
    )
)]
#[get("/push/vapid-public-key")]
pub async fn vapid_public_key(state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::Ok().json(state.push.public_key()?))
}

/// The caller's registered browsers.
#[utoipa::path(
    tag = "push",
    responses(
        (status = 200, body = Vec<PushSubscriptionDto>, description = "Oldest first"),
        (status = 403, body = ErrorBody, description = "Service tokens receive no notifications (`forbidden`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/me/push-subscriptions")]
pub async fn list_subscriptions(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::Ok().json(state.push.list(&caller).await?))
}

/// Registers the caller's browser: the body is `PushSubscription.toJSON()`. Registering an
/// endpoint again replaces it; a user holds at most 10 (the oldest go).
#[utoipa::path(
    tag = "push",
    request_body = PushSubscriptionBody,
    responses(
        (status = 201, body = PushSubscriptionDto, description = "Registered"),
        (status = 403, body = ErrorBody, description = "Service tokens receive no notifications (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "Web Push is not configured on this server (`not_found`)"),
        (status = 413, body = ErrorBody, description = "Body over the size limit (`too_large`)"),
        (status = 422, body = ErrorBody, description = "An endpoint that is not an https URL of a public push service, or keys that are not base64url P-256 / 16-byte values (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[post("/me/push-subscriptions")]
pub async fn subscribe(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: JsonBody<PushSubscriptionBody>,
) -> Result<HttpResponse, HttpError> {
    let subscription = state.push.subscribe(&caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(subscription))
}

/// Removes one of the caller's browsers (what it was still owed is dropped).
#[utoipa::path(
    tag = "push",
    params(("subscription_id" = i64, Path, description = "Subscription id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = ErrorBody, description = "Service tokens receive no notifications (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such subscription of the caller (`not_found`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/me/push-subscriptions/{subscription_id}")]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    subscription_id: web::Path<i64>,
) -> Result<HttpResponse, HttpError> {
    state
        .push
        .unsubscribe(&caller, subscription_id.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
