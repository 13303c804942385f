//! Orders, as the main platform registers them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::OrderStatus;
use crate::schema::ExternalId;

/// Body of `PUT /orders/{order_id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertOrderBody {
    /// The user id (token `sub`) of the customer who placed the order.
    #[schema(value_type = ExternalId, example = "user-17")]
    pub customer_id: String,
    /// A human-readable order reference shown in the dashboard.
    #[schema(value_type = Option<ExternalId>, example = "#A-1042")]
    pub reference: Option<String>,
}

/// An order known to this service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderDto {
    /// The main platform's order id.
    #[schema(example = "1042")]
    pub order_id: String,
    /// The customer's user id.
    pub customer_id: String,
    /// Human-readable reference, if any.
    pub reference: Option<String>,
    /// When this service first heard of the order.
    pub created_at: DateTime<Utc>,
    /// When the order was last changed.
    pub updated_at: DateTime<Utc>,
    /// The newest status the platform reported (`POST /orders/{order_id}/events`), if any.
    pub status: Option<OrderStatus>,
    /// When that status was reported.
    pub status_at: Option<DateTime<Utc>>,
}
