//! What a consumer reads: a partial shape holding only the fields it uses (Pact-style).
//!
//! Parsed from field paths: `id`, `customer.name` (nesting), `items[].sku` (inside arrays).
//! A path may end in `?` (the reader copes with the field missing or null) and carry the type the
//! reader assumes, `total:number` or `createdAt:string:date-time`. Paths from a manifest carry
//! neither; [`Expectation::pin`] fills them from the writer's schema the reader was written against,
//! so a later change of that schema is judged against what the reader relied on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::SchemaError;
use super::shape::{Kind, Scalar, ScalarType, Shape};

/// The fields a reader reads from one contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    /// Reads by wire name, at the top level of the payload.
    pub fields: BTreeMap<String, Read>,
}

/// One field a reader reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Read {
    /// The reader reads the field as an array and looks inside its elements (`items[]`).
    pub array: bool,
    /// Whether the reader copes with the field being absent; `None` when unknown.
    pub optional: Option<bool>,
    /// Whether the reader copes with `null`; `None` when unknown.
    pub nullable: Option<bool>,
    /// The shape the reader assumes for the value (the element, for arrays) when it reads no
    /// deeper; `None` means it accepts anything.
    pub shape: Option<Shape>,
    /// Fields read inside the value (inside each element, for arrays).
    pub fields: BTreeMap<String, Read>,
}

impl Expectation {
    /// Parses field paths.
    pub fn parse<S: AsRef<str>>(paths: &[S]) -> Result<Expectation, SchemaError> {
        let mut e = Expectation::default();
        for p in paths {
            e.add_path(p.as_ref())?;
        }
        Ok(e)
    }

    /// Adds one read path.
    pub fn add_path(&mut self, text: &str) -> Result<(), SchemaError> {
        let bad = |reason: &str| SchemaError::BadPath {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let mut parts = text.trim().splitn(3, ':');
        let path = parts.next().unwrap_or_default();
        let shape = match parts.next() {
            None => None,
            Some(t) => {
                let ty = ScalarType::parse(t)
                    .ok_or_else(|| bad("expected a type: string, integer, number or boolean"))?;
                Some(Shape::new(Kind::Scalar(Scalar::of(
                    ty,
                    parts.next().map(str::to_string),
                ))))
            }
        };
        let (path, tolerant) = match path.strip_suffix('?') {
            Some(p) => (p, true),
            None => (path, false),
        };
        let segments: Vec<&str> = path.split('.').collect();
        let mut fields = &mut self.fields;
        let last = segments.len() - 1;
        for (i, seg) in segments.iter().enumerate() {
            let (name, array) = match seg.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (*seg, false),
            };
            if name.is_empty() || name.contains(['[', ']', '?']) {
                return Err(bad(
                    "expected field names separated by `.`, each optionally followed by `[]`",
                ));
            }
            let read = fields.entry(name.to_string()).or_default();
            read.array |= array;
            if i == last {
                if tolerant {
                    read.optional = Some(true);
                    read.nullable = Some(true);
                }
                if shape.is_some() {
                    read.shape = shape.clone();
                }
            }
            fields = &mut read.fields;
        }
        Ok(())
    }

    /// Fills what the reader assumes from the writer's shape where the paths did not say:
    /// requiredness, nullability and the leaf type the writer sent when the reader was written.
    pub fn pin(&self, writer: &Shape) -> Expectation {
        Expectation {
            fields: pin_fields(&self.fields, writer),
        }
    }

    /// Whether the reader reads this path or anything below it (`a.b`, `items[].sku`; `[]` optional).
    pub fn reads(&self, path: &str) -> bool {
        let mut fields = &self.fields;
        for seg in path.split('.') {
            match fields.get(seg.trim_end_matches("[]")) {
                Some(r) => fields = &r.fields,
                None => return false,
            }
        }
        true
    }

    /// The read at a dotted path (`[]` markers ignored).
    pub fn read_mut(&mut self, path: &str) -> Option<&mut Read> {
        let mut segs = path.split('.').map(|s| s.trim_end_matches("[]")).peekable();
        let mut fields = &mut self.fields;
        while let Some(seg) = segs.next() {
            let r = fields.get_mut(seg)?;
            if segs.peek().is_none() {
                return Some(r);
            }
            fields = &mut r.fields;
        }
        None
    }

