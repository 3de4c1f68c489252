//! The limits and timers of a relay under test (spec §10.3, §10.4), as it
//! declares them in its `ready` line ([CONF-12]), with the spec's defaults
//! for those it does not declare; and the small values the runner gives
//! the reference relay it starts itself, scaled by `--time-scale`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

/// A relay's limits and timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayParams {
    /// `SETUP_TIMEOUT`.
    pub setup_timeout: Duration,
    /// `IDLE_TIMEOUT`.
    pub idle_timeout: Duration,
    /// `CHANNEL_TTL`.
    pub channel_ttl: Duration,
    /// `PAIRING_CHANNEL_MAX`.
    pub pairing_channel_max: Duration,
    /// `MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// `MAX_CHANNELS_PER_CONNECTION`.
    pub max_channels_per_connection: usize,
    /// `MAX_CHANNELS_PER_ADDRESS`.
    pub max_channels_per_address: usize,
    /// `MAX_LINKS_PER_ROUTE`.
    pub max_links_per_route: usize,
    /// `SEND_QUEUE`, frames.
    pub send_queue_frames: usize,
    /// `SEND_QUEUE`, bytes.
    pub send_queue_bytes: usize,
}

impl Default for RelayParams {
    /// The defaults of §10.3 and §10.4.
    fn default() -> Self {
        Self {
            setup_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            channel_ttl: Duration::from_secs(60),
            pairing_channel_max: Duration::from_secs(180),
            max_connections: 20_000,
            max_channels_per_connection: 2,
            max_channels_per_address: 8,
            max_links_per_route: 16,
            send_queue_frames: 8_192,
            send_queue_bytes: 32 << 20,
        }
    }
}

/// The names of the `ready` line, durations in milliseconds.
const TIMERS: [&str; 4] = [
    "SETUP_TIMEOUT",
    "IDLE_TIMEOUT",
    "CHANNEL_TTL",
    "PAIRING_CHANNEL_MAX",
];
const LIMITS: [&str; 6] = [
    "MAX_CONNECTIONS",
    "MAX_CHANNELS_PER_CONNECTION",
    "MAX_CHANNELS_PER_ADDRESS",
    "MAX_LINKS_PER_ROUTE",
    "SEND_QUEUE_FRAMES",
    "SEND_QUEUE_BYTES",
];

impl RelayParams {
    /// The values the runner gives the reference relay it starts itself:
    /// the spec's limits but for `MAX_CONNECTIONS` and `SEND_QUEUE`, which
    /// are small so that filling them is quick, and timers of about a
    /// second, times `time_scale`.
    pub fn embedded(time_scale: f64) -> Self {
        let ms = |base: u64| crate::runner::scaled(Duration::from_millis(base), time_scale);
        Self {
            setup_timeout: ms(1_000),
            idle_timeout: ms(3_000),
            channel_ttl: ms(800),
            pairing_channel_max: ms(2_000),
            max_connections: 48,
            send_queue_frames: 128,
            send_queue_bytes: 1 << 20,
            ..Self::default()
        }
    }

    /// One declared value; `Ok(false)` for a name this runner does not use.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{name}={value}: the value is not a whole number"))?;
        if number == 0 {
            return Err(format!(
                "{name}=0: every limit and timer must be bounded and positive [RLY-25]"
            ));
        }
        let count = usize::try_from(number).unwrap_or(usize::MAX);
        let ms = Duration::from_millis(number);
        match name {
            "SETUP_TIMEOUT" => self.setup_timeout = ms,
            "IDLE_TIMEOUT" => self.idle_timeout = ms,
            "CHANNEL_TTL" => self.channel_ttl = ms,
            "PAIRING_CHANNEL_MAX" => self.pairing_channel_max = ms,
            "MAX_CONNECTIONS" => self.max_connections = count,
            "MAX_CHANNELS_PER_CONNECTION" => self.max_channels_per_connection = count,
            "MAX_CHANNELS_PER_ADDRESS" => self.max_channels_per_address = count,
            "MAX_LINKS_PER_ROUTE" => self.max_links_per_route = count,
            "SEND_QUEUE_FRAMES" => self.send_queue_frames = count,
            "SEND_QUEUE_BYTES" => self.send_queue_bytes = count,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Every value by its name (durations in milliseconds).
    pub fn named(&self) -> Vec<(&'static str, u64)> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        vec![
            (TIMERS[0], ms(self.setup_timeout)),
            (TIMERS[1], ms(self.idle_timeout)),
            (TIMERS[2], ms(self.channel_ttl)),
            (TIMERS[3], ms(self.pairing_channel_max)),
            (LIMITS[0], n(self.max_connections)),
            (LIMITS[1], n(self.max_channels_per_connection)),
            (LIMITS[2], n(self.max_channels_per_address)),
            (LIMITS[3], n(self.max_links_per_route)),
            (LIMITS[4], n(self.send_queue_frames)),
            (LIMITS[5], n(self.send_queue_bytes)),
        ]
    }

    /// The `NAME=VALUE` words of a `ready` line, for every value that
    /// differs from the default.
    pub fn ready_words(&self) -> String {
        let defaults = Self::default().named();
        self.named()
            .into_iter()
            .zip(defaults)
            .filter(|(mine, default)| mine.1 != default.1)
            .map(|((name, value), _)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The values for the report.
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        self.named()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect()
    }
}

/// A parsed `ready` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ready {
    /// The relay's WebSocket URL.
    pub url: String,
    /// The declared values over the defaults.
    pub params: RelayParams,
    /// Words with names this runner does not use.
    pub ignored: Vec<String>,
}

/// Parses `ready <url> NAME=VALUE ...` ([CONF-12]).
pub fn parse_ready(line: &str) -> Result<Ready, String> {
    let mut words = line.split_whitespace();
    if words.next() != Some("ready") {
        return Err("the line does not start with `ready`".into());
    }
    let url = words.next().ok_or("`ready` without a URL")?.to_owned();
    if !url.starts_with("ws://") && !url.starts_with("wss://") {
        return Err(format!("`{url}` is not a ws:// or wss:// URL"));
    }
    let mut params = RelayParams::default();
    let mut ignored = Vec::new();
    for word in words {
        let (name, value) = word
            .split_once('=')
            .ok_or_else(|| format!("`{word}` is not NAME=VALUE"))?;
        if !params.set(name, value)? {
            ignored.push(word.to_owned());
        }
    }
    Ok(Ready {
        url,
        params,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_lines_parse_and_round_trip() {
        let r = parse_ready(
            "ready ws://127.0.0.1:41877/ IDLE_TIMEOUT=2000 MAX_CONNECTIONS=64 PING_INTERVAL=5",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.url, "ws://127.0.0.1:41877/");
        assert_eq!(r.params.idle_timeout, Duration::from_secs(2));
        assert_eq!(r.params.max_connections, 64);
        assert_eq!(r.params.channel_ttl, Duration::from_secs(60));
        assert_eq!(r.ignored, ["PING_INTERVAL=5"]);
        let embedded = RelayParams::embedded(1.0);
        let again = parse_ready(&format!("ready ws://x/ {}", embedded.ready_words()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.params, embedded);
        assert!(parse_ready("ready ws://x/ IDLE_TIMEOUT=0").is_err());
        assert!(parse_ready("ready http://x/").is_err());
        assert!(parse_ready("listening").is_err());
        assert_eq!(RelayParams::default().ready_words(), "");
    }
}
