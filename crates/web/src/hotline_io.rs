//! 12345 work orders in and out: the sheet the hotline's own system exports (headers read
//! by meaning, as for the ledger), one report per order, a re-import skipping the orders
//! already filed; and the replies as a sheet the hotline takes back.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;
use weibao_domain::access::Scope;
use weibao_domain::reports::{parse_moment, Channel, ReportInput, Reporter};
use weibao_domain::work::Span;
use weibao_domain::DivisionCode;
use weibao_sheets::{
    read_table_with, Cell, FieldRule, HeaderMatcher, OutCell, ReadOptions, SheetError,
};
use weibao_store::{NewReport, ReportFilter, Store, StoreError};

use crate::ledger_io::{ColumnMapping, ImportProblem, Villages};

/// The most orders one sheet may hold.
pub const MAX_ORDERS: u32 = 20_000;

/// The fields of an order sheet and their Chinese names.
const FIELDS: &[(&str, &str)] = &[
    ("order_number", "工单编号"),
    ("called_at", "来电时间"),
    ("content", "诉求内容"),
    ("deadline", "办理时限"),
    ("caller", "来电人"),
    ("phone", "联系电话"),
    ("category", "诉求类型"),
    ("address", "涉及地址"),
];

fn matcher() -> HeaderMatcher {
    HeaderMatcher::labelled(FIELDS).with_rules(vec![
        FieldRule::new("order_number", 3)
            .any(&["工单", "单号", "受理号", "流水号"])
            .any(&["编号", "号"]),
        FieldRule::new("called_at", 2).any(&[
            "来电时间",
            "受理时间",
            "登记时间",
            "派单时间",
            "来电日期",
            "受理日期",
        ]),
        FieldRule::new("content", 2).any(&[
            "诉求内容",
            "来电内容",
            "工单内容",
            "问题描述",
            "反映内容",
            "诉求描述",
            "主要内容",
        ]),
        FieldRule::new("deadline", 2).any(&["时限", "截止", "办结时间", "要求办结", "期限"]),
        FieldRule::new("caller", 2)
            .any(&["来电人", "诉求人", "反映人", "联系人", "来电者"])
            .none(&["电话", "号码"]),
        FieldRule::new("phone", 2)
            .any(&["电话", "号码", "联系方式"])
            .none(&["工单"]),
        FieldRule::new("category", 2).any(&["类型", "分类", "类别"]),
        FieldRule::new("address", 2).any(&["地址", "地点", "区域", "属地"]),
    ])
}

/// What an order import found or did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotlineImportReport {
    pub dry_run: bool,
    pub sheet: String,
    pub header_row: u32,
    pub rows_read: usize,
    pub rows_good: usize,
    /// Orders filed now.
    pub imported: usize,
    /// Orders already filed by an earlier import (left as they are).
    pub already_imported: usize,
    pub errors: Vec<ImportProblem>,
    pub columns: Vec<ColumnMapping>,
}

fn text(cell: Option<&Cell>) -> Option<String> {
    cell.map(|c| c.text()).filter(|s| !s.is_empty())
}

/// An order checked, ready to file.
struct Order {
    row: u32,
    number: String,
    new: NewReport,
}

/// The deadline of an order: a date or time the sheet gives (the end of that day), or
/// "5个工作日" counted from the call; None when the sheet says nothing usable.
fn order_deadline(
    cell: Option<&Cell>,
    called_ms: i64,
    cal: &weibao_domain::work::Calendar,
) -> Option<i64> {
    match cell {
        Some(Cell::Date(d)) => Some(weibao_domain::work::calendar::end_of_day_ms(*d)),
        other => {
            let t = text(other)?;
            if let Some(n) = t
                .strip_suffix("个工作日")
                .or_else(|| t.strip_suffix("工作日"))
            {
                let n: u32 = n.trim().parse().ok().filter(|n| (1..=60).contains(n))?;
                return Some(cal.deadline(called_ms, Span::WorkingDays(n)).at_ms);
            }
            if let Some(n) = t.strip_suffix("天").or_else(|| t.strip_suffix("日")) {
                let n: u32 = n.trim().parse().ok().filter(|n| (1..=90).contains(n))?;
                return Some(cal.deadline(called_ms, Span::Days(n)).at_ms);
            }
            let moment = parse_moment(&t)?;
            Some(weibao_domain::work::calendar::end_of_day_ms(
                moment.date_naive(),
            ))
        }
    }
}

