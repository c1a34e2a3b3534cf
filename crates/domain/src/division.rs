//! 统计用区划代码 (NBS statistical division codes): parsing, levels and the subtree
//! arithmetic that scopes every record to a place.

use std::fmt;
use std::str::FromStr;

use crate::error::{normalise, Invalid};

/// A checked division code, held as its canonical 12-digit number.
///
/// Layout: 2 province (省) + 2 city (地) + 2 county (县) + 3 township (乡) + 3 village (村).
/// Because the width is fixed, numeric order equals the order of the 12-digit strings, so
/// a subtree is one contiguous range (see [`DivisionCode::subtree_bounds`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DivisionCode(u64);

/// 区划层级: the five levels of the statistical division tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// 省级 (省、自治区、直辖市)
    Province,
    /// 地级 (地级市、地区、自治州、盟)
    City,
    /// 县级 (县、县级市、市辖区、旗)
    County,
    /// 乡级 (乡、镇、街道)
    Township,
    /// 村级 (村委会、居委会)
    Village,
}

/// 城乡属性 of a village-level unit, read from the village part of the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VillageArea {
    /// 城镇: 居委会 (village part 001-199)
    Urban,
    /// 乡村: 村委会 (village part 200-399)
    Rural,
    /// Any other village part (e.g. 400-599, used for special units)
    Other,
}

/// The kind of a township-level unit, read from the first digit of the township part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TownshipKind {
    /// 街道 (first digit 0)
    Subdistrict,
    /// 镇 (first digit 1)
    Town,
    /// 乡 (first digit 2 or 3)
    Township,
    /// Any other first digit (4-5: 农场、开发区 and similar units)
    Other,
}

impl Level {
    /// Root first.
    pub const ALL: [Level; 5] = [
        Level::Province,
        Level::City,
        Level::County,
        Level::Township,
        Level::Village,
    ];

    /// The stored / API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::Province => "省级",
            Level::City => "地级",
            Level::County => "县级",
            Level::Township => "乡级",
            Level::Village => "村级",
        }
    }

    /// 1 for a province down to 5 for a village.
    pub fn depth(self) -> u8 {
        match self {
            Level::Province => 1,
            Level::City => 2,
            Level::County => 3,
            Level::Township => 4,
            Level::Village => 5,
        }
    }

    /// How many leading digits of the 12-digit code are significant at this level.
    pub fn prefix_len(self) -> usize {
        match self {
            Level::Province => 2,
            Level::City => 4,
            Level::County => 6,
            Level::Township => 9,
            Level::Village => 12,
        }
    }

    /// The inverse of [`Level::as_str`].
    pub fn from_str_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|level| level.as_str() == name)
    }

    /// The next level down, `None` for a village.
    pub fn child(self) -> Option<Level> {
        match self {
            Level::Province => Some(Level::City),
            Level::City => Some(Level::County),
            Level::County => Some(Level::Township),
            Level::Township => Some(Level::Village),
            Level::Village => None,
        }
    }

    /// The width of this level's own part of the code.
    fn part_len(self) -> usize {
        match self {
            Level::Province | Level::City | Level::County => 2,
            Level::Township | Level::Village => 3,
        }
    }

    /// 10^(digits below this level): dividing a 12-digit code by it leaves the prefix.
    fn scale(self) -> u64 {
        10u64.pow((12 - self.prefix_len()) as u32)
    }
}

impl VillageArea {
    pub fn label(self) -> &'static str {
        match self {
            VillageArea::Urban => "城镇",
            VillageArea::Rural => "乡村",
            VillageArea::Other => "其他",
        }
    }
}

impl TownshipKind {
    pub fn label(self) -> &'static str {
        match self {
            TownshipKind::Subdistrict => "街道",
            TownshipKind::Town => "镇",
            TownshipKind::Township => "乡",
            TownshipKind::Other => "其他",
        }
    }
}

/// The lowest and highest province parts in use (北京 11 to 澳门 82).
const PROVINCE_RANGE: std::ops::RangeInclusive<u64> = 11..=82;

