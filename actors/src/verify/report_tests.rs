use std::path::{Path, PathBuf};

use super::*;

fn record(dir: &Path, name: &str, exit: Option<i32>, timed_out: bool, log: &str) -> CheckRecord {
    let log_path = dir.join(format!("{name}.log"));
    std::fs::write(&log_path, log).unwrap();
    CheckRecord {
        name: name.to_string(),
        command: "make test && echo \"<ok>\"".to_string(),
        cwd: PathBuf::from("/src/backend"),
        exit_code: exit,
        timed_out,
        duration_ms: 1234,
        log_path,
        log_sha256: "ab".repeat(32),
        passed: exit == Some(0) && !timed_out,
    }
}

/// A tiny well-formedness check: tags balance, attributes are quoted, text holds no raw `<` and
/// every `&` starts a known entity. Returns the element paths in document order.
fn parse(xml: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = xml.trim_start();
    assert!(rest.starts_with("<?xml"), "no declaration");
    rest = &rest[rest.find("?>").unwrap() + 2..];
    while let Some(lt) = rest.find('<') {
        check_text(&rest[..lt]);
        let gt = rest[lt..].find('>').expect("unclosed tag") + lt;
        let tag = &rest[lt + 1..gt];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched close");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().unwrap().to_string();
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in {tag}"
            );
            check_text(&tag.replace('"', ""));
            stack.push(name);
            seen.push(stack.join("/"));
            if self_closing {
                stack.pop();
            }
        }
        rest = &rest[gt + 1..];
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed {stack:?}");
    seen
}

fn check_text(text: &str) {
    assert!(!text.contains('<'), "raw < in {text:?}");
    for (i, _) in text.match_indices('&') {
        let ent = &text[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| ent.starts_with(e)),
            "bare & in {text:?}"
        );
    }
    assert!(
        !text
            .chars()
            .any(|c| (c as u32) < 0x20 && !"\t\n\r".contains(c))
    );
}

#[test]
fn junit_structure_counts_and_escaping() {
    let dir = tempfile::tempdir().unwrap();
    let suites = vec![
        (
            "backend<&>".to_string(),
            vec![
                record(dir.path(), "build", Some(0), false, "fine"),
                record(
                    dir.path(),
                    "test",
                    Some(1),
                    false,
                    "assert <a> & \"b\" \u{1b}[31mred",
                ),
            ],
        ),
        (
            "frontend".to_string(),
            vec![record(dir.path(), "slow", None, true, "...")],
        ),
    ];
    let xml = junit_xml(&suites);
    let paths = parse(&xml);
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("testcase")).count(),
        3,
        "{paths:?}"
    );
    assert_eq!(paths.iter().filter(|p| p.ends_with("/failure")).count(), 2);
    assert!(paths.contains(&"testsuites/testsuite/testcase/failure".to_string()));
    assert!(xml.contains("<testsuites name=\"factory\" tests=\"3\" failures=\"2\""));
    assert!(xml.contains("<testsuite name=\"backend&lt;&amp;&gt;\" tests=\"2\" failures=\"1\""));
    assert!(xml.contains("time=\"1.234\""));
    assert!(xml.contains("assert &lt;a&gt; &amp; &quot;b&quot; \u{FFFD}[31mred"));
    assert!(xml.contains("type=\"timeout\""));
    assert!(xml.contains("message=\"exit code 1\""));
}

#[test]
fn markdown_tables_and_failure_tails() {
    let dir = tempfile::tempdir().unwrap();
    let suites = vec![(
        "backend".to_string(),
        vec![
            record(dir.path(), "build", Some(0), false, "fine"),
            record(dir.path(), "test", Some(2), false, "```\nboom | here"),
        ],
    )];
    let md = markdown_report("Run 7", &suites);
    assert!(md.starts_with("# Run 7\n"));
    assert!(md.contains("## backend (1/2 passed)"));
    assert!(md.contains("| test | FAIL | 2 | 1.234 |"));
    assert!(md.contains("### backend / test: exit code 2"));
    // The log holds a ``` fence, so the block must use a longer one.
    assert!(md.contains("````\n```\nboom | here\n````"));
}

#[test]
fn markdown_helpers() {
    let check = |got: String, want: &str| assert_eq!(got, want);
    check(md_cell("a|b\nc"), "a\\|b c");
    check(md_code("a`b"), "`` a`b ``");
    check(fenced("x"), "```\nx\n```\n");
    check(
        xml_escape("<a href='x'>&</a>"),
        "&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;",
    );
}
