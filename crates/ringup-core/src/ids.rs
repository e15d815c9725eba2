//! Typed identifiers.
//!
//! Invariants: every id is a UUID wrapped in a type of its own, so a `UserId` can never be
//! passed where a `StoreId` is wanted. New ids are UUIDv7 (time-ordered, so they index well);
//! ids read back from clients or storage may be any UUID version. The text form is always the
//! 36-character hyphenated lower-case form, and only that form (in either case) is accepted by
//! `parse`, so one id has exactly one spelling in URLs, JSON and logs.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// Why a string is not an id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not a hyphenated UUID such as `0192d4e8-7a3b-7c41-9e2f-5a6b7c8d9e0f`.
    #[error("must be a UUID such as 0192d4e8-7a3b-7c41-9e2f-5a6b7c8d9e0f")]
    Malformed,
}

/// Length of the hyphenated text form, the only one `parse` accepts.
const HYPHENATED_LEN: usize = 36;

fn parse_uuid(s: &str) -> Result<Uuid, IdError> {
    if s.len() != HYPHENATED_LEN {
        return Err(IdError::Malformed);
    }
    Uuid::try_parse(s).map_err(|_| IdError::Malformed)
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh UUIDv7 id: unique, and ordered by creation time.
            #[allow(clippy::new_without_default, reason = "a random Default would surprise")]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses the hyphenated text form (either case).
            pub fn parse(s: &str) -> Result<Self, IdError> {
                parse_uuid(s).map(Self)
            }

            /// Wraps a UUID read back from storage; the caller vouches that it names this kind
            /// of entity.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

typed_id!(
    /// A user account (staff member).
    UserId
);
typed_id!(
    /// A login session; its access and refresh tokens belong to it.
    SessionId
);
typed_id!(
    /// An API key (machine client).
    ApiKeyId
);
typed_id!(
    /// A store (shop / branch).
    StoreId
);
typed_id!(
    /// One entry of the audit log.
    AuditEventId
);
typed_id!(
    /// A password-reset request.
    PasswordResetId
);
typed_id!(
    /// A till (point of sale) in a store.
    RegisterId
);
typed_id!(
    /// A tax class: a named rate that products refer to.
    TaxClassId
);
typed_id!(
    /// A product category (a node of the category tree).
    CategoryId
);
typed_id!(
    /// A product of the catalog.
    ProductId
);
typed_id!(
    /// One entry of the append-only stock ledger.
    StockMovementId
);
typed_id!(
    /// A stock transfer between two stores.
    TransferId
);
typed_id!(
    /// A stock reservation in a store.
    ReservationId
);
typed_id!(
    /// An event in the transactional outbox.
    OutboxEventId
);

typed_id!(
    /// A cash-drawer shift on a register.
    ShiftId
);
typed_id!(
    /// A paid-in or paid-out of a shift.
    CashMovementId
);
typed_id!(
    /// A completed (or voided) sale.
    SaleId
);
typed_id!(
    /// One line of a sale.
    SaleLineId
);
typed_id!(
    /// A return against a sale.
    ReturnId
);
typed_id!(
    /// A customer of the chain.
    CustomerId
);
typed_id!(
    /// A group of recorded errors sharing one fingerprint.
    ErrorGroupId
);
typed_id!(
    /// A mail to the admins about new error fingerprints.
    ErrorMailId
);
typed_id!(
    /// A webhook endpoint.
    WebhookId
);
typed_id!(
    /// One attempt to deliver an event to a webhook endpoint.
    WebhookDeliveryId
);
typed_id!(
    /// A mail in the durable mail queue.
    MailId
);

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "0192d4e8-7a3b-7c41-9e2f-5a6b7c8d9e0f";

    #[test]
    fn new_ids_are_v7_and_distinct() {
        let a = UserId::new();
        let b = UserId::new();
        assert_ne!(a, b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn new_ids_sort_by_creation() {
        let ids: Vec<StoreId> = (0..50).map(|_| StoreId::new()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn text_round_trip_is_lowercase_hyphenated() {
        let id = SessionId::parse(SAMPLE).unwrap();
        assert_eq!(id.to_string(), SAMPLE);
        assert_eq!(SessionId::parse(&id.to_string()).unwrap(), id);

        let upper = ApiKeyId::parse(&SAMPLE.to_uppercase()).unwrap();
        assert_eq!(upper.to_string(), SAMPLE);

        let fresh = AuditEventId::new();
        assert_eq!(fresh.to_string().parse::<AuditEventId>().unwrap(), fresh);
    }

    #[test]
    fn parse_rejects_other_spellings_and_garbage() {
        for bad in [
            "",
            "not-a-uuid",
            "0192d4e87a3b7c419e2f5a6b7c8d9e0f",
            "{0192d4e8-7a3b-7c41-9e2f-5a6b7c8d9e0f}",
            "urn:uuid:0192d4e8-7a3b-7c41-9e2f-5a6b7c8d9e0f",
            " 0192d4e8-7a3b-7c41-9e2f-5a6b7c8d9e0f",
            "0192d4e8-7a3b-7c41-9e2f-5a6b7c8d9e0g",
            "0192d4e8-7a3b-7c41-9e2f-5a6b7c8d9e0",
        ] {
            assert_eq!(UserId::parse(bad), Err(IdError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn uuid_conversions_round_trip() {
        let uuid = Uuid::now_v7();
        let id = PasswordResetId::from_uuid(uuid);
        assert_eq!(id.as_uuid(), uuid);
        assert_eq!(Uuid::from(id), uuid);
    }

    #[test]
    fn serde_is_a_string() {
        let id = UserId::parse(SAMPLE).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{SAMPLE}\""));
        let back: UserId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn serde_rejects_bad_ids_with_a_clear_message() {
        let err = serde_json::from_str::<UserId>("\"nope\"").unwrap_err();
        assert!(err.to_string().contains("must be a UUID"), "{err}");

        let err = serde_json::from_str::<StoreId>("42").unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn debug_names_the_type() {
        let id = StoreId::parse(SAMPLE).unwrap();
        assert!(format!("{id:?}").starts_with("StoreId("));
    }
}
