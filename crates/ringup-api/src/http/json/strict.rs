//! The JSON reader of request bodies: builds a `serde_json::Value` in one pass while refusing
//! what serde_json's own `Value` lets through.
//!
//! Invariants of a value it returns:
//!
//! - No object holds the same key twice, at any depth. serde_json keeps the last of two equal
//!   keys and other parsers keep the first, so a body with both could mean one thing to a proxy
//!   or an audit reader and another to ringup; it is refused (400, naming the key).
//! - Nesting (objects and arrays inside one another) is at most [`MAX_DEPTH`] deep; deeper is
//!   refused (422 at the path of the first container too deep) as soon as it is seen, so a
//!   hostile body costs no more than 32 levels of recursion.
//! - No string, value or key, holds a control character other than tab, line feed and carriage
//!   return (`ringup_core::text`): NUL cannot be stored by PostgreSQL and an escape sequence
//!   has no place in a receipt or a log (422 naming every such field, up to
//!   [`MAX_REPORTED`]).
//!
//! Apart from the depth limit, which stops the reading at once, syntax is checked over the
//! whole body first: a body that is also malformed is 400 as malformed, whatever its prefix
//! held.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use ringup_core::text::is_forbidden_control;

/// The deepest nesting a body may have (docs/API.md "Input limits").
pub const MAX_DEPTH: usize = 32;

/// How many fields with control characters one answer lists at most.
pub const MAX_REPORTED: usize = 20;

/// Why a body was refused.
#[derive(Debug)]
pub enum Refusal {
    /// Not JSON, or not all of it.
    Malformed(serde_json::Error),
    /// `key` appears twice in the object at `path` (empty for the top level).
    DuplicateKey { path: String, key: String },
    /// The container at `path` is nested deeper than [`MAX_DEPTH`].
    TooDeep { path: String },
    /// The strings at these paths hold a control character.
    Control { paths: Vec<String> },
}

/// Reads `bytes` as one JSON value (trailing whitespace only) under the invariants above.
pub fn parse(bytes: &[u8]) -> Result<Value, Refusal> {
    let mut walk = Walk::default();
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let read = Node {
        walk: &mut walk,
        depth: 0,
    }
    .deserialize(&mut reader)
    .and_then(|value| reader.end().map(|()| value));
    if let Some(path) = walk.too_deep {
        return Err(Refusal::TooDeep { path });
    }
    let value = read.map_err(Refusal::Malformed)?;
    if let Some((path, key)) = walk.duplicate {
        return Err(Refusal::DuplicateKey { path, key });
    }
    if !walk.control.is_empty() {
        return Err(Refusal::Control {
            paths: walk.control,
        });
    }
    Ok(value)
}

enum Segment {
    Key(String),
    Index(usize),
}

/// Where the reader is and what it has found so far.
#[derive(Default)]
struct Walk {
    path: Vec<Segment>,
    duplicate: Option<(String, String)>,
    too_deep: Option<String>,
    control: Vec<String>,
}

impl Walk {
    /// The current path as the API names fields: `lines[0].note`.
    fn path_text(&self) -> String {
        let mut text = String::new();
        for segment in &self.path {
            match segment {
                Segment::Key(key) if text.is_empty() => text.push_str(&shown(key)),
                Segment::Key(key) => {
                    text.push('.');
                    text.push_str(&shown(key));
                }
                Segment::Index(i) => text.push_str(&format!("[{i}]")),
            }
        }
        text
    }

    fn check_string(&mut self, text: &str) {
        if text.chars().any(is_forbidden_control) && self.control.len() < MAX_REPORTED {
            let path = self.path_text();
            if self.control.last() != Some(&path) {
                self.control.push(path);
            }
        }
    }
}

/// A key as it appears in a path or a message: control characters escaped, so a hostile key
/// cannot put them into a response or a log line.
fn shown(key: &str) -> String {
    if key.chars().any(char::is_control) {
        key.escape_debug().to_string()
    } else {
        key.to_owned()
    }
}

/// One value at the walk's current path, inside `depth` containers (the top level is 0).
struct Node<'w> {
    walk: &'w mut Walk,
    depth: usize,
}

