//! The core question of every check: can the reader take every value the writer can send?
//! (L(writer) ⊆ L(reader).) Differences come back as issues with the rule that names them.

use super::finding::{Category, Rule, Severity, join};
use super::shape::{Kind, Scalar, Shape};

/// One way a writer's shape escapes what a reader assumes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Issue {
    /// The rule.
    pub rule: Rule,
    /// Severity for a reader that relies on the value.
    pub severity: Severity,
    /// Path of the value.
    pub path: String,
    /// What differs.
    pub message: String,
}

fn issue(cat: Category, name: &str, sev: Severity, path: &str, message: String) -> Issue {
    Issue {
        rule: Rule::new(cat, name),
        severity: sev,
        path: path.to_string(),
        message,
    }
}

/// Issues where `writer` can send a value `reader` does not accept. `top_null` says whether to
/// judge nullability at the top (callers that track it separately pass `false`).
pub(crate) fn escapes(reader: &Shape, writer: &Shape, path: &str, top_null: bool) -> Vec<Issue> {
    let mut out = Vec::new();
    if top_null && writer.nullable && !reader.nullable {
        out.push(issue(
            Category::Nullability,
            "may-be-null",
            Severity::Error,
            path,
            format!("`{path}` may be null"),
        ));
    }
    match (&reader.kind, &writer.kind) {
        (Kind::Any, _) => {}
        (_, Kind::Any) => out.push(issue(
            Category::Type,
            "unconstrained",
            Severity::Warning,
            path,
            format!(
                "`{path}` may be anything, the reader assumes {}",
                reader.type_name()
            ),
        )),
        (_, Kind::Union { members }) => {
            for m in members {
                out.extend(escapes(
                    reader,
                    &Shape {
                        nullable: false,
                        ..m.clone()
                    },
                    path,
                    false,
                ));
            }
        }
        (Kind::Union { members }, _) => {
            let fits = members.iter().any(|m| {
                escapes(m, writer, path, false)
                    .iter()
                    .all(|i| i.severity < Severity::Error)
            });
            if !fits {
                out.push(issue(
                    Category::Structure,
                    "union-member",
                    Severity::Error,
                    path,
                    format!(
                        "`{path}` is {}, which none of the reader's alternatives {} takes",
                        writer.type_name(),
                        reader.type_name()
                    ),
                ));
            }
        }
        (_, Kind::Null) => {
            if !reader.nullable {
                out.push(issue(
                    Category::Nullability,
                    "may-be-null",
                    Severity::Error,
                    path,
                    format!("`{path}` is always null"),
                ));
            }
        }
        (Kind::Scalar(r), Kind::Scalar(w)) => scalar(r, w, path, &mut out),
        (Kind::Array { items: r }, Kind::Array { items: w }) => {
            out.extend(escapes(r, w, &format!("{path}[]"), true))
        }
        (Kind::Object(r), Kind::Object(w)) => {
            for (name, rf) in &r.fields {
                let p = join(path, name);
                match w.fields.get(name) {
                    None if rf.required => out.push(issue(
                        Category::Existence,
                        "missing",
                        Severity::Error,
                        &p,
                        format!("`{p}` is not sent"),
                    )),
                    None => {}
                    Some(wf) => {
                        if rf.required && !wf.required {
                            out.push(issue(
                                Category::Requiredness,
                                "may-be-omitted",
                                Severity::Error,
                                &p,
                                format!("`{p}` may be omitted"),
                            ));
                        }
                        out.extend(escapes(&rf.shape, &wf.shape, &p, true));
                    }
                }
            }
            if !r.open {
                for name in w.fields.keys().filter(|n| !r.fields.contains_key(*n)) {
                    let p = join(path, name);
                    out.push(issue(
                        Category::Structure,
                        "closed-object",
                        Severity::Error,
                        &p,
                        format!("`{p}` is sent but the reader's object is closed"),
                    ));
                }
            }
        }
        (Kind::Array { .. }, _) | (_, Kind::Array { .. }) => out.push(issue(
            Category::Structure,
            "array-mismatch",
            Severity::Error,
            path,
            format!(
                "`{path}` is {}, the reader assumes {}",
                writer.type_name(),
                reader.type_name()
            ),
        )),
        _ => out.push(issue(
            Category::Type,
            "type-mismatch",
            Severity::Error,
            path,
            format!(
                "`{path}` is {}, the reader assumes {}",
                writer.type_name(),
                reader.type_name()
            ),
        )),
    }
    out
}

fn scalar(r: &Scalar, w: &Scalar, path: &str, out: &mut Vec<Issue>) {
    let mut push = |cat, name: &str, message: String| {
        out.push(issue(cat, name, Severity::Error, path, message))
    };
    if !w.ty.fits(r.ty) {
        push(
            Category::Type,
            "type-mismatch",
            format!(
                "`{path}` is {}, the reader assumes {}",
                w.ty.name(),
                r.ty.name()
            ),
        );
        return;
    }
    if let Some(rf) = &r.format
        && w.format.as_ref() != Some(rf)
    {
        let wf = w.format.as_deref().unwrap_or("no format");
        push(
            Category::Type,
            "format-mismatch",
            format!("`{path}` has {wf}, the reader assumes format {rf}"),
        );
    }
    if let Some(rv) = &r.values {
        match &w.values {
            None => push(
                Category::Values,
                "enum-widened",
                format!(
                    "`{path}` may take any value, the reader knows only {}",
                    list(rv)
                ),
            ),
            Some(wv) => {
                let extra: Vec<_> = wv.iter().filter(|v| !rv.contains(v)).cloned().collect();
                if !extra.is_empty() {
                    push(
                        Category::Values,
                        "enum-widened",
                        format!("`{path}` may be {}, unknown to the reader", list(&extra)),
                    );
                }
            }
        }
    }
    let lower = |rb: Option<f64>, wb: Option<f64>| rb.is_some_and(|r| wb.is_none_or(|w| w < r));
    let upper = |rb: Option<f64>, wb: Option<f64>| rb.is_some_and(|r| wb.is_none_or(|w| w > r));
    let as_f = |v: Option<u64>| v.map(|n| n as f64);
    if lower(r.minimum, w.minimum) || upper(r.maximum, w.maximum) {
        push(
            Category::Constraints,
            "range-widened",
            format!("`{path}` may fall outside the reader's range"),
        );
    }
    if lower(as_f(r.min_length), as_f(w.min_length))
        || upper(as_f(r.max_length), as_f(w.max_length))
    {
        push(
            Category::Constraints,
            "length-widened",
            format!("`{path}` may be longer or shorter than the reader allows"),
        );
    }
}

fn list(values: &[serde_json::Value]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
