//! What the kernel says about a process: resident memory now and at its
//! peak (`VmRSS`, `VmHWM` of `/proc/<pid>/status`) and CPU time used
//! (`utime + stime` of `/proc/<pid>/stat`).

use std::time::Duration;

/// Memory of a process, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Memory {
    /// Resident set now.
    pub(crate) rss_kib: u64,
    /// Highest resident set so far.
    pub(crate) hwm_kib: u64,
}

/// `VmRSS` and `VmHWM` of a process (zeros when it is gone).
pub(crate) fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    Memory {
        rss_kib: field(&status, "VmRSS:"),
        hwm_kib: field(&status, "VmHWM:"),
    }
}

fn field(status: &str, name: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// User plus system CPU time of a process, all its threads (zero when it
/// is gone). The kernel counts in ticks of 10 ms (`USER_HZ` = 100 on
/// Linux), so it is precise to about a hundredth of a second.
pub(crate) fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces; fields resume after its ')'.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15; after the ')' the 12th and 13th.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// This process's id.
pub(crate) fn own_pid() -> u32 {
    std::process::id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_and_time() {
        let memory = memory(own_pid());
        assert!(memory.rss_kib > 0 && memory.hwm_kib >= memory.rss_kib);
        let _ = cpu_time(own_pid());
    }
}
