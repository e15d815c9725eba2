//! Events as clients see them: the type names, the patterns that select them (`sale.*`), and
//! the envelope `{"id","type","created_at","store_id","data"}` (docs/API.md, "Webhooks and
//! events").

use std::fmt;

/// Every event type ringup writes. Webhook filters and stream `types` name these, or a
/// pattern over them.
pub const EVENT_TYPES: &[&str] = &[
    "sale.completed",
    "sale.voided",
    "return.completed",
    "stock.adjusted",
    "stock.low",
    "transfer.requested",
    "transfer.approved",
    "transfer.rejected",
    "transfer.received",
    "transfer.cancelled",
    "shift.opened",
    "shift.closed",
    "product.created",
    "product.updated",
    "security.alert",
];

/// One entry of a `types` filter: an exact type (`stock.low`), every type under a prefix
/// (`sale.*`), or everything (`*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    Any,
    Exact(String),
    /// The prefix, with its final `.` (`sale.` for `sale.*`).
    Prefix(String),
}

/// Why a pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("is empty")]
    Empty,
    #[error("is longer than 100 characters")]
    TooLong,
    #[error("must be an event type such as `sale.completed`, a prefix such as `sale.*`, or `*`")]
    Malformed,
}

impl Pattern {
    /// Parses one pattern: dot-separated words of `a-z`, `0-9` and `_`, optionally ending in
    /// `.*`; or `*` alone. An exact type need not be one ringup writes today (a subscriber may
    /// name a type before it exists), but its shape is checked, so no SQL `like` wildcard can
    /// hide in it.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        if text.len() > 100 {
            return Err(PatternError::TooLong);
        }
        if text == "*" {
            return Ok(Pattern::Any);
        }
        let (words, prefix) = match text.strip_suffix(".*") {
            Some(words) => (words, true),
            None => (text, false),
        };
        let word_ok = |w: &str| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !words.split('.').all(word_ok) {
            return Err(PatternError::Malformed);
        }
        Ok(if prefix {
            Pattern::Prefix(format!("{words}."))
        } else {
            Pattern::Exact(words.to_owned())
        })
    }

    /// Parses a comma-separated list (`sale.*,stock.low`); an empty list selects every type.
    pub fn parse_list(text: &str) -> Result<Vec<Pattern>, PatternError> {
        text.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Pattern::parse)
            .collect()
    }

    /// Whether `event_type` is one this pattern selects.
    pub fn matches(&self, event_type: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(t) => t == event_type,
            Pattern::Prefix(p) => event_type.starts_with(p.as_str()),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Any => f.write_str("*"),
            Pattern::Exact(t) => f.write_str(t),
            Pattern::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

/// Whether any of `patterns` selects `event_type` (an empty list selects every type).
pub fn selects(patterns: &[Pattern], event_type: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.matches(event_type))
}

/// The envelope of an event as JSON text: `data` is the stored resource, inserted as is
/// (it is JSON already), the rest escaped by serde.
pub fn envelope(
    id: &str,
    event_type: &str,
    created_at: &str,
    store_id: Option<&str>,
    data: &str,
) -> String {
    let quoted = |s: &str| serde_json::Value::from(s).to_string();
    let store = store_id.map_or_else(|| "null".to_owned(), quoted);
    format!(
        "{{\"id\":{},\"type\":{},\"created_at\":{},\"store_id\":{},\"data\":{}}}",
        quoted(id),
        quoted(event_type),
        quoted(created_at),
        store,
        data
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn patterns_parse_and_match() {
        let sale = Pattern::parse("sale.*").unwrap_or(Pattern::Any);
        assert_eq!(sale, Pattern::Prefix("sale.".into()));
        assert!(sale.matches("sale.completed"));
        assert!(!sale.matches("sales.completed"));
        assert!(!sale.matches("return.completed"));
        assert!(Pattern::Any.matches("anything.at_all"));
        assert_eq!(
            Pattern::parse_list("sale.*, stock.low,,").map(|l| l.len()),
            Ok(2)
        );
        assert_eq!(Pattern::parse_list(""), Ok(vec![]));
        assert!(selects(&[], "x.y"));
        for bad in [
            "sale.%",
            "sale..x",
            ".x",
            "Sale.completed",
            "sale.*.x",
            "a b",
            "_%",
        ] {
            assert_eq!(Pattern::parse(bad), Err(PatternError::Malformed), "{bad}");
        }
        assert_eq!(Pattern::parse(" "), Err(PatternError::Empty));
    }

    #[test]
    fn every_event_type_is_a_valid_exact_pattern() {
        for t in EVENT_TYPES {
            assert_eq!(Pattern::parse(t), Ok(Pattern::Exact((*t).to_owned())));
        }
    }

    #[test]
    fn the_envelope_is_json_with_data_inserted_as_is() {
        let text = envelope(
            "e1",
            "sale.completed",
            "2026-01-01T00:00:00Z",
            Some("s\"1"),
            "{\"total\":5}",
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(value["data"]["total"], 5);
        assert_eq!(value["store_id"], "s\"1");
        let global = envelope("e2", "product.created", "t", None, "{}");
        let value: serde_json::Value = serde_json::from_str(&global).unwrap_or_default();
        assert!(value["store_id"].is_null());
    }

    proptest! {
        #[test]
        fn a_prefix_selects_exactly_the_types_that_start_with_it(
            head in "[a-z]{1,6}", tail in "[a-z_]{1,8}", other in "[a-z]{1,6}"
        ) {
            let pattern = Pattern::parse(&format!("{head}.*")).unwrap_or(Pattern::Any);
            let event_type = format!("{head}.{tail}");
            let other_type = format!("{other}.{tail}");
            prop_assert!(pattern.matches(&event_type));
            prop_assert_eq!(pattern.matches(&other_type), other == head);
            // A pattern shown and parsed again is the same pattern.
            prop_assert_eq!(Pattern::parse(&pattern.to_string()), Ok(pattern));
        }
    }
}
