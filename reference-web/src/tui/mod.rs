//! `chat`, the interactive terminal client (spec §7 live sync, §7.6 queued
//! sends, §7.7 history, §7.8 read marks and typing, §9.5 unlinking): session
//! events and keys feed [`App`], its [`Action`]s run on the session.

mod app;
mod input;
mod view;

use std::time::{Duration, Instant};

use tandem_codec::session::Body;

pub use app::{Action, App, HISTORY_PAGE, Screen, TYPING_TIMEOUT};

use crate::error::WebError;
use crate::session::{Session, SessionOptions};
use crate::state::StateDir;

/// Runs the interactive client until the person quits.
pub async fn run(state: &StateDir, options: &SessionOptions) -> Result<(), WebError> {
    let mut session = Session::open(state, options)?;
    let mut app = App::new(session.link());
    let mut terminal = ratatui::try_init().map_err(WebError::io("the terminal"))?;
    let mut keys = input::spawn();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let result = loop {
        if let Err(err) = terminal.draw(|frame| view::render(frame, &app)) {
            break Err(WebError::io("the terminal")(err));
        }
        if app.quit {
            break Ok(());
        }
        let now = Instant::now();
        let actions = tokio::select! {
            // `recv` is cancel-safe; the report is acted on here, whole.
            event = session.recv() => match event {
                Some(event) => {
                    if let Err(err) = session.observe(&event).await {
                        break Err(err);
                    }
                    let actions = app.on_event(&event, now);
                    if let Err(err) = refresh(&session, &mut app).await {
                        break Err(err);
                    }
                    actions
                }
                None => break Ok(()),
            },
            Some(key) = keys.rx.recv() => app.on_key(key, now),
            _ = tick.tick() => app.on_tick(now),
        };
        for action in actions {
            perform(&session, &mut app, action).await;
        }
        if let Err(err) = refresh(&session, &mut app).await {
            break Err(err);
        }
    };
    drop(keys);
    ratatui::restore();
    let wiped = app.wiped.clone();
    let closed = session.close().await;
    if let Some(reason) = wiped {
        println!("{reason}");
    }
    result?;
    closed
}

async fn refresh(session: &Session, app: &mut App) -> Result<(), WebError> {
    let (cache, pending) = session
        .call(|c, _| (c.cache().clone(), c.outbox().pending().to_vec()))
        .await?;
    app.refresh(cache, pending);
    Ok(())
}

/// Runs one action; failures become the notice line.
async fn perform(session: &Session, app: &mut App, action: Action) {
    let result = match action {
        Action::Send { chat_id, text } => session.send(chat_id, Body::Text(text)).await.map(|_| ()),
        Action::Typing { chat_id, active } => session
            .call(move |c, _| c.typing(chat_id, active))
            .await
            .map(|_| ()),
        Action::MarkRead { chat_id, up_to } => session
            .call(move |c, _| c.mark_read(chat_id, up_to))
            .await
            .map(|_| ()),
        Action::LoadOlder { chat_id, before } => {
            let asked = session
                .call(move |c, _| c.request_history(chat_id, before, app::HISTORY_PAGE))
                .await;
            if !matches!(asked, Ok(Ok(_))) {
                app.loading_older = false;
            }
            asked.map(|_| ())
        }
    };
    if let Err(err) = result {
        app.notice = err.to_string();
    }
}
