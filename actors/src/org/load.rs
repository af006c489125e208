//! Loading a whole org: `org.toml`, then each repo's manifest from its origin, then the checks
//! that span repos (one provider per contract, every consumed contract provided, `deploy_after`
//! names real repos and has no cycle).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::error::{Location, OrgError, SchemaError};
use super::model::{Org, Repo};
use super::parse::{ManifestSpans, parse_with_spans, schema_from_bytes};
use super::source::{Source, is_url};
use super::toml_loc::{at, field_path, from_toml};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrg {
    org: RawOrgHeader,
    #[serde(default)]
    repos: Vec<RawRepoEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrgHeader {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepoEntry {
    name: Spanned<String>,
    origin: Spanned<String>,
    owner: String,
}

/// Read `org.toml` at `path` and every repo's `factory.toml` and schemas from its origin.
///
/// A relative origin is resolved against the folder holding `org.toml`; the loaded
/// [`Repo::origin`] is the resolved, absolute path (or the URL unchanged).
pub fn load_org(path: &Path) -> Result<Org, OrgError> {
    let text = std::fs::read_to_string(path).map_err(|source| OrgError::Read {
        path: path.to_path_buf(),
        cause: source,
    })?;
    let label = path.to_string_lossy().to_string();
    let raw: RawOrg = from_toml(&text, &label)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut seen = BTreeSet::new();
    let mut repos = Vec::new();
    let mut spans = Vec::new();
    for entry in raw.repos {
        let name = entry.name.get_ref().clone();
        let spot = |v: &Spanned<String>| (at(&text, &label, v), field_path(&text, v.span().start));
        if !seen.insert(name.clone()) {
            let (at, field) = spot(&entry.name);
            return Err(OrgError::DuplicateRepo { at, field, name });
        }
        let (origin_at, origin_field) = spot(&entry.origin);
        let missing = |reason: String| OrgError::MissingOrigin {
            at: origin_at.clone(),
            field: origin_field.clone(),
            repo: name.clone(),
            reason,
        };
        let written = entry.origin.get_ref();
        let (origin, source) = if is_url(written) {
            (written.clone(), Source::fetch(written)?)
        } else {
            let resolved = if Path::new(written).is_absolute() {
                Path::new(written).to_path_buf()
            } else {
                base.join(written)
            };
            let source = Source::open_local(&resolved)
                .ok_or_else(|| missing(format!("`{}` does not exist", resolved.display())))?;
            // An absolute path stays valid whatever directory later commands run in.
            let absolute = resolved.canonicalize().unwrap_or(resolved);
            (absolute.to_string_lossy().to_string(), source)
        };
        let manifest_bytes = source.read(Path::new("factory.toml"))?.ok_or_else(|| {
            missing(format!(
                "`{origin}` has no factory.toml on its default branch"
            ))
        })?;
        let manifest_label = format!("{name}/factory.toml");
        let manifest_text = String::from_utf8(manifest_bytes).map_err(|_| OrgError::Invalid {
            at: Location {
                file: manifest_label.as_str().into(),
                line: 1,
                col: 1,
            },
            field: String::new(),
            message: "not UTF-8".into(),
        })?;
        let load_schema = |rel: &Path| match source.read(rel) {
            Ok(Some(bytes)) => schema_from_bytes(&bytes),
            Ok(None) => Err(SchemaError::Missing),
            Err(e) => Err(SchemaError::Unreadable(e.to_string())),
        };
        let (manifest, manifest_spans) =
            parse_with_spans(&manifest_text, &manifest_label, load_schema)?;
        repos.push(Repo {
            name,
            origin,
            owner: entry.owner,
            manifest,
        });
        spans.push(manifest_spans);
    }
    let org = Org {
        name: raw.org.name,
        repos,
    };
    check_org(&org, &spans)?;
    Ok(org)
}

/// Checks across repos; `spans[i]` belongs to `org.repos[i]`.
pub(crate) fn check_org(org: &Org, spans: &[ManifestSpans]) -> Result<(), OrgError> {
    let mut providers: BTreeMap<&str, &str> = BTreeMap::new();
    for (repo, spans) in org.repos.iter().zip(spans) {
        for (p, (at, field)) in repo.manifest.provides.iter().zip(&spans.provides) {
            if let Some(first) = providers.insert(&p.contract, &repo.name) {
                return Err(OrgError::ProvidedTwice {
                    at: at.clone(),
                    field: field.clone(),
                    contract: p.contract.clone(),
                    first: first.to_string(),
                    second: repo.name.clone(),
                });
            }
        }
    }
    for (repo, spans) in org.repos.iter().zip(spans) {
        for (c, (at, field)) in repo.manifest.consumes.iter().zip(&spans.consumes) {
            if !providers.contains_key(c.contract.as_str()) {
                return Err(OrgError::Unprovided {
                    at: at.clone(),
                    field: field.clone(),
                    contract: c.contract.clone(),
                    repo: repo.name.clone(),
                });
            }
        }
        for (name, (at, field)) in repo.manifest.deploy_after.iter().zip(&spans.deploy_after) {
            if org.repo(name).is_none() {
                return Err(OrgError::UnknownDeployAfter {
                    at: at.clone(),
                    field: field.clone(),
                    name: name.clone(),
                });
            }
        }
    }
    match deploy_cycle(org) {
        Some(cycle) => Err(OrgError::DeployCycle { cycle }),
        None => Ok(()),
    }
}

/// A cycle in the `deploy_after` hints, first repo repeated at the end, if any.
fn deploy_cycle(org: &Org) -> Option<Vec<String>> {
    // Depth-first search with colours: 0 unvisited, 1 on the stack, 2 done.
    fn visit<'a>(
        org: &'a Org,
        name: &'a str,
        colour: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        colour.insert(name, 1);
        stack.push(name);
        for next in org
            .repo(name)
            .map(|r| r.manifest.deploy_after.as_slice())
            .unwrap_or_default()
        {
            match colour.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| *n == next.as_str()).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        stack.iter().skip(from).map(|s| s.to_string()).collect();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(org, next, colour, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        colour.insert(name, 2);
        None
    }
    let mut colour = BTreeMap::new();
    for repo in &org.repos {
        if colour.get(repo.name.as_str()).copied().unwrap_or(0) == 0
            && let Some(cycle) = visit(org, &repo.name, &mut colour, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
