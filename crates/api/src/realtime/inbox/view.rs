//! One user's view of the inbox: which rooms it shows (access and the stream's filters), the
//! user's unread count in each, and the news an update makes of them. No I/O: the stream
//! actor loads what [`InboxView::baselines_needed`] asks for and renders afterwards; the JSON
//! is written by [`super::wire`].
//!
//! Unread counts are kept from a baseline read from the database (the count up to a seq) plus
//! the messages of others the touches report after it. Touches of one room from different
//! nodes may arrive out of seq order, so the view remembers the seqs it counted recently
//! instead of a single high-water mark.

use std::collections::{BTreeSet, HashMap};

use room_chats_core::chat::UnreadBaseline;
use room_chats_types::stream::{InboxChange, RemovalReason};
use room_chats_types::{AssignedFilter, Role, RoomId, RoomStatus, RoomSummaryDto, Seq};

use room_chats_core::access::may_see;
use room_chats_core::auth::Caller;

use super::touch::{RoomTouch, RoomTouchChange};
use super::wire::RenderedRoom;

/// Counted seqs remembered per room; older ones count as counted.
const RECENT_SEQS: usize = 64;

/// An update for every stream of the node: the touches of one or more windows and the state
/// of each touched room, read after them.
#[derive(Debug, Default)]
pub(crate) struct InboxUpdate {
    /// One touch per room.
    pub(crate) touches: Vec<RoomTouch>,
    /// Each touched room as it is now, `unread` 0.
    pub(crate) rooms: HashMap<RoomId, RoomSummaryDto>,
    /// The same rooms as JSON, written once for every stream of the node.
    pub(crate) rendered: HashMap<RoomId, RenderedRoom>,
    /// Users who came online (`true`) or went offline in the cluster.
    pub(crate) presence: Vec<(String, bool)>,
    /// When the rooms were read (micros): the cursor of the frames made of them.
    pub(crate) read_at: i64,
}

impl InboxUpdate {
    /// A room's entry for a viewer: spliced from the text written once for every viewer, or
    /// (should that text be missing) serialized for this one.
    pub(crate) fn entry(
        &self,
        room_id: RoomId,
        change: InboxChange,
        unread: i64,
    ) -> Option<String> {
        if let Some(rendered) = self.rendered.get(&room_id) {
            return Some(rendered.entry(change, unread));
        }
        let mut room = self.rooms.get(&room_id)?.clone();
        room.unread = unread;
        super::wire::entry_of(change, room)
    }
}

/// The filters of a stream (those of `GET /chat/`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StreamFilter {
    /// Only rooms with this status.
    pub(crate) status: Option<RoomStatus>,
    /// Admins: only rooms assigned to them, or to nobody.
    pub(crate) assigned: Option<AssignedFilter>,
}

/// The user's unread count in one room, and when the room was last sent.
#[derive(Debug, Clone, Default)]
struct RoomCount {
    /// Seqs at or below this are in `unread` already (or read).
    floor: Seq,
    /// Seqs above `floor` counted already.
    recent: BTreeSet<Seq>,
    unread: i64,
    /// `read_at` of the newest state sent, so an older one is never sent after it.
    sent_at: i64,
}

impl RoomCount {
    fn count(&mut self, seq: Seq, sender: &str, viewer: &str) {
        if seq <= self.floor || !self.recent.insert(seq) {
            return;
        }
        if sender != viewer {
            self.unread += 1;
        }
        if self.recent.len() > RECENT_SEQS
            && let Some(oldest) = self.recent.pop_first()
        {
            self.floor = oldest;
        }
    }

    fn newest(&self) -> Seq {
        self.recent.last().copied().unwrap_or(self.floor)
    }
}

/// What an update means for one viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InboxNews {
    /// A shown room changed: send its state with the viewer's unread count.
    Room {
        room_id: RoomId,
        change: InboxChange,
        unread: i64,
    },
    /// A room left the view.
    Removed {
        room_id: RoomId,
        reason: RemovalReason,
    },
    /// A user came online or went offline (admins only).
    Presence { user_id: String, online: bool },
}

/// See the module docs.
pub(crate) struct InboxView {
    viewer: Caller,
    filter: StreamFilter,
    rooms: HashMap<RoomId, RoomCount>,
}

impl InboxView {
    /// An empty view for `viewer`.
    pub(crate) fn new(viewer: Caller, filter: StreamFilter) -> Self {
        Self {
            viewer,
            filter,
            rooms: HashMap::new(),
        }
    }

