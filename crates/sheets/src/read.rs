//! Reading a ledger: find the header row among title and note rows, map headers through
//! aliases to fields, fill merged cells, keep each row's Excel row number.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Dimensions, Reader, Xlsx};
use chrono::NaiveDate;

/// A cell as the sheet holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Bool(bool),
}

/// Full-width ASCII to half-width, ideographic and no-break spaces to spaces.
fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' => ' ',
        _ => c,
    }
}

fn normalise_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.chars().map(half_width) {
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.trim_end().to_string()
}

impl Cell {
    /// Text for the importer: trimmed, full-width to half-width, inner spaces collapsed;
    /// integral numbers without ".0" or exponent; dates as YYYY-MM-DD.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => normalise_text(s),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e21 => format!("{n:.0}"),
            Cell::Number(n) => n.to_string(),
            Cell::Date(d) => d.to_string(),
            Cell::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    fn from_data(d: &Data) -> Cell {
        match d {
            Data::Empty | Data::Error(_) => Cell::Empty,
            Data::String(s) => Cell::Text(s.clone()),
            Data::Int(i) => Cell::Number(*i as f64),
            Data::Float(f) => Cell::Number(*f),
            Data::Bool(b) => Cell::Bool(*b),
            Data::DateTime(dt) => match dt.as_datetime() {
                Some(t) if dt.is_datetime() => Cell::Date(t.date()),
                _ => Cell::Number(dt.as_f64()),
            },
            Data::DateTimeIso(s) => NaiveDate::parse_from_str(&s[..s.len().min(10)], "%Y-%m-%d")
                .map(Cell::Date)
                .unwrap_or_else(|_| Cell::Text(s.clone())),
            Data::DurationIso(s) => Cell::Text(s.clone()),
        }
    }
}

/// Header aliases: canonical field name → the headers people write for it.
#[derive(Debug, Clone)]
pub struct HeaderAliases {
    by_header: Vec<(String, String)>,
}

fn normalise_header(h: &str) -> String {
    let s: String = h
        .chars()
        .map(half_width)
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '＊')
        .collect::<String>()
        .to_lowercase();
    s.trim_end_matches("(必填)").to_string()
}

impl HeaderAliases {
    pub fn new(pairs: Vec<(String, Vec<String>)>) -> HeaderAliases {
        let mut by_header = Vec::new();
        for (field, aliases) in pairs {
            for a in aliases {
                by_header.push((normalise_header(&a), field.clone()));
            }
        }
        HeaderAliases { by_header }
    }

    /// Which canonical field a header means (spaces, line breaks, required-marks and
    /// full-width forms do not matter).
    pub fn field_of(&self, header: &str) -> Option<&str> {
        let h = normalise_header(header);
        if h.is_empty() {
            return None;
        }
        self.by_header
            .iter()
            .find(|(alias, _)| *alias == h)
            .map(|(_, f)| f.as_str())
    }
}

/// One data row: its row number as Excel shows it, and its cells by field.
#[derive(Debug, Clone)]
pub struct SheetRow {
    pub row_number: u32,
    pub cells: BTreeMap<String, Cell>,
}

/// What a sheet holds.
#[derive(Debug, Clone)]
pub struct Table {
    pub sheet_name: String,
    /// 1-based, as Excel shows it.
    pub header_row: u32,
    /// Data rows below the header; fully blank rows are skipped.
    pub rows: Vec<SheetRow>,
    /// Headers that matched no field.
    pub unknown_headers: Vec<String>,
    /// Required fields with no column.
    pub missing_fields: Vec<String>,
}

/// Why a workbook could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum SheetError {
    NotXlsx(String),
    Empty,
    NoHeader { searched_rows: u32 },
    TooLarge { rows: u32, limit: u32 },
}

