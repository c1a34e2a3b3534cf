//! 身份证号 (citizen identity number, GB 11643-1999): parsing, and the birth date, sex and
//! age it carries.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::error::{normalise, Invalid};

/// Weights of digits 1-17 in the check computation (2^(18-i) mod 11, as fixed by the standard).
const CHECK_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character for each remainder 0..=10 of the weighted sum.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The earliest birth date accepted: older dates are typing errors, not living people.
const EARLIEST_BIRTH: (i32, u32, u32) = (1900, 1, 1);

/// A checked 18-character identity number (公民身份号码); the last character may be 'X'.
///
/// `Debug` prints only the masked form so that a number never reaches a log line by
/// accident; `Display` and serialisation give the full number for the places that need it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

/// 性别, as encoded by the parity of the 17th digit (the sequence code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// 男
    Male,
    /// 女
    Female,
}

impl Sex {
    /// The stored / API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// Computes the check character for the first 17 characters of an identity number.
///
/// `first17` must be 17 ASCII digits; anything else is a caller bug and panics.
pub fn check_char(first17: &[u8]) -> char {
    assert!(
        first17.len() == 17 && first17.iter().all(u8::is_ascii_digit),
        "check_char needs exactly 17 ASCII digits"
    );
    let sum: u32 = first17
        .iter()
        .zip(CHECK_WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// Province-level codes (省级代码) that identity numbers are issued under, including 71
/// (台湾), 81/82 (香港/澳门) and 83 (台湾居民居住证).
fn is_province_code(code: u32) -> bool {
    matches!(
        code,
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82 | 83
    )
}

/// Reads `yyyymmdd` (already known to be ASCII digits) as a calendar date.
fn date_from_digits(digits: &str) -> Option<NaiveDate> {
    let year = digits[0..4].parse().ok()?;
    let month = digits[4..6].parse().ok()?;
    let day = digits[6..8].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

fn refuse_non_digit(position: usize, found: char) -> Invalid {
    Invalid::new(
        "id_number_digit",
        format!("身份证号第 {position} 位应为数字，实际为“{found}”"),
    )
}

fn check_region(digits: &str) -> Result<(), Invalid> {
    let province = &digits[0..2];
    match province.parse() {
        Ok(code) if is_province_code(code) => Ok(()),
        _ => Err(Invalid::new(
            "id_number_region",
            format!("身份证号前两位 {province} 不是有效的省级代码"),
        )),
    }
}

impl IdNumber {
    /// Parses an 18-character number, or converts a 15-digit pre-1999 number to 18.
    ///
    /// `today` is passed in (not read from the clock) so that the domain stays pure and the
    /// "born in the future" rule can be tested.
    pub fn parse(input: &str, today: NaiveDate) -> Result<IdNumber, Invalid> {
        let cleaned = normalise(input);
        let chars: Vec<char> = cleaned.chars().collect();
        match chars.len() {
            0 => Err(Invalid::new("id_number_empty", "身份证号不能为空")),
            18 => IdNumber::parse_18(&chars, today),
            15 => IdNumber::parse_15(&chars, today),
            n => Err(Invalid::new(
                "id_number_length",
                format!("身份证号应为 18 位（或 15 位旧号码），实际为 {n} 位"),
            )),
        }
    }

    fn parse_18(chars: &[char], today: NaiveDate) -> Result<IdNumber, Invalid> {
        if let Some((i, &c)) = chars[..17]
            .iter()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_digit())
        {
            return Err(refuse_non_digit(i + 1, c));
        }
        let last = match chars[17] {
            c @ '0'..='9' => c,
            'X' | 'x' => 'X',
            c => {
                return Err(Invalid::new(
                    "id_number_digit",
                    format!("身份证号第 18 位应为数字或 X，实际为“{c}”"),
                ))
            }
        };
        let mut number: String = chars[..17].iter().collect();
        number.push(last);
        IdNumber::validate(number, today)
    }

    fn parse_15(chars: &[char], today: NaiveDate) -> Result<IdNumber, Invalid> {
        if let Some((i, &c)) = chars.iter().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(refuse_non_digit(i + 1, c));
        }
        let old: String = chars.iter().collect();
        check_region(&old)?;
        // Old numbers carry a two-digit year: they were only issued to people born in the
        // 1900s, which is what the standard's conversion assumes.
        let birth_digits = format!("19{}", &old[6..12]);
        if date_from_digits(&birth_digits).is_none() {
            return Err(Invalid::new(
                "id_number_date",
                format!(
                    "身份证号（15 位旧号码）中的出生日期 {birth_digits} 不是有效日期，无法换算为 18 位，请核对第 7-12 位"
                ),
            ));
        }
        let first17 = format!("{}19{}", &old[..6], &old[6..]);
        let number = format!("{first17}{}", check_char(first17.as_bytes()));
        IdNumber::validate(number, today)
    }

    /// Checks an 18-character ASCII number (17 digits + digit or 'X') against the standard.
    fn validate(number: String, today: NaiveDate) -> Result<IdNumber, Invalid> {
        check_region(&number)?;
        let birth_digits = &number[6..14];
        let birth = date_from_digits(birth_digits).ok_or_else(|| {
            Invalid::new(
                "id_number_date",
                format!("身份证号中的出生日期 {birth_digits} 不是有效日期"),
            )
        })?;
        let (year, month, day) = EARLIEST_BIRTH;
        if NaiveDate::from_ymd_opt(year, month, day).is_some_and(|earliest| birth < earliest) {
            return Err(Invalid::new(
                "id_number_date",
                format!("身份证号中的出生日期 {birth} 早于 1900 年，请核对"),
            ));
        }
        if birth > today {
            return Err(Invalid::new(
                "id_number_future",
                format!("身份证号中的出生日期 {birth} 晚于今天，请核对"),
            ));
        }
        let expected = check_char(&number.as_bytes()[..17]);
        let actual = char::from(number.as_bytes()[17]);
        if expected != actual {
            return Err(Invalid::new(
                "id_number_check",
                format!("身份证号校验位应为 {expected}，实际为 {actual}"),
            ));
        }
        Ok(IdNumber(number))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 出生日期 (digits 7-14).
    pub fn birth_date(&self) -> NaiveDate {
        date_from_digits(&self.0[6..14]).expect("an IdNumber's birth date was checked on parse")
    }

    /// 性别: an odd 17th digit is male.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// 周岁: completed years on `date` (0 before birth).
    ///
    /// Comparing (month, day) means someone born on 29 February has not reached the birthday
    /// on 28 February of a common year and turns a year older on 1 March.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        let birth = self.birth_date();
        let mut years = date.year() - birth.year();
        if (date.month(), date.day()) < (birth.month(), birth.day()) {
            years -= 1;
        }
        u32::try_from(years).unwrap_or(0)
    }

    /// The form shown in lists and logs: first 4 and last 4 characters, the rest hidden
    /// (e.g. "5108**********123X"), enough to tell records apart without exposing the
    /// birth date or the issuing county.
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.0[..4], &self.0[14..])
    }

