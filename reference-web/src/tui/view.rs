//! Drawing the interactive client (spec §7): title bar, the "phone not
//! connected" banner (§3.5), chat list with unread counts, conversation with
//! status marks, pending sends, typing and the no-more-history marker ([SYNC-22]).

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};
use tandem_codec::session::{Message, MessageStatus};

use super::app::{App, Screen};
use crate::format::{body_text, clock_time, sender_name, status_mark};
use crate::pair::plain;

/// Draws the whole screen.
pub(super) fn render(frame: &mut Frame<'_>, app: &App) {
    if let Some(reason) = &app.wiped {
        let text = vec![
            Line::styled("This device is no longer linked.", Style::new().bold()),
            Line::raw(""),
            Line::raw(reason.clone()),
            Line::raw(""),
            Line::raw("Its keys and queued messages were deleted. Press any key to quit."),
        ];
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .block(Block::bordered().title(" Tandem web ")),
            frame.area(),
        );
        return;
    }
    let banner = banner(app);
    let [title, banner_area, main, input, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(banner.is_some())),
        Constraint::Min(3),
        Constraint::Length(if app.open_chat().is_some() { 3 } else { 0 }),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(title_bar(app), title);
    if let Some(banner) = banner {
        frame.render_widget(banner, banner_area);
    }
    match app.screen {
        Screen::Chats => chat_list(frame, app, main),
        Screen::Conversation { chat_id } => {
            conversation(frame, app, chat_id, main);
            frame.render_widget(
                Paragraph::new(format!("{}▏", app.input))
                    .block(Block::bordered().title(" Message (Enter to send) ")),
                input,
            );
        }
    }
    let keys = match app.screen {
        Screen::Chats => "↑/↓ choose · Enter open · q quit",
        Screen::Conversation { .. } => "Enter send · PgUp older · Esc chats · Ctrl-C quit",
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(keys, Style::new().fg(Color::DarkGray)),
            Span::raw("  "),
            Span::raw(app.notice.clone()),
        ])),
        help,
    );
}

fn title_bar(app: &App) -> Paragraph<'static> {
    let (mark, style) = match (app.relay_connected, app.phone_online, app.live) {
        (false, _, _) => ("○ connecting", Style::new().fg(Color::Yellow)),
        (true, Some(false), _) => ("○ phone offline", Style::new().fg(Color::Red)),
        (true, _, true) => ("● phone online", Style::new().fg(Color::Green)),
        (true, _, false) => ("◐ syncing", Style::new().fg(Color::Yellow)),
    };
    Paragraph::new(Line::from(vec![
        Span::styled(" Tandem web ", Style::new().bold().reversed()),
        Span::raw(" "),
        Span::styled(mark, style),
        Span::raw("  "),
        Span::styled(app.title.clone(), Style::new().fg(Color::DarkGray)),
    ]))
}

/// The banner, when the phone cannot be reached (spec §7.6: the companion
/// says so and queues sends).
fn banner(app: &App) -> Option<Paragraph<'static>> {
    let text = match (app.relay_connected, app.phone_online) {
        (true, Some(false)) => {
            " ⚠ Phone not connected: messages you send are queued and go out when it is back."
        }
        (false, _) if app.cache.log_id != 0 || !app.pending.is_empty() => {
            " ⚠ No connection to the relay: reconnecting… messages you send are queued."
        }
        _ => return None,
    };
    Some(Paragraph::new(text).style(Style::new().bg(Color::Red).fg(Color::White).bold()))
}

fn chat_list(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let chats = app.chats();
    let items: Vec<ListItem<'_>> = chats
        .iter()
        .map(|chat| {
            let mut spans = vec![Span::styled(
                format!("{:<24}", plain(&chat.title)),
                Style::new().bold(),
            )];
            if chat.unread > 0 {
                spans.push(Span::styled(
                    format!(" ({} unread)", chat.unread),
                    Style::new().fg(Color::Yellow).bold(),
                ));
            }
            if let Some(last) = app.cache.messages.get(&chat.last_message_id) {
                spans.push(Span::styled(
                    format!("  {}", body_text(&last.body)),
                    Style::new().fg(Color::DarkGray),
                ));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let title = if chats.is_empty() && !app.live {
        " Chats (waiting for the phone…) ".to_owned()
    } else {
        format!(" Chats ({}) ", chats.len())
    };
    let list = List::new(items)
        .block(Block::bordered().title(title))
        .highlight_symbol("▶ ")
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default().with_selected(Some(app.selected));
    frame.render_stateful_widget(list, area, &mut state);
}

fn conversation(frame: &mut Frame<'_>, app: &App, chat_id: u64, area: Rect) {
    let now = Instant::now();
    let title = app
        .cache
        .chats
        .get(&chat_id)
        .map_or_else(|| format!("chat {chat_id}"), |c| plain(&c.title));
    let mut lines: Vec<Line<'_>> = Vec::new();
    match app.cache.older_history.get(&chat_id) {
        Some(false) => lines.push(Line::styled(
            "— no older messages —",
            Style::new().fg(Color::DarkGray),
        )),
        _ if app.loading_older => lines.push(Line::styled(
            "… loading older messages",
            Style::new().fg(Color::DarkGray),
        )),
        _ => lines.push(Line::styled(
            "PgUp: older messages",
            Style::new().fg(Color::DarkGray),
        )),
    }
    for message in app.cache.messages_of(chat_id) {
        lines.push(message_line(app, message));
    }
    for pending in app.pending.iter().filter(|p| p.chat_id == chat_id) {
        lines.push(Line::from(vec![
            Span::styled("      you: ", Style::new().fg(Color::Cyan)),
            Span::raw(body_text(&pending.body)),
            Span::styled("  … pending", Style::new().fg(Color::DarkGray).italic()),
        ]));
    }
    if app.is_typing(chat_id, now) {
        lines.push(Line::styled(
            format!("{title} is typing…"),
            Style::new().fg(Color::Green).italic(),
        ));
    }
    let height = area.height.saturating_sub(2);
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let max = total.saturating_sub(height);
    app.max_scroll.set(max);
    let top = max.saturating_sub(app.scroll.min(max));
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((top, 0))
            .block(Block::bordered().title(format!(" {title} "))),
        area,
    );
}

fn message_line<'a>(app: &App, message: &'a Message) -> Line<'a> {
    let mine = message.sender == 0;
    let who = if mine {
        Span::styled("you", Style::new().fg(Color::Cyan))
    } else {
        Span::styled(
            sender_name(&app.cache, message),
            Style::new().fg(Color::Magenta),
        )
    };
    let mut spans = vec![
        Span::styled(
            format!("{} ", clock_time(message.timestamp_ms)),
            Style::new().fg(Color::DarkGray),
        ),
        who,
        Span::raw(": "),
        Span::raw(body_text(&message.body)),
    ];
    if mine && message.status != MessageStatus::None {
        let style = match message.status {
            MessageStatus::Read => Style::new().fg(Color::Blue).bold(),
            _ => Style::new().fg(Color::DarkGray),
        };
        let word = if message.status == MessageStatus::Read {
            " read"
        } else {
            ""
        };
        spans.push(Span::styled(
            format!("  {}{word}", status_mark(message.status)),
            style,
        ));
    }
    Line::from(spans)
}