/// Why an import could not even be read.
#[derive(Debug)]
pub enum HotlineFailure {
    Sheet(SheetError),
    Store(StoreError),
}

impl From<StoreError> for HotlineFailure {
    fn from(e: StoreError) -> Self {
        HotlineFailure::Store(e)
    }
}

/// Reads an order sheet for `within` (a county), checks every row, and with `dry_run`
/// false files one report per new order.
pub async fn import_orders(
    store: &Store,
    scope: &Scope,
    within: DivisionCode,
    bytes: &[u8],
    dry_run: bool,
    ip: &str,
) -> Result<HotlineImportReport, HotlineFailure> {
    let table = read_table_with(
        bytes,
        &matcher(),
        &ReadOptions {
            required: vec!["order_number".into(), "content".into()],
            max_rows: MAX_ORDERS,
            mapping: BTreeMap::new(),
        },
    )
    .map_err(HotlineFailure::Sheet)?;
    let villages = Villages::new(store.villages_within(scope, within).await?);
    let cal = store.calendar().await?;
    let now_ms = store.clock().now_ms();
    let now = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .with_timezone(&weibao_domain::visit::cst());
    let mut errors = Vec::new();
    let headers = table
        .columns
        .iter()
        .map(|c| c.header.as_str())
        .collect::<Vec<_>>()
        .join("、");
    for f in &table.missing_fields {
        let label = FIELDS
            .iter()
            .find(|(k, _)| k == f)
            .map(|(_, l)| *l)
            .unwrap_or(f);
        errors.push(ImportProblem {
            row: table.header_row,
            field: f.clone(),
            message: format!("找不到“{label}”列；表头是：{headers}"),
        });
    }
    let mut orders: Vec<Order> = Vec::new();
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for row in &table.rows {
        let cell = |k: &str| row.cells.get(k);
        let problem = |field: &str, message: String| ImportProblem {
            row: row.row_number,
            field: field.into(),
            message,
        };
        let Some(number) = text(cell("order_number")) else {
            if table.missing_fields.is_empty() {
                errors.push(problem("order_number", "缺少工单编号".into()));
            }
            continue;
        };
        if number.chars().count() > 64 {
            errors.push(problem("order_number", "工单编号过长（最多 64 字）".into()));
            continue;
        }
        if let Some(first) = seen.insert(number.clone(), row.row_number) {
            errors.push(problem(
                "order_number",
                format!("工单编号与第 {first} 行重复"),
            ));
            continue;
        }
        let called = match cell("called_at") {
            Some(Cell::Date(d)) => d
                .and_hms_opt(12, 0, 0)
                .and_then(|t| t.and_local_timezone(weibao_domain::visit::cst()).single()),
            other => text(other).and_then(|t| parse_moment(&t)),
        };
        let called = called.filter(|t| *t <= now).unwrap_or(now);
        let category = text(cell("category")).unwrap_or_default();
        let situation = if category.contains("求助") {
            "hardship"
        } else if category.contains("咨询") {
            "policy"
        } else {
            "other"
        };
        let caller = text(cell("caller")).unwrap_or_default();
        let phone = text(cell("phone")).unwrap_or_default();
        let address = text(cell("address")).unwrap_or_default();
        let input = ReportInput {
            channel: None,
            situations: vec![situation.into()],
            urgency: None,
            description: format!(
                "12345工单{number}{}：{}",
                if category.is_empty() {
                    String::new()
                } else {
                    format!("（{category}）")
                },
                text(cell("content")).unwrap_or_default()
            ),
            place: Some(address.chars().take(200).collect()),
            discovered_at: Some(called.to_rfc3339()),
            child: Default::default(),
            reporter: Reporter {
                anonymous: caller.is_empty() && phone.is_empty(),
                name: caller.chars().take(30).collect(),
                phone,
                ..Reporter::default()
            },
        };
        let report = match input.check(now, Some(Channel::Hotline)) {
            Ok(r) => r,
            Err(e) => {
                errors.push(problem(e.field, e.invalid.message));
                continue;
            }
        };
        // The village when the address names one within the import's division.
        let division = villages.find_in(&address, "涉及地址").unwrap_or(within);
        let due = order_deadline(cell("deadline"), called.timestamp_millis(), &cal);
        orders.push(Order {
            row: row.row_number,
            number: number.clone(),
            new: NewReport {
                report,
                division,
                child_id: None,
                visit_id: None,
                hotline_order: Some(number),
                hotline_due_at: due,
            },
        });
    }
    let numbers: Vec<String> = orders.iter().map(|o| o.number.clone()).collect();
    let existing = store
        .existing_hotline_orders(&within.county_code(), &numbers)
        .await?;
    let already = orders
        .iter()
        .filter(|o| existing.contains(&o.number))
        .count();
    orders.retain(|o| !existing.contains(&o.number));
    errors.sort_by_key(|e| e.row);
    let mut report = HotlineImportReport {
        dry_run,
        sheet: table.sheet_name.clone(),
        header_row: table.header_row,
        rows_read: table.rows.len(),
        rows_good: orders.len() + already,
        imported: 0,
        already_imported: already,
        errors,
        columns: crate::ledger_io::column_report(&table.columns, |f| {
            FIELDS
                .iter()
                .find(|(k, _)| *k == f)
                .map(|(_, l)| *l)
                .unwrap_or("")
        }),
    };
    if dry_run || !report.errors.is_empty() {
        return Ok(report);
    }
    for o in orders {
        match store.file_report(scope, o.new, ip).await {
            Ok(_) => report.imported += 1,
            // Filed meanwhile by another import: the index keeps one.
            Err(e) if e.is_unique_violation() => report.already_imported += 1,
            Err(e) => {
                report.errors.push(ImportProblem {
                    row: o.row,
                    field: "order_number".into(),
                    message: e.to_string(),
                });
                break;
            }
        }
    }
    Ok(report)
}

