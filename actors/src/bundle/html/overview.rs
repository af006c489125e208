//! The parts of the page that help a reviewer decide: links to every section, a summary of what
//! to look at (checks, findings, waves, rollback, screenshots) with how to approve, and the
//! rollout with its rollback path.

use std::fmt::Write as _;

use super::esc;
use crate::bundle::{Bundle, BundleStatus};

/// Links to the page's sections, so a long page reads without scrolling through diffs.
pub(super) fn nav(h: &mut String, b: &Bundle) {
    h.push_str("<nav><a href=\"#glance\">At a glance</a><a href=\"#findings\">Findings</a>");
    for r in &b.repos {
        let _ = write!(h, "<a href=\"#repo-{0}\">{0}</a>", esc(&r.repo));
    }
    h.push_str(
        "<a href=\"#rollout\">Rollout</a><a href=\"#rollback\">Rollback</a>\
         <a href=\"#screenshots\">Screenshots</a><a href=\"#claims\">Proof</a>\
         <a href=\"#prd\">PRD</a><a href=\"#architecture\">Architecture</a>\
         <a href=\"#logs\">Logs</a></nav>\n",
    );
}

/// One list with what a reviewer checks before deciding, each item linking to its section.
pub(super) fn at_a_glance(h: &mut String, b: &Bundle) {
    h.push_str("<div class=\"glance\"><h2 id=\"glance\">At a glance</h2>\n<ul>\n");
    let checks: usize = b.repos.iter().map(|r| r.checks.len()).sum();
    let passed: usize = b
        .repos
        .iter()
        .map(|r| r.checks.iter().filter(|c| c.passed).count())
        .sum();
    let class = if passed == checks { "pass" } else { "fail" };
    let _ = writeln!(
        h,
        "<li><b>Checks</b>: <span class=\"{class}\">{passed}/{checks} passed</span> on the \
         delivered commits of {} repo(s); each repo's section has the commands to re-run them.</li>",
        b.repos.len()
    );
    let errors = b.findings.iter().filter(|f| f.severity == "error").count();
    let fixed = if b.status == BundleStatus::Delivered && errors > 0 {
        ", all fixed before delivery"
    } else {
        ""
    };
    let _ = writeln!(
        h,
        "<li><b>Findings</b>: <a href=\"#findings\">{} found, {errors} error(s){fixed}</a>.</li>",
        b.findings.len()
    );
    for p in &b.phases {
        let waves: Vec<String> = p.waves.iter().map(|w| esc(&w.join(", "))).collect();
        let _ = writeln!(
            h,
            "<li><b>Rollout</b>, phase {}: <a href=\"#rollout\">{}</a> (waves in order, \
             repos of one wave together).</li>",
            esc(&p.name),
            waves.join(" → ")
        );
    }
    let irreversible = b.rollback.iter().filter(|s| s.irreversible).count();
    let rollback = if irreversible == 0 {
        "every step reversible".to_string()
    } else {
        format!("<span class=\"irr\">{irreversible} irreversible, needing approval</span>")
    };
    let _ = writeln!(
        h,
        "<li><b>Rollback</b>: <a href=\"#rollback\">{} step(s)</a>, {rollback}.</li>",
        b.rollback.len()
    );
    let _ = writeln!(
        h,
        "<li><b>Screenshots</b>: <a href=\"#screenshots\">{}</a>.</li>",
        b.screenshots.len()
    );
    h.push_str("</ul>\n");
    decide(h, b);
    h.push_str("</div>\n");
}

/// How to approve or reject the rollout: the coordinator's API, with a token that has the
/// `approve` scope. Nothing on the page acts by itself; the page has no scripts.
fn decide(h: &mut String, b: &Bundle) {
    if b.status != BundleStatus::Delivered {
        let _ = writeln!(
            h,
            "<p><b>Decision</b>: the run is {}; there is no rollout to approve.</p>",
            b.status.label()
        );
        return;
    }
    let _ = writeln!(
        h,
        "<p><b>Decision</b>: approve the rollout (or reject it with <code>/reject</code>) with a \
         token holding the <code>approve</code> scope; the first decision stands.</p>\n<pre>curl \
         -X POST -H \"Authorization: Bearer $TOKEN\" -H \"Content-Type: application/json\" \\\n  \
         -d '{{\"note\": \"why\"}}' \"$FACTORY_URL/v1/runs/{}/approve\"</pre>",
        esc(&b.run_id)
    );
}

/// The waves of each phase, then the rollback path with its irreversible steps marked.
pub(super) fn rollout(h: &mut String, b: &Bundle) {
    h.push_str("<h2 id=\"rollout\">Rollout</h2>\n");
    if b.phases.is_empty() {
        h.push_str("<p>No rollout plan.</p>\n");
    }
    for p in &b.phases {
        let _ = writeln!(
            h,
            "<h3>Phase: {}</h3>\n<p class=\"muted\">Deploy wave by wave; the repos of one wave \
             go out together once the wave before is healthy.</p>\n<ol start=\"0\">",
            esc(&p.name)
        );
        for wave in &p.waves {
            let repos: Vec<String> = wave.iter().map(|r| esc(r)).collect();
            let _ = writeln!(h, "<li>{}</li>", repos.join(", "));
        }
        h.push_str("</ol>\n");
    }
    h.push_str("<h2 id=\"rollback\">Rollback</h2>\n");
    if b.rollback.is_empty() {
        h.push_str("<p>No rollback steps.</p>\n");
        return;
    }
    h.push_str(
        "<p class=\"muted\">In this order: the last wave is undone first.</p>\n\
         <table><tr><th>phase</th><th>wave</th><th>repos</th><th>action</th>\
         <th>reversible</th><th>why</th></tr>\n",
    );
    for s in &b.rollback {
        let (row, rev) = if s.irreversible {
            (
                " class=\"irreversible\"",
                "<span class=\"irr\">IRREVERSIBLE: needs approval</span>",
            )
        } else {
            ("", "yes")
        };
        let _ = writeln!(
            h,
            "<tr{row}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{rev}</td><td>{}</td></tr>",
            esc(&s.phase),
            s.wave,
            esc(&s.repos.join(", ")),
            esc(&s.action),
            esc(&s.why)
        );
    }
    h.push_str("</table>\n");
}
