//! The bundle as one self-contained HTML page: inline style, no scripts, every piece of text
//! escaped (diffs, logs and agent summaries are untrusted), links only to files in the bundle.

mod overview;

use std::fmt::Write as _;
use std::path::Path;

use super::{Bundle, BundleStatus, CaughtBy, RepoDelivery};
use crate::verify::CheckRecord;
use overview::{at_a_glance, nav, rollout};

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1b1b1b}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}pre{background:#f7f7f7;border:1px solid #ddd;padding:.6em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
code{background:#f3f3f3;padding:0 .2em}.pass{color:#116611;font-weight:bold}.fail{color:#b00020;font-weight:bold}
.status{display:inline-block;padding:.1em .6em;border-radius:.3em;color:#fff}.delivered{background:#1a7f37}.blocked{background:#9a6700}.failed{background:#b00020}
tr.irreversible td{background:#ffe3e3}.irr{color:#b00020;font-weight:bold}.add{color:#116611}.del{color:#b00020}.hunk{color:#0550ae}
figure{display:inline-block;margin:.5em;border:1px solid #ddd;padding:.4em}figure img{max-width:520px;display:block}
.muted{color:#666;font-size:.9em}nav{margin:.6em 0;padding:.4em 0;border-top:1px solid #ddd;border-bottom:1px solid #ddd}
nav a{margin-right:1em}.glance{background:#f6f8fa;border:1px solid #d0d7de;padding:.2em 1em;margin:1em 0}
.glance li{margin:.25em 0}.glance h2{margin-top:.6em}";

/// Renders the bundle page. Paths in the bundle should already be relative to it (see
/// [`super::write_bundle`]); others are shown as text, never linked.
pub fn render_html(b: &Bundle) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title>\
         <style>{STYLE}</style></head><body>\n",
        esc(&b.title)
    );
    summary(&mut h, b);
    nav(&mut h, b);
    at_a_glance(&mut h, b);
    section_md(&mut h, "prd", "PRD", &b.prd_md);
    section_md(&mut h, "architecture", "Architecture", &b.architecture_md);
    findings(&mut h, b);
    claims(&mut h, b);
    for repo in &b.repos {
        repo_section(&mut h, repo);
    }
    rollout(&mut h, b);
    screenshots(&mut h, b);
    files(&mut h, "Logs", &b.logs);
    files(&mut h, "Reports", &b.reports);
    lists(&mut h, b);
    h.push_str("</body></html>\n");
    h
}

fn summary(h: &mut String, b: &Bundle) {
    let _ = write!(
        h,
        "<h1>{}</h1>\n<p>Run <code>{}</code> <span class=\"status {}\">{}</span> \
         cost ${:.2} of ${:.2} budget</p>\n",
        esc(&b.title),
        esc(&b.run_id),
        b.status.label(),
        b.status.label(),
        b.cost_usd,
        b.budget_usd
    );
    h.push_str(
        "<table><tr><th>repo</th><th>node</th><th>branch</th><th>base → head</th>\
                <th>attempts</th><th>cost</th><th>checks</th></tr>\n",
    );
    for r in &b.repos {
        let passed = r.checks.iter().filter(|c| c.passed).count();
        let class = if passed == r.checks.len() {
            "pass"
        } else {
            "fail"
        };
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#repo-{}\">{}</a></td><td>{}</td><td><code>{}</code></td>\
             <td><code>{}</code> → <code>{}</code></td><td>{}</td><td>${:.2}</td>\
             <td class=\"{class}\">{passed}/{}</td></tr>",
            esc(&r.repo),
            esc(&r.repo),
            esc(&r.node),
            esc(&r.branch),
            esc(short(&r.base)),
            esc(short(&r.head)),
            r.attempts,
            r.cost_usd,
            r.checks.len()
        );
    }
    h.push_str("</table>\n");
}

fn section_md(h: &mut String, id: &str, title: &str, md: &str) {
    let _ = writeln!(h, "<h2 id=\"{id}\">{title}</h2>\n<pre>{}</pre>", esc(md));
}

fn findings(h: &mut String, b: &Bundle) {
    let _ = writeln!(
        h,
        "<h2 id=\"findings\">Findings ({})</h2>",
        b.findings.len()
    );
    if b.findings.is_empty() {
        h.push_str("<p>None.</p>\n");
        return;
    }
    if b.status == BundleStatus::Delivered {
        h.push_str(
            "<p>The run was delivered, so none of these errors stands: each was fixed by a later \
             attempt and the last verification passed. They are listed as proof the checks bite.</p>\n",
        );
    }
    h.push_str(
        "<table><tr><th>severity</th><th>rule</th><th>repos</th><th>message</th>\
                <th>suggested fix</th><th>caught by</th><th>attempt</th></tr>\n",
    );
    for f in &b.findings {
        let by = match f.caught_by {
            CaughtBy::Static => "static",
            CaughtBy::Dynamic => "dynamic",
            CaughtBy::Gate => "gate",
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{by}</td><td>{}</td></tr>",
            esc(&f.severity),
            esc(&f.rule),
            esc(&flow(&f.writer, &f.reader)),
            esc(&f.message),
            esc(f.fix.as_deref().unwrap_or("")),
            f.attempt
        );
    }
    h.push_str("</table>\n");
}

fn claims(h: &mut String, b: &Bundle) {
    h.push_str("<h2 id=\"claims\">What was proven</h2>\n");
    if b.claims.is_empty() {
        h.push_str("<p>No claims.</p>\n");
        return;
    }
    h.push_str(
        "<table><tr><th>claim</th><th>repo</th><th>command</th><th>exit</th><th>log</th>\
                <th>sha256</th></tr>\n",
    );
    for c in &b.claims {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td>\
             <td class=\"muted\">{}</td></tr>",
            esc(&c.statement),
            esc(c.repo.as_deref().unwrap_or("")),
            esc(&c.command),
            exit(c.exit_code),
            link(Path::new(&c.log)),
            esc(&c.artifact_sha256)
        );
    }
    h.push_str("</table>\n");
}

fn repo_section(h: &mut String, r: &RepoDelivery) {
    let _ = writeln!(
        h,
        "<h2 id=\"repo-{}\">{}</h2>\n<p>Branch <code>{}</code> at <code>{}</code> (base \
         <code>{}</code>), node {}, {} attempt(s), ${:.2}.</p>\n<p>{}</p>",
        esc(&r.repo),
        esc(&r.repo),
        esc(&r.branch),
        esc(&r.head),
        esc(&r.base),
        esc(&r.node),
        r.attempts,
        r.cost_usd,
        esc(&r.agent_summary)
    );
    checks_table(h, r);
    h.push_str("<h3>Diff</h3>\n<pre>");
    for line in r.diff.lines() {
        let class = if line.starts_with("+++") || line.starts_with("---") {
            ""
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else if line.starts_with("@@") {
            "hunk"
        } else {
            ""
        };
        if class.is_empty() {
            let _ = writeln!(h, "{}", esc(line));
        } else {
            let _ = writeln!(h, "<span class=\"{class}\">{}</span>", esc(line));
        }
    }
    h.push_str("</pre>\n");
}

fn checks_table(h: &mut String, r: &RepoDelivery) {
    h.push_str(
        "<h3>Checks</h3>\n<table><tr><th>check</th><th>result</th><th>exit</th>\
                <th>time</th><th>to re-run</th><th>log</th></tr>\n",
    );
    for c in &r.checks {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td>\
             <td>{}<br><span class=\"muted\">{}</span></td></tr>",
            esc(&c.name),
            if c.passed { "pass" } else { "fail" },
            verdict(c),
            exit(c.exit_code),
            seconds(c.duration_ms),
            esc(&rerun(r, c)),
            link(&c.log_path),
            esc(&c.log_sha256)
        );
    }
    h.push_str("</table>\n");
}

fn screenshots(h: &mut String, b: &Bundle) {
    h.push_str("<h2 id=\"screenshots\">Screenshots</h2>\n");
    if b.screenshots.is_empty() {
        h.push_str("<p>None.</p>\n");
    }
    for s in &b.screenshots {
        let img = if in_bundle(&s.path) {
            let src = esc(&s.path.display().to_string());
            format!(
                "<a href=\"{src}\"><img src=\"{src}\" alt=\"{}\"></a>",
                esc(&s.name)
            )
        } else {
            "<p class=\"fail\">(not in the bundle)</p>".to_string()
        };
        let _ = writeln!(
            h,
            "<figure>{img}<figcaption>{} <span class=\"muted\">{}</span></figcaption></figure>",
            esc(&s.name),
            esc(&s.sha256)
        );
    }
}

fn files(h: &mut String, title: &str, list: &[super::Artifact]) {
    let _ = writeln!(h, "<h2 id=\"{}\">{title}</h2>", title.to_lowercase());
    if list.is_empty() {
        h.push_str("<p>None.</p>\n");
        return;
    }
    h.push_str("<ul>\n");
    for a in list {
        let _ = writeln!(
            h,
            "<li>{}: {} <span class=\"muted\">{}</span></li>",
            esc(&a.name),
            link(&a.path),
            esc(&a.sha256)
        );
    }
    h.push_str("</ul>\n");
}

fn lists(h: &mut String, b: &Bundle) {
    for (title, items) in [("What was learned", &b.learned), ("Errors", &b.errors)] {
        let _ = writeln!(h, "<h2>{title}</h2>");
        if items.is_empty() {
            h.push_str("<p>None.</p>\n");
            continue;
        }
        h.push_str("<ul>\n");
        for i in items {
            let _ = writeln!(h, "<li>{}</li>", esc(i));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("<h2>Timings</h2>\n<table><tr><th>step</th><th>seconds</th></tr>\n");
    for t in &b.timings {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(&t.step),
            seconds(t.duration_ms)
        );
    }
    h.push_str("</table>\n");
}

/// How a reviewer re-runs a check: the exact commit verified (the branch may move on), the
/// directory and the command.
pub(crate) fn rerun(r: &RepoDelivery, c: &CheckRecord) -> String {
    format!(
        "# in a clone of {}\ngit fetch origin {} && git checkout {}\ncd {} # where it ran\nsh -c {}",
        r.repo,
        r.branch,
        r.head,
        c.cwd.display(),
        shell_quote(&c.command)
    )
}

/// The repos a finding concerns: `writer → reader` when both are known, else whichever is.
fn flow(writer: &str, reader: &str) -> String {
    match (writer.is_empty(), reader.is_empty()) {
        (false, false) => format!("{writer} → {reader}"),
        (true, _) => reader.to_string(),
        (false, true) => writer.to_string(),
    }
}

pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn verdict(c: &CheckRecord) -> &'static str {
    match (c.passed, c.timed_out) {
        (true, _) => "pass",
        (false, true) => "timed out",
        (false, false) => "FAIL",
    }
}

fn exit(code: Option<i32>) -> String {
    code.map_or_else(|| "-".to_string(), |c| c.to_string())
}

pub(crate) fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Only files copied into the bundle are linked: a path from elsewhere (or a crafted one such
/// as `javascript:`) is shown as text.
fn in_bundle(path: &Path) -> bool {
    path.starts_with("artifacts")
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn link(path: &Path) -> String {
    let text = esc(&path.display().to_string());
    if in_bundle(path) {
        format!("<a href=\"{text}\">{text}</a>")
    } else {
        text
    }
}

/// Escapes text for HTML content and quoted attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
