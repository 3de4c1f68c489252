//! The primaries child of the idle measurement: many primaries on memory
//! stores, each linked to its pair's companion, registered on the relay
//! and then idle (keepalives only) until stdin closes.

use std::sync::Arc;

use tandem_client::Clock;
use tokio::sync::Semaphore;

use super::{runtime, stdin_closed};
use crate::Error;
use crate::cli::PrimariesArgs;
use crate::fixture;

/// `serve-primaries`.
pub(crate) fn serve(args: &PrimariesArgs) -> Result<(), Error> {
    runtime(1)?.block_on(async {
        let clock = Clock::start();
        let gate = Arc::new(Semaphore::new(128));
        let mut tasks = Vec::with_capacity(args.count);
        for index in 0..args.count as u64 {
            let gate = Arc::clone(&gate);
            let url = args.relay.clone();
            let seed = args.seed;
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire_owned().await?;
                let primary = fixture::memory_primary(seed, index, &clock, true, 4)?;
                fixture::start_primary(primary, &url, clock).await
            }));
        }
        let mut running = Vec::with_capacity(args.count);
        for task in tasks {
            running.push(task.await??);
        }
        println!("ready {}", running.len());
        stdin_closed().await;
        for primary in &running {
            primary.handle.shutdown().await;
        }
        drop(running);
        Ok(())
    })
}
