//! The search language means the same on both backends: each query, rendered by
//! `SearchQuery`, finds the same documents in Postgres (`to_tsquery` over a `tsvector` built
//! from the text with every non-word character made a space) and in the bundled SQLite's FTS5
//! (`unicode61` keeping accents, as Postgres' `simple` configuration does).

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Integer, Text};
use diesel::{Connection, QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};
use room_chats_core::search::SearchQuery;

use crate::support::{Backend, TestApp};

/// What is searched: hyphenated words, an order reference, punctuation, other scripts.
const DOCUMENTS: &[(i32, &str)] = &[
    (1, "My parcel had a broken zipper"),
    (2, "broken zip, refund please"),
    (3, "e-mail me about ORD-1042"),
    (4, "not arrived; broken zip"),
    (5, "Ünïcode Grüße aus München"),
    (6, "مرحبا بك في المتجر"),
];

/// Queries and the documents each must find, in id order.
const EXPECTED: &[(&str, &[i32])] = &[
    ("broken zip", &[1, 2, 4]),
    ("zip broken", &[2, 4]),
    ("zip -refund", &[4]),
    ("\"broken zip\"", &[2, 4]),
    ("\"zip broken\"", &[]),
    ("-\"not arrived\" broken", &[1, 2]),
    ("ORD-1042", &[3]),
    ("ord 104", &[3]),
    ("e-mail", &[3]),
    ("EMAIL", &[]),
    ("münch", &[5]),
    // Accents count, on both: Postgres' `simple` keeps them, so FTS5 must too.
    ("munchen", &[]),
    ("ÜNÏCODE", &[5]),
    ("مرحبا", &[6]),
    ("a&b|c!d:*(e)'\\\"", &[]),
];

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Integer)]
    id: i32,
}

fn parsed(query: &str) -> SearchQuery {
    SearchQuery::parse(query).unwrap_or_else(|error| panic!("{query:?}: {error}"))
}

/// Stores every document of `DOCUMENTS` through `insert`.
fn store_documents(mut insert: impl FnMut(i32, &str) -> QueryResult<usize>) {
    for (id, body) in DOCUMENTS {
        insert(*id, body).expect("a document");
    }
}

/// Runs every query of `EXPECTED`, rendered by `render`, through `search`, and compares the
/// documents it found with those it must find.
fn assert_expected_found(
    render: fn(&SearchQuery) -> String,
    mut search: impl FnMut(&str) -> QueryResult<Vec<Found>>,
) {
    for (query, expected) in EXPECTED {
        let rendered = render(&parsed(query));
        let found: Vec<i32> = search(&rendered)
            .unwrap_or_else(|error| panic!("{query:?} as {rendered:?}: {error}"))
            .into_iter()
            .map(|found| found.id)
            .collect();
        assert_eq!(&found, expected, "{query:?} as {rendered:?}");
    }
}

#[actix_web::test]
async fn postgres_finds_what_the_language_means() {
    let app = TestApp::start(Backend::Postgres).await;
    let mut db = app.postgres();
    db.batch_execute(
        "CREATE TEMP TABLE documents (id integer PRIMARY KEY, body text NOT NULL, \
         words tsvector GENERATED ALWAYS AS \
         (to_tsvector('simple', regexp_replace(body, '[^[:alnum:]]+', ' ', 'g'))) STORED)",
    )
    .expect("a table of documents");
    store_documents(|id, body| {
        diesel::sql_query("INSERT INTO documents (id, body) VALUES ($1, $2)")
            .bind::<Integer, _>(id)
            .bind::<Text, _>(body)
            .execute(&mut db)
    });
    assert_expected_found(SearchQuery::to_tsquery, |rendered| {
        diesel::sql_query(
            "SELECT id FROM documents WHERE words @@ to_tsquery('simple', $1) ORDER BY id",
        )
        .bind::<Text, _>(rendered)
        .load::<Found>(&mut db)
    });
}

#[test]
fn sqlite_fts5_finds_what_the_language_means() {
    let mut db = SqliteConnection::establish(":memory:").expect("SQLite in memory");
    // `unicode61` folds case as Postgres does, but removes accents unless told not to.
    db.batch_execute(
        "CREATE VIRTUAL TABLE documents USING fts5(body, tokenize = 'unicode61 remove_diacritics 0')",
    )
    .expect("the bundled SQLite has FTS5");
    store_documents(|id, body| {
        diesel::sql_query("INSERT INTO documents (rowid, body) VALUES (?, ?)")
            .bind::<Integer, _>(id)
            .bind::<Text, _>(body)
            .execute(&mut db)
    });
    assert_expected_found(SearchQuery::to_fts5, |rendered| {
        diesel::sql_query(
            "SELECT rowid AS id FROM documents WHERE documents MATCH ? ORDER BY rowid",
        )
        .bind::<Text, _>(rendered)
        .load::<Found>(&mut db)
    });
}
