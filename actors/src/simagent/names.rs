//! Field-name spellings: the casing-neutral tokens of a name, its snake_case form, a label.

/// Split a name into lowercase tokens at `_ - .`, lower-to-upper, acronym and digit
/// boundaries: `createdAt`, `created_at`, `CreatedAt` and `created-at` all give `created|at`.
pub(crate) fn tokens(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if matches!(c, '_' | '-' | '.' | ' ') {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let boundary = match prev {
            Some(p) if p.is_alphanumeric() => {
                (p.is_lowercase() && c.is_uppercase())
                    || (p.is_uppercase()
                        && c.is_uppercase()
                        && next.is_some_and(char::is_lowercase))
                    || (p.is_ascii_digit() != c.is_ascii_digit())
            }
            _ => false,
        };
        if boundary && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The snake_case spelling: `createdAt` gives `created_at`.
pub(crate) fn snake(name: &str) -> String {
    tokens(name).join("_")
}

/// A human label: `createdAt` gives `Created at`.
pub(crate) fn label(name: &str) -> String {
    let text = tokens(name).join(" ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expected_snake: &str, expected_label: &str) {
        assert_eq!(
            (snake(name).as_str(), label(name).as_str()),
            (expected_snake, expected_label),
            "{name}"
        );
    }

    #[test]
    fn spellings() {
        check("createdAt", "created_at", "Created at");
        check("created_at", "created_at", "Created at");
        check("CreatedAt", "created_at", "Created at");
        check("created-at", "created_at", "Created at");
        check("orderID", "order_id", "Order id");
        check("HTTPStatus", "http_status", "Http status");
        check("line2Total", "line_2_total", "Line 2 total");
        check("total", "total", "Total");
    }
}