impl Node<'_> {
    /// The level of a container read here; an error (and the path recorded) past the limit.
    fn enter<E: de::Error>(&mut self) -> Result<usize, E> {
        let level = self.depth + 1;
        if level > MAX_DEPTH {
            self.walk.too_deep = Some(self.walk.path_text());
            return Err(E::custom(format_args!(
                "nested deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(level)
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        self.walk.check_string(v);
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        self.walk.check_string(&v);
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        let level = self.enter()?;
        let mut items = Vec::new();
        loop {
            self.walk.path.push(Segment::Index(items.len()));
            let item = seq.next_element_seed(Node {
                walk: &mut *self.walk,
                depth: level,
            })?;
            self.walk.path.pop();
            match item {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        let level = self.enter()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.walk.path.push(Segment::Key(key.clone()));
            self.walk.check_string(&key);
            let value = map.next_value_seed(Node {
                walk: &mut *self.walk,
                depth: level,
            })?;
            self.walk.path.pop();
            if object.insert(key.clone(), value).is_some() && self.walk.duplicate.is_none() {
                self.walk.duplicate = Some((self.walk.path_text(), shown(&key)));
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn ordinary_bodies_read_as_serde_json_reads_them() {
        let body = br#"{"b":[1,-2,3.5,"x\ty\r\n",null,true],"a":{"c":{}}}"#;
        let ours = parse(body).unwrap();
        let theirs: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.to_string(), theirs.to_string());
    }

    #[test]
    fn a_repeated_key_is_refused_at_any_depth_naming_it() {
        match parse(br#"{"sku":"A","sku":"B"}"#) {
            Err(Refusal::DuplicateKey { path, key }) => {
                assert_eq!((path.as_str(), key.as_str()), ("", "sku"));
            }
            other => panic!("{other:?}"),
        }
        match parse(br#"{"lines":[{"q":1},{"q":1,"note":"a","q":2}]}"#) {
            Err(Refusal::DuplicateKey { path, key }) => {
                assert_eq!((path.as_str(), key.as_str()), ("lines[1]", "q"));
            }
            other => panic!("{other:?}"),
        }
        // The same key in two objects is no repetition.
        assert!(parse(br#"[{"q":1},{"q":1}]"#).is_ok());
    }

    #[test]
    fn nesting_is_limited_to_32() {
        assert!(parse(nested(MAX_DEPTH).as_bytes()).is_ok());
        match parse(nested(MAX_DEPTH + 1).as_bytes()) {
            Err(Refusal::TooDeep { path }) => assert_eq!(path, format!("{}", "[0]".repeat(32))),
            other => panic!("{other:?}"),
        }
        // Far deeper than serde_json's own limit (128) is still "too deep", not malformed.
        assert!(matches!(
            parse(nested(10_000).as_bytes()),
            Err(Refusal::TooDeep { .. })
        ));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(33), "}".repeat(33));
        assert!(matches!(
            parse(objects.as_bytes()),
            Err(Refusal::TooDeep { .. })
        ));
    }

    #[test]
    fn control_characters_are_refused_by_path_except_layout() {
        let body =
            br#"{"name":"a\u0000","lines":[{"note":"ok\t\r\n"},{"note":"\u001b[2J"}],"k\u0007":1}"#;
        match parse(body) {
            Err(Refusal::Control { paths }) => {
                assert_eq!(paths, ["name", "lines[1].note", "k\\u{7}"]);
            }
            other => panic!("{other:?}"),
        }
        // C1 controls and DEL too, raw in the body as well as escaped.
        for body in ["[\"\u{85}\"]", "[\"\u{7f}\"]", "[\"\\u009b\"]"] {
            assert!(
                matches!(parse(body.as_bytes()), Err(Refusal::Control { .. })),
                "{body}"
            );
        }
    }

    #[test]
    fn malformed_beats_every_other_refusal_but_depth() {
        for body in [
            &br#"{"a":1,"a":2"#[..],
            br#"{"a":"\u0000"} x"#,
            b"{\"a\":\"\x01",
        ] {
            assert!(
                matches!(parse(body), Err(Refusal::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn only_so_many_fields_are_reported() {
        let body = Value::Array(vec![Value::String("\0".into()); 100]).to_string();
        match parse(body.as_bytes()) {
            Err(Refusal::Control { paths }) => assert_eq!(paths.len(), MAX_REPORTED),
            other => panic!("{other:?}"),
        }
    }
}
