//! The graph: seeding, neighbours, indexes, blast radius.

use super::*;

#[test]
fn neighbours_in_both_directions() {
    let s = seeded();
    use Direction::{Incoming, Outgoing};
    check_neighbours(
        &s,
        "repo:backend",
        None,
        Outgoing,
        &[
            "provides contract:order-events.v1",
            "provides contract:orders.v1",
        ],
    );
    check_neighbours(
        &s,
        "repo:backend",
        None,
        Incoming,
        &[
            "dependency_of repo:frontend",
            "dependency_of repo:worker",
            "owned_by team:orders-team",
        ],
    );
    check_neighbours(
        &s,
        "contract:orders.v1",
        Some(Relation::Consumes),
        Incoming,
        &["consumed_by repo:frontend"],
    );
    check_neighbours(
        &s,
        "repo:worker",
        Some(Relation::DependsOn),
        Outgoing,
        &["depends_on repo:backend"],
    );
    check_neighbours(&s, "repo:infra", None, Outgoing, &[]);
    check_neighbours(
        &s,
        "team:orders-team",
        None,
        Outgoing,
        &["owns repo:backend", "owns repo:worker"],
    );
}

#[test]
fn indexes_by_name_and_kind() {
    let s = seeded();
    assert_eq!(s.ids_named("backend").expect("names"), vec!["repo:backend"]);
    assert_eq!(
        s.ids_of_kind(EntityKind::Contract).expect("kinds"),
        vec!["contract:order-events.v1", "contract:orders.v1"]
    );
    let e = s
        .entity("contract:orders.v1")
        .expect("get")
        .expect("present");
    assert_eq!(e.attrs.get("provider").map(String::as_str), Some("backend"));
    // Renaming replaces the index entry instead of adding a second one.
    let mut renamed = Entity::new(EntityKind::Repo, "infra");
    renamed.name = "platform-infra".into();
    s.apply(vec![Write::PutEntity(renamed)]).expect("rename");
    assert!(s.ids_named("infra").expect("names").is_empty());
    assert_eq!(
        s.ids_named("platform-infra").expect("names"),
        vec!["repo:infra"]
    );
}

#[test]
fn who_reads_a_field() {
    let s = seeded();
    assert_eq!(
        s.readers_of_field("contract:orders.v1", "total")
            .expect("q"),
        vec!["repo:frontend"]
    );
    assert!(
        s.readers_of_field("contract:orders.v1", "items[].sku")
            .expect("q")
            .is_empty()
    );
}

#[test]
fn blast_radius_of_backend() {
    let s = seeded();
    let mut got = s.blast_radius("repo:backend").expect("radius");
    got.sort();
    let want: Vec<(String, u32)> = [
        ("contract:order-events.v1", 1),
        ("contract:orders.v1", 1),
        ("repo:frontend", 1),
        ("repo:worker", 1),
    ]
    .into_iter()
    .map(|(id, d)| (id.to_string(), d))
    .collect();
    assert_eq!(got, want);
    assert!(s.blast_radius("repo:infra").expect("radius").is_empty());
}
