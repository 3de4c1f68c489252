//! Where commands tell the person what happens (spec §8 transfers): lines on
//! stdout with an optional prefix (the demo's `web │`, `phone │`), progress
//! bars on stderr, drawn only on a terminal.

use std::io::Write;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The person's view of a command's progress.
#[derive(Clone, Debug, Default)]
pub struct Console {
    prefix: String,
    quiet: bool,
}

impl Console {
    /// Plain lines on stdout.
    pub fn stdout() -> Self {
        Self::default()
    }

    /// Lines on stdout, each after `prefix`.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            quiet: false,
        }
    }

    /// Prints nothing (a library caller that reports by itself).
    pub fn quiet() -> Self {
        Self {
            prefix: String::new(),
            quiet: true,
        }
    }

    /// Prints `text`, each of its lines after the prefix. A closed stdout
    /// (a reader that left) is not worth failing for.
    pub fn line(&self, text: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        let mut out = std::io::stdout().lock();
        for line in text.as_ref().split('\n') {
            let _ = writeln!(out, "{}{line}", self.prefix);
        }
        let _ = out.flush();
    }

    /// A progress bar for `label`, `total` bytes (0 until known).
    pub fn progress(&self, label: &str, total: u64) -> Progress {
        let target = if self.quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let template = format!(
            "{}{label} [{{bar:32.cyan/blue}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}}",
            self.prefix
        );
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress {
            bar,
            console: self.clone(),
            label: label.to_owned(),
            started: Instant::now(),
        }
    }
}

/// One transfer's bar.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    console: Console,
    label: String,
    started: Instant,
}

impl Progress {
    /// The size became known.
    pub fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    /// Bytes done so far.
    pub fn set(&self, done: u64) {
        self.bar.set_position(done);
    }

    /// Ends the bar and prints one line with the size and the rate.
    pub fn finish(self, bytes: u64, outcome: &str) {
        self.bar.finish_and_clear();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        self.console.line(format!(
            "{}: {outcome}, {} in {:.2} s ({}/s)",
            self.label,
            human_bytes(bytes),
            secs,
            human_bytes((bytes as f64 / secs) as u64),
        ));
    }

    /// Ends the bar without a line.
    pub fn abandon(self) {
        self.bar.abandon();
    }
}

/// `1.5 MiB`, `312 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(312), "312 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
    }
}