impl std::fmt::Display for SheetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SheetError::NotXlsx(e) => write!(
                f,
                "文件不是有效的 Excel（.xlsx）文件（{e}）；请用 Excel 或 WPS 另存为 .xlsx 后再导入"
            ),
            SheetError::Empty => f.write_str("工作簿中没有任何数据"),
            SheetError::NoHeader { searched_rows } => write!(
                f,
                "在前 {searched_rows} 行中没有找到表头：表头应包含“姓名”“身份证号”等列名"
            ),
            SheetError::TooLarge { rows, limit } => write!(
                f,
                "表格有 {rows} 行，超过单次导入上限 {limit} 行：请按乡镇拆分后分批导入"
            ),
        }
    }
}

impl std::error::Error for SheetError {}

const HEADER_SEARCH_ROWS: u32 = 20;

/// A worksheet as a grid of cells with merged regions filled in.
struct Grid {
    /// Absolute row and column of `cells[0][0]`.
    origin: (u32, u32),
    cells: Vec<Vec<Cell>>,
}

impl Grid {
    fn get(&self, row: usize, col: usize) -> &Cell {
        self.cells
            .get(row)
            .and_then(|r| r.get(col))
            .unwrap_or(&Cell::Empty)
    }
}

fn load_grid(
    book: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    max_rows: u32,
) -> Result<Grid, SheetError> {
    let range = book
        .worksheet_range(name)
        .map_err(|e| SheetError::NotXlsx(e.to_string()))?;
    let Some(origin) = range.start() else {
        return Ok(Grid {
            origin: (0, 0),
            cells: Vec::new(),
        });
    };
    let (height, _) = range.get_size();
    if height as u64 > max_rows as u64 + HEADER_SEARCH_ROWS as u64 {
        return Err(SheetError::TooLarge {
            rows: height as u32,
            limit: max_rows,
        });
    }
    let mut cells: Vec<Vec<Cell>> = range
        .rows()
        .map(|r| r.iter().map(Cell::from_data).collect())
        .collect();
    // A value merged over several cells (a village written once beside its children)
    // belongs to each of them.
    let merged: Vec<Dimensions> = book.merge_cells_by_sheet_name(name).unwrap_or_default();
    for m in merged {
        let (r0, c0) = (
            m.start.0.saturating_sub(origin.0) as usize,
            m.start.1.saturating_sub(origin.1) as usize,
        );
        let (r1, c1) = (
            m.end.0.saturating_sub(origin.0) as usize,
            m.end.1.saturating_sub(origin.1) as usize,
        );
        let value = cells
            .get(r0)
            .and_then(|r| r.get(c0))
            .cloned()
            .unwrap_or(Cell::Empty);
        if value.is_empty() {
            continue;
        }
        for row in cells.iter_mut().take(r1 + 1).skip(r0) {
            for c in c0..=c1 {
                if c < row.len() && row[c].is_empty() {
                    row[c] = value.clone();
                }
            }
        }
    }
    Ok(Grid { origin, cells })
}

/// The first row (among the first 20) where at least two cells name known fields.
fn find_header(grid: &Grid, aliases: &HeaderAliases) -> Option<(usize, usize)> {
    (0..grid.cells.len().min(HEADER_SEARCH_ROWS as usize))
        .map(|r| {
            let hits = grid.cells[r]
                .iter()
                .filter(|c| matches!(c, Cell::Text(t) if aliases.field_of(t).is_some()))
                .count();
            (r, hits)
        })
        .find(|(_, hits)| *hits >= 2)
}

