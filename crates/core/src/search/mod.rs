//! Message and room search (issue 27). So far: the query language, parsed once and rendered
//! for each backend.

pub mod query;

pub use query::{QueryError, SearchQuery};
