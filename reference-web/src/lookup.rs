//! Finding what the person names on the command line in the synced state
//! (spec §7.1): a chat by id, by title, or by a unique title prefix (any
//! case), and a media id as 64 hex digits (§8.2).

use tandem_proto::companion::Cache;

use crate::error::WebError;

/// The chat id `wanted` names.
pub fn chat(cache: &Cache, wanted: &str) -> Result<u64, WebError> {
    let wanted = wanted.trim();
    if let Ok(id) = wanted.parse::<u64>()
        && cache.chats.contains_key(&id)
    {
        return Ok(id);
    }
    let lower = wanted.to_lowercase();
    if let Some(chat) = cache
        .chats
        .values()
        .find(|c| c.title.to_lowercase() == lower)
    {
        return Ok(chat.chat_id);
    }
    let mut prefixed = cache
        .chats
        .values()
        .filter(|c| !lower.is_empty() && c.title.to_lowercase().starts_with(&lower));
    match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Ok(only.chat_id),
        (Some(_), Some(_)) => Err(WebError::NotFound(format!(
            "more than one chat starts with {wanted:?}: {}",
            titles(cache)
        ))),
        _ => Err(WebError::NotFound(format!(
            "no chat {wanted:?}; the chats are: {}",
            titles(cache)
        ))),
    }
}

fn titles(cache: &Cache) -> String {
    cache
        .chat_list()
        .iter()
        .map(|c| format!("{} ({})", c.title, c.chat_id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A media id from 64 hex digits.
pub fn media_id(text: &str) -> Result<[u8; 32], WebError> {
    let bytes = hex::decode(text.trim())
        .map_err(|_| WebError::Invalid(format!("{text:?} is not a media id (64 hex digits)")))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| WebError::Invalid(format!("{text:?} is not a media id (64 hex digits)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_codec::session::Chat;

    fn cache() -> Cache {
        let mut cache = Cache::default();
        for (id, title) in [
            (1, "Echo"),
            (2, "Clock"),
            (3, "Ada Lovelace"),
            (4, "Ada Byron"),
        ] {
            cache.chats.insert(
                id,
                Chat {
                    chat_id: id,
                    contact_id: id,
                    title: title.into(),
                    unread: 0,
                    last_message_id: 0,
                },
            );
        }
        cache
    }

    #[test]
    fn chats_by_id_title_or_unique_prefix() {
        let cache = cache();
        assert_eq!(chat(&cache, "2").unwrap(), 2);
        assert_eq!(chat(&cache, "echo").unwrap(), 1);
        assert_eq!(chat(&cache, "Ada L").unwrap(), 3);
        assert!(matches!(chat(&cache, "Ada"), Err(WebError::NotFound(_))));
        assert!(matches!(chat(&cache, "9"), Err(WebError::NotFound(_))));
        assert!(
            chat(&cache, "Zed")
                .unwrap_err()
                .to_string()
                .contains("Echo (1)")
        );
    }

    #[test]
    fn media_ids_are_64_hex_digits() {
        assert_eq!(media_id(&"ab".repeat(32)).unwrap(), [0xab; 32]);
        assert!(media_id("abcd").is_err());
        assert!(media_id(&"zz".repeat(32)).is_err());
    }
}
