//! Bank files of a roll (银行代发文件): one row per payee with the month's net amount, in
//! a bank's column layout, as .xlsx or as CSV in UTF-8, GBK or GB18030.

use serde::Deserialize;
use weibao_domain::access::Scope;
use weibao_domain::Invalid;
use weibao_sheets::OutCell;
use weibao_store::{Payee, Store, StoreError};

/// The columns a layout may name.
pub const COLUMNS: &[(&str, &str)] = &[
    ("seq", "序号"),
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("account_holder", "户名"),
    ("account", "银行账号"),
    ("bank_name", "开户银行"),
    ("amount_yuan", "金额（元）"),
    ("amount_fen", "金额（分）"),
    ("type", "保障类型"),
    ("village", "村（居）"),
    ("month", "发放月份"),
    ("note", "备注"),
];

/// The layout used when none is asked for.
pub const GENERAL: &str = "通用代发格式";

/// A bank's file layout: its columns and their headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankLayout {
    pub name: String,
    pub columns: Vec<(String, String)>,
}

/// A layout as configured (setting `allowance_bank_layouts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutSetting {
    pub name: String,
    pub columns: Vec<String>,
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
}

impl LayoutSetting {
    /// Checks a configured layout: known columns, a name, at least one column.
    pub fn layout(&self) -> Result<BankLayout, Invalid> {
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(Invalid::new(
                "layout_name",
                "银行格式名称应为 1 到 100 个字",
            ));
        }
        if self.columns.is_empty() {
            return Err(Invalid::new(
                "layout_columns",
                format!("银行格式“{}”没有列", self.name),
            ));
        }
        let mut columns = Vec::new();
        for c in &self.columns {
            let Some((_, header)) = COLUMNS.iter().find(|(k, _)| k == c) else {
                return Err(Invalid::new(
                    "layout_column",
                    format!(
                        "银行格式“{}”的列“{c}”无法识别，可选：{}",
                        self.name,
                        COLUMNS
                            .iter()
                            .map(|(k, _)| *k)
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                ));
            };
            let header = self
                .headers
                .get(c)
                .cloned()
                .unwrap_or_else(|| header.to_string());
            columns.push((c.clone(), header));
        }
        Ok(BankLayout {
            name: self.name.trim().to_string(),
            columns,
        })
    }
}

/// The general layout: everything a bank and the office need.
pub fn general() -> BankLayout {
    let keys = [
        "seq",
        "name",
        "id_number",
        "account_holder",
        "account",
        "bank_name",
        "amount_yuan",
        "type",
        "village",
        "note",
    ];
    BankLayout {
        name: GENERAL.into(),
        columns: keys
            .iter()
            .map(|k| {
                let header = COLUMNS.iter().find(|(c, _)| c == k).expect("known").1;
                (k.to_string(), header.to_string())
            })
            .collect(),
    }
}

