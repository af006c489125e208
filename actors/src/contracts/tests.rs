//! Table-driven tests of the checks, one helper per check function.

use serde_json::{Value, json};

use super::*;

fn shape(schema: Value) -> Shape {
    Shape::from_schema(&schema).expect("test schema parses")
}

fn obj(props: Value, required: &[&str]) -> Shape {
    shape(json!({"type": "object", "properties": props, "required": required}))
}

fn ids(findings: &[Finding]) -> Vec<String> {
    let mut v: Vec<String> = findings
        .iter()
        .map(|f| format!("{:?} {} {}", f.severity, f.rule.id(), f.writer.path))
        .collect();
    v.sort();
    v
}

fn ctx() -> Ctx {
    Ctx::flow("orders.v1", "backend", "frontend")
}

/// Static check: writer schema, reader paths (pinned when `pin`), expected `Severity RULE path`.
fn check(writer: Shape, reads: &[&str], pin: bool, expected: &[&str]) {
    let mut e = Expectation::parse(reads).expect("test paths parse");
    if pin {
        e = e.pin(&writer);
    }
    let got = ids(&check_reads(&writer, &e, &ctx()));
    assert_eq!(got, expected, "reads {reads:?}");
    let errors = expected.iter().any(|s| s.starts_with("Error"));
    assert_eq!(accepts(&e, &writer), !errors);
}

#[test]
fn check_reads_rules() {
    let w = || {
        obj(
            json!({
                "id": {"type": "integer"},
                "created_at": {"type": "string", "format": "date-time"},
                "note": {"type": ["string", "null"]},
                "coupon": {"type": "string"},
                "status": {"type": "string", "enum": ["new", "paid", "shipped"]},
                "qty": {"type": "integer", "minimum": 0, "maximum": 1000},
                "customer": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "zip_code": {"type": "string"}}},
                "items": {"type": "array", "items": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}, "unit_price": {"type": "number"}}}},
                "total_cents": {"type": "integer"}
            }),
            &[
                "id",
                "created_at",
                "note",
                "status",
                "qty",
                "customer",
                "items",
                "total_cents",
            ],
        )
    };
    check(w(), &["id", "customer.name", "items[].sku"], true, &[]);
    // EXISTENCE
    check(
        w(),
        &["shipping"],
        false,
        &["Error EXISTENCE/missing shipping"],
    );
    check(
        w(),
        &["shipping?"],
        false,
        &["Warning EXISTENCE/missing shipping"],
    );
    // NAMING: writer snake, reader camel; nested and inside arrays.
    check(
        w(),
        &["createdAt"],
        false,
        &["Error NAMING/casing-mismatch created_at"],
    );
    check(
        w(),
        &["customer.zipCode"],
        false,
        &["Error NAMING/casing-mismatch customer.zip_code"],
    );
    check(
        w(),
        &["items[].unitPrice"],
        false,
        &["Error NAMING/casing-mismatch items[].unit_price"],
    );
    check(
        w(),
        &["total"],
        false,
        &[
            "Error EXISTENCE/missing total",
            "Warning NAMING/possible-rename total_cents",
        ],
    );
    // REQUIREDNESS: unknown tolerance warns, a reader pinned to a required field errs (see compare).
    check(
        w(),
        &["coupon"],
        false,
        &["Warning REQUIREDNESS/may-be-omitted coupon"],
    );
    check(w(), &["coupon?"], false, &[]);
    // NULLABILITY
    check(
        w(),
        &["note"],
        false,
        &["Warning NULLABILITY/may-be-null note"],
    );
    check(w(), &["note"], true, &[]);
    // TYPE
    check(w(), &["id:string"], false, &["Error TYPE/type-mismatch id"]);
    check(w(), &["id:number"], false, &[]);
    check(
        w(),
        &["created_at:string:date"],
        false,
        &["Error TYPE/format-mismatch created_at"],
    );
    check(w(), &["id.value"], false, &["Error TYPE/not-an-object id"]);
    // STRUCTURE
    check(
        w(),
        &["customer[].name"],
        false,
        &["Error STRUCTURE/array-mismatch customer"],
    );
}

