//! Caller roles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::spelling::UnknownSpelling;

/// What a caller is allowed to do, taken from its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A customer: sees the chats of its own orders.
    Client,
    /// Shop staff: sees and manages every chat.
    Admin,
    /// The main platform: manages orders, never chats.
    Service,
}

impl Role {
    /// The role as it appears on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Admin => "admin",
            Self::Service => "service",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client" => Some(Self::Client),
            "admin" => Some(Self::Admin),
            "service" => Some(Self::Service),
            _ => None,
        }
    }
}

/// The stored spelling, read back from the database.
impl TryFrom<String> for Role {
    type Error = UnknownSpelling;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        UnknownSpelling::parse("role", value, Self::parse)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_every_role() {
        for role in [Role::Client, Role::Admin, Role::Service] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn an_unknown_stored_role_is_an_error_not_a_default() {
        assert_eq!(Role::try_from("admin".to_owned()), Ok(Role::Admin));
        let unknown = Role::try_from("owner".to_owned());
        assert_eq!(
            unknown.map_err(|error| error.to_string()),
            Err(r#"unknown role "owner" in the database"#.to_owned())
        );
    }
}
