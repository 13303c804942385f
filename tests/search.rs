//! Message search (`GET /search/messages`): what is found and where it matched, who finds it
//! (decided when the search runs), bad queries, paging while messages arrive, and the
//! messages stored before search existed.

use std::collections::HashSet;

use room_chats_core::attachments::AttachmentSettings;
use room_chats_types::{SearchHitDto, SearchPage};
use serde_json::json;

use crate::attachments::{start as start_with_files, upload_multipart};
use crate::on_both_backends;
use crate::support::{Backend, Response, TestApp};

on_both_backends!(
    words_phrases_exclusions_and_prefixes_find_what_they_say,
    bad_queries_are_refused_with_422_and_odd_ones_never_fail,
    clients_find_only_messages_of_their_orders_as_they_are_now,
    deleted_and_edited_messages_are_found_by_their_current_words_only,
    paging_shows_every_result_once_while_messages_arrive,
    messages_without_a_search_row_are_indexed_by_the_indexer,
    a_new_search_language_reindexes_every_message,
);

mod files {
    use crate::on_both_backends;

    on_both_backends!(backend: attachment_file_names_are_found_and_marked);

    async fn attachment_file_names_are_found_and_marked(backend: crate::support::Backend) {
        super::attachment_file_names_are_found_and_marked(backend).await;
    }
}

/// `GET /search/messages` with these parameters.
async fn search(app: &TestApp, token: &str, params: &[(&str, &str)]) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    app.call(
        "GET",
        &format!("/search/messages?{query}"),
        Some(token),
        None,
    )
    .await
}

/// A search that must succeed: its page, read through the wire type.
async fn found(app: &TestApp, token: &str, params: &[(&str, &str)]) -> SearchPage {
    let response = search(app, token, params).await;
    assert_eq!(response.status, 200, "{params:?}: {response:?}");
    response.typed()
}

/// The contents of the messages a search finds, in its order.
async fn contents(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    found(app, token, &[("q", q)])
        .await
        .items
        .into_iter()
        .map(|hit| hit.message.content)
        .collect()
}

/// The stretches of `text` the ranges mark, ranges in UTF-16 units as the SPA reads them.
fn marked(text: &str, hit_ranges: &[room_chats_types::TextRange]) -> Vec<String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    hit_ranges
        .iter()
        .map(|range| String::from_utf16_lossy(&units[range.start..range.end]))
        .collect()
}

