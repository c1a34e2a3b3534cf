//! Reads the NBS division CSVs (统计用区划代码): .csv or .csv.gz, any level, any order.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use weibao_domain::DivisionCode;
use weibao_store::DivisionImportRow;

/// Reads every row of `path` (header row first: `code,name,...`). With `under`, keeps the
/// rows inside that subtree and the ancestors of `under` itself.
pub fn read_file(
    path: &Path,
    under: Option<DivisionCode>,
    rows: &mut Vec<DivisionImportRow>,
) -> Result<usize, String> {
    let file = File::open(path).map_err(|e| format!("无法打开 {}：{e}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file)))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    read(reader, &path.display().to_string(), under, rows)
}

/// Reads CSV text from any reader; `name` labels errors.
pub fn read(
    reader: impl Read,
    name: &str,
    under: Option<DivisionCode>,
    rows: &mut Vec<DivisionImportRow>,
) -> Result<usize, String> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| format!("{name}：无法读取表头：{e}"))?
        .clone();
    let col = |want: &str| {
        headers
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == want)
    };
    let (Some(code_col), Some(name_col)) = (col("code"), col("name")) else {
        return Err(format!(
            "{name}：表头应包含 code 和 name 两列（国家统计局区划代码格式），实际为 {}",
            headers.iter().collect::<Vec<_>>().join(",")
        ));
    };
    let keep_ancestors: Vec<DivisionCode> = under.map(|u| u.ancestors()).unwrap_or_default();
    let before = rows.len();
    for (i, record) in csv.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| format!("{name} 第 {line} 行：无法解析：{e}"))?;
        let code_text = record.get(code_col).unwrap_or("");
        let code = DivisionCode::parse(code_text)
            .map_err(|e| format!("{name} 第 {line} 行：{}", e.message))?;
        if let Some(u) = under {
            if !u.contains(code) && !keep_ancestors.contains(&code) {
                continue;
            }
        }
        let div_name = record.get(name_col).unwrap_or("").trim();
        if div_name.is_empty() {
            return Err(format!("{name} 第 {line} 行：区划 {code} 缺少名称"));
        }
        rows.push(DivisionImportRow {
            code,
            name: div_name.to_string(),
        });
    }
    Ok(rows.len() - before)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "code,name,areaCode\n510812100,\"朝天镇\",510812\n\
                          510812100201,\"朝天村村民委员会\",510812100\n\
                          510811001,\"别的街道\",510811\n";

    #[test]
    fn under_keeps_the_subtree_and_its_ancestors_only() {
        let mut rows = Vec::new();
        let under = DivisionCode::parse("510812").unwrap();
        let n = read(SAMPLE.as_bytes(), "t.csv", Some(under), &mut rows).unwrap();
        assert_eq!(n, 2);
        assert!(rows.iter().all(|r| under.contains(r.code)));
    }

    #[test]
    fn a_bad_code_names_the_file_and_line() {
        let mut rows = Vec::new();
        let err = read(
            "code,name\n51,\"四川省\"\n5108x,\"坏\"\n".as_bytes(),
            "t.csv",
            None,
            &mut rows,
        )
        .unwrap_err();
        assert!(err.starts_with("t.csv 第 3 行："), "{err}");
    }

    #[test]
    fn a_file_without_code_and_name_columns_is_refused() {
        let mut rows = Vec::new();
        let err = read("a,b\n1,2\n".as_bytes(), "x.csv", None, &mut rows).unwrap_err();
        assert!(err.contains("code 和 name"), "{err}");
    }
}
