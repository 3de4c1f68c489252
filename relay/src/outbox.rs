//! A connection's bounded send queue, `SEND_QUEUE` of spec §3.9 ([RLY-23]):
//! routing pushes frames into it without ever waiting, the connection's
//! task drains it onto the socket, and a push beyond the bound reports the
//! peer as a slow consumer instead of buffering more.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use bytes::Bytes;
use tandem_codec::Code;

/// A queue that is full: the receiving connection must be closed with
/// `slow_consumer`.
#[derive(Debug)]
pub(crate) struct Full;

/// A frame was queued.
#[derive(Debug, Default)]
pub(crate) struct Pushed {
    /// The writer to wake.
    pub(crate) waker: Option<Waker>,
    /// The queue is a quarter full: the sender should let the writer run.
    pub(crate) pressure: bool,
}

/// The connection's close, once routing decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CloseOrder {
    pub(crate) code: Code,
    pub(crate) reason: String,
}

#[derive(Debug, Default)]
struct State {
    frames: VecDeque<Bytes>,
    /// Frames queued or taken by the writer and not yet handed to the
    /// WebSocket: what `SEND_QUEUE` bounds.
    pending_frames: usize,
    pending_bytes: usize,
    close: Option<CloseOrder>,
    /// The writer, parked because the queue was empty.
    waker: Option<Waker>,
}

/// What the writer found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// Frames were moved into the writer's batch.
    Frames,
    /// Nothing to write; the writer's waker is registered.
    Empty,
    /// Every frame is written: close now.
    Close(CloseOrder),
}

/// One connection's send queue.
#[derive(Debug)]
pub(crate) struct Outbox {
    state: Mutex<State>,
    max_frames: usize,
    max_bytes: usize,
}

impl Outbox {
    pub(crate) fn new(max_frames: usize, max_bytes: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            max_frames,
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic in another holder
        // (every update is a few plain assignments), so poisoning is moot.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a frame. Returns the writer's waker when it must be woken
    /// (call it after releasing any other lock) and whether the queue is a
    /// quarter full, or [`Full`].
    pub(crate) fn push(&self, frame: Bytes) -> Result<Pushed, Full> {
        let mut state = self.lock();
        if state.close.is_some() {
            return Ok(Pushed::default());
        }
        if state.pending_frames >= self.max_frames
            || state.pending_bytes.saturating_add(frame.len()) > self.max_bytes
        {
            return Err(Full);
        }
        state.pending_frames += 1;
        state.pending_bytes += frame.len();
        state.frames.push_back(frame);
        Ok(Pushed {
            waker: state.waker.take(),
            pressure: state.pending_frames * 4 >= self.max_frames
                || state.pending_bytes * 4 >= self.max_bytes,
        })
    }

    /// Orders the connection closed after the frames already queued, or
    /// at once with `discard` (a slow consumer's queue is not drained).
    pub(crate) fn close(&self, code: Code, reason: String, discard: bool) -> Option<Waker> {
        let mut state = self.lock();
        if state.close.is_some() {
            return None;
        }
        if discard {
            state.frames = VecDeque::new();
        }
        state.close = Some(CloseOrder { code, reason });
        state.waker.take()
    }

    /// Moves every queued frame into `batch` (which must be empty), or
    /// reports the close, or parks `waker`.
    pub(crate) fn take(&self, batch: &mut VecDeque<Bytes>, waker: &Waker) -> Taken {
        let mut state = self.lock();
        if !state.frames.is_empty() {
            std::mem::swap(&mut state.frames, batch);
            return Taken::Frames;
        }
        if let Some(close) = &state.close {
            return Taken::Close(close.clone());
        }
        if !state.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            state.waker = Some(waker.clone());
        }
        Taken::Empty
    }

    /// The writer handed `frames` frames of `bytes` bytes to the WebSocket.
    pub(crate) fn written(&self, frames: usize, bytes: usize) {
        if frames == 0 {
            return;
        }
        let mut state = self.lock();
        state.pending_frames = state.pending_frames.saturating_sub(frames);
        state.pending_bytes = state.pending_bytes.saturating_sub(bytes);
    }

    /// Frames and bytes waiting now.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> (usize, usize) {
        let state = self.lock();
        (state.pending_frames, state.pending_bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn the_frame_bound_is_256_and_written_frames_free_it() {
        let outbox = Outbox::new(256, 8 << 20);
        for _ in 0..256 {
            outbox.push(Bytes::from_static(b"x")).unwrap();
        }
        assert!(outbox.push(Bytes::from_static(b"x")).is_err());
        let (_, w) = waker();
        let mut batch = VecDeque::new();
        assert_eq!(outbox.take(&mut batch, &w), Taken::Frames);
        assert_eq!(batch.len(), 256);
        // Taken but not yet written: still counted.
        assert!(outbox.push(Bytes::from_static(b"x")).is_err());
        outbox.written(256, 256);
        assert_eq!(outbox.pending(), (0, 0));
        outbox.push(Bytes::from_static(b"x")).unwrap();
    }

    #[test]
    fn pressure_is_reported_from_a_quarter_full() {
        let outbox = Outbox::new(8, 8 << 20);
        assert!(!outbox.push(Bytes::from_static(b"x")).unwrap().pressure);
        assert!(outbox.push(Bytes::from_static(b"x")).unwrap().pressure);
    }

    #[test]
    fn the_byte_bound_counts_payload_bytes() {
        let outbox = Outbox::new(256, 100);
        outbox.push(Bytes::from(vec![0; 60])).unwrap();
        assert!(outbox.push(Bytes::from(vec![0; 41])).is_err());
        outbox.push(Bytes::from(vec![0; 40])).unwrap();
        assert_eq!(outbox.pending(), (2, 100));
    }

    #[test]
    fn the_writer_is_woken_once_per_empty_to_non_empty_transition() {
        let outbox = Outbox::new(256, 8 << 20);
        let (count, w) = waker();
        let mut batch = VecDeque::new();
        assert_eq!(outbox.take(&mut batch, &w), Taken::Empty);
        let first = outbox.push(Bytes::from_static(b"a")).unwrap();
        first.waker.unwrap().wake();
        assert!(
            outbox
                .push(Bytes::from_static(b"b"))
                .unwrap()
                .waker
                .is_none()
        );
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(outbox.take(&mut batch, &w), Taken::Frames);
        assert_eq!(batch, [Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
    }

    #[test]
    fn close_comes_after_queued_frames_unless_discarded() {
        let outbox = Outbox::new(256, 8 << 20);
        let (_, w) = waker();
        outbox.push(Bytes::from_static(b"a")).unwrap();
        outbox.close(Code::GOING_AWAY, "bye".into(), false);
        // Frames after the close are not queued.
        outbox.push(Bytes::from_static(b"late")).unwrap();
        let mut batch = VecDeque::new();
        assert_eq!(outbox.take(&mut batch, &w), Taken::Frames);
        assert_eq!(batch.len(), 1);
        batch.clear();
        assert!(
            matches!(outbox.take(&mut batch, &w), Taken::Close(c) if c.code == Code::GOING_AWAY)
        );

        let slow = Outbox::new(256, 8 << 20);
        slow.push(Bytes::from_static(b"a")).unwrap();
        slow.close(Code::SLOW_CONSUMER, "full".into(), true);
        assert!(
            matches!(slow.take(&mut batch, &w), Taken::Close(c) if c.code == Code::SLOW_CONSUMER)
        );
    }
}
