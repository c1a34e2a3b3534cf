//! The ledger in and out of Excel: reading the sheets townships keep (any header order
//! and wording, title rows, dates and IDs in any form) into records, and exporting lists.

mod fields;
mod villages;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use utoipa::ToSchema;
use weibao_domain::access::Scope;
use weibao_domain::record::{ChildPatch, ChildRecord, GuardianInput, ParentInput};
use weibao_domain::{DivisionCode, IdNumber, Invalid, Level};
use weibao_sheets::{
    column_index, parse_date_text, read_table_with, Cell, Column, OutCell, ReadOptions, SheetError,
};
use weibao_store::{ChildFilter, Store, StoreError};

pub use fields::{default_aliases, label as field_label, matcher_for, FIELDS};
pub(crate) use villages::township_key;
pub use villages::Villages;

/// The most rows one import may hold (a county's ledger fits many times over).
pub const MAX_IMPORT_ROWS: u32 = 200_000;

/// The name a guardian gets when a sheet gives their phone or 身份证号 but no name.
pub const UNNAMED_GUARDIAN: &str = "（表中未填姓名）";

/// One refused cell or row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportProblem {
    /// The row number as Excel shows it (the header row for a problem with a column).
    pub row: u32,
    pub field: String,
    pub message: String,
}

/// How one column of the sheet is read: the header, the field it fills, and what the
/// import could have taken it for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ColumnMapping {
    /// The column's letters as Excel shows them (A, B, …, AA).
    pub column: String,
    /// The header as written (a two-row header's group and sub-header joined).
    pub header: String,
    /// The field the column fills; null: not imported.
    pub field: Option<String>,
    /// 中文: the field's name, or 不导入.
    pub field_label: String,
    /// Every field the header could mean, best first.
    pub candidates: Vec<String>,
    /// The mapping in the request chose this column's field (or chose not to import it).
    pub chosen: bool,
    /// Some row has a value in this column.
    pub has_data: bool,
    /// The first value in the column, long numbers partly masked.
    pub sample: Option<String>,
    /// Why a column is not imported, when it is not.
    pub note: Option<String>,
}

/// A field a column may be mapped to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldChoice {
    pub field: String,
    pub label: String,
}

/// What an import found (dry run) or did (commit).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    pub sheet: String,
    pub header_row: u32,
    pub rows_read: usize,
    pub rows_good: usize,
    pub imported: usize,
    pub errors: Vec<ImportProblem>,
    /// Headers that matched no field (not imported).
    pub ignored_headers: Vec<String>,
    /// Every column, left to right, with the field it fills: what the import page shows
    /// and lets the user change (the `mapping` parameter).
    pub columns: Vec<ColumnMapping>,
    /// The fields a column may be mapped to.
    pub fields: Vec<FieldChoice>,
}

/// Why an import could not even be read.
#[derive(Debug)]
pub enum ImportFailure {
    Sheet(SheetError),
    Store(StoreError),
}

impl From<StoreError> for ImportFailure {
    fn from(e: StoreError) -> Self {
        ImportFailure::Store(e)
    }
}

/// The user's choice of field per column: column (0-based) → field, or None for "do not
/// import".
pub type Mapping = BTreeMap<u32, Option<String>>;

/// Parses a mapping as the API and the command line take it: a JSON object from column
/// letters to a field name, or `""`/`null` for "do not import", e.g.
/// `{"H":"guardian_phone","I":""}`.
pub fn parse_mapping(input: &str) -> Result<Mapping, Invalid> {
    parse_mapping_of(input, FIELDS)
}

/// [`parse_mapping`] for another import's fields (field, Chinese name).
pub fn parse_mapping_of(input: &str, fields: &[(&str, &str)]) -> Result<Mapping, Invalid> {
    let bad = |m: String| Invalid::new("mapping_invalid", m);
    let value: serde_json::Value = serde_json::from_str(input.trim()).map_err(|_| {
        bad("列对应关系应为 JSON 对象，例如 {\"H\":\"guardian_phone\",\"I\":\"\"}：键为列字母，值为字段名，空字符串表示不导入".into())
    })?;
    let serde_json::Value::Object(object) = value else {
        return Err(bad(
            "列对应关系应为 JSON 对象，例如 {\"H\":\"guardian_phone\"}".into(),
        ));
    };
    let mut out = Mapping::new();
    for (key, v) in object {
        let column = column_index(&key)
            .ok_or_else(|| bad(format!("“{key}”不是列字母：请写 A、B、…、AA 这样的列名")))?;
        let field = match &v {
            serde_json::Value::Null => None,
            serde_json::Value::String(f) if f.trim().is_empty() => None,
            serde_json::Value::String(f) if fields.iter().any(|(k, _)| *k == f.trim()) => {
                Some(f.trim().to_string())
            }
            other => {
                return Err(bad(format!(
                    "第 {key} 列的字段“{}”不存在，可选：{}，或空字符串表示不导入",
                    other.as_str().unwrap_or(&other.to_string()),
                    fields
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join("、")
                )))
            }
        };
        out.insert(column, field);
    }
    Ok(out)
}

