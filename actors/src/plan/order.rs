//! Kahn layering of a phase's tasks into waves.

use std::collections::{BTreeMap, BTreeSet};

/// Layers nodes into waves: wave n holds the nodes whose predecessors are all in earlier waves.
/// `edges` are (before, after). On a cycle, returns the nodes that could not be placed.
pub(crate) fn waves(
    nodes: &BTreeSet<String>,
    edges: &BTreeSet<(String, String)>,
) -> Result<Vec<Vec<String>>, Vec<String>> {
    let mut indegree: BTreeMap<&str, usize> = nodes.iter().map(|n| (n.as_str(), 0)).collect();
    for (_, after) in edges {
        if let Some(d) = indegree.get_mut(after.as_str()) {
            *d += 1;
        }
    }
    let mut out = Vec::new();
    let mut ready: Vec<&str> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(n, _)| *n)
        .collect();
    let mut placed = 0;
    while !ready.is_empty() {
        let mut next = Vec::new();
        for n in &ready {
            for (_, after) in edges.iter().filter(|(b, _)| b == n) {
                if let Some(d) = indegree.get_mut(after.as_str()) {
                    *d -= 1;
                    if *d == 0 {
                        next.push(after.as_str());
                    }
                }
            }
        }
        placed += ready.len();
        out.push(ready.iter().map(|s| s.to_string()).collect());
        next.sort_unstable();
        ready = next;
    }
    if placed < nodes.len() {
        return Err(indegree
            .into_iter()
            .filter(|(_, d)| *d > 0)
            .map(|(n, _)| n.to_string())
            .collect());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests {
    use super::*;

    fn check(nodes: &[&str], edges: &[(&str, &str)], expected: Result<Vec<Vec<&str>>, Vec<&str>>) {
        let nodes = nodes.iter().map(|s| s.to_string()).collect();
        let edges = edges
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let want = expected
            .map(|w| {
                w.into_iter()
                    .map(|l| l.into_iter().map(String::from).collect())
                    .collect()
            })
            .map_err(|c| c.into_iter().map(String::from).collect());
        assert_eq!(waves(&nodes, &edges), want);
    }

    #[test]
    fn layers_and_cycles() {
        check(&["a", "b", "c"], &[], Ok(vec![vec!["a", "b", "c"]]));
        check(
            &["a", "b", "c"],
            &[("a", "b"), ("a", "c")],
            Ok(vec![vec!["a"], vec!["b", "c"]]),
        );
        check(
            &["a", "b", "c"],
            &[("a", "b"), ("b", "c"), ("a", "c")],
            Ok(vec![vec!["a"], vec!["b"], vec!["c"]]),
        );
        check(
            &["a", "b", "c"],
            &[("a", "b"), ("b", "a")],
            Err(vec!["a", "b"]),
        );
    }
}
