//! A small JSON object writer: how the core hands plans, verdicts and errors
//! to the JS glue as one string, which the glue reads with the browser's
//! `JSON.parse` (smaller in the wasm than building JS objects field by field).

use crate::error::Error;
use crate::text::push_decimal;

/// Builds one JSON object, member by member.
#[derive(Debug)]
pub struct Object {
    out: String,
}

impl Default for Object {
    fn default() -> Self {
        Object::new()
    }
}

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object { out: String::from("{") }
    }

    fn key(mut self, key: &str) -> Object {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        push_string(&mut self.out, key);
        self.out.push(':');
        self
    }

    /// A string member.
    pub fn string(self, key: &str, value: &str) -> Object {
        let mut o = self.key(key);
        push_string(&mut o.out, value);
        o
    }

    /// A string member, or `null`.
    pub fn string_or_null(self, key: &str, value: Option<&str>) -> Object {
        match value {
            Some(value) => self.string(key, value),
            None => self.raw(key, "null"),
        }
    }

    /// An integer member.
    pub fn integer(self, key: &str, value: i64) -> Object {
        let mut o = self.key(key);
        push_decimal(&mut o.out, value);
        o
    }

    /// A boolean member.
    pub fn boolean(self, key: &str, value: bool) -> Object {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// A member whose value is already JSON.
    pub fn raw(self, key: &str, json: &str) -> Object {
        let mut o = self.key(key);
        o.out.push_str(json);
        o
    }

    /// The text.
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// `{"code","field","message"}`, as the glue turns it into an `OnrampError`.
pub fn error(err: &Error) -> String {
    Object::new()
        .string("code", err.code())
        .string_or_null("field", err.field())
        .string("message", &err.message())
        .finish()
}

/// Appends `value` as a JSON string. Escapes what JSON requires, and U+2028
/// and U+2029 too, so the text is also valid JavaScript.
pub fn push_string(out: &mut String, value: &str) {
    const HEX: &str = "0123456789abcdef";
    let bytes = value.as_bytes();
    out.push('"');
    let mut copied = 0;
    for (at, &b) in bytes.iter().enumerate() {
        // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8: escaped at
        // their last byte.
        let separator = at >= 2 && (b == 0xa8 || b == 0xa9) && bytes.get(at - 2..at) == Some(&[0xe2, 0x80][..]);
        if b != b'"' && b != b'\\' && b >= 0x20 && !separator {
            continue;
        }
        let start = if separator { at - 2 } else { at };
        out.push_str(value.get(copied..start).unwrap_or(""));
        copied = at + 1;
        if b == b'"' || b == b'\\' {
            out.push('\\');
            out.push(char::from(b));
        } else {
            let n = if separator {
                0x2000 | usize::from(b - 0x80)
            } else {
                usize::from(b)
            };
            out.push_str("\\u");
            for shift in [12, 8, 4, 0] {
                let at = (n >> shift) & 0xf;
                out.push_str(HEX.get(at..=at).unwrap_or("0"));
            }
        }
    }
    out.push_str(value.get(copied..).unwrap_or(""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Field;

    #[test]
    fn objects_are_valid_json() {
        let text = Object::new()
            .string("a", "x\"y\\z\n\u{2028}")
            .integer("n", -12)
            .boolean("b", true)
            .string_or_null("s", None)
            .raw("r", "[1]")
            .finish();
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(value["a"], "x\"y\\z\n\u{2028}");
        assert_eq!(value["n"], -12);
        assert_eq!(value["b"], true);
        assert!(value["s"].is_null());
        assert_eq!(value["r"][0], 1);
        assert_eq!(Object::new().finish(), "{}");
    }

    #[test]
    fn errors_carry_code_field_and_message() {
        let value: serde_json::Value =
            serde_json::from_str(&error(&Error::Missing(Field::CustomerId))).expect("valid JSON");
        assert_eq!(value["code"], "missing_field");
        assert_eq!(value["field"], "customerId");
        assert_eq!(value["message"], "customerId is required");
        let value: serde_json::Value = serde_json::from_str(&error(&Error::Network)).expect("valid JSON");
        assert!(value["field"].is_null());
    }
}
