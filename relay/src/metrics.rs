//! Prometheus metrics for `GET /metrics` (issue #6): connections, channels
//! and routes held (spec §3.3–§3.5), frames and bytes received, sent and
//! forwarded, closes by code (§10.2), and the HTTP side of the upgrade (§2).
//! Encoded with `prometheus-client` in the text exposition format.

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tandem_codec::Code;

use crate::hub::Hub;

/// One label: a name and a static value.
type Label = [(&'static str, &'static str); 1];

/// Counters of the accept path, outside the routing lock (each TCP
/// connection touches them once or twice).
#[derive(Clone, Debug, Default)]
pub(crate) struct Counters {
    /// TCP connections accepted.
    pub(crate) accepted: Counter,
    /// WebSocket upgrades completed.
    pub(crate) upgraded: Counter,
    /// Requests that did not become a Tandem connection, by outcome.
    pub(crate) refused: Family<Label, Counter>,
    /// Plain HTTP requests served, by path.
    pub(crate) http: Family<Label, Counter>,
}

impl Counters {
    pub(crate) fn refuse(&self, reason: &'static str) {
        self.refused.get_or_create(&[("reason", reason)]).inc();
    }

    pub(crate) fn http(&self, path: &'static str) {
        self.http.get_or_create(&[("path", path)]).inc();
    }
}

/// The registry of one relay.
pub(crate) struct Metrics {
    registry: Registry,
}

impl Metrics {
    pub(crate) fn new(hub: Arc<Hub>) -> Self {
        let mut registry = Registry::with_prefix("tandem_relay");
        let counters = hub.counters.clone();
        registry.register(
            "connections_accepted",
            "TCP connections accepted",
            counters.accepted,
        );
        registry.register(
            "upgrades",
            "WebSocket upgrades completed with tandem.v1",
            counters.upgraded,
        );
        registry.register(
            "refused",
            "TCP connections that did not become Tandem connections, by reason",
            counters.refused,
        );
        registry.register(
            "http_requests",
            "Plain HTTP requests, by path",
            counters.http,
        );
        registry.register_collector(Box::new(RouterCollector(hub)));
        Self { registry }
    }

    /// The text exposition.
    pub(crate) fn encode(&self) -> Result<String, fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Reads the router's census and traffic counters at each scrape.
struct RouterCollector(Arc<Hub>);

impl fmt::Debug for RouterCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RouterCollector")
    }
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> fmt::Result {
    let gauge = ConstGauge::new(value);
    let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
    gauge.encode(metric)
}

fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    let counter = ConstCounter::new(value);
    let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
    counter.encode(metric)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Collector for RouterCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let (census, stats) = self.0.snapshot();
        let e = &mut encoder;
        gauge(
            e,
            "connections",
            "WebSocket connections open",
            count(census.connections),
        )?;
        gauge(
            e,
            "channels",
            "Pairing channels open",
            count(census.channels),
        )?;
        gauge(
            e,
            "routes",
            "Routes held by a primary",
            count(census.routes),
        )?;
        counter(
            e,
            "frames_received",
            "Envelope frames received",
            stats.frames_received,
        )?;
        counter(
            e,
            "bytes_received",
            "Envelope bytes received",
            stats.bytes_received,
        )?;
        counter(
            e,
            "frames_sent",
            "Envelope frames queued to clients",
            stats.frames_sent,
        )?;
        counter(
            e,
            "bytes_sent",
            "Envelope bytes queued to clients",
            stats.bytes_sent,
        )?;
        counter(
            e,
            "frames_forwarded",
            "Data frames forwarded",
            stats.data_forwarded,
        )?;
        counter(
            e,
            "bytes_forwarded",
            "Data frame bytes forwarded",
            stats.data_bytes_forwarded,
        )?;
        let mut closes = e.encode_descriptor(
            "closes",
            "Connections closed by the relay, by close code",
            None,
            MetricType::Counter,
        )?;
        for (&code, &n) in &stats.closes {
            let number = code.to_string();
            let name = Code(code).name().unwrap_or("unknown");
            let labels = [("code", number.as_str()), ("reason", name)];
            let metric = closes.encode_family(&labels)?;
            ConstCounter::new(n).encode(metric)?;
        }
        Ok(())
    }
}
