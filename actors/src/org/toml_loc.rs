//! Turning TOML byte offsets into `file:line:col` and dotted field paths.
//!
//! The toml crate reports a byte span with each error but not the key path, so the path is
//! recovered from the text: the enclosing `[table]` or `[[array]]` header (with its index)
//! plus the key written on the error's line.

use serde::de::DeserializeOwned;

use super::error::{Location, OrgError};

/// Location of a byte offset in `text`.
pub(crate) fn location(text: &str, file: &str, offset: usize) -> Location {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    // Manifests are small; a file with more than u32::MAX lines is not one.
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Location {
        file: file.into(),
        line: clamp(line),
        col: clamp(col),
    }
}

/// Dotted path of the field at `offset`, e.g. `provides[1].schema`.
pub(crate) fn field_path(text: &str, offset: usize) -> String {
    let mut header = String::new();
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let end = start + line.len();
        let trimmed = line.trim();
        let is_header = trimmed.starts_with('[');
        if is_header {
            header = header_path(trimmed, &mut counts);
        }
        if offset < end || end == text.len() {
            if is_header {
                return header;
            }
            let key = trimmed
                .split('=')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"');
            return join(&header, key);
        }
        start = end;
    }
    header
}

/// The path a header line opens: `[[provides]]` the second time gives `provides[1]`.
fn header_path(trimmed: &str, counts: &mut Vec<(String, usize)>) -> String {
    let is_array = trimmed.starts_with("[[");
    let name = trimmed
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if !is_array {
        return name;
    }
    let index = match counts.iter_mut().find(|(n, _)| *n == name) {
        Some((_, count)) => {
            *count += 1;
            *count - 1
        }
        None => {
            counts.push((name.clone(), 1));
            0
        }
    };
    format!("{name}[{index}]")
}

fn join(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}.{key}"),
    }
}

/// Deserialize `text`, mapping any error to [`OrgError::Invalid`] with a location and path.
pub(crate) fn from_toml<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, OrgError> {
    toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let offset = span.start;
        let mut field = field_path(text, offset);
        let message = e.message().trim().to_string();
        // A missing field is reported at its table's header, or with an empty span for a
        // top-level key, so name the field itself.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            if span.is_empty() {
                field = name.to_string();
            } else if text.get(offset..).is_some_and(|t| t.starts_with('[')) {
                field = join(&field, name);
            }
        }
        OrgError::Invalid {
            at: location(text, file, offset),
            field,
            message,
        }
    })
}

/// Location of a spanned value.
pub(crate) fn at<T>(text: &str, file: &str, v: &toml::Spanned<T>) -> Location {
    location(text, file, v.span().start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, needle: &str, expected: (&str, u32, u32)) {
        let offset = text.find(needle).expect("needle in text");
        let loc = location(text, "f", offset);
        assert_eq!(
            (field_path(text, offset).as_str(), loc.line, loc.col),
            expected
        );
    }

    #[test]
    fn paths_and_positions() {
        let text = "[repo]\nkind = \"x\"\n[[provides]]\ncontract = \"a\"\n[[provides]]\n  schema = \"s\"\n";
        check(text, "kind", ("repo.kind", 2, 1));
        check(text, "\"x\"", ("repo.kind", 2, 8));
        check(text, "contract", ("provides[0].contract", 4, 1));
        check(text, "schema", ("provides[1].schema", 6, 3));
        check(text, "[repo]", ("repo", 1, 1));
    }
}
