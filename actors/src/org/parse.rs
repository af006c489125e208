//! Parsing one repo's `factory.toml` into a [`Manifest`], with contract schemas loaded.
//!
//! The raw shapes mirror the file with `deny_unknown_fields`, so a typo is an error rather than
//! a silently ignored key. Values that later checks point at keep their spans.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use super::error::{Location, OrgError, SchemaError};
use super::model::{Commands, Consumed, Manifest, Medium, Provided, UnitKind};
use super::toml_loc::{at, field_path, from_toml};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    repo: RawRepo,
    commands: RawCommands,
    #[serde(default)]
    provides: Vec<RawProvided>,
    #[serde(default)]
    consumes: Vec<RawConsumed>,
    #[serde(default)]
    ui: RawUi,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepo {
    kind: UnitKind,
    #[serde(default)]
    deploy_after: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommands {
    setup: Option<String>,
    build: Option<String>,
    test: String,
    start: Option<String>,
    health: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum MediumKind {
    Http,
    Event,
    Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvided {
    contract: Spanned<String>,
    kind: Spanned<MediumKind>,
    schema: Spanned<String>,
    method: Option<String>,
    path: Option<String>,
    channel: Option<String>,
    trigger: Option<String>,
    table: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsumed {
    contract: Spanned<String>,
    #[serde(default)]
    reads: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUi {
    #[serde(default)]
    pages: Vec<String>,
}

/// Where the values that cross-repo checks point at were written.
#[derive(Debug, Clone, Default)]
pub(crate) struct ManifestSpans {
    /// `repo.deploy_after[i]`, with its field path.
    pub deploy_after: Vec<(Location, String)>,
    /// `provides[i].contract`.
    pub provides: Vec<(Location, String)>,
    /// `consumes[i].contract`.
    pub consumes: Vec<(Location, String)>,
}

/// Parse a `factory.toml` whose text is `text`; `file_label` names it in errors and
/// `load_schema` loads a schema by its path relative to the repo root.
pub fn parse_manifest(
    text: &str,
    file_label: &str,
    load_schema: impl Fn(&Path) -> Result<Value, SchemaError>,
) -> Result<Manifest, OrgError> {
    parse_with_spans(text, file_label, load_schema).map(|(m, _)| m)
}

/// Parse a schema file's bytes: the usual body of a schema loader.
pub fn schema_from_bytes(bytes: &[u8]) -> Result<Value, SchemaError> {
    serde_json::from_slice(bytes).map_err(|e| SchemaError::NotJson(e.to_string()))
}

pub(crate) fn parse_with_spans(
    text: &str,
    file: &str,
    load_schema: impl Fn(&Path) -> Result<Value, SchemaError>,
) -> Result<(Manifest, ManifestSpans), OrgError> {
    let raw: RawManifest = from_toml(text, file)?;
    let spanned = |v: &Spanned<String>| {
        let loc = at(text, file, v);
        (loc, field_path(text, v.span().start))
    };
    let spans = ManifestSpans {
        deploy_after: raw.repo.deploy_after.iter().map(spanned).collect(),
        provides: raw.provides.iter().map(|p| spanned(&p.contract)).collect(),
        consumes: raw.consumes.iter().map(|c| spanned(&c.contract)).collect(),
    };
    let provides = raw
        .provides
        .into_iter()
        .map(|p| provided(text, file, p, &load_schema))
        .collect::<Result<Vec<_>, _>>()?;
    let c = raw.commands;
    let manifest = Manifest {
        kind: raw.repo.kind,
        deploy_after: raw
            .repo
            .deploy_after
            .into_iter()
            .map(Spanned::into_inner)
            .collect(),
        commands: Commands {
            setup: c.setup,
            build: c.build,
            test: c.test,
            start: c.start,
            health: c.health,
        },
        provides,
        consumes: raw
            .consumes
            .into_iter()
            .map(|c| Consumed {
                contract: c.contract.into_inner(),
                reads: c.reads,
            })
            .collect(),
        ui_pages: raw.ui.pages,
    };
    Ok((manifest, spans))
}

fn provided(
    text: &str,
    file: &str,
    p: RawProvided,
    load_schema: &impl Fn(&Path) -> Result<Value, SchemaError>,
) -> Result<Provided, OrgError> {
    let kind_at = at(text, file, &p.kind);
    let kind_field = field_path(text, p.kind.span().start);
    let prefix = kind_field
        .strip_suffix(".kind")
        .unwrap_or(&kind_field)
        .to_string();
    let require = |value: Option<String>, key: &str, kind: &str| {
        value.ok_or_else(|| OrgError::Invalid {
            at: kind_at.clone(),
            field: format!("{prefix}.{key}"),
            message: format!("missing field `{key}`, required for kind \"{kind}\""),
        })
    };
    let medium = match *p.kind.get_ref() {
        MediumKind::Http => Medium::Http {
            method: require(p.method, "method", "http")?,
            path: require(p.path, "path", "http")?,
        },
        MediumKind::Event => Medium::Event {
            channel: require(p.channel, "channel", "event")?,
            trigger: p.trigger,
        },
        MediumKind::Table => Medium::Table {
            table: require(p.table, "table", "table")?,
        },
    };
    let schema_at = at(text, file, &p.schema);
    let field = field_path(text, p.schema.span().start);
    let schema_path = PathBuf::from(p.schema.get_ref());
    let schema = load_schema(&schema_path).map_err(|reason| match reason {
        SchemaError::Missing => OrgError::MissingSchema {
            at: schema_at,
            field,
            schema: p.schema.get_ref().clone(),
        },
        reason => OrgError::BadSchema {
            at: schema_at,
            field,
            schema: p.schema.get_ref().clone(),
            reason,
        },
    })?;
    Ok(Provided {
        contract: p.contract.into_inner(),
        medium,
        schema_path,
        schema,
    })
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
