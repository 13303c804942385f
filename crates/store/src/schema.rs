//! Diesel's view of the tables in `migrations/` (kept by hand: both backends share it).

diesel::table! {
    orders (id) {
        id -> Text,
        customer_id -> Text,
        reference -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        status -> Nullable<Text>,
        status_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    order_events (id) {
        id -> BigInt,
        order_id -> Text,
        status -> Text,
        text -> Nullable<Text>,
        tracking_url -> Nullable<Text>,
        event_id -> Nullable<Text>,
        created_at -> BigInt,
        room_id -> Nullable<BigInt>,
        seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    chat_rooms (id) {
        id -> BigInt,
        order_id -> Text,
        status -> Text,
        last_seq -> BigInt,
        created_at -> BigInt,
        last_activity_at -> BigInt,
        activity_bucket -> BigInt,
        closed_at -> Nullable<BigInt>,
        closed_by -> Nullable<Text>,
        waiting_for -> Nullable<Text>,
        waiting_since -> Nullable<BigInt>,
        closed_by_policy -> Nullable<Text>,
        rating_score -> Nullable<SmallInt>,
        rating_comment -> Nullable<Text>,
        rated_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    waiting_backfill (id) {
        id -> Integer,
        below -> BigInt,
    }
}

diesel::table! {
    rooms_awaiting_staff (room_id) {
        room_id -> BigInt,
        since -> BigInt,
        clock -> Text,
        timed -> Bool,
        due_at -> Nullable<BigInt>,
        breached_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    response_times (id) {
        id -> BigInt,
        room_id -> BigInt,
        clock -> Text,
        timed -> Bool,
        started_at -> BigInt,
        due_at -> Nullable<BigInt>,
        breached_at -> Nullable<BigInt>,
        answered_at -> Nullable<BigInt>,
        answered_seq -> Nullable<BigInt>,
        ended_at -> BigInt,
        responder_id -> Nullable<Text>,
        response_micros -> Nullable<BigInt>,
        announced -> Bool,
    }
}

diesel::table! {
    room_members (room_id, user_id) {
        room_id -> BigInt,
        user_id -> Text,
        role -> Text,
        assigned -> Bool,
        last_read_seq -> BigInt,
        joined_at -> BigInt,
        read_at -> BigInt,
        muted -> Bool,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        room_id -> BigInt,
        seq -> BigInt,
        sender_id -> Text,
        sender_role -> Text,
        content -> Text,
        client_id -> Nullable<Text>,
        created_at -> BigInt,
        edited_at -> Nullable<BigInt>,
        deleted_at -> Nullable<BigInt>,
        deleted_by -> Nullable<Text>,
        attachments -> Nullable<Text>,
        note -> Bool,
    }
}

diesel::table! {
    message_revisions (message_id, revision) {
        message_id -> BigInt,
        revision -> BigInt,
        reason -> Text,
        content -> Text,
        client_id -> Nullable<Text>,
        changed_by -> Text,
        changed_at -> BigInt,
    }
}

diesel::table! {
    room_events (room_id, seq) {
        room_id -> BigInt,
        seq -> BigInt,
        kind -> Text,
        message_id -> Nullable<BigInt>,
        frame -> Text,
        created_at -> BigInt,
        staff_only -> Bool,
    }
}

diesel::table! {
    user_names (user_id) {
        user_id -> Text,
        name -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        url -> Text,
        secret -> Text,
        description -> Text,
        event_types -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    webhook_outbox (id) {
        id -> BigInt,
        endpoint_id -> BigInt,
        room_id -> BigInt,
        event_id -> Text,
        event_type -> Text,
        body -> Text,
        created_at -> BigInt,
        attempts -> BigInt,
        next_attempt_at -> BigInt,
        first_failed_at -> Nullable<BigInt>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        dead_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_leases (queue) {
        queue -> Text,
        owner -> Text,
        lease_until -> BigInt,
    }
}

diesel::table! {
    notification_bursts (room_id) {
        room_id -> BigInt,
        first_seq -> BigInt,
        since -> BigInt,
    }
}

diesel::table! {
    canned_replies (id) {
        id -> BigInt,
        title -> Text,
        content -> Text,
        shortcut -> Nullable<Text>,
        created_by -> Text,
        updated_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    push_subscriptions (id) {
        id -> BigInt,
        user_id -> Text,
        endpoint -> Text,
        p256dh -> Text,
        auth -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    push_outbox (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        room_id -> BigInt,
        payload -> Text,
        created_at -> BigInt,
        attempts -> BigInt,
        next_attempt_at -> BigInt,
        lease_until -> BigInt,
    }
}

diesel::joinable!(chat_rooms -> orders (order_id));
diesel::table! {
    attachments (id) {
        id -> BigInt,
        room_id -> BigInt,
        uploader_id -> Text,
        storage_key -> Text,
        filename -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        message_id -> Nullable<BigInt>,
        created_at -> BigInt,
        pending -> Bool,
        upload_key -> Nullable<Text>,
        width -> Nullable<Integer>,
        height -> Nullable<Integer>,
        preview_key -> Nullable<Text>,
    }
}

diesel::joinable!(push_outbox -> push_subscriptions (subscription_id));
diesel::joinable!(attachments -> chat_rooms (room_id));
diesel::joinable!(webhook_outbox -> webhook_endpoints (endpoint_id));
diesel::joinable!(room_members -> chat_rooms (room_id));
diesel::joinable!(rooms_awaiting_staff -> chat_rooms (room_id));
diesel::joinable!(response_times -> chat_rooms (room_id));
diesel::joinable!(messages -> chat_rooms (room_id));
diesel::joinable!(room_events -> chat_rooms (room_id));
diesel::joinable!(message_revisions -> messages (message_id));

diesel::table! {
    audit_entries (id) {
        id -> BigInt,
        at -> BigInt,
        actor_id -> Text,
        actor_role -> Text,
        action -> Text,
        room_id -> Nullable<BigInt>,
        user_id -> Nullable<Text>,
        message_id -> Nullable<BigInt>,
        webhook_endpoint_id -> Nullable<BigInt>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    room_retention (room_id) {
        room_id -> BigInt,
        history_days -> Nullable<Integer>,
        legal_hold -> Bool,
        hold_reason -> Nullable<Text>,
        purged_through -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    user_legal_holds (user_id) {
        user_id -> Text,
        reason -> Nullable<Text>,
        placed_at -> BigInt,
        placed_by -> Text,
    }
}

diesel::table! {
    storage_deletions (object_key) {
        object_key -> Text,
        queued_at -> BigInt,
    }
}

diesel::table! {
    erasures (user_id) {
        user_id -> Text,
        requested_at -> BigInt,
        requested_by -> Text,
        finished_at -> Nullable<BigInt>,
        events_after_room -> BigInt,
        events_after_seq -> BigInt,
        deliveries_after -> BigInt,
    }
}

diesel::table! {
    exports (id) {
        id -> BigInt,
        user_id -> Text,
        requested_by -> Text,
        requested_at -> BigInt,
        status -> Text,
        lease_until -> Nullable<BigInt>,
        finished_at -> Nullable<BigInt>,
        expires_at -> Nullable<BigInt>,
        object_key -> Nullable<Text>,
        size_bytes -> Nullable<BigInt>,
        download_key -> Text,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(room_retention -> chat_rooms (room_id));

diesel::allow_tables_to_appear_in_same_query!(
    room_retention,
    user_legal_holds,
    erasures,
    exports,
    response_times,
    orders,
    order_events,
    chat_rooms,
    rooms_awaiting_staff,
    room_members,
    messages,
    message_revisions,
    room_events,
    user_names,
    webhook_endpoints,
    webhook_outbox,
    webhook_leases,
    notification_bursts,
    push_subscriptions,
    push_outbox,
    attachments
);
