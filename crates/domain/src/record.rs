//! A child's ledger record as a whole: building it from input (create or patch), its
//! fields for history and export, and the difference between two versions.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::child::{
    parse_person_name, parse_phone, Capacity, Category, CategorySet, Disability, DisabilityKind,
    Guardian, HealthStatus, Hukou, OrphanCare, ParentSituation, ParentStatus, Risk, SchoolStatus,
    Support,
};
use crate::division::{DivisionCode, Level, VillageArea};
use crate::error::Invalid;
use crate::id_number::IdNumber;

/// The record of one child (一人一档).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildRecord {
    pub name: String,
    #[serde(skip)]
    pub id_number: Option<IdNumber>,
    #[serde(skip)]
    pub division: Option<DivisionCode>,
    pub address: String,
    pub hukou: Hukou,
    pub hukou_address: String,
    pub school_status: Option<SchoolStatus>,
    pub school_name: String,
    pub grade: String,
    pub not_in_school_reason: String,
    pub health: HealthStatus,
    pub illness: String,
    pub disability: Option<Disability>,
    pub guardians: Vec<Guardian>,
    pub father: ParentSituation,
    pub mother: ParentSituation,
    pub support: Vec<Support>,
    pub categories: CategorySet,
    pub orphan_care: Option<OrphanCare>,
    pub distress_subtypes: Vec<String>,
    pub local_flags: Vec<String>,
    pub risk: Risk,
    pub director_id: Option<String>,
    pub notes: String,
}

impl ChildRecord {
    pub fn id_number(&self) -> &IdNumber {
        self.id_number
            .as_ref()
            .expect("a built record has an ID number")
    }

    pub fn division(&self) -> DivisionCode {
        self.division.expect("a built record has a division")
    }

    pub fn has(&self, c: Category) -> bool {
        self.categories.contains(c)
    }

    pub fn support_bits(&self) -> u32 {
        self.support.iter().map(|s| 1u32 << (*s as u32)).sum()
    }

