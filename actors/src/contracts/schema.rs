//! Parsing JSON Schema into a [`Shape`], with a JSON pointer to whatever fails.

use std::collections::BTreeMap;

use serde_json::Value;

use super::SchemaError;
use super::shape::{Field, Kind, ObjectShape, Scalar, ScalarType, Shape};

/// Parses a JSON Schema document.
pub(crate) fn parse_schema(schema: &Value) -> Result<Shape, SchemaError> {
    parse(schema, &mut Vec::new())
}

/// Escapes one JSON pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointer of a path of tokens.
fn pointer(path: &[String]) -> String {
    path.iter().map(|t| format!("/{}", escape(t))).collect()
}

fn at(path: &[String], token: &str) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(token.to_string());
    p
}

fn bad(path: &[String], keyword: &str, expected: &'static str) -> SchemaError {
    SchemaError::BadKeyword {
        pointer: pointer(&at(path, keyword)),
        keyword: keyword.to_string(),
        expected,
    }
}

/// Deepest nesting of schema keywords accepted; a schema from a repo must not exhaust the stack.
pub const MAX_DEPTH: usize = 128;

fn parse(schema: &Value, path: &mut Vec<String>) -> Result<Shape, SchemaError> {
    if path.len() > MAX_DEPTH {
        return Err(SchemaError::TooDeep {
            pointer: pointer(path),
        });
    }
    let obj = match schema {
        Value::Bool(true) => return Ok(Shape::any()),
        Value::Object(o) => o,
        _ => {
            return Err(SchemaError::NotASchema {
                pointer: pointer(path),
            });
        }
    };
    for kw in ["$ref", "allOf", "not", "if", "patternProperties"] {
        if obj.contains_key(kw) {
            return Err(SchemaError::Unsupported {
                pointer: pointer(&at(path, kw)),
                keyword: kw.to_string(),
            });
        }
    }
    for kw in ["oneOf", "anyOf"] {
        if let Some(list) = obj.get(kw) {
            let list = list
                .as_array()
                .ok_or_else(|| bad(path, kw, "an array of schemas"))?;
            let mut members = Vec::new();
            for (i, m) in list.iter().enumerate() {
                path.push(kw.to_string());
                path.push(i.to_string());
                let shape = parse(m, path);
                path.truncate(path.len() - 2);
                members.push(shape?);
            }
            return Ok(union(members));
        }
    }
    let types: Vec<String> = match obj.get("type") {
        None => Vec::new(),
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(path, "type", "a type name"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad(path, "type", "a type name or a list of them")),
    };
    let types = if types.is_empty() {
        inferred_type(obj).into_iter().collect()
    } else {
        types
    };
    if types.is_empty() {
        return Ok(Shape::any());
    }
    let mut members = Vec::new();
    for t in &types {
        members.push(parse_typed(t, obj, path)?);
    }
    Ok(union(members))
}

/// Without `type`, the keywords present say what the schema is about.
fn inferred_type(obj: &serde_json::Map<String, Value>) -> Option<String> {
    if obj.contains_key("properties") {
        return Some("object".into());
    }
    if obj.contains_key("items") {
        return Some("array".into());
    }
    let first = obj
        .get("enum")
        .and_then(|e| e.as_array())
        .and_then(|e| e.first())
        .or(obj.get("const"))?;
    Some(
        match first {
            Value::String(_) => "string",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            _ => return None,
        }
        .into(),
    )
}

/// Folds `null` members into `nullable` and collapses a single member.
fn union(members: Vec<Shape>) -> Shape {
    let mut nullable = false;
    let mut rest = Vec::new();
    for m in members {
        nullable |= m.nullable || matches!(m.kind, Kind::Null);
        if !matches!(m.kind, Kind::Null) {
            rest.push(Shape {
                nullable: false,
                ..m
            });
        }
    }
    match rest.len() {
        0 => Shape {
            kind: Kind::Null,
            nullable: true,
        },
        1 => Shape {
            nullable,
            ..rest.remove(0)
        },
        _ => Shape {
            kind: Kind::Union { members: rest },
            nullable,
        },
    }
}

