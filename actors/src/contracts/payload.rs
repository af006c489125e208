//! The dynamic check: a payload captured from a running writer against what a reader reads.

use std::collections::BTreeMap;

use serde_json::Value;

use super::check::casing_fixes;
use super::expect::{Expectation, Read};
use super::finding::{Category, Ctx, Finding, Rule, Severity, join};
use super::naming;
use super::shape::{Kind, ScalarType};

/// Checks one observed payload against a reader's expectation. Findings inside arrays are
/// reported once per path, not once per element.
pub fn check_payload(reads: &Expectation, payload: &Value, ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    walk(&reads.fields, payload, "", ctx, &mut out);
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|f| seen.insert((f.rule.id(), f.writer.path.clone())));
    out
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(
    reads: &BTreeMap<String, Read>,
    value: &Value,
    prefix: &str,
    ctx: &Ctx,
    out: &mut Vec<Finding>,
) {
    let Value::Object(obj) = value else {
        let msg = format!(
            "{} reads fields inside `{prefix}`, the payload has {}",
            ctx.reader_name(),
            json_type(value)
        );
        out.push(ctx.finding(
            Rule::new(Category::Type, "not-an-object"),
            Severity::Error,
            prefix,
            Some(prefix),
            msg,
        ));
        return;
    };
    for (name, read) in reads {
        let p = join(prefix, name);
        let Some(v) = obj.get(name) else {
            let key = naming::key(name);
            if let Some(sib) = obj.keys().find(|k| naming::key(k) == key) {
                let w = join(prefix, sib);
                let msg = format!(
                    "{} reads `{p}` but the payload has `{w}`: same name, different casing",
                    ctx.reader_name()
                );
                let mut f = ctx.finding(
                    Rule::new(Category::Naming, "casing-mismatch"),
                    Severity::Error,
                    &w,
                    Some(&p),
                    msg,
                );
                f.fixes = casing_fixes(ctx, sib, name);
                out.push(f);
            } else if read.optional != Some(true) {
                let msg = format!("{} reads `{p}`, which the payload lacks", ctx.reader_name());
                out.push(ctx.finding(
                    Rule::new(Category::Existence, "missing"),
                    Severity::Error,
                    &p,
                    Some(&p),
                    msg,
                ));
            }
            continue;
        };
        value_at(read, v, &p, ctx, out);
    }
}

fn value_at(read: &Read, v: &Value, p: &str, ctx: &Ctx, out: &mut Vec<Finding>) {
    if v.is_null() {
        if read.nullable != Some(true) {
            let msg = format!(
                "{} reads `{p}`, which the payload has as null",
                ctx.reader_name()
            );
            out.push(ctx.finding(
                Rule::new(Category::Nullability, "null"),
                Severity::Error,
                p,
                Some(p),
                msg,
            ));
        }
        return;
    }
    if read.array {
        let Value::Array(items) = v else {
            let msg = format!(
                "{} reads `{p}` as an array, the payload has {}",
                ctx.reader_name(),
                json_type(v)
            );
            out.push(ctx.finding(
                Rule::new(Category::Structure, "array-mismatch"),
                Severity::Error,
                p,
                Some(p),
                msg,
            ));
            return;
        };
        let inner = Read {
            array: false,
            ..read.clone()
        };
        let p = format!("{p}[]");
        for item in items {
            value_at(&inner, item, &p, ctx, out);
        }
        return;
    }
    if !read.fields.is_empty() {
        walk(&read.fields, v, p, ctx, out);
        return;
    }
    let Some(Kind::Scalar(s)) = read.shape.as_ref().map(|s| &s.kind) else {
        return;
    };
    let got = json_type(v);
    let ok = ScalarType::parse(got).is_some_and(|t| t.fits(s.ty));
    if !ok {
        let msg = format!(
            "{} reads `{p}` as {}, the payload has {got}",
            ctx.reader_name(),
            s.ty.name()
        );
        out.push(ctx.finding(
            Rule::new(Category::Type, "type-mismatch"),
            Severity::Error,
            p,
            Some(p),
            msg,
        ));
    }
}
