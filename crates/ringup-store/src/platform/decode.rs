//! The values `platform::row` converts for `sqlx::FromRow`, read by hand from a [`Row`] of a
//! write on the fast path (`Sql`): ids and integer newtypes through their own parsers, flags as
//! integers, codes through the core's `parse`. A value that does not convert is
//! [`StoreError::Corrupt`] naming its `table.column`, a 500 like any stored value this version
//! cannot read.

use std::fmt::Display;
use std::str::FromStr;

use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::Row;

/// A text column parsed with `T`'s `FromStr` (ids).
pub(crate) fn parsed<T>(row: &Row, column: &str, what: &'static str) -> StoreResult<T>
where
    T: FromStr,
    T::Err: Display,
{
    row.text(column)?
        .parse()
        .map_err(|e| StoreError::corrupt(what, e))
}

/// An integer column converted with `T`'s `TryFrom<i64>` (`LowStockThreshold`).
pub(crate) fn converted<T>(row: &Row, column: &str, what: &'static str) -> StoreResult<T>
where
    T: TryFrom<i64>,
    T::Error: Display,
{
    T::try_from(row.int(column)?).map_err(|e| StoreError::corrupt(what, e))
}

/// A flag column: `integer`, 0 or 1 on both engines.
pub(crate) fn flag(row: &Row, column: &str) -> StoreResult<bool> {
    Ok(row.int(column)? != 0)
}

/// A text column holding the stored code of a core enum, read with the enum's `parse`.
pub(crate) fn code<T>(
    row: &Row,
    column: &str,
    what: &'static str,
    parse: fn(&str) -> Option<T>,
) -> StoreResult<T> {
    let text = row.text(column)?;
    parse(&text).ok_or_else(|| StoreError::corrupt(what, format!("unknown code {text:?}")))
}
