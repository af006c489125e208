//! Prompt rendering: a skill is a template with `{{placeholder}}`s filled from the task.

use super::AgentError;
use crate::outcome::{ChangeSpec, FindingNote, TaskRole, TaskSpec};

/// The placeholders a template may use. Anything else between `{{` and `}}` is an error, so a typo
/// in a skill fails loudly instead of sending the agent an incomplete prompt.
pub const PLACEHOLDERS: [&str; 7] = [
    "title",
    "instructions",
    "repo",
    "role",
    "changes",
    "findings",
    "context",
];

/// The default skill: what every agent is told when no learned skill replaces it.
pub const DEFAULT_TEMPLATE: &str = "\
You are working in a git checkout of the repository `{{repo}}`, which plays the role of {{role}} \
in a change that spans several repositories.

Goal: {{title}}

{{instructions}}

Structured changes that concern this repository:
{{changes}}

Findings from the verifier on the previous attempt (empty on a first attempt):
{{findings}}

What is known about this repository and its contracts:
{{context}}

Rules:
- Edit files only inside the current directory. Do not commit, push or switch branches: the factory \
commits your changes.
- Keep the change minimal and consistent with the code around it; update tests and schemas with the code.
- When done, write a JSON report to the file named by $FACTORY_REPORT_FILE:
  {\"summary\": \"<what you did, in a few lines>\", \"cost_usd\": <what your model calls cost>}
";

/// Renders `template` for `task`. Values are inserted once and never re-scanned, so text in a task
/// cannot inject placeholders. `{{ name }}` with spaces inside the braces is accepted.
pub fn render(template: &str, task: &TaskSpec) -> Result<String, AgentError> {
    let mut out = String::with_capacity(template.len() + task.instructions.len());
    let mut rest = template;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or(AgentError::UnclosedPlaceholder { at: offset + open })?;
        let name = after[..close].trim();
        out.push_str(&value(name, task)?);
        let consumed = open + 2 + close + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

fn value(name: &str, task: &TaskSpec) -> Result<String, AgentError> {
    Ok(match name {
        "title" => task.title.clone(),
        "instructions" => task.instructions.clone(),
        "repo" => task.repo.clone(),
        "role" => role_text(task.role).to_string(),
        "changes" => lines(task.changes.iter().map(change_text)),
        "findings" => lines(task.findings.iter().map(finding_text)),
        "context" => lines(task.context.iter().cloned()),
        _ => {
            return Err(AgentError::UnknownPlaceholder {
                name: name.to_string(),
                known: PLACEHOLDERS.join(", "),
            });
        }
    })
}

fn role_text(role: TaskRole) -> &'static str {
    match role {
        TaskRole::Writer => "writer (it produces the contract)",
        TaskRole::Reader => "reader (it consumes the contract)",
        TaskRole::Other => "supporting repository",
    }
}

/// One `- item` per line; nothing at all for an empty list, so a missing value renders empty.
fn lines(items: impl Iterator<Item = String>) -> String {
    items
        .map(|item| format!("- {item}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn change_text(change: &ChangeSpec) -> String {
    match change {
        ChangeSpec::AddField {
            contract,
            field,
            ty,
            format,
        } => match format {
            Some(format) => {
                format!("add field `{field}` ({ty}, format {format}) to contract `{contract}`")
            }
            None => format!("add field `{field}` ({ty}) to contract `{contract}`"),
        },
        ChangeSpec::RenameField { contract, from, to } => {
            format!("rename field `{from}` to `{to}` in contract `{contract}`")
        }
        ChangeSpec::RetypeField {
            contract,
            field,
            ty,
        } => format!("change the type of field `{field}` to {ty} in contract `{contract}`"),
        ChangeSpec::RemoveField { contract, field } => {
            format!("remove field `{field}` from contract `{contract}`")
        }
    }
}

fn finding_text(finding: &FindingNote) -> String {
    let mut text = format!("[{}] {}", finding.rule, finding.message);
    if let Some(repo) = &finding.fix_repo {
        text.push_str(&format!(" (to fix in `{repo}`)"));
    }
    if let Some(fix) = &finding.fix {
        text.push_str(&format!("; suggested fix: {fix}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn task() -> TaskSpec {
        TaskSpec {
            run_id: "r1".into(),
            task_id: "backend:expand".into(),
            repo: "backend".into(),
            role: TaskRole::Writer,
            title: "expose createdAt".into(),
            instructions: "Add the field.".into(),
            changes: vec![ChangeSpec::AddField {
                contract: "orders".into(),
                field: "createdAt".into(),
                ty: "string".into(),
                format: Some("date-time".into()),
            }],
            attempt: 1,
            findings: vec![],
            context: vec!["orders is served at /orders".into()],
        }
    }

    fn check(template: &str, expected: Result<&str, &str>) {
        let got = render(template, &task()).map_err(|e| e.to_string());
        match (got, expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "template {template:?}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{got:?} lacks {want:?}"),
            (got, want) => panic!("template {template:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn renders_placeholders() {
        check("{{repo}}: {{title}}", Ok("backend: expose createdAt"));
        check("{{ repo }}", Ok("backend"));
        check("no placeholders", Ok("no placeholders"));
        check(
            "{{changes}}",
            Ok("- add field `createdAt` (string, format date-time) to contract `orders`"),
        );
        check("{{context}}", Ok("- orders is served at /orders"));
        check("[{{findings}}]", Ok("[]"));
        check("{{role}}", Ok("writer (it produces the contract)"));
        check("a } b { c", Ok("a } b { c"));
    }

    #[test]
    fn rejects_bad_templates() {
        check(
            "{{repository}}",
            Err("unknown placeholder `{{repository}}`"),
        );
        check(
            "hello {{title",
            Err("opens `{{` at byte 6 without a closing `}}`"),
        );
    }

    #[test]
    fn values_are_not_rescanned() {
        let mut t = task();
        t.instructions = "say {{secret}}".into();
        assert_eq!(
            render("{{instructions}}", &t).ok(),
            Some("say {{secret}}".into())
        );
    }

    #[test]
    fn findings_render_with_fix() {
        let mut t = task();
        t.findings = vec![FindingNote {
            rule: "NAMING/casing-mismatch".into(),
            message: "created_at vs createdAt".into(),
            fix_repo: Some("worker".into()),
            fix: Some("read createdAt".into()),
        }];
        let got = render("{{findings}}", &t).ok();
        assert_eq!(
            got.as_deref(),
            Some(
                "- [NAMING/casing-mismatch] created_at vs createdAt (to fix in `worker`); \
                 suggested fix: read createdAt"
            )
        );
    }

    #[test]
    fn default_template_renders() {
        let out = render(DEFAULT_TEMPLATE, &task()).map_err(|e| e.to_string());
        assert!(
            out.as_deref()
                .is_ok_and(|s| s.contains("Goal: expose createdAt")),
            "{out:?}"
        );
    }
}