    /// Every field as (key, Chinese label, display value): the unit of history diffs and
    /// of exports.
    pub fn fields(&self) -> Vec<(&'static str, &'static str, String)> {
        let opt = |o: Option<String>| o.unwrap_or_default();
        let parent = |p: &ParentSituation| {
            let mut s = p.status.label().to_string();
            if let Some(d) = p.since {
                s.push_str(&format!("（自 {d}）"));
            }
            if !p.place.is_empty() {
                s.push_str(&format!("，{}", p.place));
            }
            if !p.evidence.is_empty() {
                s.push_str(&format!("，依据：{}", p.evidence));
            }
            s
        };
        // Who the parent is, apart from their situation (which the warnings read).
        let identity = |p: &ParentSituation| {
            let number = masked_id(&p.id_number);
            if p.name.is_empty() {
                number.trim_start_matches('，').to_string()
            } else {
                format!("{}{number}", p.name)
            }
        };
        let guardians = self
            .guardians
            .iter()
            .map(|g| {
                let number = masked_id(&g.id_number);
                format!(
                    "{}（{}{number}，监护能力{}{}{}）",
                    g.name,
                    g.relationship,
                    g.capacity.label(),
                    if g.phone.is_empty() {
                        String::new()
                    } else {
                        format!("，{}", g.phone)
                    },
                    if g.actual_caregiver {
                        "，实际照料人"
                    } else {
                        ""
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("；");
        vec![
            ("name", "姓名", self.name.clone()),
            (
                "id_number",
                "身份证号",
                opt(self.id_number.as_ref().map(|i| i.to_string())),
            ),
            (
                "division",
                "所在村（居）",
                opt(self.division.map(|d| d.full())),
            ),
            ("address", "现住址", self.address.clone()),
            ("hukou", "户籍类型", self.hukou.label().into()),
            ("hukou_address", "户籍地址", self.hukou_address.clone()),
            (
                "school_status",
                "就学状况",
                opt(self.school_status.map(|s| s.label().into())),
            ),
            ("school_name", "学校", self.school_name.clone()),
            ("grade", "年级", self.grade.clone()),
            (
                "not_in_school_reason",
                "未在校原因",
                self.not_in_school_reason.clone(),
            ),
            ("health", "健康状况", self.health.label().into()),
            ("illness", "疾病情况", self.illness.clone()),
            (
                "disability",
                "残疾情况",
                opt(self
                    .disability
                    .map(|d| format!("{}{}级", d.kind.label(), d.grade))),
            ),
            ("guardians", "监护人及实际照料人", guardians),
            ("father", "父亲情况", parent(&self.father)),
            (
                "father_identity",
                "父亲姓名及身份证号",
                identity(&self.father),
            ),
            ("mother", "母亲情况", parent(&self.mother)),
            (
                "mother_identity",
                "母亲姓名及身份证号",
                identity(&self.mother),
            ),
            (
                "support",
                "家庭保障",
                self.support
                    .iter()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            (
                "categories",
                "儿童类别",
                self.categories
                    .iter()
                    .map(|c| c.label())
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            (
                "orphan_care",
                "孤儿养育方式",
                opt(self.orphan_care.map(|o| o.label().into())),
            ),
            (
                "distress_subtypes",
                "困境类型",
                self.distress_subtypes.join("、"),
            ),
            ("local_flags", "本地标记", self.local_flags.join("、")),
            ("risk", "风险等级", self.risk.label().into()),
            ("director_id", "责任儿童主任", opt(self.director_id.clone())),
            ("notes", "备注", self.notes.clone()),
        ]
    }
}

/// "，身份证号" and a number masked as lists show it (its first 4 and last 4 characters),
/// or nothing for no number.
fn masked_id(number: &str) -> String {
    let c: Vec<char> = number.chars().collect();
    match c.len() {
        0 => String::new(),
        18 => format!(
            "，身份证号{}**********{}",
            c[..4].iter().collect::<String>(),
            c[14..].iter().collect::<String>()
        ),
        _ => format!("，身份证号{number}"),
    }
}

/// One changed field of a version: key, label, old and new display values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub label: String,
    pub old: String,
    pub new: String,
}

/// The fields that differ between two versions (old → new), in field order. A 身份证号
/// changed only in its masked middle shows the same text: the field is named all the
/// same, its new value marked "（身份证号已更正）".
pub fn diff(old: Option<&ChildRecord>, new: &ChildRecord) -> Vec<FieldChange> {
    let before = old.map(|o| o.fields()).unwrap_or_default();
    let numbers_changed = |key: &str| {
        let Some(o) = old else { return false };
        match key {
            "guardians" => {
                let ids = |r: &ChildRecord| {
                    r.guardians
                        .iter()
                        .map(|g| g.id_number.clone())
                        .collect::<Vec<_>>()
                };
                ids(o) != ids(new)
            }
            "father_identity" => o.father.id_number != new.father.id_number,
            "mother_identity" => o.mother.id_number != new.mother.id_number,
            _ => false,
        }
    };
    new.fields()
        .into_iter()
        .filter_map(|(key, label, value)| {
            let was = before
                .iter()
                .find(|(k, _, _)| *k == key)
                .map(|(_, _, v)| v.clone())
                .unwrap_or_default();
            if was != value {
                Some(FieldChange {
                    field: key.into(),
                    label: label.into(),
                    old: was,
                    new: value,
                })
            } else if numbers_changed(key) {
                Some(FieldChange {
                    field: key.into(),
                    label: label.into(),
                    old: was,
                    new: format!("{value}（身份证号已更正）"),
                })
            } else {
                None
            }
        })
        .collect()
}

/// More guardians than this on one record is a data-entry error.
pub const MAX_GUARDIANS: usize = 10;

/// "朝天村村民委员会" is called 朝天村 by the people who live there; "北街社区居民委员会"
/// is 北街社区.
pub fn short_village_name(name: &str) -> &str {
    ["村民委员会", "居民委员会", "居委会", "委员会"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix).filter(|s| !s.is_empty()))
        .unwrap_or(name)
}

/// Raw input of a parent's situation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ParentInput {
    pub status: Option<String>,
    pub since: Option<String>,
    pub evidence: Option<String>,
    pub place: Option<String>,
    pub name: Option<String>,
    pub id_number: Option<String>,
}

/// Raw input of a guardian.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GuardianInput {
    pub name: Option<String>,
    pub relationship: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub capacity: Option<String>,
    #[serde(default)]
    pub actual_caregiver: bool,
}

/// Input for creating a record or changing one: a field that is absent stays as it is.
/// Texts are parsed here, so every refusal names its field.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildPatch {
    pub name: Option<String>,
    pub id_number: Option<String>,
    pub division: Option<String>,
    pub address: Option<String>,
    pub hukou: Option<String>,
    pub hukou_address: Option<String>,
    pub school_status: Option<String>,
    pub school_name: Option<String>,
    pub grade: Option<String>,
    pub not_in_school_reason: Option<String>,
    pub health: Option<String>,
    pub illness: Option<String>,
    pub disability_kind: Option<String>,
    pub disability_grade: Option<u8>,
    pub guardians: Option<Vec<GuardianInput>>,
    pub father: Option<ParentInput>,
    pub mother: Option<ParentInput>,
    pub support: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
    pub orphan_care: Option<String>,
    pub distress_subtypes: Option<Vec<String>>,
    pub local_flags: Option<Vec<String>>,
    pub risk: Option<String>,
    pub notes: Option<String>,
}

/// A refused field: the API field name (dotted for nested ones) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub invalid: Invalid,
}

