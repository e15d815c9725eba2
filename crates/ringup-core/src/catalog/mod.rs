//! Catalog and inventory values: barcodes, SKUs, store codes, currencies, time zones, money and
//! stock quantities.
//!
//! Invariants (each type holds its own; a value that exists is a valid one):
//!
//! - `Barcode`: 8 (EAN-8), 12 (UPC-A), 13 (EAN-13) or 14 (GTIN-14) ASCII digits whose last digit
//!   is the GS1 mod-10 check digit of the others. Kept exactly as given: a UPC-A is never padded
//!   to 13 digits, so what a client sends is what it gets back and what `?barcode=` matches.
//! - `Sku`: 1–64 ASCII letters, digits, `-`, `_`, `.` or `/`, case kept; two SKUs are the same
//!   product code when their `normalized()` (upper-case) forms are equal.
//! - `StoreCode`: 2–8 upper-case ASCII letters or digits.
//! - `CurrencyCode`: three upper-case ASCII letters (the shape of an ISO 4217 code); the number
//!   of minor units comes from a table of well-known codes and is 2 for any other.
//! - `TimeZone`: a zone of the IANA tz database, named as the database spells it.
//! - `Money`: a whole number of minor units, 0..=10¹²; arithmetic is checked and never
//!   produces a negative or oversized amount.
//! - `Quantity` (a line's quantity): 1..=1_000_000. `SignedQuantity` (a stock delta): non-zero,
//!   within ±1_000_000. `LowStockThreshold` and a stock level: within `LEVEL_MAX` (10⁹).
//!
//! Every error's message completes a sentence whose subject is the field ("must be …"), so it
//! fits a 422 `errors[].message` as it stands, and serde reports the same message because every
//! type deserialises through `TryFrom`.

/// The conversions every text newtype here shares. The type must have
/// `parse(&str) -> Result<Self, $error>` and `as_str(&self) -> &str`.
macro_rules! text_newtype_conversions {
    ($name:ident, $error:ty) => {
        impl std::str::FromStr for $name {
            type Err = $error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::parse(&s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $error;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                $name::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The conversions every integer newtype here shares. The type must have
/// `new(i64) -> Result<Self, $error>` and `value(self) -> i64`.
macro_rules! integer_newtype_conversions {
    ($name:ident, $error:ty) => {
        impl TryFrom<i64> for $name {
            type Error = $error;

            fn try_from(value: i64) -> Result<Self, Self::Error> {
                $name::new(value)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                value.value()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.value(), f)
            }
        }
    };
}

mod barcode;
mod currency;
mod money;
mod quantity;
mod sku;
mod store_code;
mod time_zone;

pub use barcode::{Barcode, BarcodeError, BarcodeKind, gs1_check_digit};
pub use currency::{CurrencyCode, CurrencyError};
pub use money::{Money, MoneyError};
pub use quantity::{LEVEL_MAX, LowStockThreshold, Quantity, QuantityError, SignedQuantity};
pub use sku::{Sku, SkuError};
pub use store_code::{StoreCode, StoreCodeError};
pub use time_zone::{TimeZone, TimeZoneError};
