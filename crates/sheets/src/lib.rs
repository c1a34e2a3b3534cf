//! Excel in and out (and the one Word document the platform writes, docx.rs): reading the messy ledgers townships keep (title rows, merged cells, headers in any order and wording) and writing clean exports that Excel and WPS open.

pub mod docx;
pub mod headers;
pub mod read;
pub mod write;

pub use headers::{column_index, column_letter, FieldRule, HeaderMatcher};
pub use read::{
    normalise_text, parse_date_text, read_table, read_table_with, Cell, Column, ReadOptions,
    SheetError, SheetRow, Table,
};
pub use write::{write_report, write_table, OutCell};
