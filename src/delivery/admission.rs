//! Admission: whether ingest may take more events of an app. Two limits, each answered from
//! a value refreshed in the background (never by a count while a caller waits):
//!
//! - the app's pending deliveries against `--max-pending-per-app` (429 with `Retry-After`
//!   beyond it: the events are refused, never lost), counted in the background and kept up
//!   to date in between with the deliveries this process creates;
//! - the free space on the database's disk against `--min-free-disk` (503 below it), so that
//!   SQLite never meets a full disk half-way through a commit. Ingest resumes by itself once
//!   space is back. (On PostgreSQL the database's disk is the server's: not measured here.)
//!
//! The same backlog counts serve `/metrics`, so a scrape costs no query.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::AppId;
use crate::store::stats::Backlog;
use crate::store::Store;

/// How often the counts are refreshed at least; a slow count (a huge backlog) is refreshed
/// less often, so counting never takes more than a tenth of a core.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// What a refused caller is told to wait before trying again.
pub const RETRY_AFTER: Duration = Duration::from_secs(10);

/// Why ingest refused an app's events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the app has {pending} deliveries pending, at or over the limit of {limit} (--max-pending-per-app): try again later")]
    Backlog { pending: i64, limit: u64 },
    #[error("the database's disk has {free_mb} MB free, under the floor of {floor_mb} MB (--min-free-disk): events are refused until space is freed")]
    DiskFull { free_mb: u64, floor_mb: u64 },
}

pub struct Admission {
    max_pending: u64,
    min_free: u64,
    disk: Option<PathBuf>,
    backlog: RwLock<Snapshot>,
    free: AtomicU64,
}

#[derive(Default)]
struct Snapshot {
    list: Arc<Vec<Backlog>>,
    by_app: HashMap<AppId, i64>,
}

impl Admission {
    /// Limits of `max_pending` deliveries per app (0: none) and `min_free` bytes on `disk`
    /// (the database file's directory; `None`: not measured). Counts start at zero until the
    /// first refresh.
    pub fn new(max_pending: u64, min_free: u64, disk: Option<PathBuf>) -> Self {
        let this = Self {
            max_pending,
            min_free,
            disk,
            backlog: RwLock::default(),
            free: AtomicU64::new(u64::MAX),
        };
        this.measure_disk();
        this
    }

    /// May `app_id` add events now?
    pub fn admit(&self, app_id: AppId) -> Result<(), Refusal> {
        let free = self.free.load(Ordering::Relaxed);
        if free < self.min_free {
            return Err(Refusal::DiskFull {
                free_mb: free / 1_000_000,
                floor_mb: self.min_free / 1_000_000,
            });
        }
        if self.max_pending > 0 {
            let pending = self.read().by_app.get(&app_id).copied().unwrap_or(0);
            if u64::try_from(pending).unwrap_or(0) >= self.max_pending {
                return Err(Refusal::Backlog {
                    pending,
                    limit: self.max_pending,
                });
            }
        }
        Ok(())
    }

    /// Counts `deliveries` just created for `app_id` until the next refresh counts them, so a
    /// burst between two counts cannot overshoot the cap (in this process).
    pub fn added(&self, app_id: AppId, deliveries: usize) {
        if self.max_pending > 0 && deliveries > 0 {
            let mut snapshot = self.backlog.write().unwrap_or_else(|e| e.into_inner());
            *snapshot.by_app.entry(app_id).or_default() += deliveries as i64;
        }
    }

    /// Pending deliveries per app, as last counted.
    pub fn backlog(&self) -> Arc<Vec<Backlog>> {
        self.read().list.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.backlog.read().unwrap_or_else(|e| e.into_inner())
    }

    fn measure_disk(&self) {
        if let Some(free) = self.disk.as_deref().and_then(free_bytes) {
            self.free.store(free, Ordering::Relaxed);
        }
    }

    /// Counts the backlog and measures the disk, again and again, while the engine holding
    /// `this` lives.
    pub async fn refresh_loop(this: std::sync::Weak<Self>, db: Store) {
        let mut wait = Duration::ZERO;
        loop {
            tokio::time::sleep(wait).await;
            let Some(this) = this.upgrade() else { return };
            this.measure_disk();
            let started = Instant::now();
            match db.backlog().await {
                Ok(list) => {
                    let by_app = list.iter().map(|b| (b.app_id, b.pending)).collect();
                    *this.backlog.write().unwrap_or_else(|e| e.into_inner()) = Snapshot {
                        list: Arc::new(list),
                        by_app,
                    };
                }
                Err(e) => tracing::warn!(error = %e, "cannot count the pending deliveries"),
            }
            wait = REFRESH_EVERY.max(started.elapsed() * 10);
        }
    }
}

/// Bytes available to this (unprivileged) user on the filesystem holding `path`.
#[cfg(unix)]
pub fn free_bytes(path: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: c_path is a valid NUL-terminated string and stat a writable statvfs buffer
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled the buffer
    let stat = unsafe { stat.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

#[cfg(not(unix))]
pub fn free_bytes(_path: &std::path::Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_cap_and_the_disk_floor_refuse_with_their_reason() {
        let a = Admission::new(3, 0, None);
        assert_eq!(a.admit(AppId(1)), Ok(()));
        *a.backlog.write().unwrap() = Snapshot {
            list: Arc::new(vec![]),
            by_app: HashMap::from([(AppId(1), 3), (AppId(2), 2)]),
        };
        assert_eq!(
            a.admit(AppId(1)),
            Err(Refusal::Backlog {
                pending: 3,
                limit: 3
            })
        );
        assert_eq!(a.admit(AppId(2)), Ok(()));
        // no cap
        let a = Admission::new(0, 0, None);
        a.backlog.write().unwrap().by_app.insert(AppId(1), 1 << 40);
        assert_eq!(a.admit(AppId(1)), Ok(()));
        // a floor above what the disk has: refused, naming both
        let dir = tempfile::tempdir().unwrap();
        let free = free_bytes(dir.path()).expect("statvfs works here");
        let a = Admission::new(
            0,
            free.saturating_mul(2).max(1 << 50),
            Some(dir.path().into()),
        );
        let refusal = a.admit(AppId(1)).unwrap_err();
        assert!(matches!(refusal, Refusal::DiskFull { .. }), "{refusal}");
        assert!(refusal.to_string().contains("--min-free-disk"));
        let a = Admission::new(0, 1, Some(dir.path().into()));
        assert_eq!(a.admit(AppId(1)), Ok(()));
    }
}