impl DivisionCode {
    /// Parses a code of 2, 4, 6, 9 or 12 digits; shorter codes stand for their zero-padded
    /// 12-digit form, so "510812" and "510812000000" are the same county.
    pub fn parse(input: &str) -> Result<DivisionCode, Invalid> {
        let cleaned = normalise(input);
        if cleaned.is_empty() {
            return Err(Invalid::new("division_empty", "区划代码不能为空"));
        }
        if let Some((i, c)) = cleaned
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_digit())
        {
            return Err(Invalid::new(
                "division_digits",
                format!("区划代码只能包含数字，第 {} 位为“{c}”", i + 1),
            ));
        }
        let length = cleaned.len();
        if !Level::ALL.iter().any(|level| level.prefix_len() == length) {
            return Err(Invalid::new(
                "division_length",
                format!("区划代码应为 2、4、6、9 或 12 位数字，实际为 {length} 位"),
            ));
        }
        let padded = format!("{cleaned:0<12}");
        let number: u64 = padded
            .parse()
            .expect("twelve ASCII digits always fit in a u64");
        let code = DivisionCode(number);
        let province = code.part(Level::Province);
        if !PROVINCE_RANGE.contains(&province) {
            return Err(Invalid::new(
                "division_province",
                format!(
                    "区划代码 {cleaned} 的前两位 {province:02} 不是有效的省级代码（应在 11 到 82 之间）"
                ),
            ));
        }
        code.check_structure(&cleaned)?;
        Ok(code)
    }

    /// Refuses a part that hangs below an all-zero part, with one exception: a city part
    /// followed by county part 00 may have townships, because a few prefecture-level cities
    /// have no counties and govern townships directly (东莞 441900, 中山 442000, 儋州 460400).
    fn check_structure(self, shown: &str) -> Result<(), Invalid> {
        let below = |level: Level| {
            Level::ALL
                .into_iter()
                .filter(move |l| *l > level)
                .find(|l| self.part(*l) != 0)
        };
        let orphan = if self.part(Level::City) == 0 {
            below(Level::City).map(|l| (l, Level::City))
        } else if self.part(Level::Township) == 0 {
            below(Level::Township).map(|l| (l, Level::Township))
        } else {
            None
        };
        match orphan {
            None => Ok(()),
            Some((orphan, zero)) => Err(Invalid::new(
                "division_structure",
                format!(
                    "区划代码 {shown} 结构不正确：{}部分不能挂在 {} 之下",
                    orphan.label(),
                    "0".repeat(zero.part_len())
                ),
            )),
        }
    }

    /// The digits of one level's own part, e.g. 812 for the township part of 510812812000.
    fn part(self, level: Level) -> u64 {
        (self.0 / level.scale()) % 10u64.pow(level.part_len() as u32)
    }

    /// The level is that of the last non-zero part.
    pub fn level(self) -> Level {
        Level::ALL
            .into_iter()
            .rev()
            .find(|level| self.part(*level) != 0)
            .unwrap_or(Level::Province)
    }

    /// The canonical 12-digit form, as stored and as in the NBS tables.
    pub fn full(self) -> String {
        format!("{:012}", self.0)
    }

    /// The significant digits: 2, 4, 6, 9 or 12 of them according to the level.
    pub fn prefix(self) -> String {
        let mut full = self.full();
        full.truncate(self.level().prefix_len());
        full
    }

    /// The unit directly above, `None` for a province. A township of a city without counties
    /// has the city as parent.
    pub fn parent(self) -> Option<DivisionCode> {
        let level = self.level();
        if level == Level::Province {
            return None;
        }
        Some(DivisionCode(self.0 - self.part(level) * level.scale()))
    }

    /// Every unit above this one, root first, excluding this one.
    pub fn ancestors(self) -> Vec<DivisionCode> {
        let mut chain: Vec<DivisionCode> =
            std::iter::successors(self.parent(), |c| c.parent()).collect();
        chain.reverse();
        chain
    }

    /// The unit of `level` this one lies in (itself when it is of that level or above):
    /// the township of a village.
    pub fn at_level(self, level: Level) -> DivisionCode {
        if self.level() <= level {
            return self;
        }
        let scale = 10u64.pow((12 - level.prefix_len()) as u32);
        DivisionCode(self.0 / scale * scale)
    }

    /// Whether `other` lies in this unit's subtree (a unit contains itself).
    pub fn contains(self, other: DivisionCode) -> bool {
        let scale = self.level().scale();
        self.0 / scale == other.0 / scale
    }

    /// Inclusive 12-digit bounds of the subtree, for `code BETWEEN lo AND hi` in SQL:
    /// county 510812 gives ("510812000000", "510812999999").
    pub fn subtree_bounds(self) -> (String, String) {
        let prefix = self.prefix();
        let high = format!("{prefix:9<12}");
        (self.full(), high)
    }

    /// The first 6 digits of the 12-digit form: the county itself or the county the unit
    /// lies in ("510800" for a city, "510000" for a province).
    pub fn county_code(self) -> String {
        let mut full = self.full();
        full.truncate(6);
        full
    }

    /// The 2-digit province part, e.g. "51".
    pub fn province_code(self) -> String {
        let mut full = self.full();
        full.truncate(2);
        full
    }

    /// 城乡属性, for village-level units only.
    pub fn village_area(self) -> Option<VillageArea> {
        if self.level() != Level::Village {
            return None;
        }
        Some(match self.part(Level::Village) {
            1..=199 => VillageArea::Urban,
            200..=399 => VillageArea::Rural,
            _ => VillageArea::Other,
        })
    }

    /// 街道 / 镇 / 乡, for township-level units only.
    pub fn township_kind(self) -> Option<TownshipKind> {
        if self.level() != Level::Township {
            return None;
        }
        Some(match self.part(Level::Township) / 100 {
            0 => TownshipKind::Subdistrict,
            1 => TownshipKind::Town,
            2 | 3 => TownshipKind::Township,
            _ => TownshipKind::Other,
        })
    }
}