    /// Whether the viewer sees `room` under the stream's filters.
    pub(crate) fn shows(&self, room: &RoomSummaryDto) -> bool {
        let status = self
            .filter
            .status
            .is_none_or(|status| room.room.status == status);
        let assigned = match self.filter.assigned {
            None => true,
            Some(AssignedFilter::Me) => room.assigned_admins.contains(&self.viewer.user_id),
            Some(AssignedFilter::None) => room.assigned_admins.is_empty(),
        };
        may_see(&self.viewer, &room.room.customer_id) && status && assigned
    }

    /// Rooms of `update` the view shows but cannot count without the database: never counted,
    /// or the viewer's own marker moved part way (how much is left unread is the database's).
    pub(crate) fn baselines_needed(&self, update: &InboxUpdate) -> Vec<RoomId> {
        update
            .touches
            .iter()
            .filter(|touch| {
                update
                    .rooms
                    .get(&touch.room_id)
                    .is_some_and(|room| self.shows(room))
            })
            .filter(|touch| match self.rooms.get(&touch.room_id) {
                None => true,
                Some(count) => touch.reads.iter().any(|(user, up_to)| {
                    *user == self.viewer.user_id && *up_to < count.newest().max(newest_of(touch))
                }),
            })
            .map(|touch| touch.room_id)
            .collect()
    }

    /// Counts from `baseline` on (fresh from the database: it replaces what was counted).
    pub(crate) fn set_baseline(&mut self, baseline: &UnreadBaseline) {
        let count = self.rooms.entry(baseline.room_id).or_default();
        count.floor = baseline.counted_seq;
        count.recent.clear();
        count.unread = baseline.unread;
    }

    /// Counts from summaries read at `read_at` (the catch-up), which carry the unread counts.
    pub(crate) fn seed(&mut self, rooms: &[RoomSummaryDto], read_at: i64) {
        for room in rooms {
            let count = self.rooms.entry(room.room.id).or_default();
            count.floor = room.room.last_seq;
            count.recent.clear();
            count.unread = room.unread;
            count.sent_at = read_at;
        }
    }

    /// The news `update` makes for this viewer, in the order of its touches; then who came
    /// online or went offline, for admins (clients are not told who else is online).
    pub(crate) fn render(&mut self, update: &InboxUpdate) -> Vec<InboxNews> {
        let mut news = self.render_rooms(update);
        if self.viewer.role == Role::Admin {
            news.extend(
                update
                    .presence
                    .iter()
                    .map(|(user_id, online)| InboxNews::Presence {
                        user_id: user_id.clone(),
                        online: *online,
                    }),
            );
        }
        news
    }

    fn render_rooms(&mut self, update: &InboxUpdate) -> Vec<InboxNews> {
        let mut news = Vec::new();
        for touch in &update.touches {
            let Some(room) = update.rooms.get(&touch.room_id) else {
                continue;
            };
            if !self.shows(room) {
                if let Some(reason) = self.removal(touch, room) {
                    self.rooms.remove(&touch.room_id);
                    news.push(InboxNews::Removed {
                        room_id: touch.room_id,
                        reason,
                    });
                }
                continue;
            }
            let change = self.change(touch);
            let viewer = self.viewer.user_id.as_str();
            let count = self.rooms.entry(touch.room_id).or_default();
            for (seq, sender) in &touch.messages {
                count.count(*seq, sender, viewer);
            }
            for (user, up_to) in &touch.reads {
                if user == viewer && *up_to >= count.newest() {
                    count.floor = *up_to;
                    count.recent.clear();
                    count.unread = 0;
                }
            }
            if count.sent_at > update.read_at {
                continue;
            }
            count.sent_at = update.read_at;
            news.push(InboxNews::Room {
                room_id: touch.room_id,
                change,
                unread: count.unread,
            });
        }
        news
    }

    /// Why a room the view no longer shows leaves it, if this touch is what moved it out (a
    /// room that was never shown gets no removal).
    fn removal(&self, touch: &RoomTouch, room: &RoomSummaryDto) -> Option<RemovalReason> {
        let lost_it = touch.changes.iter().any(|change| {
            matches!(change, RoomTouchChange::Customer { previous } if *previous == self.viewer.user_id)
        });
        if lost_it {
            return Some(RemovalReason::AccessLost);
        }
        let still_visible = may_see(&self.viewer, &room.room.customer_id);
        (still_visible && touch.changed()).then_some(RemovalReason::Filtered)
    }

