//! The bundle as Markdown: the same content as the HTML page, for reading in a terminal or a
//! code review tool.

use std::fmt::Write as _;

use super::html::{rerun, seconds};
use super::{Bundle, CaughtBy};
use crate::verify::report::{fenced, md_cell, md_code};

/// Renders `bundle.md`.
pub fn render_markdown(b: &Bundle) -> String {
    let mut m = String::with_capacity(32 * 1024);
    let _ = writeln!(m, "# {}\n", md_cell(&b.title));
    let _ = writeln!(
        m,
        "Run {} is **{}**; cost ${:.2} of ${:.2} budget.\n",
        md_code(&b.run_id),
        b.status.label(),
        b.cost_usd,
        b.budget_usd
    );
    m.push_str("| repo | node | branch | base | head | attempts | cost | checks |\n");
    m.push_str("|---|---|---|---|---|---|---|---|\n");
    for r in &b.repos {
        let passed = r.checks.iter().filter(|c| c.passed).count();
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | ${:.2} | {passed}/{} |",
            md_cell(&r.repo),
            md_cell(&r.node),
            md_code(&r.branch),
            md_code(&r.base),
            md_code(&r.head),
            r.attempts,
            r.cost_usd,
            r.checks.len()
        );
    }
    let _ = write!(m, "\n## PRD\n\n{}\n\n", b.prd_md.trim_end());
    let _ = write!(m, "## Architecture\n\n{}\n\n", b.architecture_md.trim_end());

    let _ = writeln!(m, "## Findings ({})\n", b.findings.len());
    if !b.findings.is_empty() {
        m.push_str("| severity | rule | writer → reader | message | fix | caught by | attempt |\n");
        m.push_str("|---|---|---|---|---|---|---|\n");
    }
    for f in &b.findings {
        let by = match f.caught_by {
            CaughtBy::Static => "static",
            CaughtBy::Dynamic => "dynamic",
            CaughtBy::Gate => "gate",
        };
        let _ = writeln!(
            m,
            "| {} | {} | {} → {} | {} | {} | {by} | {} |",
            md_cell(&f.severity),
            md_code(&f.rule),
            md_cell(&f.writer),
            md_cell(&f.reader),
            md_cell(&f.message),
            md_cell(f.fix.as_deref().unwrap_or("")),
            f.attempt
        );
    }

    m.push_str("\n## What was proven\n\n");
    for c in &b.claims {
        let _ = writeln!(
            m,
            "- {} (repo {}): {} exited {}; log {} (sha256 {})",
            md_cell(&c.statement),
            md_cell(c.repo.as_deref().unwrap_or("-")),
            md_code(&c.command),
            c.exit_code.map_or("-".to_string(), |x| x.to_string()),
            md_code(&c.log),
            md_cell(&c.artifact_sha256)
        );
    }

    for r in &b.repos {
        let _ = writeln!(
            m,
            "\n## {}\n\n{}\n",
            md_cell(&r.repo),
            r.agent_summary.trim_end()
        );
        m.push_str(
            "| check | result | exit | time (s) | log | sha256 |\n|---|---|---|---|---|---|\n",
        );
        for c in &r.checks {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} |",
                md_cell(&c.name),
                if c.passed { "pass" } else { "FAIL" },
                c.exit_code.map_or("-".to_string(), |x| x.to_string()),
                seconds(c.duration_ms),
                md_code(&c.log_path.display().to_string()),
                md_cell(&c.log_sha256)
            );
        }
        for c in &r.checks {
            let _ = writeln!(m, "\nTo re-run {}:\n", md_cell(&c.name));
            m.push_str(&fenced(&rerun(r, c)));
        }
        m.push_str("\nDiff:\n\n");
        m.push_str(&fenced(&r.diff));
    }

    m.push_str("\n## Rollout\n\n");
    for p in &b.phases {
        let _ = writeln!(m, "Phase {}:\n", md_cell(&p.name));
        for (i, wave) in p.waves.iter().enumerate() {
            let _ = writeln!(m, "{i}. {}", md_cell(&wave.join(", ")));
        }
        m.push('\n');
    }
    m.push_str("## Rollback\n\n");
    for s in &b.rollback {
        let mark = if s.irreversible {
            "**IRREVERSIBLE, needs approval**: "
        } else {
            ""
        };
        let _ = writeln!(
            m,
            "- {mark}{} wave {}: {} on {} ({})",
            md_cell(&s.phase),
            s.wave,
            md_cell(&s.action),
            md_cell(&s.repos.join(", ")),
            md_cell(&s.why)
        );
    }

    for (title, list) in [
        ("Screenshots", &b.screenshots),
        ("Logs", &b.logs),
        ("Reports", &b.reports),
    ] {
        let _ = writeln!(m, "\n## {title}\n");
        for a in list {
            let _ = writeln!(
                m,
                "- {}: {} (sha256 {})",
                md_cell(&a.name),
                md_code(&a.path.display().to_string()),
                md_cell(&a.sha256)
            );
        }
    }
    for (title, list) in [("What was learned", &b.learned), ("Errors", &b.errors)] {
        let _ = writeln!(m, "\n## {title}\n");
        for i in list {
            let _ = writeln!(m, "- {}", md_cell(i));
        }
    }
    m.push_str("\n## Timings\n\n");
    for t in &b.timings {
        let _ = writeln!(m, "- {}: {} s", md_cell(&t.step), seconds(t.duration_ms));
    }
    m
}
