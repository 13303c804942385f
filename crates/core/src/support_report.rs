//! The staff report: what the support team did in a time range — rooms opened and closed,
//! how long customers waited for answers, targets missed, ratings — overall and per admin.
//! Admins only.

use chrono::{TimeDelta, Utc};
use room_chats_store::Database;
use room_chats_store::support_report::{self as store, Figures, ResponseFigures};
use room_chats_types::{
    AdminFiguresDto, ResponseTimeFigures, SatisfactionFigures, SupportFiguresDto, SupportReportDto,
    SupportReportQuery,
};

use crate::access::require_admin;
use crate::auth::Caller;
use crate::error::ApiError;

/// The range when the query names no start: a week.
const DEFAULT_RANGE: TimeDelta = TimeDelta::days(7);
/// The longest range a report covers.
const MAX_RANGE: TimeDelta = TimeDelta::days(366);

/// The report use case.
#[derive(Clone)]
pub struct SupportReports {
    db: Database,
}

impl SupportReports {
    /// Reports over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The report of the range `query` names.
    pub async fn report(
        &self,
        caller: &Caller,
        query: SupportReportQuery,
    ) -> Result<SupportReportDto, ApiError> {
        require_admin(caller)?;
        let to = query.to.unwrap_or_else(Utc::now);
        let from = query.from.unwrap_or(to - DEFAULT_RANGE);
        if from >= to {
            return Err(ApiError::Validation("from must be before to".to_owned()));
        }
        if to - from > MAX_RANGE {
            return Err(ApiError::Validation(
                "a report covers at most 366 days (from .. to)".to_owned(),
            ));
        }
        let (start, end) = (from.timestamp_micros(), to.timestamp_micros());
        let figures = self
            .db
            .run(move |conn| store::support_figures(conn, start, end))
            .await?;
        let admins = figures
            .admins
            .iter()
            .map(|(admin_id, of)| AdminFiguresDto {
                admin_id: admin_id.clone(),
                name: figures.names.get(admin_id).cloned(),
                figures: dto(of),
            })
            .collect();
        Ok(SupportReportDto {
            from,
            to,
            rooms_opened: figures.rooms_opened,
            overall: dto(&figures.overall),
            admins,
        })
    }
}

fn dto(figures: &Figures) -> SupportFiguresDto {
    SupportFiguresDto {
        rooms_closed: figures.rooms_closed,
        first_response: waits(figures.first_response),
        next_response: waits(figures.next_response),
        breaches: figures.breaches,
        satisfaction: SatisfactionFigures {
            count: figures.ratings,
            #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
            average: (figures.ratings > 0)
                .then(|| figures.rating_sum as f64 / figures.ratings as f64),
        },
    }
}

#[expect(clippy::cast_precision_loss, reason = "waits far below 2^52 µs")]
fn waits(figures: ResponseFigures) -> ResponseTimeFigures {
    let seconds = |micros: i64| micros as f64 / 1_000_000.0;
    ResponseTimeFigures {
        count: figures.count,
        p50_seconds: figures.p50.map(seconds),
        p90_seconds: figures.p90.map(seconds),
    }
}
