//! Fuzzing the parsers every outside value goes through: 身份证号, division codes and
//! 统一社会信用代码, at high case counts, with arbitrary text (any Unicode, control
//! characters, full-width digits, huge lengths) and with near-misses of valid values.
//! None may panic; whatever one accepts must come back the same through its own output.

use chrono::NaiveDate;
use proptest::prelude::*;
use weibao_domain::{CreditCode, DivisionCode, IdNumber};

/// Cases per property (fuzz-level; the whole file runs in a few seconds).
const CASES: u32 = 10_000;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// Text that looks like what each parser expects, with characters changed, dropped,
/// doubled or swapped for full-width and look-alike forms.
fn near_miss(base: &'static str) -> impl Strategy<Value = String> {
    (
        proptest::collection::vec((0usize..24, 0u8..6, any::<char>()), 0..4),
        any::<bool>(),
    )
        .prop_map(move |(edits, pad)| {
            let mut chars: Vec<char> = base.chars().collect();
            for (at, how, c) in edits {
                let i = at % (chars.len() + 1);
                match how {
                    0 if i < chars.len() => chars[i] = c,
                    1 if i < chars.len() => {
                        chars.remove(i);
                    }
                    2 => chars.insert(i, c),
                    3 if i < chars.len() => {
                        // Full-width digit or letter: '０' + d.
                        if let Some(d) = chars[i].to_digit(36) {
                            chars[i] = char::from_u32(0xFF10 + d.min(9)).unwrap();
                        }
                    }
                    4 => chars.insert(i, ' '),
                    _ => {}
                }
            }
            let s: String = chars.into_iter().collect();
            if pad {
                format!(" {s}\t")
            } else {
                s
            }
        })
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9Xx]{0,40}",
        "[0-9A-HJ-NPQRTUWXY]{0,30}",
        ".{0,2000}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn id_numbers_never_panic_and_round_trip(s in prop_oneof![any_text(), near_miss("51081220150307001X")]) {
        if let Ok(id) = IdNumber::parse(&s, today()) {
            prop_assert_eq!(IdNumber::parse(id.as_str(), today()).unwrap(), id.clone());
            prop_assert_eq!(id.as_str().len(), 18);
        }
    }

    #[test]
    fn division_codes_never_panic_and_round_trip(s in prop_oneof![any_text(), near_miss("510812100200")]) {
        if let Ok(code) = DivisionCode::parse(&s) {
            prop_assert_eq!(DivisionCode::parse(&code.full()).unwrap(), code);
            prop_assert_eq!(code.full().len(), 12);
        }
    }

    #[test]
    fn credit_codes_never_panic_and_round_trip(s in prop_oneof![any_text(), near_miss("91350100M000100Y43")]) {
        if let Ok(code) = CreditCode::parse(&s) {
            let again = CreditCode::parse(code.as_str()).unwrap();
            prop_assert_eq!(again.as_str(), code.as_str());
        }
    }
}