/// Reads the worksheet whose header matches the most fields.
pub fn read_table(
    bytes: &[u8],
    aliases: &HeaderAliases,
    required: &[&str],
    max_rows: u32,
) -> Result<Table, SheetError> {
    let mut book: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| SheetError::NotXlsx(e.to_string()))?;
    let names = book.sheet_names();
    if names.is_empty() {
        return Err(SheetError::Empty);
    }
    let mut best: Option<(usize, String, Grid, usize)> = None;
    for name in &names {
        let grid = load_grid(&mut book, name, max_rows)?;
        if let Some((row, hits)) = find_header(&grid, aliases) {
            if best.as_ref().is_none_or(|b| hits > b.0) {
                best = Some((hits, name.clone(), grid, row));
            }
        }
    }
    let Some((_, sheet_name, grid, header)) = best else {
        return Err(SheetError::NoHeader {
            searched_rows: HEADER_SEARCH_ROWS,
        });
    };
    let mut columns: Vec<(usize, String)> = Vec::new();
    let mut unknown_headers = Vec::new();
    for (c, cell) in grid.cells[header].iter().enumerate() {
        let text = cell.text();
        if text.is_empty() {
            continue;
        }
        match aliases.field_of(&text) {
            // The first column wins when two columns mean the same field.
            Some(f) if !columns.iter().any(|(_, known)| known == f) => {
                columns.push((c, f.to_string()))
            }
            Some(_) => unknown_headers.push(text),
            None if text == "序号" || text.eq_ignore_ascii_case("no") => {}
            None => unknown_headers.push(text),
        }
    }
    let missing_fields = required
        .iter()
        .filter(|f| !columns.iter().any(|(_, known)| known == *f))
        .map(|f| f.to_string())
        .collect();
    let data_rows = grid.cells.len().saturating_sub(header + 1);
    if data_rows > max_rows as usize {
        return Err(SheetError::TooLarge {
            rows: data_rows as u32,
            limit: max_rows,
        });
    }
    let mut rows = Vec::new();
    for r in header + 1..grid.cells.len() {
        let cells: BTreeMap<String, Cell> = columns
            .iter()
            .map(|(c, f)| (f.clone(), grid.get(r, *c).clone()))
            .filter(|(_, cell)| !cell.is_empty())
            .collect();
        if cells.is_empty() {
            continue;
        }
        rows.push(SheetRow {
            row_number: grid.origin.0 + r as u32 + 1,
            cells,
        });
    }
    Ok(Table {
        sheet_name,
        header_row: grid.origin.0 + header as u32 + 1,
        rows,
        unknown_headers,
        missing_fields,
    })
}

