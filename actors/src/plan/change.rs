//! Applying a change spec to a writer's shape and to a reader's expectation, and the
//! intermediate forms a parallel change goes through (a writer sending both, a reader taking both).

use crate::contracts::{Expectation, Field, Kind, ObjectShape, Read, Scalar, ScalarType, Shape};
use crate::outcome::ChangeSpec;

/// The shape a change spec's type names: a scalar, or an unconstrained object or array.
pub(crate) fn typed(ty: &str, format: Option<&str>) -> Result<Shape, String> {
    let kind = match ty {
        "object" => Kind::Object(ObjectShape {
            fields: Default::default(),
            open: true,
        }),
        "array" => Kind::Array {
            items: Box::new(Shape::any()),
        },
        other => {
            let t = ScalarType::parse(other).ok_or_else(|| format!("unknown type `{other}`"))?;
            Kind::Scalar(Scalar::of(t, format.map(str::to_string)))
        }
    };
    Ok(Shape::new(kind))
}

/// Splits `a.b[].c` into the parent segments and the last field name.
fn split(path: &str) -> (Vec<&str>, &str) {
    let mut segs: Vec<&str> = path.split('.').collect();
    let last = segs.pop().unwrap_or_default();
    (segs, last.trim_end_matches("[]"))
}

/// The object holding the field at `path` (`items[].sku` -> the element object of `items`).
fn parent<'a>(shape: &'a mut Shape, path: &str) -> Result<(&'a mut ObjectShape, String), String> {
    let (segs, last) = split(path);
    let mut cur = shape;
    for seg in segs {
        let name = seg.trim_end_matches("[]");
        let obj = cur
            .object_mut()
            .ok_or_else(|| format!("`{path}`: `{name}` is not inside an object"))?;
        let field = obj
            .fields
            .get_mut(name)
            .ok_or_else(|| format!("`{path}`: no field `{name}`"))?;
        // Fields inside arrays live in the element shape.
        cur = match &mut field.shape {
            Shape {
                kind: Kind::Array { items },
                ..
            } => items,
            other => other,
        };
    }
    let obj = cur
        .object_mut()
        .ok_or_else(|| format!("`{path}`: the parent is not an object"))?;
    Ok((obj, last.to_string()))
}

/// The writer's shape after a change.
pub(crate) fn apply_writer(shape: &Shape, spec: &ChangeSpec) -> Result<Shape, String> {
    let mut out = shape.clone();
    match spec {
        ChangeSpec::AddField {
            field, ty, format, ..
        } => {
            let new = typed(ty, format.as_deref())?;
            let (obj, name) = parent(&mut out, field)?;
            if obj.fields.contains_key(&name) {
                return Err(format!("`{field}` already exists"));
            }
            obj.fields.insert(
                name,
                Field {
                    shape: new,
                    required: true,
                },
            );
        }
        ChangeSpec::RenameField { from, to, .. } => {
            let (obj, name) = parent(&mut out, from)?;
            let to = to.rsplit('.').next().unwrap_or(to).to_string();
            if obj.fields.contains_key(&to) {
                return Err(format!(
                    "cannot rename `{from}` to `{to}`: `{to}` already exists"
                ));
            }
            let f = obj
                .fields
                .remove(&name)
                .ok_or_else(|| format!("no field `{from}` to rename"))?;
            obj.fields.insert(to, f);
        }
        ChangeSpec::RetypeField { field, ty, .. } => {
            let new = typed(ty, None)?;
            let (obj, name) = parent(&mut out, field)?;
            let f = obj
                .fields
                .get_mut(&name)
                .ok_or_else(|| format!("no field `{field}` to retype"))?;
            f.shape = Shape {
                nullable: f.shape.nullable,
                ..new
            };
        }
        ChangeSpec::RemoveField { field, .. } => {
            let (obj, name) = parent(&mut out, field)?;
            obj.fields
                .remove(&name)
                .ok_or_else(|| format!("no field `{field}` to remove"))?;
        }
    }
    Ok(out)
}