#[test]
fn check_reads_reader_snake_writer_camel() {
    let w = obj(
        json!({"createdAt": {"type": "string"}, "lineItems": {"type": "array", "items": {"type": "object", "properties": {"skuCode": {"type": "string"}}}}}),
        &["createdAt", "lineItems"],
    );
    check(
        w.clone(),
        &["created_at"],
        false,
        &["Error NAMING/casing-mismatch createdAt"],
    );
    check(
        w,
        &["lineItems[].sku_code"],
        false,
        &["Error NAMING/casing-mismatch lineItems[].skuCode"],
    );
}

#[test]
fn casing_mismatch_has_a_fix_for_each_side() {
    let w = obj(json!({"created_at": {"type": "string"}}), &["created_at"]);
    let f = check_reads(&w, &Expectation::parse(&["createdAt"]).unwrap(), &ctx());
    let repos: Vec<&str> = f[0].fixes.iter().map(|x| x.repo.as_str()).collect();
    assert_eq!(repos, ["backend", "frontend"]);
    assert_eq!(
        f[0].reader.as_ref().map(|r| r.path.as_str()),
        Some("createdAt")
    );
    assert!(
        f[0].fixes[0]
            .suggestion
            .contains("`created_at` as `createdAt`")
    );
}

/// Writer-side change: old and new schema, the reader's paths, expected findings.
fn check_writer(old: Shape, new: Shape, reads: &[&str], expected: &[&str]) {
    let e = Expectation::parse(reads).unwrap().pin(&old);
    let got = ids(&compare_writer(
        &old,
        &new,
        &[("frontend".into(), e)],
        &ctx(),
    ));
    assert_eq!(got, expected, "reads {reads:?}");
}

#[test]
fn compare_writer_rules() {
    let base = || {
        json!({"id": {"type": "integer"}, "note": {"type": "string"}, "status": {"type": "string", "enum": ["a", "b"]},
        "qty": {"type": "integer", "maximum": 10}, "name": {"type": "string", "maxLength": 5},
        "tags": {"type": "array", "items": {"type": "string"}}, "c": {"type": "object", "properties": {"x": {"type": "string"}}}})
    };
    let all = ["id", "note", "status", "qty", "name", "tags", "c"];
    let with = |k: &str, v: Value| {
        let mut b = base();
        b[k] = v;
        obj(b, &all)
    };
    let without = |k: &str| {
        let mut b = base();
        b.as_object_mut().unwrap().remove(k);
        obj(b, &all)
    };
    let old = obj(base(), &all);
    check_writer(old.clone(), old.clone(), &["id"], &[]);
    check_writer(
        old.clone(),
        without("note"),
        &["note"],
        &["Error EXISTENCE/field-removed note"],
    );
    check_writer(
        old.clone(),
        without("note"),
        &["id"],
        &["Warning EXISTENCE/field-removed note"],
    );
    check_writer(
        old.clone(),
        with("extra", json!({"type": "string"})),
        &["id"],
        &["Info EXISTENCE/field-added extra"],
    );
    check_writer(
        old.clone(),
        with("id", json!({"type": "string"})),
        &["id"],
        &["Error TYPE/type-mismatch id"],
    );
    check_writer(
        old.clone(),
        with("id", json!({"type": "string"})),
        &["note"],
        &["Warning TYPE/type-mismatch id"],
    );
    check_writer(
        old.clone(),
        with("note", json!({"type": ["string", "null"]})),
        &["note"],
        &["Error NULLABILITY/became-nullable note"],
    );
    check_writer(
        old.clone(),
        with("status", json!({"type": "string", "enum": ["a", "b", "c"]})),
        &["status"],
        &["Error VALUES/enum-widened status"],
    );
    check_writer(
        old.clone(),
        with("qty", json!({"type": "integer", "maximum": 99})),
        &["qty"],
        &["Error CONSTRAINTS/range-widened qty"],
    );
    check_writer(
        old.clone(),
        with("name", json!({"type": "string"})),
        &["name"],
        &["Error CONSTRAINTS/length-widened name"],
    );
    check_writer(
        old.clone(),
        with("tags", json!({"type": "string"})),
        &["tags"],
        &["Error STRUCTURE/array-mismatch tags"],
    );
    check_writer(
        old.clone(),
        with(
            "tags",
            json!({"type": "array", "items": {"type": "integer"}}),
        ),
        &["tags"],
        &["Error TYPE/type-mismatch tags[]"],
    );
    check_writer(
        old.clone(),
        with(
            "c",
            json!({"type": "object", "properties": {"y": {"type": "string"}}}),
        ),
        &["c.x"],
        &[
            "Error EXISTENCE/field-removed c.x",
            "Info EXISTENCE/field-added c.y",
        ],
    );
    let mut optional = base();
    optional["id"] = json!({"type": "integer"});
    check_writer(
        old.clone(),
        obj(optional, &["note", "status", "qty", "name", "tags", "c"]),
        &["id"],
        &["Error REQUIREDNESS/became-optional id"],
    );
}

