//! Reading a township's Excel ledger: find the header below titles and notes, map headers to fields, fill merged cells, keep Excel's row numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use calamine::{DataRef, Dimensions, Reader, SheetType, SheetVisible, Xlsx, XlsxError};
use chrono::NaiveDate;

use crate::headers::{column_letter, half_width, is_invisible, normalise_header, HeaderMatcher};

/// A cell as the sheet holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Bool(bool),
}

/// Text as the reader gives every cell: full-width letters, digits and brackets made
/// half-width, invisible characters dropped, runs of whitespace one space, trimmed. What a
/// cell is compared against (names in the database) goes through the same.
pub fn normalise_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars().map(half_width).filter(|c| !is_invisible(*c)) {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// A number as Excel shows it: at most 15 significant digits (all Excel keeps), no
/// exponent, no ".0". An 18-digit ID typed as a number thus reads "510812201503071000",
/// the same lost digits the person sees in their sheet.
fn number_text(n: f64) -> String {
    if !n.is_finite() {
        return n.to_string();
    }
    let scientific = format!("{n:.14e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return n.to_string();
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return n.to_string();
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        return "0".to_string();
    }
    let last = digits.len() as i32 - 1;
    let body = if exponent >= last {
        format!("{digits}{}", "0".repeat((exponent - last) as usize))
    } else if exponent >= 0 {
        let (whole, fraction) = digits.split_at(exponent as usize + 1);
        format!("{whole}.{fraction}")
    } else {
        format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
    };
    if mantissa.starts_with('-') {
        format!("-{body}")
    } else {
        body
    }
}

impl Cell {
    /// Text for the importer: trimmed; full-width ASCII to half-width; ideographic and
    /// no-break spaces to spaces, runs of spaces collapsed; numbers as Excel shows them
    /// (no ".0", no exponent); dates as YYYY-MM-DD; TRUE/FALSE as 是/否.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => normalise_text(s),
            Cell::Number(n) => number_text(*n),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Bool(true) => "是".to_string(),
            Cell::Bool(false) => "否".to_string(),
        }
    }

    /// Empty, or text of nothing but spaces.
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.chars().all(|c| c.is_whitespace() || is_invisible(c)),
            _ => false,
        }
    }

    fn from_data(d: &DataRef<'_>) -> Cell {
        match d {
            DataRef::Empty => Cell::Empty,
            DataRef::String(s) => Cell::Text(s.clone()),
            DataRef::SharedString(s) => Cell::Text(s.to_string()),
            DataRef::Int(i) => Cell::Number(*i as f64),
            DataRef::Float(f) => Cell::Number(*f),
            DataRef::Bool(b) => Cell::Bool(*b),
            DataRef::DateTime(dt) => match dt.as_datetime() {
                Some(t) if dt.is_datetime() => Cell::Date(t.date()),
                _ => Cell::Number(dt.as_f64()),
            },
            DataRef::DateTimeIso(s) => s
                .get(..10)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map(Cell::Date)
                .unwrap_or_else(|| Cell::Text(s.clone())),
            DataRef::DurationIso(s) => Cell::Text(s.clone()),
            // "#N/A" in the ID column should be reported as a wrong value, not a missing one.
            DataRef::Error(e) => Cell::Text(e.to_string()),
        }
    }
}

/// One data row: its row number as Excel shows it, and its non-empty cells by field.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetRow {
    /// 1-based, as Excel shows it.
    pub row_number: u32,
    /// Canonical field → cell; empty cells are left out.
    pub cells: BTreeMap<String, Cell>,
}

/// The ledger found in a workbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub sheet_name: String,
    /// 1-based, as Excel shows it; the upper row of a two-row header.
    pub header_row: u32,
    /// Data rows below the header; fully blank rows are skipped.
    pub rows: Vec<SheetRow>,
    /// Every headed column, left to right, with the field it is read as.
    pub columns: Vec<Column>,
    /// Non-empty headers that matched no field (or a field an earlier column took).
    pub unknown_headers: Vec<String>,
    /// Required fields with no column.
    pub missing_fields: Vec<String>,
}

/// Why a workbook could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum SheetError {
    /// The reason, in Chinese.
    NotXlsx(String),
    Empty,
    NoHeader {
        searched_rows: u32,
    },
    /// Reading stopped at the first data row past the limit: `rows` is `limit + 1`, a
    /// lower bound, because counting a huge sheet to the end costs what refusing it saves.
    TooLarge {
        rows: u32,
        limit: u32,
    },
    /// The files inside the .xlsx would unpack to more than the limit: a zip bomb, or a
    /// workbook carrying far more than one ledger.
    UnpackedTooLarge {
        megabytes: u64,
        limit_megabytes: u64,
    },
}

impl std::fmt::Display for SheetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SheetError::NotXlsx(reason) => write!(
                f,
                "文件不是有效的 Excel（.xlsx）文件：{reason}；请用 Excel 或 WPS 打开后另存为 .xlsx（Excel 工作簿）再导入"
            ),
            SheetError::Empty => f.write_str(
                "工作簿是空的，没有任何填写了内容的工作表：请确认选择的是填好的台账文件",
            ),
            SheetError::NoHeader { searched_rows } => write!(
                f,
                "在前 {searched_rows} 行中没有找到表头：表头应包含“姓名”“身份证号”等列名；请检查列名是否写对，或把表头移到表格上方"
            ),
            SheetError::TooLarge { rows, limit } => write!(
                f,
                "表格的数据超过单次导入上限 {limit} 行（已读到第 {rows} 行数据）：请按村（社区）拆成几个文件，每个不超过 {limit} 行，分批导入"
            ),
            SheetError::UnpackedTooLarge {
                megabytes,
                limit_megabytes,
            } => write!(
                f,
                "文件解压后有 {megabytes} MB，超过上限 {limit_megabytes} MB：请只保留台账所在的工作表，删除图片和其他工作表后另存为 .xlsx 再导入"
            ),
        }
    }
}

