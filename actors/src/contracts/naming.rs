//! Casing-neutral names: the same field spelled `created_at`, `createdAt`, `CreatedAt` or
//! `created-at` has one key, so a mismatch across a boundary can be named as what it is.

use serde::{Deserialize, Serialize};

/// The words of a name: split on `_`, `-`, `.` and spaces, at lower-to-upper and digit boundaries
/// and at the end of an acronym (`HTTPCode` -> `http`, `code`), lowercased.
pub fn tokens(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if matches!(c, '_' | '-' | '.' | ' ') {
            flush(&mut cur, &mut out);
            continue;
        }
        if let Some(&prev) = i.checked_sub(1).and_then(|j| chars.get(j)) {
            let next = chars.get(i + 1).copied();
            let boundary = (prev.is_lowercase() && c.is_uppercase())
                || (prev.is_ascii_digit() != c.is_ascii_digit() && prev.is_alphanumeric())
                // The last capital of an acronym starts the next word: `HTTPCode`.
                || (prev.is_uppercase() && c.is_uppercase() && next.is_some_and(|n| n.is_lowercase()));
            if boundary {
                flush(&mut cur, &mut out);
            }
        }
        cur.extend(c.to_lowercase());
    }
    flush(&mut cur, &mut out);
    out
}

fn flush(cur: &mut String, out: &mut Vec<String>) {
    if !cur.is_empty() {
        out.push(std::mem::take(cur));
    }
}

/// The casing-neutral key of a name: its tokens joined by `|` (`createdAt` -> `created|at`).
pub fn key(name: &str) -> String {
    tokens(name).join("|")
}

/// A naming convention for field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Casing {
    /// `created_at`
    Snake,
    /// `createdAt`
    Camel,
    /// `CreatedAt`
    Pascal,
    /// `created-at`
    Kebab,
}

impl std::fmt::Display for Casing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Casing::Snake => "snake_case",
            Casing::Camel => "camelCase",
            Casing::Pascal => "PascalCase",
            Casing::Kebab => "kebab-case",
        };
        f.write_str(s)
    }
}

/// The casing a name shows, or `None` when it shows none (one lowercase word like `id` fits them all).
pub fn casing_of(name: &str) -> Option<Casing> {
    let first = name.chars().next()?;
    if name.contains('_') {
        return Some(Casing::Snake);
    }
    if name.contains('-') {
        return Some(Casing::Kebab);
    }
    if first.is_uppercase() {
        return Some(Casing::Pascal);
    }
    if name.chars().any(char::is_uppercase) {
        return Some(Casing::Camel);
    }
    None
}

/// The most common casing among names that show one; ties go to the first in enum order.
pub fn dominant_casing<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Casing> {
    let mut counts = std::collections::BTreeMap::new();
    for c in names.into_iter().filter_map(casing_of) {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    // max_by_key keeps the last maximum; iterate in reverse so ties go to the first casing.
    counts
        .into_iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map(|(c, _)| c)
}

/// Spells a name in a casing: `convert("created_at", Casing::Camel)` is `createdAt`.
pub fn convert(name: &str, casing: Casing) -> String {
    let toks = tokens(name);
    let cap = |t: &String| {
        let mut cs = t.chars();
        cs.next()
            .map(|c| c.to_uppercase().chain(cs).collect::<String>())
            .unwrap_or_default()
    };
    match casing {
        Casing::Snake => toks.join("_"),
        Casing::Kebab => toks.join("-"),
        Casing::Pascal => toks.iter().map(cap).collect(),
        Casing::Camel => toks
            .iter()
            .enumerate()
            .map(|(i, t)| if i == 0 { t.clone() } else { cap(t) })
            .collect(),
    }
}

/// Whether two names differ by exactly one token (one replaced, added or removed), which makes
/// one a plausible rename of the other (`created_at` vs `created_on`, `total` vs `total_cents`).
pub fn near(a: &str, b: &str) -> bool {
    let (ta, tb) = (tokens(a), tokens(b));
    if ta == tb {
        return false;
    }
    if ta.len() == tb.len() {
        // With one word, "one token different" is every difference: not a rename hint.
        return ta.len() >= 2 && ta.iter().zip(&tb).filter(|(x, y)| x != y).count() == 1;
    }
    let (short, long) = if ta.len() < tb.len() {
        (&ta, &tb)
    } else {
        (&tb, &ta)
    };
    if long.len() != short.len() + 1 || short.is_empty() {
        return false;
    }
    (0..long.len()).any(|skip| {
        long.iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, t)| t)
            .eq(short.iter())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests {
    use super::*;

    fn check(name: &str, expected_key: &str, expected_casing: Option<Casing>) {
        assert_eq!(key(name), expected_key, "key of {name}");
        assert_eq!(casing_of(name), expected_casing, "casing of {name}");
    }

    #[test]
    fn keys_and_casings() {
        check("created_at", "created|at", Some(Casing::Snake));
        check("createdAt", "created|at", Some(Casing::Camel));
        check("CreatedAt", "created|at", Some(Casing::Pascal));
        check("created-at", "created|at", Some(Casing::Kebab));
        check("created.at", "created|at", None);
        check("HTTPCode", "http|code", Some(Casing::Pascal));
        check("orderID", "order|id", Some(Casing::Camel));
        check("line2Total", "line|2|total", Some(Casing::Camel));
        check("address_line_2", "address|line|2", Some(Casing::Snake));
        check("id", "id", None);
        check("", "", None);
    }

    #[test]
    fn dominant_ignores_neutral_names() {
        assert_eq!(
            dominant_casing(["id", "created_at", "customer_name", "totalCents"]),
            Some(Casing::Snake)
        );
        assert_eq!(dominant_casing(["id", "total"]), None);
        assert_eq!(dominant_casing(["aB", "a_b"]), Some(Casing::Snake));
    }

    #[test]
    fn converts_between_casings() {
        assert_eq!(convert("created_at", Casing::Camel), "createdAt");
        assert_eq!(convert("createdAt", Casing::Snake), "created_at");
        assert_eq!(convert("HTTPCode", Casing::Kebab), "http-code");
        assert_eq!(convert("created_at", Casing::Pascal), "CreatedAt");
    }

    #[test]
    fn near_names_differ_by_one_token() {
        assert!(near("created_at", "createdOn"));
        assert!(near("total", "total_cents"));
        assert!(!near("created_at", "createdAt"));
        assert!(!near("created_at", "updated_on"));
        assert!(!near("id", "sku"));
    }
}
