//! CPU time over a measurement: this process (the endpoints) and the
//! server child, so that a throughput can also be read as CPU per
//! operation, which a shared machine disturbs less.

use std::time::Duration;

use crate::procfs;

/// CPU time used by both processes over a measurement.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cpu {
    /// This process.
    pub(crate) own: Duration,
    /// The server child.
    pub(crate) server: Duration,
}

impl Cpu {
    /// Both together.
    pub(crate) fn total(&self) -> Duration {
        self.own + self.server
    }
}

/// A running CPU measurement.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CpuMeter {
    server_pid: u32,
    own: Duration,
    server: Duration,
}

impl CpuMeter {
    /// Starts measuring this process and `server_pid`.
    pub(crate) fn start(server_pid: u32) -> Self {
        Self {
            server_pid,
            own: procfs::cpu_time(procfs::own_pid()),
            server: procfs::cpu_time(server_pid),
        }
    }

    /// What both used since the start.
    pub(crate) fn stop(self) -> Cpu {
        Cpu {
            own: procfs::cpu_time(procfs::own_pid()).saturating_sub(self.own),
            server: procfs::cpu_time(self.server_pid).saturating_sub(self.server),
        }
    }
}