impl std::error::Error for SheetError {}

/// How many rows from the top of a sheet the header may be in.
const HEADER_SEARCH_ROWS: u32 = 20;

/// Unpacked bytes allowed whatever the row limit (styles, themes, a few pictures), and
/// per allowed row (a wide ledger row with its shared strings is well under this).
const UNPACKED_BASE_BYTES: u64 = 64 << 20;
const UNPACKED_BYTES_PER_ROW: u64 = 4 << 10;

/// Cells by absolute 0-based row, then column. Sparse, so a stray cell at XFD1048576
/// costs nothing.
type Grid = BTreeMap<u32, BTreeMap<u32, Cell>>;

type Book<'a> = Xlsx<Cursor<&'a [u8]>>;

/// What the bytes are, when calamine cannot open them, in words a clerk can act on.
fn not_xlsx(bytes: &[u8], e: &XlsxError) -> SheetError {
    let head = &bytes[..bytes.len().min(512)];
    let reason = if matches!(e, XlsxError::Password) {
        "文件设置了打开密码，请先在 Excel 或 WPS 中取消密码".to_string()
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "这是旧版 Excel 97-2003（.xls）格式".to_string()
    } else if bytes.starts_with(b"PK") {
        format!("文件已损坏，或是 Word 等其他文件（{e}）")
    } else if bytes.trim_ascii_start().starts_with(b"<") {
        "这是网页或 XML 格式（有些系统导出的“Excel”其实是网页）".to_string()
    } else if bytes.is_empty() {
        "文件是空的".to_string()
    } else if !head.contains(&0) {
        "这是 CSV 或文本文件".to_string()
    } else {
        format!("文件已损坏或格式不对（{e}）")
    };
    SheetError::NotXlsx(reason)
}

fn unreadable(sheet: &str, e: &XlsxError) -> SheetError {
    SheetError::NotXlsx(format!("工作表“{sheet}”无法读取，文件可能已损坏（{e}）"))
}