fn refuse(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        invalid: Invalid::new(code, message),
    }
}

fn choice<T: Copy>(
    field: &str,
    label: &str,
    input: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, FieldError> {
    parse(input).ok_or_else(|| {
        refuse(
            field,
            "choice",
            format!(
                "{label}“{}”无法识别，可选：{}",
                input.trim(),
                all.iter().map(|v| name(*v)).collect::<Vec<_>>().join("、")
            ),
        )
    })
}

/// Parses a date as people type it: 2015-3-7, 2015.03.07, 2015/3/7, 2015年3月7日, 20150307.
pub fn parse_date(field: &str, label: &str, input: &str) -> Result<NaiveDate, FieldError> {
    let s: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '年' | '月' | '.' | '/' | '．' | '－' => '-',
            '日' => ' ',
            _ => c,
        })
        .collect();
    let s = s.trim();
    let parsed = if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) {
        NaiveDate::parse_from_str(s, "%Y%m%d").ok()
    } else {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    };
    parsed.ok_or_else(|| {
        refuse(
            field,
            "date_format",
            format!(
                "{label}“{}”不是有效日期，请按 2015-03-07 的格式填写",
                input.trim()
            ),
        )
    })
}

fn parse_parent(
    field: &str,
    who: &str,
    input: ParentInput,
    base: &ParentSituation,
    today: NaiveDate,
) -> Result<ParentSituation, FieldError> {
    let mut p = base.clone();
    if let Some(s) = input.status.as_deref().filter(|s| !s.trim().is_empty()) {
        p.status = choice(
            &format!("{field}.status"),
            &format!("{who}状况"),
            s,
            ParentStatus::parse_label,
            ParentStatus::ALL,
            ParentStatus::label,
        )?;
    }
    if let Some(s) = input.since {
        p.since = if s.trim().is_empty() {
            None
        } else {
            let d = parse_date(&format!("{field}.since"), &format!("{who}状况起始日期"), &s)?;
            if d > today {
                return Err(refuse(
                    format!("{field}.since"),
                    "date_future",
                    format!("{who}状况起始日期 {d} 晚于今天，请核对"),
                ));
            }
            Some(d)
        };
    }
    if let Some(s) = input.evidence {
        p.evidence = s.trim().to_string();
    }
    if let Some(s) = input.place {
        p.place = s.trim().to_string();
    }
    if let Some(s) = input.name {
        p.name = s.trim().to_string();
    }
    if let Some(s) = input.id_number {
        p.id_number = match s.trim() {
            "" => String::new(),
            s => IdNumber::parse(s, today)
                .map_err(|e| FieldError {
                    field: format!("{field}.id_number"),
                    invalid: Invalid::new(e.code, format!("{who}的{}", e.message)),
                })?
                .to_string(),
        };
    }
    Ok(p)
}