    /// Removes the read at a dotted path and returns it.
    pub fn remove(&mut self, path: &str) -> Option<Read> {
        let (parent, name) = match path.rsplit_once('.') {
            Some((p, n)) => (Some(p), n.trim_end_matches("[]")),
            None => (None, path.trim_end_matches("[]")),
        };
        let fields = match parent {
            Some(p) => &mut self.read_mut(p)?.fields,
            None => &mut self.fields,
        };
        fields.remove(name)
    }

    /// Inserts a read at a dotted path; the parents must already be read.
    pub fn insert(&mut self, path: &str, read: Read) -> bool {
        let (parent, name) = match path.rsplit_once('.') {
            Some((p, n)) => (Some(p), n),
            None => (None, path),
        };
        let fields = match parent {
            Some(p) => match self.read_mut(p) {
                Some(r) => &mut r.fields,
                None => return false,
            },
            None => &mut self.fields,
        };
        fields.insert(name.trim_end_matches("[]").to_string(), read);
        true
    }

    /// Every read path, as `a.b` / `items[].sku`, depth first.
    pub fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect(&self.fields, "", &mut out);
        out
    }

    /// Wire names of every field read, at any depth (for the reader's casing).
    pub fn names(&self) -> Vec<&str> {
        fn walk<'a>(f: &'a BTreeMap<String, Read>, out: &mut Vec<&'a str>) {
            for (k, r) in f {
                out.push(k);
                walk(&r.fields, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.fields, &mut out);
        out
    }
}

fn collect(fields: &BTreeMap<String, Read>, prefix: &str, out: &mut Vec<String>) {
    for (name, r) in fields {
        let p = format!("{prefix}{name}{}", if r.array { "[]" } else { "" });
        if r.fields.is_empty() {
            out.push(p);
        } else {
            collect(&r.fields, &format!("{p}."), out);
        }
    }
}

fn pin_fields(fields: &BTreeMap<String, Read>, writer: &Shape) -> BTreeMap<String, Read> {
    let obj = writer.object();
    fields
        .iter()
        .map(|(name, read)| {
            let mut r = read.clone();
            if let Some(f) = obj.and_then(|o| o.fields.get(name)) {
                r.optional.get_or_insert(!f.required);
                r.nullable.get_or_insert(f.shape.nullable);
                let value = match (&f.shape.kind, read.array) {
                    (Kind::Array { items }, true) => items.as_ref(),
                    _ => &f.shape,
                };
                if read.fields.is_empty() {
                    if r.shape.is_none() && !matches!(value.kind, Kind::Any) {
                        r.shape = Some(Shape {
                            nullable: false,
                            ..value.clone()
                        });
                    }
                } else {
                    r.fields = pin_fields(&read.fields, value);
                }
            }
            (name.clone(), r)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests {
    use super::*;
    use serde_json::json;

    fn check(paths: &[&str], expected: Result<&[&str], &str>) {
        match (Expectation::parse(paths), expected) {
            (Ok(e), Ok(want)) => assert_eq!(e.paths(), want),
            (Err(err), Err(want)) => assert!(err.to_string().contains(want), "{err}"),
            (got, want) => panic!("{paths:?}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn parses_paths() {
        check(
            &["id", "customer.name", "items[].sku", "items[].qty"],
            Ok(&["customer.name", "id", "items[].qty", "items[].sku"]),
        );
        check(&["note?", "total:number"], Ok(&["note", "total"]));
        check(&["a..b"], Err("expected field names"));
        check(&["x:strng"], Err("expected a type"));
        check(&["a[0]"], Err("expected field names"));
    }

    #[test]
    fn pin_takes_the_writers_view() {
        let w = Shape::from_schema(&json!({"type": "object", "required": ["id"], "properties": {
            "id": {"type": "integer"}, "note": {"type": ["string", "null"]},
            "items": {"type": "array", "items": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}}
        }}))
        .unwrap();
        let e = Expectation::parse(&["id", "note", "items[].sku"])
            .unwrap()
            .pin(&w);
        assert_eq!(e.fields["id"].optional, Some(false));
        assert_eq!(e.fields["note"].nullable, Some(true));
        let sku = &e.fields["items"].fields["sku"];
        assert_eq!(
            sku.shape.as_ref().map(Shape::type_name).as_deref(),
            Some("string")
        );
        assert!(e.reads("items[].sku") && e.reads("items") && !e.reads("total"));
    }
}