async fn words_phrases_exclusions_and_prefixes_find_what_they_say(app: TestApp) {
    let room = app.room("S-1", "u1").await;
    let client = app.tokens.client("u1");
    let admin = app.tokens.admin("staff");
    for text in [
        "My parcel had a broken zipper",
        "broken zip, refund please",
        "not arrived; broken zip",
        "Grüße 🙂 about ORD-1042",
    ] {
        app.send(room, &client, text).await;
    }

    // Newest first unless told otherwise.
    assert_eq!(
        contents(&app, &admin, "broken zip").await,
        [
            "not arrived; broken zip",
            "broken zip, refund please",
            "My parcel had a broken zipper",
        ]
    );
    assert_eq!(
        contents(&app, &admin, "\"zip broken\"").await,
        Vec::<String>::new()
    );
    assert_eq!(
        contents(&app, &admin, "zip -refund -\"not arrived\"").await,
        Vec::<String>::new()
    );
    assert_eq!(
        contents(&app, &admin, "broken -refund -\"not arrived\"").await,
        ["My parcel had a broken zipper"]
    );
    assert_eq!(
        contents(&app, &client, "ord-104").await,
        ["Grüße 🙂 about ORD-1042"]
    );
    // A customer's search reads its own messages (on SQLite checked one by one, not through
    // FTS5): it means the same.
    for query in [
        "broken zip",
        "\"zip broken\"",
        "\"broken zip\"",
        "zip -refund -\"not arrived\"",
        "broken -refund -\"not arrived\"",
        "ord-104",
        "ord 1042",
        "zippe",
    ] {
        assert_eq!(
            contents(&app, &client, query).await,
            contents(&app, &admin, query).await,
            "{query}"
        );
    }

    let page = found(&app, &client, &[("q", "GRÜSSE"), ("limit", "5")]).await;
    assert!(
        page.items.is_empty(),
        "accents and letters count as written"
    );
    let page = found(&app, &client, &[("q", "grüße about")]).await;
    let hit: &SearchHitDto = &page.items[0];
    assert_eq!(hit.order_id, "S-1");
    assert_eq!(hit.message.room_id, room);
    assert_eq!(
        marked(&hit.message.content, &hit.content_matches),
        ["Grüße", "about"],
        "ranges count UTF-16 units past the emoji"
    );
    assert!(page.next_cursor.is_none());

    // Relevance puts the message with the words twice first.
    app.send(room, &client, "zip zip zip, the zip is broken")
        .await;
    let ranked = found(&app, &admin, &[("q", "zip"), ("sort", "relevance")]).await;
    assert_eq!(
        ranked.items[0].message.content,
        "zip zip zip, the zip is broken"
    );
    // The last word is a prefix: `zip` is still being typed, so the zipper is found too.
    assert_eq!(ranked.items.len(), 4);
    assert_eq!(
        ranked.items[3].message.content, "My parcel had a broken zipper",
        "a prefix match of the longest message ranks last"
    );
}

async fn bad_queries_are_refused_with_422_and_odd_ones_never_fail(app: TestApp) {
    let room = app.room("S-2", "u1").await;
    let client = app.tokens.client("u1");
    app.send(room, &client, "مرحبا بك في المتجر").await;

    let too_long = "a".repeat(201);
    let too_many = ["w"; 11].join(" ");
    for q in [
        "",
        " ",
        "\t\n",
        "\0",
        "&|!:*()'\"\\",
        "🙂",
        "-refund",
        too_long.as_str(),
        too_many.as_str(),
    ] {
        search(&app, &client, &[("q", q)])
            .await
            .assert_error(422, "validation_failed");
    }
    for params in [
        vec![],
        vec![("q", "zip"), ("limit", "0")],
        vec![("q", "zip"), ("limit", "51")],
        vec![("q", "zip"), ("cursor", "n.1.0000000000000000")],
        vec![("q", "zip"), ("sender", "")],
        vec![("q", "zip"), ("room_id", "0")],
        vec![
            ("q", "zip"),
            ("since", "2026-01-02T00:00:00Z"),
            ("until", "2026-01-01T00:00:00Z"),
        ],
        vec![("q", "zip"), ("assigned", "me")],
    ] {
        search(&app, &client, &params)
            .await
            .assert_error(422, "validation_failed");
    }
    for params in [
        vec![("q", "zip"), ("sort", "loudest")],
        vec![("q", "zip"), ("limit", "ten")],
        vec![("q", "zip"), ("since", "yesterday")],
    ] {
        let response = search(&app, &client, &params).await;
        assert!(
            (400..500).contains(&response.status),
            "{params:?}: {response:?}"
        );
    }
    search(&app, &app.tokens.service(), &[("q", "zip")])
        .await
        .assert_error(403, "forbidden");
    let anonymous = app.call("GET", "/search/messages?q=zip", None, None).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");

    // Characters either engine reads as syntax, NUL, emoji and right-to-left text: only words.
    for q in [
        "a&b|c!d:*(e)'f\\g\"h",
        "zip\0code",
        "' OR 1=1 --",
        "\"unterminated phrase",
        "x:* & !y",
        "🙂 مرحبا",
        "NEAR(a b)",
        "a AND b OR c NOT d",
        // Letters and numbers either engine may split otherwise: superscripts, Roman
        // numerals, ideographic zero, title-case digraphs, ligatures, combining accents,
        // zero-width spaces, fullwidth letters.
        "x² ⅻ 〇 ǅ",
        "ﬁle cafe\u{301}",
        "\u{200b}zip\u{200b}",
        "ＺＩＰ ８",
    ] {
        let response = search(&app, &client, &[("q", q)]).await;
        assert_eq!(response.status, 200, "{q:?}: {response:?}");
    }
    assert_eq!(
        contents(&app, &client, "🙂 مرحبا").await,
        ["مرحبا بك في المتجر"]
    );
}

