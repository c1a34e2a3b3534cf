//! Refusals of input values, and the input clean-up every parser shares.

use std::fmt;

/// A refused value: a stable snake_case `code` and a Chinese `message` that names the field
/// (e.g. "身份证号校验位应为 7，实际为 X") and says how to fix it.
///
/// The code is for programs (API clients, tests, form field highlighting); the message is
/// shown to the person who typed the value, so it must make sense without the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(code: &'static str, message: impl Into<String>) -> Invalid {
        Invalid {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

/// A form's text field, trimmed: refused (with the field's name) when required and empty or
/// longer than `max` characters; `what` is the field's Chinese name in the message.
pub(crate) fn bounded(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
    what: &str,
) -> Result<String, (&'static str, Invalid)> {
    let v = value.trim();
    if (required && v.is_empty()) || v.chars().count() > max {
        return Err((
            field,
            Invalid::new(
                "text_length",
                if required {
                    format!("请填写{what}（{max} 字以内）")
                } else {
                    format!("{what}不能超过 {max} 字")
                },
            ),
        ));
    }
    Ok(v.to_string())
}

/// Maps a full-width form character (全角, U+FF01–U+FF5E) to its ASCII twin.
///
/// Chinese input methods often leave full-width mode on, so "５１０８" and "ｘ" arrive from
/// forms and spreadsheets; refusing them would only make people retype a correct value.
pub(crate) fn to_half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Trims surrounding whitespace (`str::trim` covers the ideographic space U+3000) and maps
/// full-width characters to ASCII.
pub(crate) fn normalise(input: &str) -> String {
    input.trim().chars().map(to_half_width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prints_only_the_message() {
        let refused = Invalid::new("id_number_empty", "身份证号不能为空");
        assert_eq!(refused.to_string(), "身份证号不能为空");
        assert_eq!(refused.code, "id_number_empty");
    }

    #[test]
    fn full_width_digits_and_letters_become_ascii() {
        assert_eq!(normalise("\u{3000}５１０８ｘＸ\u{3000}"), "5108xX");
        assert_eq!(to_half_width('中'), '中');
    }
}
