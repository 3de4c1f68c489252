//! The hidden roles this tool re-executes itself as, each in a process of
//! its own: the relay and the raw forwarder (`servers`), a phone on SQLite
//! (`phone`), and many primaries on memory stores (`primaries`).

pub(crate) mod phone;
pub(crate) mod primaries;
pub(crate) mod servers;

use tokio::sync::mpsc;

use crate::Error;

/// A runtime with `threads` workers.
pub(crate) fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?)
}

/// The lines of stdin; the channel closes when stdin does (the parent
/// stopped us, or died).
pub(crate) fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line.trim().to_owned()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// Completes when stdin closes.
pub(crate) async fn stdin_closed() {
    let mut lines = stdin_lines();
    while lines.recv().await.is_some() {}
}
