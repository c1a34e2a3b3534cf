//! 统一社会信用代码 (unified social credit code, GB 32100-2015) of units and institutions,
//! with an explicit, recorded override for issued codes that fail the check.

use std::fmt;

use crate::error::{normalise, Invalid};

/// The 31 characters a code may use; a character's index is its value. I, O, Z, S and V are
/// left out because they are easily confused with 1, 0, 2, 5 and U.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of characters 1-17 (3^(i-1) mod 31, as fixed by the standard).
const CHECK_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A structurally valid credit code.
///
/// `override_reason` is set only when the check character is wrong and someone confirmed
/// the code anyway: registration authorities have issued a few such codes, and refusing
/// them would leave real institutions unrecordable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode {
    code: String,
    override_reason: Option<String>,
}

/// Why a credit code was not accepted as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditCodeError {
    /// Wrong length or a character outside the alphabet: never overridable.
    Invalid(Invalid),
    /// Only the check character disagrees: a warning the user may override with a reason.
    CheckMismatch { expected: char, actual: char },
}

impl CreditCodeError {
    /// The stable snake_case code, as in [`Invalid::code`].
    pub fn code(&self) -> &'static str {
        match self {
            CreditCodeError::Invalid(invalid) => invalid.code,
            CreditCodeError::CheckMismatch { .. } => "credit_code_check",
        }
    }

    /// The Chinese message for the person who typed the code.
    pub fn message(&self) -> String {
        match self {
            CreditCodeError::Invalid(invalid) => invalid.message.clone(),
            CreditCodeError::CheckMismatch { expected, actual } => format!(
                "统一社会信用代码校验位应为 {expected}，实际为 {actual}；如确认代码无误，请填写原因后保存"
            ),
        }
    }

    /// For callers that show every refusal the same way.
    pub fn into_invalid(self) -> Invalid {
        match self {
            CreditCodeError::Invalid(invalid) => invalid,
            mismatch @ CreditCodeError::CheckMismatch { .. } => {
                Invalid::new(mismatch.code(), mismatch.message())
            }
        }
    }
}

impl fmt::Display for CreditCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for CreditCodeError {}

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|i| i as u32)
}

/// Computes the check character for the first 17 characters of a credit code.
///
/// `first17` must be 17 characters from the code alphabet; anything else is a caller bug
/// and panics.
pub fn check_char(first17: &[u8]) -> char {
    assert_eq!(first17.len(), 17, "check_char needs exactly 17 characters");
    let sum: u32 = first17
        .iter()
        .zip(CHECK_WEIGHTS)
        .map(|(&c, weight)| {
            value_of(c).expect("check_char needs code-alphabet characters") * weight
        })
        .sum();
    let check = (31 - sum % 31) % 31;
    char::from(ALPHABET[check as usize])
}

/// Checks length and alphabet; returns the cleaned code and the check character it
/// should have.
fn parse_structure(input: &str) -> Result<(String, char), Invalid> {
    let cleaned: String = normalise(input)
        .chars()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let length = cleaned.chars().count();
    if length == 0 {
        return Err(Invalid::new(
            "credit_code_empty",
            "统一社会信用代码不能为空",
        ));
    }
    if length != 18 {
        return Err(Invalid::new(
            "credit_code_length",
            format!("统一社会信用代码应为 18 位，实际为 {length} 位"),
        ));
    }
    if let Some((i, c)) = cleaned
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii() || value_of(*c as u8).is_none())
    {
        return Err(Invalid::new(
            "credit_code_char",
            format!(
                "统一社会信用代码第 {} 位“{c}”不是允许的字符（不含 I、O、Z、S、V）",
                i + 1
            ),
        ));
    }
    let expected = check_char(&cleaned.as_bytes()[..17]);
    Ok((cleaned, expected))
}

