use super::*;

const PY: &str = r#"def view(order):
    return {
        "id": order["id"],
        "items": [i for i in order["items"]],
        # factory:fields orders.v1 order
    }

def event(order):
    return {
        "orderId": order["id"],
        # factory:fields order-events.v1 order
    }

def create():
    order = {}
    # factory:new-record order
    return order
"#;

fn add(text: &str, contract: &str, wire: &str) -> String {
    edit_blocks(text, "fields", Some(contract), |m, block| {
        let line = format!("\"{wire}\": {}[\"{wire}\"],", m.args[1]);
        add_line(block, m, &line, |l| l.starts_with(&format!("\"{wire}\":")));
    })
}

fn check(actual: String, expected: &str) {
    assert_eq!(actual, expected);
}

#[test]
fn adds_a_line_to_one_block_once() {
    let once = add(PY, "orders.v1", "x");
    assert!(
        once.contains("        \"x\": order[\"x\"],\n        # factory:fields orders.v1 order")
    );
    assert!(!once.contains("\"orderId\": order[\"id\"],\n        \"x\""));
    check(add(&once, "orders.v1", "x"), &once);
}

#[test]
fn statements_are_inserted_once() {
    let stmt = |m: &Marker| format!("{}[\"x\"] = 1", m.args[0]);
    let once = insert_statement(PY, "new-record", stmt);
    assert!(once.contains("    order[\"x\"] = 1\n    # factory:new-record order\n"));
    check(insert_statement(&once, "new-record", stmt), &once);
}

#[test]
fn rename_and_remove_stay_in_their_block() {
    let renamed = edit_blocks(PY, "fields", Some("order-events.v1"), |_, block| {
        replace_in(
            block,
            |l| l.starts_with("\"orderId\":"),
            "\"orderId\":",
            "\"order_id\":",
        );
    });
    assert!(renamed.contains("\"order_id\": order[\"id\"],"));
    let removed = edit_blocks(PY, "fields", Some("orders.v1"), |_, block| {
        remove_lines(block, |l| l.starts_with("\"id\":"));
    });
    assert!(!removed.contains("        \"id\": order[\"id\"],\n        \"items\""));
    assert!(removed.contains("\"orderId\": order[\"id\"],"));
}

#[test]
fn reads_lists() {
    let toml = "[[consumes]]\ncontract = \"a.v1\"\nreads = [\"id\"]\n\n[[consumes]]\ncontract = \"b.v1\"\nreads = [\"x\", \"y\"]\n";
    let edited = edit_reads(toml, "b.v1", |l| l.push("z".into())).expect("entry exists");
    check(
        edited,
        &toml.replace("[\"x\", \"y\"]", "[\"x\", \"y\", \"z\"]"),
    );
    assert_eq!(edit_reads(toml, "c.v1", |_| {}), None);
    let no_reads = "[[consumes]]\ncontract = \"a.v1\"\n\n[ui]\nreads = []\n";
    assert_eq!(edit_reads(no_reads, "a.v1", |_| {}), None);
}

#[test]
fn markers_parse() {
    let m = parse_marker("  // factory:reads orders.v1").expect("marker");
    assert_eq!(
        (m.kind.as_str(), m.args, m.indent.as_str()),
        ("reads", vec!["orders.v1".to_string()], "  ")
    );
    assert_eq!(parse_marker("x = 1  # factory:fields"), None);
    assert!(has_marker(PY, "fields", "order-events.v1"));
    assert!(!has_marker(PY, "fields", "nope.v1"));
}
