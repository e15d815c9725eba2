//! Every error renders as its documented problem; every domain refusal maps to one.

use super::*;

#[test]
fn every_error_has_a_stable_slug_and_status() {
    let cases = [
        (ApiError::BadRequest("x".into()), 400, "bad-request"),
        (ApiError::Unauthorized, 401, "unauthorized"),
        (ApiError::Forbidden, 403, "forbidden"),
        (ApiError::NotFound, 404, "not-found"),
        (ApiError::PayloadTooLarge, 413, "payload-too-large"),
        (ApiError::validation("a", "b"), 422, "validation-failed"),
        (
            ApiError::RateLimited {
                retry_after_secs: 3,
            },
            429,
            "rate-limited",
        ),
        (ApiError::Unavailable("db".into()), 503, "unavailable"),
    ];
    for (err, status, slug) in cases {
        assert_eq!(err.status().as_u16(), status);
        assert_eq!(err.pending().kind.slug(), slug);
    }
}

/// One value of every variant of every domain's refusal enum, each with its place in an
/// exhaustive `match` (no wildcard: a new variant does not compile until it is listed).
fn refusals() -> Vec<(usize, usize, ApiError)> {
    use ringup_core::stock::{Shortfall, TransferAction, TransferStatus, TransitionError};
    let checkout = |e: &CheckoutError| match e {
        CheckoutError::Invalid(_) => 0,
        CheckoutError::Forbidden => 1,
        CheckoutError::NotFound => 2,
        CheckoutError::Shift { .. } => 3,
        CheckoutError::InsufficientStock(_) => 4,
        CheckoutError::NotVoidable(_) => 5,
        CheckoutError::SaleVoided => 6,
        CheckoutError::OverReturn(_) => 7,
        CheckoutError::NoOpenShift => 8,
        CheckoutError::ShiftAlreadyOpen => 9,
        CheckoutError::ShiftAlreadyClosed => 10,
        CheckoutError::Write(_) => 11,
    };
    let short = Shortfall {
        requested: 3,
        available: 1,
    };
    let checkouts = [
        CheckoutError::Invalid(vec![FieldError::new("lines", "x")]),
        CheckoutError::Forbidden,
        CheckoutError::NotFound,
        CheckoutError::Shift {
            refusal: ShiftRefusal::Closed,
            field: "payments",
        },
        CheckoutError::Shift {
            refusal: ShiftRefusal::TotalsOutOfRange,
            field: "payments",
        },
        CheckoutError::InsufficientStock(vec![("lines[0].quantity".into(), short)]),
        CheckoutError::NotVoidable("the sale is already voided"),
        CheckoutError::SaleVoided,
        CheckoutError::OverReturn(vec![FieldError::new("lines[0].quantity", "x")]),
        CheckoutError::NoOpenShift,
        CheckoutError::ShiftAlreadyOpen,
        CheckoutError::ShiftAlreadyClosed,
        CheckoutError::Write(WriteError::KeyReused),
        CheckoutError::Write(WriteError::KeyInFlight),
        CheckoutError::Write(WriteError::Store(StoreError::NotFound)),
    ];
    let catalog = |e: &CatalogError| match e {
        CatalogError::Invalid(_) => 0,
        CatalogError::NotFound => 1,
        CatalogError::Write(_) => 2,
    };
    let catalogs = [
        CatalogError::Invalid(vec![FieldError::new("name", "x")]),
        CatalogError::NotFound,
        CatalogError::Write(WriteError::KeyInFlight),
    ];
    let users = |e: &UsersError| match e {
        UsersError::Invalid(_) => 0,
        UsersError::Forbidden => 1,
        UsersError::NotFound => 2,
        UsersError::Busy => 3,
        UsersError::Write(_) => 4,
    };
    let userss = [
        UsersError::Invalid(vec![FieldError::new("role", "x")]),
        UsersError::Forbidden,
        UsersError::NotFound,
        UsersError::Busy,
        UsersError::Write(WriteError::KeyReused),
    ];
    let stock = |e: &StockError| match e {
        StockError::Invalid(_) => 0,
        StockError::Forbidden => 1,
        StockError::NotFound => 2,
        StockError::InsufficientStock(_) => 3,
        StockError::InvalidTransition(_) => 4,
        StockError::TransferChanged => 5,
        StockError::Write(_) => 6,
    };
    let stocks = [
        StockError::Invalid(vec![FieldError::new("delta", "x")]),
        StockError::Forbidden,
        StockError::NotFound,
        StockError::InsufficientStock(vec![("lines[0].quantity".into(), short)]),
        StockError::InvalidTransition(TransitionError {
            from: TransferStatus::Received,
            action: TransferAction::Cancel,
        }),
        StockError::TransferChanged,
        StockError::Write(WriteError::Store(StoreError::corrupt("x", "y"))),
    ];
    let auth = |e: &AuthError| match e {
        AuthError::Unauthorized => 0,
        AuthError::Forbidden => 1,
        AuthError::LockedOut { .. } => 2,
        AuthError::Invalid(_) => 3,
        AuthError::Busy => 4,
        AuthError::Hashing(_) => 5,
        AuthError::Write(_) => 6,
    };
    let auths = [
        AuthError::Unauthorized,
        AuthError::Forbidden,
        AuthError::LockedOut {
            retry_after_secs: 300,
        },
        AuthError::Invalid(vec![FieldError::new("token", "x")]),
        AuthError::Busy,
        AuthError::Hashing(Box::new(std::io::Error::other("argon2 refused"))),
        AuthError::Write(WriteError::Store(StoreError::NotFound)),
    ];
    let mut all = Vec::new();
    for err in auths {
        all.push((4, auth(&err), ApiError::from(err)));
    }
    for err in stocks {
        all.push((3, stock(&err), ApiError::from(err)));
    }
    for err in checkouts {
        all.push((0, checkout(&err), ApiError::from(err)));
    }
    for err in catalogs {
        all.push((1, catalog(&err), ApiError::from(err)));
    }
    for err in userss {
        all.push((2, users(&err), ApiError::from(err)));
    }
    all
}

