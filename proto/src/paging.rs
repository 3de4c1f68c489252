//! Exact encoded sizes of the sync structures (spec §7.1), so that pages
//! are filled up to, and never beyond, the inner frame limit ([SESS-01]).

use tandem_codec::limits::MAX_INNER_FRAME;
use tandem_codec::session::{Body, Chat, Contact, Message};

/// `ChatPage` and `ContactPage` overhead: type and count.
pub(crate) const LIST_PAGE_OVERHEAD: usize = 1 + 2;
/// `MessagePage` overhead: type, request id, chat id, has_more, count.
pub(crate) const MESSAGE_PAGE_OVERHEAD: usize = 1 + 4 + 8 + 1 + 2;

pub(crate) fn chat_len(chat: &Chat) -> usize {
    8 + 8 + 1 + chat.title.len() + 4 + 8
}

pub(crate) fn contact_len(contact: &Contact) -> usize {
    8 + 1 + contact.name.len()
}

pub(crate) fn message_len(message: &Message) -> usize {
    8 + 8 + 8 + 8 + 1 + body_len(&message.body)
}

fn body_len(body: &Body) -> usize {
    3 + match body {
        Body::Text(text) => text.len(),
        Body::Media(media) => {
            32 + 8 + 1 + media.mime.len() + 1 + media.name.len() + 2 + media.caption.len()
        }
        Body::Unknown { content, .. } => content.len(),
    }
}

/// Splits `items` into pages of at most `max_items` whose encoding, with
/// `overhead`, fits one inner frame.
pub(crate) fn pages<T>(
    items: Vec<T>,
    max_items: usize,
    overhead: usize,
    len: impl Fn(&T) -> usize,
) -> Vec<Vec<T>> {
    let mut pages = Vec::new();
    let mut page = Vec::new();
    let mut size = overhead;
    for item in items {
        let item_len = len(&item);
        if !page.is_empty() && (page.len() == max_items || size + item_len > MAX_INNER_FRAME) {
            pages.push(std::mem::take(&mut page));
            size = overhead;
        }
        size += item_len;
        page.push(item);
    }
    if !page.is_empty() {
        pages.push(page);
    }
    pages
}

/// Keeps the newest messages (the end of `messages`) that fit one
/// `MessagePage`; returns whether any were dropped.
pub(crate) fn fit_newest(messages: &mut Vec<Message>) -> bool {
    let mut size = MESSAGE_PAGE_OVERHEAD;
    let mut keep = 0;
    for message in messages.iter().rev() {
        let len = message_len(message);
        if size + len > MAX_INNER_FRAME {
            break;
        }
        size += len;
        keep += 1;
    }
    let dropped = messages.len() - keep;
    messages.drain(..dropped);
    dropped > 0
}
