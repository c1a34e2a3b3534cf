//! A department's list read from its sheet (.xlsx, headers read by meaning as the ledger's
//! are): who it names (姓名, 身份证号), the children or parents a row names beside
//! (子女/父亲/母亲 姓名 and 身份证号), what else it says (类别, 等级, 学校, 状态, 备注) and
//! where (村, 乡镇, 地址). A row without a valid 身份证号 is reported and left out; the
//! rest are matched.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;
use weibao_domain::DivisionCode;
use weibao_sheets::{read_table_with, Cell, FieldRule, HeaderMatcher, ReadOptions, SheetError};
use weibao_store::{KinInput, ListRowInput};

use crate::ledger_io::{ImportProblem, Villages};

/// The most rows one list may hold.
pub const MAX_LIST_ROWS: u32 = 1_000_000;

const FIELDS: &[(&str, &str)] = &[
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("child_name", "子女姓名"),
    ("child_id_number", "子女身份证号"),
    ("father_name", "父亲姓名"),
    ("father_id_number", "父亲身份证号"),
    ("mother_name", "母亲姓名"),
    ("mother_id_number", "母亲身份证号"),
    ("detail", "类别/状态/备注"),
    ("village", "村（社区）"),
    ("township", "乡镇（街道）"),
    ("address", "地址"),
];

const OTHERS: &[&str] = &[
    "子女", "儿童", "孩子", "父亲", "母亲", "户主", "监护", "联系",
];

fn matcher() -> HeaderMatcher {
    HeaderMatcher::labelled(FIELDS).with_rules(vec![
        FieldRule::new("id_number", 3)
            .any(&["身份证", "证件号", "身份号码", "公民身份"])
            .none(OTHERS),
        FieldRule::new("name", 2)
            .any(&["姓名", "名字"])
            .none(OTHERS)
            .none(&["村", "单位", "学校"]),
        FieldRule::new("child_name", 3)
            .any(&["子女", "儿童", "孩子"])
            .any(&["姓名", "名字"]),
        FieldRule::new("child_id_number", 3)
            .any(&["子女", "儿童", "孩子"])
            .any(&["身份证", "证件", "身份号码"]),
        FieldRule::new("father_name", 3)
            .any(&["父亲"])
            .any(&["姓名"]),
        FieldRule::new("father_id_number", 3)
            .any(&["父亲"])
            .any(&["身份证", "证件", "身份号码"]),
        FieldRule::new("mother_name", 3)
            .any(&["母亲"])
            .any(&["姓名"]),
        FieldRule::new("mother_id_number", 3)
            .any(&["母亲"])
            .any(&["身份证", "证件", "身份号码"]),
        FieldRule::new("detail", 1).any(&[
            "类别", "等级", "状态", "备注", "罪名", "刑期", "场所", "学校", "原因", "情况",
        ]),
        FieldRule::new("village", 2)
            .any(&["村", "社区", "居委"])
            .none(&["乡镇", "街道", "地址"]),
        FieldRule::new("township", 2).any(&["乡镇", "街道"]),
        FieldRule::new("address", 1).any(&["地址", "住址", "户籍地"]),
    ])
}

/// What reading a list found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListReading {
    pub sheet: String,
    pub header_row: u32,
    pub rows_read: usize,
    /// Rows matched.
    pub rows_good: usize,
    /// Rows left out, each with why.
    pub errors: Vec<ImportProblem>,
}

fn text(cell: Option<&Cell>) -> Option<String> {
    cell.map(|c| c.text()).filter(|s| !s.is_empty())
}

/// Reads a list's sheet: the rows to match (people under `within`'s villages found where
/// the row says) and the rows left out.
pub fn read_list(
    bytes: &[u8],
    villages: &Villages,
    today: chrono::NaiveDate,
) -> Result<(Vec<ListRowInput>, ListReading), SheetError> {
    let table = read_table_with(
        bytes,
        &matcher(),
        &ReadOptions {
            required: vec!["name".into(), "id_number".into()],
            max_rows: MAX_LIST_ROWS,
            mapping: BTreeMap::new(),
        },
    )?;
    let mut errors = Vec::new();
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let cell = |k: &str| row.cells.get(k);
        let problem = |field: &str, message: String| ImportProblem {
            row: row.row_number,
            field: field.into(),
            message,
        };
        let Some(raw) = text(cell("id_number")) else {
            errors.push(problem("id_number", "缺少身份证号".into()));
            continue;
        };
        let id_number = match weibao_domain::id_number::IdNumber::parse(&raw, today) {
            Ok(n) => n,
            Err(e) => {
                errors.push(problem("id_number", e.message));
                continue;
            }
        };
        let kin = |name: &str, number: &str| -> Option<KinInput> {
            let n = text(cell(number))?;
            let id_number = weibao_domain::id_number::IdNumber::parse(&n, today).ok()?;
            Some(KinInput {
                name: text(cell(name)).unwrap_or_default(),
                id_number,
            })
        };
        let children = kin("child_name", "child_id_number").into_iter().collect();
        let parents = [
            kin("father_name", "father_id_number"),
            kin("mother_name", "mother_id_number"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let division: Option<DivisionCode> = match (text(cell("village")), text(cell("address"))) {
            (Some(v), _) => villages
                .resolve(None, Some(&v), text(cell("township")).as_deref())
                .ok(),
            (None, Some(a)) => villages.find_in(&a, "地址").ok(),
            (None, None) => None,
        };
        rows.push(ListRowInput {
            row: row.row_number,
            name: text(cell("name")).unwrap_or_default(),
            id_number,
            children,
            parents,
            detail: text(cell("detail"))
                .map(|d| d.chars().take(100).collect())
                .unwrap_or_default(),
            division,
        });
    }
    let reading = ListReading {
        sheet: table.sheet_name.clone(),
        header_row: table.header_row,
        rows_read: table.rows.len(),
        rows_good: rows.len(),
        errors,
    };
    Ok((rows, reading))
}
