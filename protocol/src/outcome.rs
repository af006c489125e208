//! An outcome (what a person asks for) and the task an agent worker receives.

use serde::{Deserialize, Serialize};

/// What a person asks the factory for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// One-line title, e.g. "expose the order creation time to the dashboard and the email worker".
    pub title: String,
    /// Free text.
    pub description: String,
    /// Structured changes, each to one field of one contract; empty when the outcome is text only.
    pub changes: Vec<ChangeSpec>,
}

/// A structured change to one field of one contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChangeSpec {
    /// Add a field. `ty` is a JSON Schema type (`string`, `integer`, ...), `format` e.g. `date-time`.
    AddField {
        /// Contract name.
        contract: String,
        /// Field path (wire name), e.g. `createdAt`.
        field: String,
        /// JSON Schema type.
        ty: String,
        /// JSON Schema format, if any.
        format: Option<String>,
    },
    /// Rename a field.
    RenameField {
        /// Contract name.
        contract: String,
        /// Old wire name.
        from: String,
        /// New wire name.
        to: String,
    },
    /// Change a field's type.
    RetypeField {
        /// Contract name.
        contract: String,
        /// Field path.
        field: String,
        /// New JSON Schema type.
        ty: String,
    },
    /// Remove a field.
    RemoveField {
        /// Contract name.
        contract: String,
        /// Field path.
        field: String,
    },
}

impl ChangeSpec {
    /// The contract the change touches.
    pub fn contract(&self) -> &str {
        match self {
            ChangeSpec::AddField { contract, .. }
            | ChangeSpec::RenameField { contract, .. }
            | ChangeSpec::RetypeField { contract, .. }
            | ChangeSpec::RemoveField { contract, .. } => contract,
        }
    }
}

/// The role a repo plays in a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskRole {
    /// The repo writes the contract: change the schema and the code that emits it.
    Writer,
    /// The repo reads the contract: read the new field (and update `reads` in factory.toml).
    Reader,
    /// Anything else (config).
    Other,
}

/// The task file an agent worker receives (JSON at `$FACTORY_TASK_FILE`).
///
/// The agent process contract: the agent runs with its worktree as the working directory, reads
/// the rendered prompt from `$FACTORY_PROMPT_FILE` and this task from `$FACTORY_TASK_FILE`, edits
/// files only inside the worktree, and writes a JSON report to `$FACTORY_REPORT_FILE`
/// (see [`AgentReport`]). Exit code 0 means it believes it finished. The factory commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Run id.
    pub run_id: String,
    /// Task id, unique in the run (e.g. `backend:expand`).
    pub task_id: String,
    /// Repo the task changes.
    pub repo: String,
    /// Role of the repo in the change.
    pub role: TaskRole,
    /// Title of the outcome.
    pub title: String,
    /// What to do, in words.
    pub instructions: String,
    /// The structured changes of the outcome that concern this repo.
    pub changes: Vec<ChangeSpec>,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// Findings from the verifier on the previous attempt, for a retry.
    pub findings: Vec<FindingNote>,
    /// Memory context: facts relevant to this repo and contract, as lines of text.
    pub context: Vec<String>,
}

/// A verifier finding, as an agent sees it on a retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingNote {
    /// Rule id, e.g. `NAMING/casing-mismatch`.
    pub rule: String,
    /// Human-readable message.
    pub message: String,
    /// Which repo should change to fix it, if the finding says so.
    pub fix_repo: Option<String>,
    /// The suggested fix.
    pub fix: Option<String>,
}

/// The report an agent writes to `$FACTORY_REPORT_FILE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReport {
    /// What the agent did, in a few lines.
    pub summary: String,
    /// What the agent's model calls cost, in US dollars.
    pub cost_usd: f64,
}

/// A change spec that does not parse; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change spec `{input}`: {expected}")]
pub struct ChangeSpecParseError {
    /// The text given.
    pub input: String,
    /// What was expected instead.
    pub expected: String,
}

