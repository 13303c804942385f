//! Who may see and do what. Every room access goes through
//! [`Chat::visible_room`](crate::chat::Chat::visible_room), which asks [`may_see`].

use room_chats_store::Audience;
use room_chats_types::Role;

use crate::auth::Caller;
use crate::error::ApiError;

/// Whether `caller` may see a room whose order belongs to `customer_id`.
pub fn may_see(caller: &Caller, customer_id: &str) -> bool {
    match caller.role {
        Role::Admin => true,
        Role::Client => caller.user_id == customer_id,
        Role::Service => false,
    }
}

/// Who `caller` reads a room's timeline as: staff see its internal notes (and the events
/// about them), anyone else never does. Every read made for a caller takes it from here.
pub fn audience(caller: &Caller) -> Audience {
    Audience::of(caller.role)
}

/// Whether `caller` may see internal notes: what a live session asks of each frame.
pub fn sees_notes(caller: &Caller) -> bool {
    audience(caller).sees_notes()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(user_id: &str, role: Role) -> Caller {
        Caller {
            user_id: user_id.to_owned(),
            role,
            name: None,
            expires_at: 0,
            request_id: None,
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
