//! Output: human tables with colour (off for NO_COLOR and non-terminals), or JSON/YAML for scripts.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::args::Format;
use crate::error::CliError;

/// A colour for a word of human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// Created, ready, succeeded.
    Green,
    /// Changed, in progress, waiting.
    Yellow,
    /// Deleted, failed.
    Red,
    /// Names, headings.
    Bold,
    /// Unchanged, secondary.
    Dim,
}

impl Colour {
    fn code(self) -> &'static str {
        match self {
            Colour::Green => "32",
            Colour::Yellow => "33",
            Colour::Red => "31",
            Colour::Bold => "1",
            Colour::Dim => "2",
        }
    }
}

/// Whether colour is wanted on a stream: a terminal, and `NO_COLOR` unset or empty (no-color.org).
pub fn colour_wanted(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Where and how a command writes its result.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// The format asked for.
    pub format: Format,
    colour: bool,
}

impl Output {
    /// Output on stdout in `format`.
    pub fn new(format: Format) -> Self {
        Output { format, colour: format == Format::Table && colour_wanted(std::io::stdout().is_terminal()) }
    }

    /// `text` in `colour` when colour is on.
    pub fn paint(&self, text: &str, colour: Colour) -> String {
        if self.colour {
            format!("\x1b[{}m{text}\x1b[0m", colour.code())
        } else {
            text.to_string()
        }
    }

    /// Writes `value` as JSON or YAML, or the human text `human` builds.
    pub fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce(&Output) -> String) -> Result<(), CliError> {
        let text = match self.format {
            Format::Json => {
                let mut t = serde_json::to_string_pretty(value).map_err(|e| CliError::Output(e.to_string()))?;
                t.push('\n');
                t
            }
            Format::Yaml => serde_yaml::to_string(value).map_err(|e| CliError::Output(e.to_string()))?,
            Format::Table => human(self),
        };
        write_stdout(&text)
    }
}

/// Writes text to stdout (a closed pipe is not an error worth a panic).
pub fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(e.to_string())),
    }
}

/// One cell of a table: its text and colour.
#[derive(Debug, Clone)]
pub struct Cell {
    text: String,
    colour: Option<Colour>,
}

impl Cell {
    /// A plain cell.
    pub fn plain(text: impl Into<String>) -> Self {
        Cell { text: text.into(), colour: None }
    }
    /// A coloured cell.
    pub fn coloured(text: impl Into<String>, colour: Colour) -> Self {
        Cell { text: text.into(), colour: Some(colour) }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::plain(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::plain(text)
    }
}

/// A table as kubectl prints them: upper-case headers, columns aligned by two spaces.
pub fn table(out: &Output, headers: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.text.chars().count());
            }
        }
    }
    let mut text = String::new();
    let line = |cells: Vec<(String, Option<Colour>)>, text: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, (cell, colour)) in cells.into_iter().enumerate() {
            let pad = if i == last { 0 } else { widths[i].saturating_sub(cell.chars().count()) + 2 };
            let shown = match colour {
                Some(c) => out.paint(&cell, c),
                None => cell,
            };
            text.push_str(&shown);
            text.push_str(&" ".repeat(pad));
        }
        text.push('\n');
    };
    line(headers.iter().map(|h| (h.to_uppercase(), Some(Colour::Bold))).collect(), &mut text);
    for row in rows {
        line(row.iter().map(|c| (c.text.clone(), c.colour)).collect(), &mut text);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_on_the_text_not_the_colour_codes() {
        let out = Output { format: Format::Table, colour: true };
        let rows = vec![vec![Cell::plain("acme"), Cell::coloured("yes", Colour::Green)], vec![Cell::plain("b"), Cell::plain("no")]];
        let text = table(&out, &["name", "ok"], &rows);
        let plain: String = text.replace("\x1b[1m", "").replace("\x1b[32m", "").replace("\x1b[0m", "");
        assert_eq!(plain, "NAME  OK\nacme  yes\nb     no\n");
        assert!(text.contains("\x1b[32myes\x1b[0m"));
        let out = Output { format: Format::Table, colour: false };
        assert_eq!(table(&out, &["name", "ok"], &rows), "NAME  OK\nacme  yes\nb     no\n");
    }
}
