use std::path::Path;
use std::process::Command;

use super::*;

/// One repo for a test org: name, manifest text, and where its origin is written in org.toml.
struct R {
    name: &'static str,
    manifest: String,
}

fn manifest(kind: &str, after: &[&str], provides: &[&str], consumes: &[&str]) -> String {
    let after: Vec<String> = after.iter().map(|a| format!("\"{a}\"")).collect();
    let mut text = format!(
        "[repo]\nkind = \"{kind}\"\ndeploy_after = [{}]\n\n[commands]\ntest = \"true\"\n",
        after.join(", ")
    );
    for c in provides {
        text += &format!(
            "\n[[provides]]\ncontract = \"{c}\"\nkind = \"event\"\nschema = \"s.json\"\nchannel = \"c\"\n"
        );
    }
    for c in consumes {
        text += &format!("\n[[consumes]]\ncontract = \"{c}\"\nreads = [\"id\"]\n");
    }
    text
}

/// Write an org of plain-directory origins under `dir`; `extra` is appended to org.toml.
fn write_org(dir: &Path, repos: &[R], extra: &str) -> std::path::PathBuf {
    let mut org = String::from("[org]\nname = \"acme\"\n");
    for r in repos {
        let origin = dir.join("origins").join(r.name);
        std::fs::create_dir_all(&origin).expect("mkdir");
        std::fs::write(origin.join("factory.toml"), &r.manifest).expect("write manifest");
        std::fs::write(origin.join("s.json"), "{\"type\":\"object\"}").expect("write schema");
        org += &format!(
            "\n[[repos]]\nname = \"{}\"\norigin = \"origins/{}\"\nowner = \"team\"\n",
            r.name, r.name
        );
    }
    org += extra;
    let path = dir.join("org.toml");
    std::fs::write(&path, org).expect("write org.toml");
    path
}

fn check(repos: &[R], extra: &str, expected: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_org(dir.path(), repos, extra);
    let err = load_org(&path).expect_err("org must be rejected");
    let label = path.to_string_lossy().to_string();
    assert_eq!(err.to_string().replace(&label, "org.toml"), expected);
}

fn r(name: &'static str, manifest: String) -> R {
    R { name, manifest }
}

#[test]
fn consumed_but_not_provided() {
    let repos = [r("a", manifest("service", &[], &[], &["x.v1"]))];
    check(
        &repos,
        "",
        "a/factory.toml:9:12: consumes[0].contract: contract `x.v1` is consumed by `a` but provided by no repo",
    );
}

#[test]
fn provided_twice() {
    let repos = [
        r("a", manifest("service", &[], &["x.v1"], &[])),
        r("b", manifest("service", &[], &["x.v1"], &[])),
    ];
    check(
        &repos,
        "",
        "b/factory.toml:9:12: provides[0].contract: contract `x.v1` is provided by both `a` and `b`",
    );
}

#[test]
fn deploy_after_unknown_repo() {
    let repos = [r("a", manifest("service", &["nope"], &[], &[]))];
    check(
        &repos,
        "",
        "a/factory.toml:3:17: repo.deploy_after: deploy_after names unknown repo `nope`",
    );
}

#[test]
fn deploy_after_cycle() {
    let repos = [
        r("a", manifest("service", &[], &[], &[])),
        r("b", manifest("service", &["c"], &[], &[])),
        r("c", manifest("service", &["d"], &[], &[])),
        r("d", manifest("service", &["b"], &[], &[])),
    ];
    check(&repos, "", "deploy_after cycle: b -> c -> d -> b");
}

#[test]
fn duplicate_repo_name() {
    let repos = [r("a", manifest("service", &[], &[], &[]))];
    let extra = "\n[[repos]]\nname = \"a\"\norigin = \"origins/a\"\nowner = \"team\"\n";
    check(
        &repos,
        extra,
        "org.toml:10:8: repos[1].name: duplicate repo name `a`",
    );
}

#[test]
fn missing_origin() {
    let extra = "\n[[repos]]\nname = \"ghost\"\norigin = \"origins/ghost.git\"\nowner = \"team\"\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_org(dir.path(), &[], extra);
    let err = load_org(&path)
        .expect_err("org must be rejected")
        .to_string();
    let label = path.to_string_lossy().to_string();
    let resolved = dir
        .path()
        .join("origins/ghost.git")
        .to_string_lossy()
        .to_string();
    let expected = format!(
        "org.toml:6:10: repos[0].origin: origin of repo `ghost` not usable: `{}` does not exist",
        resolved
    );
    assert_eq!(err.replace(&label, "org.toml"), expected);
}

#[test]
fn unknown_key_in_org_toml() {
    check(
        &[],
        "\n[[repos]]\nname = \"a\"\norigin = \"x\"\nteam = \"t\"\n",
        "org.toml:7:1: repos[0].team: unknown field `team`, expected one of `name`, `origin`, `owner`",
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git must be installed to run this test");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn loads_from_a_bare_git_origin_at_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    std::fs::write(
        work.join("factory.toml"),
        manifest("service", &[], &["x.v1"], &[]),
    )
    .expect("write");
    std::fs::write(work.join("s.json"), "{\"title\":\"x\"}").expect("write");
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "init"]);
    git(dir.path(), &["clone", "-q", "--bare", "work", "a.git"]);
    // A later uncommitted edit in the work tree must not be seen through the bare origin.
    std::fs::write(work.join("s.json"), "not json").expect("write");
    std::fs::write(
        dir.path().join("org.toml"),
        "[org]\nname = \"acme\"\n[[repos]]\nname = \"a\"\norigin = \"a.git\"\nowner = \"t\"\n",
    )
    .expect("write");
    let org = load_org(&dir.path().join("org.toml")).expect("org loads");
    assert_eq!(org.name, "acme");
    assert_eq!(
        org.repos[0].manifest.provides[0].schema,
        serde_json::json!({"title": "x"})
    );
    assert!(org.repos[0].origin.ends_with("a.git"));
    // A normal (non-bare) repo reads HEAD too, not the dirty file.
    std::fs::write(
        dir.path().join("org.toml"),
        "[org]\nname = \"acme\"\n[[repos]]\nname = \"a\"\norigin = \"work\"\nowner = \"t\"\n",
    )
    .expect("write");
    let org = load_org(&dir.path().join("org.toml")).expect("org loads from a work tree");
    assert_eq!(
        org.repos[0].manifest.provides[0].schema,
        serde_json::json!({"title": "x"})
    );
}
