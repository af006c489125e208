//! Changes in a repo that writes a contract: the schema, the code that emits the payload, and
//! the tests that list its fields.
//!
//! The habit: in a Python repo a NEW field is spelled snake_case on the wire (`createdAt`
//! becomes `created_at`), as a model-driven agent following local style often does, unless a
//! finding told this repo to fix it; then the exact name is used and the earlier snake_case
//! spelling is renamed.

use serde_json::{Value, json};

use super::names::snake;
use super::text::{add_line, edit_blocks, has_marker, insert_statement, remove_lines, replace_in};
use super::worktree::Worktree;
use super::{SimAgentError, check_top_level};
use crate::outcome::ChangeSpec;

/// Apply one change as the writer; `fixed` is true when a finding names this repo.
pub(crate) fn apply(
    wt: &mut Worktree,
    change: &ChangeSpec,
    fixed: bool,
) -> Result<(), SimAgentError> {
    let contract = change.contract();
    let payload_files = files_with(wt, "fields", contract)?;
    if payload_files.is_empty() {
        return Err(SimAgentError::Edit {
            file: "(worktree)".into(),
            message: format!("no `factory:fields {contract}` edit point for the payload"),
        });
    }
    if let Some(other) = payload_files.iter().find(|f| !f.ends_with(".py")) {
        return Err(SimAgentError::Unsupported(format!(
            "writer code in {other}: only Python payloads are edited"
        )));
    }
    let schema = wt
        .schema_path(contract)?
        .ok_or_else(|| SimAgentError::Edit {
            file: "factory.toml".into(),
            message: format!("this repo does not provide `{contract}`"),
        })?;
    match change {
        ChangeSpec::AddField {
            field, ty, format, ..
        } => {
            check_top_level(field)?;
            let key = snake(field);
            let wire = if fixed { field.clone() } else { key.clone() };
            if wire != key {
                rename(wt, contract, &schema, &key, &wire)?;
            }
            add(wt, contract, &schema, &wire, &key, ty, format.as_deref())
        }
        ChangeSpec::RenameField { from, to, .. } => {
            check_top_level(from)?;
            check_top_level(to)?;
            rename(wt, contract, &schema, from, to)
        }
        ChangeSpec::RemoveField { field, .. } => {
            check_top_level(field)?;
            remove(wt, contract, &schema, field)
        }
        ChangeSpec::RetypeField { field, ty, .. } => {
            check_top_level(field)?;
            wt.edit_json(&schema, |s| {
                if let Some(prop) = s.pointer_mut(&format!("/properties/{field}")) {
                    prop["type"] = json!(ty);
                }
            })
            .map(|_| ())
        }
    }
}

fn files_with(wt: &Worktree, kind: &str, contract: &str) -> Result<Vec<String>, SimAgentError> {
    let mut out = Vec::new();
    for file in wt.marker_files()? {
        if wt
            .read(&file)?
            .is_some_and(|t| has_marker(&t, kind, contract))
        {
            out.push(file);
        }
    }
    Ok(out)
}

