//! The requirement index: every requirement id of the spec with its level,
//! section and text, extracted from `spec/*.md`.
//!
//! A requirement is **defined** where its id appears in bold,
//! `**[PREFIX-NN]**`, and **referenced** wherever it appears plain,
//! `[PREFIX-NN]`. The text of a requirement is the list item that starts
//! with its id, or else the sentence that contains it, as one line of plain
//! text. Its level is `MUST` when that text uses MUST, MUST NOT, SHALL,
//! SHALL NOT or REQUIRED, and `SHOULD` when it uses only SHOULD, SHOULD NOT
//! or RECOMMENDED. When one sentence defines several ids, each takes the
//! nearest keyword before it (or, failing that, the first after it).
//!
//! [`analyze`] builds the [`Index`] and reports every inconsistency as a
//! [`Problem`]: an id defined twice, a reference to an id that is never
//! defined, a sentence with MUST or SHOULD but no id, an id without a
//! keyword, and a prefix that `spec/README.md` does not list. The checked-in
//! `spec/requirements.json` is [`Index::to_json`] of the result; a test in
//! this crate fails when it is stale, and [`REGENERATE_COMMAND`] rewrites it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The `version` of the index format written by this module.
pub const INDEX_VERSION: u32 = 1;

/// The command that rewrites `spec/requirements.json` from the spec.
pub const REGENERATE_COMMAND: &str =
    "cargo run -p tandem-conformance --example requirements -- --write";

/// The file, inside the spec folder, that lists the id prefixes and is not
/// itself a chapter.
pub const README: &str = "README.md";

/// The file, inside the spec folder, that holds the index.
pub const INDEX_FILE: &str = "requirements.json";

/// The spec folder of this repository (`spec/` at the workspace root).
pub fn default_spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("spec")
}

/// How binding a requirement is (RFC 2119).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// MUST, MUST NOT, SHALL, SHALL NOT, REQUIRED: breaking it fails.
    #[serde(rename = "MUST")]
    Must,
    /// SHOULD, SHOULD NOT, RECOMMENDED: missing it is non-strict.
    #[serde(rename = "SHOULD")]
    Should,
}

impl Level {
    /// The level as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Must => "MUST",
            Self::Should => "SHOULD",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One requirement of the spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    /// The id without brackets, for example `ENV-03`.
    pub id: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// The nearest numbered heading before the definition, number and
    /// title, for example `3.4 Routes and the primary's proof of ownership`.
    pub section: String,
    /// The chapter's file name, for example `03-relay-envelope.md`.
    pub file: String,
    /// The defining sentence or list item as one line of plain text.
    pub text: String,
}

/// The whole index, as stored in `spec/requirements.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The format version, [`INDEX_VERSION`].
    pub version: u32,
    /// Every requirement, in file order and then in order of appearance.
    pub requirements: Vec<Requirement>,
}

impl Index {
    /// The index as pretty-printed JSON with a final newline, exactly as it
    /// is checked in.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| unreachable!("an index always serializes: {e}"));
        json.push('\n');
        json
    }

    /// Parses an index from JSON.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The requirement with this id (without brackets).
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// How many requirements have this level.
    pub fn count(&self, level: Level) -> usize {
        self.requirements
            .iter()
            .filter(|r| r.level == level)
            .count()
    }
}

/// One Markdown file of the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecFile {
    /// The file name inside the spec folder, for example `02-transport.md`.
    pub name: String,
    /// The file's text.
    pub text: String,
}

impl SpecFile {
    /// A file from its name and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    fn is_chapter(&self) -> bool {
        self.name != README
    }
}

