//! The simulated wider network (brief: the reference phone simulates its
//! contacts): sent messages become delivered, then read (spec §7.1
//! statuses), an echo contact answers each message after typing (§7.8),
//! and a ticker contact writes on a timer.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use tandem_codec::limits::MAX_BODY;
use tandem_codec::session::{Body, Contact, Message, MessageStatus};
use tokio::time::Instant;

/// How the simulated contacts behave.
#[derive(Clone, Debug)]
pub struct SimulationConfig {
    /// The contact that answers every message (by name), if any.
    pub echo_contact: Option<String>,
    /// The contact that writes on a timer (by name), if any.
    pub ticker_contact: Option<String>,
    /// The ticker's period; `None` stops it.
    pub tick_every: Option<Duration>,
    /// Whether sent messages turn delivered, then read.
    pub move_statuses: bool,
    /// From sent to delivered.
    pub delivered_after: Duration,
    /// From sent to read.
    pub read_after: Duration,
    /// From read to the echo's answer (it types meanwhile).
    pub reply_after: Duration,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        Self {
            echo_contact: Some("Echo".into()),
            ticker_contact: Some("Clock".into()),
            tick_every: Some(Duration::from_secs(30)),
            move_statuses: true,
            delivered_after: Duration::from_millis(800),
            read_after: Duration::from_millis(2_000),
            reply_after: Duration::from_millis(700),
        }
    }
}

impl SimulationConfig {
    /// A network that does nothing on its own: no echo, no ticker, and
    /// statuses that never move (the conformance adapter, spec §12.5,
    /// where only the runner's requests may change the store).
    pub fn quiet() -> Self {
        Self {
            echo_contact: None,
            ticker_contact: None,
            tick_every: None,
            move_statuses: false,
            ..Self::default()
        }
    }
}

/// Something the network does to the phone at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A sent message's status moves.
    Status {
        /// The message.
        message_id: u64,
        /// Its new status.
        status: MessageStatus,
    },
    /// The chat's contact starts or stops typing.
    Typing {
        /// The chat.
        chat_id: u64,
        /// Typing or not.
        active: bool,
    },
    /// A message arrives from a contact.
    Receive {
        /// The contact.
        contact_id: u64,
        /// The text.
        text: String,
    },
    /// The ticker writes.
    Tick,
}

/// The schedule of the simulated network.
#[derive(Debug)]
pub struct Simulation {
    config: SimulationConfig,
    echo: Option<u64>,
    ticker: Option<u64>,
    ticks: u64,
    queue: BinaryHeap<Reverse<(Instant, u64, ActionSlot)>>,
    order: u64,
}

/// An action in the heap (ordered by time, then by insertion).
#[derive(Debug, PartialEq, Eq)]
struct ActionSlot(Action);

impl PartialOrd for ActionSlot {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ActionSlot {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl Simulation {
    /// A schedule for these contacts; the ticker's first tick is one
    /// period from `now`.
    pub fn new(config: SimulationConfig, contacts: &[Contact], now: Instant) -> Self {
        let find = |name: &Option<String>| {
            name.as_ref().and_then(|name| {
                contacts
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(name))
                    .map(|c| c.contact_id)
            })
        };
        let mut simulation = Self {
            echo: find(&config.echo_contact),
            ticker: find(&config.ticker_contact),
            config,
            ticks: 0,
            queue: BinaryHeap::new(),
            order: 0,
        };
        if let (Some(_), Some(period)) = (simulation.ticker, simulation.config.tick_every) {
            simulation.at(now + period, Action::Tick);
        }
        simulation
    }

    /// The echo contact's id.
    pub fn echo_contact(&self) -> Option<u64> {
        self.echo
    }

    fn at(&mut self, when: Instant, action: Action) {
        self.order += 1;
        self.queue
            .push(Reverse((when, self.order, ActionSlot(action))));
    }