    /// 地址码: the county where the number was issued, not where the person lives now.
    pub fn address_code(&self) -> &str {
        &self.0[..6]
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for IdNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn today() -> NaiveDate {
        date(2024, 6, 15)
    }

    fn parse(input: &str) -> Result<IdNumber, Invalid> {
        IdNumber::parse(input, today())
    }

    fn refusal(input: &str) -> Invalid {
        parse(input).expect_err("should be refused")
    }

    /// Written out independently of `is_province_code` so that a slip there shows up here.
    const PROVINCES: [u32; 35] = [
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51,
        52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
    ];

    const ALL_CHECK_CHARS: [char; 11] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X'];

    fn build(province: u32, area: u32, birth: NaiveDate, sequence: u32) -> String {
        let first17 = format!(
            "{province:02}{area:04}{:04}{:02}{:02}{sequence:03}",
            birth.year(),
            birth.month(),
            birth.day()
        );
        let check = check_char(first17.as_bytes());
        format!("{first17}{check}")
    }

    fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
        (to - from).num_days()
    }

    fn birth_dates_until(last: NaiveDate) -> impl Strategy<Value = NaiveDate> {
        let first = date(1900, 1, 1);
        (0..=days_between(first, last)).prop_map(move |d| first + chrono::Duration::days(d))
    }