impl CreditCode {
    /// Parses a code (trimmed, upper-cased, full-width characters mapped to ASCII).
    pub fn parse(input: &str) -> Result<CreditCode, CreditCodeError> {
        let (code, expected) = parse_structure(input).map_err(CreditCodeError::Invalid)?;
        let actual = char::from(code.as_bytes()[17]);
        if actual != expected {
            return Err(CreditCodeError::CheckMismatch { expected, actual });
        }
        Ok(CreditCode {
            code,
            override_reason: None,
        })
    }

    /// Parses a code, accepting a failed check when `reason` (trimmed) has at least
    /// 2 characters; the reason is kept with the code so that the decision stays on record.
    /// A code that passes the check keeps no reason.
    pub fn parse_with_override(input: &str, reason: &str) -> Result<CreditCode, Invalid> {
        let (code, expected) = parse_structure(input)?;
        if code.as_bytes()[17] == expected as u8 {
            return Ok(CreditCode {
                code,
                override_reason: None,
            });
        }
        let reason = reason.trim();
        if reason.chars().count() < 2 {
            return Err(Invalid::new(
                "credit_code_reason",
                "请填写放行原因（至少 2 个字）",
            ));
        }
        Ok(CreditCode {
            code,
            override_reason: Some(reason.to_string()),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Why a code that fails the check was accepted; `None` for a code that passes.
    pub fn override_reason(&self) -> Option<&str> {
        self.override_reason.as_deref()
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXCLUDED: [char; 5] = ['I', 'O', 'Z', 'S', 'V'];

    fn alphabet_char() -> impl Strategy<Value = char> {
        prop::sample::select(ALPHABET.iter().map(|&b| char::from(b)).collect::<Vec<_>>())
    }

    fn valid_code() -> impl Strategy<Value = String> {
        prop::collection::vec(alphabet_char(), 17).prop_map(|chars| {
            let first17: String = chars.into_iter().collect();
            let check = check_char(first17.as_bytes());
            format!("{first17}{check}")
        })
    }

    /// A reason of 2 to 20 characters, Chinese or ASCII, possibly padded with spaces.
    fn good_reason() -> impl Strategy<Value = String> {
        "[ ]{0,2}[\\p{Han}a-z0-9]{2,20}[ ]{0,2}"
    }

    fn mismatch(code: &str) -> (char, char) {
        match CreditCode::parse(code) {
            Err(CreditCodeError::CheckMismatch { expected, actual }) => (expected, actual),
            other => panic!("{code}: expected a check mismatch, got {other:?}"),
        }
    }

    #[test]
    fn published_and_hand_computed_codes_pass() {
        for code in [
            "91350100M000100Y43",
            "911100001000059996",
            "12510800MB1234567L",
            "51370781MJD123456H",
        ] {
            let parsed = CreditCode::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(parsed.as_str(), code);
            assert_eq!(parsed.to_string(), code);
            assert_eq!(parsed.override_reason(), None);
        }
    }

    #[test]
    fn lower_case_full_width_and_padded_input_is_cleaned() {
        let parsed = CreditCode::parse(" ９１３５０１００ｍ000100y43\u{3000}").unwrap();
        assert_eq!(parsed.as_str(), "91350100M000100Y43");
    }

    #[test]
    fn wrong_check_character_is_a_mismatch_with_an_override_hint() {
        let refused = CreditCode::parse("91350100M000100Y44").unwrap_err();
        assert_eq!(
            refused,
            CreditCodeError::CheckMismatch {
                expected: '3',
                actual: '4'
            }
        );
        assert_eq!(refused.code(), "credit_code_check");
        assert_eq!(
            refused.message(),
            "统一社会信用代码校验位应为 3，实际为 4；如确认代码无误，请填写原因后保存"
        );
        let invalid = refused.into_invalid();
        assert_eq!(invalid.code, "credit_code_check");
        assert!(invalid.message.starts_with("统一社会信用代码校验位应为 3"));
    }

    #[test]
    fn override_needs_a_reason_of_two_characters() {
        let refused = CreditCode::parse_with_override("91350100M000100Y44", " 好 ").unwrap_err();
        assert_eq!(refused.code, "credit_code_reason");
        assert_eq!(refused.message, "请填写放行原因（至少 2 个字）");
        let accepted =
            CreditCode::parse_with_override("91350100M000100Y44", " 营业执照原样 ").unwrap();
        assert_eq!(accepted.as_str(), "91350100M000100Y44");
        assert_eq!(accepted.override_reason(), Some("营业执照原样"));
    }

    #[test]
    fn passing_code_keeps_no_override_reason() {
        let parsed = CreditCode::parse_with_override("91350100M000100Y43", "营业执照原样").unwrap();
        assert_eq!(parsed.override_reason(), None);
    }

    #[test]
    fn wrong_length_is_refused_even_with_a_reason() {
        let refused = CreditCode::parse("91350100M000100Y4").unwrap_err();
        assert_eq!(refused.code(), "credit_code_length");
        assert_eq!(
            refused.message(),
            "统一社会信用代码应为 18 位，实际为 17 位"
        );
        let refused = CreditCode::parse_with_override("91350100M000100Y4", "营业执照原样");
        assert_eq!(refused.unwrap_err().code, "credit_code_length");
    }

    #[test]
    fn empty_input_is_refused() {
        assert_eq!(
            CreditCode::parse("  ").unwrap_err().code(),
            "credit_code_empty"
        );
    }

    #[test]
    fn excluded_letter_is_named_with_its_position() {
        let refused = CreditCode::parse("91350100M000I00Y43").unwrap_err();
        assert_eq!(refused.code(), "credit_code_char");
        assert_eq!(
            refused.message(),
            "统一社会信用代码第 13 位“I”不是允许的字符（不含 I、O、Z、S、V）"
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y4中").unwrap_err().code(),
            "credit_code_char"
        );
    }

    proptest! {
        #[test]
        fn codes_with_a_computed_check_pass(code in valid_code()) {
            let parsed = CreditCode::parse(&code).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
            prop_assert_eq!(parsed.override_reason(), None);
            prop_assert_eq!(CreditCode::parse(&code.to_lowercase()).unwrap(), parsed);
        }

        #[test]
        fn any_other_check_character_is_a_mismatch(code in valid_code(), shift in 1usize..31) {
            let expected = char::from(code.as_bytes()[17]);
            let at = ALPHABET.iter().position(|&b| char::from(b) == expected).unwrap();
            let wrong = char::from(ALPHABET[(at + shift) % 31]);
            let altered = format!("{}{wrong}", &code[..17]);
            prop_assert_eq!(mismatch(&altered), (expected, wrong));
        }

        #[test]
        fn override_accepts_a_mismatch_only_with_a_reason(
            code in valid_code(),
            shift in 1usize..31,
            reason in good_reason(),
            short in "[ ]{0,3}[\\p{Han}a-z]?[ ]{0,3}",
        ) {
            let at = ALPHABET.iter().position(|&b| b == code.as_bytes()[17]).unwrap();
            let altered = format!("{}{}", &code[..17], char::from(ALPHABET[(at + shift) % 31]));
            let accepted = CreditCode::parse_with_override(&altered, &reason).unwrap();
            prop_assert_eq!(accepted.as_str(), altered.as_str());
            prop_assert_eq!(accepted.override_reason(), Some(reason.trim()));
            let refused = CreditCode::parse_with_override(&altered, &short).unwrap_err();
            prop_assert_eq!(refused.code, "credit_code_reason");
        }

        #[test]
        fn excluded_letters_are_never_overridable(
            code in valid_code(),
            position in 0usize..18,
            letter in prop::sample::select(EXCLUDED.to_vec()),
            reason in good_reason(),
        ) {
            let mut chars: Vec<char> = code.chars().collect();
            chars[position] = letter;
            let broken: String = chars.into_iter().collect();
            let refused = CreditCode::parse_with_override(&broken, &reason).unwrap_err();
            prop_assert_eq!(refused.code, "credit_code_char");
            let named = format!("第 {} 位“{letter}”", position + 1);
            prop_assert!(refused.message.contains(&named), "{}", refused.message);
        }
    }
}