/// Reads every `*.md` file of the spec folder, sorted by file name (which
/// is chapter order: `01-…` to `13-…`, then the appendices).
pub fn load_spec(dir: &Path) -> io::Result<Vec<SpecFile>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "md") && path.is_file() {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| io::Error::other(format!("bad file name {}", path.display())))?
                .to_owned();
            let text = std::fs::read_to_string(&path)?;
            files.push(SpecFile { name, text });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Which check a [`Problem`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Check {
    /// An id is defined (in bold) more than once.
    DuplicateDefinition,
    /// An id is referenced but never defined.
    UndefinedReference,
    /// A sentence uses MUST or SHOULD but defines no id.
    MissingId,
    /// An id is defined on a sentence without MUST or SHOULD.
    MissingKeyword,
    /// An id uses a prefix that `spec/README.md` does not list.
    UnknownPrefix,
}

/// One inconsistency in the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The check that found it.
    pub check: Check,
    /// The spec file.
    pub file: String,
    /// The 1-based line where the paragraph, item or line starts.
    pub line: usize,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spec/{}:{}: {}", self.file, self.line, self.message)
    }
}

/// The result of [`analyze`]: the index and every problem found.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The index. When an id is defined twice, the first definition wins.
    pub index: Index,
    /// The id prefixes listed in `spec/README.md`.
    pub prefixes: BTreeSet<String>,
    /// Every id referenced (plain or bold) anywhere, with where it first
    /// appears.
    pub references: BTreeMap<String, (String, usize)>,
    problems: Vec<Problem>,
}

impl Analysis {
    /// Every problem, in file and line order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The problems found by one check.
    pub fn problems_of(&self, check: Check) -> Vec<&Problem> {
        self.problems.iter().filter(|p| p.check == check).collect()
    }
}

/// Builds the index from the spec files and checks them.
pub fn analyze(files: &[SpecFile]) -> Analysis {
    let mut problems = Vec::new();
    let mut requirements: Vec<Requirement> = Vec::new();
    let mut defined_at: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut references: BTreeMap<String, (String, usize)> = BTreeMap::new();

    for file in files {
        // References: every `[ID]` on every line, code included.
        for (n, line) in file.text.lines().enumerate() {
            for (_, id) in find_ids(line, false) {
                references
                    .entry(id)
                    .or_insert_with(|| (file.name.clone(), n + 1));
            }
        }
        if !file.is_chapter() {
            continue;
        }
        for block in blocks(&file.text) {
            check_block(
                file,
                &block,
                &mut requirements,
                &mut defined_at,
                &mut problems,
            );
        }
    }

    // Every reference is defined.
    for (id, (file, line)) in &references {
        if !defined_at.contains_key(id) {
            problems.push(Problem {
                check: Check::UndefinedReference,
                file: file.clone(),
                line: *line,
                message: format!("[{id}] is referenced but never defined (**[{id}]**)"),
            });
        }
    }

    // Every id uses a listed prefix.
    let prefixes = files
        .iter()
        .find(|f| f.name == README)
        .map(|f| listed_prefixes(&f.text))
        .unwrap_or_default();
    for (id, (file, line)) in &references {
        let prefix = id.split('-').next().unwrap_or_default();
        if !prefixes.contains(prefix) {
            problems.push(Problem {
                check: Check::UnknownPrefix,
                file: file.clone(),
                line: *line,
                message: format!(
                    "[{id}] uses the prefix {prefix}, which spec/{README} does not list"
                ),
            });
        }
    }

    problems.sort_by(|a, b| (&a.file, a.line, a.check).cmp(&(&b.file, b.line, b.check)));
    Analysis {
        index: Index {
            version: INDEX_VERSION,
            requirements,
        },
        prefixes,
        references,
        problems,
    }
}

