//! Message and room search (issue 27). So far: the query language, parsed once and rendered
//! for each backend, and where a query matched in a text.

pub mod highlight;
pub mod query;

pub use highlight::MatchRange;
pub use query::{QueryError, SearchQuery};