    /// A valid number with its birth date and sequence code.
    fn valid_number() -> impl Strategy<Value = (String, NaiveDate, u32)> {
        (
            prop::sample::select(PROVINCES.to_vec()),
            0u32..10_000,
            birth_dates_until(today()),
            0u32..1000,
        )
            .prop_map(|(province, area, birth, sequence)| {
                (build(province, area, birth, sequence), birth, sequence)
            })
    }

    /// The age by counting birthdays, with 29 February celebrated on 1 March in common years.
    fn reference_age(birth: NaiveDate, on: NaiveDate) -> u32 {
        let birthday_in = |year: i32| {
            NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
                .unwrap_or_else(|| date(year, 3, 1))
        };
        let mut age = 0;
        while birthday_in(birth.year() + age as i32 + 1) <= on {
            age += 1;
        }
        age
    }

    #[test]
    fn standard_example_is_valid() {
        let id = parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), date(1949, 12, 31));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.address_code(), "110105");
        assert_eq!(id.age_on(today()), 74);
    }

    #[test]
    fn hand_computed_numbers_are_valid() {
        for (number, birth, sex) in [
            ("51081220150315001X", date(2015, 3, 15), Sex::Male),
            ("370781201202290028", date(2012, 2, 29), Sex::Female),
            ("37078120120229001X", date(2012, 2, 29), Sex::Male),
            ("510812199901010514", date(1999, 1, 1), Sex::Male),
            ("140681202012310039", date(2020, 12, 31), Sex::Male),
            ("441900201801010122", date(2018, 1, 1), Sex::Female),
            ("830000198001010018", date(1980, 1, 1), Sex::Male),
        ] {
            let id = parse(number).unwrap_or_else(|e| panic!("{number}: {e}"));
            assert_eq!(id.birth_date(), birth, "{number}");
            assert_eq!(id.sex(), sex, "{number}");
        }
    }

    #[test]
    fn wrong_check_character_names_the_expected_one() {
        let refused = refusal("110105194912310027");
        assert_eq!(refused.code, "id_number_check");
        assert_eq!(refused.message, "身份证号校验位应为 X，实际为 7");
    }

    #[test]
    fn whitespace_and_full_width_characters_are_cleaned() {
        let id = parse("\u{3000} １１０１０５１９４９１２３１００２ｘ \t").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn empty_input_is_refused() {
        for input in ["", "   ", "\u{3000}"] {
            let refused = refusal(input);
            assert_eq!(refused.code, "id_number_empty");
            assert_eq!(refused.message, "身份证号不能为空");
        }
    }

    #[test]
    fn wrong_length_reports_the_length_found() {
        let refused = refusal("12345");
        assert_eq!(refused.code, "id_number_length");
        assert_eq!(
            refused.message,
            "身份证号应为 18 位（或 15 位旧号码），实际为 5 位"
        );
    }

    #[test]
    fn a_letter_among_the_digits_is_named_with_its_position() {
        let refused = refusal("11A10519491231002X");
        assert_eq!(refused.code, "id_number_digit");
        assert_eq!(refused.message, "身份证号第 3 位应为数字，实际为“A”");
        let refused = refusal("11010519491231002Y");
        assert_eq!(refused.code, "id_number_digit");
        assert!(refused.message.contains("第 18 位"), "{}", refused.message);
        // 15-digit numbers never end in X.
        assert_eq!(refusal("11010549123100X").code, "id_number_digit");
    }

    #[test]
    fn impossible_birth_date_is_refused() {
        let number = build(51, 812, date(2015, 3, 1), 1).replace("20150301", "20150230");
        let refused = refusal(&number);
        assert_eq!(refused.code, "id_number_date");
        assert_eq!(
            refused.message,
            "身份证号中的出生日期 20150230 不是有效日期"
        );
    }

    #[test]
    fn birth_before_1900_is_refused() {
        let first17 = "51081218991231001";
        let number = format!("{first17}{}", check_char(first17.as_bytes()));
        assert_eq!(refusal(&number).code, "id_number_date");
    }

    #[test]
    fn birth_after_today_is_refused() {
        let number = build(51, 812, date(2030, 1, 1), 1);
        let refused = refusal(&number);
        assert_eq!(refused.code, "id_number_future");
        assert_eq!(
            refused.message,
            "身份证号中的出生日期 2030-01-01 晚于今天，请核对"
        );
        let tomorrow = today().succ_opt().unwrap();
        assert_eq!(
            refusal(&build(51, 812, tomorrow, 1)).code,
            "id_number_future"
        );
        // Born today is fine.
        assert!(parse(&build(51, 812, today(), 1)).is_ok());
    }

    #[test]
    fn unknown_province_is_refused() {
        let number = build(0, 812, date(2015, 3, 1), 1);
        let refused = refusal(&number);
        assert_eq!(refused.code, "id_number_region");
        assert_eq!(refused.message, "身份证号前两位 00 不是有效的省级代码");
    }

    #[test]
    fn fifteen_digit_number_is_converted() {
        let id = parse("110105491231002").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn fifteen_digit_number_with_impossible_date_is_refused() {
        let refused = refusal("510812850230001");
        assert_eq!(refused.code, "id_number_date");
        assert!(
            refused.message.contains("15 位旧号码"),
            "{}",
            refused.message
        );
        assert!(refused.message.contains("19850230"), "{}", refused.message);
    }

    #[test]
    fn leap_day_birthday_arrives_on_first_of_march_in_common_years() {
        let id = parse("370781201202290028").unwrap();
        assert_eq!(id.age_on(date(2013, 2, 28)), 0);
        assert_eq!(id.age_on(date(2013, 3, 1)), 1);
        assert_eq!(id.age_on(date(2016, 2, 28)), 3);
        assert_eq!(id.age_on(date(2016, 2, 29)), 4);
        assert_eq!(id.age_on(date(2011, 1, 1)), 0);
    }

    #[test]
    fn age_changes_on_the_birthday_itself() {
        let id = parse("51081220150315001X").unwrap();
        assert_eq!(id.age_on(date(2033, 3, 14)), 17);
        assert_eq!(id.age_on(date(2033, 3, 15)), 18);
    }

    #[test]
    fn debug_hides_the_number_and_display_shows_it() {
        let id = parse("11010519491231002X").unwrap();
        assert_eq!(format!("{id:?}"), "IdNumber(1101**********002X)");
        assert_eq!(id.to_string(), "11010519491231002X");
        assert_eq!(id.masked(), "1101**********002X");
    }

    #[test]
    fn sex_labels_are_chinese() {
        assert_eq!(Sex::Male.label(), "男");
        assert_eq!(Sex::Female.label(), "女");
    }

    proptest! {
        #[test]
        fn generated_numbers_parse_and_keep_their_facts((number, birth, sequence) in valid_number()) {
            let id = parse(&number).unwrap();
            prop_assert_eq!(id.as_str(), number.as_str());
            prop_assert_eq!(id.to_string(), number.clone());
            prop_assert_eq!(parse(id.as_str()).unwrap(), id.clone());
            prop_assert_eq!(id.birth_date(), birth);
            let sex = if sequence % 2 == 1 { Sex::Male } else { Sex::Female };
            prop_assert_eq!(id.sex(), sex);
            prop_assert_eq!(id.address_code(), &number[..6]);
        }

        #[test]
        fn any_other_check_character_is_refused(
            (number, _, _) in valid_number(),
            shift in 1usize..11,
        ) {
            let expected = char::from(number.as_bytes()[17]);
            let at = ALL_CHECK_CHARS.iter().position(|&c| c == expected).unwrap();
            let wrong = ALL_CHECK_CHARS[(at + shift) % 11];
            let refused = parse(&format!("{}{wrong}", &number[..17])).unwrap_err();
            prop_assert_eq!(refused.code, "id_number_check");
            let named = format!("应为 {expected}，实际为 {wrong}");
            prop_assert!(refused.message.contains(&named), "{}", refused.message);
        }

        #[test]
        fn lower_case_x_is_stored_upper_case(
            province in prop::sample::select(PROVINCES.to_vec()),
            area in 0u32..10_000,
            birth in birth_dates_until(today()),
        ) {
            // Exactly one check value in eleven is X: walk the sequence codes to find one.
            let number = (0..1000)
                .map(|sequence| build(province, area, birth, sequence))
                .find(|n| n.ends_with('X'))
                .unwrap();
            let id = parse(&number.to_lowercase()).unwrap();
            prop_assert_eq!(id.as_str(), number.as_str());
        }

        #[test]
        fn full_width_input_parses_to_the_same_number((number, _, _) in valid_number()) {
            let wide: String = number
                .chars()
                .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
                .collect();
            prop_assert_eq!(parse(&wide).unwrap(), parse(&number).unwrap());
        }

        #[test]
        fn future_birth_dates_are_refused(
            province in prop::sample::select(PROVINCES.to_vec()),
            ahead in 1i64..40_000,
            sequence in 0u32..1000,
        ) {
            let birth = today() + chrono::Duration::days(ahead);
            let refused = parse(&build(province, 812, birth, sequence)).unwrap_err();
            prop_assert_eq!(refused.code, "id_number_future");
        }

        #[test]
        fn unknown_province_codes_are_refused(
            province in prop::sample::select(
                (0u32..100).filter(|p| !PROVINCES.contains(p)).collect::<Vec<_>>()
            ),
            (number, _, _) in valid_number(),
        ) {
            let first17 = format!("{province:02}{}", &number[2..17]);
            let renumbered = format!("{first17}{}", check_char(first17.as_bytes()));
            prop_assert_eq!(parse(&renumbered).unwrap_err().code, "id_number_region");
        }

        #[test]
        fn fifteen_digit_numbers_convert_to_the_eighteen_digit_form(
            province in prop::sample::select(PROVINCES.to_vec()),
            area in 0u32..10_000,
            birth in birth_dates_until(date(1999, 12, 31)),
            sequence in 0u32..1000,
        ) {
            let number = build(province, area, birth, sequence);
            let old = format!("{}{}", &number[..6], &number[8..17]);
            prop_assert_eq!(old.len(), 15);
            prop_assert_eq!(parse(&old).unwrap(), parse(&number).unwrap());
        }

        #[test]
        fn age_matches_birthday_counting_and_never_decreases(
            (number, birth, _) in valid_number(),
            a in 0i64..80_000,
            b in 0i64..80_000,
        ) {
            let id = parse(&number).unwrap();
            let start = date(1900, 1, 1);
            let (early, late) = (start + chrono::Duration::days(a.min(b)), start + chrono::Duration::days(a.max(b)));
            prop_assert!(id.age_on(early) <= id.age_on(late));
            prop_assert_eq!(id.age_on(early), reference_age(birth, early));
            prop_assert_eq!(id.age_on(late), reference_age(birth, late));
        }

        #[test]
        fn masked_form_hides_the_middle_ten_characters((number, _, _) in valid_number()) {
            let id = parse(&number).unwrap();
            let masked = id.masked();
            prop_assert_eq!(masked.chars().count(), 18);
            prop_assert!(!masked.contains(&number[4..14]));
            prop_assert_eq!(&masked[..4], &number[..4]);
            prop_assert_eq!(&masked[14..], &number[14..]);
            let debug = format!("{id:?}");
            prop_assert!(!debug.contains(&number[4..14]));
        }
    }
}