#[test]
fn every_refusal_maps_to_a_declared_problem_with_the_status_it_documents() {
    // Variants per domain: checkout, catalog, users, stock, auth.
    let variants = [12, 3, 5, 7, 7];
    let all = refusals();
    for (domain, count) in variants.iter().enumerate() {
        for variant in 0..*count {
            assert!(
                all.iter().any(|(d, v, _)| (*d, *v) == (domain, variant)),
                "variant {variant} of domain {domain} has no example"
            );
        }
    }
    for (_, _, err) in all {
        let status = err.status().as_u16();
        let problem = err.pending();
        assert!(
            ProblemType::ALL.contains(&problem.kind),
            "{:?}",
            problem.kind
        );
        let meaning = problem.kind.meaning();
        assert!(
            meaning.starts_with(&format!("{status}:"))
                || meaning.starts_with(&format!("{status} (")),
            "{} is documented as \"{}\" but answered with {status}",
            problem.kind.slug(),
            problem.kind.meaning()
        );
        assert!(!problem.detail.is_empty());
    }
}

#[test]
fn internal_detail_hides_the_cause() {
    let err = ApiError::internal(std::io::Error::other("select * from secrets failed"));
    let pending = err.pending();
    assert_eq!(pending.kind, ProblemType::Internal);
    assert!(!pending.detail.contains("select"));
}

#[test]
fn rate_limited_sets_retry_after() {
    let response = ApiError::RateLimited {
        retry_after_secs: 42,
    }
    .into_response();
    assert_eq!(response.headers()[header::RETRY_AFTER], "42");
}

/// Error tracking gets the cause of a 5xx (its chain, each text once) and nothing below 500.
#[test]
fn only_server_errors_carry_a_cause_for_error_tracking() {
    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Repeats(#[source] std::io::Error);
    #[derive(Debug, thiserror::Error)]
    #[error("wrapper")]
    struct Wraps(#[source] std::io::Error);

    let repeated = ApiError::internal(Repeats(std::io::Error::other("inner 42")));
    let wrapped = ApiError::internal(Wraps(std::io::Error::other("inner 42")));
    let down = ApiError::Unavailable("the database is unavailable".into());

    let cause = repeated.cause().unwrap();
    assert_eq!(
        (cause.kind, cause.message.as_str()),
        ("internal", "outer: inner 42")
    );
    assert_eq!(wrapped.cause().unwrap().message, "wrapper: inner 42");
    assert_eq!(down.cause().unwrap().kind, "unavailable");
    assert!(ApiError::NotFound.cause().is_none());
    assert!(ApiError::validation("a", "b").cause().is_none());
}
