//! Pre-employment checks in and out of Excel: an institution's batch sheet of the people to
//! check (姓名, 身份证号, 岗位, 查询类型) and the answers sheet it files; the police's sheet
//! of people for the restricted list (姓名, 身份证号, 违法犯罪类别, 记录来源). Headers are
//! read by meaning as in the ledger import. Nothing here ever writes the list out.

use std::collections::BTreeMap;

use weibao_domain::record_checks::{ListEntryInput, QueryInput, MAX_BATCH_ROWS};
use weibao_domain::Invalid;
use weibao_sheets::{read_table_with, HeaderMatcher, OutCell, ReadOptions, SheetRow};
use weibao_store::{RecordCheck, MAX_LIST_LOAD};

use crate::error::ApiError;
use crate::time::beijing_time;

fn matcher(fields: &[(&str, &[&str])]) -> HeaderMatcher {
    HeaderMatcher::new(
        fields
            .iter()
            .map(|(k, aliases)| {
                (
                    k.to_string(),
                    aliases.iter().map(|a| a.to_string()).collect(),
                )
            })
            .collect(),
    )
}

const QUERY_FIELDS: &[(&str, &[&str])] = &[
    ("name", &["姓名", "被查询人姓名", "人员姓名"]),
    (
        "id_number",
        &["身份证号", "身份证号码", "公民身份号码", "证件号码"],
    ),
    ("post", &["岗位", "拟聘岗位", "任职岗位", "职务"]),
    ("purpose", &["查询类型", "查询事由"]),
];

const LIST_FIELDS: &[(&str, &[&str])] = &[
    ("name", &["姓名"]),
    ("id_number", &["身份证号", "身份证号码", "公民身份号码"]),
    ("offence", &["违法犯罪类别", "犯罪类别", "类别", "罪名类别"]),
    ("source", &["记录来源", "来源", "判决文书", "文书编号"]),
];

fn read(
    bytes: &[u8],
    fields: &[(&str, &[&str])],
    required: &[&str],
    max_rows: usize,
) -> Result<Vec<SheetRow>, ApiError> {
    let table = read_table_with(
        bytes,
        &matcher(fields),
        &ReadOptions {
            required: required.iter().map(|s| s.to_string()).collect(),
            max_rows: max_rows as u32,
            mapping: BTreeMap::new(),
        },
    )
    .map_err(|e| ApiError::invalid("file", Invalid::new("sheet_unreadable", e.to_string())))?;
    if !table.missing_fields.is_empty() {
        let names: Vec<&str> = table
            .missing_fields
            .iter()
            .filter_map(|f| fields.iter().find(|(k, _)| k == f).map(|(_, a)| a[0]))
            .collect();
        return Err(ApiError::invalid(
            "file",
            Invalid::new(
                "sheet_columns",
                format!(
                    "表格缺少“{}”列：请在第一行写明列名（姓名、身份证号……）后重新上传",
                    names.join("、")
                ),
            ),
        ));
    }
    Ok(table.rows)
}

fn cell(row: &SheetRow, field: &str) -> String {
    row.cells.get(field).map(|c| c.text()).unwrap_or_default()
}

/// The people of an institution's batch sheet.
pub fn read_queries(bytes: &[u8]) -> Result<Vec<QueryInput>, ApiError> {
    Ok(read(
        bytes,
        QUERY_FIELDS,
        &["name", "id_number", "post"],
        MAX_BATCH_ROWS,
    )?
    .iter()
    .map(|r| QueryInput {
        name: cell(r, "name"),
        id_number: cell(r, "id_number"),
        post: cell(r, "post"),
        purpose: cell(r, "purpose"),
    })
    .collect())
}

/// The people of a sheet for the restricted list.
pub fn read_entries(bytes: &[u8]) -> Result<Vec<ListEntryInput>, ApiError> {
    Ok(read(
        bytes,
        LIST_FIELDS,
        &["name", "id_number", "offence"],
        MAX_LIST_LOAD,
    )?
    .iter()
    .map(|r| ListEntryInput {
        name: cell(r, "name"),
        id_number: cell(r, "id_number"),
        offence: cell(r, "offence"),
        source: cell(r, "source"),
    })
    .collect())
}

/// The answers as a sheet for the institution's file: one row per person, the number
/// masked, the answer and its query number.
pub fn answers_sheet(checks: &[RecordCheck]) -> Result<Vec<u8>, String> {
    let rows = checks.iter().enumerate().map(|(i, c)| {
        vec![
            OutCell::Number((i + 1) as f64),
            OutCell::Text(c.name.clone()),
            OutCell::Text(c.id_masked.clone()),
            OutCell::Text(c.post.clone()),
            OutCell::Text(c.purpose.label().into()),
            OutCell::Text(c.result.label().into()),
            OutCell::Text(c.number.clone()),
            OutCell::Text(beijing_time(c.asked_at)),
            OutCell::Text(c.unit_name.clone()),
        ]
    });
    weibao_sheets::write_table(
        "查询结果",
        &[
            "序号",
            "姓名",
            "身份证号",
            "岗位",
            "查询类型",
            "查询结果",
            "查询编号",
            "查询时间",
            "查询单位",
        ],
        rows,
    )
}
