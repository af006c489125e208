//! Learned gates: what a casing gate finds, and how a gate is stored as an artifact.
//!
//! A casing gate pins a boundary's naming convention (the reader's dominant casing). Every field
//! the writer sends whose casing shows and differs from the convention is a finding — before any
//! reader reads the field, which is the point: the defect it was learned from was a field no
//! reader read yet when it was first sent.

use std::collections::BTreeSet;

use protocol::run::{GateMode, GateSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::LearnerError;
use super::observe::{Boundary, leaf};
use crate::contracts::naming::{Casing, casing_of, convert};
use crate::memory::{Artifact, ArtifactKind, Time};

/// The rule a casing gate checks.
pub const CASING_RULE: &str = "NAMING/casing";

/// Most field names collected from one payload or schema; the rest are ignored (bounded work on
/// a hostile payload).
pub const FIELD_LIMIT: usize = 1000;

/// One thing a gate found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateFinding {
    /// The gate's id.
    pub gate: String,
    /// The writer's spelling.
    pub field: String,
    /// The spelling the convention expects.
    pub expected: String,
    /// A sentence naming the gate, the field, the expected spelling and the run it was learned
    /// from.
    pub message: String,
}

/// The slot of the casing gate on a boundary: `gate:contract/casing@backend->worker:order-events.v1`.
pub fn slot_for(b: &Boundary) -> String {
    format!("gate:contract/casing@{}", b.label())
}

/// Casing by its parameter name (`snake`, `camel`, `pascal`, `kebab`).
pub fn parse_casing(param: &str) -> Option<Casing> {
    match param {
        "snake" => Some(Casing::Snake),
        "camel" => Some(Casing::Camel),
        "pascal" => Some(Casing::Pascal),
        "kebab" => Some(Casing::Kebab),
        _ => None,
    }
}

/// The parameter name of a casing (inverse of [`parse_casing`]).
pub fn casing_param(c: Casing) -> &'static str {
    match c {
        Casing::Snake => "snake",
        Casing::Camel => "camel",
        Casing::Pascal => "pascal",
        Casing::Kebab => "kebab",
    }
}

/// Run a gate on what a writer sends across its boundary.
///
/// `writer_fields` are field names the writer's schema and payloads use, at any depth (see
/// [`payload_fields`], [`schema_fields`]); paths are reduced to their last name. `reads` are what
/// the reader reads: a field the reader reads with exactly the writer's spelling is agreed by
/// both sides and not a finding. A gate whose rule or parameter this code does not know finds
/// nothing. Each field is reported once.
pub fn evaluate(gate: &GateSpec, writer_fields: &[String], reads: &[String]) -> Vec<GateFinding> {
    let Some(convention) = (gate.rule == CASING_RULE)
        .then(|| parse_casing(&gate.param))
        .flatten()
    else {
        return Vec::new();
    };
    let agreed: BTreeSet<String> = reads.iter().map(|r| leaf(r)).collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for field in writer_fields.iter().map(|f| leaf(f)) {
        if agreed.contains(&field) || !seen.insert(field.clone()) {
            continue;
        }
        let Some(casing) = casing_of(&field) else {
            continue;
        };
        if casing == convention {
            continue;
        }
        let expected = convert(&field, convention);
        let message = format!(
            "gate {} ({}): {} sends `{field}` on {} but {} names fields in {convention}: \
             expected `{expected}` (learned from run {})",
            gate.id, gate.slot, gate.writer, gate.contract, gate.reader, gate.learned_from_run
        );
        out.push(GateFinding {
            gate: gate.id.clone(),
            field,
            expected,
            message,
        });
    }
    out
}

/// Every object key of a JSON value, at any depth (inside arrays too), each once, in a
/// deterministic order, at most [`FIELD_LIMIT`].
pub fn payload_fields(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if out.len() < FIELD_LIMIT && seen.insert(k.clone()) {
                        out.push(k.clone());
                    }
                    stack.push(child);
                }
            }
            Value::Array(items) => stack.extend(items.iter().rev()),
            _ => {}
        }
        if out.len() >= FIELD_LIMIT {
            break;
        }
    }
    out
}

/// Every property name a JSON Schema declares, at any depth (`properties`, `items`,
/// `additionalProperties`, `allOf`/`anyOf`/`oneOf`, `$defs`), at most [`FIELD_LIMIT`].
pub fn schema_fields(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut stack = vec![schema];
    while let Some(s) = stack.pop() {
        let Value::Object(map) = s else { continue };
        if let Some(Value::Object(props)) = map.get("properties") {
            for (k, sub) in props {
                if out.len() < FIELD_LIMIT && seen.insert(k.clone()) {
                    out.push(k.clone());
                }
                stack.push(sub);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(sub) = map.get(key) {
                stack.push(sub);
            }
        }
        for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
            if let Some(Value::Array(subs)) = map.get(key) {
                stack.extend(subs);
            }
        }
        for key in ["$defs", "definitions"] {
            if let Some(Value::Object(defs)) = map.get(key) {
                stack.extend(defs.values());
            }
        }
        if out.len() >= FIELD_LIMIT {
            break;
        }
    }
    out
}

/// What a gate artifact's body holds: the spec without its id, which is the body's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateBody {
    rule: String,
    contract: String,
    writer: String,
    reader: String,
    param: String,
    mode: GateMode,
    learned_from_run: String,
}

/// A casing gate on a boundary, as an artifact (its id is the gate's id).
pub fn gate_artifact(
    b: &Boundary,
    param: &str,
    mode: GateMode,
    run: &str,
    parent: Option<&str>,
    now: Time,
) -> Result<(Artifact, GateSpec), LearnerError> {
    let body = GateBody {
        rule: CASING_RULE.into(),
        contract: b.contract.clone(),
        writer: b.writer.clone(),
        reader: b.reader.clone(),
        param: param.into(),
        mode,
        learned_from_run: run.into(),
    };
    artifact_of(&slot_for(b), &body, parent, now)
}

