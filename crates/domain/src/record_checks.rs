//! Pre-employment record checks (入职查询, 未成年人保护法 Art. 62): a school, kindergarten,
//! training or care institution asks, before hiring someone and periodically after, whether
//! the person has a record of sexual offences, abuse, trafficking or violence against
//! minors. The office (or the police liaison) loads the restricted list; an institution's
//! question is answered only 有相关记录 / 无相关记录, with a query number and date for its
//! file. Nobody reads the list: it is matched by the 身份证号's blind index and nothing else.
//!
//! The rules here are the inputs' and the limits'; matching, sealing and who may ask are
//! the store's.

use chrono::NaiveDate;

use crate::coded::coded_enum;
use crate::error::bounded;
use crate::{IdNumber, Invalid};

coded_enum!(
    /// Why a person is on the restricted list (Art. 62: 性侵害、虐待、拐卖、暴力伤害等违法犯罪).
    Offence {
        Sexual = ("sexual", "性侵害"),
        Abuse = ("abuse", "虐待"),
        Trafficking = ("trafficking", "拐卖"),
        Violence = ("violence", "暴力伤害"),
        Other = ("other", "其他侵害未成年人违法犯罪"),
    }
);

coded_enum!(
    /// The only answer a query gets.
    CheckResult {
        Clear = ("clear", "无相关记录"),
        Found = ("found", "有相关记录"),
    }
);

coded_enum!(
    /// 查询类型: before hiring, or the periodic re-check of people already employed.
    CheckPurpose {
        Hiring = ("hiring", "入职前查询"),
        Periodic = ("periodic", "在职定期查询"),
    }
);

/// Most rows of one batch sheet.
pub const MAX_BATCH_ROWS: usize = 500;
/// Most people a unit may check in 24 hours (single and batch together): a large school's
/// yearly re-check fits, a script fishing through the population does not.
pub const DAILY_CHECKS_PER_UNIT: i64 = 1000;
/// Most single queries an account may make in an hour.
pub const HOURLY_CHECKS_PER_ACCOUNT: i64 = 60;

/// A person to put on the restricted list, as typed or read from the police's sheet.
#[derive(Debug, Clone, Default)]
pub struct ListEntryInput {
    pub name: String,
    pub id_number: String,
    pub offence: String,
    /// 判决或处理文书 and the like: where the record comes from.
    pub source: String,
}

/// A checked list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub name: String,
    pub id_number: IdNumber,
    pub offence: Offence,
    pub source: String,
}

impl ListEntryInput {
    pub fn check(&self, today: NaiveDate) -> Result<ListEntry, (&'static str, Invalid)> {
        let name = bounded("name", &self.name, 30, true, "姓名")?;
        let id_number = IdNumber::parse(&self.id_number, today).map_err(|e| ("id_number", e))?;
        let offence = Offence::parse(&self.offence).ok_or_else(|| {
            (
                "offence",
                Invalid::new(
                    "offence_unknown",
                    format!(
                        "违法犯罪类别“{}”无法识别，可选：{}",
                        self.offence.trim(),
                        Offence::ALL
                            .iter()
                            .map(|o| o.label())
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                ),
            )
        })?;
        let source = bounded("source", &self.source, 200, false, "记录来源")?;
        Ok(ListEntry {
            name,
            id_number,
            offence,
            source,
        })
    }
}

/// An institution's question about one person.
#[derive(Debug, Clone, Default)]
pub struct QueryInput {
    pub name: String,
    pub id_number: String,
    /// 拟聘（在聘）岗位
    pub post: String,
    pub purpose: String,
}

/// A checked query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub name: String,
    pub id_number: IdNumber,
    pub post: String,
    pub purpose: CheckPurpose,
}

