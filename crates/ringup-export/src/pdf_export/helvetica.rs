//! Text for the PDF's built-in Helvetica: what it can show, how wide it is, and cutting it
//! to a width.
//!
//! Guarantees: [`shown`] maps every character to one WinAnsi can encode (others become `?`,
//! control characters a space), so the widths measured are those of the glyphs printed.
//! Widths are Adobe's Helvetica metrics (1/1000 em) for ASCII; Latin-1 and the WinAnsi
//! extras use their base letters' widths or more, so a measured width never falls short of
//! the printed one by more than a rounding; bold text is measured with Helvetica-Bold's own
//! metrics, so right-aligned bold numbers line up with regular ones. [`fit`] never returns
//! text wider than asked.

use std::borrow::Cow;

/// Regular Helvetica advance widths for ' ' (32) to '~' (126), in 1/1000 em.
const ASCII_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584,
    556, // '0'..'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
    778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
    556, // 'P'..'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556,
    556, // '`'..'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'..'~'
];

/// Helvetica-Bold advance widths for ' ' (32) to '~' (126), in 1/1000 em.
const ASCII_BOLD_WIDTHS: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584,
    611, // '0'..'?'
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722,
    778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584,
    556, // 'P'..'_'
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611,
    611, // '`'..'o'
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // 'p'..'~'
];

/// Wider than any Latin-1 letter but Æ/æ and the WinAnsi ligatures, measured separately.
const NON_ASCII_WIDTH: u16 = 778;
const ELLIPSIS: &str = "...";

/// The characters WinAnsi has beyond ASCII and Latin-1 (0x80..=0x9F).
const WIN_ANSI_EXTRAS: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";

/// `text` as Helvetica prints it: unencodable characters as `?`, controls as a space.
pub(crate) fn shown(text: &str) -> Cow<'_, str> {
    let printable = |c: char| matches!(c, ' '..='~' | '\u{a0}'..='\u{ff}');
    if text.chars().all(printable) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                c if printable(c) || WIN_ANSI_EXTRAS.contains(c) => c,
                c if c.is_control() => ' ',
                _ => '?',
            })
            .collect(),
    )
}

/// Width of one character of shown text, in 1/1000 em.
fn char_width(c: char, bold: bool) -> u16 {
    let table = if bold {
        &ASCII_BOLD_WIDTHS
    } else {
        &ASCII_WIDTHS
    };
    let code = u32::from(c);
    if let Some(width) = code.checked_sub(32).and_then(|i| table.get(i as usize)) {
        return *width;
    }
    match c {
        'Æ' | 'Œ' | '…' | '‰' | '—' | '™' => 1000,
        'æ' | 'œ' => 944,
        _ => NON_ASCII_WIDTH,
    }
}

/// Width of `text` (already [`shown`]) at `size` points.
pub(crate) fn width(text: &str, size: f32, bold: bool) -> f32 {
    let units: u32 = text.chars().map(|c| u32::from(char_width(c, bold))).sum();
    units as f32 * size / 1000.0
}

/// `text` (already [`shown`]) cut to at most `max` points wide, ending in "..." when cut;
/// nothing at all when not even the ellipsis fits. Reads only as far as the width allows,
/// so a megabyte of text costs no more than a line of it.
pub(crate) fn fit(text: &str, size: f32, bold: bool, max: f32) -> Cow<'_, str> {
    // In 1/1000 em, summed as integers, so what fits is exactly what `width` measures.
    let units = |text: &str| {
        text.chars()
            .map(|c| u32::from(char_width(c, bold)))
            .sum::<u32>()
    };
    let room = if size > 0.0 { max * 1000.0 / size } else { 0.0 };
    let ellipsis = units(ELLIPSIS);
    let mut used: u32 = 0;
    // The longest prefix that still leaves room for the ellipsis.
    let mut cut_at = 0;
    for (index, c) in text.char_indices() {
        used = used.saturating_add(u32::from(char_width(c, bold)));
        if (used.saturating_add(ellipsis) as f32) <= room {
            cut_at = index + c.len_utf8();
        }
        if used as f32 > room {
            return match text.get(..cut_at) {
                Some(prefix) if ellipsis as f32 <= room => {
                    Cow::Owned(format!("{prefix}{ELLIPSIS}"))
                }
                _ => Cow::Borrowed(""),
            };
        }
    }
    Cow::Borrowed(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_replaces_what_win_ansi_lacks() {
        assert_eq!(shown("Café crème"), "Café crème");
        assert_eq!(shown("漢字 🍞 Ünïcödé"), "?? ? Ünïcödé");
        assert_eq!(shown("a\nb\tc"), "a b c");
        assert_eq!(shown("5 € – “ok”"), "5 € – “ok”");
    }

    #[test]
    fn widths_follow_helvetica() {
        // Digits are 556/1000 em; "1234.50" is 6 digits and a period at 10 pt.
        assert!((width("1234.50", 10.0, false) - (6.0 * 5.56 + 2.78)).abs() < 1e-3);
        assert!(width("W", 10.0, false) > width("i", 10.0, false));
        assert!(width("abc", 10.0, true) > width("abc", 10.0, false));
        // Bold digits are as wide as regular ones, so right-aligned totals line up.
        assert_eq!(width("-1237.40", 8.5, true), width("-1237.40", 8.5, false));
    }

    #[test]
    fn fit_cuts_with_an_ellipsis_and_never_overflows() {
        assert_eq!(fit("short", 10.0, false, 100.0), "short");
        let long = "x".repeat(1_000_000);
        let cut = fit(&long, 10.0, false, 100.0);
        assert!(cut.ends_with("..."));
        assert!(width(&cut, 10.0, false) <= 100.0);
        assert!(cut.len() > 10);
        assert_eq!(fit("abc", 10.0, false, 1.0), "");
        for max in [5.0, 20.0, 33.3, 50.0] {
            for bold in [false, true] {
                let cut = fit("Fresh Milk Long Life UHT", 9.0, bold, max);
                assert!(width(&cut, 9.0, bold) <= max, "{cut} at {max}");
            }
        }
    }
}