fn parse_typed(
    ty: &str,
    obj: &serde_json::Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<Shape, SchemaError> {
    let kind = match ty {
        "null" => Kind::Null,
        "object" => Kind::Object(parse_object(obj, path)?),
        "array" => {
            let items = match obj.get("items") {
                None => Shape::any(),
                Some(items) => {
                    path.push("items".into());
                    let s = parse(items, path);
                    path.pop();
                    s?
                }
            };
            Kind::Array {
                items: Box::new(items),
            }
        }
        other => {
            let Some(t) = ScalarType::parse(other) else {
                return Err(SchemaError::UnknownType {
                    pointer: pointer(&at(path, "type")),
                    ty: other.to_string(),
                });
            };
            Kind::Scalar(parse_scalar(t, obj, path)?)
        }
    };
    Ok(Shape::new(kind))
}

fn parse_object(
    obj: &serde_json::Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<ObjectShape, SchemaError> {
    let required: Vec<&str> = match obj.get("required") {
        None => Vec::new(),
        Some(Value::Array(r)) => r
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| bad(path, "required", "a list of field names"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad(path, "required", "a list of field names")),
    };
    let open = !matches!(obj.get("additionalProperties"), Some(Value::Bool(false)));
    let mut fields = BTreeMap::new();
    if let Some(props) = obj.get("properties") {
        let props = props
            .as_object()
            .ok_or_else(|| bad(path, "properties", "an object of schemas"))?;
        for (name, schema) in props {
            path.push("properties".into());
            path.push(name.clone());
            let shape = parse(schema, path);
            path.truncate(path.len() - 2);
            fields.insert(
                name.clone(),
                Field {
                    shape: shape?,
                    required: required.contains(&name.as_str()),
                },
            );
        }
    }
    Ok(ObjectShape { fields, open })
}

fn parse_scalar(
    ty: ScalarType,
    obj: &serde_json::Map<String, Value>,
    path: &[String],
) -> Result<Scalar, SchemaError> {
    let num = |k: &str| match obj.get(k) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| bad(path, k, "a number")),
    };
    let len = |k: &str| match obj.get(k) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(path, k, "a non-negative integer")),
    };
    let format = match obj.get("format") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| bad(path, "format", "a string"))?
                .to_string(),
        ),
    };
    let values = match (obj.get("enum"), obj.get("const")) {
        (Some(Value::Array(vs)), _) => Some(vs.iter().filter(|v| !v.is_null()).cloned().collect()),
        (Some(_), _) => return Err(bad(path, "enum", "an array of values")),
        (None, Some(c)) => Some(vec![c.clone()]),
        (None, None) => None,
    };
    Ok(Scalar {
        ty,
        format,
        values,
        minimum: num("minimum")?,
        maximum: num("maximum")?,
        min_length: len("minLength")?,
        max_length: len("maxLength")?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, expected: Result<&str, &str>) {
        let got = Shape::from_schema(&schema)
            .map(|s| s.type_name())
            .map_err(|e| e.to_string());
        match (got, expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e),
            (Err(g), Err(e)) => assert!(g.contains(e), "error {g:?} should contain {e:?}"),
            (g, e) => panic!("{schema}: got {g:?}, expected {e:?}"),
        }
    }

    #[test]
    fn parses_kinds() {
        check(
            json!({"type": "object", "properties": {"a": {"type": "string"}}}),
            Ok("object"),
        );
        check(
            json!({"type": "array", "items": {"type": "integer"}}),
            Ok("array"),
        );
        check(
            json!({"type": "string", "format": "date-time"}),
            Ok("string(date-time)"),
        );
        check(json!({"type": ["string", "null"]}), Ok("string|null"));
        check(json!({"type": "null"}), Ok("null"));
        check(
            json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
            Ok("string|integer"),
        );
        check(
            json!({"anyOf": [{"type": "number"}, {"type": "null"}]}),
            Ok("number|null"),
        );
        check(json!({"enum": ["a", "b"]}), Ok("string"));
        check(json!({}), Ok("any"));
        check(json!(true), Ok("any"));
        check(json!({"properties": {}}), Ok("object"));
    }

    #[test]
    fn deep_schemas_are_refused() {
        let mut deep = json!({"type": "string"});
        for _ in 0..200 {
            deep = json!({"type": "array", "items": deep});
        }
        check(deep, Err("nested deeper than"));
    }

    #[test]
    fn errors_point_at_what_failed() {
        check(
            json!({"type": "object", "properties": {"a": {"type": "strng"}}}),
            Err("/properties/a/type"),
        );
        check(
            json!({"type": "object", "properties": {"a/b": {"$ref": "#/x"}}}),
            Err("/properties/a~1b/$ref"),
        );
        check(
            json!({"type": "string", "minLength": "3"}),
            Err("/minLength"),
        );
        check(json!({"type": "array", "items": 3}), Err("/items"));
        check(json!({"type": "object", "required": "a"}), Err("/required"));
    }

    #[test]
    fn objects_keep_required_open_and_bounds() {
        let s = Shape::from_schema(&json!({
            "type": "object", "additionalProperties": false, "required": ["id"],
            "properties": {"id": {"type": "integer", "minimum": 1}, "note": {"type": "string", "maxLength": 9}}
        }))
        .unwrap();
        let o = s.object().unwrap();
        assert!(!o.open);
        assert!(o.fields["id"].required && !o.fields["note"].required);
        let Kind::Scalar(id) = &o.fields["id"].shape.kind else {
            panic!("id not scalar")
        };
        assert_eq!(id.minimum, Some(1.0));
        let Kind::Scalar(note) = &o.fields["note"].shape.kind else {
            panic!("note not scalar")
        };
        assert_eq!(note.max_length, Some(9));
    }
}
