//! Helpers for tests that use the example org: clone a repo, run its commands.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ExampleOptions, generate, git};

/// A generated example org in a temp folder.
pub(crate) struct ExampleOrg {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
    /// `org.toml`.
    pub org_toml: PathBuf,
}

impl ExampleOrg {
    /// Generate one.
    pub(crate) fn new(opts: &ExampleOptions) -> ExampleOrg {
        let dir = tempfile::tempdir().expect("tempdir");
        let org_toml = generate(dir.path(), opts).expect("example org generates (needs git)");
        ExampleOrg { dir, org_toml }
    }

    /// Clone repo `name` into a fresh folder under the org's temp folder.
    pub(crate) fn clone_repo(&self, name: &str) -> PathBuf {
        let target = self
            .dir
            .path()
            .join("clones")
            .join(format!("{name}-{}", uuid::Uuid::new_v4()));
        let origin = self.dir.path().join("origins").join(format!("{name}.git"));
        let (origin, target_text) = (
            origin.to_string_lossy().to_string(),
            target.to_string_lossy().to_string(),
        );
        git(self.dir.path(), &["clone", "-q", &origin, &target_text]).expect("clone");
        target
    }
}

/// The value of `key` in `[commands]` of the factory.toml in `repo`.
pub(crate) fn command(repo: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(repo.join("factory.toml")).expect("factory.toml");
    let value: toml::Table = toml::from_str(&text).expect("factory.toml parses");
    value
        .get("commands")?
        .get(key)?
        .as_str()
        .map(str::to_string)
}

/// Run `sh -c cmd` in `dir`; returns (success, stdout + stderr).
pub(crate) fn sh(dir: &Path, cmd: &str) -> (bool, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("sh runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Run the repo's setup (if any) and test commands; panic with the output if either fails.
pub(crate) fn assert_repo_tests_pass(repo: &Path) {
    if which_python().is_none() {
        panic!("python3 is required to run the example repos' tests, and was not found on PATH");
    }
    if let Some(setup) = command(repo, "setup") {
        let (ok, out) = sh(repo, &setup);
        assert!(ok, "setup `{setup}` failed in {}:\n{out}", repo.display());
    }
    let test = command(repo, "test").expect("test command");
    let (ok, out) = sh(repo, &test);
    assert!(ok, "test `{test}` failed in {}:\n{out}", repo.display());
    // unittest exits 0 when it finds nothing, so make sure tests ran.
    assert!(
        out.contains("\nOK") && !out.contains("Ran 0 tests"),
        "no tests ran in {}:\n{out}",
        repo.display()
    );
}

fn which_python() -> Option<()> {
    Command::new("python3")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| ())
}
