//! The server children: the real relay (`tandem_relay::run` with the
//! spec's limits) and the raw forwarder (`tandem_relay::forwarder`), on
//! 127.0.0.1 and a free port that they print, until their stdin closes.

use tandem_relay::RelayConfig;
use tokio::net::TcpListener;

use super::{runtime, stdin_closed};
use crate::Error;
use crate::cli::ServeArgs;

/// `serve-relay`.
pub(crate) fn relay(args: &ServeArgs) -> Result<(), Error> {
    runtime(args.threads)?.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("listening {}", listener.local_addr()?);
        let mut config = RelayConfig::default();
        if let Some(max) = args.max_links_per_route {
            config.router.max_links_per_route = max;
        }
        tandem_relay::run(listener, config, stdin_closed()).await?;
        Ok(())
    })
}

/// `serve-forwarder`.
pub(crate) fn forwarder(args: &ServeArgs) -> Result<(), Error> {
    runtime(args.threads)?.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("listening {}", listener.local_addr()?);
        tokio::select! {
            result = tandem_relay::forwarder::run(listener) => result?,
            () = stdin_closed() => {}
        }
        Ok(())
    })
}