/// The one-line syntax of a change, one of:
///
/// ```text
/// add <contract> <field> <type>[:<format>]    add orders.v1 createdAt string:date-time
/// rename <contract> <from> <to>               rename orders.v1 created_at createdAt
/// retype <contract> <field> <type>            retype orders.v1 total string
/// remove <contract> <field>                   remove orders.v1 legacy_id
/// ```
///
/// `<type>` is a JSON Schema type: string, integer, number, boolean, object or array. Fields may be
/// paths (`customer.name`). [`Display`](std::fmt::Display) writes the same syntax back.
impl std::str::FromStr for ChangeSpec {
    type Err = ChangeSpecParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |expected: &str| ChangeSpecParseError {
            input: s.to_string(),
            expected: expected.to_string(),
        };
        let words: Vec<&str> = s.split_whitespace().collect();
        let ty = |t: &str| {
            const TYPES: [&str; 6] = ["string", "integer", "number", "boolean", "object", "array"];
            if TYPES.contains(&t) {
                Ok(t.to_string())
            } else {
                Err(fail(&format!(
                    "unknown type `{t}`, expected one of {}",
                    TYPES.join(", ")
                )))
            }
        };
        // Only called with indices inside the slice pattern matched below.
        let c = |i: usize| words[i].to_string();
        match words.as_slice() {
            ["add", _, _, t] => {
                let (t, format) = match t.split_once(':') {
                    Some((t, f)) if !f.is_empty() => (t, Some(f.to_string())),
                    Some(_) => return Err(fail("a format after `:`, e.g. string:date-time")),
                    None => (*t, None),
                };
                Ok(ChangeSpec::AddField {
                    contract: c(1),
                    field: c(2),
                    ty: ty(t)?,
                    format,
                })
            }
            ["add", ..] => Err(fail("add <contract> <field> <type>[:<format>]")),
            ["rename", _, _, _] => Ok(ChangeSpec::RenameField {
                contract: c(1),
                from: c(2),
                to: c(3),
            }),
            ["rename", ..] => Err(fail("rename <contract> <from> <to>")),
            ["retype", _, _, t] => Ok(ChangeSpec::RetypeField {
                contract: c(1),
                field: c(2),
                ty: ty(t)?,
            }),
            ["retype", ..] => Err(fail("retype <contract> <field> <type>")),
            ["remove", _, _] => Ok(ChangeSpec::RemoveField {
                contract: c(1),
                field: c(2),
            }),
            ["remove", ..] => Err(fail("remove <contract> <field>")),
            _ => Err(fail(
                "one of add, rename, retype, remove, then the contract and the field",
            )),
        }
    }
}

impl std::fmt::Display for ChangeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChangeSpec::AddField {
                contract,
                field,
                ty,
                format: Some(fmt),
            } => write!(f, "add {contract} {field} {ty}:{fmt}"),
            ChangeSpec::AddField {
                contract,
                field,
                ty,
                format: None,
            } => write!(f, "add {contract} {field} {ty}"),
            ChangeSpec::RenameField { contract, from, to } => {
                write!(f, "rename {contract} {from} {to}")
            }
            ChangeSpec::RetypeField {
                contract,
                field,
                ty,
            } => write!(f, "retype {contract} {field} {ty}"),
            ChangeSpec::RemoveField { contract, field } => write!(f, "remove {contract} {field}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        match (input.parse::<ChangeSpec>(), expected) {
            (Ok(spec), Ok(round)) => assert_eq!(spec.to_string(), round),
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{e}"),
            (got, want) => panic!("{input}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn parses_and_prints_change_specs() {
        check(
            "add orders.v1 createdAt string:date-time",
            Ok("add orders.v1 createdAt string:date-time"),
        );
        check("  add orders.v1 n integer ", Ok("add orders.v1 n integer"));
        check(
            "rename orders.v1 created_at createdAt",
            Ok("rename orders.v1 created_at createdAt"),
        );
        check(
            "retype orders.v1 total string",
            Ok("retype orders.v1 total string"),
        );
        check("remove orders.v1 legacy", Ok("remove orders.v1 legacy"));
        check(
            "add orders.v1 createdAt",
            Err("add <contract> <field> <type>[:<format>]"),
        );
        check("add orders.v1 x strng", Err("unknown type `strng`"));
        check("add orders.v1 x string:", Err("a format after `:`"));
        check("rename orders.v1 a", Err("rename <contract> <from> <to>"));
        check(
            "drop orders.v1 a",
            Err("one of add, rename, retype, remove"),
        );
        check("", Err("one of add"));
    }

    #[test]
    fn structured_form_is_kept() {
        let spec: ChangeSpec = "add orders.v1 createdAt string:date-time".parse().unwrap();
        assert_eq!(
            spec,
            ChangeSpec::AddField {
                contract: "orders.v1".into(),
                field: "createdAt".into(),
                ty: "string".into(),
                format: Some("date-time".into())
            }
        );
    }
}