    /// What kind of news a touch of a shown room is for this viewer.
    fn change(&self, touch: &RoomTouch) -> InboxChange {
        let viewer = &self.viewer.user_id;
        let appeared = touch.changes.iter().any(|change| match change {
            RoomTouchChange::Opened => true,
            // A client that sees the room now is its new customer; admins saw it all along.
            RoomTouchChange::Customer { .. } => self.viewer.role == Role::Client,
            RoomTouchChange::Room { event, user_id } => match event {
                room_chats_types::frames::RoomChange::Reopened => {
                    self.filter.status == Some(RoomStatus::Open)
                }
                room_chats_types::frames::RoomChange::MemberAdded => {
                    self.filter.assigned == Some(AssignedFilter::Me)
                        && user_id.as_ref() == Some(viewer)
                }
                room_chats_types::frames::RoomChange::MemberRemoved => {
                    self.filter.assigned == Some(AssignedFilter::None)
                }
                room_chats_types::frames::RoomChange::Closed => {
                    self.filter.status == Some(RoomStatus::Closed)
                }
                room_chats_types::frames::RoomChange::OrderChanged
                | room_chats_types::frames::RoomChange::Rated
                | room_chats_types::frames::RoomChange::SlaBreached => false,
            },
        });
        if appeared {
            InboxChange::Appeared
        } else if touch.changed() {
            InboxChange::Changed
        } else {
            InboxChange::Activity
        }
    }
}

