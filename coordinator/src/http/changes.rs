//! Request bodies that carry an outcome, and the text form of a change
//! (`add <contract> <field> <type>[:<format>]`, `rename <contract> <from> <to>`,
//! `remove <contract> <field>`), used by `change_specs` and by Slack.

use protocol::outcome::{ChangeSpec, Outcome};
use serde::Deserialize;

/// Longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Most changes one outcome may carry.
pub const MAX_CHANGES: usize = 64;

/// Body of `POST /v1/runs`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// One-line title.
    pub title: String,
    /// Free text (default empty).
    #[serde(default)]
    pub description: String,
    /// Structured changes.
    #[serde(default)]
    pub changes: Vec<ChangeSpec>,
    /// Changes in text form, appended after `changes`.
    #[serde(default)]
    pub change_specs: Vec<String>,
}

/// Body of `POST /v1/runs/{id}/approve` and `/reject`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    /// Why, if the person says.
    #[serde(default)]
    pub note: Option<String>,
}

impl SubmitRequest {
    /// The outcome asked for, or what is wrong with the request.
    pub fn into_outcome(self) -> Result<Outcome, String> {
        let title = self.title.trim().to_string();
        if title.is_empty() {
            return Err("`title` must not be empty".into());
        }
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(format!(
                "`title` is longer than {MAX_TITLE_CHARS} characters"
            ));
        }
        let mut changes = self.changes;
        for (i, text) in self.change_specs.iter().enumerate() {
            let change =
                parse_change_spec(text).map_err(|e| format!("`change_specs[{i}]`: {e}"))?;
            changes.push(change);
        }
        if changes.len() > MAX_CHANGES {
            return Err(format!("more than {MAX_CHANGES} changes"));
        }
        Ok(Outcome {
            title,
            description: self.description,
            changes,
        })
    }
}

/// Parse one change in text form. The one place the text syntax is read here; when
/// `ChangeSpec` gets its own `FromStr`, this delegates to it.
pub fn parse_change_spec(text: &str) -> Result<ChangeSpec, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let usage = "expected `add <contract> <field> <type>[:<format>]`, \
                 `rename <contract> <from> <to>` or `remove <contract> <field>`";
    let s = |w: &str| w.to_string();
    match words.as_slice() {
        ["add", contract, field, ty] => {
            let (ty, format) = match ty.split_once(':') {
                Some((t, f)) if !t.is_empty() && !f.is_empty() => (s(t), Some(s(f))),
                Some(_) => return Err(format!("bad type `{ty}`: {usage}")),
                None => (s(ty), None),
            };
            Ok(ChangeSpec::AddField {
                contract: s(contract),
                field: s(field),
                ty,
                format,
            })
        }
        ["rename", contract, from, to] => Ok(ChangeSpec::RenameField {
            contract: s(contract),
            from: s(from),
            to: s(to),
        }),
        ["remove", contract, field] => Ok(ChangeSpec::RemoveField {
            contract: s(contract),
            field: s(field),
        }),
        _ => Err(format!("cannot read `{}`: {usage}", text.trim())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<ChangeSpec, ()>) {
        assert_eq!(
            parse_change_spec(input).map_err(|_| ()),
            expected,
            "{input}"
        );
    }

    #[test]
    fn text_changes_parse() {
        let add = |ty: &str, format: Option<&str>| ChangeSpec::AddField {
            contract: "orders".into(),
            field: "createdAt".into(),
            ty: ty.into(),
            format: format.map(String::from),
        };
        check(
            "add orders createdAt string:date-time",
            Ok(add("string", Some("date-time"))),
        );
        check("  add orders createdAt integer ", Ok(add("integer", None)));
        check(
            "rename orders total amount",
            Ok(ChangeSpec::RenameField {
                contract: "orders".into(),
                from: "total".into(),
                to: "amount".into(),
            }),
        );
        check(
            "remove orders legacy",
            Ok(ChangeSpec::RemoveField {
                contract: "orders".into(),
                field: "legacy".into(),
            }),
        );
        check("add orders createdAt string:", Err(()));
        check("add orders createdAt", Err(()));
        check("drop orders x", Err(()));
        check("", Err(()));
    }

    #[test]
    fn submit_requests_validate() {
        let req = |title: &str, specs: &[&str]| SubmitRequest {
            title: title.into(),
            description: String::new(),
            changes: Vec::new(),
            change_specs: specs.iter().map(|s| s.to_string()).collect(),
        };
        assert!(req("  ", &[]).into_outcome().is_err());
        assert!(req(&"t".repeat(201), &[]).into_outcome().is_err());
        let err = req("ok", &["remove a b", "bogus"])
            .into_outcome()
            .unwrap_err();
        assert!(err.contains("change_specs[1]"), "{err}");
        let outcome = req(" ship it ", &["remove a b"]).into_outcome().unwrap();
        assert_eq!(outcome.title, "ship it");
        assert_eq!(outcome.changes.len(), 1);
    }
}
