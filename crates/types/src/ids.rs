//! Identifier aliases. Users and orders belong to the main platform, so their ids are opaque
//! strings; rooms and messages are ours and numbered.

/// A user id: the `sub` claim of the caller's token.
pub type UserId = String;
/// An order id as the main platform names it.
pub type OrderId = String;
/// A chat room id.
pub type RoomId = i64;
/// A message's position in its room: 1, 2, 3 … with no gaps.
pub type Seq = i64;
