//! The child's record in the ledger (儿童信息台账): the facts a director records, as types.
//!
//! Enumerations serialise as their Chinese names (the words people write in ledgers), so
//! JSON, Excel and the database all carry the same text.

use serde::{Deserialize, Serialize};

use crate::error::Invalid;

macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $label)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The Chinese name, as written in ledgers and shown in the UI.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses the Chinese name (surrounding spaces ignored).
            pub fn parse_label(input: &str) -> Option<$name> {
                let s = input.trim();
                $name::ALL.iter().copied().find(|v| v.label() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}
pub(crate) use labelled_enum;

labelled_enum!(
    /// 父母状况: a parent's situation, each with a start date and evidence.
    ParentStatus {
        AtHome = "在家",
        MigrantWork = "外出务工",
        Dead = "死亡",
        DeclaredDead = "宣告死亡",
        /// 失踪 / 宣告失踪 (declared missing by a court)
        Missing = "失踪",
        /// 失联: no contact and no support since the police accepted the report
        LostContact = "失联",
        Imprisoned = "服刑在押",
        CompulsoryRehab = "强制隔离戒毒",
        /// 被执行其他限制人身自由的措施
        OtherRestriction = "限制人身自由",
        SevereDisability = "重残",
        SeriousIllness = "重病",
        GuardianshipRevoked = "被撤销监护资格",
        Deported = "遣送出境",
        NoCapacity = "无监护能力",
        /// Not recorded yet.
        Unknown = "不详",
    }
);

labelled_enum!(
    /// 儿童类别 recognised nationally; a child may have several.
    Category {
        /// 孤儿
        Orphan = "孤儿",
        /// 事实无人抚养儿童 (民发〔2019〕62号)
        FactuallyUnsupported = "事实无人抚养儿童",
        /// 农村留守儿童 (国发〔2016〕13号)
        RuralLeftBehind = "农村留守儿童",
        /// 困境儿童 (国发〔2016〕36号), with configurable sub-types
        Distressed = "困境儿童",
        /// 残疾儿童
        Disabled = "残疾儿童",
        /// 服刑人员子女
        ChildOfPrisoner = "服刑人员子女",
        /// 受艾滋病影响儿童: visible only to designated users
        AffectedByHiv = "受艾滋病影响儿童",
        /// 重点困境儿童 (local flag)
        KeyDistressed = "重点困境儿童",
    }
);

impl Category {
    /// The bit of this category in a [`CategorySet`].
    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of categories, stored as a bit mask so that lists filter cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CategorySet(u32);

impl CategorySet {
    pub fn from_bits(bits: u32) -> CategorySet {
        let all: u32 = Category::ALL.iter().map(|c| c.bit()).sum();
        CategorySet(bits & all)
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn contains(self, c: Category) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn insert(&mut self, c: Category) {
        self.0 |= c.bit();
    }

    pub fn remove(&mut self, c: Category) {
        self.0 &= !c.bit();
    }

    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<Category> for CategorySet {
    fn from_iter<I: IntoIterator<Item = Category>>(iter: I) -> Self {
        let mut s = CategorySet::default();
        for c in iter {
            s.insert(c);
        }
        s
    }
}

impl Serialize for CategorySet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for CategorySet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<Category>::deserialize(d)?.into_iter().collect())
    }
}

labelled_enum!(
    /// 孤儿养育方式
    OrphanCare {
        /// 集中养育 in a welfare institution
        Institutional = "集中养育",
        /// 社会散居
        Scattered = "社会散居",
    }
);

labelled_enum!(
    /// 户籍类型
    Hukou {
        Rural = "农村",
        Urban = "城镇",
    }
);

labelled_enum!(
    /// 就学状况
    SchoolStatus {
        NotYet = "未到入学年龄",
        Preschool = "学前教育",
        Primary = "小学",
        JuniorHigh = "初中",
        SeniorHigh = "高中",
        Vocational = "中职",
        Special = "特殊教育",
        /// 失学辍学 or never enrolled; `not_in_school_reason` says why
        NotInSchool = "未在校",
    }
);

labelled_enum!(
    /// 健康状况
    HealthStatus {
        Healthy = "健康",
        Fair = "一般",
        Poor = "较差",
        SeriousIllness = "患重病",
    }
);

labelled_enum!(
    /// 残疾类别 (GB/T 26341)
    DisabilityKind {
        Visual = "视力残疾",
        Hearing = "听力残疾",
        Speech = "言语残疾",
        Physical = "肢体残疾",
        Intellectual = "智力残疾",
        Mental = "精神残疾",
        Multiple = "多重残疾",
    }
);

labelled_enum!(
    /// 家庭保障: social assistance the household receives
    Support {
        /// 最低生活保障
        Dibao = "低保",
        /// 特困人员救助供养
        Tekun = "特困",
        /// 低收入家庭
        LowIncome = "低收入",
    }
);

labelled_enum!(
    /// 风险等级
    Risk {
        Low = "低",
        Medium = "中",
        High = "高",
    }
);

labelled_enum!(
    /// 监护能力
    Capacity {
        Full = "有",
        Partial = "部分",
        None = "无",
    }
);

/// 残疾: kind and grade (一级 most severe .. 四级).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disability {
    pub kind: DisabilityKind,
    pub grade: u8,
}

impl Disability {
    pub fn new(kind: DisabilityKind, grade: u8) -> Result<Disability, Invalid> {
        if (1..=4).contains(&grade) {
            Ok(Disability { kind, grade })
        } else {
            Err(Invalid::new(
                "disability_grade",
                format!("残疾等级应为 1 到 4 级，实际为 {grade}"),
            ))
        }
    }

