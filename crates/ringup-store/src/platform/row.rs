//! How stored columns become Rust values when rows are read with `#[derive(sqlx::FromRow)]`.
//!
//! sqlx's `Any` driver decodes only integers, floats, text and bytes (and a boolean only from
//! a column the engine itself calls boolean, which neither schema has). Every other value goes
//! through `#[sqlx(try_from = "…")]`: the column is decoded as one of those, then converted,
//! and a failed conversion is a `sqlx::Error::ColumnDecode` naming the column (a 500, like any
//! stored value this version of ringup cannot read). The conversions:
//!
//! - ids: `#[sqlx(try_from = "String")]`, through the id types' own `TryFrom<String>`;
//!   a nullable id: `#[sqlx(try_from = "NullableId<CategoryId>")]` on an `Option<CategoryId>`;
//! - integer newtypes of the core (`RateBp`, `LowStockThreshold`): `#[sqlx(try_from = "i64")]`;
//! - flags, stored as `integer` 0/1 on both engines: `#[sqlx(try_from = "Flag")]` on a `bool`;
//! - the text codes of core enums (`MovementKind`, `TenderMethod`, `TransferStatus`):
//!   `#[sqlx(try_from = "Code")]`;
//! - JSON kept as text: `#[sqlx(try_from = "JsonText")]` on a `serde_json::Value`.

use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Decode, Type};

use ringup_core::checkout::payment::TenderMethod;
use ringup_core::stock::{MovementKind, TransferStatus};

/// `select count(*) as n …`: `count(*)` is `bigint` on PostgreSQL and an integer on SQLite.
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub(crate) struct Count {
    pub(crate) n: i64,
}

/// A flag column: `integer` holding 0 or 1 (each schema's check constraint allows nothing
/// else).
#[derive(Clone, Copy, Debug, sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct Flag(i64);

/// A flag column that holds neither 0 nor 1.
#[derive(Debug, thiserror::Error)]
#[error("a flag must be 0 or 1, found {0}")]
pub(crate) struct NotAFlag(i64);

impl TryFrom<Flag> for bool {
    type Error = NotAFlag;

    fn try_from(flag: Flag) -> Result<bool, NotAFlag> {
        match flag.0 {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(NotAFlag(other)),
        }
    }
}

/// A text column holding the stored code of a core enum (`as_str` / `parse` in the core).
#[derive(Clone, Debug, sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct Code(String);

/// A code that names no variant.
#[derive(Debug, thiserror::Error)]
#[error("unknown code {0:?}")]
pub(crate) struct UnknownCode(String);

macro_rules! coded {
    ($($ty:ty),*) => {$(
        impl TryFrom<Code> for $ty {
            type Error = UnknownCode;

            fn try_from(code: Code) -> Result<$ty, UnknownCode> {
                <$ty>::parse(&code.0).ok_or(UnknownCode(code.0))
            }
        }
    )*};
}

coded!(MovementKind, TenderMethod, TransferStatus);

/// A text column holding a JSON document.
#[derive(Clone, Debug, sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct JsonText(String);

impl TryFrom<JsonText> for serde_json::Value {
    type Error = serde_json::Error;

    fn try_from(text: JsonText) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&text.0)
    }
}

/// A nullable id column. The derive's `try_from` converts the decoded value as a whole, and
/// `Option<Id>: TryFrom<Option<String>>` is not ours to write, so this decodes the optional
/// text and parses it with the id's `TryFrom<String>`.
pub(crate) struct NullableId<T>(Option<T>);

impl<T> From<NullableId<T>> for Option<T> {
    fn from(id: NullableId<T>) -> Option<T> {
        id.0
    }
}

impl<T> Type<Any> for NullableId<T> {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r, T> Decode<'r, Any> for NullableId<T>
where
    T: TryFrom<String>,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <Option<String> as Decode<'r, Any>>::decode(value)?;
        Ok(NullableId(text.map(T::try_from).transpose()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_zero_or_one() {
        assert!(!bool::try_from(Flag(0)).unwrap());
        assert!(bool::try_from(Flag(1)).unwrap());
        assert!(bool::try_from(Flag(2)).is_err());
    }

    #[test]
    fn codes_parse_or_name_the_stranger() {
        let kind = MovementKind::try_from(Code("sale".into())).unwrap();
        assert_eq!(kind, MovementKind::Sale);
        let err = TenderMethod::try_from(Code("barter".into())).unwrap_err();
        assert_eq!(err.to_string(), "unknown code \"barter\"");
    }
}