/// Extracts requirements from one block and checks its sentences.
fn check_block(
    file: &SpecFile,
    block: &Block,
    requirements: &mut Vec<Requirement>,
    defined_at: &mut BTreeMap<String, (String, usize)>,
    problems: &mut Vec<Problem>,
) {
    // A list item that starts with its id is one requirement, however many
    // sentences it has.
    let leading_id = match block.kind {
        BlockKind::ListItem => find_ids(&block.text, true)
            .into_iter()
            .next()
            .filter(|(pos, _)| *pos == 0),
        _ => None,
    };
    let units: Vec<&str> = if leading_id.is_some() {
        vec![block.text.as_str()]
    } else {
        sentences(&block.text)
    };
    let is_keyword_definition = block.text.starts_with("The key words");

    for unit in units {
        let ids = find_ids(unit, true);
        let keywords = keywords(unit);
        if ids.is_empty() {
            if !keywords.is_empty() && !is_keyword_definition {
                problems.push(Problem {
                    check: Check::MissingId,
                    file: file.name.clone(),
                    line: block.line,
                    message: format!(
                        "a sentence with {} has no requirement id: \"{}\"",
                        keywords[0].1,
                        plain_text(unit)
                    ),
                });
            }
            continue;
        }
        for (pos, id) in &ids {
            if let Some((first_file, first_line)) = defined_at.get(id) {
                problems.push(Problem {
                    check: Check::DuplicateDefinition,
                    file: file.name.clone(),
                    line: block.line,
                    message: format!(
                        "[{id}] is defined again (first at spec/{first_file}:{first_line}); \
                         give the new requirement the next free id"
                    ),
                });
                continue;
            }
            defined_at.insert(id.clone(), (file.name.clone(), block.line));
            let level = if ids.len() == 1 {
                overall_level(&keywords)
            } else {
                nearest_level(&keywords, *pos)
            };
            let Some(level) = level else {
                problems.push(Problem {
                    check: Check::MissingKeyword,
                    file: file.name.clone(),
                    line: block.line,
                    message: format!(
                        "[{id}] is defined on a sentence without MUST or SHOULD: \"{}\"",
                        plain_text(unit)
                    ),
                });
                continue;
            };
            requirements.push(Requirement {
                id: id.clone(),
                level,
                section: block.section.clone(),
                file: file.name.clone(),
                text: plain_text(unit),
            });
        }
    }
}

/// The prefixes in the README's table: rows whose first cell is a code
/// span of capital letters.
fn listed_prefixes(readme: &str) -> BTreeSet<String> {
    readme
        .lines()
        .filter_map(|line| line.trim().strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase()))
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------
// Markdown blocks.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BlockKind {
    Paragraph,
    ListItem,
    TableRow,
}

/// A paragraph, a list item or a table row, outside code blocks, with its
/// lines joined by single spaces.
#[derive(Clone, Debug)]
struct Block {
    kind: BlockKind,
    text: String,
    line: usize,
    section: String,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    let mut section = String::new();
    let mut fence: Option<&str> = None;

    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let trimmed = raw.trim();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            out.extend(current.take());
            fence = Some(&trimmed[..3]);
            continue;
        }
        if trimmed.is_empty() {
            out.extend(current.take());
            continue;
        }
        if trimmed.starts_with('#') {
            out.extend(current.take());
            if let Some(s) = numbered_heading(trimmed) {
                section = s;
            }
            continue;
        }
        if trimmed.starts_with('|') {
            out.extend(current.take());
            let is_separator = trimmed.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
            if !is_separator {
                out.push(Block {
                    kind: BlockKind::TableRow,
                    text: trimmed.to_owned(),
                    line: line_no,
                    section: section.clone(),
                });
            }
            continue;
        }
        let content = trimmed.trim_start_matches('>').trim_start();
        if let Some(item) = list_item(content) {
            out.extend(current.take());
            current = Some(Block {
                kind: BlockKind::ListItem,
                text: item.to_owned(),
                line: line_no,
                section: section.clone(),
            });
            continue;
        }
        match current.as_mut() {
            Some(block) => {
                block.text.push(' ');
                block.text.push_str(content);
            }
            None => {
                current = Some(Block {
                    kind: BlockKind::Paragraph,
                    text: content.to_owned(),
                    line: line_no,
                    section: section.clone(),
                });
            }
        }
    }
    out.extend(current);
    out
}

/// The text after a list marker (`- `, `* `, `+ `, `1. `), if the line
/// starts a list item.
fn list_item(line: &str) -> Option<&str> {
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Some(rest.trim_start());
        }
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0
        && digits < 4
        && let Some(rest) = line[digits..].strip_prefix(". ")
    {
        return Some(rest.trim_start());
    }
    None
}

