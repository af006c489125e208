//! Static checks of one flow: does what the reader reads exist, with the type, requiredness and
//! nullability it relies on, in what the writer sends?

use std::collections::{BTreeMap, BTreeSet};

use super::expect::{Expectation, Read};
use super::finding::{Category, Ctx, Finding, Fix, Rule, Severity, join};
use super::naming;
use super::shape::{Kind, ObjectShape, Shape};
use super::subset::escapes;

/// Checks a reader's expectation against a writer's shape.
pub fn check_reads(writer: &Shape, reads: &Expectation, ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    walk(writer, &reads.fields, "", ctx, &mut out);
    out
}

/// Whether the reader accepts everything the writer can send: no error finding.
pub fn accepts(reads: &Expectation, writer: &Shape) -> bool {
    let ctx = Ctx {
        contract: String::new(),
        writer: String::new(),
        reader: None,
    };
    check_reads(writer, reads, &ctx)
        .iter()
        .all(|f| f.severity < Severity::Error)
}

/// Reader-side change: what the new expectation breaks that the old did not (narrowing), plus an
/// info finding for each path the reader stops reading.
pub fn compare_reader(
    old: &Expectation,
    new: &Expectation,
    writer: &Shape,
    ctx: &Ctx,
) -> Vec<Finding> {
    let key = |f: &Finding| {
        (
            f.rule.id(),
            f.reader.as_ref().map(|l| l.path.clone()),
            f.writer.path.clone(),
        )
    };
    let before: BTreeSet<_> = check_reads(writer, old, ctx).iter().map(key).collect();
    let mut out: Vec<Finding> = check_reads(writer, new, ctx)
        .into_iter()
        .filter(|f| !before.contains(&key(f)))
        .collect();
    let now: BTreeSet<String> = new.paths().into_iter().collect();
    for p in old.paths().into_iter().filter(|p| !now.contains(p)) {
        out.push(ctx.finding(
            Rule::new(Category::Existence, "read-dropped"),
            Severity::Info,
            &p,
            Some(&p),
            format!("{} no longer reads `{p}`", ctx.reader_name()),
        ));
    }
    out
}

/// The severity for a condition the reader may or may not cope with.
fn tolerance(copes: Option<bool>) -> Option<Severity> {
    match copes {
        Some(true) => None,
        Some(false) => Some(Severity::Error),
        None => Some(Severity::Warning),
    }
}

fn walk(
    writer: &Shape,
    reads: &BTreeMap<String, Read>,
    prefix: &str,
    ctx: &Ctx,
    out: &mut Vec<Finding>,
) {
    match &writer.kind {
        Kind::Any => {}
        Kind::Object(obj) => {
            for (name, read) in reads {
                field(obj, name, read, prefix, ctx, out);
            }
        }
        Kind::Union { members } => {
            for m in members {
                walk(m, reads, prefix, ctx, out);
            }
        }
        _ => {
            let p = if prefix.is_empty() {
                "(payload)"
            } else {
                prefix
            };
            out.push(ctx.finding(
                Rule::new(Category::Type, "not-an-object"),
                Severity::Error,
                prefix,
                Some(prefix),
                format!(
                    "{} reads fields inside `{p}`, which is {}",
                    ctx.reader_name(),
                    writer.type_name()
                ),
            ));
        }
    }
}

