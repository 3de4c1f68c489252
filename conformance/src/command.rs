//! Command templates (spec §12.5.1, §12.6, §12.7): split into words at
//! white space outside quotes, `'...'` and `"..."` group (inside `"..."`,
//! `\"` and `\\` stand for `"` and `\`), quotes are removed, and then
//! placeholders are replaced inside each word, never splitting it again.

use std::fmt;

/// A template that does not split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateError {
    /// No program.
    Empty,
    /// A quote was opened and never closed.
    UnterminatedQuote(char),
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the command template names no program"),
            Self::UnterminatedQuote(q) => write!(f, "the command template has an unterminated {q}"),
        }
    }
}

impl std::error::Error for TemplateError {}

/// A command template, split into words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    words: Vec<String>,
}

impl Template {
    /// Splits a template (§12.5.1).
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let words = split(text)?;
        if words.is_empty() {
            return Err(TemplateError::Empty);
        }
        Ok(Self { words })
    }

    /// A template from words that are already split.
    pub fn from_words(words: Vec<String>) -> Result<Self, TemplateError> {
        if words.is_empty() {
            return Err(TemplateError::Empty);
        }
        Ok(Self { words })
    }

    /// The words with `{name}` replaced by `value` for each pair; other
    /// braces are left as they are.
    pub fn render(&self, values: &[(&str, &str)]) -> Vec<String> {
        self.words.iter().map(|w| substitute(w, values)).collect()
    }

    /// Whether a word contains `{name}`.
    pub fn mentions(&self, name: &str) -> bool {
        let needle = format!("{{{name}}}");
        self.words.iter().any(|w| w.contains(&needle))
    }

    /// The words as given.
    pub fn words(&self) -> &[String] {
        &self.words
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted: Vec<String> = self
            .words
            .iter()
            .map(|w| {
                if !w.is_empty()
                    && !w
                        .contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
                {
                    w.clone()
                } else {
                    format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""))
                }
            })
            .collect();
        f.write_str(&quoted.join(" "))
    }
}

fn split(text: &str) -> Result<Vec<String>, TemplateError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(TemplateError::UnterminatedQuote('\'')),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(TemplateError::UnterminatedQuote('"')),
                        },
                        Some(c) => word.push(c),
                        None => return Err(TemplateError::UnterminatedQuote('"')),
                    }
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn substitute(word: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let replaced = values.iter().find_map(|(name, value)| {
            let key = format!("{{{name}}}");
            after.starts_with(&key).then_some((key.len(), *value))
        });
        match replaced {
            Some((len, value)) => {
                out.push_str(value);
                rest = &after[len..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        Template::parse(text).map(|t| t.words).unwrap_or_default()
    }

    #[test]
    fn splits_at_white_space_outside_quotes() {
        assert_eq!(
            words("./my-client --relay {relay_url}"),
            ["./my-client", "--relay", "{relay_url}"]
        );
        assert_eq!(words("  a\t b  "), ["a", "b"]);
        assert_eq!(words("a 'b c' \"d e\""), ["a", "b c", "d e"]);
        assert_eq!(
            words(r#"x "say \"hi\" \\ \n" 'it\s'"#),
            ["x", r#"say "hi" \ \n"#, r"it\s"]
        );
        assert_eq!(words("pre'fix'\"ed\" ''"), ["prefixed", ""]);
        assert_eq!(Template::parse("  "), Err(TemplateError::Empty));
        assert_eq!(
            Template::parse("a 'b"),
            Err(TemplateError::UnterminatedQuote('\''))
        );
        assert_eq!(
            Template::parse("a \"b\\\""),
            Err(TemplateError::UnterminatedQuote('"'))
        );
    }

    #[test]
    fn placeholders_are_replaced_inside_words_and_not_split_again() {
        let t = Template::parse("run --url={relay_url} {state_dir} {json} {unknown")
            .unwrap_or_else(|_| unreachable!());
        let out = t.render(&[
            ("relay_url", "ws://127.0.0.1:1/"),
            ("state_dir", "/tmp/a b"),
            ("json", "{x}"),
        ]);
        assert_eq!(
            out,
            [
                "run",
                "--url=ws://127.0.0.1:1/",
                "/tmp/a b",
                "{x}",
                "{unknown"
            ]
        );
        assert!(t.mentions("state_dir") && !t.mentions("qr_payload"));
    }

    #[test]
    fn display_quotes_words_that_need_it() {
        let t = Template::from_words(vec!["a".into(), "b c".into(), "d\"e".into(), String::new()])
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(t.to_string(), r#"a "b c" "d\"e" """#);
        assert_eq!(Template::parse(&t.to_string()).ok(), Some(t));
    }
}
