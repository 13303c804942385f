//! The platform says what happened to an order; the order's room shows it to both sides.

use room_chats_store::StoreError;
use room_chats_store::order_events::{self, NewOrderEvent, Recorded};
use room_chats_types::rules::{check_order_event_text, check_tracking_url};
use room_chats_types::{OrderEventBody, OrderEventDto, Role};

use super::{Announcement, Chat, check_field};
use crate::auth::Caller;
use crate::error::ApiError;

impl Chat {
    /// Records what happened to an order (the platform's `service` tokens, and admins): the
    /// order's status, and in its room (if the customer opened one) a timeline entry both sides
    /// see, live and on resume, with its webhook. The event, and `true` when it is new (a
    /// retry of an `event_id` answers the event as first recorded).
    pub async fn record_order_event(
        &self,
        caller: &Caller,
        order_id: String,
        body: OrderEventBody,
    ) -> Result<(OrderEventDto, bool), ApiError> {
        if caller.role == Role::Client {
            return Err(ApiError::Forbidden(
                "only the platform or admins report order events",
            ));
        }
        let OrderEventBody {
            status,
            text,
            tracking_url,
            event_id,
        } = body;
        check_field("order_id", &order_id)?;
        if let Some(text) = &text {
            check_order_event_text(text)
                .map_err(|why| ApiError::Validation(format!("text {why}")))?;
        }
        if let Some(url) = &tracking_url {
            check_tracking_url(url)
                .map_err(|why| ApiError::Validation(format!("tracking_url {why}")))?;
        }
        if let Some(event_id) = &event_id {
            check_field("event_id", event_id)?;
        }
        let recorded = self
            .db
            .run(move |conn| {
                let new = NewOrderEvent {
                    order_id: &order_id,
                    status,
                    text: text.as_deref(),
                    tracking_url: tracking_url.as_deref(),
                    event_id: event_id.as_deref(),
                };
                order_events::record_order_event(conn, &new)
            })
            .await
            .map_err(|error| match error {
                StoreError::NotFound => ApiError::NotFound("order"),
                other => other.into(),
            })?;
        Ok(match recorded {
            Recorded::New { event, frame } => {
                if let (Some(room_id), Some(frame)) = (event.room_id, frame.as_deref()) {
                    self.announcer
                        .announce(Announcement::RoomEvent { room_id, frame });
                }
                (event, true)
            }
            Recorded::Replayed(event) => (event, false),
        })
    }
}
