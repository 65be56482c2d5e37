//! Where a field is in a YAML spec: the line of a dotted field path (`release.ports[0].port`), for error messages.
//!
//! Spec files are block-style YAML (keys, `- ` items, block scalars); this scanner records the line
//! of every key and item. A path whose field is absent (a missing required field) is located at its
//! nearest present parent. Flow collections (`{...}`, `[...]`) are located at their key.

/// One step of a field path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Splits `root.a.b[2].c["x.y"]` into segments, without the root.
fn parse_path(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = path;
    // The root (`tenant`, `release`) names the document itself.
    let root_end = rest.find(['.', '[']).unwrap_or(rest.len());
    rest = &rest[root_end..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(Segment::Key(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("[\"") {
            let Some(end) = r.find("\"]") else { break };
            out.push(Segment::Key(r[..end].replace("\\\"", "\"")));
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else { break };
            match r[..end].parse() {
                Ok(i) => out.push(Segment::Index(i)),
                Err(_) => out.push(Segment::Key(r[..end].to_string())),
            }
            rest = &r[end + 1..];
        } else {
            break;
        }
    }
    out
}

/// An open node while scanning: its column, its path, and whether it is a sequence item.
struct Frame {
    column: usize,
    path: Vec<Segment>,
    item: bool,
}

/// The key of a `key: value` line (unquoted), or `None` when the text is not a mapping entry.
fn mapping_key(text: &str) -> Option<(String, &str)> {
    let (key, rest) = if let Some(q) = text.strip_prefix('"') {
        let end = q.find('"')?;
        (q[..end].to_string(), q[end + 1..].trim_start())
    } else if let Some(q) = text.strip_prefix('\'') {
        let end = q.find('\'')?;
        (q[..end].to_string(), q[end + 1..].trim_start())
    } else {
        let end = text.find(": ").or_else(|| text.strip_suffix(':').map(str::len))?;
        (text[..end].trim_end().to_string(), &text[end..])
    };
    let value = rest.strip_prefix(':')?;
    if !(value.is_empty() || value.starts_with(' ')) {
        return None;
    }
    Some((key, value.trim()))
}

/// Every key and item of a YAML document with its line (from 1).
fn located_paths(text: &str) -> Vec<(Vec<Segment>, usize)> {
    let mut out = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut counters: std::collections::HashMap<Vec<Segment>, usize> = std::collections::HashMap::new();
    let mut block_scalar_above: Option<usize> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim_start();
        let mut column = raw.len() - trimmed.len();
        if let Some(c) = block_scalar_above {
            if trimmed.is_empty() || column > c {
                continue;
            }
            block_scalar_above = None;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let mut content = trimmed;
        loop {
            if content == "-" || content.starts_with("- ") {
                while stack.last().is_some_and(|f| f.column > column || (f.column == column && f.item)) {
                    stack.pop();
                }
                let parent = stack.last().map(|f| f.path.clone()).unwrap_or_default();
                let counter = counters.entry(parent.clone()).or_insert(0);
                let mut path = parent;
                path.push(Segment::Index(*counter));
                *counter += 1;
                out.push((path.clone(), line));
                stack.push(Frame { column, path, item: true });
                let after = content[1..].trim_start();
                column += content.len() - after.len();
                content = after;
                if content.is_empty() {
                    break;
                }
                continue;
            }
            if let Some((key, value)) = mapping_key(content) {
                while stack.last().is_some_and(|f| f.column >= column) {
                    stack.pop();
                }
                let mut path = stack.last().map(|f| f.path.clone()).unwrap_or_default();
                path.push(Segment::Key(key));
                counters.remove(&path);
                out.push((path.clone(), line));
                if value.starts_with('|') || value.starts_with('>') {
                    block_scalar_above = Some(column);
                }
                stack.push(Frame { column, path, item: false });
            }
            break;
        }
    }
    out
}

/// The line (from 1) of the field at `path` (e.g. `release.resources.limits.cpu`) in the YAML
/// `text`, or of its nearest parent present in the text; `None` when nothing of it is there.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let mut wanted = parse_path(path);
    let located = located_paths(text);
    while !wanted.is_empty() {
        if let Some((_, line)) = located.iter().find(|(p, _)| *p == wanted) {
            return Some(*line);
        }
        wanted.pop();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::line_of;

    const SPEC: &str = "# a release\ntenant: acme\napp: web\nports:\n  - name: http\n    port: 8080\n- name: bad\nconfig:\n  files:\n    index.html: |\n      <h1>x</h1>\n      replicas: 3\n  mountPath: /x\nsteps:\n- setWeight: 10\n- pause: {}\n- setWeight: 50\nreplicas: 2\n";

    #[test]
    fn finds_keys_items_and_nested_fields() {
        assert_eq!(line_of(SPEC, "release.app"), Some(3));
        assert_eq!(line_of(SPEC, "release.ports[0].port"), Some(6));
        assert_eq!(line_of(SPEC, "release.config.files[\"index.html\"]"), Some(10));
        assert_eq!(line_of(SPEC, "release.config.mountPath"), Some(13));
        assert_eq!(line_of(SPEC, "release.steps[2].setWeight"), Some(17));
        // The block scalar's text is not a key.
        assert_eq!(line_of(SPEC, "release.replicas"), Some(18));
    }

    #[test]
    fn an_absent_field_is_located_at_its_parent() {
        assert_eq!(line_of(SPEC, "release.ports[0].protocol"), Some(5));
        assert_eq!(line_of(SPEC, "release.image"), None);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in ["", "-", "- - -", ":", "a:\n  - \n  -", "\"unterminated: x", "a: |\n", "[1, 2]"] {
            let _ = line_of(text, "release.a[0].b");
        }
        assert_eq!(line_of("a:\n  - \n  - b: 1", "x.a[1].b"), Some(3));
    }
}