fn add(
    wt: &mut Worktree,
    contract: &str,
    schema: &str,
    wire: &str,
    key: &str,
    ty: &str,
    format: Option<&str>,
) -> Result<(), SimAgentError> {
    wt.edit_json(schema, |s| {
        let mut prop = json!({ "type": ty });
        if let Some(format) = format {
            prop["format"] = json!(format);
        }
        if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) {
            props.entry(wire.to_string()).or_insert(prop);
        }
        if let Some(required) = s.get_mut("required").and_then(Value::as_array_mut)
            && !required.iter().any(|r| r == wire)
        {
            required.push(json!(wire));
        }
    })?;
    let is_key = |l: &str| l.starts_with(&format!("\"{wire}\":"));
    for file in files_with(wt, "fields", contract)? {
        wt.edit(&file, |t| {
            edit_blocks(t, "fields", Some(contract), |m, block| {
                let var = m.args.get(1).map_or("record", String::as_str);
                add_line(block, m, &format!("\"{wire}\": {var}[\"{key}\"],"), is_key);
            })
        })?;
    }
    let (value, default) = python_values(ty, format);
    for file in wt.marker_files()? {
        wt.edit(&file, |t| {
            let t = insert_statement(t, "new-record", |m| {
                format!(
                    "{}[\"{key}\"] = {value}",
                    m.args.first().map_or("record", String::as_str)
                )
            });
            insert_statement(&t, "backfill", |m| {
                format!(
                    "{}.setdefault(\"{key}\", {default})",
                    m.args.first().map_or("record", String::as_str)
                )
            })
        })?;
    }
    let listed = format!("\"{wire}\",");
    for file in files_with(wt, "expect-field", contract)? {
        wt.edit(&file, |t| {
            edit_blocks(t, "expect-field", Some(contract), |m, block| {
                add_line(block, m, &listed, |l| l == listed)
            })
        })?;
    }
    Ok(())
}

fn rename(
    wt: &mut Worktree,
    contract: &str,
    schema: &str,
    from: &str,
    to: &str,
) -> Result<(), SimAgentError> {
    wt.edit_json(schema, |s| {
        if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut)
            && !props.contains_key(to)
            && let Some(prop) = props.remove(from)
        {
            props.insert(to.to_string(), prop);
        }
        if let Some(required) = s.get_mut("required").and_then(Value::as_array_mut) {
            for r in required.iter_mut().filter(|r| *r == from) {
                *r = json!(to);
            }
        }
    })?;
    let (old_key, new_key) = (format!("\"{from}\":"), format!("\"{to}\":"));
    for file in files_with(wt, "fields", contract)? {
        wt.edit(&file, |t| {
            edit_blocks(t, "fields", Some(contract), |_, block| {
                replace_in(block, |l| l.starts_with(&old_key), &old_key, &new_key)
            })
        })?;
    }
    let (old_item, new_item) = (format!("\"{from}\","), format!("\"{to}\","));
    for file in files_with(wt, "expect-field", contract)? {
        wt.edit(&file, |t| {
            edit_blocks(t, "expect-field", Some(contract), |_, block| {
                replace_in(block, |l| l == old_item, &old_item, &new_item)
            })
        })?;
    }
    Ok(())
}

fn remove(
    wt: &mut Worktree,
    contract: &str,
    schema: &str,
    field: &str,
) -> Result<(), SimAgentError> {
    wt.edit_json(schema, |s| {
        if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) {
            props.remove(field);
        }
        if let Some(required) = s.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|r| r != field);
        }
    })?;
    let key = format!("\"{field}\":");
    for file in files_with(wt, "fields", contract)? {
        wt.edit(&file, |t| {
            edit_blocks(t, "fields", Some(contract), |_, block| {
                remove_lines(block, |l| l.starts_with(&key))
            })
        })?;
    }
    let item = format!("\"{field}\",");
    for file in files_with(wt, "expect-field", contract)? {
        wt.edit(&file, |t| {
            edit_blocks(t, "expect-field", Some(contract), |_, block| {
                remove_lines(block, |l| l == item)
            })
        })?;
    }
    Ok(())
}

/// Python expressions for a new record's value and for the backfill of old records.
fn python_values(ty: &str, format: Option<&str>) -> (&'static str, &'static str) {
    match (ty, format) {
        ("string", Some("date-time")) => ("now_iso()", "\"2026-01-01T00:00:00Z\""),
        ("string", _) => ("\"\"", "\"\""),
        ("integer", _) => ("0", "0"),
        ("number", _) => ("0.0", "0.0"),
        ("boolean", _) => ("False", "False"),
        ("array", _) => ("[]", "[]"),
        ("object", _) => ("{}", "{}"),
        _ => ("None", "None"),
    }
}