#[test]
fn compare_reader_reports_narrowing() {
    let w = obj(
        json!({"id": {"type": "integer"}, "note": {"type": "string"}}),
        &["id"],
    );
    let old = Expectation::parse(&["id", "note?"]).unwrap();
    let new = Expectation::parse(&["id", "note", "createdAt"]).unwrap();
    let got = ids(&compare_reader(&old, &new, &w, &ctx()));
    assert_eq!(
        got,
        [
            "Error EXISTENCE/missing createdAt",
            "Warning REQUIREDNESS/may-be-omitted note"
        ]
    );
    let dropped = ids(&compare_reader(
        &new,
        &Expectation::parse(&["id"]).unwrap(),
        &w,
        &ctx(),
    ));
    assert_eq!(
        dropped,
        [
            "Info EXISTENCE/read-dropped createdAt",
            "Info EXISTENCE/read-dropped note"
        ]
    );
}

/// Dynamic check: reader paths, observed payload, expected findings.
fn check_observed(reads: &[&str], payload: Value, expected: &[&str]) {
    let e = Expectation::parse(reads).unwrap();
    assert_eq!(
        ids(&check_payload(&e, &payload, &ctx())),
        expected,
        "payload {payload}"
    );
}

#[test]
fn check_payload_rules() {
    check_observed(
        &["id", "items[].sku"],
        json!({"id": 1, "items": [{"sku": "a"}, {"sku": "b"}]}),
        &[],
    );
    check_observed(
        &["createdAt"],
        json!({"created_at": "2026-01-01T00:00:00Z"}),
        &["Error NAMING/casing-mismatch created_at"],
    );
    check_observed(
        &["created_at"],
        json!({"createdAt": "x"}),
        &["Error NAMING/casing-mismatch createdAt"],
    );
    check_observed(
        &["total"],
        json!({"id": 1}),
        &["Error EXISTENCE/missing total"],
    );
    check_observed(&["total?"], json!({"id": 1}), &[]);
    check_observed(
        &["total:number"],
        json!({"total": "12.5"}),
        &["Error TYPE/type-mismatch total"],
    );
    check_observed(&["total:number"], json!({"total": 12}), &[]);
    check_observed(
        &["note"],
        json!({"note": null}),
        &["Error NULLABILITY/null note"],
    );
    check_observed(
        &["items[].sku"],
        json!({"items": {"sku": "a"}}),
        &["Error STRUCTURE/array-mismatch items"],
    );
    // Two bad elements, one finding.
    check_observed(
        &["items[].sku"],
        json!({"items": [{"SKU": "a"}, {"SKU": "b"}]}),
        &["Error NAMING/casing-mismatch items[].SKU"],
    );
    check_observed(
        &["customer.name"],
        json!({"customer": "bob"}),
        &["Error TYPE/not-an-object customer"],
    );
}
