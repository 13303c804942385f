//! The staff report (`GET /reports/support`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The range of `GET /reports/support`: `[from, to)`, at most 366 days.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SupportReportQuery {
    /// Start of the range (RFC 3339); default: seven days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End of the range, excluded (RFC 3339); default: now.
    pub to: Option<DateTime<Utc>>,
}

/// How long customers waited for answers of one kind, in seconds of calendar time (business
/// hours move deadlines, not recorded waits). Percentiles by nearest rank; null without
/// answers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResponseTimeFigures {
    /// Answers counted.
    pub count: i64,
    /// Half the answers came at least this fast.
    pub p50_seconds: Option<f64>,
    /// Nine in ten answers came at least this fast.
    pub p90_seconds: Option<f64>,
}

/// The customers' ratings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SatisfactionFigures {
    /// Ratings given.
    pub count: i64,
    /// Their mean score (1 to 5); null without ratings.
    pub average: Option<f64>,
}

/// What a team, or one admin, did in the range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupportFiguresDto {
    /// Rooms whose current close falls in the range (an admin's: those it closed).
    pub rooms_closed: i64,
    /// Waits for the first answer of a conversation (an admin's: the first answers it gave).
    pub first_response: ResponseTimeFigures,
    /// Waits for each later answer (the customer wrote again after staff answered; an
    /// admin's: the later answers it gave).
    pub next_response: ResponseTimeFigures,
    /// Response-time targets missed in the range (an admin's: answers it gave late).
    pub breaches: i64,
    /// Ratings given in the range (an admin's: of rooms it closed).
    pub satisfaction: SatisfactionFigures,
}

/// One admin's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdminFiguresDto {
    /// The admin.
    pub admin_id: String,
    /// Display name from the admin's latest token, if it carried one.
    pub name: Option<String>,
    /// What it did.
    pub figures: SupportFiguresDto,
}

/// The support team's figures for a time range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupportReportDto {
    /// Start of the range.
    pub from: DateTime<Utc>,
    /// End of the range, excluded.
    pub to: DateTime<Utc>,
    /// Rooms created in the range.
    pub rooms_opened: i64,
    /// Everyone's figures (closes by a policy and unanswered breaches included).
    pub overall: SupportFiguresDto,
    /// Each admin who closed, answered or was rated in the range, by id.
    pub admins: Vec<AdminFiguresDto>,
}
