//! Joining a room live: the one use case behind `/ws/chat/{room_id}/` and a `subscribe` frame
//! on `/ws/`, so both refuse the same things with the same words.

use room_chats_types::{RoomId, Seq};

use super::{Chat, VisibleRoom};
use crate::auth::Caller;
use crate::error::ApiError;

/// How much history a joining session may ask for (`WS_HISTORY_DEFAULT`, `WS_HISTORY_MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRules {
    /// Messages sent when the client does not say.
    pub default: i64,
    /// Most messages a client may ask for.
    pub max: i64,
}

/// Where a live session starts: after `since` (a resume), or with the newest `history`
/// messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinPoint {
    /// Resume after this seq, if the client asked.
    pub since: Option<Seq>,
    /// How many recent messages to send without `since`.
    pub history: i64,
}

impl JoinPoint {
    /// Reads what a client asked for: `since` not negative, `history` within the rules.
    pub fn parse(
        since: Option<Seq>,
        history: Option<i64>,
        rules: HistoryRules,
    ) -> Result<Self, ApiError> {
        if since.is_some_and(|seq| seq < 0) {
            return Err(ApiError::Validation(
                "since must not be negative".to_owned(),
            ));
        }
        let history = history.unwrap_or(rules.default);
        if !(0..=rules.max).contains(&history) {
            return Err(ApiError::Validation(format!(
                "history must be between 0 and {}",
                rules.max
            )));
        }
        Ok(Self { since, history })
    }
}

/// A room a caller joins, and where its session starts.
#[derive(Debug, Clone)]
pub struct Join {
    pub room: VisibleRoom,
    pub from: JoinPoint,
}

impl Chat {
    /// Checks a join of room `room_id` by `caller` — the resume point first, then that the
    /// caller may see the room — and says where its session starts.
    pub async fn join_room(
        &self,
        caller: &Caller,
        room_id: RoomId,
        since: Option<Seq>,
        history: Option<i64>,
        rules: HistoryRules,
    ) -> Result<Join, ApiError> {
        let from = JoinPoint::parse(since, history, rules)?;
        let room = self.visible_room(caller, room_id).await?;
        Ok(Join { room, from })
    }
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failed expectation is a failed test")]
mod tests {
    use super::*;

    const RULES: HistoryRules = HistoryRules {
        default: 50,
        max: 200,
    };

    #[test]
    fn a_join_point_is_read_at_its_edges() {
        let parsed = JoinPoint::parse(None, None, RULES).expect("defaults");
        assert_eq!(
            parsed,
            JoinPoint {
                since: None,
                history: 50
            }
        );
        for (since, history) in [(Some(0), Some(0)), (Some(7), Some(200))] {
            let parsed = JoinPoint::parse(since, history, RULES).expect("in range");
            assert_eq!((parsed.since, Some(parsed.history)), (since, history));
        }
        for (since, history, why) in [
            (Some(-1), None, "since must not be negative"),
            (None, Some(-1), "history must be between 0 and 200"),
            (None, Some(201), "history must be between 0 and 200"),
        ] {
            let refused = JoinPoint::parse(since, history, RULES).map_err(|e| e.to_string());
            assert_eq!(refused, Err(why.to_owned()));
        }
    }
}