fn text(cell: Option<&Cell>) -> Option<String> {
    cell.map(|c| c.text()).filter(|s| !s.is_empty())
}

fn id_text(cell: Option<&Cell>) -> Result<Option<String>, String> {
    match cell {
        // Excel keeps 15 significant digits: an 18-digit number typed into a number cell
        // has already lost its last digits.
        Some(Cell::Number(n)) if *n >= 1e15 => Err(
            "身份证号被 Excel 存成了数字，后几位已丢失：请把该列设为“文本”格式后重新填写".into(),
        ),
        other => Ok(text(other)),
    }
}

fn list(cell: Option<&Cell>) -> Option<Vec<String>> {
    text(cell).map(|s| vec![s])
}

/// A 是/否 cell: Some(true) for 是, √, Y, 1, 有; Some(false) for 否, ×, N, 0, 无; an
/// error naming the value otherwise.
fn yes_no(cell: Option<&Cell>) -> Result<Option<bool>, String> {
    let Some(t) = text(cell) else {
        return Ok(None);
    };
    match t.to_lowercase().as_str() {
        "是" | "√" | "✓" | "✔" | "y" | "yes" | "1" | "有" | "是的" | "对" => {
            Ok(Some(true))
        }
        "否" | "×" | "✗" | "n" | "no" | "0" | "无" | "不是" | "没有" => Ok(Some(false)),
        _ => Err(format!("“{t}”应填“是”或“否”")),
    }
}

/// The first value of a column as the report shows it: digits past the fourth of a long
/// number (an ID, a phone) masked, at most 20 characters.
fn sample_text(s: &str) -> String {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let shown: String = if digits >= 7 {
        let mut seen = 0;
        let keep_tail = 3;
        s.chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    seen += 1;
                    if seen > 4 && seen <= digits - keep_tail {
                        return '*';
                    }
                }
                c
            })
            .collect()
    } else {
        s.to_string()
    };
    shown.chars().take(20).collect()
}

/// The column list an import report shows, with a note on each column that is not
/// imported; `field_label` names a field in Chinese.
pub fn column_report<'a>(
    columns: &[Column],
    field_label: impl Fn(&str) -> &'a str,
) -> Vec<ColumnMapping> {
    columns
        .iter()
        .map(|c| {
            let note = match &c.field {
                Some(_) => None,
                None if c.row_number => Some("序号列，不导入".to_string()),
                None if c.chosen => Some("已选择不导入".to_string()),
                None => {
                    let taken = c.candidates.iter().find_map(|f| {
                        columns
                            .iter()
                            .find(|o| o.field.as_deref() == Some(f))
                            .map(|o| (f, o))
                    });
                    Some(match taken {
                        Some((f, o)) => format!(
                            "可能是“{}”，但该字段已由 {} 列“{}”导入",
                            field_label(f),
                            o.letter,
                            o.header
                        ),
                        None => "台账中没有对应的字段，不导入".to_string(),
                    })
                }
            };
            ColumnMapping {
                column: c.letter.clone(),
                header: c.header.clone(),
                field: c.field.clone(),
                field_label: c
                    .field
                    .as_deref()
                    .map(&field_label)
                    .unwrap_or("不导入")
                    .to_string(),
                candidates: c.candidates.clone(),
                chosen: c.chosen,
                has_data: c.has_data,
                sample: c.sample.as_deref().map(sample_text),
                note,
            }
        })
        .collect()
}