/// `"3.4 Routes …"` for `## 3.4 Routes …`, `"3 The relay envelope"` for
/// `# 3. The relay envelope`, `"A Worked example"` for
/// `# Appendix A. Worked example`; `None` for a heading without a number.
fn numbered_heading(line: &str) -> Option<String> {
    let title = line.trim_start_matches('#').trim();
    let (first, rest) = title.split_once(' ')?;
    let number = first.trim_end_matches('.');
    if !number.is_empty()
        && number.starts_with(|c: char| c.is_ascii_digit())
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        return Some(format!("{number} {}", plain_text(rest.trim())));
    }
    if first == "Appendix" {
        let (letter, rest) = rest.split_once(' ')?;
        let letter = letter.trim_end_matches('.');
        if letter.len() == 1 && letter.chars().all(|c| c.is_ascii_uppercase()) {
            return Some(format!("{letter} {}", plain_text(rest.trim())));
        }
    }
    None
}

// ---------------------------------------------------------------------
// Inline Markdown: code spans, ids, keywords, sentences, plain text.

/// Splits inline Markdown at backtick runs into `(is_code, start, end)`
/// byte ranges; a code span's range excludes its backticks.
fn segments(text: &str) -> Vec<(bool, usize, usize)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
        let delimiter = &text[i..i + run];
        // A code span closes at the next run of the same length.
        let Some(close) = find_run(text, i + run, delimiter) else {
            i += run;
            continue;
        };
        if start < i {
            out.push((false, start, i));
        }
        out.push((true, i + run, close));
        i = close + run;
        start = i;
    }
    if start < text.len() {
        out.push((false, start, text.len()));
    }
    out
}

fn find_run(text: &str, from: usize, delimiter: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(offset) = text[i..].find(delimiter) {
        let at = i + offset;
        let end = at + delimiter.len();
        if bytes.get(end) != Some(&b'`') {
            return Some(at);
        }
        i = end + bytes[end..].iter().take_while(|&&b| b == b'`').count();
    }
    None
}

/// The parts of `text` outside code spans, with their byte offsets.
fn prose_ranges(text: &str) -> Vec<(usize, &str)> {
    segments(text)
        .into_iter()
        .filter(|(code, _, _)| !code)
        .map(|(_, start, end)| (start, &text[start..end]))
        .collect()
}

/// Whether `s` is a requirement id: capital letters, a hyphen, two or more
/// digits.
fn is_id(s: &str) -> bool {
    let Some((prefix, number)) = s.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_uppercase())
        && number.len() >= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Ids in `text` with their byte positions: bold definitions
/// (`**[ID]**`, positions of the first `*`) when `bold`, else every
/// `[ID]` (positions of the `[`). Definitions inside code spans are
/// ignored; references are found everywhere.
fn find_ids(text: &str, bold: bool) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let ranges: Vec<(usize, &str)> = if bold {
        prose_ranges(text)
    } else {
        vec![(0, text)]
    };
    for (base, s) in ranges {
        let mut from = 0;
        while let Some(open) = s[from..].find('[') {
            let open = from + open;
            let Some(close) = s[open..].find(']') else {
                break;
            };
            let close = open + close;
            let id = &s[open + 1..close];
            from = open + 1;
            if !is_id(id) {
                continue;
            }
            if bold {
                let is_bold = s[..open].ends_with("**") && s[close + 1..].starts_with("**");
                if is_bold {
                    out.push((base + open - 2, id.to_owned()));
                }
            } else {
                out.push((base + open, id.to_owned()));
            }
        }
    }
    out
}

const MUST_WORDS: [&str; 3] = ["MUST", "SHALL", "REQUIRED"];
const SHOULD_WORDS: [&str; 2] = ["SHOULD", "RECOMMENDED"];

