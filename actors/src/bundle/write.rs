//! Writing a bundle: copy every artifact into `artifacts/`, hash it, point the bundle at the
//! copies, then write `bundle.json`, `bundle.md` and `index.html`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{Bundle, BundleError, render_html, render_markdown};
use crate::verify::sha256_file;

/// Where a written bundle's files are.
#[derive(Debug, Clone, PartialEq)]
pub struct BundlePaths {
    /// The bundle directory.
    pub dir: PathBuf,
    /// `bundle.json`.
    pub json: PathBuf,
    /// `bundle.md`.
    pub markdown: PathBuf,
    /// `index.html`.
    pub html: PathBuf,
    /// The bundle as written: artifact paths relative to `dir`, hashes filled in.
    pub bundle: Bundle,
}

/// Writes the bundle into `dir`.
///
/// Artifacts given by absolute path are copied under `dir/artifacts/` and hashed; relative
/// paths are taken as already inside the bundle (so writing a written bundle again is a no-op).
/// A missing artifact is recorded in `errors` and the rest is still written.
pub fn write_bundle(dir: &Path, bundle: &Bundle) -> Result<BundlePaths, BundleError> {
    std::fs::create_dir_all(dir.join("artifacts")).map_err(|e| io(dir, "create", e))?;
    let mut out = bundle.clone();
    let mut copier = Copier {
        dir,
        used: BTreeSet::new(),
        errors: Vec::new(),
    };
    for repo in &mut out.repos {
        let sub = format!("checks/{}", file_part(&repo.repo));
        for check in &mut repo.checks {
            let recorded = check.log_sha256.clone();
            if let Some((rel, sha)) =
                copier.place(&check.log_path, &sub, &format!("{} log", check.name))
            {
                if !recorded.is_empty() && recorded != sha {
                    copier.errors.push(format!(
                        "log of {} / {} changed after the check ran (sha256 {recorded} then, {sha} now)",
                        repo.repo, check.name
                    ));
                }
                check.log_path = rel;
                check.log_sha256 = sha;
            }
        }
    }
    for (sub, list) in [
        ("screenshots", &mut out.screenshots),
        ("logs", &mut out.logs),
        ("reports", &mut out.reports),
    ] {
        for artifact in list.iter_mut() {
            if let Some((rel, sha)) = copier.place(&artifact.path, sub, &artifact.name) {
                artifact.path = rel;
                artifact.sha256 = sha;
            }
        }
    }
    for claim in &mut out.claims {
        if claim.log.is_empty() {
            continue;
        }
        let src = PathBuf::from(&claim.log);
        if let Some((rel, sha)) = copier.place(&src, "claims", &claim.statement) {
            claim.log = rel.display().to_string();
            claim.artifact_sha256 = sha;
        }
    }
    out.errors.extend(copier.errors);

    let paths = BundlePaths {
        dir: dir.to_path_buf(),
        json: dir.join("bundle.json"),
        markdown: dir.join("bundle.md"),
        html: dir.join("index.html"),
        bundle: out,
    };
    let json = serde_json::to_string_pretty(&paths.bundle)?;
    write(&paths.json, json.as_bytes())?;
    write(&paths.markdown, render_markdown(&paths.bundle).as_bytes())?;
    write(&paths.html, render_html(&paths.bundle).as_bytes())?;
    Ok(paths)
}

/// Copies artifacts into the bundle under unique names and remembers what went wrong.
struct Copier<'a> {
    dir: &'a Path,
    used: BTreeSet<PathBuf>,
    errors: Vec<String>,
}

impl Copier<'_> {
    /// Puts `src` under `artifacts/<sub>/` and returns its bundle-relative path and hash, or
    /// `None` (with an error noted) when it cannot.
    fn place(&mut self, src: &Path, sub: &str, what: &str) -> Option<(PathBuf, String)> {
        if src.is_relative() {
            // Already in the bundle, from an earlier write: only re-hash it. `..` could point
            // outside the bundle, so it is refused.
            let inside = src
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            let full = self.dir.join(src);
            return match (inside, sha256_file(&full)) {
                (true, Ok(sha)) => {
                    self.used.insert(src.to_path_buf());
                    Some((src.to_path_buf(), sha))
                }
                (false, _) => self.fail(what, src, "a relative path must stay inside the bundle"),
                (true, Err(e)) => self.fail(what, src, &e.to_string()),
            };
        }
        let rel = self.unique(sub, src);
        let dest = self.dir.join(&rel);
        let copied = dest
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::copy(src, &dest));
        if let Err(e) = copied {
            return self.fail(what, src, &e.to_string());
        }
        match sha256_file(&dest) {
            Ok(sha) => Some((rel, sha)),
            Err(e) => self.fail(what, src, &e.to_string()),
        }
    }

    /// `artifacts/<sub>/<file name>`, numbered when the name is taken.
    fn unique(&mut self, sub: &str, src: &Path) -> PathBuf {
        let name = src
            .file_name()
            .map(|n| file_part(&n.to_string_lossy()))
            .unwrap_or_else(|| "artifact".to_string());
        let mut rel = Path::new("artifacts").join(sub).join(&name);
        let mut n = 2;
        while self.used.contains(&rel) {
            rel = Path::new("artifacts").join(sub).join(format!("{n}-{name}"));
            n += 1;
        }
        self.used.insert(rel.clone());
        rel
    }

    fn fail<T>(&mut self, what: &str, src: &Path, why: &str) -> Option<T> {
        self.errors.push(format!(
            "artifact {what} ({}) not bundled: {why}",
            src.display()
        ));
        None
    }
}

/// A name made safe as one path component.
fn file_part(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.trim_matches('.') {
        "" => "artifact".to_string(),
        t => t.to_string(),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    std::fs::write(path, bytes).map_err(|e| io(path, "write", e))
}

fn io(path: &Path, op: &str, source: std::io::Error) -> BundleError {
    BundleError::Io {
        context: format!("{op} {}", path.display()),
        source,
    }
}
