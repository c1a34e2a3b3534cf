//! Excel in and out: reading the messy ledgers townships keep (title rows, merged cells, headers in any order and wording) and writing clean exports that Excel and WPS open.

pub mod read;
pub mod write;

pub use read::{
    normalise_text, parse_date_text, read_table, Cell, HeaderAliases, SheetError, SheetRow, Table,
};
pub use write::{write_table, OutCell};