/// The replies of a county's 12345 orders reported from `from` to `to` (Beijing dates,
/// inclusive), as the sheet the hotline takes back.
pub async fn export_replies(
    store: &Store,
    scope: &Scope,
    within: DivisionCode,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<u8>, StoreError> {
    let lo = weibao_domain::work::calendar::end_of_day_ms(from) - 86_400_000 + 1;
    let hi = weibao_domain::work::calendar::end_of_day_ms(to);
    let mut rows = Vec::new();
    let mut page = 1;
    loop {
        let batch = store
            .list_reports(
                scope,
                &ReportFilter {
                    division: Some(within),
                    channel: Some(Channel::Hotline),
                    page,
                    per_page: 200,
                    ..Default::default()
                },
            )
            .await?;
        let n = batch.len();
        for r in batch {
            if r.reported_at < lo || r.reported_at > hi {
                continue;
            }
            let units = store
                .referrals_of(scope, &r.county_code, &r.id)
                .await?
                .into_iter()
                .map(|x| x.to_unit_name)
                .collect::<Vec<_>>()
                .join("、");
            rows.push(vec![
                OutCell::Text(r.hotline_order.clone().unwrap_or_default()),
                OutCell::Text(r.number.clone()),
                OutCell::Text(crate::time::beijing_time(r.reported_at)),
                OutCell::Text(r.state.label().into()),
                OutCell::Text(r.reply.clone()),
                OutCell::Text(
                    r.replied_at
                        .map(crate::time::beijing_time)
                        .unwrap_or_default(),
                ),
                OutCell::Text(units),
            ]);
        }
        if n < 200 {
            break;
        }
        page += 1;
    }
    weibao_sheets::write_table(
        "工单办理答复",
        &[
            "工单编号",
            "平台编号",
            "登记时间",
            "办理状态",
            "答复内容",
            "答复时间",
            "承办单位",
        ],
        rows,
    )
    .map_err(|e| StoreError::Config(format!("导出失败：{e}")))
}