    /// A companion's message was applied (`MessageSent`) in a chat with
    /// `contact_id`: schedule delivery, reading, and the echo's answer.
    pub fn message_sent(&mut self, message: &Message, contact_id: u64, now: Instant) {
        let id = message.message_id;
        let delivered = now + self.config.delivered_after;
        let read = now + self.config.read_after.max(self.config.delivered_after);
        if self.config.move_statuses {
            self.at(
                delivered,
                Action::Status {
                    message_id: id,
                    status: MessageStatus::Delivered,
                },
            );
            self.at(
                read,
                Action::Status {
                    message_id: id,
                    status: MessageStatus::Read,
                },
            );
        }
        if self.echo == Some(contact_id) {
            let chat_id = message.chat_id;
            self.at(
                read,
                Action::Typing {
                    chat_id,
                    active: true,
                },
            );
            let answer = read + self.config.reply_after;
            self.at(
                answer,
                Action::Typing {
                    chat_id,
                    active: false,
                },
            );
            self.at(
                answer,
                Action::Receive {
                    contact_id,
                    text: echo_text(&message.body),
                },
            );
        }
    }

    /// When the next action is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Takes the actions due at `now`; a tick schedules the next one and
    /// comes back as the ticker's message.
    pub fn due(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(Reverse((at, _, _))) = self.queue.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, _, ActionSlot(action)))) = self.queue.pop() else {
                break;
            };
            match (action, self.ticker, self.config.tick_every) {
                (Action::Tick, Some(contact_id), Some(period)) => {
                    self.ticks += 1;
                    out.push(Action::Receive {
                        contact_id,
                        text: format!("tick {}", self.ticks),
                    });
                    self.at(now + period, Action::Tick);
                }
                (Action::Tick, _, _) => {}
                (action, _, _) => out.push(action),
            }
        }
        out
    }
}

/// The echo's answer: the text back, or a note about a file.
fn echo_text(body: &Body) -> String {
    let text = match body {
        Body::Text(text) => format!("echo: {text}"),
        Body::Media(media) => format!("echo: got your file {} ({} bytes)", media.name, media.size),
        Body::Unknown { kind, .. } => format!("echo: a message of kind {kind}"),
    };
    let mut end = text.len().min(MAX_BODY);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contacts() -> Vec<Contact> {
        ["Echo", "Clock", "Ada"]
            .iter()
            .zip(1..)
            .map(|(name, contact_id)| Contact {
                contact_id,
                name: (*name).into(),
            })
            .collect()
    }

    fn sent(message_id: u64, chat_id: u64, text: &str) -> Message {
        Message {
            message_id,
            chat_id,
            sender: 0,
            timestamp_ms: 0,
            status: MessageStatus::Sent,
            body: Body::Text(text.into()),
        }
    }

    #[test]
    fn statuses_move_and_the_echo_answers_after_typing() {
        let start = Instant::now();
        let config = SimulationConfig {
            tick_every: None,
            ..SimulationConfig::default()
        };
        let mut sim = Simulation::new(config.clone(), &contacts(), start);
        sim.message_sent(&sent(7, 1, "hi"), 1, start);
        sim.message_sent(&sent(8, 3, "yo"), 3, start);
        assert!(sim.due(start).is_empty());
        let delivered = sim.due(start + config.delivered_after);
        assert_eq!(delivered.len(), 2);
        let read = sim.due(start + config.read_after);
        assert!(read.contains(&Action::Typing {
            chat_id: 1,
            active: true
        }));
        let answer = sim.due(start + config.read_after + config.reply_after);
        assert!(answer.contains(&Action::Receive {
            contact_id: 1,
            text: "echo: hi".into()
        }));
        assert_eq!(sim.next_due(), None);
    }

    #[test]
    fn a_quiet_network_does_nothing_on_its_own() {
        let start = Instant::now();
        let mut sim = Simulation::new(SimulationConfig::quiet(), &contacts(), start);
        assert_eq!(sim.next_due(), None);
        sim.message_sent(&sent(7, 1, "hi"), 1, start);
        assert_eq!(sim.next_due(), None);
    }

    #[test]
    fn the_ticker_writes_every_period() {
        let start = Instant::now();
        let config = SimulationConfig {
            tick_every: Some(Duration::from_secs(5)),
            ..SimulationConfig::default()
        };
        let mut sim = Simulation::new(config, &contacts(), start);
        assert_eq!(sim.next_due(), Some(start + Duration::from_secs(5)));
        let first = sim.due(start + Duration::from_secs(5));
        assert_eq!(
            first,
            [Action::Receive {
                contact_id: 2,
                text: "tick 1".into()
            }]
        );
        assert_eq!(sim.next_due(), Some(start + Duration::from_secs(10)));
    }

    #[test]
    fn echo_text_fits_a_body() {
        let long = "é".repeat(MAX_BODY / 2);
        assert!(echo_text(&Body::Text(long)).len() <= MAX_BODY);
    }
}
