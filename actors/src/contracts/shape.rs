//! The shape of a payload, parsed from a JSON Schema document.
//!
//! Only the part of JSON Schema that decides what a reader can rely on is modelled: objects with
//! their fields, arrays, scalars with type, format, enum and bounds, null, unions and "anything".
//! Anything else that would change the meaning (`$ref`, `allOf`, `not`) is refused with a typed
//! error rather than silently ignored, so a check never passes on a schema it did not understand.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SchemaError;

/// A payload shape: what a writer can send (or a reader assumes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// What kind of value it is.
    pub kind: Kind,
    /// Whether `null` is allowed in place of the value.
    pub nullable: bool,
}

/// The kinds of value a shape describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// An object with named fields.
    Object(ObjectShape),
    /// An array whose elements all have one shape.
    Array {
        /// Shape of each element.
        items: Box<Shape>,
    },
    /// A string, number, integer or boolean.
    Scalar(Scalar),
    /// Only `null`.
    Null,
    /// Any one of several shapes (`oneOf`, `anyOf`, or a `type` list).
    Union {
        /// The alternatives; never contains `null` (that is `nullable`).
        members: Vec<Shape>,
    },
    /// No constraint at all.
    Any,
}

/// An object's fields, by wire name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectShape {
    /// Fields by wire name.
    pub fields: BTreeMap<String, Field>,
    /// Whether fields beyond `fields` may appear (`additionalProperties` not `false`).
    pub open: bool,
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The field's value.
    pub shape: Shape,
    /// Whether every payload carries the field.
    pub required: bool,
}

/// JSON scalar types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalarType {
    /// `string`
    String,
    /// `integer`: every integer is also a number.
    Integer,
    /// `number`
    Number,
    /// `boolean`
    Boolean,
}

impl ScalarType {
    /// Parses a JSON Schema type name.
    pub fn parse(s: &str) -> Option<ScalarType> {
        Some(match s {
            "string" => ScalarType::String,
            "integer" => ScalarType::Integer,
            "number" => ScalarType::Number,
            "boolean" => ScalarType::Boolean,
            _ => return None,
        })
    }

    /// The JSON Schema name of the type.
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::String => "string",
            ScalarType::Integer => "integer",
            ScalarType::Number => "number",
            ScalarType::Boolean => "boolean",
        }
    }

    /// Whether every value of `self` is a value of `reader` (an integer is a number).
    pub fn fits(self, reader: ScalarType) -> bool {
        self == reader || (self == ScalarType::Integer && reader == ScalarType::Number)
    }
}

/// A scalar with its constraints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scalar {
    /// The JSON type.
    pub ty: ScalarType,
    /// `format`, e.g. `date-time`.
    pub format: Option<String>,
    /// `enum` (or `const`): the only values allowed.
    pub values: Option<Vec<Value>>,
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `minLength`.
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
}

impl Scalar {
    /// A scalar of a type with no other constraint.
    pub fn of(ty: ScalarType, format: Option<String>) -> Scalar {
        Scalar {
            ty,
            format,
            values: None,
            minimum: None,
            maximum: None,
            min_length: None,
            max_length: None,
        }
    }
}

impl Shape {
    /// A non-nullable shape of a kind.
    pub fn new(kind: Kind) -> Shape {
        Shape {
            kind,
            nullable: false,
        }
    }

    /// The shape that allows anything.
    pub fn any() -> Shape {
        Shape::new(Kind::Any)
    }

    /// Parses a JSON Schema document.
    pub fn from_schema(schema: &Value) -> Result<Shape, SchemaError> {
        super::schema::parse_schema(schema)
    }

    /// The object's fields, if this is an object.
    pub fn object(&self) -> Option<&ObjectShape> {
        match &self.kind {
            Kind::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The object's fields, mutable, if this is an object.
    pub fn object_mut(&mut self) -> Option<&mut ObjectShape> {
        match &mut self.kind {
            Kind::Object(o) => Some(o),
            _ => None,
        }
    }

    /// A short name of the shape's type for messages: `string(date-time)`, `object`, `array`.
    pub fn type_name(&self) -> String {
        let base = match &self.kind {
            Kind::Object(_) => "object".to_string(),
            Kind::Array { .. } => "array".to_string(),
            Kind::Scalar(s) => match &s.format {
                Some(f) => format!("{}({f})", s.ty.name()),
                None => s.ty.name().to_string(),
            },
            Kind::Null => "null".to_string(),
            Kind::Union { members } => members
                .iter()
                .map(Shape::type_name)
                .collect::<Vec<_>>()
                .join("|"),
            Kind::Any => "any".to_string(),
        };
        if self.nullable && !matches!(self.kind, Kind::Null) {
            format!("{base}|null")
        } else {
            base
        }
    }

    /// Whether two shapes are the same sort of value (same kind; same scalar type), ignoring
    /// constraints: used to tell a likely rename from an unrelated field.
    pub fn same_type(&self, other: &Shape) -> bool {
        match (&self.kind, &other.kind) {
            (Kind::Scalar(a), Kind::Scalar(b)) => a.ty == b.ty,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}
