//! Writing an export: one sheet under a bold frozen Chinese header, text kept as text, nothing a spreadsheet would evaluate, rows streamed to disk.

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, XlsxError};

/// A cell to write.
#[derive(Debug, Clone, PartialEq)]
pub enum OutCell {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    /// An amount in 分, written as yuan with two decimals (a number Excel adds up).
    Money(i64),
    Empty,
}

/// Excel's limits for one worksheet, less the header row.
const MAX_DATA_ROWS: u32 = 1_048_575;
const MAX_COLUMNS: usize = 16_384;
const MAX_TEXT_CHARS: usize = 32_767;
const MAX_SHEET_NAME_UTF16: usize = 31;

/// Column widths in Excel's character units.
const MIN_WIDTH: f64 = 8.0;
const MAX_WIDTH: f64 = 60.0;

/// Text a spreadsheet would take for a formula (= + - @, or a tab or carriage return
/// before one) gets a leading apostrophe, so no one's Excel, WPS or a CSV made from the
/// export ever runs it.
fn neutralise(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// Excel refuses longer text outright; a cut note beats a failed export.
fn within_cell_limit(s: String) -> String {
    match s.char_indices().nth(MAX_TEXT_CHARS) {
        Some((cut, _)) => s[..cut].to_string(),
        None => s,
    }
}

/// Characters that take two columns on screen: CJK, Hangul, full-width forms.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD)
}

fn display_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

/// A name Excel accepts: no []:*?/\, no apostrophe at either end, at most 31 UTF-16
/// units, not blank. Export names come from division names, which may hold any of these.
fn sheet_name_for_excel(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let mut out = String::new();
    let mut units = 0;
    for c in cleaned.trim().trim_matches('\'').chars() {
        units += c.len_utf16();
        if units > MAX_SHEET_NAME_UTF16 {
            break;
        }
        out.push(c);
    }
    let out = out.trim().trim_end_matches('\'').to_string();
    if out.is_empty() {
        "Sheet1".to_string()
    } else {
        out
    }
}

fn failed(e: XlsxError) -> String {
    format!(
        "生成 Excel 文件失败（{e}）：请稍后重试；如果反复出现，请联系管理员检查服务器临时目录是否可写"
    )
}

/// Writes one sheet: a bold, frozen header row; columns sized to their contents (CJK
/// characters count double); dates as yyyy-mm-dd; text always as text, so ID numbers and
/// phone numbers keep every digit. Rows stream to a temporary file (rust_xlsxwriter's
/// constant-memory mode), so a million-row export never holds the sheet in memory; the
/// finished .xlsx is returned as bytes.
pub fn write_table(
    sheet_name: &str,
    headers: &[&str],
    rows: impl IntoIterator<Item = Vec<OutCell>>,
) -> Result<Vec<u8>, String> {
    if headers.len() > MAX_COLUMNS {
        return Err(format!(
            "导出有 {} 列，超过 Excel 上限 {MAX_COLUMNS} 列：请减少导出的列",
            headers.len()
        ));
    }
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let formats = Formats::plain();
    let ws = wb.add_worksheet_with_constant_memory().map_err(failed)?;
    ws.set_name(sheet_name_for_excel(sheet_name))
        .map_err(failed)?;
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(failed)?;
    }
    ws.set_freeze_panes(1, 0).map_err(failed)?;
    for (i, row) in rows.into_iter().enumerate() {
        if i >= MAX_DATA_ROWS as usize {
            return Err(format!(
                "导出超过 Excel 单个工作表的上限 {MAX_DATA_ROWS} 行：请缩小筛选范围（例如按乡镇）后分批导出"
            ));
        }
        if row.len() > MAX_COLUMNS {
            return Err(format!(
                "导出有 {} 列，超过 Excel 上限 {MAX_COLUMNS} 列：请减少导出的列",
                row.len()
            ));
        }
        let r = i as u32 + 1;
        if widths.len() < row.len() {
            widths.resize(row.len(), 0);
        }
        for (c, cell) in row.into_iter().enumerate() {
            let width = put(ws, r, c as u16, cell, &formats)?;
            widths[c] = widths[c].max(width);
        }
    }
    // Column widths are written with the sheet at save time, so in constant-memory mode
    // they can still be set after the rows.
    for (c, w) in widths.iter().enumerate() {
        let width = (*w as f64 + 2.0).clamp(MIN_WIDTH, MAX_WIDTH);
        ws.set_column_width(c as u16, width).map_err(failed)?;
    }
    wb.save_to_buffer().map_err(failed)
}

