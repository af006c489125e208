//! Planner scenarios on a small example org built in code.

use serde_json::{Value, json};

use super::*;
use crate::org::{Commands, Consumed, Manifest, Provided, Repo, UnitKind};

fn repo(
    name: &str,
    kind: UnitKind,
    deploy_after: &[&str],
    provides: Vec<Provided>,
    consumes: Vec<Consumed>,
) -> Repo {
    Repo {
        name: name.into(),
        origin: format!("repos/{name}"),
        owner: "team".into(),
        manifest: Manifest {
            kind,
            deploy_after: deploy_after.iter().map(|s| s.to_string()).collect(),
            commands: Commands {
                test: format!("make test-{name}"),
                ..Commands::default()
            },
            provides,
            consumes,
            ui_pages: Vec::new(),
        },
    }
}

fn provided(contract: &str, medium: Medium, schema: Value) -> Provided {
    Provided {
        contract: contract.into(),
        medium,
        schema_path: format!("contracts/{contract}.json").into(),
        schema,
    }
}

fn consumed(contract: &str, reads: &[&str]) -> Consumed {
    Consumed {
        contract: contract.into(),
        reads: reads.iter().map(|s| s.to_string()).collect(),
    }
}

fn order_schema() -> Value {
    json!({"type": "object", "required": ["id", "total", "created_at", "items"], "properties": {
        "id": {"type": "integer"}, "total": {"type": "number"}, "created_at": {"type": "string", "format": "date-time"},
        "legacy_code": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}}
    }})
}

/// backend provides orders.v1 (http) and order-events.v1 (event); frontend and worker consume
/// them; infra has no contracts and backend deploys after it.
fn org_with(frontend_reads: &[&str], backend_after: &[&str]) -> Org {
    let http = Medium::Http {
        method: "GET".into(),
        path: "/orders/1".into(),
    };
    let event = Medium::Event {
        channel: "orders".into(),
        trigger: Some("POST /orders".into()),
    };
    let event_schema = json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}, "total": {"type": "number"}}});
    Org {
        name: "shop".into(),
        repos: vec![
            repo("infra", UnitKind::Infra, &[], vec![], vec![]),
            repo(
                "backend",
                UnitKind::Service,
                backend_after,
                vec![
                    provided("orders.v1", http, order_schema()),
                    provided("order-events.v1", event, event_schema),
                ],
                vec![],
            ),
            repo(
                "frontend",
                UnitKind::Frontend,
                &[],
                vec![],
                vec![consumed("orders.v1", frontend_reads)],
            ),
            repo(
                "worker",
                UnitKind::Worker,
                &[],
                vec![],
                vec![consumed("order-events.v1", &["id"])],
            ),
        ],
    }
}

fn org() -> Org {
    org_with(&["id", "total", "items[].sku"], &["infra"])
}

fn outcome(title: &str, changes: &[&str]) -> Outcome {
    Outcome {
        title: title.into(),
        description: String::new(),
        changes: changes
            .iter()
            .map(|c| c.parse().expect("test change parses"))
            .collect(),
    }
}

/// Phases with their waves, as `phase: a b | c` strings.
fn waves(plan: &Plan) -> Vec<String> {
    plan.phases
        .iter()
        .map(|p| {
            format!(
                "{}: {}",
                p.phase.name(),
                p.waves
                    .iter()
                    .map(|w| w.join(" "))
                    .collect::<Vec<_>>()
                    .join(" | ")
            )
        })
        .collect()
}

/// Plans `changes` on `org` and compares the waves, or the error text.
fn check(org: &Org, changes: &[&str], expected: Result<&[&str], &str>) -> Option<Plan> {
    match (plan(org, &outcome("t", changes), &[]), expected) {
        (Ok(p), Ok(want)) => {
            assert_eq!(waves(&p), want, "{changes:?}");
            Some(p)
        }
        (Err(e), Err(want)) => {
            assert!(e.to_string().contains(want), "{e}");
            None
        }
        (got, want) => panic!("{changes:?}: got {got:?}, expected {want:?}"),
    }
}

#[test]
fn expose_creation_time_to_dashboard_and_worker() {
    let facts = vec![
        Fact {
            subject: "worker".into(),
            statement: "worker retries failed events three times".into(),
            provenance: "worker@abc:README.md".into(),
        },
        Fact {
            subject: "billing".into(),
            statement: "unrelated".into(),
            provenance: "x".into(),
        },
    ];
    let out = outcome(
        "expose the order creation time to the dashboard and the email worker",
        &[
            "add orders.v1 createdAt string:date-time",
            "add order-events.v1 createdAt string:date-time",
        ],
    );
    let p = plan(&org(), &out, &facts).unwrap();
    assert_eq!(p.affected_repos, ["backend", "frontend", "worker"]);
    assert_eq!(
        waves(&p),
        ["change: backend:change | frontend:change worker:change"]
    );
    let rollback: Vec<&str> = p.rollback.iter().map(|r| r.task.as_str()).collect();
    assert_eq!(
        rollback,
        ["frontend:change", "worker:change", "backend:change"]
    );
    assert!(p.rollback.iter().all(|r| !r.irreversible));
    let worker = p.tasks.iter().find(|t| t.repo == "worker").unwrap();
    assert_eq!(worker.depends_on, ["backend:change"]);
    assert!(
        worker.instructions.contains("Retained payloads"),
        "{}",
        worker.instructions
    );
    assert_eq!(
        worker.context,
        ["worker retries failed events three times (worker@abc:README.md)"]
    );
    let backend = p.tasks.iter().find(|t| t.repo == "backend").unwrap();
    assert!(backend.checks.contains(&Check::Tests {
        command: "make test-backend".into()
    }));
    assert!(
        backend
            .checks
            .iter()
            .any(|c| matches!(c, Check::Capture { contract, .. } if contract == "order-events.v1"))
    );
    assert!(p.notes.contains("worker retries") && !p.notes.contains("unrelated"));
    assert!(p.prd.contains("## Acceptance criteria"));
    let md = p.to_markdown();
    assert!(
        md.contains("| orders.v1 | backend -> frontend | sync | yes | no | yes | WriterFirst |"),
        "{md}"
    );
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<Plan>(&json).unwrap(), p);
}