    /// 重度残疾 for the purposes of 事实无人抚养: grade 1-2, or grade 3-4 mental or
    /// intellectual disability.
    pub fn is_severe(self) -> bool {
        self.grade <= 2
            || matches!(
                self.kind,
                DisabilityKind::Intellectual | DisabilityKind::Mental
            )
    }
}

/// One parent's situation: status, since when, and the evidence (certificate, court
/// ruling, police receipt, ...). `place` says where a migrant parent works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentSituation {
    pub status: ParentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<chrono::NaiveDate>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub evidence: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub place: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The parent's 身份证号 (normalised), if the record holds it: a department's list
    /// naming the parent finds the child by it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_number: String,
}

impl ParentSituation {
    pub fn unknown() -> ParentSituation {
        ParentSituation::new(ParentStatus::Unknown, None)
    }

    pub fn new(status: ParentStatus, since: Option<chrono::NaiveDate>) -> ParentSituation {
        ParentSituation {
            status,
            since,
            evidence: String::new(),
            place: String::new(),
            name: String::new(),
            id_number: String::new(),
        }
    }
}

impl Default for ParentSituation {
    fn default() -> Self {
        ParentSituation::unknown()
    }
}

/// A guardian or actual caregiver (监护人 / 实际照料人).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardian {
    pub name: String,
    /// 与儿童关系: 祖父, 外祖母, 叔叔, ...
    pub relationship: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_number: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
    pub capacity: Capacity,
    /// The person who actually looks after the child day to day.
    #[serde(default)]
    pub actual_caregiver: bool,
}

/// Checks a person's name: 1-30 characters, no digits or control characters.
pub fn parse_person_name(field_label: &str, input: &str) -> Result<String, Invalid> {
    let s: String = input
        .trim()
        .chars()
        .map(|c| if c == '\u{3000}' { ' ' } else { c })
        .collect();
    let s = s.trim().to_string();
    let len = s.chars().count();
    if len == 0 {
        return Err(Invalid::new("name_empty", format!("{field_label}不能为空")));
    }
    if len > 30 {
        return Err(Invalid::new(
            "name_too_long",
            format!("{field_label}最多 30 个字，实际为 {len} 个"),
        ));
    }
    if let Some(c) = s.chars().find(|c| c.is_ascii_digit() || c.is_control()) {
        return Err(Invalid::new(
            "name_char",
            format!("{field_label}“{s}”中不应有“{c}”，请填写真实姓名"),
        ));
    }
    Ok(s)
}

/// Checks a mainland mobile or landline number; returns it without spaces or dashes.
pub fn parse_phone(field_label: &str, input: &str) -> Result<String, Invalid> {
    let digits: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '－' | '\u{3000}'))
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        })
        .collect();
    let mobile = digits.len() == 11 && digits.starts_with('1');
    let landline = (7..=12).contains(&digits.len()) && digits.starts_with('0');
    if digits.chars().all(|c| c.is_ascii_digit()) && (mobile || landline) {
        Ok(digits)
    } else {
        Err(Invalid::new(
            "phone_format",
            format!(
                "{field_label}“{}”不是有效的电话号码：手机号应为 1 开头的 11 位数字，座机请带区号",
                input.trim()
            ),
        ))
    }
}

/// Masks a phone number for lists and exports: 138****5678.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_for_every_variant() {
        for s in ParentStatus::ALL {
            assert_eq!(ParentStatus::parse_label(s.label()), Some(*s));
        }
        for c in Category::ALL {
            assert_eq!(Category::parse_label(c.label()), Some(*c));
        }
        assert_eq!(Support::parse_label(" 低保 "), Some(Support::Dibao));
        assert_eq!(Risk::parse_label("极高"), None);
    }

    #[test]
    fn category_sets_keep_only_known_bits() {
        let set: CategorySet = [Category::Orphan, Category::Disabled].into_iter().collect();
        assert!(set.contains(Category::Orphan) && !set.contains(Category::RuralLeftBehind));
        assert_eq!(CategorySet::from_bits(set.bits() | (1 << 30)), set);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Category::Orphan, Category::Disabled]
        );
    }

    #[test]
    fn severe_disability_follows_the_2019_definition() {
        assert!(Disability::new(DisabilityKind::Physical, 2)
            .unwrap()
            .is_severe());
        assert!(!Disability::new(DisabilityKind::Physical, 3)
            .unwrap()
            .is_severe());
        assert!(Disability::new(DisabilityKind::Intellectual, 4)
            .unwrap()
            .is_severe());
        assert!(Disability::new(DisabilityKind::Visual, 5).is_err());
    }

    #[test]
    fn phones_are_checked_normalised_and_masked() {
        assert_eq!(parse_phone("电话", "138 1234-5678").unwrap(), "13812345678");
        assert_eq!(
            parse_phone("电话", "０８３９－１２３４５６７").unwrap(),
            "08391234567"
        );
        assert!(parse_phone("监护人电话", "12345")
            .unwrap_err()
            .message
            .starts_with("监护人电话"));
        assert_eq!(mask_phone("13812345678"), "138****5678");
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(parse_person_name("姓名", "　张小花 ").unwrap(), "张小花");
        assert!(parse_person_name("姓名", "").is_err());
        assert!(parse_person_name("姓名", "张3")
            .unwrap_err()
            .message
            .contains("“3”"));
    }
}