fn parse_guardian(i: usize, g: GuardianInput, today: NaiveDate) -> Result<Guardian, FieldError> {
    let field = |f: &str| format!("guardians[{i}].{f}");
    let n = i + 1;
    let name = parse_person_name(
        &format!("第 {n} 位监护人姓名"),
        g.name.as_deref().unwrap_or(""),
    )
    .map_err(|e| FieldError {
        field: field("name"),
        invalid: e,
    })?;
    let relationship = g.relationship.unwrap_or_default().trim().to_string();
    if relationship.is_empty() {
        return Err(refuse(
            field("relationship"),
            "relationship_empty",
            format!("请填写第 {n} 位监护人与儿童的关系（如 祖母、叔叔）"),
        ));
    }
    let id_number = match g
        .id_number
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => IdNumber::parse(s, today)
            .map_err(|e| FieldError {
                field: field("id_number"),
                invalid: Invalid::new(e.code, format!("第 {n} 位监护人的{}", e.message)),
            })?
            .to_string(),
        None => String::new(),
    };
    let phone = match g.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse_phone(&format!("第 {n} 位监护人电话"), s).map_err(|e| FieldError {
            field: field("phone"),
            invalid: e,
        })?,
        None => String::new(),
    };
    let capacity = match g.capacity.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => choice(
            &field("capacity"),
            &format!("第 {n} 位监护人的监护能力"),
            s,
            Capacity::parse_label,
            Capacity::ALL,
            Capacity::label,
        )?,
        None => Capacity::Full,
    };
    Ok(Guardian {
        name,
        relationship,
        id_number,
        phone,
        capacity,
        actual_caregiver: g.actual_caregiver,
    })
}

