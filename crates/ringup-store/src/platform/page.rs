//! Cursor pagination shared by every list. Ids are UUIDv7, so id order is creation order:
//! a page is `where id > <cursor> order by id limit n + 1`, which stays correct while rows are
//! inserted (new rows land after the cursor). The cursor sent to clients is the last id,
//! base64url-encoded so clients treat it as opaque.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A page of items and the cursor of the next page, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A decoded cursor: the id after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After(pub String);

pub fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id.as_bytes())
}

/// Decodes a client's cursor; `None` when it is not one ringup made.
pub fn decode_cursor(cursor: &str) -> Option<After> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let id = String::from_utf8(bytes).ok()?;
    let plausible = id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    plausible.then_some(After(id))
}

/// Builds a page from up to `limit + 1` rows fetched in id order.
pub fn page_of<T>(mut rows: Vec<T>, limit: usize, id_of: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|last| encode_cursor(&id_of(last)))
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = "01a2107a-904b-7056-8460-bb309489ba19";
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(After(id.into())));
        assert_eq!(decode_cursor("not-a-cursor!"), None);
        assert_eq!(decode_cursor(&encode_cursor("x' or 1=1 --")), None);
    }

    #[test]
    fn a_full_page_points_at_its_last_item() {
        let page = page_of(vec![1, 2, 3], 2, |n| format!("{n}"));
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(encode_cursor("2")));
        assert_eq!(page_of(vec![1, 2], 2, |n| format!("{n}")).next_cursor, None);
    }
}
