//! Key presses for the interactive client: crossterm reads the terminal on
//! a thread of its own (it blocks) and hands each key to the async run loop
//! over a channel; dropping the [`Keys`] stops the thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyEvent};
use tokio::sync::mpsc;

/// The key stream.
pub(super) struct Keys {
    /// Key presses, in order.
    pub(super) rx: mpsc::UnboundedReceiver<KeyEvent>,
    stop: Arc<AtomicBool>,
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts reading keys.
pub(super) fn spawn() -> Keys {
    let (tx, rx) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    std::thread::spawn(move || {
        while !stopping.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => match event::read() {
                    Ok(Event::Key(key)) => {
                        if tx.send(key).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                },
                Ok(false) => {}
                Err(_) => break,
            }
        }
    });
    Keys { rx, stop }
}
