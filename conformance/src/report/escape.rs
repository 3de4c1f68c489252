//! Escaping for the XML and HTML reports (spec §12.4). Implementation
//! output (adapter lines, standard error, close reasons) goes into them, so
//! every string is escaped, and characters that XML 1.0 cannot hold at all
//! (most C0 controls, lone surrogates cannot occur in `str`, U+FFFE and
//! U+FFFF) are written as a visible `\u{..}` instead.

/// Text for an XML or HTML element's content or a double-quoted attribute:
/// `&`, `<`, `>`, `"` and `'` escaped; tab, line feed and carriage return
/// kept in content; other characters XML forbids made visible.
pub fn text(s: &str) -> String {
    escape(s, false)
}

/// Text for a double-quoted attribute: as [`text`], and tab, line feed and
/// carriage return as character references, so that they survive
/// attribute-value normalization.
pub fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' if attribute => out.push_str("&#13;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if forbidden(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Characters that XML 1.0 documents cannot contain, even as references
/// (§2.2 Char), plus the C1 controls and DEL, which are legal but
/// discouraged and invisible.
fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
}

/// A string usable as a file name: the case id's characters, anything
/// else as `_`. Case ids are ASCII letters, digits, `.`, `-` and `_`.
pub fn file_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            text(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(text("a\tb\nc\r"), "a\tb\nc\r");
        assert_eq!(attr("a\tb\nc\r"), "a&#9;b&#10;c&#13;");
    }

    #[test]
    fn characters_xml_cannot_hold_are_made_visible() {
        assert_eq!(
            text("\u{0}\u{1b}[31m\u{7f}\u{ffff}é✓"),
            "\\u{0}\\u{1b}[31m\\u{7f}\\u{ffff}é✓"
        );
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("relay.RLY-02.1"), "relay.RLY-02.1");
        assert_eq!(file_name("../x/y z"), ".._x_y_z");
    }
}