/// A reader's expectation after a change: it reads an added field, follows a rename or a
/// retype of what it reads, and stops reading a removed field.
pub(crate) fn apply_reader(exp: &Expectation, spec: &ChangeSpec) -> Result<Expectation, String> {
    let mut out = exp.clone();
    match spec {
        ChangeSpec::AddField {
            field, ty, format, ..
        } => {
            out.add_path(field).map_err(|e| e.to_string())?;
            if let Some(r) = out.read_mut(field) {
                r.optional = Some(false);
                r.nullable = Some(false);
                r.shape = Some(typed(ty, format.as_deref())?)
                    .filter(|s| matches!(s.kind, Kind::Scalar(_)));
            }
        }
        ChangeSpec::RenameField { from, to, .. } => {
            if let Some(r) = out.remove(from) {
                let to = to.rsplit('.').next().unwrap_or(to);
                let (segs, _) = split(from);
                let path = segs
                    .iter()
                    .chain(std::iter::once(&to))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(".");
                out.insert(&path, r);
            }
        }
        ChangeSpec::RetypeField { field, ty, .. } => {
            if let Some(r) = out.read_mut(field) {
                r.shape = Some(typed(ty, None)?).filter(|s| matches!(s.kind, Kind::Scalar(_)));
            }
        }
        ChangeSpec::RemoveField { field, .. } => {
            out.remove(field);
        }
    }
    Ok(out)
}

/// A writer that sends what both versions send: every field of either, a field whose shape
/// changed as either shape.
pub(crate) fn merge_writer(old: &Shape, new: &Shape) -> Shape {
    if old == new {
        return old.clone();
    }
    match (&old.kind, &new.kind) {
        (Kind::Object(o), Kind::Object(n)) => {
            let mut fields = o.fields.clone();
            for (k, nf) in &n.fields {
                let merged = match o.fields.get(k) {
                    Some(of) => Field {
                        shape: merge_writer(&of.shape, &nf.shape),
                        required: of.required && nf.required,
                    },
                    None => nf.clone(),
                };
                fields.insert(k.clone(), merged);
            }
            Shape {
                kind: Kind::Object(ObjectShape {
                    fields,
                    open: o.open || n.open,
                }),
                nullable: old.nullable || new.nullable,
            }
        }
        _ => Shape {
            kind: Kind::Union {
                members: vec![
                    Shape {
                        nullable: false,
                        ..old.clone()
                    },
                    Shape {
                        nullable: false,
                        ..new.clone()
                    },
                ],
            },
            nullable: old.nullable || new.nullable,
        },
    }
}

/// A reader that copes with both versions: reads only one version has become optional, a value
/// whose assumed shape changed is taken in either shape.
pub(crate) fn merge_reader(old: &Expectation, new: &Expectation) -> Expectation {
    Expectation {
        fields: merge_reads(&old.fields, &new.fields),
    }
}

fn merge_reads(
    old: &std::collections::BTreeMap<String, Read>,
    new: &std::collections::BTreeMap<String, Read>,
) -> std::collections::BTreeMap<String, Read> {
    let mut out = std::collections::BTreeMap::new();
    for k in old.keys().chain(new.keys()) {
        let r = match (old.get(k), new.get(k)) {
            (Some(o), Some(n)) => Read {
                array: o.array || n.array,
                optional: o
                    .optional
                    .zip(n.optional)
                    .map(|(a, b)| a || b)
                    .or(o.optional)
                    .or(n.optional),
                nullable: o
                    .nullable
                    .zip(n.nullable)
                    .map(|(a, b)| a || b)
                    .or(o.nullable)
                    .or(n.nullable),
                shape: match (&o.shape, &n.shape) {
                    (Some(a), Some(b)) if a != b => Some(merge_writer(a, b)),
                    (Some(a), Some(_)) => Some(a.clone()),
                    _ => None,
                },
                fields: merge_reads(&o.fields, &n.fields),
            },
            (Some(only), None) | (None, Some(only)) => Read {
                optional: Some(true),
                ..only.clone()
            },
            (None, None) => continue,
        };
        out.insert(k.clone(), r);
    }
    out
}
