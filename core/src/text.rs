//! Integers to and from decimal text, joining and splitting strings, JSON
//! strings and objects of strings, written out so that the shipped wasm
//! carries neither `core::fmt` nor std's generic parsing, joining and
//! pattern-searching machinery, nor a JSON serializer.

/// Appends the decimal text of `value`.
fn push_decimal(out: &mut String, value: i64) {
    let mut digits = [0u8; 20];
    let mut count = 0;
    let mut rest = value.unsigned_abs();
    loop {
        if let Some(slot) = digits.get_mut(count) {
            *slot = b'0' + (rest % 10) as u8;
        }
        count += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    for digit in digits.iter().take(count).rev() {
        out.push(char::from(*digit));
    }
}

/// The decimal text of `value`.
pub fn decimal(value: i64) -> String {
    let mut out = String::new();
    push_decimal(&mut out, value);
    out
}

/// Parses an optional `-` and ASCII digits; `None` for anything else or a
/// value outside `i64`.
pub fn parse_integer(text: &str) -> Option<i64> {
    let negative = text.as_bytes().first() == Some(&b'-');
    let digits = text.get(usize::from(negative)..).unwrap_or("");
    if digits.is_empty() {
        return None;
    }
    // Accumulated below zero, so that i64::MIN fits.
    let mut value: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(i64::from(b - b'0'))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// Where the byte `b` (ASCII) first is in `text`, as a plain byte loop.
pub fn find(text: &str, b: u8) -> Option<usize> {
    text.bytes().position(|c| c == b)
}

/// `text` before and after the first byte `sep` (ASCII), like
/// `str::split_once` with a `char`.
pub fn split_once(text: &str, sep: u8) -> Option<(&str, &str)> {
    let at = find(text, sep)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The parts of `text` between the bytes `sep` (ASCII), like `str::split`
/// with a `char`.
pub fn split(text: &str, sep: u8) -> Split<'_> {
    Split { rest: Some(text), sep }
}

/// The iterator of [`split`].
#[derive(Clone, Debug)]
pub struct Split<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let text = self.rest?;
        match split_once(text, self.sep) {
            Some((part, rest)) => {
                self.rest = Some(rest);
                Some(part)
            }
            None => {
                self.rest = None;
                Some(text)
            }
        }
    }
}

/// `text` without the white space (Unicode `White_Space`, as `str::trim`)
/// at either end, found over bytes: std's `trim` decodes characters both
/// ways and looks them up in a table.
pub fn trim(text: &str) -> &str {
    let bytes = text.as_bytes();
    let (mut start, mut end, mut at) = (None, 0, 0);
    while at < bytes.len() {
        match space_at(bytes.get(at..).unwrap_or_default()) {
            0 => {
                start = start.or(Some(at));
                // Byte by byte: no white space begins with a UTF-8
                // continuation byte.
                at += 1;
                end = at;
            }
            length => at += length,
        }
    }
    text.get(start.unwrap_or(0)..end).unwrap_or_default()
}

/// The length of the white space character at the start of `bytes`, or 0:
/// U+0009 to U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000 to U+200A,
/// U+2028, U+2029, U+202F, U+205F and U+3000, in UTF-8.
fn space_at(bytes: &[u8]) -> usize {
    match bytes {
        [0x09..=0x0d | 0x20, ..] => 1,
        [0xc2, 0x85 | 0xa0, ..] => 2,
        [0xe1, 0x9a, 0x80, ..]
        | [0xe2, 0x80, 0x80..=0x8a | 0xa8 | 0xa9 | 0xaf, ..]
        | [0xe2, 0x81, 0x9f, ..]
        | [0xe3, 0x80, 0x80, ..] => 3,
        _ => 0,
    }
}

/// The parts one after another.
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        out.push_str(part);
    }
    out
}

