//! Message search (issue 27): the query language, parsed once and rendered for each backend;
//! a search request with its filters and cursor; and where a query matched in a text. The use
//! case is `Chat::search_messages`.

pub mod highlight;
pub mod query;
pub mod request;

pub use highlight::MatchRange;
pub use query::{QueryError, SearchQuery};
pub use request::SearchRequest;
