//! Changes in a repo that reads a contract: read the field in code, show it in tests and
//! fixtures, and declare it in `reads` of `factory.toml`. Readers always use the exact name
//! from the change spec.

use serde_json::{Value, json};

use super::names::label;
use super::text::{
    Marker, add_line, edit_blocks, edit_reads, has_marker, remove_lines, replace_in,
};
use super::worktree::Worktree;
use super::{SimAgentError, check_top_level};
use crate::outcome::ChangeSpec;

/// Apply one change as a reader. A contract this repo has no edit point for is skipped
/// (returns false), unless the repo declares that it reads it: then it is an error.
pub(crate) fn apply(wt: &mut Worktree, change: &ChangeSpec) -> Result<bool, SimAgentError> {
    let contract = change.contract();
    let mut code_files = Vec::new();
    for file in wt.marker_files()? {
        if wt
            .read(&file)?
            .is_some_and(|t| has_marker(&t, "reads", contract))
        {
            code_files.push(file);
        }
    }
    if code_files.is_empty() {
        let declared = wt
            .read("factory.toml")?
            .and_then(|t| edit_reads(&t, contract, |_| {}))
            .is_some();
        if declared {
            return Err(SimAgentError::Edit {
                file: "(worktree)".into(),
                message: format!("no `factory:reads {contract}` edit point in the code"),
            });
        }
        return Ok(false);
    }
    let fixture = format!("tests/fixtures/{contract}.json");
    match change {
        ChangeSpec::AddField {
            field, ty, format, ..
        } => {
            check_top_level(field)?;
            let (sample, text) = sample(ty, format.as_deref());
            let name = label(field);
            for file in &code_files {
                wt.edit(file, |t| {
                    edit_blocks(t, "reads", Some(contract), |m, block| {
                        let (line, needle) = read_line(file, m, field, &name);
                        add_line(block, m, &line, |l| l.contains(&needle));
                    })
                })?;
            }
            let expected = format!("\"{name}: {text}\",");
            for file in wt.marker_files()? {
                wt.edit(&file, |t| {
                    edit_blocks(t, "expect-text", Some(contract), |m, block| {
                        add_line(block, m, &expected, |l| {
                            l.starts_with(&format!("\"{name}: "))
                        })
                    })
                })?;
            }
            wt.edit_json(&fixture, |v| {
                each_object(v, |o| {
                    o.entry(field.clone()).or_insert(sample.clone());
                })
            })?;
            edit_declared_reads(wt, contract, |reads| {
                if !reads.contains(field) {
                    reads.push(field.clone());
                }
            })?;
        }
        ChangeSpec::RenameField { from, to, .. } => {
            check_top_level(from)?;
            check_top_level(to)?;
            for file in &code_files {
                wt.edit(file, |t| {
                    edit_blocks(t, "reads", Some(contract), |m, block| {
                        let (old, new) = (read_needle(file, m, from), read_needle(file, m, to));
                        replace_in(block, |l| l.contains(&old), &old, &new);
                    })
                })?;
            }
            wt.edit_json(&fixture, |v| {
                each_object(v, |o| {
                    if !o.contains_key(to)
                        && let Some(value) = o.remove(from)
                    {
                        o.insert(to.clone(), value);
                    }
                })
            })?;
            edit_declared_reads(wt, contract, |reads| {
                for r in reads.iter_mut().filter(|r| *r == from) {
                    *r = to.clone();
                }
            })?;
        }
        ChangeSpec::RemoveField { field, .. } => {
            check_top_level(field)?;
            for file in &code_files {
                wt.edit(file, |t| {
                    edit_blocks(t, "reads", Some(contract), |m, block| {
                        let needle = read_needle(file, m, field);
                        remove_lines(block, |l| l.contains(&needle));
                    })
                })?;
            }
            let prefix = format!("\"{}: ", label(field));
            for file in wt.marker_files()? {
                wt.edit(&file, |t| {
                    edit_blocks(t, "expect-text", Some(contract), |_, block| {
                        remove_lines(block, |l| l.starts_with(&prefix))
                    })
                })?;
            }
            edit_declared_reads(wt, contract, |reads| reads.retain(|r| r != field))?;
        }
        // A type change needs no edit in a reader that only shows the value.
        ChangeSpec::RetypeField { .. } => return Ok(false),
    }
    Ok(true)
}

/// The line that reads `field` in a code file, and the text that shows it is already read.
fn read_line(file: &str, m: &Marker, field: &str, name: &str) -> (String, String) {
    let needle = read_needle(file, m, field);
    if file.ends_with(".py") {
        (format!("f\"{name}: {{{needle}}}\","), needle)
    } else {
        (format!("{needle} \"{name}\"],"), needle)
    }
}

/// How code in `file` refers to `field`: `event['x']` in Python, `["x",` in a JS field table.
fn read_needle(file: &str, m: &Marker, field: &str) -> String {
    if file.ends_with(".py") {
        format!(
            "{}['{field}']",
            m.args.get(1).map_or("record", String::as_str)
        )
    } else {
        format!("[\"{field}\",")
    }
}

fn edit_declared_reads(
    wt: &mut Worktree,
    contract: &str,
    edit: impl FnOnce(&mut Vec<String>),
) -> Result<(), SimAgentError> {
    let mut edit = Some(edit);
    wt.edit("factory.toml", |t| {
        let edit = edit.take();
        edit.and_then(|e| edit_reads(t, contract, e))
            .unwrap_or_else(|| t.to_string())
    })
}

fn each_object(value: &mut Value, mut f: impl FnMut(&mut serde_json::Map<String, Value>)) {
    match value {
        Value::Object(o) => f(o),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(f),
        _ => {}
    }
}

/// A sample value of a type for fixtures, and how Python prints it.
fn sample(ty: &str, format: Option<&str>) -> (Value, &'static str) {
    match (ty, format) {
        ("string", Some("date-time")) => (json!("2026-01-01T00:00:00Z"), "2026-01-01T00:00:00Z"),
        ("string", _) => (json!("example"), "example"),
        ("integer", _) => (json!(7), "7"),
        ("number", _) => (json!(1.5), "1.5"),
        ("boolean", _) => (json!(true), "True"),
        _ => (Value::Null, "None"),
    }
}