/// Appends `value` as a JSON string, escaped as `JSON.stringify` (and
/// serde_json) escape it: `"` and `\\`, the control characters as `\\b`,
/// `\\f`, `\\n`, `\\r`, `\\t` or `\\u00xx`, everything else as it is.
/// Written over bytes (what needs escaping is ASCII, and UTF-8's other
/// bytes never are), so that the wasm decodes and encodes no characters.
pub fn push_json_string(out: &mut String, value: &str) {
    const HEX: &str = "0123456789abcdef";
    put(out, "\"");
    let mut start = 0;
    for (i, b) in value.bytes().enumerate() {
        let Some(escape) = escape(b) else { continue };
        put(out, value.get(start..i).unwrap_or_default());
        put(out, escape);
        if escape.len() > 2 {
            let (high, low) = (usize::from(b >> 4), usize::from(b & 15));
            put(out, HEX.get(high..high + 1).unwrap_or_default());
            put(out, HEX.get(low..low + 1).unwrap_or_default());
        }
        start = i + 1;
    }
    put(out, value.get(start..value.len()).unwrap_or_default());
    put(out, "\"");
}

/// A JSON object of string `fields`, in their order, without whitespace,
/// as `JSON.stringify` writes it.
pub fn json_object(fields: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in fields.iter().enumerate() {
        put(&mut out, if i == 0 { "{" } else { "," });
        push_json_string(&mut out, name);
        put(&mut out, ":");
        push_json_string(&mut out, value);
    }
    put(&mut out, "}");
    out
}

/// The escape `JSON.stringify` writes for the byte `b`, if it needs one
/// (`\\u00`: its two hex digits follow). Not inlined, so that the wasm
/// carries one path for every escape rather than a copy for each.
#[inline(never)]
fn escape(b: u8) -> Option<&'static str> {
    Some(match b {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        8 => "\\b",
        12 => "\\f",
        0..=0x1f => "\\u00",
        _ => return None,
    })
}

/// Appends `piece`: one call for every piece of JSON written, so that the
/// wasm carries one copy of `push_str`'s growing and copying.
#[inline(never)]
fn put(out: &mut String, piece: &str) {
    out.push_str(piece);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_splits_and_trims() {
        assert_eq!(decimal(0), "0");
        assert_eq!(decimal(1_234_567), "1234567");
        assert_eq!(decimal(-42), "-42");
        assert_eq!(split_once("a=b=c", b'='), Some(("a", "b=c")));
        assert_eq!(split_once("=", b'='), Some(("", "")));
        assert_eq!(split_once("abc", b'='), None);
        assert_eq!(split("a,b,,c", b',').collect::<Vec<_>>(), ["a", "b", "", "c"]);
        assert_eq!(split("", b',').collect::<Vec<_>>(), [""]);
        assert_eq!(trim("  a b  "), "a b");
        assert_eq!(trim("\u{3000}x\u{a0} y\u{2028}"), "x\u{a0} y");
        assert_eq!(trim("é "), "é");
        assert_eq!(trim(" \t\n"), "");
    }

    #[test]
    fn integers_round_trip() {
        for n in [0, 7, -7, 10, 1_795_718_581_000, i64::MAX, i64::MIN] {
            assert_eq!(decimal(n), n.to_string());
            assert_eq!(parse_integer(&decimal(n)), Some(n));
        }
    }

    #[test]
    fn only_integers_parse() {
        for text in ["", "-", "+1", "1.0", " 1", "1e3", "9223372036854775808", "٣"] {
            assert_eq!(parse_integer(text), None, "{text:?}");
        }
        assert_eq!(parse_integer("007"), Some(7));
    }

    #[test]
    fn joins() {
        assert_eq!(concat(&["a", "", "bc"]), "abc");
    }

    #[test]
    fn trims_like_std() {
        for text in [
            "",
            " ",
            " a ",
            "\u{a0}\u{3000}a b\u{2028}\u{85}",
            "\u{feff}a\u{feff}",
            "é\u{200a}",
            "\u{200b}x",
            "\t\n\r x\u{1680}",
        ] {
            assert_eq!(trim(text), text.trim(), "{text:?}");
        }
        for c in (0..0x11_0000).filter_map(char::from_u32) {
            let text = format!("{c}a{c}");
            assert_eq!(trim(&text), text.trim(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn splits_like_std() {
        for text in ["", "a", "a&b", "&", "&&a&", "é&ü&"] {
            assert_eq!(
                split(text, b'&').collect::<Vec<_>>(),
                text.split('&').collect::<Vec<_>>(),
                "{text:?}"
            );
            assert_eq!(split_once(text, b'&'), text.split_once('&'), "{text:?}");
        }
    }
}