impl QueryInput {
    /// Checks a query. The 身份证号 must be a valid number of someone at least 16: a check
    /// is about a person who will work, and a number that fails its check digit is a typo
    /// (or a guess), never a question worth answering.
    pub fn check(&self, today: NaiveDate) -> Result<Query, (&'static str, Invalid)> {
        let name = bounded("name", &self.name, 30, true, "被查询人姓名")?;
        let id_number = IdNumber::parse(&self.id_number, today).map_err(|e| ("id_number", e))?;
        if id_number.age_on(today) < 16 {
            return Err((
                "id_number",
                Invalid::new(
                    "id_number_age",
                    "被查询人未满 16 周岁，不是从业人员查询的对象；请核对身份证号",
                ),
            ));
        }
        let post = bounded("post", &self.post, 50, true, "岗位")?;
        let purpose = if self.purpose.trim().is_empty() {
            CheckPurpose::Hiring
        } else {
            CheckPurpose::parse(&self.purpose).ok_or((
                "purpose",
                Invalid::new(
                    "purpose_unknown",
                    "查询类型应为 hiring（入职前查询）或 periodic（在职定期查询）",
                ),
            ))?
        };
        Ok(Query {
            name,
            id_number,
            post,
            purpose,
        })
    }
}

/// The number an answer carries for the institution's file: RC, the date, and 8 characters
/// from `random` (e.g. RC20261205-7K3QX9PM). Letters that read as digits are left out.
pub fn query_number(on: NaiveDate, random: &[u8]) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let tail: String = random
        .iter()
        .take(8)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("RC{}-{tail}", on.format("%Y%m%d"))
}

/// The name as an answer shows it: the surname and a mark per other character (张**).
pub fn masked_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
    }

    #[test]
    fn a_query_needs_a_valid_adult_number_and_a_post() {
        let q = QueryInput {
            name: " 王强 ".into(),
            id_number: "11010519491231002X".into(),
            post: "体育教师".into(),
            purpose: String::new(),
        };
        let checked = q.check(today()).unwrap();
        assert_eq!(checked.name, "王强");
        assert_eq!(checked.purpose, CheckPurpose::Hiring);
        let typo = QueryInput {
            id_number: "110105194912310021".into(),
            ..q.clone()
        };
        assert_eq!(typo.check(today()).unwrap_err().0, "id_number");
        let child = QueryInput {
            id_number: "51081220150307001X".into(),
            ..q.clone()
        };
        let (field, e) = child.check(today()).unwrap_err();
        assert_eq!((field, e.code), ("id_number", "id_number_age"));
        let no_post = QueryInput {
            post: "  ".into(),
            ..q
        };
        assert_eq!(no_post.check(today()).unwrap_err().0, "post");
    }

    #[test]
    fn an_entry_names_its_offence() {
        let e = ListEntryInput {
            name: "李某".into(),
            id_number: "11010519491231002X".into(),
            offence: "性侵害".into(),
            source: String::new(),
        };
        assert_eq!(e.check(today()).unwrap().offence, Offence::Sexual);
        let unknown = ListEntryInput {
            offence: "盗窃".into(),
            ..e
        };
        let (field, err) = unknown.check(today()).unwrap_err();
        assert_eq!(field, "offence");
        assert!(err.message.contains("性侵害"));
    }

    #[test]
    fn query_numbers_carry_the_date_and_differ_by_their_randomness() {
        let a = query_number(today(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        let b = query_number(today(), &[7, 6, 5, 4, 3, 2, 1, 0]);
        assert!(a.starts_with("RC20261205-"));
        assert_eq!(a.len(), "RC20261205-".len() + 8);
        assert_ne!(a, b);
        let tail = &a["RC20261205-".len()..];
        assert!(!tail.contains(['0', 'O', '1', 'I']), "{tail}");
    }

    #[test]
    fn names_are_masked_after_the_surname() {
        assert_eq!(masked_name("王强"), "王*");
        assert_eq!(masked_name("欧阳娜娜"), "欧***");
        assert_eq!(masked_name("王"), "王*");
    }
}
