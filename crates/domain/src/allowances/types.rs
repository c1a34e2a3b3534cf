//! Allowance types (保障类型): the national ones built in, local ones added in settings.

use serde::{Deserialize, Serialize};

use crate::child::{Category, OrphanCare};
use crate::error::Invalid;

/// One allowance type and what a child needs to receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeDef {
    /// Stable code the API and the database use: `orphan_scattered`, `local_…`.
    pub code: String,
    /// The name on forms and rolls: 孤儿基本生活费（社会散居）.
    pub label: String,
    /// The name totals group by, as reports say it: 孤儿基本生活费 (both orphan types).
    #[serde(default)]
    pub group: String,
    /// The child must be recorded with one of these categories (empty: none asked).
    #[serde(default)]
    pub categories: Vec<Category>,
    /// 孤儿: how the child is cared for (a record without it counts as 社会散居).
    #[serde(default)]
    pub orphan_care: Option<OrphanCare>,
    /// The child must be in school (小学 to 中职, 特殊教育).
    #[serde(default)]
    pub in_school: bool,
    /// The child must have a recorded disability.
    #[serde(default)]
    pub disability: bool,
    /// A 公示 list may show this type (masked names, the village only).
    #[serde(default)]
    pub public_notice: bool,
    /// Only users designated for 受艾滋病影响儿童 see these cases.
    #[serde(default)]
    pub designated_only: bool,
    /// A basic living allowance: a child holds at most one of these at a time.
    #[serde(default)]
    pub exclusive: bool,
}

impl TypeDef {
    /// The name totals use.
    pub fn group_label(&self) -> &str {
        if self.group.is_empty() {
            &self.label
        } else {
            &self.group
        }
    }

    /// Checks a configured (local) type.
    pub fn validate(&self) -> Result<(), Invalid> {
        parse_type_code(&self.code)?;
        if !self.code.starts_with("local_") {
            return Err(Invalid::new(
                "type_code_local",
                format!("本地保障类型的代码应以 local_ 开头，“{}”不是", self.code),
            ));
        }
        let len = self.label.trim().chars().count();
        if len == 0 || len > 40 {
            return Err(Invalid::new(
                "type_label",
                format!("保障类型“{}”的名称应为 1 到 40 个字", self.code),
            ));
        }
        Ok(())
    }
}

/// 孤儿基本生活费（集中供养）
pub const ORPHAN_INSTITUTIONAL: &str = "orphan_institutional";
/// 孤儿基本生活费（社会散居）
pub const ORPHAN_SCATTERED: &str = "orphan_scattered";
/// 事实无人抚养儿童基本生活补贴
pub const FACTUALLY_UNSUPPORTED: &str = "factually_unsupported";
/// 受艾滋病影响儿童基本生活费
pub const HIV_AFFECTED: &str = "hiv_affected";
/// 困境儿童生活补贴
pub const DISTRESSED: &str = "distressed";
/// 残疾儿童两项补贴 (困难残疾人生活补贴, 重度残疾人护理补贴)
pub const DISABILITY_TWO: &str = "disability_two";
/// 助学金
pub const STUDY_GRANT: &str = "study_grant";

/// The national types, in the order forms list them.
pub fn builtin_types() -> Vec<TypeDef> {
    let t = |code: &str, label: &str, group: &str| TypeDef {
        code: code.into(),
        label: label.into(),
        group: group.into(),
        categories: Vec::new(),
        orphan_care: None,
        in_school: false,
        disability: false,
        public_notice: true,
        designated_only: false,
        exclusive: false,
    };
    vec![
        TypeDef {
            categories: vec![Category::Orphan],
            orphan_care: Some(OrphanCare::Institutional),
            exclusive: true,
            ..t(
                ORPHAN_INSTITUTIONAL,
                "孤儿基本生活费（集中供养）",
                "孤儿基本生活费",
            )
        },
        TypeDef {
            categories: vec![Category::Orphan],
            orphan_care: Some(OrphanCare::Scattered),
            exclusive: true,
            ..t(
                ORPHAN_SCATTERED,
                "孤儿基本生活费（社会散居）",
                "孤儿基本生活费",
            )
        },
        // 民发〔2019〕62号: never publicly posted.
        TypeDef {
            categories: vec![Category::FactuallyUnsupported],
            public_notice: false,
            exclusive: true,
            ..t(
                FACTUALLY_UNSUPPORTED,
                "事实无人抚养儿童基本生活补贴",
                "事实无人抚养儿童生活补贴",
            )
        },
        TypeDef {
            categories: vec![Category::AffectedByHiv],
            public_notice: false,
            designated_only: true,
            exclusive: true,
            ..t(
                HIV_AFFECTED,
                "受艾滋病影响儿童基本生活费",
                "受艾滋病影响儿童基本生活费",
            )
        },
        TypeDef {
            categories: vec![Category::Distressed, Category::KeyDistressed],
            exclusive: true,
            ..t(DISTRESSED, "困境儿童生活补贴", "困境儿童生活补贴")
        },
        TypeDef {
            disability: true,
            ..t(DISABILITY_TWO, "残疾儿童两项补贴", "残疾儿童两项补贴")
        },
        TypeDef {
            categories: vec![
                Category::Orphan,
                Category::FactuallyUnsupported,
                Category::Distressed,
                Category::KeyDistressed,
            ],
            in_school: true,
            ..t(STUDY_GRANT, "助学金", "助学金")
        },
    ]
}

