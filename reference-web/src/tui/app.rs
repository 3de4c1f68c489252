//! The interactive client's state and what keys and events do to it (spec
//! §7.6 queued sends, §7.7 history on scroll, §7.8 read marks and typing with
//! `TYPING_TIMEOUT`, §3.5 presence); no terminal here, only [`Action`]s.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tandem_client::DriverEvent;
use tandem_codec::session::Chat;
use tandem_proto::companion::{Cache, CompanionEvent, PendingSend};

use crate::reasons;
use crate::session::Event;
use crate::state::Link;

/// `TYPING_TIMEOUT` (spec §10.3): typing without a repeat ends after this.
pub const TYPING_TIMEOUT: Duration = Duration::from_secs(10);
/// How often "typing" is repeated while the person keeps typing.
const TYPING_REPEAT: Duration = Duration::from_secs(5);
/// Messages asked for per history page.
pub const HISTORY_PAGE: u16 = 20;
/// Lines moved by PageUp and PageDown.
const PAGE: u16 = 10;

/// Which screen is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// The chat list.
    Chats,
    /// One conversation.
    Conversation {
        /// The chat.
        chat_id: u64,
    },
}

/// Something for the run loop to do on the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Queue and send a text.
    Send {
        /// The chat.
        chat_id: u64,
        /// The text.
        text: String,
    },
    /// Tell the phone the person is typing, or stopped.
    Typing {
        /// The chat.
        chat_id: u64,
        /// Typing or not.
        active: bool,
    },
    /// Mark a chat read up to a message.
    MarkRead {
        /// The chat.
        chat_id: u64,
        /// The newest message read.
        up_to: u64,
    },
    /// Ask for older messages.
    LoadOlder {
        /// The chat.
        chat_id: u64,
        /// Below this message id (0: the newest).
        before: u64,
    },
}

/// The client's state.
pub struct App {
    /// The synced state.
    pub cache: Cache,
    /// Sends without an answer yet, shown as pending.
    pub pending: Vec<PendingSend>,
    /// The screen.
    pub screen: Screen,
    /// The highlighted chat in the list.
    pub selected: usize,
    /// The message being typed.
    pub input: String,
    /// Whether the WebSocket to the relay is open.
    pub relay_connected: bool,
    /// What the relay last said of the phone.
    pub phone_online: Option<bool>,
    /// Whether the cache is current.
    pub live: bool,
    /// Chats whose contact types, until when.
    pub typing: BTreeMap<u64, Instant>,
    /// The last thing worth telling.
    pub notice: String,
    /// Lines scrolled up from the newest message.
    pub scroll: u16,
    /// The most the conversation can scroll, as last drawn.
    pub max_scroll: Cell<u16>,
    /// A history request is out.
    pub loading_older: bool,
    /// Why this device is no longer linked, once it is not.
    pub wiped: Option<String>,
    /// The person asked to quit.
    pub quit: bool,
    /// "Ada's phone" and this device's id, for the title.
    pub title: String,
    typing_sent: Option<(u64, Instant)>,
}

impl App {
    /// The state before the first sync.
    pub fn new(link: &Link) -> Self {
        Self {
            cache: Cache::default(),
            pending: Vec::new(),
            screen: Screen::Chats,
            selected: 0,
            input: String::new(),
            relay_connected: false,
            phone_online: None,
            live: false,
            typing: BTreeMap::new(),
            notice: format!("Connecting to {}…", link.relay_url),
            scroll: 0,
            max_scroll: Cell::new(0),
            loading_older: false,
            wiped: None,
            quit: false,
            title: format!(
                "{}'s phone \"{}\" · this device {}",
                crate::pair::plain(&link.credentials.account_name),
                crate::pair::plain(&link.primary_device),
                link.device_id()
            ),
            typing_sent: None,
        }
    }

    /// The chats, most recently active first.
    pub fn chats(&self) -> Vec<&Chat> {
        self.cache.chat_list()
    }