/// The layouts a county may export in: the general one and those configured for it.
pub async fn layouts(
    store: &Store,
    at: weibao_domain::DivisionCode,
) -> Result<Vec<BankLayout>, StoreError> {
    let mut out = vec![general()];
    let today = store.clock().today();
    if let Some(v) = store
        .setting_json(weibao_store::ALLOWANCE_BANK_LAYOUTS, Some(at), today)
        .await?
    {
        if let Ok(list) = serde_json::from_value::<Vec<LayoutSetting>>(v) {
            out.extend(list.iter().filter_map(|l| l.layout().ok()));
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Gbk,
    Gb18030,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Gbk => "gbk",
            Encoding::Gb18030 => "gb18030",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv(Encoding),
}

/// A file ready to send.
pub struct BankFile {
    pub bytes: Vec<u8>,
    /// "510812-2026-03-通用代发格式", without the extension.
    pub name: String,
    pub rows: usize,
    /// Payees left out because the caller may not see them (designated records).
    pub withheld: usize,
}

/// What one payee's cell holds in a column.
fn cell(key: &str, p: &Payee, month: &str, type_label: &str, village: &str) -> OutCell {
    match key {
        "seq" => OutCell::Number(p.seq as f64),
        "name" => OutCell::Text(p.child_name.clone()),
        "id_number" => OutCell::Text(p.id_number.clone()),
        "account_holder" => OutCell::Text(p.account_holder.clone()),
        "account" => OutCell::Text(p.account.clone()),
        "bank_name" => OutCell::Text(p.bank_name.clone()),
        "amount_yuan" => OutCell::Money(p.amount.0),
        "amount_fen" => OutCell::Number(p.amount.0 as f64),
        "type" => OutCell::Text(type_label.to_string()),
        "village" => OutCell::Text(village.to_string()),
        "month" => OutCell::Text(month.to_string()),
        _ => OutCell::Text(p.note.clone()),
    }
}

/// The same cell as CSV text: amounts as "1694.00", formulas neutralised.
fn csv_text(c: &OutCell) -> String {
    let s = match c {
        OutCell::Text(s) => s.clone(),
        OutCell::Number(n) => format!("{n}"),
        OutCell::Money(f) => weibao_domain::Fen(*f).yuan(),
        OutCell::Date(d) => d.to_string(),
        OutCell::Empty => String::new(),
    };
    let s = match (c, s.chars().next()) {
        (OutCell::Text(_), Some('=' | '+' | '-' | '@' | '\t' | '\r')) => format!("'{s}"),
        _ => s,
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Builds a roll's bank file (audited by the store as an export).
pub async fn bank_file(
    store: &Store,
    scope: &Scope,
    roll_id: &str,
    bank: Option<&str>,
    full_id: bool,
    format: Format,
    ip: &str,
) -> Result<BankFile, crate::error::ApiError> {
    let (roll, payees, withheld) = store.roll_payees(scope, roll_id, full_id, ip).await?;
    let layout = match bank.map(str::trim).filter(|b| !b.is_empty()) {
        None => general(),
        Some(name) => {
            let all = layouts(store, roll.division).await?;
            all.iter()
                .find(|l| l.name == name)
                .cloned()
                .ok_or_else(|| {
                    crate::error::ApiError::invalid(
                        "bank",
                        Invalid::new(
                            "bank_layout",
                            format!(
                                "没有名为“{name}”的银行格式，可选：{}",
                                all.iter()
                                    .map(|l| l.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join("、")
                            ),
                        ),
                    )
                })?
        }
    };
    let types = store.allowance_types(Some(roll.division)).await?;
    let villages = store
        .division_names_of(payees.iter().map(|p| p.division_code.clone()).collect())
        .await?;
    let month = roll.month.to_string();
    let name = format!("{}-{month}-{}", roll.division.county_code(), layout.name);
    let rows = payees.len();
    let row_cells = |p: &Payee| -> Vec<OutCell> {
        let village = villages
            .get(&p.division_code)
            .map(|v| weibao_domain::record::short_village_name(v).to_string())
            .unwrap_or_else(|| p.division_code.clone());
        layout
            .columns
            .iter()
            .map(|(k, _)| cell(k, p, &month, &types.label(&p.type_code), &village))
            .collect()
    };
    let headers: Vec<&str> = layout.columns.iter().map(|(_, h)| h.as_str()).collect();
    let bytes = match format {
        Format::Xlsx => {
            let sheet = format!("{month}发放名册");
            let cells: Vec<Vec<OutCell>> = payees.iter().map(row_cells).collect();
            let owned: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
            tokio::task::spawn_blocking(move || {
                let headers: Vec<&str> = owned.iter().map(String::as_str).collect();
                weibao_sheets::write_table(&sheet, &headers, cells)
            })
            .await
            .map_err(|e| StoreError::Config(format!("生成 Excel 失败：{e}")))?
            .map_err(|e| {
                crate::error::ApiError::invalid("bank", Invalid::new("export_failed", e))
            })?
        }
        Format::Csv(encoding) => {
            let mut text = String::with_capacity(rows * 96);
            text.push_str(
                &headers
                    .iter()
                    .map(|h| csv_text(&OutCell::Text(h.to_string())))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            text.push_str("\r\n");
            for p in &payees {
                let line: Vec<String> = row_cells(p).iter().map(csv_text).collect();
                text.push_str(&line.join(","));
                text.push_str("\r\n");
            }
            encode(&text, encoding)?
        }
    };
    Ok(BankFile {
        bytes,
        name,
        rows,
        withheld,
    })
}

/// The text in `encoding`; a character GBK cannot hold is refused (naming it), never
/// replaced: a bank would pay a different name.
fn encode(text: &str, encoding: Encoding) -> Result<Vec<u8>, crate::error::ApiError> {
    let codec = match encoding {
        Encoding::Utf8 => return Ok(text.as_bytes().to_vec()),
        Encoding::Gbk => encoding_rs::GBK,
        Encoding::Gb18030 => encoding_rs::GB18030,
    };
    let (bytes, _, lossy) = codec.encode(text);
    if lossy {
        let bad = text
            .chars()
            .find(|c| {
                let mut buf = [0u8; 4];
                codec.encode(c.encode_utf8(&mut buf)).2
            })
            .unwrap_or('?');
        let line = text
            .lines()
            .position(|l| l.contains(bad))
            .map(|n| n + 1)
            .unwrap_or(0);
        return Err(crate::error::ApiError::invalid(
            "encoding",
            Invalid::new(
                "unmappable",
                format!(
                    "第 {line} 行的“{bad}”（U+{:04X}）无法用 GBK 表示：请改用 gb18030 或 utf-8 导出",
                    bad as u32
                ),
            ),
        ));
    }
    Ok(bytes.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_neutralised_and_amounts_keep_two_decimals() {
        assert_eq!(csv_text(&OutCell::Text("张,三".into())), "\"张,三\"");
        assert_eq!(
            csv_text(&OutCell::Text("say \"hi\"".into())),
            "\"say \"\"hi\"\"\""
        );
        assert_eq!(csv_text(&OutCell::Text("=1+1".into())), "'=1+1");
        assert_eq!(csv_text(&OutCell::Money(169_400)), "1694.00");
        assert_eq!(csv_text(&OutCell::Money(5)), "0.05");
    }

    #[test]
    fn gbk_holds_common_names_and_refuses_what_it_cannot_hold() {
        let bytes = encode("姓名,金额\r\n张小花,1694.00\r\n", Encoding::Gbk).unwrap();
        let (back, _, bad) = encoding_rs::GBK.decode(&bytes);
        assert!(!bad);
        assert_eq!(back, "姓名,金额\r\n张小花,1694.00\r\n");
        assert_ne!(bytes, "张小花".as_bytes(), "not UTF-8");
        // 𠀀 (CJK Extension B) is not in GBK; GB18030 holds it.
        let e = encode("王𠀀\r\n", Encoding::Gbk).unwrap_err();
        assert_eq!(e.code, "unmappable");
        assert!(e.message.contains("U+20000"), "{}", e.message);
        assert!(encode("王𠀀\r\n", Encoding::Gb18030).is_ok());
    }

    #[test]
    fn configured_layouts_name_known_columns_only() {
        let ok = LayoutSetting {
            name: "农商银行代发".into(),
            columns: vec![
                "seq".into(),
                "name".into(),
                "account".into(),
                "amount_yuan".into(),
            ],
            headers: [("amount_yuan".to_string(), "金额".to_string())].into(),
        };
        let layout = ok.layout().unwrap();
        assert_eq!(layout.columns[3], ("amount_yuan".into(), "金额".into()));
        assert_eq!(layout.columns[1].1, "姓名");
        let bad = LayoutSetting {
            columns: vec!["salary".into()],
            ..ok
        };
        assert!(bad.layout().unwrap_err().message.contains("salary"));
    }
}