/// The highest seq a touch reports.
fn newest_of(touch: &RoomTouch) -> Seq {
    touch
        .messages
        .iter()
        .map(|(seq, _)| *seq)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use room_chats_types::{Role, RoomDto};

    use super::*;

    fn caller(user_id: &str, role: Role) -> Caller {
        Caller {
            user_id: user_id.to_owned(),
            role,
            name: None,
            expires_at: i64::MAX,
            request_id: None,
        }
    }

    fn room(id: RoomId, customer: &str, last_seq: Seq) -> RoomSummaryDto {
        RoomSummaryDto {
            room: RoomDto {
                id,
                order_id: format!("o{id}"),
                order_reference: None,
                customer_id: customer.to_owned(),
                status: RoomStatus::Open,
                last_seq,
                created_at: Utc::now(),
                last_activity_at: Utc::now(),
                closed_at: None,
                closed_by: None,
                closed_by_policy: None,
                rating: None,
                waiting: None,
                sla: None,
            },
            last_message: None,
            unread: 0,
            assigned_admins: Vec::new(),
        }
    }

    fn update(touches: Vec<RoomTouch>, rooms: Vec<RoomSummaryDto>, read_at: i64) -> InboxUpdate {
        InboxUpdate {
            touches,
            rooms: rooms.into_iter().map(|room| (room.room.id, room)).collect(),
            rendered: HashMap::new(),
            presence: Vec::new(),
            read_at,
        }
    }

    fn messages(room_id: RoomId, seqs: &[(Seq, &str)]) -> RoomTouch {
        RoomTouch {
            room_id,
            messages: seqs
                .iter()
                .map(|(seq, who)| (*seq, (*who).to_owned()))
                .collect(),
            ..RoomTouch::default()
        }
    }

    fn unread_of(news: &[InboxNews]) -> Vec<i64> {
        news.iter()
            .filter_map(|news| match news {
                InboxNews::Room { unread, .. } => Some(*unread),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn unread_counts_others_messages_once_whatever_their_order() {
        let mut view = InboxView::new(caller("admin", Role::Admin), StreamFilter::default());
        let first = update(vec![messages(1, &[(4, "c")])], vec![room(1, "c", 4)], 10);
        assert_eq!(view.baselines_needed(&first), vec![1]);
        view.set_baseline(&UnreadBaseline {
            room_id: 1,
            read_seq: 0,
            counted_seq: 4,
            unread: 2,
        });
        // Seq 4 is in the baseline already.
        assert_eq!(unread_of(&view.render(&first)), vec![2]);
        // 6 comes before 5 (two nodes); 7 is the viewer's own; 6 again is a duplicate.
        let later = update(
            vec![messages(1, &[(6, "c"), (5, "c"), (7, "admin"), (6, "c")])],
            vec![room(1, "c", 7)],
            20,
        );
        assert!(view.baselines_needed(&later).is_empty());
        assert_eq!(unread_of(&view.render(&later)), vec![4]);
    }

    #[test]
    fn reading_everything_clears_the_count_and_a_partial_read_asks_the_database() {
        let mut view = InboxView::new(caller("admin", Role::Admin), StreamFilter::default());
        view.seed(&[room(1, "c", 3)], 1);
        let news = update(
            vec![messages(1, &[(4, "c"), (5, "c")])],
            vec![room(1, "c", 5)],
            2,
        );
        assert_eq!(unread_of(&view.render(&news)), vec![2]);
        let partial = RoomTouch {
            room_id: 1,
            reads: vec![("admin".to_owned(), 4)],
            ..RoomTouch::default()
        };
        let partial = update(vec![partial], vec![room(1, "c", 5)], 3);
        assert_eq!(view.baselines_needed(&partial), vec![1]);
        let all = RoomTouch {
            room_id: 1,
            reads: vec![("admin".to_owned(), 5)],
            ..RoomTouch::default()
        };
        let all = update(vec![all], vec![room(1, "c", 5)], 4);
        assert!(view.baselines_needed(&all).is_empty());
        assert_eq!(unread_of(&view.render(&all)), vec![0]);
    }

    #[test]
    fn a_client_sees_only_its_rooms_and_is_told_when_one_moves_away() {
        let mut view = InboxView::new(caller("c1", Role::Client), StreamFilter::default());
        let others = update(vec![messages(2, &[(1, "c2")])], vec![room(2, "c2", 1)], 1);
        assert!(view.baselines_needed(&others).is_empty());
        assert!(view.render(&others).is_empty(), "another customer's room");
        let moved = RoomTouch {
            room_id: 3,
            changes: vec![RoomTouchChange::Customer {
                previous: "c1".to_owned(),
            }],
            ..RoomTouch::default()
        };
        let news = view.render(&update(vec![moved.clone()], vec![room(3, "c2", 1)], 2));
        assert_eq!(
            news,
            vec![InboxNews::Removed {
                room_id: 3,
                reason: RemovalReason::AccessLost,
            }]
        );
        // The new customer sees it appear.
        let mut view = InboxView::new(caller("c2", Role::Client), StreamFilter::default());
        view.seed(&[room(3, "c2", 1)], 1);
        let news = view.render(&update(vec![moved], vec![room(3, "c2", 1)], 2));
        assert!(matches!(
            news.as_slice(),
            [InboxNews::Room {
                change: InboxChange::Appeared,
                ..
            }]
        ));
    }

    #[test]
    fn filters_remove_a_room_that_changed_out_of_them_and_never_resend_older_state() {
        let filter = StreamFilter {
            status: Some(RoomStatus::Open),
            assigned: None,
        };
        let mut view = InboxView::new(caller("admin", Role::Admin), filter);
        let mut closed = room(1, "c", 2);
        closed.room.status = RoomStatus::Closed;
        let closing = RoomTouch {
            room_id: 1,
            changes: vec![RoomTouchChange::Room {
                event: room_chats_types::frames::RoomChange::Closed,
                user_id: None,
            }],
            ..RoomTouch::default()
        };
        let news = view.render(&update(vec![closing], vec![closed.clone()], 5));
        assert_eq!(
            news,
            vec![InboxNews::Removed {
                room_id: 1,
                reason: RemovalReason::Filtered,
            }]
        );
        // Messages in a closed room do not pass an open-only filter, nor produce removals.
        let quiet = update(vec![messages(1, &[(3, "c")])], vec![closed], 6);
        assert!(view.render(&quiet).is_empty());
        // A state read before one already sent is not sent.
        view.seed(&[room(2, "c", 1)], 10);
        let stale = update(vec![messages(2, &[(1, "c")])], vec![room(2, "c", 1)], 9);
        assert!(view.render(&stale).is_empty());
    }

    #[test]
    fn only_admins_hear_who_is_online() {
        let mut presence = update(Vec::new(), Vec::new(), 1);
        presence.presence = vec![("c1".to_owned(), true)];
        let mut admin = InboxView::new(caller("staff", Role::Admin), StreamFilter::default());
        assert_eq!(
            admin.render(&presence),
            vec![InboxNews::Presence {
                user_id: "c1".to_owned(),
                online: true
            }]
        );
        let mut client = InboxView::new(caller("c2", Role::Client), StreamFilter::default());
        assert!(client.render(&presence).is_empty());
    }
}