/// RFC 2119 keywords outside code spans, with their byte positions and
/// levels, in order.
fn keywords(text: &str) -> Vec<(usize, &'static str, Level)> {
    let mut out = Vec::new();
    for (base, s) in prose_ranges(text) {
        let mut word_start = None;
        // A sentinel space ends the last word.
        for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
            match (c.is_ascii_alphanumeric(), word_start) {
                (true, None) => word_start = Some(i),
                (false, Some(at)) => {
                    word_start = None;
                    let word = &s[at..i];
                    if let Some(w) = MUST_WORDS.iter().find(|w| **w == word) {
                        out.push((base + at, *w, Level::Must));
                    } else if let Some(w) = SHOULD_WORDS.iter().find(|w| **w == word) {
                        out.push((base + at, *w, Level::Should));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// MUST if any keyword is a MUST, else SHOULD if any is a SHOULD.
fn overall_level(keywords: &[(usize, &str, Level)]) -> Option<Level> {
    keywords.iter().map(|(_, _, level)| *level).min()
}

/// The level of the nearest keyword before `pos`, else of the first after.
fn nearest_level(keywords: &[(usize, &str, Level)], pos: usize) -> Option<Level> {
    keywords
        .iter()
        .rev()
        .find(|(at, _, _)| *at < pos)
        .or_else(|| keywords.iter().find(|(at, _, _)| *at > pos))
        .map(|(_, _, level)| *level)
}

/// Abbreviations after which a period does not end a sentence.
const ABBREVIATIONS: [&str; 4] = ["e.g", "i.e", "cf", "vs"];

/// Splits inline Markdown into sentences: after `.`, `!` or `?` outside
/// code spans, followed by white space and a capital letter, a code span,
/// emphasis or a quote.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (base, s) in prose_ranges(text) {
        for (i, c) in s.char_indices() {
            if !matches!(c, '.' | '!' | '?') {
                continue;
            }
            let end = base + i + 1;
            let after = &text[end..];
            let rest = after.trim_start();
            if rest.len() == after.len() || rest.is_empty() {
                continue;
            }
            let next = rest.chars().next().unwrap_or(' ');
            if !(next.is_uppercase() || matches!(next, '`' | '*' | '"')) {
                continue;
            }
            let word = text[start..base + i]
                .rsplit(|c: char| c.is_whitespace() || c == '(')
                .next()
                .unwrap_or_default();
            if ABBREVIATIONS.contains(&word) {
                continue;
            }
            out.push(text[start..end].trim());
            start = end;
        }
    }
    let last = text[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

/// Inline Markdown as one line of plain text: bold ids removed, emphasis
/// and backticks dropped, links reduced to their text, white space
/// collapsed.
fn plain_text(markdown: &str) -> String {
    let mut raw = String::with_capacity(markdown.len());
    for (code, start, end) in segments(markdown) {
        let s = &markdown[start..end];
        if code {
            raw.push_str(s);
            continue;
        }
        let mut rest = s;
        while !rest.is_empty() {
            // A bold id: dropped (the index names the id separately).
            if let Some(after) = rest.strip_prefix("**[")
                && let Some(close) = after.find("]**")
                && is_id(&after[..close])
            {
                rest = &after[close + 3..];
                continue;
            }
            // A link: its text only.
            if let Some(after) = rest.strip_prefix('[')
                && let Some(close) = after.find("](")
                && let Some(end) = after[close..].find(')')
            {
                let label = &after[..close];
                if !label.contains('[') {
                    raw.push_str(label);
                    rest = &after[close + end + 1..];
                    continue;
                }
            }
            let mut chars = rest.chars();
            let c = chars.next().unwrap_or(' ');
            if c != '*' {
                raw.push(c);
            }
            rest = chars.as_str();
        }
    }
    let mut text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    for (from, to) in [
        (" ,", ","),
        (" .", "."),
        (" ;", ";"),
        (" :", ":"),
        (" )", ")"),
        ("( ", "("),
    ] {
        text = text.replace(from, to);
    }
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze_one(text: &str) -> Analysis {
        let readme = "| Prefix |\n|---|\n| `ENC` | 1 |\n| `TRN` | 2 |\n";
        analyze(&[
            SpecFile::new("02-t.md", text),
            SpecFile::new(README, readme),
        ])
    }

    #[test]
    fn sentence_definition_with_section() {
        let a = analyze_one(
            "# 2. Transport\n\n## 2.1 Messages\n\nA first sentence. A sender MUST NOT\n\
             send `text.` messages **[TRN-01]**. Then, e.g. this, more.\n",
        );
        assert!(a.problems().is_empty(), "{:?}", a.problems());
        let r = &a.index.requirements[0];
        assert_eq!(r.id, "TRN-01");
        assert_eq!(r.level, Level::Must);
        assert_eq!(r.section, "2.1 Messages");
        assert_eq!(r.file, "02-t.md");
        assert_eq!(r.text, "A sender MUST NOT send text. messages.");
    }

    #[test]
    fn list_item_starting_with_id_is_one_requirement() {
        let a = analyze_one(
            "# 2. T\n\n- **[TRN-01]** A client SHOULD do this.\n  It MUST also do that.\n\
             - Not a requirement.\n",
        );
        assert!(a.problems().is_empty(), "{:?}", a.problems());
        let r = &a.index.requirements[0];
        assert_eq!(r.level, Level::Must);
        assert_eq!(r.section, "2 T");
        assert_eq!(r.text, "A client SHOULD do this. It MUST also do that.");
    }

    #[test]
    fn several_ids_in_one_sentence_take_the_nearest_keyword() {
        let a = analyze_one(
            "A client MUST do a **[TRN-01]** and SHOULD do b **[TRN-02]**, and c **[TRN-03]**.\n",
        );
        let levels: Vec<Level> = a.index.requirements.iter().map(|r| r.level).collect();
        assert_eq!(levels, [Level::Must, Level::Should, Level::Should]);
        assert_eq!(
            a.index.requirements[0].text,
            "A client MUST do a and SHOULD do b, and c."
        );
    }

    #[test]
    fn id_before_its_sentence() {
        let a = analyze_one("It ends. **[ENC-02]** A receiver MUST never do x.\n");
        assert!(a.problems().is_empty(), "{:?}", a.problems());
        assert_eq!(a.index.requirements[0].text, "A receiver MUST never do x.");
    }

    #[test]
    fn each_check_reports() {
        let a = analyze_one(
            "A MUST a **[TRN-01]**. B MUST b **[TRN-01]**. C SHOULD c. D is d **[TRN-02]**. \
             See [TRN-09] and **[XYZ-01]** MUST.\n\n```\nMUST in code\n```\n\n\
             The key words MUST and SHOULD are defined.\n\nUse `MUST` in code.\n",
        );
        let count = |c| a.problems_of(c).len();
        assert_eq!(count(Check::DuplicateDefinition), 1);
        assert_eq!(count(Check::MissingId), 1);
        assert_eq!(count(Check::MissingKeyword), 1);
        assert_eq!(count(Check::UndefinedReference), 1);
        assert_eq!(count(Check::UnknownPrefix), 1);
        assert_eq!(a.problems().len(), 5);
    }

    #[test]
    fn plain_text_strips_markdown() {
        assert_eq!(
            plain_text("A **bold** *em* [link](http://x) `f()*` [ENC-01] **[ENC-02]** x ."),
            "A bold em link f()* [ENC-01] x."
        );
    }

    #[test]
    fn headings() {
        assert_eq!(
            numbered_heading("# 3. The relay").as_deref(),
            Some("3 The relay")
        );
        assert_eq!(
            numbered_heading("## 3.4 Routes and `x`").as_deref(),
            Some("3.4 Routes and x")
        );
        assert_eq!(
            numbered_heading("# Appendix A. Worked example").as_deref(),
            Some("A Worked example")
        );
        assert_eq!(numbered_heading("### Payloads"), None);
    }

    #[test]
    fn index_json_round_trip() {
        let a = analyze_one("A MUST a **[TRN-01]**.\n");
        let json = a.index.to_json();
        assert!(json.contains("\"level\": \"MUST\""));
        assert_eq!(Index::from_json(&json).unwrap(), a.index);
    }
}
