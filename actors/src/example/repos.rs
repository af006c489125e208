//! The files of each example repo, and the catalog naming them.

use serde_json::{Value, json};

use super::ExampleOptions;

/// Repo names with their owners, in catalog order.
pub(crate) const REPOS: [(&str, &str); 4] = [
    ("backend", "team-orders"),
    ("worker", "team-notifications"),
    ("frontend", "team-web"),
    ("infra", "team-platform"),
];

const PY_GITIGNORE: &str = "__pycache__/\n";

/// The `org.toml` of the example org.
pub(crate) fn org_toml() -> String {
    let mut text = String::from("[org]\nname = \"acme\"\n");
    for (name, owner) in REPOS {
        text += &format!(
            "\n[[repos]]\nname = \"{name}\"\norigin = \"origins/{name}.git\"\nowner = \"{owner}\"\n"
        );
    }
    text
}

/// Files of repo `name` as (path, content), or `None` for an unknown repo.
pub(crate) fn files(name: &str, opts: &ExampleOptions) -> Option<Vec<(&'static str, String)>> {
    let files = match name {
        "backend" => backend(opts),
        "worker" => worker(),
        "frontend" => frontend(),
        "infra" => infra(),
        _ => return None,
    };
    Some(files)
}

/// JSON as the sim agent writes it back, so its edits touch only what they change.
pub(crate) fn pretty(value: &Value) -> String {
    // Serializing a `Value` cannot fail: its map keys are always strings.
    serde_json::to_string_pretty(value).map_or_else(|_| value.to_string(), |s| s + "\n")
}

fn backend(opts: &ExampleOptions) -> Vec<(&'static str, String)> {
    // The seed step writes data/orders.json; without it in `setup` a fresh sandbox has no data.
    let setup = if opts.missing_seed_step {
        String::new()
    } else {
        "setup = \"python3 scripts/seed.py\"\n".to_string()
    };
    let manifest = format!(
        r#"[repo]
kind = "service"
deploy_after = ["infra"]

[commands]
{setup}build = "python3 -m compileall -q app.py scripts"
test = "python3 -m unittest discover -s tests -t ."
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
trigger = 'POST /orders {{"customer": "Ada Lovelace", "total": 42.5, "items": [{{"sku": "BOOK-1", "qty": 1}}]}}'
"#
    );
    let orders = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "orders.v1",
        "description": "One order, as GET /orders/<id> returns it.",
        "type": "object",
        "required": ["id", "customer", "total", "status", "items"],
        "properties": {
            "id": {"type": "integer"},
            "customer": {"type": "string"},
            "total": {"type": "number"},
            "status": {"type": "string", "enum": ["new", "paid", "shipped", "cancelled"]},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["sku", "qty"],
                    "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}
                }
            }
        }
    });
    let created = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "order-events.v1",
        "description": "An order.created event on the orders channel.",
        "type": "object",
        "required": ["type", "orderId", "customer", "total"],
        "properties": {
            "type": {"type": "string", "const": "order.created"},
            "orderId": {"type": "integer"},
            "customer": {"type": "string"},
            "total": {"type": "number"}
        }
    });
    vec![
        ("factory.toml", manifest),
        (
            ".gitignore",
            format!("{PY_GITIGNORE}data/orders.json\nevents/\n"),
        ),
        ("app.py", include_str!("files/backend/app.py").to_string()),
        (
            "scripts/seed.py",
            include_str!("files/backend/scripts/seed.py").to_string(),
        ),
        ("tests/__init__.py", String::new()),
        (
            "tests/test_app.py",
            include_str!("files/backend/tests/test_app.py").to_string(),
        ),
        ("contracts/orders.v1.json", pretty(&orders)),
        ("contracts/order-created.v1.json", pretty(&created)),
    ]
}

fn worker() -> Vec<(&'static str, String)> {
    let manifest = r#"[repo]
kind = "worker"

[commands]
test = "python3 -m unittest discover -s tests -t ."
start = "python3 worker.py"
health = "/health"

[[consumes]]
contract = "order-events.v1"
reads = ["orderId", "customer", "total"]
"#;
    let fixture = json!({
        "type": "order.created",
        "orderId": 1001,
        "customer": "Ada Lovelace",
        "total": 42.5
    });
    vec![
        ("factory.toml", manifest.to_string()),
        (".gitignore", PY_GITIGNORE.to_string()),
        (
            "worker.py",
            include_str!("files/worker/worker.py").to_string(),
        ),
        ("tests/__init__.py", String::new()),
        (
            "tests/test_worker.py",
            include_str!("files/worker/tests/test_worker.py").to_string(),
        ),
        ("tests/fixtures/order-events.v1.json", pretty(&fixture)),
    ]
}

fn frontend() -> Vec<(&'static str, String)> {
    let manifest = r#"[repo]
kind = "frontend"

[commands]
test = "python3 -m unittest discover -s tests -t ."
start = "python3 serve.py"
health = "/health"

[[consumes]]
contract = "orders.v1"
reads = ["id", "customer", "total", "status"]

[ui]
pages = ["/"]
"#;
    vec![
        ("factory.toml", manifest.to_string()),
        (".gitignore", PY_GITIGNORE.to_string()),
        (
            "index.html",
            include_str!("files/frontend/index.html").to_string(),
        ),
        ("app.js", include_str!("files/frontend/app.js").to_string()),
        (
            "serve.py",
            include_str!("files/frontend/serve.py").to_string(),
        ),
        ("tests/__init__.py", String::new()),
        (
            "tests/test_frontend.py",
            include_str!("files/frontend/tests/test_frontend.py").to_string(),
        ),
    ]
}

fn infra() -> Vec<(&'static str, String)> {
    let manifest = r#"[repo]
kind = "infra"

[commands]
test = "python3 -m unittest discover -s tests -t ."
"#;
    vec![
        ("factory.toml", manifest.to_string()),
        (".gitignore", PY_GITIGNORE.to_string()),
        (
            "config/services.toml",
            include_str!("files/infra/config/services.toml").to_string(),
        ),
        ("tests/__init__.py", String::new()),
        (
            "tests/test_services.py",
            include_str!("files/infra/tests/test_services.py").to_string(),
        ),
    ]
}