/// The formats of data cells.
struct Formats {
    text: Format,
    day: Format,
    yuan: Format,
    number: Format,
}

impl Formats {
    fn plain() -> Formats {
        Formats {
            text: Format::new(),
            day: Format::new().set_num_format("yyyy-mm-dd"),
            yuan: Format::new().set_num_format("0.00"),
            number: Format::new(),
        }
    }

    /// Every cell ruled, as a printed statistical table is.
    fn ruled() -> Formats {
        let b = |f: Format| f.set_border(FormatBorder::Thin);
        Formats {
            text: b(Format::new()),
            day: b(Format::new().set_num_format("yyyy-mm-dd")),
            yuan: b(Format::new().set_num_format("0.00")),
            number: b(Format::new()),
        }
    }
}

/// Writes one cell; returns the width its content takes.
fn put(
    ws: &mut rust_xlsxwriter::Worksheet,
    r: u32,
    col: u16,
    cell: OutCell,
    f: &Formats,
) -> Result<usize, String> {
    Ok(match cell {
        OutCell::Text(s) => {
            let s = within_cell_limit(neutralise(&s));
            ws.write_string_with_format(r, col, &s, &f.text)
                .map_err(failed)?;
            display_width(&s)
        }
        OutCell::Number(n) if n.is_finite() => {
            ws.write_number_with_format(r, col, n, &f.number)
                .map_err(failed)?;
            n.to_string().len()
        }
        OutCell::Money(fen) => {
            ws.write_number_with_format(r, col, fen as f64 / 100.0, &f.yuan)
                .map_err(failed)?;
            format!("{}.00", fen / 100).len()
        }
        // NaN or infinity would make a file Excel calls corrupt.
        OutCell::Number(_) | OutCell::Empty => {
            ws.write_blank(r, col, &f.text).map_err(failed)?;
            0
        }
        OutCell::Date(d) => {
            match u16::try_from(d.year())
                .ok()
                .and_then(|y| ExcelDateTime::from_ymd(y, d.month() as u8, d.day() as u8).ok())
            {
                Some(dt) => {
                    ws.write_datetime_with_format(r, col, &dt, &f.day)
                        .map_err(failed)?;
                }
                // Excel holds no dates before 1900: write what the date says.
                None => {
                    ws.write_string_with_format(
                        r,
                        col,
                        neutralise(&d.format("%Y-%m-%d").to_string()),
                        &f.text,
                    )
                    .map_err(failed)?;
                }
            }
            10
        }
    })
}

