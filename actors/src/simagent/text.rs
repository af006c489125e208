//! Line-based edits at `factory:` marker comments.
//!
//! A *list marker* closes a literal (`[`...`]` or `{`...`}`): its block is the lines between
//! the literal's opening line and the marker. A *statement marker* stands where a statement
//! goes. Every edit first checks whether it is already done, so re-running is a no-op.

/// A parsed marker comment: `# factory:fields orders.v1 order` gives kind `fields` and args
/// `["orders.v1", "order"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    /// What the marker is for.
    pub kind: String,
    /// Its arguments; the first is usually a contract.
    pub args: Vec<String>,
    /// The marker line's leading whitespace, used for inserted lines.
    pub indent: String,
}

/// The marker on `line`, if it is a marker comment.
pub(crate) fn parse_marker(line: &str) -> Option<Marker> {
    let trimmed = line.trim_start();
    let rest = trimmed
        .strip_prefix("# factory:")
        .or_else(|| trimmed.strip_prefix("// factory:"))?;
    let mut words = rest.split_whitespace().map(str::to_string);
    let kind = words.next()?;
    let indent = line
        .get(..line.len() - trimmed.len())
        .unwrap_or("")
        .to_string();
    Some(Marker {
        kind,
        args: words.collect(),
        indent,
    })
}

/// Whether `text` has a marker of `kind` for `contract`.
pub(crate) fn has_marker(text: &str, kind: &str, contract: &str) -> bool {
    text.lines()
        .filter_map(parse_marker)
        .any(|m| m.kind == kind && m.args.first().map(String::as_str) == Some(contract))
}

/// Apply `edit` to the block of every list marker of `kind` for `contract` (any contract when
/// `None`); returns the new text.
pub(crate) fn edit_blocks(
    text: &str,
    kind: &str,
    contract: Option<&str>,
    mut edit: impl FnMut(&Marker, &mut Vec<String>),
) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut i = 0;
    while i < lines.len() {
        let marker = lines.get(i).and_then(|l| parse_marker(l));
        if let Some(m) = marker.filter(|m| {
            m.kind == kind && contract.is_none_or(|c| m.args.first().map(String::as_str) == Some(c))
        }) {
            let start = block_start(&lines, i);
            let mut block: Vec<String> = lines
                .get(start..i)
                .map(<[String]>::to_vec)
                .unwrap_or_default();
            edit(&m, &mut block);
            let len = block.len();
            lines.splice(start..i, block);
            i = start + len;
        }
        i += 1;
    }
    rejoin(text, lines)
}

/// Insert `statement` before every statement marker of `kind`, unless the file has it already.
/// `statement` receives the marker's arguments.
pub(crate) fn insert_statement(
    text: &str,
    kind: &str,
    statement: impl Fn(&Marker) -> String,
) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(m) = parse_marker(line).filter(|m| m.kind == kind) {
            let wanted = statement(&m);
            if !text.lines().any(|l| l.trim() == wanted) {
                lines.push(format!("{}{wanted}", m.indent));
            }
        }
        lines.push(line.to_string());
    }
    rejoin(text, lines)
}

/// Add `line` (indented like the marker) unless a block line matches `present`.
pub(crate) fn add_line(
    block: &mut Vec<String>,
    m: &Marker,
    line: &str,
    present: impl Fn(&str) -> bool,
) {
    if !block.iter().any(|l| present(l.trim())) {
        block.push(format!("{}{line}", m.indent));
    }
}

/// Replace `from` by `to` in the block lines matching `target`.
pub(crate) fn replace_in(
    block: &mut [String],
    target: impl Fn(&str) -> bool,
    from: &str,
    to: &str,
) {
    for line in block.iter_mut().filter(|l| target(l.trim())) {
        *line = line.replacen(from, to, 1);
    }
}

/// Remove the block lines matching `target`.
pub(crate) fn remove_lines(block: &mut Vec<String>, target: impl Fn(&str) -> bool) {
    block.retain(|l| !target(l.trim()));
}

/// The first line inside the literal a list marker at `marker` closes.
fn block_start(lines: &[String], marker: usize) -> usize {
    (0..marker)
        .rev()
        .find(|&i| {
            lines
                .get(i)
                .is_some_and(|l| l.trim_end().ends_with(['[', '{', '(']))
        })
        .map_or(0, |i| i + 1)
}

fn rejoin(original: &str, lines: Vec<String>) -> String {
    let mut text = lines.join("\n");
    if original.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Edit the one-line `reads = [...]` of the `[[consumes]]` entry for `contract` in a
/// `factory.toml`; `edit` changes the list. Returns `None` if there is no such entry.
pub(crate) fn edit_reads(
    text: &str,
    contract: &str,
    edit: impl FnOnce(&mut Vec<String>),
) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let entry = lines
        .iter()
        .position(|l| l.trim() == format!("contract = \"{contract}\""))?;
    let reads = (entry..lines.len())
        .take_while(|&i| {
            i == entry
                || !lines
                    .get(i)
                    .is_some_and(|l| l.trim_start().starts_with('['))
        })
        .find(|&i| {
            lines
                .get(i)
                .is_some_and(|l| l.trim_start().starts_with("reads"))
        })?;
    let line = lines.get(reads)?;
    let inner = line.split_once('[')?.1.rsplit_once(']')?.0;
    let mut list: Vec<String> = inner
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    edit(&mut list);
    let quoted: Vec<String> = list.iter().map(|s| format!("\"{s}\"")).collect();
    let new_line = format!("reads = [{}]", quoted.join(", "));
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    if let Some(slot) = out.get_mut(reads) {
        *slot = new_line;
    }
    Some(rejoin(text, out))
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
