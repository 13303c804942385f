//! The middleware that counts and times HTTP answers.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, web};

use room_chats_core::metrics::{HttpLabels, RouteLabels};

use crate::error::HttpError;
use crate::state::AppState;

/// Counts each answer by method, route pattern and status, times it, and counts error
/// answers by their code.
pub async fn record(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(request.method());
    let response = next.call(request).await?;
    let Some(state) = response.request().app_data::<web::Data<AppState>>() else {
        return Ok(response);
    };
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let metrics = &state.metrics;
    metrics
        .http_duration
        .get_or_create(&RouteLabels {
            method,
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    if let Some(error) = response.response().error().and_then(HttpError::carried_by) {
        metrics.refused(error.code(), "http");
    }
    Ok(response)
}

/// The method as a label: the standard ones by name, anything else as `other` (a client
/// could otherwise make a label value per request).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