/// Writes a statistical table as offices file it: the title centred over the columns,
/// lines under it (填报单位, 统计期, notes), then a ruled table with a bold header.
/// For tables of a few hundred rows (it is built in memory).
pub fn write_report(
    title: &str,
    notes: &[String],
    headers: &[&str],
    rows: Vec<Vec<OutCell>>,
) -> Result<Vec<u8>, String> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name_for_excel(title)).map_err(failed)?;
    let last = headers.len().max(1) as u16 - 1;
    let heading = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    ws.merge_range(0, 0, 0, last, &neutralise(title), &heading)
        .map_err(failed)?;
    for (i, note) in notes.iter().enumerate() {
        ws.merge_range(
            i as u32 + 1,
            0,
            i as u32 + 1,
            last,
            &neutralise(note),
            &Format::new(),
        )
        .map_err(failed)?;
    }
    let head_row = notes.len() as u32 + 2;
    let bold = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(head_row, c as u16, *h, &bold)
            .map_err(failed)?;
    }
    let formats = Formats::ruled();
    for (i, row) in rows.into_iter().enumerate() {
        if widths.len() < row.len() {
            widths.resize(row.len(), 0);
        }
        for (c, cell) in row.into_iter().enumerate() {
            let w = put(ws, head_row + 1 + i as u32, c as u16, cell, &formats)?;
            widths[c] = widths[c].max(w);
        }
    }
    for (c, w) in widths.iter().enumerate() {
        let width = (*w as f64 + 2.0).clamp(MIN_WIDTH, MAX_WIDTH);
        ws.set_column_width(c as u16, width).map_err(failed)?;
    }
    wb.save_to_buffer().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::HeaderMatcher;
    use crate::read::{read_table, Cell};
    use calamine::{Reader, Xlsx};
    use std::io::{Cursor, Read};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn aliases(headers: &[&str]) -> HeaderMatcher {
        HeaderMatcher::new(
            headers
                .iter()
                .map(|h| (h.to_string(), vec![h.to_string()]))
                .collect(),
        )
    }

    fn sheet_xml(bytes: &[u8]) -> String {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        zip.by_name("xl/worksheets/sheet1.xml")
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        xml
    }

    fn export() -> Vec<u8> {
        let rows = vec![
            vec![
                OutCell::Text("张小花".into()),
                OutCell::Text("51081220150307123X".into()),
                OutCell::Text("013812345678".into()),
                OutCell::Number(9.0),
                OutCell::Date(date(2015, 3, 7)),
            ],
            vec![
                OutCell::Text("=1+1".into()),
                OutCell::Text("510812201503071234".into()),
                OutCell::Text("+8613812345678".into()),
                OutCell::Number(2.5),
                OutCell::Empty,
            ],
            vec![
                OutCell::Text("@SUM(A1)".into()),
                OutCell::Empty,
                OutCell::Text("-1+2".into()),
                OutCell::Number(f64::NAN),
                OutCell::Date(date(1899, 12, 1)),
            ],
        ];
        write_table(
            "儿童台账",
            &["姓名", "身份证号", "联系电话", "年龄", "出生日期"],
            rows,
        )
        .unwrap()
    }

    #[test]
    fn an_export_reads_back_with_its_text_numbers_and_dates() {
        let headers = ["姓名", "身份证号", "联系电话", "年龄", "出生日期"];
        let t = read_table(&export(), &aliases(&headers), &[], 10).unwrap();
        assert_eq!(t.sheet_name, "儿童台账");
        assert_eq!(t.header_row, 1);
        assert_eq!(t.rows.len(), 3);
        let first = &t.rows[0].cells;
        assert_eq!(first["姓名"], Cell::Text("张小花".into()));
        assert_eq!(first["年龄"], Cell::Number(9.0));
        assert_eq!(first["出生日期"], Cell::Date(date(2015, 3, 7)));
        assert_eq!(t.rows[1].cells["年龄"], Cell::Number(2.5));
        assert!(!t.rows[2].cells.contains_key("年龄"), "NaN is left empty");
        assert_eq!(
            t.rows[2].cells["出生日期"],
            Cell::Text("1899-12-01".into()),
            "a date Excel cannot hold is written as text"
        );
    }

    #[test]
    fn ids_and_phones_are_written_as_text_and_keep_every_digit() {
        let headers = ["姓名", "身份证号", "联系电话"];
        let t = read_table(&export(), &aliases(&headers), &[], 10).unwrap();
        assert_eq!(
            t.rows[0].cells["身份证号"],
            Cell::Text("51081220150307123X".into())
        );
        assert_eq!(
            t.rows[1].cells["身份证号"],
            Cell::Text("510812201503071234".into())
        );
        assert_eq!(
            t.rows[0].cells["联系电话"],
            Cell::Text("013812345678".into())
        );
    }

    #[test]
    fn text_that_looks_like_a_formula_is_written_as_plain_text() {
        let bytes = export();
        let headers = ["姓名", "联系电话"];
        let t = read_table(&bytes, &aliases(&headers), &[], 10).unwrap();
        assert_eq!(t.rows[1].cells["姓名"], Cell::Text("'=1+1".into()));
        assert_eq!(t.rows[2].cells["姓名"], Cell::Text("'@SUM(A1)".into()));
        assert_eq!(
            t.rows[1].cells["联系电话"],
            Cell::Text("'+8613812345678".into())
        );
        assert_eq!(t.rows[2].cells["联系电话"], Cell::Text("'-1+2".into()));
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(&bytes[..])).unwrap();
        let formulas = book.worksheet_formula("儿童台账").unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "no cell holds a formula"
        );
        assert!(!sheet_xml(&bytes).contains("<f>"));
    }

    #[test]
    fn the_header_is_bold_and_frozen_and_chinese_columns_are_wider() {
        let bytes = export();
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(&bytes[..])).unwrap();
        let styles = book.worksheet_style("儿童台账").unwrap();
        let bold = |r, c| {
            styles
                .get((r, c))
                .and_then(|s| s.font.as_ref())
                .is_some_and(|f| f.is_bold())
        };
        assert!(bold(0, 0) && bold(0, 4), "header cells are bold");
        assert!(!bold(1, 0), "data cells are not");
        let xml = sheet_xml(&bytes);
        assert!(
            xml.contains(r#"ySplit="1""#) && xml.contains(r#"state="frozen""#),
            "the header row is frozen"
        );
        let width = |col: u32| -> f64 {
            let tag = format!(r#"<col min="{col}" max="{col}" width=""#);
            let at = xml
                .find(&tag)
                .unwrap_or_else(|| panic!("no width for {col}"))
                + tag.len();
            xml[at..].split('"').next().unwrap().parse().unwrap()
        };
        // 姓名 holds 3 CJK characters (6 wide); 年龄 holds short numbers under a 2-CJK
        // header (4 wide); the ID column holds 18 ASCII characters.
        assert!(
            width(2) > width(1),
            "18 ASCII characters need more room than 张小花"
        );
        assert!(width(1) > width(4), "张小花 needs more room than 9 or 2.5");
    }

    #[test]
    fn a_sheet_name_excel_would_refuse_is_made_acceptable() {
        let bytes = write_table(
            "'朝天镇/青云村[2024]: 困境儿童台账（含事实无人抚养儿童）'",
            &["姓名"],
            vec![vec![OutCell::Text("张三".into())]],
        )
        .unwrap();
        let book: Xlsx<_> = Xlsx::new(Cursor::new(&bytes[..])).unwrap();
        let name = &book.sheet_names()[0];
        assert!(name.starts_with("朝天镇_青云村_2024__"), "{name}");
        assert!(name.encode_utf16().count() <= 31, "{name}");
        assert_eq!(sheet_name_for_excel(" :: "), "__");
        assert_eq!(sheet_name_for_excel("''"), "Sheet1");
    }

    #[test]
    fn twenty_thousand_rows_write_and_read_back() {
        let rows = (0..20_000u32).map(|i| {
            vec![
                OutCell::Text(format!("儿童{i}")),
                OutCell::Text(format!("5108122015{i:08}")),
                OutCell::Number(f64::from(i % 18)),
                OutCell::Date(date(2010, 1, 1) + chrono::Days::new(u64::from(i % 3000))),
            ]
        });
        let headers = ["姓名", "身份证号", "年龄", "出生日期"];
        let bytes = write_table("台账", &headers, rows).unwrap();
        let t = read_table(&bytes, &aliases(&headers), &[], 100_000).unwrap();
        assert_eq!(t.rows.len(), 20_000);
        let last = &t.rows[19_999];
        assert_eq!(last.row_number, 20_001);
        assert_eq!(last.cells["姓名"].text(), "儿童19999");
        assert_eq!(last.cells["身份证号"].text(), "510812201500019999");
        assert_eq!(last.cells["年龄"], Cell::Number(f64::from(19_999 % 18)));
        assert_eq!(
            last.cells["出生日期"],
            Cell::Date(date(2010, 1, 1) + chrono::Days::new(19_999 % 3000))
        );
    }
}