/// Refuses a workbook whose parts would unpack past `limit` bytes, before anything is
/// unpacked. calamine holds the shared strings in memory, so row counting alone would
/// not stop a bomb there; zip stops reading an entry at its declared size, so the
/// declared sizes can be trusted.
fn check_unpacked_size(bytes: &[u8], limit: u64) -> Result<(), SheetError> {
    // Not a zip at all: let calamine say what is wrong.
    let Ok(archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    let total = (0..archive.len())
        .filter_map(|i| archive.by_index_data(i).ok())
        .fold(0u64, |sum, entry| sum.saturating_add(entry.size()));
    if total > limit {
        return Err(SheetError::UnpackedTooLarge {
            megabytes: total.div_ceil(1 << 20),
            limit_megabytes: limit >> 20,
        });
    }
    Ok(())
}

/// The first rows of a sheet, from its first non-empty row: the header search window and
/// one more row for a two-row header.
fn read_top(book: &mut Book<'_>, sheet: &str) -> Result<Grid, XlsxError> {
    let mut reader = book.worksheet_cells_reader(sheet)?;
    let mut grid = Grid::new();
    let mut first_row = None;
    while let Some(cell) = reader.next_cell()? {
        let (r, c) = cell.get_position();
        let value = Cell::from_data(cell.get_value());
        if value.is_empty() {
            continue;
        }
        let first = *first_row.get_or_insert(r);
        if r > first + HEADER_SEARCH_ROWS {
            break;
        }
        grid.entry(r).or_default().insert(c, value);
    }
    Ok(grid)
}

/// Distinct fields a row's text cells name.
fn header_hits(row: &BTreeMap<u32, Cell>, matcher: &HeaderMatcher) -> usize {
    row.values()
        .filter_map(|cell| match cell {
            Cell::Text(t) => matcher.field_of(t),
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .len()
}

/// The first row in the search window where at least two cells name known fields.
fn find_header(top: &Grid, matcher: &HeaderMatcher) -> Option<(u32, usize)> {
    let first = *top.keys().next()?;
    top.range(first..first + HEADER_SEARCH_ROWS)
        .map(|(r, row)| (*r, header_hits(row, matcher)))
        .find(|(_, hits)| *hits >= 2)
}

/// The merged region covering (row, col).
fn region_at(merges: &[Dimensions], row: u32, col: u32) -> Option<&Dimensions> {
    merges
        .iter()
        .find(|m| (m.start.0..=m.end.0).contains(&row) && (m.start.1..=m.end.1).contains(&col))
}

/// The merged region covering (row, col), when that cell is not its top-left.
fn merged_into(merges: &[Dimensions], row: u32, col: u32) -> Option<&Dimensions> {
    region_at(merges, row, col).filter(|m| m.start != (row, col))
}

/// Copies each merged value into the other cells of its region within the top rows, so a
/// group header ("父亲情况" over two columns) stands above each of its sub-headers.
fn fill_top(top: &mut Grid, merges: &[Dimensions]) {
    let Some(last_row) = top.keys().next_back().copied() else {
        return;
    };
    // A title merged across A:Z while the ledger ends at H needs no cells past H.
    let last_col = top
        .values()
        .filter_map(|row| row.keys().next_back())
        .max()
        .copied()
        .unwrap_or(0);
    for m in merges.iter().filter(|m| m.start.0 <= last_row) {
        let Some(value) = top
            .get(&m.start.0)
            .and_then(|row| row.get(&m.start.1))
            .cloned()
        else {
            continue;
        };
        for r in m.start.0..=m.end.0.min(last_row) {
            let row = top.entry(r).or_default();
            for c in m.start.1..=m.end.1.min(last_col) {
                row.entry(c).or_insert_with(|| value.clone());
            }
        }
    }
}

/// Group headers name what their sub-headers belong to: "父亲情况" over "状况" means
/// "父亲状况".
fn group_stem(group: &str) -> &str {
    ["基本情况", "基本信息", "情况", "信息"]
        .iter()
        .find_map(|suffix| group.strip_suffix(suffix))
        .filter(|stem| !stem.is_empty())
        .unwrap_or(group)
}

/// A sub-header read alone counts a little more than the group and sub-header joined,
/// so that "家庭住址" over "乡镇" is the township, while "监护人" over "电话" (the
/// guardian's phone rather than any phone) still goes by the joined words.
const SUB_HEADER_BONUS: u32 = 50;

/// The fields a two-row header could mean, best first: the group and sub-header joined
/// ("父亲情况" over "状况": 父亲情况状况, 父亲状况) or the sub-header alone ("基本信息" over
/// "姓名": the group adds nothing).
fn two_row_scores(group: &str, sub: &str, matcher: &HeaderMatcher) -> Vec<(String, u32)> {
    let mut best: BTreeMap<String, u32> = BTreeMap::new();
    let joined = matcher
        .scores(&format!("{group}{sub}"))
        .into_iter()
        .chain(matcher.scores(&format!("{}{sub}", group_stem(group))));
    let alone = matcher
        .scores(sub)
        .into_iter()
        .map(|(f, s)| (f, s + SUB_HEADER_BONUS));
    for (f, s) in joined.chain(alone) {
        let slot = best.entry(f).or_insert(0);
        *slot = (*slot).max(s);
    }
    let mut out: Vec<(String, u32)> = best.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// One column under the header: what it is headed, what it could mean, what it was taken
/// for, and whether anything is written in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// 0-based.
    pub index: u32,
    /// As Excel shows it: A, B, …, AA.
    pub letter: String,
    /// The header as written (a two-row header's group and sub-header joined).
    pub header: String,
    /// The field the column is read as; None: not imported.
    pub field: Option<String>,
    /// Every field the header could mean, best first.
    pub candidates: Vec<String>,
    /// The caller chose this column's field (or chose to leave it out).
    pub chosen: bool,
    /// A running-number column (序号): never a field.
    pub row_number: bool,
    /// Some data row has a value in this column.
    pub has_data: bool,
    /// The first value written in the column.
    pub sample: Option<String>,
}

/// Where the data columns are and what they mean.
struct Layout {
    columns: Vec<Column>,
    unknown_headers: Vec<String>,
    /// First data row, 0-based.
    data_start: u32,
}

/// A running-number column is no field, and nothing to warn the clerk about.
fn is_row_number_header(h: &str) -> bool {
    matches!(
        normalise_header(h).as_str(),
        "序号" | "序" | "编号" | "no" | "no."
    )
}

/// Which field each column is read as, given the caller's choices (`mapping`: column
/// index → field, or None for "do not import"): chosen columns first, then every other
/// column by score, best first, each field to one column only.
fn assign(
    columns: &mut [Column],
    scores: &[Vec<(String, u32)>],
    mapping: &BTreeMap<u32, Option<String>>,
) {
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for col in columns.iter_mut() {
        if let Some(choice) = mapping.get(&col.index) {
            col.chosen = true;
            col.field = choice.clone().filter(|f| !taken.contains(f));
            if let Some(f) = &col.field {
                taken.insert(f.clone());
            }
        }
    }
    let mut bids: Vec<(u32, usize, &str)> = Vec::new();
    for (i, col) in columns.iter().enumerate() {
        if col.chosen || col.row_number {
            continue;
        }
        for (f, s) in &scores[i] {
            bids.push((*s, i, f.as_str()));
        }
    }
    // Highest score first; between equal scores the column further left.
    bids.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut placed: BTreeSet<usize> = BTreeSet::new();
    for (_, i, f) in bids {
        if placed.contains(&i) || taken.contains(f) {
            continue;
        }
        columns[i].field = Some(f.to_string());
        taken.insert(f.to_string());
        placed.insert(i);
    }
}

fn layout(
    top: &Grid,
    merges: &[Dimensions],
    header: u32,
    matcher: &HeaderMatcher,
    mapping: &BTreeMap<u32, Option<String>>,
) -> Layout {
    let empty = BTreeMap::new();
    let head = top.get(&header).unwrap_or(&empty);
    let below = top.get(&(header + 1)).unwrap_or(&empty);
    let text_at =
        |row: &BTreeMap<u32, Cell>, c: &u32| row.get(c).map(Cell::text).unwrap_or_default();
    // The row below is a sub-header row when header cells are merged down into it, or
    // when its cells, read under a group header merged across them, name fields. Only a
    // merged group counts: "父亲情况" over a first data row "外出务工" must stay data.
    let two_rows = below.iter().any(|(c, cell)| {
        let sub = cell.text();
        let group = text_at(head, c);
        if sub.is_empty() {
            false
        } else if sub == group {
            merged_into(merges, header + 1, *c).is_some_and(|m| m.start.0 == header)
        } else {
            region_at(merges, header, *c)
                .is_some_and(|m| m.start.0 == header && m.end.0 == header && m.end.1 > m.start.1)
                && (matcher.field_of(&format!("{group}{sub}")).is_some()
                    || matcher
                        .field_of(&format!("{}{sub}", group_stem(&group)))
                        .is_some())
        }
    });
    let mut cols: BTreeSet<u32> = head.keys().copied().collect();
    if two_rows {
        cols.extend(below.keys().copied());
    }
    let mut columns: Vec<Column> = Vec::new();
    let mut scores: Vec<Vec<(String, u32)>> = Vec::new();
    // Columns whose header is a merge's copy of its neighbour's (a header merged across
    // columns): reported once, by the first.
    let mut repeats: BTreeSet<u32> = BTreeSet::new();
    for c in cols {
        let group = text_at(head, &c);
        let sub = if two_rows {
            text_at(below, &c)
        } else {
            String::new()
        };
        let (name, candidates) = if sub.is_empty() || sub == group {
            let f = matcher.scores(&group);
            (group, f)
        } else if group.is_empty() {
            let f = matcher.scores(&sub);
            (sub, f)
        } else {
            (
                format!("{group}{sub}"),
                two_row_scores(&group, &sub, matcher),
            )
        };
        if name.is_empty() {
            continue;
        }
        if merged_into(merges, header, c).is_some() && !two_rows {
            repeats.insert(c);
        }
        columns.push(Column {
            index: c,
            letter: column_letter(c),
            row_number: is_row_number_header(&name),
            header: name,
            field: None,
            candidates: candidates.iter().map(|(f, _)| f.clone()).collect(),
            chosen: false,
            has_data: false,
            sample: None,
        });
        scores.push(candidates);
    }
    assign(&mut columns, &scores, mapping);
    let mut unknown_headers: Vec<String> = Vec::new();
    for col in &columns {
        if col.field.is_none()
            && !col.row_number
            && !repeats.contains(&col.index)
            && !unknown_headers.contains(&col.header)
        {
            unknown_headers.push(col.header.clone());
        }
    }
    Layout {
        columns,
        unknown_headers,
        data_start: header + 1 + u32::from(two_rows),
    }
}

/// Reads the data rows of the chosen sheet: every headed column is kept (so that the
/// caller sees what an unmapped column holds), rows with nothing in them but a running
/// number are skipped, and reading stops at the first row past the limit.
fn read_data(
    book: &mut Book<'_>,
    sheet: &str,
    layout: &Layout,
    merges: &[Dimensions],
    max_rows: u32,
) -> Result<Grid, SheetError> {
    let wanted: BTreeSet<u32> = layout.columns.iter().map(|c| c.index).collect();
    let counted: BTreeSet<u32> = layout
        .columns
        .iter()
        .filter(|c| !c.row_number)
        .map(|c| c.index)
        .collect();
    // A merged value whose top-left cell is outside the headed columns still belongs to
    // the headed columns its region covers.
    let anchors: BTreeSet<(u32, u32)> = merges
        .iter()
        .filter(|m| m.start.0 >= layout.data_start && !wanted.contains(&m.start.1))
        .filter(|m| wanted.range(m.start.1..=m.end.1).next().is_some())
        .map(|m| m.start)
        .collect();
    let mut grid = Grid::new();
    let mut anchor_values: BTreeMap<(u32, u32), Cell> = BTreeMap::new();
    let mut rows = 0u32;
    let mut last_counted = None;
    let mut reader = book
        .worksheet_cells_reader(sheet)
        .map_err(|e| unreadable(sheet, &e))?;
    while let Some(cell) = reader.next_cell().map_err(|e| unreadable(sheet, &e))? {
        let (r, c) = cell.get_position();
        if r < layout.data_start {
            continue;
        }
        if wanted.contains(&c) {
            let value = Cell::from_data(cell.get_value());
            if value.is_empty() {
                continue;
            }
            if last_counted != Some(r) && counted.contains(&c) {
                rows = rows.saturating_add(1);
                last_counted = Some(r);
                if rows > max_rows {
                    return Err(SheetError::TooLarge {
                        rows,
                        limit: max_rows,
                    });
                }
            }
            grid.entry(r).or_default().insert(c, value);
        } else if anchors.contains(&(r, c)) {
            anchor_values.insert((r, c), Cell::from_data(cell.get_value()));
        }
    }
    drop(reader);
    // A row with nothing but its running number is an unfilled line.
    grid.retain(|_, row| row.keys().any(|c| counted.contains(c)));
    // A village written once and merged down beside its children belongs to each child.
    // Only rows with something of their own are filled: a merge running past the last
    // child makes no rows.
    for m in merges.iter().filter(|m| m.start.0 >= layout.data_start) {
        let value = grid
            .get(&m.start.0)
            .and_then(|row| row.get(&m.start.1))
            .or_else(|| anchor_values.get(&m.start))
            .filter(|v| !v.is_empty())
            .cloned();
        let Some(value) = value else {
            continue;
        };
        let cols: Vec<u32> = wanted.range(m.start.1..=m.end.1).copied().collect();
        for row in grid.range_mut(m.start.0..=m.end.0).map(|(_, row)| row) {
            for c in &cols {
                row.entry(*c).or_insert_with(|| value.clone());
            }
        }
    }
    Ok(grid)
}

/// The sheet whose header names the most fields.
struct Candidate {
    sheet: String,
    top: Grid,
    header: u32,
    hits: usize,
    visible: bool,
}

/// How to read a workbook.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Fields the ledger cannot do without: listed in [`Table::missing_fields`] when no
    /// column holds them.
    pub required: Vec<String>,
    /// The most data rows read; more is refused.
    pub max_rows: u32,
    /// The caller's choices: column (0-based) → field, or None for "do not import".
    /// Other columns are matched by their headers.
    pub mapping: BTreeMap<u32, Option<String>>,
}

/// Reads a ledger from .xlsx bytes: the worksheet whose header names the most fields, the
/// header found among the first 20 rows, merged values filled in, fully blank rows
/// skipped. More than `max_rows` data rows is refused.
pub fn read_table(
    bytes: &[u8],
    matcher: &HeaderMatcher,
    required: &[&str],
    max_rows: u32,
) -> Result<Table, SheetError> {
    read_table_with(
        bytes,
        matcher,
        &ReadOptions {
            required: required.iter().map(|s| s.to_string()).collect(),
            max_rows,
            mapping: BTreeMap::new(),
        },
    )
}

/// [`read_table`] with the caller's column choices.
pub fn read_table_with(
    bytes: &[u8],
    matcher: &HeaderMatcher,
    options: &ReadOptions,
) -> Result<Table, SheetError> {
    let max_rows = options.max_rows;
    check_unpacked_size(
        bytes,
        UNPACKED_BASE_BYTES + u64::from(max_rows) * UNPACKED_BYTES_PER_ROW,
    )?;
    let mut book: Book<'_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| not_xlsx(bytes, &e))?;
    let sheets: Vec<(String, bool)> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| (s.name.clone(), s.visible == SheetVisible::Visible))
        .collect();
    let mut best: Option<Candidate> = None;
    let mut any_content = false;
    let mut first_error = None;
    for (sheet, visible) in sheets {
        let top = match read_top(&mut book, &sheet) {
            Ok(top) => top,
            Err(e) => {
                first_error.get_or_insert_with(|| unreadable(&sheet, &e));
                continue;
            }
        };
        any_content |= !top.is_empty();
        let Some((header, hits)) = find_header(&top, matcher) else {
            continue;
        };
        // A hidden sheet of drop-down lists loses a tie to the visible ledger.
        let better = best
            .as_ref()
            .is_none_or(|b| hits > b.hits || (hits == b.hits && visible && !b.visible));
        if better {
            best = Some(Candidate {
                sheet,
                top,
                header,
                hits,
                visible,
            });
        }
    }
    let Some(Candidate {
        sheet,
        mut top,
        header,
        ..
    }) = best
    else {
        return Err(match first_error {
            Some(e) => e,
            None if !any_content => SheetError::Empty,
            None => SheetError::NoHeader {
                searched_rows: HEADER_SEARCH_ROWS,
            },
        });
    };
    let merges = book
        .merge_cells_by_sheet_name(&sheet)
        .map_err(|e| unreadable(&sheet, &e))?;
    fill_top(&mut top, &merges);
    let mut layout = layout(&top, &merges, header, matcher, &options.mapping);
    let grid = read_data(&mut book, &sheet, &layout, &merges, max_rows)?;
    let position: BTreeMap<u32, usize> = layout
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.index, i))
        .collect();
    let mut rows = Vec::with_capacity(grid.len());
    for (r, cells) in grid {
        let mut by_field = BTreeMap::new();
        for (c, value) in cells {
            let Some(col) = position.get(&c).map(|i| &mut layout.columns[*i]) else {
                continue;
            };
            if !col.has_data {
                col.has_data = true;
                col.sample = Some(value.text());
            }
            if let Some(f) = &col.field {
                by_field.insert(f.clone(), value);
            }
        }
        rows.push(SheetRow {
            row_number: r + 1,
            cells: by_field,
        });
    }
    let missing_fields = options
        .required
        .iter()
        .filter(|f| !layout.columns.iter().any(|c| c.field.as_ref() == Some(*f)))
        .cloned()
        .collect();
    Ok(Table {
        sheet_name: sheet,
        header_row: header + 1,
        rows,
        columns: layout.columns,
        unknown_headers: layout.unknown_headers,
        missing_fields,
    })
}

