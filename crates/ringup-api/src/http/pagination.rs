//! `?limit=&cursor=` for every list: `limit` 1–200 (default 50; anything else is 422, never
//! clamped) and an opaque cursor from a previous page.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use ringup_store::platform::page::{After, decode_cursor};

use crate::http::error::ApiError;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page, 1–200 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Like [`ListQuery::parse`], but adds a bad `limit` or `cursor` to `errors` (and returns
    /// a placeholder) so a 422 can list it with the other fields' errors.
    pub fn parse_collecting(
        &self,
        errors: &mut Vec<crate::http::error::FieldError>,
    ) -> Result<(usize, Option<After>), ApiError> {
        match self.parse() {
            Ok(parsed) => Ok(parsed),
            Err(ApiError::Validation(mut e)) => {
                errors.append(&mut e);
                Ok((1, None))
            }
            Err(err) => Err(err),
        }
    }

    pub fn parse(&self) -> Result<(usize, Option<After>), ApiError> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(
                        "limit",
                        "must be a whole number from 1 to 200",
                    ));
                }
            },
        };
        let after =
            match self.cursor.as_deref() {
                None | Some("") => None,
                Some(text) => Some(decode_cursor(text).ok_or_else(|| {
                    ApiError::validation("cursor", "is not a cursor from this list")
                })?),
            };
        Ok((limit, after))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
