//! Findings: what a contract check reports, with a rule, a severity, where and how to fix it.

use serde::{Deserialize, Serialize};

/// Rule categories, merged from oasdiff, buf breaking, Confluent modes and squawk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    /// A field is there or not.
    Existence,
    /// A field is always sent or may be omitted.
    Requiredness,
    /// A field may be `null`.
    Nullability,
    /// A value's type or format.
    Type,
    /// Bounds: minimum, maximum, lengths.
    Constraints,
    /// Enumerated values.
    Values,
    /// Arrays, objects and unions.
    Structure,
    /// Field names across a boundary.
    Naming,
}

impl Category {
    /// The category's name as it appears in rule ids.
    pub fn name(self) -> &'static str {
        match self {
            Category::Existence => "EXISTENCE",
            Category::Requiredness => "REQUIREDNESS",
            Category::Nullability => "NULLABILITY",
            Category::Type => "TYPE",
            Category::Constraints => "CONSTRAINTS",
            Category::Values => "VALUES",
            Category::Structure => "STRUCTURE",
            Category::Naming => "NAMING",
        }
    }
}

/// A rule: a category and a short name, e.g. `NAMING/casing-mismatch`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    /// The category.
    pub category: Category,
    /// Short kebab-case name inside the category.
    pub name: String,
}

impl Rule {
    /// A rule of a category.
    pub fn new(category: Category, name: &str) -> Rule {
        Rule {
            category,
            name: name.to_string(),
        }
    }

    /// The rule id, `CATEGORY/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.category.name(), self.name)
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Safe, reported for the record.
    Info,
    /// May break a reader nobody knows about, or one that did not say what it copes with.
    Warning,
    /// Breaks a known reader.
    Error,
}

/// A place in a contract: the repo, the contract, the field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Repo name.
    pub repo: String,
    /// Contract name.
    pub contract: String,
    /// Field path, `a.b` / `items[].sku`; empty for the whole payload.
    pub path: String,
}

/// A suggested fix, for one side of the boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// The repo that would change.
    pub repo: String,
    /// What to change, in words.
    pub suggestion: String,
}

/// One finding of a contract check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule that fired.
    pub rule: Rule,
    /// How bad it is.
    pub severity: Severity,
    /// The writer's side.
    pub writer: Location,
    /// The reader's side, when a reader is involved.
    pub reader: Option<Location>,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Fixes, one per side that could change.
    pub fixes: Vec<Fix>,
}

/// Who is on each side of the flow being checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ctx {
    /// Contract name.
    pub contract: String,
    /// Writer repo.
    pub writer: String,
    /// Reader repo, when checking one flow.
    pub reader: Option<String>,
}

impl Ctx {
    /// A context for one flow.
    pub fn flow(contract: &str, writer: &str, reader: &str) -> Ctx {
        Ctx {
            contract: contract.into(),
            writer: writer.into(),
            reader: Some(reader.into()),
        }
    }

    /// A finding at a writer path and, when a reader is known, the reader path.
    pub(crate) fn finding(
        &self,
        rule: Rule,
        severity: Severity,
        writer_path: &str,
        reader_path: Option<&str>,
        message: String,
    ) -> Finding {
        let reader = match (&self.reader, reader_path) {
            (Some(repo), Some(p)) => Some(Location {
                repo: repo.clone(),
                contract: self.contract.clone(),
                path: p.into(),
            }),
            _ => None,
        };
        Finding {
            rule,
            severity,
            writer: Location {
                repo: self.writer.clone(),
                contract: self.contract.clone(),
                path: writer_path.into(),
            },
            reader,
            message,
            fixes: Vec::new(),
        }
    }

    /// The reader's repo name, or a placeholder for messages.
    pub(crate) fn reader_name(&self) -> &str {
        self.reader.as_deref().unwrap_or("the reader")
    }
}

/// Joins a parent path and a field name.
pub(crate) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests {
    use super::*;

    #[test]
    fn rule_ids_and_serde() {
        assert_eq!(
            Rule::new(Category::Naming, "casing-mismatch").id(),
            "NAMING/casing-mismatch"
        );
        let f = Ctx::flow("c", "w", "r").finding(
            Rule::new(Category::Type, "changed"),
            Severity::Error,
            "a",
            Some("a"),
            "m".into(),
        );
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["rule"]["category"], "TYPE");
        assert_eq!(json["reader"]["repo"], "r");
        assert!(Severity::Error > Severity::Warning);
    }
}
