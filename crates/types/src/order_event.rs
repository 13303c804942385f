//! What happened to an order, as the platform tells it: a system entry of the order's room.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::schema::{ExternalId, OrderEventText, TrackingUrl};
use crate::spelling::UnknownSpelling;
use crate::{RoomId, Seq};

/// The status an order event reports. Another value is refused (422, listing these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// The customer paid.
    Paid,
    /// The parcel left the warehouse.
    Shipped,
    /// The parcel reached the customer.
    Delivered,
    /// The order was cancelled.
    Cancelled,
    /// The customer sent it back.
    Returned,
}

impl OrderStatus {
    /// Every status, in the order an order usually goes through them.
    pub const ALL: [Self; 5] = [
        Self::Paid,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::Returned,
    ];

    /// The status as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Returned => "returned",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// Read as a string first, so that any other value — another word, a number — is a plain
/// "unknown variant …, expected one of …" (serde_json reports a number given for an enum as
/// a syntax error, which would read as malformed JSON).
impl<'de> Deserialize<'de> for OrderStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const SPELLINGS: &[&str] = &["paid", "shipped", "delivered", "cancelled", "returned"];
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).ok_or_else(|| serde::de::Error::unknown_variant(&value, SPELLINGS))
    }
}

/// The stored spelling, read back from the database.
impl TryFrom<String> for OrderStatus {
    type Error = UnknownSpelling;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        UnknownSpelling::parse("order status", value, Self::parse)
    }
}

/// Body of `POST /orders/{order_id}/events`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderEventBody {
    /// What happened: `paid`, `shipped`, `delivered`, `cancelled` or `returned`.
    pub status: OrderStatus,
    /// A line for both sides of the chat, e.g. the carrier's name (at most 500 characters).
    #[schema(value_type = Option<OrderEventText>)]
    pub text: Option<String>,
    /// Where the customer follows the parcel (`https://` or `http://`, at most 2,048 bytes).
    #[schema(value_type = Option<TrackingUrl>)]
    pub tracking_url: Option<String>,
    /// The platform's id of this event: sending it again (a retry) records nothing new and
    /// answers the event as first recorded.
    #[schema(value_type = Option<ExternalId>, example = "evt-20261207-1042-shipped")]
    pub event_id: Option<String>,
}

/// An order event as recorded: in the order's room's timeline (when the order has a room),
/// its frame and its webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderEventDto {
    /// The order.
    pub order_id: String,
    /// What happened.
    pub status: OrderStatus,
    /// The line for both sides, if given.
    pub text: Option<String>,
    /// The tracking link, if given.
    pub tracking_url: Option<String>,
    /// The platform's id of the event, if given.
    pub event_id: Option<String>,
    /// When this service recorded it.
    pub at: DateTime<Utc>,
    /// The order's room, if the customer opened one; `null` otherwise (the order's status is
    /// kept all the same).
    pub room_id: Option<RoomId>,
    /// The event's place in the room's timeline, with `room_id`.
    pub seq: Option<Seq>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_as_written_and_others_are_named_as_unknown() {
        for status in OrderStatus::ALL {
            let written = serde_json::to_string(&status).ok();
            assert_eq!(written, Some(format!("\"{}\"", status.as_str())));
            let read = written.and_then(|text| serde_json::from_str::<OrderStatus>(&text).ok());
            assert_eq!(read, Some(status));
        }
        let refused = serde_json::from_str::<OrderStatus>("\"lost\"")
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        for status in OrderStatus::ALL {
            assert!(refused.contains(status.as_str()), "{refused}");
        }
        assert!(serde_json::from_str::<OrderStatus>("3").is_err());
    }
}