/// Parses the dates people type: 2015-3-7, 2015.3.7, 2015/3/7, 2015年3月7日, 20150307
/// (full-width digits too). None when it is not a real date.
pub fn parse_date_text(s: &str) -> Option<NaiveDate> {
    let t: String = s
        .trim()
        .chars()
        .map(half_width)
        .map(|c| match c {
            '年' | '月' | '.' | '/' | '-' => '-',
            '日' | '号' => ' ',
            _ => c,
        })
        .collect();
    let t = t.trim();
    if t.len() == 8 && t.chars().all(|c| c.is_ascii_digit()) {
        return NaiveDate::parse_from_str(t, "%Y%m%d").ok();
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

    fn aliases() -> HeaderAliases {
        HeaderAliases::new(vec![
            ("name".into(), vec!["姓名".into(), "儿童姓名".into()]),
            (
                "id_number".into(),
                vec![
                    "身份证号".into(),
                    "身份证号码".into(),
                    "公民身份号码".into(),
                ],
            ),
            ("birth".into(), vec!["出生日期".into()]),
            ("village".into(), vec!["村（居）".into(), "所在村".into()]),
        ])
    }

    /// Title merged across the columns, a note, a blank row, headers out of order.
    fn messy() -> Vec<u8> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.merge_range(0, 0, 0, 4, "朝天镇困境儿童台账（2024年）", &Format::new())
            .unwrap();
        ws.write_string(1, 0, "说明：本表每季度更新").unwrap();
        for (c, h) in [
            "所在村",
            "公民身份号码",
            " 儿童姓名* ",
            "出生日期",
            "备注栏",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string(3, c as u16, *h).unwrap();
        }
        // A village merged down over three children.
        ws.merge_range(4, 0, 6, 0, "朝天村", &Format::new())
            .unwrap();
        ws.write_string(4, 1, "51081220150307123x").unwrap();
        ws.write_string(4, 2, "张　小花").unwrap();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        ws.write_datetime_with_format(4, 3, ExcelDateTime::from_ymd(2015, 3, 7).unwrap(), &date)
            .unwrap();
        ws.write_number(5, 1, 510812201503071234.0).unwrap();
        ws.write_string(5, 2, "ＬＩ Ming").unwrap();
        ws.write_number(6, 1, 510812150307123.0).unwrap();
        ws.write_string(6, 2, "王五").unwrap();
        ws.write_string(6, 3, "2015年3月7日").unwrap();
        // Blank row 8, then one more child on row 9.
        ws.write_string(8, 0, "青云村").unwrap();
        ws.write_string(8, 2, "赵六").unwrap();
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn a_messy_ledger_reads_with_excel_row_numbers() {
        let t = read_table(&messy(), &aliases(), &["name", "id_number"], 100).unwrap();
        assert_eq!(t.header_row, 4);
        assert_eq!(
            t.rows.iter().map(|r| r.row_number).collect::<Vec<_>>(),
            [5, 6, 7, 9]
        );
        assert_eq!(t.unknown_headers, ["备注栏"]);
        assert!(t.missing_fields.is_empty());
        let r = &t.rows;
        assert_eq!(r[0].cells["name"].text(), "张 小花");
        assert_eq!(r[0].cells["id_number"].text(), "51081220150307123x");
        assert_eq!(
            r[0].cells["birth"],
            Cell::Date(NaiveDate::from_ymd_opt(2015, 3, 7).unwrap())
        );
        assert_eq!(
            r[1].cells["name"].text(),
            "LI Ming",
            "full-width letters become half-width"
        );
        // 18 digits typed as a number: the cell says so, and its text shows the lost digits.
        assert!(matches!(r[1].cells["id_number"], Cell::Number(_)));
        assert_ne!(r[1].cells["id_number"].text(), "510812201503071234");
        assert_eq!(
            r[2].cells["id_number"].text(),
            "510812150307123",
            "15 digits survive"
        );
        assert_eq!(
            parse_date_text(&r[2].cells["birth"].text()),
            NaiveDate::from_ymd_opt(2015, 3, 7)
        );
        // The merged village reaches every row it spans.
        let villages: Vec<String> = r.iter().map(|x| x.cells["village"].text()).collect();
        assert_eq!(villages, ["朝天村", "朝天村", "朝天村", "青云村"]);
    }

    #[test]
    fn required_fields_without_a_column_are_listed() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "姓名").unwrap();
        ws.write_string(0, 1, "所在村").unwrap();
        ws.write_string(1, 0, "张三").unwrap();
        let t = read_table(
            &wb.save_to_buffer().unwrap(),
            &aliases(),
            &["name", "id_number"],
            10,
        )
        .unwrap();
        assert_eq!(t.missing_fields, ["id_number"]);
    }

    #[test]
    fn refusals_are_clear() {
        assert!(matches!(
            read_table(b"not a workbook", &aliases(), &[], 10),
            Err(SheetError::NotXlsx(_))
        ));
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "随便").unwrap();
        let e = read_table(&wb.save_to_buffer().unwrap(), &aliases(), &[], 10).unwrap_err();
        assert!(e.to_string().contains("没有找到表头"));
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "姓名").unwrap();
        ws.write_string(0, 1, "身份证号").unwrap();
        for r in 1..=30 {
            ws.write_string(r, 0, "某").unwrap();
        }
        let e = read_table(&wb.save_to_buffer().unwrap(), &aliases(), &[], 10).unwrap_err();
        assert!(matches!(e, SheetError::TooLarge { .. }), "{e}");
    }

    #[test]
    fn dates_parse_in_every_common_form() {
        let d = NaiveDate::from_ymd_opt(2015, 3, 7);
        for s in [
            "2015-3-7",
            "2015-03-07",
            "2015.3.7",
            "2015/3/7",
            "2015年3月7日",
            "2015年03月07日",
            "20150307",
            "２０１５．３．７",
        ] {
            assert_eq!(parse_date_text(s), d, "{s}");
        }
        assert_eq!(parse_date_text("2015-02-30"), None);
        assert_eq!(parse_date_text("明年"), None);
    }

    #[test]
    fn headers_match_through_aliases_whatever_the_spacing() {
        let a = aliases();
        assert_eq!(a.field_of("身份证\n号码"), Some("id_number"));
        assert_eq!(a.field_of("*姓名（必填）"), Some("name"));
        assert_eq!(a.field_of("村(居)"), Some("village"));
        assert_eq!(a.field_of("爱好"), None);
    }
}
