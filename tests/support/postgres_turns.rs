//! The suite shares one Postgres server with whatever else runs on the machine, and a default
//! server admits 100 connections. A test node opens at most its pool size (4 by default), and
//! a test runs one to three nodes; so however many threads the test runner uses (one per
//! core by default), at most [`TESTS_AT_ONCE`] tests hold Postgres nodes at a time, which
//! keeps the suite near 40 connections at most.
//!
//! A test takes its turn with its first Postgres node and gives it back when its last one is
//! dropped; its further nodes never wait, so two tests cannot wait on each other.

use std::cell::Cell;
use std::sync::{Condvar, Mutex, PoisonError};

/// Tests that may hold Postgres nodes at once.
const TESTS_AT_ONCE: usize = 4;

static HOLDERS: Mutex<usize> = Mutex::new(0);
static TURN_FREED: Condvar = Condvar::new();

thread_local! {
    /// Postgres nodes this test (its thread) holds.
    static HELD: Cell<usize> = const { Cell::new(0) };
}

/// Held by each Postgres test node; the test's turn ends when its last one is dropped.
pub struct PostgresTurn(());

impl PostgresTurn {
    /// Waits for this test's turn (at once if it holds one already). Blocks the test's own
    /// thread, which has no node to serve yet.
    pub fn take() -> Self {
        if HELD.get() == 0 {
            let holders = HOLDERS.lock().unwrap_or_else(PoisonError::into_inner);
            let mut holders = TURN_FREED
                .wait_while(holders, |holders| *holders >= TESTS_AT_ONCE)
                .unwrap_or_else(PoisonError::into_inner);
            *holders += 1;
        }
        HELD.set(HELD.get() + 1);
        Self(())
    }
}

impl Drop for PostgresTurn {
    fn drop(&mut self) {
        HELD.set(HELD.get().saturating_sub(1));
        if HELD.get() == 0 {
            let mut holders = HOLDERS.lock().unwrap_or_else(PoisonError::into_inner);
            *holders = holders.saturating_sub(1);
            TURN_FREED.notify_one();
        }
    }
}
