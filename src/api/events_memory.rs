//! The memory `POST /events` may hold at once (`--events-memory`): a request takes room for
//! its body before a byte of it is read, and keeps it while the body is parsed and its events
//! are stored. Without room a request waits (its body unread, so it costs next to nothing) for
//! at most [`WAIT`], then gets 503 with `Retry-After`.
//!
//! Room is counted in KiB of declared body (`Content-Length`); a body without one (chunked)
//! takes room for the largest body allowed. A parsed event takes about the room of its JSON
//! again, so ingest holds about twice the budget at most, whatever the number of senders.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;

/// How long a request waits for room before it is refused.
pub const WAIT: Duration = Duration::from_secs(5);

/// What a refused caller is told to wait before trying again.
const RETRY_AFTER_SECS: u64 = 1;

/// The `--events-memory` budget, in KiB.
pub struct EventsMemory {
    room: Arc<Semaphore>,
    kib: u32,
    wait: Duration,
}

/// Room held by one request; given back when dropped.
pub struct Room {
    _permit: OwnedSemaphorePermit,
}

impl EventsMemory {
    /// A budget of `bytes` (at least 1 KiB).
    pub fn new(bytes: u64) -> Self {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .max(1);
        let kib = kib.min(Semaphore::MAX_PERMITS as u32);
        Self {
            room: Arc::new(Semaphore::new(kib as usize)),
            kib,
            wait: WAIT,
        }
    }

    /// Room for a body of `declared` bytes (unknown: `limit`, the largest allowed), waiting at
    /// most [`WAIT`]. A body larger than the whole budget waits for all of it.
    pub async fn admit(&self, declared: Option<usize>, limit: usize) -> Result<Room, ApiError> {
        let bytes = declared.unwrap_or(limit).min(limit);
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.kib);
        match tokio::time::timeout(self.wait, self.room.clone().acquire_many_owned(kib)).await {
            Ok(Ok(permit)) => Ok(Room { _permit: permit }),
            // the semaphore is never closed
            Ok(Err(_)) | Err(_) => Err(ApiError::unavailable(
                "too many events are being received at once (--events-memory): try again shortly",
            )
            .retry_after(RETRY_AFTER_SECS)),
        }
    }

    /// Room not taken now, in KiB (for tests and metrics).
    pub fn available_kib(&self) -> usize {
        self.room.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_waits_for_room_then_is_refused_with_retry_after() {
        let memory = EventsMemory {
            wait: Duration::from_millis(50),
            ..EventsMemory::new(100 * 1024)
        };
        let first = memory.admit(Some(60 * 1024), 1 << 20).await.unwrap();
        assert_eq!(memory.available_kib(), 40);
        // a small one fits beside it
        let small = memory.admit(Some(10), 1 << 20).await.unwrap();
        assert_eq!(memory.available_kib(), 39);
        drop(small);
        // a second big one does not: it waits, then is refused
        let refused = memory.admit(Some(60 * 1024), 1 << 20).await.err().unwrap();
        assert_eq!(refused.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        // one that gets room while it waits goes in
        let waiting = memory.admit(Some(60 * 1024), 1 << 20);
        let (second, ()) = tokio::join!(waiting, async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(first);
        });
        drop(second.unwrap());
        // no Content-Length: room for the largest body, at most the whole budget
        let chunked = memory.admit(None, 1 << 20).await.unwrap();
        assert_eq!(memory.available_kib(), 0);
        drop(chunked);
        assert_eq!(memory.available_kib(), 100);
    }
}
