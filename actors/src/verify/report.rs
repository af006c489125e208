//! Test reports from check records: JUnit XML for CI tools, Markdown for people.

use std::fmt::Write as _;

use super::CheckRecord;
use super::process::tail;

/// How much of a failed check's log goes into a report.
const TAIL_BYTES: u64 = 4096;

/// JUnit XML for suites of checks (one suite per repo, say): `testsuites` / `testsuite` /
/// `testcase`, a `failure` carrying the log tail for each failed check, times in seconds.
pub fn junit_xml(suites: &[(String, Vec<CheckRecord>)]) -> String {
    let all = suites.iter().flat_map(|(_, r)| r);
    let tests = all.clone().count();
    let failures = all.clone().filter(|r| !r.passed).count();
    let time: u64 = all.map(|r| r.duration_ms).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"factory\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{}\">",
        seconds(time)
    );
    for (suite, records) in suites {
        let failures = records.iter().filter(|r| !r.passed).count();
        let time: u64 = records.iter().map(|r| r.duration_ms).sum();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{}\">",
            xml_escape(suite),
            records.len(),
            seconds(time)
        );
        for r in records {
            let _ = writeln!(
                xml,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\">",
                xml_escape(&r.name),
                xml_escape(suite),
                seconds(r.duration_ms)
            );
            if !r.passed {
                let _ = writeln!(
                    xml,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    xml_escape(&verdict(r)),
                    if r.timed_out { "timeout" } else { "exit" },
                    xml_escape(&tail(&r.log_path, TAIL_BYTES))
                );
            }
            let _ = writeln!(
                xml,
                "      <system-out>command: {}\ncwd: {}\nlog: {} (sha256 {})</system-out>",
                xml_escape(&r.command),
                xml_escape(&r.cwd.display().to_string()),
                xml_escape(&r.log_path.display().to_string()),
                xml_escape(&r.log_sha256)
            );
            xml.push_str("    </testcase>\n");
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// A Markdown report: one table per suite, then the log tail of each failed check.
pub fn markdown_report(title: &str, suites: &[(String, Vec<CheckRecord>)]) -> String {
    let mut md = format!("# {}\n\n", md_cell(title));
    for (suite, records) in suites {
        let passed = records.iter().filter(|r| r.passed).count();
        let _ = writeln!(
            md,
            "## {} ({passed}/{} passed)\n",
            md_cell(suite),
            records.len()
        );
        md.push_str("| check | result | exit | time (s) | command | cwd | log |\n");
        md.push_str("|---|---|---|---|---|---|---|\n");
        for r in records {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                md_cell(&r.name),
                if r.passed { "pass" } else { "FAIL" },
                r.exit_code.map_or("-".to_string(), |c| c.to_string()),
                seconds(r.duration_ms),
                md_code(&r.command),
                md_code(&r.cwd.display().to_string()),
                md_code(&r.log_path.display().to_string()),
            );
        }
        md.push('\n');
        for r in records.iter().filter(|r| !r.passed) {
            let _ = writeln!(
                md,
                "### {} / {}: {}\n",
                md_cell(suite),
                md_cell(&r.name),
                verdict(r)
            );
            md.push_str(&fenced(&tail(&r.log_path, TAIL_BYTES)));
            md.push('\n');
        }
    }
    md
}

/// One line saying why a check failed.
fn verdict(r: &CheckRecord) -> String {
    match (r.timed_out, r.exit_code) {
        (true, _) => format!("timed out after {} ms", r.duration_ms),
        (false, Some(c)) => format!("exit code {c}"),
        (false, None) => "no exit code (killed by a signal, or could not start)".to_string(),
    }
}

/// Milliseconds as JUnit's decimal seconds.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Escapes text for XML content and attributes. Characters XML 1.0 cannot hold at all (most
/// control characters, e.g. the ESC of terminal colours in logs) become U+FFFD.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Text safe inside a Markdown table cell: no pipes or line breaks.
pub(crate) fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// Inline code that survives backticks in the text: the fence is longer than any run inside.
pub(crate) fn md_code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    format!("{ticks} {s} {ticks}")
}

/// A fenced code block whose fence no line of the text can close.
pub(crate) fn fenced(s: &str) -> String {
    let fence = "`".repeat(longest_run(s, '`').max(2) + 1);
    let nl = if s.ends_with('\n') { "" } else { "\n" };
    format!("{fence}\n{s}{nl}{fence}\n")
}

fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for c in s.chars() {
        cur = if c == ch { cur + 1 } else { 0 };
        best = best.max(cur);
    }
    best
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
