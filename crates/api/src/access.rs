//! Who may see and do what. Every room access goes through [`visible_room`].

use room_chats_store::rooms;
use room_chats_types::{Role, RoomDto};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Whether `caller` may see a room whose order belongs to `customer_id`.
pub fn may_see(caller: &Caller, customer_id: &str) -> bool {
    match caller.role {
        Role::Admin => true,
        Role::Client => caller.user_id == customer_id,
        Role::Service => false,
    }
}

/// Refuses callers that do not chat (the `service` role).
pub fn require_chat_role(caller: &Caller) -> Result<(), ApiError> {
    if caller.role == Role::Service {
        return Err(ApiError::Forbidden(
            "service tokens manage orders and cannot chat",
        ));
    }
    Ok(())
}

/// Refuses callers that are not admins.
pub fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.role != Role::Admin {
        return Err(ApiError::Forbidden("only admins may do this"));
    }
    Ok(())
}

/// Loads a room the caller may see. A room of someone else's order answers exactly like a
/// room that does not exist, so room ids cannot be probed.
pub async fn visible_room(
    state: &AppState,
    caller: &Caller,
    room_id: i64,
) -> Result<RoomDto, ApiError> {
    require_chat_role(caller)?;
    let room = state
        .db
        .run(move |conn| rooms::find_room(conn, room_id))
        .await?;
    room.filter(|room| may_see(caller, &room.customer_id))
        .ok_or(ApiError::NotFound("room"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(user_id: &str, role: Role) -> Caller {
        Caller {
            user_id: user_id.to_owned(),
            role,
            name: None,
            expires_at: 0,
        }
    }

    #[test]
    fn clients_see_only_their_own_orders() {
        assert!(may_see(&caller("u1", Role::Client), "u1"));
        assert!(!may_see(&caller("u2", Role::Client), "u1"));
        assert!(may_see(&caller("a1", Role::Admin), "u1"));
        assert!(!may_see(&caller("u1", Role::Service), "u1"));
    }
}
