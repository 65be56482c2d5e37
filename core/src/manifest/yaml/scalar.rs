//! How one scalar is written: the style a string needs (plain, quoted, literal block) to read back as the same string, and the text of numbers.

use std::fmt::Write as _;

const SPACES: &str = "                                                                ";

/// Appends `n` spaces.
pub(super) fn push_spaces(out: &mut String, mut n: usize) {
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

/// Formats an unsigned integer into `buf`.
pub(super) fn fmt_u64(buf: &mut [u8; 20], mut v: u64) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or_default()
}

/// A float as YAML: `.nan`, `.inf`, `-.inf`, or a decimal that always reads back as a float (`1.0`, `1.0e+16`).
pub(super) fn fmt_float(v: f64, debug: &dyn std::fmt::Debug) -> String {
    if v.is_nan() {
        return ".nan".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let s = format!("{debug:?}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let dot = if mantissa.contains('.') { "" } else { ".0" };
            let sign = if exp.starts_with('-') { "" } else { "+" };
            format!("{mantissa}{dot}e{sign}{exp}")
        }
        None if !s.contains('.') => s + ".0",
        None => s,
    }
}

/// Characters YAML allows unescaped (libyaml's `IS_PRINTABLE`, minus the exotic line breaks).
fn printable(c: char) -> bool {
    match c {
        '\n' | ' '..='~' => true,
        '\u{A0}'..='\u{D7FF}' => !matches!(c, '\u{2028}' | '\u{2029}'),
        '\u{E000}'..='\u{FFFD}' => c != '\u{FEFF}',
        '\u{10000}'..='\u{10FFFF}' => true,
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// Strings a YAML 1.1 or 1.2 reader could take for null, a bool, a number, a timestamp or a merge key.
fn looks_typed(s: &str) -> bool {
    if matches!(
        s,
        "~" | "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | "y"
            | "Y"
            | "n"
            | "N"
            | "<<"
            | "="
    ) {
        return true;
    }
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let Some(&first) = t.as_bytes().first() else { return false };
    if t.eq_ignore_ascii_case(".inf") || t.eq_ignore_ascii_case(".nan") || matches!(t.get(..2), Some("0x" | "0X" | "0o" | "0O" | "0b" | "0B")) {
        return true;
    }
    // Decimal numbers, exponents, sexagesimals (`1:30`) and timestamps; hex digests like `9f79acaa72` stay plain.
    (first.is_ascii_digit() || first == b'.')
        && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'e' | b'E' | b'_' | b'.' | b':' | b'+' | b'-' | b' ' | b't' | b'T' | b'z' | b'Z'))
}

/// Picks a scalar style like libyaml's analysis in block context, plus the type check `serde_yaml` does.
pub(super) fn choose_style(s: &str, key: bool) -> Style {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else { return Style::Single };
    // Fast path for the common names, labels and paths: nothing to analyse but the keywords.
    if first.is_ascii_alphabetic() && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'/' | b'_')) {
        return if looks_typed(s) { Style::Single } else { Style::Plain };
    }
    let mut indicators = s.starts_with("---") || s.starts_with("...");
    let (mut breaks, mut space_break, mut prev_space) = (false, false, false);
    let mut preceded_by_ws = true;
    for (i, c) in s.char_indices() {
        let followed_by_ws = matches!(bytes.get(i + c.len_utf8()), None | Some(b' ' | b'\t' | b'\n' | b'\r'));
        match c {
            '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' if i == 0 => indicators = true,
            '?' | '-' if i == 0 && followed_by_ws => indicators = true,
            ':' if followed_by_ws => indicators = true,
            '#' if preceded_by_ws => indicators = true,
            _ => {}
        }
        match c {
            ' ' => prev_space = true,
            '\n' => {
                breaks = true;
                space_break |= prev_space;
                prev_space = false;
            }
            c if !printable(c) => return Style::Double,
            _ => prev_space = false,
        }
        preceded_by_ws = matches!(c, ' ' | '\n');
    }
    if space_break {
        return Style::Double;
    }
    if breaks {
        return if key || first == b' ' || first == b'\n' || last == b' ' { Style::Double } else { Style::Literal };
    }
    if first == b' ' || last == b' ' || indicators || looks_typed(s) {
        return Style::Single;
    }
    Style::Plain
}

pub(super) fn write_single(out: &mut String, s: &str) {
    out.push('\'');
    let mut parts = s.split('\'');
    if let Some(part) = parts.next() {
        out.push_str(part);
    }
    for part in parts {
        out.push_str("''");
        out.push_str(part);
    }
    out.push('\'');
}

pub(super) fn write_double(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\0' => "\\0",
            '\u{7}' => "\\a",
            '\u{8}' => "\\b",
            '\t' => "\\t",
            '\n' => "\\n",
            '\u{B}' => "\\v",
            '\u{C}' => "\\f",
            '\r' => "\\r",
            '\u{1B}' => "\\e",
            '\u{85}' => "\\N",
            '\u{2028}' => "\\L",
            '\u{2029}' => "\\P",
            c if !printable(c) => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        start = i + c.len_utf8();
        if esc.is_empty() {
            let code = u32::from(c);
            let _ = if code < 0x100 { write!(out, "\\x{code:02X}") } else { write!(out, "\\u{code:04X}") };
        } else {
            out.push_str(esc);
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A literal block (`|`, `|-` or `|+`), header and lines, content at `indent`.
pub(super) fn write_literal(out: &mut String, s: &str, indent: usize) {
    let (header, body) = match s.strip_suffix('\n') {
        None => ("|-", s),
        Some(body) if body.ends_with('\n') => ("|+", body),
        Some(body) => ("|", body),
    };
    out.push_str(header);
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            push_spaces(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}
