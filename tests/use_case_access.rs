//! Every use case checks access itself, whatever adapter calls it. Here the use cases are
//! called directly — no route, no WebSocket handshake in front of them — by a stranger, a
//! service token and the room's own customer: only the customer gets through the one door,
//! `Chat::visible_room`, and every use case that acts on a room takes what that door hands out.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use room_chats_core::attachments::{
    AttachmentSettings, AttachmentStore, Attachments, Storage, StorageLocation, Upload,
};
use room_chats_core::auth::Caller;
use room_chats_core::chat::{Announcer, HistoryRequest, MessageDraft, RoomListRequest, Sent};
use room_chats_core::{ApiError, Chat, Limits};
use room_chats_store::batch::MessageWriter;
use room_chats_store::{Database, DatabaseUrl, PoolSettings};
use room_chats_types::{MessageQuery, Role, RoomListQuery, RoomStatus, UpsertOrderBody};

/// The use cases over a fresh SQLite database, with no transport and no listener.
struct Core {
    chat: Chat,
    attachments: Attachments,
    _dir: tempfile::TempDir,
}

async fn core() -> Core {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::connect(
        DatabaseUrl::Sqlite(dir.path().join("chat.db")),
        &PoolSettings {
            max_size: 2,
            acquire_timeout: Duration::from_secs(10),
        },
    )
    .expect("database");
    db.migrate().await.expect("migrations");
    let storage =
        Storage::open(&StorageLocation::Directory(dir.path().join("files"))).expect("file storage");
    // No preview maker here: previews are made when first asked for.
    let (files, _previews) =
        AttachmentStore::new(db.clone(), storage, AttachmentSettings::default());
    let writer = MessageWriter::start(
        db.clone(),
        1,
        Duration::from_secs(5),
        Arc::new(|_| {}),
        Arc::new(|_| {}),
    );
    let chat = Chat::new(
        db,
        writer,
        Announcer::new(Vec::new()),
        files.clone(),
        &Limits::default(),
    );
    Core {
        attachments: Attachments::new(files),
        chat,
        _dir: dir,
    }
}

fn caller(user_id: &str, role: Role) -> Caller {
    Caller {
        user_id: user_id.to_owned(),
        role,
        name: None,
        expires_at: i64::MAX,
        request_id: None,
    }
}

fn upload(
    words: &'static [u8],
) -> Upload<impl futures_util::Stream<Item = Result<Bytes, ApiError>> + Unpin> {
    Upload {
        filename: "notes.txt".to_owned(),
        declared_len: Some(words.len() as u64),
        body: futures_util::stream::iter([Ok(Bytes::from_static(words))]),
    }
}

#[actix_web::test]
async fn only_the_access_check_opens_a_room_to_the_use_cases() {
    let core = core().await;
    let (chat, attachments) = (&core.chat, &core.attachments);
    let shop = caller("shop", Role::Service);
    let customer = caller("customer", Role::Client);
    let stranger = caller("stranger", Role::Client);
    let order = UpsertOrderBody {
        customer_id: customer.user_id.clone(),
        reference: None,
    };
    chat.upsert_order(&shop, "ord-1".to_owned(), order)
        .await
        .expect("the shop records the order");
    let (room, _) = chat
        .open_room(&customer, "ord-1".to_owned())
        .await
        .expect("the customer opens its order's room");

    // The customer passes the door, and through it every use case of the room.
    let visible = chat
        .visible_room(&customer, room.id)
        .await
        .expect("the customer sees its room");
    let draft = MessageDraft {
        content: Some("is my parcel on its way?".to_owned()),
        ..MessageDraft::default()
    };
    let sent = chat.send_message(&visible, draft).await.expect("sent");
    assert!(matches!(sent, Sent::New(ref message) if message.sender_id == "customer"));
    chat.mark_read(&visible, None).await.expect("read");
    let page = chat
        .history(
            &visible,
            HistoryRequest::parse(&MessageQuery::default(), &Limits::default())
                .expect("the newest page"),
        )
        .await
        .expect("history");
    assert_eq!(page.items.len(), 1);
    let file = attachments
        .upload(&customer, room.id, upload(b"the receipt"))
        .await
        .expect("the customer uploads into its room");

    // A stranger finds nothing: the room answers as one that does not exist, and so do its
    // order, its files and its place in the room list.
    let refused = chat.visible_room(&stranger, room.id).await;
    assert!(
        matches!(refused, Err(ApiError::NotFound("room"))),
        "{refused:?}"
    );
    let refused = chat.open_room(&stranger, "ord-1".to_owned()).await;
    assert!(
        matches!(refused, Err(ApiError::NotFound("order"))),
        "{refused:?}"
    );
    let all_rooms = RoomListRequest::parse(RoomListQuery::default()).expect("the first page");
    let listing = chat
        .room_page(&stranger, all_rooms)
        .await
        .expect("a stranger's room list");
    assert!(listing.items.is_empty(), "{:?}", listing.items);
    let refused = attachments
        .upload(&stranger, room.id, upload(b"spam"))
        .await;
    assert!(
        matches!(refused, Err(ApiError::NotFound("room"))),
        "{refused:?}"
    );
    let refused = attachments.download(&stranger, file.id, None).await;
    assert!(
        matches!(refused, Err(ApiError::NotFound("attachment"))),
        "{:?}",
        refused.err()
    );
    let refused = attachments.preview(&stranger, file.id).await;
    assert!(
        matches!(refused, Err(ApiError::NotFound("attachment"))),
        "{:?}",
        refused.err()
    );

    // A service token manages orders and does not chat, in any room.
    let refused = chat.visible_room(&shop, room.id).await;
    assert!(
        matches!(refused, Err(ApiError::Forbidden(_))),
        "{refused:?}"
    );
    let refused = chat.open_room(&shop, "ord-1".to_owned()).await;
    assert!(
        matches!(refused, Err(ApiError::Forbidden(_))),
        "{refused:?}"
    );

    // The customer, seeing its room, still may not do what is for admins.
    let refused = chat.set_room_status(&visible, RoomStatus::Closed).await;
    assert!(
        matches!(refused, Err(ApiError::Forbidden(_))),
        "{refused:?}"
    );
    let refused = chat.assign_admin(&visible, "stranger".to_owned()).await;
    assert!(
        matches!(refused, Err(ApiError::Forbidden(_))),
        "{refused:?}"
    );

    // Nothing of the stranger's tries reached the room: it holds one message, from one member.
    let detail = chat.room_detail(visible, 50).await.expect("detail");
    assert_eq!(detail.messages.len(), 1);
    let members: Vec<&str> = detail.members.iter().map(|m| m.user_id.as_str()).collect();
    assert_eq!(members, ["customer"]);
}
