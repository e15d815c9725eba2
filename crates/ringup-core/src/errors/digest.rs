//! The admins' mail about fingerprints not reported before.
//!
//! Invariants: it lists each group's count, route, status, kind, a message of at most
//! [`MESSAGE_IN_MAIL`] characters (already normalised, so without ids or quoted values) and
//! when it was first seen; nothing else of a request. It names at most [`LISTED`] groups and
//! says how many more there are.

use super::ErrorGroup;

/// Groups named in one mail; the rest are counted.
pub const LISTED: usize = 50;
/// Characters of a group's message quoted in the mail.
pub const MESSAGE_IN_MAIL: usize = 160;

/// A mail ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    pub subject: String,
    pub body: String,
}

/// The mail about `groups` (new fingerprints, first seen earliest first), pointing at the
/// list under `public_url`.
pub fn digest(groups: &[ErrorGroup], public_url: &str) -> Digest {
    let total = groups.len();
    let plural = if total == 1 { "" } else { "s" };
    let mut body = format!(
        "ringup recorded {total} error{plural} it had not reported before (5xx answers and \
         caught panics), grouped by fingerprint:\n"
    );
    for (n, group) in groups.iter().take(LISTED).enumerate() {
        let times = if group.count == 1 { "time" } else { "times" };
        body.push_str(&format!(
            "\n{}. {} {} answered {} ({})\n   happened {} {times}, first seen {}\n   message: {}\n   fingerprint: {}\n",
            n.saturating_add(1),
            group.method,
            group.route,
            group.status,
            group.kind,
            group.count,
            group.first_seen,
            shortened(&group.message),
            group.fingerprint,
        ));
    }
    let more = total.saturating_sub(LISTED);
    if more > 0 {
        body.push_str(&format!("\n… and {more} more.\n"));
    }
    body.push_str(&format!(
        "\nEvery group, with its request ids: {}/api/v1/admin/errors (as an admin).\n\
         At most one such mail is sent an hour; fingerprints already reported are not repeated.\n",
        public_url.trim_end_matches('/')
    ));
    Digest {
        subject: format!("ringup: {total} new error{plural}"),
        body,
    }
}

/// The message cut to [`MESSAGE_IN_MAIL`] characters, marked when cut.
fn shortened(message: &str) -> String {
    match message.char_indices().nth(MESSAGE_IN_MAIL) {
        Some((cut, _)) => format!("{}…", message.get(..cut).unwrap_or_default()),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(n: usize) -> ErrorGroup {
        ErrorGroup {
            fingerprint: format!("{n:016x}"),
            method: "GET".into(),
            route: "/api/v1/sales/{id}".into(),
            status: 500,
            kind: "internal".into(),
            message: "x".repeat(400),
            count: 3,
            first_seen: "2026-12-06T23:00:00.000000Z".into(),
            last_seen: "2026-12-06T23:05:00.000000Z".into(),
            last_request_id: "req-secret-ish".into(),
        }
    }

    #[test]
    fn names_each_group_with_its_count_route_status_and_first_seen() {
        let mail = digest(&[group(1)], "https://pos.example/");
        assert_eq!(mail.subject, "ringup: 1 new error");
        assert!(
            mail.body
                .contains("GET /api/v1/sales/{id} answered 500 (internal)")
        );
        assert!(
            mail.body
                .contains("happened 3 times, first seen 2026-12-06T23:00:00.000000Z")
        );
        assert!(
            mail.body
                .contains("https://pos.example/api/v1/admin/errors")
        );
        assert!(!mail.body.contains(&"x".repeat(MESSAGE_IN_MAIL + 1)));
        assert!(
            !mail.body.contains("req-secret-ish"),
            "request ids stay in the list"
        );
    }

    #[test]
    fn lists_at_most_fifty_and_counts_the_rest() {
        let groups: Vec<_> = (0..65).map(group).collect();
        let mail = digest(&groups, "http://x");
        assert_eq!(mail.subject, "ringup: 65 new errors");
        assert!(mail.body.contains("\n50. "));
        assert!(!mail.body.contains("\n51. "));
        assert!(mail.body.contains("… and 15 more."));
    }
}
