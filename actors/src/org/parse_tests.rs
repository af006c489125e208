use std::path::Path;

use serde_json::{Value, json};

use super::*;

const GOOD: &str = r#"[repo]
kind = "service"
deploy_after = ["infra"]

[commands]
test = "python3 -m unittest"
start = "python3 app.py"
health = "/health"

[[provides]]
contract = "orders.v1"
kind = "http"
schema = "contracts/orders.v1.json"
method = "GET"
path = "/orders/1001"

[[provides]]
contract = "order-events.v1"
kind = "event"
schema = "contracts/order-created.v1.json"
channel = "orders"
trigger = "POST /orders"

[[consumes]]
contract = "prices.v1"
reads = ["id", "items[].sku"]

[ui]
pages = ["/"]
"#;

/// Schemas: `bad.json` is not JSON; anything else under contracts/ is `{}`; the rest is missing.
fn loader(path: &Path) -> Result<Value, SchemaError> {
    match path.to_str() {
        Some("contracts/bad.json") => schema_from_bytes(b"{ nope"),
        Some(p) if p.starts_with("contracts/") => Ok(json!({"type": "object"})),
        _ => Err(SchemaError::Missing),
    }
}

/// Replace `from` in the good manifest with `to` and check the error message.
fn check(from: &str, to: &str, expected: &str) {
    assert!(GOOD.contains(from), "test edit `{from}` must apply");
    let text = GOOD.replacen(from, to, 1);
    let err = parse_manifest(&text, "backend/factory.toml", loader)
        .expect_err("manifest must be rejected");
    assert_eq!(err.to_string(), expected);
}

#[test]
fn good_manifest_parses() {
    let m = parse_manifest(GOOD, "backend/factory.toml", loader).expect("good manifest");
    assert_eq!(m.kind, UnitKind::Service);
    assert_eq!(m.deploy_after, vec!["infra".to_string()]);
    assert_eq!(m.commands.health.as_deref(), Some("/health"));
    assert_eq!(m.provides.len(), 2);
    assert_eq!(
        m.provides[0].medium,
        Medium::Http {
            method: "GET".into(),
            path: "/orders/1001".into()
        }
    );
    assert_eq!(
        m.provides[1].medium,
        Medium::Event {
            channel: "orders".into(),
            trigger: Some("POST /orders".into())
        }
    );
    assert_eq!(m.provides[1].schema, json!({"type": "object"}));
    assert_eq!(
        m.consumes[0].reads,
        vec!["id".to_string(), "items[].sku".to_string()]
    );
    assert_eq!(m.ui_pages, vec!["/".to_string()]);
}

#[test]
fn unknown_key() {
    check(
        "health = \"/health\"",
        "helth = \"/health\"",
        "backend/factory.toml:8:1: commands.helth: unknown field `helth`, expected one of `setup`, `build`, `test`, `start`, `health`",
    );
}

#[test]
fn missing_required_field() {
    check(
        "test = \"python3 -m unittest\"\n",
        "",
        "backend/factory.toml:5:1: commands.test: missing field `test`",
    );
}

#[test]
fn missing_medium_field() {
    check(
        "method = \"GET\"\n",
        "",
        "backend/factory.toml:12:8: provides[0].method: missing field `method`, required for kind \"http\"",
    );
}

#[test]
fn bad_unit_kind() {
    check(
        "kind = \"service\"",
        "kind = \"servce\"",
        "backend/factory.toml:2:8: repo.kind: unknown variant `servce`, expected one of `service`, `frontend`, `worker`, `infra`, `db`",
    );
}

#[test]
fn bad_medium_kind() {
    check(
        "kind = \"event\"",
        "kind = \"queue\"",
        "backend/factory.toml:19:8: provides[1].kind: unknown variant `queue`, expected one of `http`, `event`, `table`",
    );
}

#[test]
fn missing_schema_file() {
    check(
        "contracts/orders.v1.json",
        "schemas/orders.v1.json",
        "backend/factory.toml:13:10: provides[0].schema: schema file `schemas/orders.v1.json` not found in the repo",
    );
}

#[test]
fn schema_not_json() {
    let expected = "backend/factory.toml:13:10: provides[0].schema: schema file `contracts/bad.json` is unusable: \
                    not JSON: key must be a string at line 1 column 3";
    check("contracts/orders.v1.json", "contracts/bad.json", expected);
}

#[test]
fn not_toml() {
    check(
        "[ui]",
        "[ui",
        "backend/factory.toml:28:4: ui: unclosed table, expected `]`",
    );
}

#[test]
fn missing_kind() {
    check(
        "kind = \"service\"\n",
        "",
        "backend/factory.toml:1:1: repo.kind: missing field `kind`",
    );
}

#[test]
fn unknown_table() {
    let expected = "backend/factory.toml:5:2: x: unknown field `x`, expected one of `repo`, `commands`, `provides`, `consumes`, `ui`";
    check("[commands]", "[x]", expected);
}

#[test]
fn missing_table() {
    check(
        "[commands]\ntest = \"python3 -m unittest\"\nstart = \"python3 app.py\"\nhealth = \"/health\"\n",
        "",
        "backend/factory.toml:1:1: commands: missing field `commands`",
    );
}

#[test]
fn wrong_type() {
    let expected = "backend/factory.toml:3:16: repo.deploy_after: invalid type: string \"infra\", expected a sequence";
    check(
        "deploy_after = [\"infra\"]",
        "deploy_after = \"infra\"",
        expected,
    );
}
