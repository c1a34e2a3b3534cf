//! The store's notion of "now", settable in tests (lockouts, idle sessions).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Unix milliseconds; the system clock plus an offset that tests may move forward.
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn today(&self) -> chrono::NaiveDate {
        // Dates users see are Beijing dates (UTC+8, no daylight saving).
        let at = chrono::DateTime::from_timestamp_millis(self.now_ms() + 8 * 3_600_000)
            .expect("clock within range");
        at.date_naive()
    }

    /// Moves this clock (and every clone of it) forward; for tests of time limits.
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}
