//! Writing an export: one sheet, Chinese headers, text kept as text, nothing a
//! spreadsheet would evaluate.

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

/// A cell to write.
#[derive(Debug, Clone, PartialEq)]
pub enum OutCell {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Empty,
}

/// Text that a spreadsheet would take for a formula (= + - @, also after a tab or
/// carriage return) is written with a leading apostrophe, so no one's Excel runs it.
fn neutralise(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn display_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 1.0 } else { 2.0 })
        .sum()
}

/// Writes one sheet with a bold, frozen header row; rows stream to a temporary file so
/// a million-row export does not sit in memory.
pub fn write_table(
    sheet_name: &str,
    headers: &[&str],
    rows: impl IntoIterator<Item = Vec<OutCell>>,
) -> Result<Vec<u8>, String> {
    let err = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet_with_constant_memory().map_err(err)?;
    ws.set_name(sheet_name).map_err(err)?;
    let mut widths: Vec<f64> = headers.iter().map(|h| display_width(h) + 2.0).collect();
    // Widths must be set before rows are written in constant-memory mode; estimate
    // from the headers and a sensible minimum.
    for (c, w) in widths.iter_mut().enumerate() {
        *w = w.clamp(10.0, 40.0);
        ws.set_column_width(c as u16, *w).map_err(err)?;
    }
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    for (i, row) in rows.into_iter().enumerate() {
        let r = i as u32 + 1;
        for (c, cell) in row.into_iter().enumerate() {
            let c = c as u16;
            match cell {
                OutCell::Text(s) => {
                    ws.write_string(r, c, neutralise(&s)).map_err(err)?;
                }
                OutCell::Number(n) => {
                    ws.write_number(r, c, n).map_err(err)?;
                }
                OutCell::Date(d) => {
                    let dt =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .map_err(err)?;
                    ws.write_datetime_with_format(r, c, &dt, &date)
                        .map_err(err)?;
                }
                OutCell::Empty => {}
            }
        }
    }
    wb.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{read_table, Cell, HeaderAliases};

    #[test]
    fn an_export_round_trips_and_never_carries_a_formula() {
        let rows = vec![
            vec![
                OutCell::Text("=1+1".into()),
                OutCell::Text("5108**********123X".into()),
                OutCell::Number(9.0),
                OutCell::Date(NaiveDate::from_ymd_opt(2015, 3, 7).unwrap()),
            ],
            vec![
                OutCell::Text("张小花".into()),
                OutCell::Empty,
                OutCell::Number(3.0),
                OutCell::Empty,
            ],
        ];
        let bytes =
            write_table("儿童台账", &["姓名", "身份证号", "年龄", "出生日期"], rows).unwrap();
        let aliases = HeaderAliases::new(vec![
            ("name".into(), vec!["姓名".into()]),
            ("id".into(), vec!["身份证号".into()]),
            ("age".into(), vec!["年龄".into()]),
            ("birth".into(), vec!["出生日期".into()]),
        ]);
        let t = read_table(&bytes, &aliases, &[], 10).unwrap();
        assert_eq!(t.sheet_name, "儿童台账");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].cells["name"], Cell::Text("'=1+1".into()));
        assert_eq!(t.rows[0].cells["id"].text(), "5108**********123X");
        assert_eq!(t.rows[0].cells["age"], Cell::Number(9.0));
        assert_eq!(
            t.rows[0].cells["birth"],
            Cell::Date(NaiveDate::from_ymd_opt(2015, 3, 7).unwrap())
        );
        assert_eq!(t.rows[1].cells["name"].text(), "张小花");
    }

    #[test]
    fn twenty_thousand_rows_write_and_read_back() {
        let rows =
            (0..20_000).map(|i| vec![OutCell::Text(format!("儿童{i}")), OutCell::Number(i as f64)]);
        let bytes = write_table("台账", &["姓名", "序"], rows).unwrap();
        let aliases = HeaderAliases::new(vec![
            ("name".into(), vec!["姓名".into()]),
            ("n".into(), vec!["序".into()]),
        ]);
        let t = read_table(&bytes, &aliases, &[], 100_000).unwrap();
        assert_eq!(t.rows.len(), 20_000);
        assert_eq!(t.rows[19_999].cells["name"].text(), "儿童19999");
        assert_eq!(t.rows[19_999].row_number, 20_001);
    }
}
