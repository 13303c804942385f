//! `GET /reports/support`: the support team's figures for a time range (role `admin`).

use actix_web::{HttpResponse, get, web};
use room_chats_types::{ErrorBody, SupportReportDto, SupportReportQuery};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Rooms opened and closed, first- and next-response percentiles, targets missed and
/// satisfaction for `[from, to)` — overall and per admin (docs/SUPPORT.md#the-staff-report).
#[utoipa::path(
    tag = "reports",
    params(SupportReportQuery),
    responses(
        (status = 200, body = SupportReportDto, description = "The figures"),
        (status = 403, body = ErrorBody, description = "Only admins read the report (`forbidden`)"),
        (status = 422, body = ErrorBody, description = "`from` is not before `to`, or the range is over 366 days (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/reports/support")]
pub async fn support_report(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<SupportReportQuery>,
) -> Result<HttpResponse, HttpError> {
    let report = state.reports.report(&caller, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(report))
}