fn parse_list<T: Copy>(
    field: &str,
    label: &str,
    items: &[String],
    parse: fn(&str) -> Option<T>,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<Vec<T>, FieldError> {
    let mut out = Vec::new();
    for s in items
        .iter()
        .flat_map(|s| s.split(['、', ',', '，', ';', '；']))
    {
        if s.trim().is_empty() {
            continue;
        }
        let v = choice(field, label, s, parse, all, name)?;
        if !out.iter().any(|o: &T| name(*o) == name(v)) {
            out.push(v);
        }
    }
    Ok(out)
}

fn clean_list(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in items
        .iter()
        .flat_map(|s| s.split(['、', ',', '，', ';', '；']))
    {
        let s = s.trim();
        if !s.is_empty() && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

impl ChildPatch {
    /// Applies this input to `base` (None: a new record), checking every field given.
    /// `distress_subtypes` are the configured 困境 sub-types that may be chosen.
    pub fn apply(
        self,
        base: Option<&ChildRecord>,
        today: NaiveDate,
        adult_age: u32,
        distress_subtypes: &[String],
    ) -> Result<ChildRecord, FieldError> {
        let is_new = base.is_none();
        let mut r = base.cloned().unwrap_or_else(|| ChildRecord {
            name: String::new(),
            id_number: None,
            division: None,
            address: String::new(),
            hukou: Hukou::Rural,
            hukou_address: String::new(),
            school_status: None,
            school_name: String::new(),
            grade: String::new(),
            not_in_school_reason: String::new(),
            health: HealthStatus::Healthy,
            illness: String::new(),
            disability: None,
            guardians: Vec::new(),
            father: ParentSituation::unknown(),
            mother: ParentSituation::unknown(),
            support: Vec::new(),
            categories: CategorySet::default(),
            orphan_care: None,
            distress_subtypes: Vec::new(),
            local_flags: Vec::new(),
            risk: Risk::Low,
            director_id: None,
            notes: String::new(),
        });
        match self.name {
            Some(n) => {
                r.name = parse_person_name("姓名", &n).map_err(|e| FieldError {
                    field: "name".into(),
                    invalid: e,
                })?
            }
            None if is_new => return Err(refuse("name", "required", "请填写儿童姓名")),
            None => {}
        }
        match self.id_number {
            Some(s) => {
                let id = IdNumber::parse(&s, today).map_err(|e| FieldError {
                    field: "id_number".into(),
                    invalid: e,
                })?;
                let age = id.age_on(today);
                if age >= adult_age {
                    return Err(refuse(
                        "id_number",
                        "id_number_adult",
                        format!(
                            "身份证号显示此人已满 {age} 周岁：台账只登记未满 {adult_age} 周岁的未成年人"
                        ),
                    ));
                }
                r.id_number = Some(id);
            }
            None if is_new => return Err(refuse("id_number", "required", "请填写儿童身份证号")),
            None => {}
        }
        let division_given = self.division.is_some();
        match self.division {
            Some(s) => {
                let d = DivisionCode::parse(&s).map_err(|e| FieldError {
                    field: "division".into(),
                    invalid: e,
                })?;
                if d.level() != Level::Village {
                    return Err(refuse(
                        "division",
                        "division_level",
                        format!(
                            "所在村（居）应为 12 位村级代码，{} 是{}",
                            d.full(),
                            d.level().label()
                        ),
                    ));
                }
                r.division = Some(d);
            }
            None if is_new => {
                return Err(refuse("division", "required", "请选择儿童所在的村（居）"))
            }
            None => {}
        }
        let text = |v: Option<String>, into: &mut String| {
            if let Some(s) = v {
                *into = s.trim().to_string();
            }
        };
        text(self.address, &mut r.address);
        text(self.hukou_address, &mut r.hukou_address);
        text(self.school_name, &mut r.school_name);
        text(self.grade, &mut r.grade);
        text(self.not_in_school_reason, &mut r.not_in_school_reason);
        text(self.illness, &mut r.illness);
        text(self.notes, &mut r.notes);
        match self.hukou.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => {
                r.hukou = choice(
                    "hukou",
                    "户籍类型",
                    s,
                    Hukou::parse_label,
                    Hukou::ALL,
                    Hukou::label,
                )?
            }
            // A new record's registration defaults to the village's own kind.
            None if is_new && division_given => {
                r.hukou = match r.division().village_area() {
                    Some(VillageArea::Urban) => Hukou::Urban,
                    _ => Hukou::Rural,
                }
            }
            None => {}
        }
        if let Some(s) = self.school_status {
            r.school_status = if s.trim().is_empty() {
                None
            } else {
                Some(choice(
                    "school_status",
                    "就学状况",
                    &s,
                    SchoolStatus::parse_label,
                    SchoolStatus::ALL,
                    SchoolStatus::label,
                )?)
            };
        }
        if let Some(s) = self.health.as_deref().filter(|s| !s.trim().is_empty()) {
            r.health = choice(
                "health",
                "健康状况",
                s,
                HealthStatus::parse_label,
                HealthStatus::ALL,
                HealthStatus::label,
            )?;
        }
        if self.disability_kind.is_some() || self.disability_grade.is_some() {
            let kind = self.disability_kind.unwrap_or_default();
            if kind.trim().is_empty() || kind.trim() == "无" {
                r.disability = None;
            } else {
                let kind = choice(
                    "disability_kind",
                    "残疾类别",
                    &kind,
                    DisabilityKind::parse_label,
                    DisabilityKind::ALL,
                    DisabilityKind::label,
                )?;
                let grade = self.disability_grade.ok_or_else(|| {
                    refuse(
                        "disability_grade",
                        "required",
                        "请填写残疾等级（1 到 4 级）",
                    )
                })?;
                r.disability = Some(Disability::new(kind, grade).map_err(|e| FieldError {
                    field: "disability_grade".into(),
                    invalid: e,
                })?);
            }
        }
        if let Some(list) = self.guardians {
            if list.len() > MAX_GUARDIANS {
                return Err(refuse(
                    "guardians",
                    "too_many",
                    format!(
                        "监护人及实际照料人最多填写 {MAX_GUARDIANS} 位，实际为 {} 位",
                        list.len()
                    ),
                ));
            }
            r.guardians = list
                .into_iter()
                .enumerate()
                .map(|(i, g)| parse_guardian(i, g, today))
                .collect::<Result<_, _>>()?;
        }
        if let Some(p) = self.father {
            r.father = parse_parent("father", "父亲", p, &r.father, today)?;
        }
        if let Some(p) = self.mother {
            r.mother = parse_parent("mother", "母亲", p, &r.mother, today)?;
        }
        let own = r.id_number.as_ref().map(|i| i.to_string());
        for (field, who, p) in [("father", "父亲", &r.father), ("mother", "母亲", &r.mother)] {
            if !p.id_number.is_empty() && own.as_deref() == Some(p.id_number.as_str()) {
                return Err(refuse(
                    format!("{field}.id_number"),
                    "id_number_own",
                    format!("{who}身份证号与儿童本人的相同，请填写{who}本人的身份证号"),
                ));
            }
        }
        if let Some(list) = self.support {
            r.support = parse_list(
                "support",
                "家庭保障",
                &list,
                Support::parse_label,
                Support::ALL,
                Support::label,
            )?;
        }
        if let Some(list) = self.categories {
            r.categories = parse_list(
                "categories",
                "儿童类别",
                &list,
                Category::parse_label,
                Category::ALL,
                Category::label,
            )?
            .into_iter()
            .collect();
        }
        if let Some(s) = self.orphan_care {
            r.orphan_care = if s.trim().is_empty() {
                None
            } else {
                Some(choice(
                    "orphan_care",
                    "孤儿养育方式",
                    &s,
                    OrphanCare::parse_label,
                    OrphanCare::ALL,
                    OrphanCare::label,
                )?)
            };
        }
        if let Some(list) = self.distress_subtypes {
            let list = clean_list(&list);
            if let Some(bad) = list.iter().find(|s| !distress_subtypes.contains(s)) {
                return Err(refuse(
                    "distress_subtypes",
                    "choice",
                    format!(
                        "困境类型“{bad}”不在本地配置中，可选：{}",
                        distress_subtypes.join("、")
                    ),
                ));
            }
            r.distress_subtypes = list;
        }
        if let Some(list) = self.local_flags {
            r.local_flags = clean_list(&list);
        }
        if let Some(s) = self.risk.as_deref().filter(|s| !s.trim().is_empty()) {
            r.risk = choice(
                "risk",
                "风险等级",
                s,
                Risk::parse_label,
                Risk::ALL,
                Risk::label,
            )?;
        }
        if r.categories.contains(Category::Orphan) && r.orphan_care.is_none() {
            r.orphan_care = Some(OrphanCare::Scattered);
        }
        if !r.categories.contains(Category::Orphan) {
            r.orphan_care = None;
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn id_for(birth: &str, seq: &str) -> String {
        let first17 = format!("510812{birth}{seq}");
        format!(
            "{first17}{}",
            crate::id_number::check_char(first17.as_bytes())
        )
    }

    fn create(p: ChildPatch) -> Result<ChildRecord, FieldError> {
        p.apply(None, today(), 18, &["家庭经济困难".to_string()])
    }

    fn minimal() -> ChildPatch {
        ChildPatch {
            name: Some("张小花".into()),
            id_number: Some(id_for("20150307", "123")),
            division: Some("510812100200".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_new_record_needs_name_id_and_village_and_defaults_the_rest() {
        let r = create(minimal()).unwrap();
        assert_eq!(r.hukou, Hukou::Rural, "village part 200 is a 村委会");
        assert_eq!(r.risk, Risk::Low);
        assert_eq!(r.father.status, ParentStatus::Unknown);
        let mut p = minimal();
        p.id_number = None;
        assert_eq!(create(p).unwrap_err().field, "id_number");
        let mut p = minimal();
        p.division = Some("510812100".into());
        let e = create(p).unwrap_err();
        assert_eq!(e.field, "division");
        assert!(e.invalid.message.contains("12 位村级代码"));
    }

    #[test]
    fn an_adult_is_refused_on_the_id_number_field() {
        let mut p = minimal();
        p.id_number = Some(id_for("20080101", "123"));
        let e = create(p).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.invalid.code),
            ("id_number", "id_number_adult")
        );
    }

    #[test]
    fn nested_fields_are_named_in_refusals() {
        let mut p = minimal();
        p.guardians = Some(vec![GuardianInput {
            name: Some("李奶奶".into()),
            relationship: Some("祖母".into()),
            phone: Some("123".into()),
            ..Default::default()
        }]);
        assert_eq!(create(p).unwrap_err().field, "guardians[0].phone");
        let mut p = minimal();
        p.father = Some(ParentInput {
            status: Some("出差".into()),
            ..Default::default()
        });
        let e = create(p).unwrap_err();
        assert_eq!(e.field, "father.status");
        assert!(e.invalid.message.contains("外出务工"), "lists the choices");
        let mut p = minimal();
        p.mother = Some(ParentInput {
            status: Some("服刑在押".into()),
            since: Some("2030-01-01".into()),
            ..Default::default()
        });
        assert_eq!(create(p).unwrap_err().field, "mother.since");
        let mut p = minimal();
        p.distress_subtypes = Some(vec!["随便".into()]);
        assert_eq!(create(p).unwrap_err().field, "distress_subtypes");
    }

    #[test]
    fn a_parents_number_is_checked_and_a_change_in_its_hidden_middle_is_named() {
        let father = |n: &str| ChildPatch {
            father: Some(ParentInput {
                name: Some("张大山".into()),
                id_number: Some(n.into()),
                ..Default::default()
            }),
            ..minimal()
        };
        let mut bad = id_for("19850101", "111");
        bad.pop();
        bad.push(if bad.ends_with('0') { '1' } else { '0' });
        let e = create(father(&bad)).unwrap_err();
        assert_eq!(e.field, "father.id_number");
        assert!(
            e.invalid.message.starts_with("父亲的"),
            "{}",
            e.invalid.message
        );
        let e = create(father(&id_for("20150307", "123"))).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.invalid.code),
            ("father.id_number", "id_number_own")
        );

        let old = create(father(&id_for("19850101", "111"))).unwrap();
        assert_eq!(old.father.id_number, id_for("19850101", "111"));
        let shown = old
            .fields()
            .into_iter()
            .find(|f| f.0 == "father_identity")
            .unwrap()
            .2;
        assert!(
            shown.starts_with("张大山，身份证号5108**********"),
            "{shown}"
        );
        // Another birth day with the same check character: the masked text is the same,
        // the change is still named.
        let other = (2..=28)
            .map(|d| id_for(&format!("198501{d:02}"), "111"))
            .find(|n| n.ends_with(&old.father.id_number[17..]))
            .unwrap();
        let new = ChildPatch {
            father: Some(ParentInput {
                id_number: Some(other),
                ..Default::default()
            }),
            ..Default::default()
        }
        .apply(Some(&old), today(), 18, &[])
        .unwrap();
        let changes = diff(Some(&old), &new);
        assert_eq!(changes.len(), 1, "{changes:?}");
        // Apart from 父亲情况, which the warnings read as the parent's situation.
        assert_eq!(changes[0].field, "father_identity");
        assert!(changes[0].new.ends_with("（身份证号已更正）"));
        // A patch that leaves the number alone changes nothing.
        let same = ChildPatch::default()
            .apply(Some(&new), today(), 18, &[])
            .unwrap();
        assert!(diff(Some(&new), &same).is_empty());
    }

    #[test]
    fn dates_parse_in_the_forms_people_type() {
        let d = NaiveDate::from_ymd_opt(2015, 3, 7).unwrap();
        for s in [
            "2015-3-7",
            "2015.03.07",
            "2015/3/7",
            "2015年3月7日",
            "20150307",
            "２０１５年３月７日",
        ] {
            assert_eq!(parse_date("f", "日期", s).unwrap(), d, "{s}");
        }
        assert!(parse_date("f", "日期", "2015-02-30").is_err());
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_diff_lists_it() {
        let old = create(minimal()).unwrap();
        let patch = ChildPatch {
            risk: Some("高".into()),
            support: Some(vec!["低保、特困".into()]),
            ..Default::default()
        };
        let new = patch.apply(Some(&old), today(), 18, &[]).unwrap();
        assert_eq!(new.name, old.name);
        assert_eq!(new.support, [Support::Dibao, Support::Tekun]);
        let changes = diff(Some(&old), &new);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["support", "risk"]);
        assert_eq!(
            (changes[1].old.as_str(), changes[1].new.as_str()),
            ("低", "高")
        );
        assert!(diff(Some(&new), &new).is_empty());
    }
}
