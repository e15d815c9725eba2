use super::*;
use proptest::prelude::*;

#[test]
fn volatile_parts_become_placeholders() {
    let cases = [
        ("sale 42 not found", "sale <n> not found"),
        (
            "no row for 0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
            "no row for <uuid>",
        ),
        (
            r#"bad value "hunter2" for field 'password'"#,
            "bad value <q> for field <q>",
        ),
        (
            "timeout after 30s (retry -1, ratio 0.75)",
            "timeout after <n> (retry <n>, ratio <n>)",
        ),
        ("can't lock sale42.", "can't lock sale<n>."),
        ("mail to jo@example.com failed", "mail to <email> failed"),
        (
            "postgres://ringup:s3cret@db/pos refused",
            "postgres://ringup:<email> refused",
        ),
        ("key rk_AbCdEf0123456789xyzXYZ leaked", "key <token> leaked"),
        ("line\n\tbreaks   and\u{7}bells", "line breaks and bells"),
        (
            r#"Error { msg: "a \"quoted\" thing" } at 3"#,
            "Error { msg: <q> } at <n>",
        ),
        ("unclosed 'quote with secret", "unclosed <q>"),
    ];
    for (raw, expected) in cases {
        assert_eq!(normalise(raw), expected, "{raw:?}");
    }
}

#[test]
fn a_long_message_is_bounded_and_cut_on_a_character() {
    let long = "é".repeat(10 * INPUT_MAX);
    let normalised = normalise(&long);
    assert_eq!(normalised.chars().count(), MESSAGE_MAX);
    assert!(normalise(&"word ".repeat(5000)).chars().count() <= MESSAGE_MAX);
}

#[test]
fn fingerprints_are_short_stable_hex() {
    let a = Fingerprint::of(
        "GET",
        "/api/v1/sales/{id}",
        "internal",
        "sale <n> not found",
    );
    assert_eq!(a.as_str().len(), 16);
    assert!(a.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    // A fixed value: a change of the encoding would regroup every stored error.
    assert_eq!(a.as_str(), "6afb8dd076251519");
    assert_ne!(
        a,
        Fingerprint::of("GET", "/api/v1/sales/{id}", "panic", "sale <n> not found")
    );
    assert_ne!(
        a,
        Fingerprint::of(
            "POST",
            "/api/v1/sales/{id}",
            "internal",
            "sale <n> not found"
        )
    );
    // Parts are length-prefixed: moving text from one part to the next changes the hash.
    assert_ne!(
        Fingerprint::of("GET", "/a", "bc", "d"),
        Fingerprint::of("GET", "/ab", "c", "d")
    );
}

/// A piece of a message: fixed text, or a slot filled differently in each occurrence.
#[derive(Clone, Debug)]
enum Piece {
    Word(String),
    Number,
    Uuid,
    Quoted,
}

fn pieces() -> impl Strategy<Value = Vec<Piece>> {
    let piece = prop_oneof![
        3 => "[a-z]{1,10}|[A-Z][a-z]{0,6}:|\\(|\\)|=|,".prop_map(Piece::Word),
        1 => Just(Piece::Number),
        1 => Just(Piece::Uuid),
        1 => Just(Piece::Quoted),
    ];
    prop::collection::vec(piece, 1..12)
}

/// What one occurrence puts in the slots.
#[derive(Clone, Debug)]
struct Filling {
    numbers: Vec<f64>,
    integers: Vec<i64>,
    uuids: Vec<u128>,
    quoted: Vec<String>,
}

fn filling() -> impl Strategy<Value = Filling> {
    (
        prop::collection::vec(any::<f64>().prop_filter("finite", |f| f.is_finite()), 12),
        prop::collection::vec(any::<i64>(), 12),
        prop::collection::vec(any::<u128>(), 12),
        prop::collection::vec("[^\"\\\\]{0,20}", 12),
    )
        .prop_map(|(numbers, integers, uuids, quoted)| Filling {
            numbers,
            integers,
            uuids,
            quoted,
        })
}

fn message(pieces: &[Piece], filling: &Filling) -> String {
    let mut words = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        words.push(match piece {
            Piece::Word(w) => w.clone(),
            Piece::Number if i % 2 == 0 => filling.integers[i].to_string(),
            Piece::Number => filling.numbers[i].to_string(),
            Piece::Uuid => uuid::Uuid::from_u128(filling.uuids[i]).to_string(),
            Piece::Quoted => format!("{:?}", filling.quoted[i]),
        });
    }
    words.join(" ")
}

proptest! {
    #[test]
    fn ids_numbers_and_quoted_values_never_change_the_fingerprint(
        pieces in pieces(),
        first in filling(),
        second in filling(),
    ) {
        let (a, b) = (message(&pieces, &first), message(&pieces, &second));
        prop_assert_eq!(normalise(&a), normalise(&b), "{} / {}", a, b);
        let route = "/api/v1/sales/{id}";
        prop_assert_eq!(
            Fingerprint::of("POST", route, "internal", &normalise(&a)),
            Fingerprint::of("POST", route, "internal", &normalise(&b))
        );
    }

    #[test]
    fn a_different_route_changes_the_fingerprint(
        pieces in pieces(),
        filling in filling(),
        route in "/[a-z{}/]{1,30}",
        other in "/[a-z{}/]{1,30}",
    ) {
        prop_assume!(route != other);
        let normalised = normalise(&message(&pieces, &filling));
        prop_assert_ne!(
            Fingerprint::of("GET", &route, "panic", &normalised),
            Fingerprint::of("GET", &other, "panic", &normalised)
        );
    }

    #[test]
    fn normalising_is_idempotent_and_bounded(
        text in prop_oneof![any::<String>(), "[ -~\n\t]{0,120}", "([a-z0-9]{1,3}['\"` .@<>-]){0,30}"],
    ) {
        let once = normalise(&text);
        prop_assert!(once.chars().count() <= MESSAGE_MAX);
        prop_assert_eq!(normalise(&once), once.clone());
    }
}
