//! Connection ids, apart from the hub that hands them out, so the parts that only name a
//! connection (the inbox, the sockets) need not import the hub.

/// Identifies one connection on this node.
pub type ConnId = u64;
