//! Black-box tests of room-chats over real HTTP, against real Postgres and the embedded
//! SQLite database. One binary, so linking happens once.

#![expect(clippy::expect_used, reason = "a failed expectation is a failed test")]

mod support;

mod attachments;
mod audit;
mod auth;
mod authorization;
mod auto_close;
mod bad_input;
mod broker_faults;
mod canned_replies;
mod concurrency;
mod direct_uploads;
mod document_rules;
mod edits;
mod endpoints;
mod erasure;
mod exports;
mod hostile_uploads;
mod image_previews;
mod inbox;
mod live_authorization;
mod metrics;
mod notes;
mod notifications;
mod one_error_table;
mod openapi;
mod order_events;
mod outage;
mod overload;
mod push;
mod rating;
mod realtime;
mod realtime_cluster;
mod redis_tls;
mod response_times;
mod retention;
mod room_search;
mod search;
mod search_language;
mod stored_data;
mod support_report;
mod timeline;
mod use_case_access;
mod waiting;
mod webhooks;
