//! What text ringup accepts from a client (docs/API.md "Text").
//!
//! Invariants:
//!
//! - Free text (notes, reasons, references) is UTF-8 with no control character (Unicode
//!   general category Cc: C0, DEL and C1) except the layout ones a till may send in a note:
//!   tab, line feed and carriage return (so CRLF notes from Windows tills pass). NUL in
//!   particular never reaches a database: PostgreSQL `text` cannot hold it.
//! - A name holds no control character at all, and at least one *visible* character: one that
//!   is not white space, not a control (Cc), not a format character (Cf: zero-width joiners,
//!   the byte-order mark, bidi overrides), not unassigned (Cn) and not otherwise
//!   Default_Ignorable (variation selectors, Hangul fillers). A name of `"\u{200d}\u{200d}"`
//!   or a lone BOM looks empty on a receipt and in a list, so it is refused like `""`.
//! - A name holds no bidirectional embedding, override or isolate control (U+202A–U+202E,
//!   U+2066–U+2069), even beside visible characters: they reorder what follows them, so
//!   `"Milk\u{202e}gk 01"` would print as another product on a receipt or in a list (the
//!   "Trojan Source" trick). Scripts written right to left need none of them.
//!
//! The Unicode properties come from ICU4X's `icu_properties` (compiled Unicode data), not from
//! a table kept here, so they follow the Unicode version of that crate.

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory, WhiteSpace};
use icu_properties::{CodePointMapData, CodePointSetData};

/// Why a text value is refused. Messages complete a sentence whose subject is the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not contain NUL or other control characters (tab and line breaks only in notes)")]
    Control,
    #[error("must not contain control characters")]
    ControlInName,
    #[error("must contain a visible character")]
    Invisible,
    #[error("must not contain bidirectional override, embedding or isolate characters")]
    BidiControl,
}

/// The explicit bidirectional formatting characters that reorder the text after them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Layout characters free text may hold: tab, line feed, carriage return.
fn is_layout(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
}

/// Whether `c` is a control character free text may not hold (every Cc but tab, LF and CR).
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !is_layout(c)
}

/// Whether `c` shows as something on a receipt or a screen (see the module's invariants).
pub fn is_visible(c: char) -> bool {
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    let invisible_category = matches!(
        category,
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Unassigned
            | GeneralCategory::Surrogate
    );
    !(invisible_category
        || CodePointSetData::new::<WhiteSpace>().contains(c)
        || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c))
}

/// Free text: refused if it holds a control character other than tab, LF or CR.
pub fn check_text(text: &str) -> Result<(), TextError> {
    if text.chars().any(is_forbidden_control) {
        return Err(TextError::Control);
    }
    Ok(())
}

/// Text that must say something (a void reason, a cash movement's reason): free text with at
/// least one visible character.
pub fn check_required_text(text: &str) -> Result<(), TextError> {
    check_text(text)?;
    if !text.chars().any(is_visible) {
        return Err(TextError::Invisible);
    }
    Ok(())
}

/// A name: no control character at all (not even tab or a line break) and at least one visible
/// character.
pub fn check_name(name: &str) -> Result<(), TextError> {
    if name.chars().any(char::is_control) {
        return Err(TextError::ControlInName);
    }
    if !name.chars().any(is_visible) {
        return Err(TextError::Invisible);
    }
    if name.chars().any(is_bidi_control) {
        return Err(TextError::BidiControl);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_allows_layout_but_no_other_control() {
        assert_eq!(check_text("line one\r\nline two\tend"), Ok(()));
        assert_eq!(check_text(""), Ok(()));
        for bad in [
            "a\0b",
            "\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
            "\u{9f}",
            "\u{b}",
        ] {
            assert_eq!(check_text(bad), Err(TextError::Control), "{bad:?}");
        }
    }

    #[test]
    fn names_need_a_visible_character() {
        for good in [
            "Unga 2kg",
            "Ñandú",
            "数",
            "👍",
            "a\u{200d}b",
            "\u{301}x",
            "\u{e000}",
        ] {
            assert_eq!(check_name(good), Ok(()), "{good:?}");
        }
        for blank in [
            "",
            " \u{a0}\u{3000}",
            "\u{200d}\u{200d}",
            "\u{feff}",
            "\u{202e}",
            "\u{200b}\u{2060}\u{2066}",
            "\u{fe0f}",
            "\u{e0100}",
            "\u{3164}",
            "\u{ad}",
            "\u{e0041}",
            "\u{0378}",
            "\u{2028}",
        ] {
            assert_eq!(check_name(blank), Err(TextError::Invisible), "{blank:?}");
        }
    }

    #[test]
    fn names_refuse_bidi_controls_beside_visible_text() {
        for bad in [
            "Milk\u{202e}gk 01",
            "\u{202a}x",
            "a\u{2066}b\u{2069}",
            "\u{202d}9.99",
        ] {
            assert_eq!(check_name(bad), Err(TextError::BidiControl), "{bad:?}");
        }
        // Right-to-left scripts need no explicit controls; marks (LRM/RLM) stay allowed.
        for good in ["חלב 1 ליטר", "حليب", "a\u{200f}b"] {
            assert_eq!(check_name(good), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn names_refuse_every_control_even_layout() {
        for bad in ["a\tb", "a\nb", "a\rb", "a\0", "\u{85}x"] {
            assert_eq!(check_name(bad), Err(TextError::ControlInName), "{bad:?}");
        }
    }

    #[test]
    fn required_text_is_free_text_with_something_visible() {
        assert_eq!(check_required_text("drawer\r\nstuck"), Ok(()));
        assert_eq!(
            check_required_text("\u{200d}\r\n"),
            Err(TextError::Invisible)
        );
        assert_eq!(check_required_text("x\0"), Err(TextError::Control));
    }
}
