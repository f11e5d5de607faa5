//! The server's notion of "now". Handlers ask `state.clock.now()` instead of the system clock
//! so that tests can move time forward (an expired session, a back-off that ran out) without
//! sleeping. Production uses the system clock; `Clock::adjustable` is for tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Duration, OffsetDateTime};

/// Wall-clock time, either the system's or the system's plus an offset a test controls.
///
/// An adjustable clock still runs with the system clock; it only adds the offset, so
/// everything that compares times taken a few milliseconds apart keeps working.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some`: nanoseconds added to it (shared by clones).
    offset: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { offset: None }
    }

    /// A clock that starts at the system time and that `advance` moves forward (tests only).
    pub fn adjustable() -> Self {
        Clock {
            offset: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        match &self.offset {
            None => now,
            Some(offset) => now + Duration::nanoseconds(offset.load(Ordering::Relaxed)),
        }
    }

    /// Moves an adjustable clock (and every clone of it) forward by `by`.
    ///
    /// # Panics
    /// On the system clock: moving it is a test's mistake, never a request's.
    pub fn advance(&self, by: Duration) {
        let offset = self
            .offset
            .as_ref()
            .expect("only an adjustable clock can be advanced");
        let nanos = i64::try_from(by.whole_nanoseconds()).expect("an offset below 292 years");
        offset.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// RFC 3339, as Auth0 writes times.
pub fn iso(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_is_the_system_time() {
        let before = OffsetDateTime::now_utc();
        let now = Clock::system().now();
        assert!(before <= now && now <= OffsetDateTime::now_utc());
    }

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::adjustable();
        let copy = clock.clone();
        let before = OffsetDateTime::now_utc();
        clock.advance(Duration::hours(2));
        let now = copy.now();
        assert!(now >= before + Duration::hours(2), "{now} vs {before}");
        assert!(now < OffsetDateTime::now_utc() + Duration::hours(2) + Duration::seconds(5));
    }

    #[test]
    #[should_panic(expected = "adjustable")]
    fn the_system_clock_cannot_be_advanced() {
        Clock::system().advance(Duration::seconds(1));
    }
}