/// Reads a workbook and checks every row; with `dry_run` false and no problems, imports
/// all rows in one transaction. Problems are reported by Excel row number and field; a
/// column that is missing or would be lost is reported once, by the header row.
#[allow(clippy::too_many_arguments)]
pub async fn import_children(
    store: &Store,
    scope: &Scope,
    within: DivisionCode,
    bytes: &[u8],
    dry_run: bool,
    mapping: &Mapping,
    ip: &str,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<ImportReport, ImportFailure> {
    let today = store.clock().today();
    let matcher = matcher_for(store, within, today).await?;
    let table = read_table_with(
        bytes,
        &matcher,
        &ReadOptions {
            required: vec!["name".into(), "id_number".into()],
            max_rows: MAX_IMPORT_ROWS,
            mapping: mapping.clone(),
        },
    )
    .map_err(ImportFailure::Sheet)?;
    let villages = Villages::new(store.villages_within(scope, within).await?);
    let book = store.rule_book(Some(within)).await?;
    let params = book.on(today).clone();
    let subtypes = store.distress_subtypes(Some(within), today).await?;
    let mut errors = Vec::new();
    let mut good: Vec<(u32, ChildRecord, bool)> = Vec::new();
    let total = table.rows.len();
    let mapped = |f: &str| table.columns.iter().any(|c| c.field.as_deref() == Some(f));
    let headers_seen = table
        .columns
        .iter()
        .map(|c| c.header.as_str())
        .collect::<Vec<_>>()
        .join("、");
    let mut missing: Vec<String> = table.missing_fields.clone();
    // Where the village comes from when no column names it: the one village the import
    // is for, or the address written on each row.
    let village_column = mapped("village") || mapped("village_code");
    let single_village = (within.level() == Level::Village).then_some(within);
    let address_field = ["address", "hukou_address"].into_iter().find(|f| mapped(f));
    if !village_column && single_village.is_none() && address_field.is_none() {
        missing.push("village".into());
    }
    for field in &missing {
        errors.push(ImportProblem {
            row: table.header_row,
            field: field.clone(),
            message: format!(
                "找不到“{}”列；表头是：{headers_seen}。请在表中加上这一列，或在导入页为某一列选择“{}”",
                field_label(field),
                field_label(field)
            ),
        });
    }
    // A column holding data that the ledger has a field for is imported or the user
    // said not to: nothing is dropped unseen.
    let report_columns = column_report(&table.columns, field_label);
    if !dry_run {
        for (c, shown) in table.columns.iter().zip(&report_columns) {
            if c.field.is_none()
                && !c.chosen
                && !c.row_number
                && c.has_data
                && !c.candidates.is_empty()
            {
                errors.push(ImportProblem {
                    row: table.header_row,
                    field: "mapping".into(),
                    message: format!(
                        "第 {} 列“{}”有内容但不会导入（{}）：请在导入页为这一列选择字段，或选择“不导入”后再确认",
                        c.letter,
                        c.header,
                        shown.note.as_deref().unwrap_or_default()
                    ),
                });
            }
        }
    }
    for (i, row) in table.rows.iter().enumerate() {
        if i % 2000 == 0 {
            progress("check", i, total);
        }
        let cell = |k: &str| row.cells.get(k);
        let problem = |field: &str, message: String| ImportProblem {
            row: row.row_number,
            field: field.to_string(),
            message,
        };
        let id_number = match id_text(cell("id_number")) {
            Ok(v) => v,
            Err(m) => {
                errors.push(problem("id_number", m));
                continue;
            }
        };
        let division = if village_column {
            villages.resolve(
                text(cell("village_code")).as_deref(),
                text(cell("village")).as_deref(),
                text(cell("township")).as_deref(),
            )
        } else if let Some(v) = single_village {
            Ok(v)
        } else if let Some(f) = address_field {
            villages.find_in(text(cell(f)).as_deref().unwrap_or_default(), field_label(f))
        } else {
            // Reported once above.
            continue;
        };
        let division = match division {
            Ok(d) => d,
            Err(m) => {
                errors.push(problem("village", m));
                continue;
            }
        };
        let date = |k: &str| match cell(k) {
            Some(Cell::Date(d)) => Some(d.to_string()),
            other => text(other),
        };
        let parent_id = |key: &str| id_text(cell(key)).map_err(|m| problem(key, m));
        let (father_id, mother_id) =
            match (parent_id("father_id_number"), parent_id("mother_id_number")) {
                (Ok(f), Ok(m)) => (f, m),
                (f, m) => {
                    errors.extend(f.err());
                    errors.extend(m.err());
                    continue;
                }
            };
        let parent = |who: &str, i: Option<String>| {
            let (s, d, p, n) = (
                text(cell(&format!("{who}_status"))),
                date(&format!("{who}_since")),
                text(cell(&format!("{who}_place"))),
                text(cell(&format!("{who}_name"))),
            );
            let given = [&s, &d, &p, &n, &i].iter().any(|v| v.is_some());
            given.then_some(ParentInput {
                status: s,
                since: d,
                evidence: None,
                place: p,
                name: n,
                id_number: i,
            })
        };
        let guardian_given = ["guardian_name", "guardian_phone", "guardian_id_number"]
            .iter()
            .any(|f| cell(f).is_some());
        // A phone or number without a name is kept under a name that says so.
        let guardian = guardian_given.then(|| {
            vec![GuardianInput {
                name: text(cell("guardian_name")).or(Some(UNNAMED_GUARDIAN.into())),
                relationship: text(cell("guardian_relationship")).or(Some("监护人".into())),
                id_number: text(cell("guardian_id_number")),
                phone: text(cell("guardian_phone")),
                capacity: None,
                actual_caregiver: true,
            }]
        });
        // 是/否 columns add their category to those written in the 类别 column.
        let mut categories = list(cell("categories")).unwrap_or_default();
        let mut flag_error = None;
        for (flag, category) in [
            ("is_left_behind", "农村留守儿童"),
            ("is_orphan", "孤儿"),
            ("is_unsupported", "事实无人抚养儿童"),
            ("is_distressed", "困境儿童"),
            ("is_disabled", "残疾儿童"),
        ] {
            match yes_no(cell(flag)) {
                Ok(Some(true)) => categories.push(category.into()),
                Ok(_) => {}
                Err(m) => {
                    flag_error = Some(problem(flag, format!("{}：{m}", field_label(flag))));
                    break;
                }
            }
        }
        if let Some(p) = flag_error {
            errors.push(p);
            continue;
        }
        let categories_given = cell("categories").is_some()
            || [
                "is_left_behind",
                "is_orphan",
                "is_unsupported",
                "is_distressed",
                "is_disabled",
            ]
            .iter()
            .any(|f| cell(f).is_some());
        let mut support = list(cell("support")).unwrap_or_default();
        for (flag, kind) in [("is_dibao", "低保"), ("is_tekun", "特困")] {
            match yes_no(cell(flag)) {
                Ok(Some(true)) => support.push(kind.into()),
                Ok(_) => {}
                Err(m) => {
                    flag_error = Some(problem(flag, format!("{}：{m}", field_label(flag))));
                }
            }
        }
        if let Some(p) = flag_error {
            errors.push(p);
            continue;
        }
        let support_given = ["support", "is_dibao", "is_tekun"]
            .iter()
            .any(|f| cell(f).is_some());
        let patch = ChildPatch {
            name: text(cell("name")).or(Some(String::new())),
            id_number: id_number.or(Some(String::new())),
            division: Some(division.full()),
            address: text(cell("address")),
            hukou: text(cell("hukou")),
            hukou_address: text(cell("hukou_address")),
            school_status: text(cell("school_status")),
            school_name: text(cell("school_name")),
            grade: text(cell("grade")),
            not_in_school_reason: text(cell("not_in_school_reason")),
            health: text(cell("health")),
            illness: text(cell("illness")),
            disability_kind: text(cell("disability_kind")),
            disability_grade: text(cell("disability_grade"))
                .and_then(|g| g.trim_end_matches('级').trim().parse().ok()),
            guardians: guardian,
            father: parent("father", father_id),
            mother: parent("mother", mother_id),
            support: support_given.then_some(support),
            categories: categories_given.then_some(categories),
            orphan_care: None,
            distress_subtypes: list(cell("distress_subtypes")),
            local_flags: None,
            risk: text(cell("risk")),
            notes: text(cell("notes")),
        };
        let record = match patch.apply(None, today, params.adult_age, &subtypes) {
            Ok(record) => record,
            Err(e) => {
                errors.push(problem(&e.field, e.invalid.message));
                continue;
            }
        };
        // 性别 and 出生日期 written beside the number must agree with it: a difference is
        // a typing error in one of them.
        if let Some(problem) =
            disagrees_with_id(&record, cell("sex"), cell("birth_date")).map(|(f, m)| problem(f, m))
        {
            errors.push(problem);
            continue;
        }
        good.push((row.row_number, record, categories_given));
    }
    // A row refused only for a column reported missing says nothing new.
    errors.retain(|e| e.row == table.header_row || !missing.contains(&e.field));
    // The same child twice in the file, or already in the ledger.
    let mut seen: HashMap<String, u32> = HashMap::new();
    good.retain(|(row, r, _)| match seen.get(r.id_number().as_str()) {
        Some(first) => {
            errors.push(ImportProblem {
                row: *row,
                field: "id_number".into(),
                message: format!("与第 {first} 行的身份证号重复"),
            });
            false
        }
        None => {
            seen.insert(r.id_number().to_string(), *row);
            true
        }
    });
    let ids: Vec<IdNumber> = good.iter().map(|(_, r, _)| r.id_number().clone()).collect();
    let registered = store.registered_ids(&ids).await?;
    if !registered.is_empty() {
        good.retain(
            |(row, r, _)| match registered.iter().find(|(id, _)| id == r.id_number()) {
                Some((_, place)) => {
                    errors.push(ImportProblem {
                        row: *row,
                        field: "id_number".into(),
                        message: format!(
                            "该身份证号已在台账中（{place}），请在系统中直接修改该记录"
                        ),
                    });
                    false
                }
                None => true,
            },
        );
    }
    errors.sort_by_key(|e| e.row);
    let mut report = ImportReport {
        dry_run,
        sheet: table.sheet_name.clone(),
        header_row: table.header_row,
        rows_read: total,
        rows_good: good.len(),
        imported: 0,
        errors,
        ignored_headers: table.unknown_headers.clone(),
        columns: report_columns,
        fields: FIELDS
            .iter()
            .map(|(f, l)| FieldChoice {
                field: f.to_string(),
                label: l.to_string(),
            })
            .collect(),
    };
    if dry_run || !report.errors.is_empty() || good.is_empty() {
        return Ok(report);
    }
    let records: Vec<(ChildRecord, bool)> = good.into_iter().map(|(_, r, g)| (r, g)).collect();
    let n = records.len();
    report.imported = store
        .import_children(scope, within, records, ip, |done| {
            progress("write", done, n)
        })
        .await?;
    Ok(report)
}

/// The sex or birth date written beside a 身份证号 that the number contradicts.
fn disagrees_with_id(
    record: &ChildRecord,
    sex: Option<&Cell>,
    birth: Option<&Cell>,
) -> Option<(&'static str, String)> {
    let id = record.id_number();
    if let Some(written) = text(sex) {
        let says = match written.to_lowercase().as_str() {
            "男" | "男性" | "m" | "male" => Some(weibao_domain::Sex::Male),
            "女" | "女性" | "f" | "female" => Some(weibao_domain::Sex::Female),
            _ => None,
        };
        match says {
            None => return Some(("sex", format!("性别“{written}”无法识别：请填写“男”或“女”"))),
            Some(s) if s != id.sex() => {
                return Some((
                    "sex",
                    format!(
                        "性别“{written}”与身份证号（{}）不符：请核对身份证号或性别",
                        id.sex().label()
                    ),
                ))
            }
            _ => {}
        }
    }
    let written = match birth {
        Some(Cell::Date(d)) => Some(*d),
        other => text(other).and_then(|t| parse_date_text(&t)),
    };
    match written {
        Some(d) if d != id.birth_date() => Some((
            "birth_date",
            format!(
                "出生日期 {d} 与身份证号中的出生日期 {} 不符：请核对身份证号或出生日期",
                id.birth_date()
            ),
        )),
        _ => None,
    }
}

/// The export's columns.
const EXPORT_HEADERS: &[&str] = &[
    "姓名",
    "性别",
    "出生日期",
    "年龄",
    "身份证号（脱敏）",
    "所在村（居）",
    "村代码",
    "儿童类别",
    "风险等级",
    "就学状况",
    "家庭保障",
    "状态",
];

/// Writes a filtered list (身份证号 masked) as .xlsx.
pub async fn export_children(
    store: &Store,
    scope: &Scope,
    filter: &ChildFilter,
    ip: &str,
) -> Result<Vec<u8>, StoreError> {
    let rows = store.export_children(scope, filter, ip).await?;
    let today = store.clock().today();
    let out = rows.into_iter().map(move |r| {
        vec![
            OutCell::Text(r.name.clone()),
            OutCell::Text(r.sex.clone()),
            OutCell::Date(r.birth_date),
            OutCell::Number(weibao_domain::categories::age_on(r.birth_date, today) as f64),
            OutCell::Text(r.id_masked.clone()),
            OutCell::Text(r.division_name.clone().unwrap_or_default()),
            OutCell::Text(r.division_code.clone()),
            OutCell::Text(
                r.categories()
                    .iter()
                    .map(|c| c.label())
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            OutCell::Text(r.risk.clone()),
            OutCell::Text(r.school_status.clone()),
            OutCell::Text(
                r.support()
                    .iter()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            OutCell::Text(
                if r.status == "transferring" {
                    "迁移中"
                } else {
                    "在册"
                }
                .into(),
            ),
        ]
    });
    weibao_sheets::write_table("儿童台账", EXPORT_HEADERS, out)
        .map_err(|e| StoreError::Config(format!("导出失败：{e}")))
}