fn field(
    obj: &ObjectShape,
    name: &str,
    read: &Read,
    prefix: &str,
    ctx: &Ctx,
    out: &mut Vec<Finding>,
) {
    let p = join(prefix, name);
    let Some(f) = obj.fields.get(name) else {
        missing(obj, name, read, prefix, ctx, out);
        return;
    };
    let rule = |cat, n: &str| Rule::new(cat, n);
    if !f.required
        && let Some(sev) = tolerance(read.optional)
    {
        let msg = format!(
            "{} reads `{p}`, which {} may omit",
            ctx.reader_name(),
            ctx.writer
        );
        out.push(ctx.finding(
            rule(Category::Requiredness, "may-be-omitted"),
            sev,
            &p,
            Some(&p),
            msg,
        ));
    }
    if f.shape.nullable
        && let Some(sev) = tolerance(read.nullable)
    {
        let msg = format!(
            "{} reads `{p}`, which {} may send as null",
            ctx.reader_name(),
            ctx.writer
        );
        out.push(ctx.finding(
            rule(Category::Nullability, "may-be-null"),
            sev,
            &p,
            Some(&p),
            msg,
        ));
    }
    let mut value = &f.shape;
    let mut p = p;
    if read.array {
        match &value.kind {
            Kind::Array { items } => value = items,
            Kind::Any => return,
            _ => {
                let msg = format!(
                    "{} reads `{p}` as an array, {} sends {}",
                    ctx.reader_name(),
                    ctx.writer,
                    value.type_name()
                );
                out.push(ctx.finding(
                    rule(Category::Structure, "array-mismatch"),
                    Severity::Error,
                    &p,
                    Some(&p),
                    msg,
                ));
                return;
            }
        }
        p.push_str("[]");
    }
    if !read.fields.is_empty() {
        walk(value, &read.fields, &p, ctx, out);
    } else if let Some(assumed) = &read.shape {
        for i in escapes(assumed, value, &p, false) {
            out.push(ctx.finding(i.rule, i.severity, &i.path, Some(&i.path), i.message));
        }
    }
}

fn missing(
    obj: &ObjectShape,
    name: &str,
    read: &Read,
    prefix: &str,
    ctx: &Ctx,
    out: &mut Vec<Finding>,
) {
    let p = join(prefix, name);
    let key = naming::key(name);
    if let Some(sibling) = obj.fields.keys().find(|k| naming::key(k) == key) {
        let w = join(prefix, sibling);
        let mut f = ctx.finding(
            Rule::new(Category::Naming, "casing-mismatch"),
            Severity::Error,
            &w,
            Some(&p),
            format!(
                "{} reads `{p}` but {} sends `{w}`: same name, different casing",
                ctx.reader_name(),
                ctx.writer
            ),
        );
        f.fixes = casing_fixes(ctx, sibling, name);
        out.push(f);
        return;
    }
    let sev = if read.optional == Some(true) {
        Severity::Warning
    } else {
        Severity::Error
    };
    out.push(ctx.finding(
        Rule::new(Category::Existence, "missing"),
        sev,
        &p,
        Some(&p),
        format!(
            "{} reads `{p}`, which {} does not send",
            ctx.reader_name(),
            ctx.writer
        ),
    ));
    let same_type = |s: &Shape| read.shape.as_ref().is_none_or(|r| r.same_type(s));
    for (k, _) in obj
        .fields
        .iter()
        .filter(|(k, f)| naming::near(k, name) && same_type(&f.shape))
    {
        let w = join(prefix, k);
        let mut f = ctx.finding(
            Rule::new(Category::Naming, "possible-rename"),
            Severity::Warning,
            &w,
            Some(&p),
            format!(
                "{} sends `{w}`, which may be what {} means by `{p}`",
                ctx.writer,
                ctx.reader_name()
            ),
        );
        f.fixes = vec![Fix {
            repo: ctx.reader_name().to_string(),
            suggestion: format!("read `{k}` if it is the same field"),
        }];
        out.push(f);
    }
}

/// One fix per side for a casing mismatch: the writer can change the wire name, the reader what it reads.
pub(crate) fn casing_fixes(ctx: &Ctx, sent: &str, read: &str) -> Vec<Fix> {
    vec![
        Fix {
            repo: ctx.writer.clone(),
            suggestion: format!(
                "serialize `{sent}` as `{read}` (serde `rename`, a pydantic alias or the JSON name option), or send both while readers move"
            ),
        },
        Fix {
            repo: ctx.reader_name().to_string(),
            suggestion: format!(
                "read `{sent}` instead of `{read}`, or accept both (serde `alias`, a pydantic validation alias)"
            ),
        },
    ]
}