/// Parses the dates people type: 2015-3-7, 2015-03-07, 2015.3.7, 2015/3/7, 2015年3月7日,
/// 2015年03月07日, 20150307; full-width digits allowed; a time after the date
/// ("2015-03-07 00:00:00", as some systems export) is ignored. None when not a real date.
pub fn parse_date_text(s: &str) -> Option<NaiveDate> {
    let t: String = s
        .chars()
        .map(half_width)
        .filter(|c| !is_invisible(*c))
        .collect();
    let mut date = t.trim();
    if let Some(colon) = date.find(':') {
        let cut = date[..colon].rfind(|c: char| c.is_whitespace() || c == 'T')?;
        let time = &date[cut + 1..];
        if !time
            .chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '.' || c.is_whitespace())
        {
            return None;
        }
        date = date[..cut].trim_end();
    }
    let mut parts: Vec<&str> = Vec::new();
    let mut start = None;
    for (i, c) in date.char_indices() {
        if c.is_ascii_digit() {
            start.get_or_insert(i);
        } else if matches!(c, '-' | '.' | '/' | '年' | '月' | '日' | '号') || c.is_whitespace()
        {
            if let Some(st) = start.take() {
                parts.push(&date[st..i]);
            }
        } else {
            return None;
        }
    }
    if let Some(st) = start {
        parts.push(&date[st..]);
    }
    let (y, m, d) = match parts.as_slice() {
        [compact] if compact.len() == 8 => (&compact[..4], &compact[4..6], &compact[6..]),
        [y, m, d] if y.len() == 4 && (1..=2).contains(&m.len()) && (1..=2).contains(&d.len()) => {
            (*y, *m, *d)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};

    fn aliases() -> HeaderMatcher {
        HeaderMatcher::new(vec![
            ("name".into(), vec!["姓名".into(), "儿童姓名".into()]),
            (
                "id_number".into(),
                vec![
                    "身份证号".into(),
                    "身份证号码".into(),
                    "公民身份号码".into(),
                ],
            ),
            ("birth_date".into(), vec!["出生日期".into()]),
            ("village".into(), vec!["村（居）".into(), "所在村".into()]),
            ("father_status".into(), vec!["父亲状况".into()]),
            ("father_since".into(), vec!["父亲起始日期".into()]),
        ])
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn write_row(ws: &mut Worksheet, row: u32, cells: &[&str]) {
        for (c, text) in cells.iter().enumerate() {
            if !text.is_empty() {
                ws.write_string(row, c as u16, *text).unwrap();
            }
        }
    }

    fn book(fill: impl FnOnce(&mut Worksheet)) -> Vec<u8> {
        let mut wb = Workbook::new();
        fill(wb.add_worksheet());
        wb.save_to_buffer().unwrap()
    }

    fn cell<'a>(t: &'a Table, row_number: u32, field: &str) -> &'a Cell {
        let row = t
            .rows
            .iter()
            .find(|r| r.row_number == row_number)
            .unwrap_or_else(|| panic!("no row {row_number}"));
        row.cells.get(field).unwrap_or(&Cell::Empty)
    }

    /// A title merged across the columns, a blank row, a note, headers out of order under
    /// aliases, a village merged down over three children, blank rows among the data.
    fn township_ledger() -> Vec<u8> {
        book(|ws| {
            ws.merge_range(0, 0, 0, 5, "朝天镇困境儿童台账（2024年）", &Format::new())
                .unwrap();
            ws.write_string(2, 0, "说明：本表每季度更新，带*为必填")
                .unwrap();
            write_row(
                ws,
                3,
                &[
                    "序号",
                    "所在村",
                    "公民身份号码",
                    " 儿童姓名* ",
                    "出生日期",
                    "备注栏",
                ],
            );
            ws.merge_range(4, 1, 6, 1, "朝天村", &Format::new())
                .unwrap();
            write_row(ws, 4, &["1", "", "51081220150307123x", "张　小花", ""]);
            let day = Format::new().set_num_format("yyyy-mm-dd");
            let born = ExcelDateTime::from_ymd(2015, 3, 7).unwrap();
            ws.write_datetime_with_format(4, 4, &born, &day).unwrap();
            ws.write_number(5, 2, 510812201503071234.0).unwrap();
            write_row(ws, 5, &["2", "", "", "ＬＩ  Ming", "2015.3.7"]);
            ws.write_number(6, 2, 510812150307123.0).unwrap();
            write_row(ws, 6, &["3", "", "", "王五", "2015年3月7日"]);
            // Row 8 blank; row 9 has only a number in the 序号 column (a pre-numbered,
            // unfilled line); row 10 holds one more child.
            ws.write_number(8, 0, 4.0).unwrap();
            write_row(ws, 9, &["5", "青云村", "", "赵六"]);
        })
    }

    #[test]
    fn the_header_is_found_below_a_merged_title_a_blank_row_and_a_note() {
        let t = read_table(&township_ledger(), &aliases(), &["name", "id_number"], 100).unwrap();
        assert_eq!(t.sheet_name, "Sheet1");
        assert_eq!(t.header_row, 4);
        assert_eq!(
            t.rows.iter().map(|r| r.row_number).collect::<Vec<_>>(),
            [5, 6, 7, 10],
            "blank rows, and a row with only its 序号, are skipped"
        );
        assert_eq!(cell(&t, 10, "name").text(), "赵六");
        assert_eq!(cell(&t, 5, "id_number").text(), "51081220150307123x");
    }

    #[test]
    fn a_village_merged_down_over_three_children_reaches_each_of_them() {
        let t = read_table(&township_ledger(), &aliases(), &[], 100).unwrap();
        let villages: Vec<String> = t.rows.iter().map(|r| r.cells["village"].text()).collect();
        assert_eq!(villages, ["朝天村", "朝天村", "朝天村", "青云村"]);
    }

    #[test]
    fn unknown_headers_are_listed_and_the_row_number_column_is_not() {
        let t = read_table(&township_ledger(), &aliases(), &[], 100).unwrap();
        assert_eq!(t.unknown_headers, ["备注栏"]);
        assert!(t.missing_fields.is_empty());
    }

    #[test]
    fn an_id_typed_as_a_number_stays_a_number_and_shows_its_lost_digits() {
        let t = read_table(&township_ledger(), &aliases(), &[], 100).unwrap();
        let eighteen = cell(&t, 6, "id_number");
        assert!(matches!(eighteen, Cell::Number(_)), "{eighteen:?}");
        assert_eq!(eighteen.text(), "510812201503071000");
        let fifteen = cell(&t, 7, "id_number");
        assert!(matches!(fifteen, Cell::Number(_)));
        assert_eq!(fifteen.text(), "510812150307123");
    }

    #[test]
    fn excel_date_cells_are_dates_and_text_dates_stay_text() {
        let t = read_table(&township_ledger(), &aliases(), &[], 100).unwrap();
        assert_eq!(cell(&t, 5, "birth_date"), &Cell::Date(date(2015, 3, 7)));
        assert_eq!(cell(&t, 5, "birth_date").text(), "2015-03-07");
        for row in [6, 7] {
            let typed = cell(&t, row, "birth_date");
            assert!(matches!(typed, Cell::Text(_)), "{typed:?}");
            assert_eq!(parse_date_text(&typed.text()), Some(date(2015, 3, 7)));
        }
    }

    #[test]
    fn text_is_normalised_for_the_importer() {
        let t = read_table(&township_ledger(), &aliases(), &[], 100).unwrap();
        assert_eq!(cell(&t, 5, "name").text(), "张 小花");
        assert_eq!(cell(&t, 6, "name").text(), "LI Ming");
        let messy =
            Cell::Text("\u{00A0}５１０８１２\u{200B}２０１５０３０７１２３ｘ\u{3000}".into());
        assert_eq!(messy.text(), "51081220150307123x", "lower-case x is kept");
        assert_eq!(
            Cell::Text(" 朝天镇 \n  朝天村 ".into()).text(),
            "朝天镇 朝天村"
        );
        assert!(Cell::Text("\u{3000} \u{00A0}".into()).is_empty());
        assert!(!Cell::Number(0.0).is_empty());
    }

    #[test]
    fn numbers_print_as_excel_shows_them_without_point_or_exponent() {
        assert_eq!(Cell::Number(13812345678.0).text(), "13812345678");
        assert_eq!(Cell::Number(1e20).text(), "100000000000000000000");
        assert_eq!(Cell::Number(3.5).text(), "3.5");
        assert_eq!(Cell::Number(0.1 + 0.2).text(), "0.3");
        assert_eq!(Cell::Number(0.00025).text(), "0.00025");
        assert_eq!(Cell::Number(-12.0).text(), "-12");
        assert_eq!(Cell::Number(-0.0).text(), "0");
        assert_eq!(Cell::Bool(true).text(), "是");
    }

    #[test]
    fn required_fields_without_a_column_are_listed() {
        let bytes = book(|ws| {
            write_row(ws, 0, &["姓名", "所在村", "联系电话"]);
            write_row(ws, 1, &["张三", "朝天村", "13800000000"]);
        });
        let t = read_table(&bytes, &aliases(), &["name", "id_number", "birth_date"], 10).unwrap();
        assert_eq!(t.missing_fields, ["id_number", "birth_date"]);
        assert_eq!(t.unknown_headers, ["联系电话"]);
        assert_eq!(t.rows.len(), 1);
    }

    #[test]
    fn a_second_column_for_the_same_field_is_reported_not_used() {
        let bytes = book(|ws| {
            write_row(ws, 0, &["姓名", "身份证号", "身份证号码"]);
            write_row(ws, 1, &["张三", "first", "second"]);
        });
        let t = read_table(&bytes, &aliases(), &[], 10).unwrap();
        assert_eq!(t.rows[0].cells["id_number"].text(), "first");
        assert_eq!(t.unknown_headers, ["身份证号码"]);
    }

    #[test]
    fn a_two_row_header_joins_group_and_sub_headers() {
        let bytes = book(|ws| {
            let plain = Format::new();
            ws.merge_range(0, 0, 1, 0, "姓名", &plain).unwrap();
            ws.merge_range(0, 1, 1, 1, "身份证号", &plain).unwrap();
            ws.merge_range(0, 2, 0, 3, "父亲情况", &plain).unwrap();
            write_row(ws, 1, &["", "", "状况", "起始日期"]);
            write_row(ws, 2, &["张三", "510812201503071234", "服刑", "2020-1-1"]);
        });
        let t = read_table(&bytes, &aliases(), &[], 10).unwrap();
        assert_eq!(t.header_row, 1);
        assert_eq!(t.rows.len(), 1, "the sub-header row is not data");
        let row = &t.rows[0];
        assert_eq!(row.row_number, 3);
        assert_eq!(row.cells["name"].text(), "张三");
        assert_eq!(row.cells["father_status"].text(), "服刑");
        assert_eq!(row.cells["father_since"].text(), "2020-1-1");
        assert!(t.unknown_headers.is_empty(), "{:?}", t.unknown_headers);
    }

    #[test]
    fn a_first_data_row_under_an_unmerged_header_is_never_taken_for_a_sub_header() {
        let bytes = book(|ws| {
            write_row(ws, 0, &["姓名", "身份证号", "父亲情况"]);
            // "父亲" + "状况" is an alias, but "父亲情况" is no merged group.
            write_row(ws, 1, &["张三", "51081220150307123X", "状况"]);
        });
        let t = read_table(&bytes, &aliases(), &[], 10).unwrap();
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].row_number, 2);
        assert_eq!(t.rows[0].cells["name"].text(), "张三");
    }

    #[test]
    fn the_sheet_whose_header_names_most_fields_is_read() {
        let mut wb = Workbook::new();
        write_row(wb.add_worksheet(), 0, &["填表说明：姓名、身份证号必填"]);
        let small = wb.add_worksheet().set_name("汇总").unwrap();
        write_row(small, 0, &["姓名", "所在村"]);
        write_row(small, 1, &["合计", "3"]);
        let ledger = wb.add_worksheet().set_name("台账").unwrap();
        write_row(ledger, 0, &["姓名", "身份证号", "所在村"]);
        write_row(ledger, 1, &["张三", "51081220150307123X", "朝天村"]);
        let t = read_table(&wb.save_to_buffer().unwrap(), &aliases(), &[], 10).unwrap();
        assert_eq!(t.sheet_name, "台账");
        assert_eq!(t.rows[0].cells["name"].text(), "张三");
    }

    #[test]
    fn headers_match_through_aliases_whatever_the_spacing_and_marks() {
        let a = aliases();
        assert_eq!(a.field_of("身份证\n号码").as_deref(), Some("id_number"));
        assert_eq!(a.field_of("*姓名（必填）").as_deref(), Some("name"));
        assert_eq!(a.field_of("＊姓名(必填)").as_deref(), Some("name"));
        assert_eq!(a.field_of("村(居)").as_deref(), Some("village"));
        assert_eq!(a.field_of("　所 在 村　").as_deref(), Some("village"));
        assert_eq!(a.field_of("爱好"), None);
        assert_eq!(a.field_of(""), None);
        let latin = HeaderMatcher::new(vec![("id".into(), vec!["ID".into()])]);
        assert_eq!(latin.field_of("ｉｄ").as_deref(), Some("id"));
    }

    #[test]
    fn bytes_that_are_not_xlsx_are_refused_with_what_they_are() {
        let e = read_table(b"name,id\n", &aliases(), &[], 10).unwrap_err();
        assert!(matches!(e, SheetError::NotXlsx(_)), "{e:?}");
        assert!(e.to_string().contains("CSV"), "{e}");
        assert!(e.to_string().contains("另存为 .xlsx"), "{e}");
        let mut xls = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        xls.resize(1024, 0);
        let e = read_table(&xls, &aliases(), &[], 10).unwrap_err();
        assert!(e.to_string().contains(".xls）"), "{e}");
        let e = read_table(b"<html><table>", &aliases(), &[], 10).unwrap_err();
        assert!(e.to_string().contains("网页"), "{e}");
        let mut broken = book(|ws| write_row(ws, 0, &["姓名", "身份证号"]));
        broken.truncate(broken.len() / 2);
        let e = read_table(&broken, &aliases(), &[], 10).unwrap_err();
        assert!(matches!(e, SheetError::NotXlsx(_)), "{e:?}");
    }

    #[test]
    fn a_sheet_without_a_header_in_its_first_twenty_rows_is_refused() {
        let bytes = book(|ws| {
            for r in 0..25 {
                write_row(ws, r, &["随便写的"]);
            }
            write_row(ws, 25, &["姓名", "身份证号"]);
        });
        let e = read_table(&bytes, &aliases(), &[], 10).unwrap_err();
        assert_eq!(e, SheetError::NoHeader { searched_rows: 20 });
        assert!(e.to_string().contains("前 20 行"), "{e}");
        let e = read_table(&book(|_| {}), &aliases(), &[], 10).unwrap_err();
        assert_eq!(e, SheetError::Empty);
    }

    #[test]
    fn more_data_rows_than_the_limit_are_refused_and_blank_rows_do_not_count() {
        let ledger = |children: u32| {
            book(move |ws| {
                write_row(ws, 0, &["姓名", "身份证号"]);
                for i in 0..children {
                    // Every other line blank: only filled lines count.
                    ws.write_string(1 + 2 * i, 0, format!("儿童{i}")).unwrap();
                }
            })
        };
        // Reading stops at the first row past the limit.
        let e = read_table(&ledger(45), &aliases(), &[], 30).unwrap_err();
        assert_eq!(
            e,
            SheetError::TooLarge {
                rows: 31,
                limit: 30
            }
        );
        assert!(e.to_string().contains("30 行"), "{e}");
        let t = read_table(&ledger(30), &aliases(), &[], 30).unwrap();
        assert_eq!(t.rows.len(), 30);
        assert_eq!(t.rows[29].row_number, 60);
    }

    #[test]
    fn a_workbook_unpacking_past_the_limit_is_refused_before_parsing() {
        let bytes = township_ledger();
        assert_eq!(check_unpacked_size(&bytes, 64 << 20), Ok(()));
        let e = check_unpacked_size(&bytes, 1 << 10).unwrap_err();
        assert!(matches!(e, SheetError::UnpackedTooLarge { .. }), "{e:?}");
        assert!(e.to_string().contains("解压后"), "{e}");
    }

    #[test]
    fn text_dates_parse_in_every_common_form() {
        for s in [
            "2015-3-7",
            "2015-03-07",
            "2015.3.7",
            "2015/3/7",
            "2015年3月7日",
            "2015年03月07日",
            "20150307",
            "２０１５．３．７",
            "２０１５年３月７日",
            " 2015-03-07 00:00:00 ",
            "2015/3/7 0:00",
        ] {
            assert_eq!(parse_date_text(s), Some(date(2015, 3, 7)), "{s}");
        }
    }

    #[test]
    fn impossible_or_ambiguous_dates_do_not_parse() {
        for s in [
            "2015-02-30",
            "20150230",
            "2015-13-01",
            "7/3/2015",
            "15.3.7",
            "2015-3",
            "明年",
            "",
            "2015-03-07 下午",
        ] {
            assert_eq!(parse_date_text(s), None, "{s}");
        }
        assert_eq!(parse_date_text("2016-02-29"), Some(date(2016, 2, 29)));
    }
}