async fn clients_find_only_messages_of_their_orders_as_they_are_now(app: TestApp) {
    let first = app.room("S-3", "u1").await;
    let second = app.room("S-4", "u2").await;
    let u1 = app.tokens.client("u1");
    let u2 = app.tokens.client("u2");
    let u3 = app.tokens.client("u3");
    let admin = app.tokens.admin("staff");
    app.send(first, &u1, "parcel one is late").await;
    app.send(second, &u2, "parcel two is late").await;

    assert_eq!(contents(&app, &u1, "parcel").await, ["parcel one is late"]);
    assert_eq!(contents(&app, &u2, "parcel").await, ["parcel two is late"]);
    assert_eq!(contents(&app, &admin, "parcel").await.len(), 2);
    // Naming the other customer's room finds nothing (not an error that tells it exists).
    let other_room = second.to_string();
    let probe = found(&app, &u1, &[("q", "parcel"), ("room_id", &other_room)]).await;
    assert!(probe.items.is_empty(), "{probe:?}");

    // The order moves to another customer: the previous one stops finding it at once.
    app.order("S-3", "u3").await;
    assert_eq!(contents(&app, &u1, "parcel").await, Vec::<String>::new());
    assert_eq!(contents(&app, &u3, "parcel").await, ["parcel one is late"]);

    // Admins filter like the room list: by status and by assignment.
    app.close(second, &admin).await;
    let open_only = found(&app, &admin, &[("q", "parcel"), ("status", "open")]).await;
    let rooms: Vec<i64> = open_only
        .items
        .iter()
        .map(|hit| hit.message.room_id)
        .collect();
    assert_eq!(rooms, [first]);
    let assigned = app
        .call(
            "PUT",
            &format!("/chat/{first}/admins/staff"),
            Some(&admin),
            None,
        )
        .await;
    assert!(assigned.status < 300, "{assigned:?}");
    let mine = found(&app, &admin, &[("q", "parcel"), ("assigned", "me")]).await;
    let rooms: Vec<i64> = mine.items.iter().map(|hit| hit.message.room_id).collect();
    assert_eq!(rooms, [first]);
    let unassigned = found(&app, &admin, &[("q", "parcel"), ("assigned", "none")]).await;
    let rooms: Vec<i64> = unassigned
        .items
        .iter()
        .map(|hit| hit.message.room_id)
        .collect();
    assert_eq!(rooms, [second]);
}