#[test]
fn deploy_after_hints_order_affected_repos_only() {
    // infra has no contract, so it is never affected by a contract change: its hint adds no task.
    let p = check(
        &org(),
        &["add orders.v1 createdAt string"],
        Ok(&["change: backend:change | frontend:change"]),
    )
    .unwrap();
    assert!(!p.affected_repos.contains(&"infra".to_string()));
    let mut hinted = org();
    hinted.repos[2].manifest.deploy_after.push("worker".into());
    check(
        &hinted,
        &[
            "add orders.v1 createdAt string",
            "add order-events.v1 createdAt string",
        ],
        Ok(&["change: backend:change | worker:change | frontend:change"]),
    );
}

#[test]
fn breaking_changes_split_into_phases() {
    let reads_created = org_with(&["id", "created_at"], &[]);
    let p = check(
        &reads_created,
        &["rename orders.v1 created_at createdAt"],
        Ok(&[
            "expand: backend:expand",
            "migrate: frontend:migrate",
            "contract: backend:contract",
        ]),
    )
    .unwrap();
    let contract = p
        .rollback
        .iter()
        .find(|r| r.task == "backend:contract")
        .unwrap();
    assert!(contract.irreversible);
    assert_eq!(p.rollback[0].task, "backend:contract");
    assert!(
        !p.rollback
            .iter()
            .find(|r| r.task == "backend:expand")
            .unwrap()
            .irreversible
    );
    let expand = p.tasks.iter().find(|t| t.id == "backend:expand").unwrap();
    assert!(
        expand
            .instructions
            .contains("send both `created_at` and `createdAt`"),
        "{}",
        expand.instructions
    );
    let migrate = p.tasks.iter().find(|t| t.id == "frontend:migrate").unwrap();
    assert_eq!(migrate.depends_on, ["backend:expand"]);

    // `legacy_code` may be omitted already, so a reader of it copes with its removal; `total` is required.
    check(
        &org_with(&["id", "legacy_code"], &[]),
        &["remove orders.v1 legacy_code"],
        Ok(&["change: backend:change frontend:change"]),
    );
    let p = check(
        &org(),
        &["remove orders.v1 total"],
        Ok(&["migrate: frontend:migrate", "contract: backend:contract"]),
    )
    .unwrap();
    assert!(
        p.rollback
            .iter()
            .find(|r| r.task == "backend:contract")
            .unwrap()
            .irreversible
    );

    // A retype cannot be sent both ways under one name: readers take both first.
    check(
        &org(),
        &["retype orders.v1 total string"],
        Ok(&[
            "expand: frontend:expand",
            "migrate: backend:migrate",
            "contract: frontend:contract",
        ]),
    );
}

#[test]
fn changes_nobody_reads_are_one_wave() {
    check(
        &org(),
        &["rename orders.v1 legacy_code legacyCode"],
        Ok(&["change: backend:change"]),
    );
    check(
        &org(),
        &["remove orders.v1 legacy_code"],
        Ok(&["change: backend:change"]),
    );
}

#[test]
fn plan_errors_are_clear() {
    let mut reader_only = org();
    reader_only.repos[2]
        .manifest
        .consumes
        .push(consumed("payments.v1", &["id"]));
    check(
        &reader_only,
        &["add payments.v1 paidAt string"],
        Err("has readers (frontend) but no writer"),
    );
    check(
        &org(),
        &["add nothing.v1 x string"],
        Err("no repo provides or consumes contract `nothing.v1`"),
    );
    check(
        &org_with(&["id"], &["frontend"]),
        &["add orders.v1 createdAt string"],
        Err("cycle among backend, frontend"),
    );
    check(
        &org(),
        &["rename orders.v1 nope other"],
        Err("no field `nope` to rename"),
    );
    check(
        &org(),
        &["add orders.v1 id string"],
        Err("`id` already exists"),
    );
    check(&org(), &[], Err("no structured change"));
    let mut bad_read = org();
    bad_read.repos[2].manifest.consumes[0]
        .reads
        .push("total.amount".into());
    check(
        &bad_read,
        &["add orders.v1 note string"],
        Err("does not accept what backend sends"),
    );
}
