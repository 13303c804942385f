//! Room search for staff (`q` on `GET /chat`): by any part of the order id, the order
//! reference, the customer id or the customer's display name; on Postgres also with a typo.

use room_chats_types::RoomPage;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    staff_find_rooms_by_order_reference_customer_and_name,
    room_search_refuses_what_is_not_a_search,
);

/// The order ids of the rooms `GET /chat?q=…` lists for `token`.
async fn orders_found(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", q)
        .finish();
    let response = app
        .call("GET", &format!("/chat?{query}"), Some(token), None)
        .await;
    assert_eq!(response.status, 200, "{q:?}: {response:?}");
    let mut found: Vec<String> = response
        .typed::<RoomPage>()
        .items
        .into_iter()
        .map(|room| room.room.order_id)
        .collect();
    found.sort();
    found
}

/// An order with a reference, and its room opened by a customer whose token carries `name`.
async fn order_of(app: &TestApp, order_id: &str, reference: &str, customer: &str, name: &str) {
    let upserted = app
        .call(
            "PUT",
            &format!("/orders/{order_id}"),
            Some(&app.tokens.service()),
            Some(json!({ "customer_id": customer, "reference": reference })),
        )
        .await;
    assert!(upserted.status < 300, "{upserted:?}");
    let mut claims = app.tokens.claims(customer, "client");
    claims["name"] = json!(name);
    let opened = app
        .call(
            "POST",
            &format!("/chat/order/{order_id}/chat/"),
            Some(&app.tokens.sign(&claims)),
            None,
        )
        .await;
    assert!(opened.status < 300, "{opened:?}");
}

async fn staff_find_rooms_by_order_reference_customer_and_name(app: TestApp) {
    order_of(&app, "order-1042", "#A-1042", "cust-anna", "Catherine Zeta").await;
    order_of(
        &app,
        "order-2077",
        "#B-2077",
        "cust-bert",
        "Bertrand Ödegaard",
    )
    .await;
    order_of(&app, "order-100_%", "#C-3", "cust-carl", "Carl 100%").await;
    let admin = app.tokens.admin("staff");

    for (q, expected) in [
        ("1042", vec!["order-1042"]),
        ("a-10", vec!["order-1042"]),
        ("ORDER-20", vec!["order-2077"]),
        ("cust-be", vec!["order-2077"]),
        ("zeta", vec!["order-1042"]),
        ("CATHERINE", vec!["order-1042"]),
        ("  bertrand ", vec!["order-2077"]),
        ("order", vec!["order-100_%", "order-1042", "order-2077"]),
        // LIKE's wildcards are the characters themselves.
        ("_%", vec!["order-100_%"]),
        ("100%", vec!["order-100_%"]),
        ("nobody-at-all", vec![]),
    ] {
        assert_eq!(orders_found(&app, &admin, q).await, expected, "{q:?}");
    }
    // A customer searches its own rooms only.
    let anna = app.tokens.client("cust-anna");
    assert_eq!(orders_found(&app, &anna, "order").await, ["order-1042"]);
    assert!(orders_found(&app, &anna, "2077").await.is_empty());

    if app.backend() == Backend::Postgres {
        // A typo in a name still finds it (trigram similarity), and so does a missing letter.
        assert_eq!(
            orders_found(&app, &admin, "Katherine").await,
            ["order-1042"]
        );
        assert_eq!(orders_found(&app, &admin, "Bertrnd").await, ["order-2077"]);
    }
}

async fn room_search_refuses_what_is_not_a_search(app: TestApp) {
    let admin = app.tokens.admin("staff");
    let too_long = "x".repeat(101);
    for q in ["", "   ", "a\u{7}b", too_long.as_str()] {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", q)
            .finish();
        app.call("GET", &format!("/chat?{query}"), Some(&admin), None)
            .await
            .assert_error(422, "validation_failed");
    }
    let longest = "x".repeat(100);
    assert!(orders_found(&app, &admin, &longest).await.is_empty());
}