    /// The open chat, if any.
    pub fn open_chat(&self) -> Option<u64> {
        match self.screen {
            Screen::Conversation { chat_id } => Some(chat_id),
            Screen::Chats => None,
        }
    }

    /// Whether the chat's contact is typing now.
    pub fn is_typing(&self, chat_id: u64, now: Instant) -> bool {
        self.typing.get(&chat_id).is_some_and(|until| *until > now)
    }

    /// Takes the newest synced state and queue.
    pub fn refresh(&mut self, cache: Cache, pending: Vec<PendingSend>) {
        self.cache = cache;
        self.pending = pending;
        let count = self.cache.chats.len();
        if count > 0 && self.selected >= count {
            self.selected = count - 1;
        }
    }

    /// A report from the session.
    pub fn on_event(&mut self, event: &Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            DriverEvent::Connected => {
                self.relay_connected = true;
                self.notice = "Connected to the relay.".into();
            }
            DriverEvent::Disconnected { .. } => {
                self.relay_connected = false;
                self.phone_online = None;
                self.live = false;
                self.notice = "The connection to the relay was lost; reconnecting…".into();
            }
            DriverEvent::ConnectFailed { error, .. } => {
                self.notice = format!("Cannot reach the relay ({error}); retrying…");
            }
            DriverEvent::Machine(event) => self.on_machine(event, now, &mut actions),
            _ => {}
        }
        actions
    }

    fn on_machine(&mut self, event: &CompanionEvent, now: Instant, actions: &mut Vec<Action>) {
        match event {
            CompanionEvent::PrimaryOnline(online) => {
                self.phone_online = Some(*online);
                if !online {
                    self.live = false;
                    self.typing.clear();
                }
            }
            CompanionEvent::Synced { .. } => {
                self.live = true;
                self.notice = "Up to date with the phone.".into();
                self.loading_older = false;
                if let Some(chat_id) = self.open_chat() {
                    actions.extend(self.read_action(chat_id));
                }
            }
            CompanionEvent::SessionEnded { .. } => {
                self.live = false;
                self.loading_older = false;
            }
            CompanionEvent::Typing { chat_id, active } => {
                if *active {
                    self.typing.insert(*chat_id, now + TYPING_TIMEOUT);
                } else {
                    self.typing.remove(chat_id);
                }
            }
            CompanionEvent::MessageAdded(message) if message.sender != 0 => {
                self.typing.remove(&message.chat_id);
            }
            CompanionEvent::ChatUpdated(chat)
                if self.open_chat() == Some(chat.chat_id) && chat.unread > 0 =>
            {
                actions.push(Action::MarkRead {
                    chat_id: chat.chat_id,
                    up_to: chat.last_message_id,
                });
            }
            CompanionEvent::History { .. } => self.loading_older = false,
            CompanionEvent::RequestFailed { code, message, .. } => {
                self.loading_older = false;
                self.notice = format!(
                    "The phone refused a request: {} ({message})",
                    reasons::code_text(*code)
                );
            }
            CompanionEvent::SendFailed { code, .. } => {
                self.notice = format!("A message could not be sent: {}", reasons::code_text(*code));
            }
            CompanionEvent::Wiped { code, .. } => self.wiped = Some(reasons::wiped(*code)),
            _ => {}
        }
    }

    /// Time passes: typing marks expire ([SYNC-25]) and the person's own
    /// typing stops after a pause.
    pub fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        self.typing.retain(|_, until| *until > now);
        match self.typing_sent {
            Some((chat_id, at)) if now.duration_since(at) >= TYPING_REPEAT => {
                self.typing_sent = None;
                vec![Action::Typing {
                    chat_id,
                    active: false,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// A key press.
    pub fn on_key(&mut self, key: KeyEvent, now: Instant) -> Vec<Action> {
        if key.kind != KeyEventKind::Press {
            return Vec::new();
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return self.stop_typing();
        }
        if self.wiped.is_some() {
            self.quit = true;
            return Vec::new();
        }
        match self.screen {
            Screen::Chats => self.on_list_key(key),
            Screen::Conversation { chat_id } => self.on_conversation_key(chat_id, key, now),
        }
    }

    fn on_list_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let count = self.cache.chats.len();
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down if self.selected + 1 < count => self.selected += 1,
            KeyCode::Enter => {
                if let Some(chat_id) = self.chats().get(self.selected).map(|c| c.chat_id) {
                    return self.open(chat_id);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Opens a chat: marks it read and fetches history if none is held.
    pub fn open(&mut self, chat_id: u64) -> Vec<Action> {
        self.screen = Screen::Conversation { chat_id };
        self.scroll = 0;
        self.input.clear();
        let mut actions: Vec<Action> = self.read_action(chat_id).into_iter().collect();
        let held = self.cache.messages_of(chat_id).len();
        let more = self.cache.older_history.get(&chat_id).copied();
        if held < usize::from(HISTORY_PAGE) && more != Some(false) {
            actions.extend(self.older(chat_id));
        }
        actions
    }

    fn read_action(&self, chat_id: u64) -> Option<Action> {
        let chat = self.cache.chats.get(&chat_id)?;
        (chat.unread > 0 && chat.last_message_id != 0).then_some(Action::MarkRead {
            chat_id,
            up_to: chat.last_message_id,
        })
    }

    fn older(&mut self, chat_id: u64) -> Option<Action> {
        if self.loading_older || !self.live {
            return None;
        }
        if self.cache.older_history.get(&chat_id) == Some(&false) {
            return None;
        }
        self.loading_older = true;
        let before = self
            .cache
            .messages_of(chat_id)
            .first()
            .map_or(0, |m| m.message_id);
        Some(Action::LoadOlder { chat_id, before })
    }

    fn on_conversation_key(&mut self, chat_id: u64, key: KeyEvent, now: Instant) -> Vec<Action> {
        match key.code {
            KeyCode::Esc => {
                self.screen = Screen::Chats;
                self.input.clear();
                self.stop_typing()
            }
            KeyCode::Enter => {
                let text = self.input.trim().to_owned();
                self.input.clear();
                let mut actions = self.stop_typing();
                if !text.is_empty() {
                    self.scroll = 0;
                    actions.push(Action::Send { chat_id, text });
                }
                actions
            }
            KeyCode::Backspace => {
                self.input.pop();
                if self.input.is_empty() {
                    return self.stop_typing();
                }
                Vec::new()
            }
            KeyCode::PageUp | KeyCode::Up => {
                let step = if key.code == KeyCode::Up { 1 } else { PAGE };
                let max = self.max_scroll.get();
                self.scroll = self.scroll.saturating_add(step).min(max);
                // [SYNC-22] at the top: ask for older messages, if any.
                if self.scroll >= max {
                    return self.older(chat_id).into_iter().collect();
                }
                Vec::new()
            }
            KeyCode::PageDown | KeyCode::Down => {
                let step = if key.code == KeyCode::Down { 1 } else { PAGE };
                self.scroll = self.scroll.saturating_sub(step);
                Vec::new()
            }
            KeyCode::Char(c) => {
                self.input.push(c);
                let due = self.typing_sent.is_none_or(|(chat, at)| {
                    chat != chat_id || now.duration_since(at) >= TYPING_REPEAT
                });
                if due && self.live {
                    self.typing_sent = Some((chat_id, now));
                    return vec![Action::Typing {
                        chat_id,
                        active: true,
                    }];
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn stop_typing(&mut self) -> Vec<Action> {
        match self.typing_sent.take() {
            Some((chat_id, _)) => vec![Action::Typing {
                chat_id,
                active: false,
            }],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_codec::Code;
    use tandem_codec::session::{Body, Message, MessageStatus};
    use tandem_proto::StaticKeypair;
    use tandem_proto::companion::Credentials;
    use tandem_proto::random::SeededRandom;

    fn app() -> App {
        let mut rng = SeededRandom::new(3);
        let link = Link {
            credentials: Credentials {
                identity: StaticKeypair::generate(&mut rng),
                primary_key: StaticKeypair::generate(&mut rng).public(),
                account_name: "Ada".into(),
            },
            relay_url: "ws://127.0.0.1:1".into(),
            device_name: "web".into(),
            primary_device: "phone".into(),
            linked_at_ms: 0,
        };
        let mut app = App::new(&link);
        let mut cache = Cache::default();
        for (id, title, unread, last) in [(1, "Echo", 0, 0), (2, "Ada Lovelace", 2, 5)] {
            cache.chats.insert(
                id,
                Chat {
                    chat_id: id,
                    contact_id: id,
                    title: title.into(),
                    unread,
                    last_message_id: last,
                },
            );
        }
        cache.messages.insert(
            5,
            Message {
                message_id: 5,
                chat_id: 2,
                sender: 2,
                timestamp_ms: 0,
                status: MessageStatus::None,
                body: Body::Text("hi".into()),
            },
        );
        cache.older_history.insert(2, true);
        app.refresh(cache, Vec::new());
        app.on_event(
            &DriverEvent::Machine(CompanionEvent::Synced { seq: 9 }),
            Instant::now(),
        );
        app
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn opening_a_chat_marks_it_read_and_fetches_history() {
        let mut app = app();
        let now = Instant::now();
        // Ada Lovelace is the most recent chat, so the first.
        let actions = app.on_key(key(KeyCode::Enter), now);
        assert_eq!(app.screen, Screen::Conversation { chat_id: 2 });
        assert_eq!(
            actions,
            vec![
                Action::MarkRead {
                    chat_id: 2,
                    up_to: 5
                },
                Action::LoadOlder {
                    chat_id: 2,
                    before: 5
                }
            ]
        );
        // No second request while one is out.
        assert!(app.on_key(key(KeyCode::PageUp), now).is_empty());
    }

    #[test]
    fn typing_is_sent_repeated_and_stopped() {
        let mut app = app();
        let now = Instant::now();
        app.open(1);
        assert_eq!(
            app.on_key(key(KeyCode::Char('h')), now),
            vec![Action::Typing {
                chat_id: 1,
                active: true
            }]
        );
        assert!(app.on_key(key(KeyCode::Char('i')), now).is_empty());
        let sent = app.on_key(key(KeyCode::Enter), now);
        assert_eq!(
            sent,
            vec![
                Action::Typing {
                    chat_id: 1,
                    active: false
                },
                Action::Send {
                    chat_id: 1,
                    text: "hi".into()
                }
            ]
        );
    }

    #[test]
    fn the_phone_going_away_and_typing_expiry_show() {
        let mut app = app();
        let now = Instant::now();
        app.on_event(
            &DriverEvent::Machine(CompanionEvent::Typing {
                chat_id: 1,
                active: true,
            }),
            now,
        );
        assert!(app.is_typing(1, now));
        app.on_tick(now + TYPING_TIMEOUT);
        assert!(!app.is_typing(1, now + TYPING_TIMEOUT));
        app.on_event(
            &DriverEvent::Machine(CompanionEvent::PrimaryOnline(false)),
            now,
        );
        assert_eq!(app.phone_online, Some(false));
        assert!(!app.live);
        app.on_event(
            &DriverEvent::Machine(CompanionEvent::Wiped {
                code: Code::DEVICE_REVOKED,
                reason: String::new(),
            }),
            now,
        );
        assert!(app.wiped.as_deref().unwrap_or("").contains("removed"));
        app.on_key(key(KeyCode::Char('x')), now);
        assert!(app.quit);
    }
}