async fn deleted_and_edited_messages_are_found_by_their_current_words_only(app: TestApp) {
    let room = app.room("S-5", "u1").await;
    let client = app.tokens.client("u1");
    let admin = app.tokens.admin("staff");
    let message = app.send(room, &client, "the zebra parcel").await;
    let path = format!("/chat/{room}/messages/{}", message.id);

    let edited = app
        .call(
            "PATCH",
            &path,
            Some(&client),
            Some(json!({ "content": "the yak parcel" })),
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    assert_eq!(contents(&app, &admin, "zebra").await, Vec::<String>::new());
    assert_eq!(contents(&app, &client, "yak").await, ["the yak parcel"]);

    let deleted = app.call("DELETE", &path, Some(&client), None).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    for q in ["yak", "zebra", "parcel"] {
        assert_eq!(contents(&app, &admin, q).await, Vec::<String>::new(), "{q}");
    }
}

async fn paging_shows_every_result_once_while_messages_arrive(app: TestApp) {
    let room = app.room("S-6", "u1").await;
    let client = app.tokens.client("u1");
    let admin = app.tokens.admin("staff");
    let mut sent = HashSet::new();
    for n in 0..23 {
        // Repeats give ranks that tie and ranks that differ.
        let text = format!("{} parcel number {n}", "late ".repeat(n % 4 + 1));
        sent.insert(app.send(room, &client, &text).await.id);
    }
    for sort in ["newest", "relevance"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        let mut arrivals = Vec::new();
        loop {
            let mut params = vec![("q", "late parcel"), ("sort", sort), ("limit", "5")];
            if let Some(cursor) = &cursor {
                params.push(("cursor", cursor.as_str()));
            }
            let page = found(&app, &admin, &params).await;
            seen.extend(page.items.iter().map(|hit| hit.message.id));
            pages += 1;
            // New matches arrive between pages.
            let arrived = app
                .send(
                    room,
                    &client,
                    &format!("late parcel arriving {sort} {pages}"),
                )
                .await;
            arrivals.push(arrived.id);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{sort}: a result came twice: {seen:?}"
        );
        // Newest first, what arrives sorts before the first page; by relevance, the ranked
        // window is the first page's: either way the pages hold what matched at the start.
        assert_eq!(
            unique, sent,
            "{sort}: the pages are not the matches at the start"
        );
        assert_eq!(pages, sent.len().div_ceil(5), "{sort}: pages of 5");
        sent.extend(arrivals);
    }

    // A cursor is for the search that issued it: another query, or an altered one, is a 422.
    let page = found(&app, &admin, &[("q", "late parcel"), ("limit", "5")]).await;
    let cursor = page.next_cursor.expect("more pages");
    search(&app, &admin, &[("q", "parcel"), ("cursor", &cursor)])
        .await
        .assert_error(422, "validation_failed");
    let tampered = cursor.replacen('.', ".9", 1);
    search(&app, &admin, &[("q", "late parcel"), ("cursor", &tampered)])
        .await
        .assert_error(422, "validation_failed");
}

async fn messages_without_a_search_row_are_indexed_by_the_indexer(app: TestApp) {
    let room = app.room("S-7", "u1").await;
    let client = app.tokens.client("u1");
    let older = app
        .send(room, &client, "stored before search existed")
        .await;
    app.send(room, &client, "deleted before search existed")
        .await;
    let deleted = app.history(room, &client).await[1].clone();
    let path = format!("/chat/{room}/messages/{}", deleted.id);
    assert_eq!(
        app.call("DELETE", &path, Some(&client), None).await.status,
        200
    );
    // As a database from before search: no search rows, the indexer at the start.
    let forget = "DELETE FROM message_search; UPDATE search_index_state SET indexed_below = 0";
    match app
        .database()
        .run(move |conn| {
            use diesel::connection::SimpleConnection;
            Ok(conn.batch_execute(forget)?)
        })
        .await
    {
        Ok(()) => {}
        Err(error) => panic!("{error}"),
    }
    assert_eq!(
        contents(&app, &client, "existed").await,
        Vec::<String>::new()
    );

    let db = app.database();
    let ceiling = room_chats_workers::search_indexer::next_message_id(&db)
        .await
        .expect("newest id");
    let written = room_chats_workers::search_indexer::catch_up(&db, ceiling)
        .await
        .expect("indexer round");
    assert_eq!(written, 1, "the deleted message stays out");
    assert_eq!(contents(&app, &client, "existed").await, [older.content]);
    // Caught up: a second round writes nothing.
    let again = room_chats_workers::search_indexer::catch_up(&db, ceiling)
        .await
        .expect("indexer round");
    assert_eq!(again, 0);
}

async fn a_new_search_language_reindexes_every_message(app: TestApp) {
    use room_chats_workers::search_indexer::{catch_up, next_message_id, use_language};

    let room = app.room("S-9", "u1").await;
    let client = app.tokens.client("u1");
    app.send(room, &client, "both parcels arrived").await;
    let db = app.database();

    let unknown = use_language(&db, "klingon").await.map(|_| ());
    let refused = unknown.map_or_else(|error| error.to_string(), |()| "accepted".to_owned());
    assert!(refused.contains("SEARCH_LANGUAGE=klingon"), "{refused}");

    let english = use_language(&db, "english").await.map(|_| ());
    if matches!(app.backend(), Backend::Sqlite) {
        let refused = english.map_or_else(|error| error.to_string(), |()| "accepted".to_owned());
        assert!(refused.contains("needs Postgres"), "{refused}");
        return;
    }
    english.expect("Postgres has english");
    let ceiling = next_message_id(&db).await.expect("newest id");
    assert_eq!(catch_up(&db, ceiling).await.expect("a rebuild"), 1);
    // Stemmed: the singular finds the plural (this node reads the language on first search).
    assert_eq!(
        contents(&app, &client, "parcel arrive").await,
        ["both parcels arrived"]
    );
}

async fn attachment_file_names_are_found_and_marked(backend: Backend) {
    let node = start_with_files(backend, AttachmentSettings::default()).await;
    let app = &node.app;
    let room = app.room("S-8", "u1").await;
    let client = app.tokens.client("u1");
    let png = crate::attachments::png(2_000);
    let uploaded = upload_multipart(app, room, &client, "Invoice_ORD-77.png", &png).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    let file = uploaded.json["id"].as_i64().expect("attachment id");
    let sent = app
        .call(
            "POST",
            &format!("/chat/{room}/messages"),
            Some(&client),
            Some(json!({ "content": "here it is", "attachment_ids": [file] })),
        )
        .await;
    assert_eq!(sent.status, 201, "{sent:?}");

    let page = found(app, &client, &[("q", "invoice ord 77")]).await;
    let hit = page.items.first().expect("found by its file's name");
    assert_eq!(hit.message.content, "here it is");
    assert!(hit.content_matches.is_empty());
    assert_eq!(hit.filename_matches.len(), 1);
    assert_eq!(hit.filename_matches[0].attachment_id, file);
    assert_eq!(
        marked("Invoice_ORD-77.png", &hit.filename_matches[0].ranges),
        ["Invoice", "ORD", "77"]
    );
    let page = found(app, &client, &[("q", "ORD-77")]).await;
    let hit = page
        .items
        .first()
        .expect("found by the reference as written");
    assert_eq!(
        marked("Invoice_ORD-77.png", &hit.filename_matches[0].ranges),
        ["ORD-77"]
    );
}

mod plan {
    use diesel::RunQueryDsl;
    use room_chats_core::search::SearchQuery;
    use room_chats_store::search::{
        MessageSearch, RELEVANCE_ENOUGH, RELEVANCE_WINDOW, SearchPosition, explain_search,
        search_messages, search_settings,
    };
    use room_chats_types::SearchSort;

    use crate::support::{Backend, TestApp};

    /// The store's own statements, on 50,000 seeded messages of 500 rooms: the newest ids are
    /// walked only within their slice; below it the GIN index answers an admin's rare word in
    /// either order, a client's search starts from its own rooms or the index, and nothing
    /// scans every message. The query is a constant in every plan, computed once: as an
    /// expression Postgres computed it again for each message it looked at. And one process
    /// runs it, even where the server would start parallel workers for anything.
    #[actix_web::test]
    async fn postgres_searches_through_the_gin_index() {
        let app = TestApp::start(Backend::Postgres).await;
        let language_oid = seed_fifty_thousand(&app).await;
        let db = app.database_with(&[
            ("parallel_setup_cost", "0"),
            ("parallel_tuple_cost", "0"),
            ("min_parallel_index_scan_size", "0"),
            ("min_parallel_table_scan_size", "0"),
        ]);
        for (customer, sort) in [
            (None, SearchSort::Newest),
            (None, SearchSort::Relevance),
            (Some("c7"), SearchSort::Newest),
            (Some("c7"), SearchSort::Relevance),
        ] {
            let search = MessageSearch {
                only_customer: customer.map(str::to_owned),
                limit: 20,
                ..admin_search(language_oid, "zanzibar", sort, None)
            };
            let plan = db
                .run(move |conn| explain_search(conn, &search))
                .await
                .expect("a plan")
                .expect("Postgres explains");
            let split = plan
                .iter()
                .position(|line| line.starts_with("-- older ids"))
                .expect("two parts");
            let (newest, older) = plan.split_at(split);
            let uses = |part: &[String], step: &str| part.iter().any(|line| line.contains(step));
            let shown = format!("{customer:?} {sort:?}:\n{}", plan.join("\n"));
            // The newest ids may be walked, but only within their slice: a walk down an index
            // is given the slice's range as its condition.
            assert!(
                !uses(newest, "Backward")
                    || newest
                        .iter()
                        .any(|line| line.contains("Index Cond") && line.contains("id >=")),
                "{shown}"
            );
            if customer.is_none() {
                assert!(
                    uses(older, "Bitmap Index Scan on message_search_words_idx"),
                    "{shown}"
                );
            } else {
                // A customer's few rooms may come first (their messages then checked one by
                // one), or the words: either way no scan of everyone's messages.
                assert!(
                    uses(older, "message_search_words_idx") || uses(older, "orders_customer_idx"),
                    "{shown}"
                );
            }
            assert!(!uses(&plan, "Seq Scan on message"), "{shown}");
            assert!(!uses(&plan, "Gather"), "one process: {shown}");
            assert!(
                uses(&plan, "'''zanzibar'':*'::tsquery") && !uses(&plan, "to_tsquery("),
                "{shown}"
            );
        }
    }

    /// 50,000 messages in 500 rooms, indexed and analyzed, written straight to the database;
    /// returns the index's configuration as searches name it.
    async fn seed_fifty_thousand(app: &TestApp) -> Option<i64> {
        let mut conn = app.postgres();
        diesel::sql_query(
            "INSERT INTO orders (id, customer_id, created_at, updated_at) \
         SELECT 'P-' || n, 'c' || n, 0, 0 FROM generate_series(1, 500) AS n",
        )
        .execute(&mut conn)
        .expect("orders");
        diesel::sql_query(
            "INSERT INTO chat_rooms (order_id, created_at, last_activity_at) \
         SELECT id, 0, 0 FROM orders",
        )
        .execute(&mut conn)
        .expect("rooms");
        // A vocabulary of a thousand words, three a message, a rare word in ten messages and a
        // common one in every thirtieth: the index's statistics then tell the planner what is
        // rare, as real text does.
        diesel::sql_query(
            "INSERT INTO messages (room_id, seq, sender_id, sender_role, content, created_at) \
         SELECT r.id, n, 'c' || r.id, 'client', \
                'w' || (r.id * 7 + n) % 1000 || ' w' || (r.id * 13 + n * 3) % 1000 \
                || ' w' || (r.id + n * 11) % 1000 \
                || CASE WHEN n IN (10, 60) AND r.id % 100 = 0 THEN ' zanzibar' ELSE '' END \
                || CASE WHEN (r.id + n) % 30 = 0 THEN ' tide' ELSE '' END \
                || CASE WHEN (r.id + n) % 100 = 7 THEN ' reef' ELSE '' END, n \
         FROM chat_rooms AS r, generate_series(1, 100) AS n",
        )
        .execute(&mut conn)
        .expect("messages");
        diesel::sql_query(
            "INSERT INTO message_search (message_id, words) \
         SELECT id, to_tsvector('simple', content) FROM messages",
        )
        .execute(&mut conn)
        .expect("search rows");
        diesel::sql_query("ANALYZE")
            .execute(&mut conn)
            .expect("statistics");
        app.database()
            .run(search_settings)
            .await
            .expect("search settings")
            .language_oid
    }

    fn admin_search(
        language_oid: Option<i64>,
        word: &str,
        sort: SearchSort,
        after: Option<SearchPosition>,
    ) -> MessageSearch {
        let query = SearchQuery::parse(word).expect("a query");
        MessageSearch {
            language_oid,
            postgres_query: query.to_tsquery(),
            sqlite_query: query.to_fts5(),
            row_query: query.to_row_query(),
            only_customer: None,
            room_id: None,
            sender: None,
            since: None,
            until: None,
            status: None,
            assigned: None,
            sort,
            after,
            limit: 50,
            // A fifth of the seed, so that a search reads both parts.
            newest_slice: 10_000,
        }
    }

    /// Pages across the first slice's border, for a word in 1,666 of the 50,000 messages (read
    /// range by range), one in 500 (a hundred in the first slice: the next range is read for
    /// relevance too) and one in 10 (the rest through the index): newest first they are every
    /// match in id order, each once; by relevance the newest matches, each once, best first —
    /// at least [`RELEVANCE_ENOUGH`] (or all there are), at most [`RELEVANCE_WINDOW`].
    #[actix_web::test]
    async fn postgres_pages_cross_the_newest_slice_exactly() {
        let app = TestApp::start(Backend::Postgres).await;
        let language_oid = seed_fifty_thousand(&app).await;
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            message_id: i64,
        }
        let db = app.database();
        for (word, sort) in [
            ("tide", SearchSort::Newest),
            ("tide", SearchSort::Relevance),
            ("reef", SearchSort::Newest),
            ("reef", SearchSort::Relevance),
            ("zanzibar", SearchSort::Newest),
            ("zanzibar", SearchSort::Relevance),
        ] {
            let matching: Vec<i64> = diesel::sql_query(
                "SELECT message_id FROM message_search \
                 WHERE words @@ to_tsquery('simple', $1) ORDER BY message_id DESC",
            )
            .bind::<diesel::sql_types::Text, _>(word)
            .load::<Id>(&mut app.postgres())
            .expect("matches")
            .into_iter()
            .map(|row| row.message_id)
            .collect();
            assert!(
                matching[0] - matching[matching.len() - 1] > 10_000,
                "{word}: the seed spans more than the first slice"
            );
            let mut seen = Vec::new();
            let mut ranks = Vec::new();
            let mut after = None;
            loop {
                let search = admin_search(language_oid, word, sort, after);
                let mut page = db
                    .run(move |conn| search_messages(conn, &search))
                    .await
                    .expect("a page");
                let more = page.len() > 50;
                page.truncate(50);
                after = page.last().map(|found| found.position);
                seen.extend(page.iter().map(|found| found.message.id));
                ranks.extend(page.iter().map(|found| found.position.rank));
                if !more {
                    break;
                }
            }
            match sort {
                SearchSort::Newest => assert_eq!(seen, matching, "{word}"),
                SearchSort::Relevance => {
                    let mut found = seen.clone();
                    found.sort_unstable_by(|a, b| b.cmp(a));
                    let least = (RELEVANCE_ENOUGH as usize).min(matching.len());
                    assert!(
                        (least..=RELEVANCE_WINDOW as usize).contains(&found.len()),
                        "{word}: {} ranked of {} matches",
                        found.len(),
                        matching.len()
                    );
                    assert_eq!(
                        found,
                        matching[..found.len()],
                        "{word}: the newest matches, each once"
                    );
                    assert!(
                        ranks.windows(2).all(|pair| pair[0] >= pair[1]),
                        "best first"
                    );
                }
            }
        }
    }
}