impl FromStr for DivisionCode {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<DivisionCode, Invalid> {
        DivisionCode::parse(s)
    }
}

impl fmt::Debug for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DivisionCode({:012})", self.0)
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl serde::Serialize for DivisionCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.full())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(input: &str) -> DivisionCode {
        DivisionCode::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    fn refusal(input: &str) -> Invalid {
        DivisionCode::parse(input).expect_err("should be refused")
    }

    /// Parts of a code (province, city, county, township, village) and how many of them are
    /// significant, written out as the prefix a person would type.
    fn typed_prefix(parts: (u32, u32, u32, u32, u32), depth: usize) -> String {
        let (province, city, county, township, village) = parts;
        let full = format!("{province:02}{city:02}{county:02}{township:03}{village:03}");
        full[..Level::ALL[depth - 1].prefix_len()].to_string()
    }

    /// Keeps generated county parts non-zero when the county is the last significant part,
    /// since "510800" is a city, not a county.
    fn with_depth(
        parts: impl Strategy<Value = (u32, u32, u32, u32, u32)>,
    ) -> impl Strategy<Value = (String, Level)> {
        (parts, 1usize..=5).prop_map(|((province, city, county, township, village), depth)| {
            let county = if depth <= 3 && county == 0 { 1 } else { county };
            let prefix = typed_prefix((province, city, county, township, village), depth);
            (prefix, Level::ALL[depth - 1])
        })
    }

    /// Any valid code; about one in five has county part 00 (a city without counties).
    fn any_code() -> impl Strategy<Value = (String, Level)> {
        with_depth((
            11u32..=82,
            1u32..=99,
            prop_oneof![1 => Just(0u32), 4 => 1u32..=99],
            1u32..=999,
            1u32..=999,
        ))
    }

    /// Codes drawn from a tiny tree, so that two of them are often related.
    fn nearby_code() -> impl Strategy<Value = DivisionCode> {
        with_depth((
            11u32..=12,
            1u32..=2,
            0u32..=2,
            prop::sample::select(vec![1u32, 2, 999]),
            prop::sample::select(vec![1u32, 201, 999]),
        ))
        .prop_map(|(prefix, _)| code(&prefix))
    }

    #[test]
    fn short_and_full_forms_are_the_same_unit() {
        assert_eq!(code("510812"), code("510812000000"));
        assert_eq!(code("510812").level(), Level::County);
        assert_eq!(code("510800").level(), Level::City);
        assert_eq!(code("510800"), code("5108"));
        assert_eq!(code("51").level(), Level::Province);
        assert_eq!(code("370781001").level(), Level::Township);
        assert_eq!(code("370781001001").level(), Level::Village);
    }

    #[test]
    fn whitespace_and_full_width_digits_are_accepted() {
        assert_eq!(code("\u{3000}５１０８１２ "), code("510812"));
    }

    #[test]
    fn prefix_and_full_follow_the_level() {
        let county = code("510812000000");
        assert_eq!(county.prefix(), "510812");
        assert_eq!(county.full(), "510812000000");
        assert_eq!(county.to_string(), "510812000000");
        assert_eq!(format!("{county:?}"), "DivisionCode(510812000000)");
        assert_eq!(code("370781105").prefix(), "370781105");
    }

    #[test]
    fn county_subtree_bounds_cover_its_twelve_digit_range() {
        assert_eq!(
            code("510812").subtree_bounds(),
            ("510812000000".to_string(), "510812999999".to_string())
        );
        assert_eq!(
            code("37").subtree_bounds(),
            ("370000000000".to_string(), "379999999999".to_string())
        );
    }

    #[test]
    fn parent_and_ancestors_walk_to_the_province() {
        let village = code("510812100201");
        assert_eq!(village.parent(), Some(code("510812100")));
        assert_eq!(
            village.ancestors(),
            vec![code("51"), code("5108"), code("510812"), code("510812100")]
        );
        assert_eq!(code("51").parent(), None);
        assert!(code("51").ancestors().is_empty());
    }

    #[test]
    fn townships_of_a_city_without_counties_hang_under_the_city() {
        // 东莞市东城街道 in the NBS 2023 table.
        let street = code("441900003");
        assert_eq!(street.level(), Level::Township);
        assert_eq!(street.parent(), Some(code("4419")));
        assert_eq!(street.ancestors(), vec![code("44"), code("4419")]);
        assert!(code("4419").contains(street));
        assert_eq!(code("441900003001").parent(), Some(street));
    }

    #[test]
    fn county_and_province_codes_are_prefixes_of_the_full_form() {
        assert_eq!(code("510812100201").county_code(), "510812");
        assert_eq!(code("5108").county_code(), "510800");
        assert_eq!(code("51").county_code(), "510000");
        assert_eq!(code("510812100201").province_code(), "51");
    }

    #[test]
    fn village_part_tells_urban_from_rural() {
        assert_eq!(
            code("110101001001").village_area(),
            Some(VillageArea::Urban)
        );
        assert_eq!(
            code("510812100201").village_area(),
            Some(VillageArea::Rural)
        );
        assert_eq!(
            code("510812100399").village_area(),
            Some(VillageArea::Rural)
        );
        assert_eq!(
            code("510812100400").village_area(),
            Some(VillageArea::Other)
        );
        assert_eq!(code("510812100").village_area(), None);
        assert_eq!(VillageArea::Rural.label(), "乡村");
    }

    #[test]
    fn township_first_digit_tells_the_kind() {
        assert_eq!(
            code("110101001").township_kind(),
            Some(TownshipKind::Subdistrict)
        );
        assert_eq!(code("441900101").township_kind(), Some(TownshipKind::Town));
        assert_eq!(
            code("510812200").township_kind(),
            Some(TownshipKind::Township)
        );
        assert_eq!(
            code("510812399").township_kind(),
            Some(TownshipKind::Township)
        );
        assert_eq!(code("510812400").township_kind(), Some(TownshipKind::Other));
        assert_eq!(code("510812").township_kind(), None);
        assert_eq!(TownshipKind::Town.label(), "镇");
    }

    #[test]
    fn level_names_round_trip_and_children_descend() {
        for level in Level::ALL {
            assert_eq!(Level::from_str_name(level.as_str()), Some(level));
            assert_eq!(
                usize::from(level.depth()),
                Level::ALL.iter().position(|l| *l == level).unwrap() + 1
            );
            if let Some(child) = level.child() {
                assert_eq!(child.depth(), level.depth() + 1);
                assert!(child.prefix_len() > level.prefix_len());
            }
        }
        assert_eq!(Level::from_str_name("县级"), None);
        assert_eq!(Level::Village.child(), None);
        assert_eq!(Level::County.label(), "县级");
    }

    #[test]
    fn empty_input_is_refused() {
        assert_eq!(refusal(" ").code, "division_empty");
        assert_eq!(refusal("").message, "区划代码不能为空");
    }

    #[test]
    fn non_digits_are_refused() {
        let refused = refusal("5108a2");
        assert_eq!(refused.code, "division_digits");
        assert!(refused.message.contains("第 5 位"), "{}", refused.message);
    }

    #[test]
    fn lengths_between_levels_are_refused() {
        for input in [
            "5",
            "510",
            "51081",
            "5108121",
            "51081210",
            "5108121000",
            "5108121000011",
        ] {
            let refused = refusal(input);
            assert_eq!(refused.code, "division_length", "{input}");
            assert!(refused.message.starts_with("区划代码"), "{input}");
        }
    }

    #[test]
    fn province_part_outside_11_to_82_is_refused() {
        for input in ["00", "10", "83", "990000", "05"] {
            assert_eq!(refusal(input).code, "division_province", "{input}");
        }
        assert!(refusal("00").message.contains("00"));
    }

    #[test]
    fn a_part_below_a_zero_part_is_refused() {
        let refused = refusal("510812000001");
        assert_eq!(refused.code, "division_structure");
        assert_eq!(
            refused.message,
            "区划代码 510812000001 结构不正确：村级部分不能挂在 000 之下"
        );
        let refused = refusal("510012");
        assert_eq!(refused.code, "division_structure");
        assert_eq!(
            refused.message,
            "区划代码 510012 结构不正确：县级部分不能挂在 00 之下"
        );
        assert_eq!(refusal("510000001").code, "division_structure");
        assert_eq!(refusal("441900000001").code, "division_structure");
    }

    #[test]
    fn from_str_delegates_to_parse() {
        let parsed: DivisionCode = "510812".parse().unwrap();
        assert_eq!(parsed, code("510812"));
        assert!("51x".parse::<DivisionCode>().is_err());
    }

    proptest! {
        #[test]
        fn prefix_and_full_form_parse_to_the_same_code((prefix, level) in any_code()) {
            let short = code(&prefix);
            let padded = format!("{prefix:0<12}");
            let long = code(&padded);
            prop_assert_eq!(short, long);
            prop_assert_eq!(short.level(), level);
            prop_assert_eq!(short.prefix(), prefix);
            prop_assert_eq!(short.full(), padded.clone());
            prop_assert_eq!(short.to_string(), padded);
            prop_assert_eq!(code(&short.full()), short);
            prop_assert_eq!(code(&short.prefix()), short);
        }

        #[test]
        fn a_parent_contains_its_child_but_not_the_reverse((prefix, _) in any_code()) {
            let child = code(&prefix);
            match child.parent() {
                None => prop_assert_eq!(child.level(), Level::Province),
                Some(parent) => {
                    prop_assert!(parent.contains(child));
                    prop_assert!(!child.contains(parent));
                    prop_assert!(parent.level() < child.level());
                    prop_assert!(child.full().starts_with(&parent.prefix()));
                }
            }
        }

        #[test]
        fn containment_is_reflexive_and_transitive_along_ancestors((prefix, _) in any_code()) {
            let unit = code(&prefix);
            prop_assert!(unit.contains(unit));
            let ancestors = unit.ancestors();
            prop_assert!(!ancestors.contains(&unit));
            for pair in ancestors.windows(2) {
                prop_assert_eq!(pair[1].parent(), Some(pair[0]));
            }
            prop_assert_eq!(ancestors.last().copied(), unit.parent());
            if let Some(root) = ancestors.first() {
                prop_assert_eq!(root.level(), Level::Province);
            }
            for (i, upper) in ancestors.iter().enumerate() {
                prop_assert!(upper.contains(unit));
                for lower in &ancestors[i..] {
                    prop_assert!(upper.contains(*lower));
                }
            }
        }

        #[test]
        fn subtree_bounds_hold_exactly_the_contained_codes(a in nearby_code(), b in nearby_code()) {
            let (low, high) = a.subtree_bounds();
            let full = b.full();
            prop_assert_eq!(a.contains(b), low <= full && full <= high);
        }

        #[test]
        fn every_descendant_lies_within_its_ancestors_bounds(
            (prefix, _) in any_code(),
            pick in any::<prop::sample::Index>(),
        ) {
            let unit = code(&prefix);
            let mut chain = unit.ancestors();
            chain.push(unit);
            let ancestor = *pick.get(&chain);
            let (low, high) = ancestor.subtree_bounds();
            let full = unit.full();
            prop_assert!(low <= full && full <= high, "{} not in {}..={}", full, low, high);
            prop_assert_eq!(low, ancestor.full());
        }

        #[test]
        fn order_of_codes_is_the_order_of_their_twelve_digit_forms(a in nearby_code(), b in nearby_code()) {
            prop_assert_eq!(a.cmp(&b), a.full().cmp(&b.full()));
        }

        #[test]
        fn county_and_province_codes_are_prefixes_of_full((prefix, _) in any_code()) {
            let unit = code(&prefix);
            let full = unit.full();
            prop_assert!(full.starts_with(&unit.county_code()));
            prop_assert_eq!(unit.county_code().len(), 6);
            prop_assert_eq!(unit.province_code(), &full[..2]);
        }

        #[test]
        fn a_village_under_township_000_is_refused(
            province in 11u32..=82,
            city in 1u32..=99,
            county in 0u32..=99,
            village in 1u32..=999,
        ) {
            let orphan = format!("{province:02}{city:02}{county:02}000{village:03}");
            let refused = refusal(&orphan);
            prop_assert_eq!(refused.code, "division_structure");
            prop_assert!(refused.message.contains(&orphan), "{}", refused.message);
        }

        #[test]
        fn anything_below_city_00_is_refused(
            province in 11u32..=82,
            county in 0u32..=99,
            township in 0u32..=999,
            village in 0u32..=999,
        ) {
            prop_assume!(county + township + village > 0);
            let orphan = format!("{province:02}00{county:02}{township:03}{village:03}");
            prop_assert_eq!(refusal(&orphan).code, "division_structure");
        }
    }
}