/// The same gate in another mode, derived from `a` (its parent).
pub fn with_mode(
    a: &Artifact,
    mode: GateMode,
    now: Time,
) -> Result<(Artifact, GateSpec), LearnerError> {
    let mut body = body_of(a)?;
    body.mode = mode;
    artifact_of(&a.slot, &body, Some(&a.id), now)
}

/// The gate an artifact holds.
pub fn spec_of(a: &Artifact) -> Result<GateSpec, LearnerError> {
    Ok(spec(a, body_of(a)?))
}

fn artifact_of(
    slot: &str,
    body: &GateBody,
    parent: Option<&str>,
    now: Time,
) -> Result<(Artifact, GateSpec), LearnerError> {
    let text = serde_json::to_string(body).map_err(|e| LearnerError::Corrupt {
        what: "gate",
        id: slot.into(),
        detail: e.to_string(),
    })?;
    let a = Artifact::new(ArtifactKind::Gate, slot, parent, &text, now);
    let g = spec(&a, body.clone());
    Ok((a, g))
}

fn body_of(a: &Artifact) -> Result<GateBody, LearnerError> {
    serde_json::from_str(&a.body).map_err(|e| LearnerError::Corrupt {
        what: "gate artifact",
        id: a.id.clone(),
        detail: e.to_string(),
    })
}

fn spec(a: &Artifact, b: GateBody) -> GateSpec {
    GateSpec {
        id: a.id.clone(),
        slot: a.slot.clone(),
        rule: b.rule,
        contract: b.contract,
        writer: b.writer,
        reader: b.reader,
        param: b.param,
        mode: b.mode,
        learned_from_run: b.learned_from_run,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests {
    use super::*;

    fn gate(param: &str) -> GateSpec {
        GateSpec {
            id: "artifact:g1".into(),
            slot: "gate:contract/casing@backend->frontend:orders.v1".into(),
            rule: CASING_RULE.into(),
            contract: "orders.v1".into(),
            writer: "backend".into(),
            reader: "frontend".into(),
            param: param.into(),
            mode: GateMode::Shadow,
            learned_from_run: "run-1".into(),
        }
    }

    /// `(param, writer fields, reads)` -> `(field, expected)` of every finding.
    fn check(param: &str, fields: &[&str], reads: &[&str], expected: &[(&str, &str)]) {
        let own = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got: Vec<(String, String)> = evaluate(&gate(param), &own(fields), &own(reads))
            .into_iter()
            .map(|f| (f.field, f.expected))
            .collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(
            got, want,
            "param {param}, fields {fields:?}, reads {reads:?}"
        );
    }

    #[test]
    fn fields_off_the_convention_are_found() {
        check(
            "camel",
            &["id", "updated_at"],
            &["id", "createdAt"],
            &[("updated_at", "updatedAt")],
        );
        check(
            "camel",
            &["orderId", "createdAt", "total"],
            &["orderId"],
            &[],
        );
        check(
            "camel",
            &["items[].unit_price"],
            &[],
            &[("unit_price", "unitPrice")],
        );
        check(
            "snake",
            &["createdAt", "created_at"],
            &[],
            &[("createdAt", "created_at")],
        );
        // A reader that reads the writer's exact spelling agreed to it.
        check("camel", &["legacy_code"], &["legacy_code"], &[]);
        // Each field once; unknown parameters find nothing.
        check("camel", &["a_b", "x.a_b"], &[], &[("a_b", "aB")]);
        check("shouting", &["a_b"], &[], &[]);
    }

    #[test]
    fn message_names_gate_field_spelling_and_run() {
        let f = evaluate(
            &gate("camel"),
            &["updated_at".into()],
            &["createdAt".into()],
        );
        let m = &f[0].message;
        for part in [
            "artifact:g1",
            "`updated_at`",
            "`updatedAt`",
            "learned from run run-1",
        ] {
            assert!(m.contains(part), "{m} lacks {part}");
        }
    }

    #[test]
    fn fields_of_payloads_and_schemas() {
        let v = serde_json::json!({"id": 1, "items": [{"sku": "a", "unit_price": 2}], "meta": {"createdAt": "x"}});
        let mut got = payload_fields(&v);
        got.sort();
        assert_eq!(
            got,
            ["createdAt", "id", "items", "meta", "sku", "unit_price"]
        );
        let s = serde_json::json!({"type": "object", "properties": {"id": {}, "items": {"type": "array", "items": {"properties": {"skuCode": {}}}}}});
        let mut got = schema_fields(&s);
        got.sort();
        assert_eq!(got, ["id", "items", "skuCode"]);
    }

    #[test]
    fn artifacts_round_trip_and_modes_derive() {
        let b = Boundary {
            contract: "orders.v1".into(),
            writer: "backend".into(),
            reader: "frontend".into(),
        };
        let (a, g) = gate_artifact(&b, "camel", GateMode::Shadow, "run-1", None, Time(1)).unwrap();
        assert_eq!(spec_of(&a).unwrap(), g);
        assert_eq!(g.slot, "gate:contract/casing@backend->frontend:orders.v1");
        let (child, gb) = with_mode(&a, GateMode::Blocking, Time(2)).unwrap();
        assert_eq!(child.parent.as_deref(), Some(a.id.as_str()));
        assert_eq!(gb.mode, GateMode::Blocking);
        assert_ne!(child.id, a.id);
    }
}
