//! Reading the stored spelling of an enum back, failing loudly on anything else.

/// A stored value that is none of an enum's spellings: the database holds something this
/// build does not know (a newer build wrote it, or a row was edited by hand). Reading it as
/// some default instead would, say, show a room closed that is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSpelling {
    /// Which enum (`role`, `room status`).
    pub kind: &'static str,
    /// The value found.
    pub value: String,
}

impl UnknownSpelling {
    /// Reads `value` with `parse`, or names it as an unknown `kind`.
    pub fn parse<T>(
        kind: &'static str,
        value: String,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, Self> {
        parse(&value).ok_or(Self { kind, value })
    }
}

impl std::fmt::Display for UnknownSpelling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} {:?} in the database", self.kind, self.value)
    }
}

impl std::error::Error for UnknownSpelling {}