/// Checks a type code's form exactly as sent (whether it exists depends on the settings):
/// a lower-case letter, then letters, digits or `_`, 2 to 40 in all.
pub fn parse_type_code(input: &str) -> Result<String, Invalid> {
    let s = input;
    let ok = (2..=40).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(s.to_string())
    } else {
        Err(Invalid::new(
            "type_code_format",
            format!("保障类型“{s}”无效：应为小写字母开头的代码，如 orphan_scattered"),
        ))
    }
}

/// `^[a-z][a-z0-9_]{1,39}$`: the codes [`parse_type_code`] takes, for the OpenAPI document.
pub const TYPE_CODE_PATTERN: &str = "^[a-z][a-z0-9_]{1,39}$";

/// The types in force: the national ones and the region's local ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeBook {
    types: Vec<TypeDef>,
}

impl TypeBook {
    /// The national types and `local` (a local type reusing a national code is ignored).
    pub fn new(local: &[TypeDef]) -> TypeBook {
        let mut types = builtin_types();
        for t in local {
            if !types.iter().any(|x| x.code == t.code) {
                types.push(t.clone());
            }
        }
        TypeBook { types }
    }

    pub fn all(&self) -> &[TypeDef] {
        &self.types
    }

    pub fn get(&self, code: &str) -> Option<&TypeDef> {
        self.types.iter().find(|t| t.code == code)
    }

    /// The type for `code`, or a refusal that lists the choices.
    pub fn require(&self, field_label: &str, code: &str) -> Result<&TypeDef, Invalid> {
        let code = parse_type_code(code)?;
        self.get(&code).ok_or_else(|| {
            Invalid::new(
                "type_unknown",
                format!(
                    "{field_label}“{code}”不存在，可选：{}",
                    self.types
                        .iter()
                        .map(|t| format!("{}（{}）", t.code, t.label))
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            )
        })
    }

    /// The label of a code, or the code itself for a type no longer configured.
    pub fn label(&self, code: &str) -> String {
        self.get(code)
            .map(|t| t.label.clone())
            .unwrap_or_else(|| code.to_string())
    }
}

impl Default for TypeBook {
    fn default() -> Self {
        TypeBook::new(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_types_are_there_and_keep_the_sensitive_ones_out_of_public_lists() {
        let book = TypeBook::default();
        assert_eq!(book.all().len(), 7);
        for code in [FACTUALLY_UNSUPPORTED, HIV_AFFECTED] {
            assert!(!book.get(code).unwrap().public_notice, "{code}");
        }
        assert!(book.get(HIV_AFFECTED).unwrap().designated_only);
        assert_eq!(
            book.get(ORPHAN_SCATTERED).unwrap().group_label(),
            book.get(ORPHAN_INSTITUTIONAL).unwrap().group_label()
        );
        for t in book.all() {
            assert!(parse_type_code(&t.code).is_ok(), "{}", t.code);
        }
    }

    #[test]
    fn local_types_join_the_national_ones_and_unknown_codes_list_the_choices() {
        let local = TypeDef {
            code: "local_festival".into(),
            label: "节日慰问金".into(),
            group: String::new(),
            categories: vec![Category::Distressed],
            orphan_care: None,
            in_school: false,
            disability: false,
            public_notice: true,
            designated_only: false,
            exclusive: false,
        };
        assert!(local.validate().is_ok());
        let book = TypeBook::new(std::slice::from_ref(&local));
        assert_eq!(
            book.require("保障类型", "local_festival").unwrap().label,
            "节日慰问金"
        );
        let e = book.require("保障类型", "local_other").unwrap_err();
        assert_eq!(e.code, "type_unknown");
        assert!(
            e.message
                .contains("orphan_scattered（孤儿基本生活费（社会散居））"),
            "{}",
            e.message
        );
        assert_eq!(
            book.require("保障类型", "孤儿").unwrap_err().code,
            "type_code_format"
        );
        let national_code = TypeDef {
            code: "orphan_scattered".into(),
            ..local.clone()
        };
        assert_eq!(
            national_code.validate().unwrap_err().code,
            "type_code_local"
        );
        assert_eq!(book.label("gone_type"), "gone_type");
    }
}
