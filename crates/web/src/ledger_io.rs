//! The ledger in and out of Excel: reading the sheets townships keep (any header order,
//! aliases, title rows, dates and IDs in any form) into records, and exporting lists.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;
use weibao_domain::access::Scope;
use weibao_domain::record::{
    short_village_name, ChildPatch, ChildRecord, GuardianInput, ParentInput,
};
use weibao_domain::{DivisionCode, IdNumber};
use weibao_sheets::{normalise_text, read_table, Cell, HeaderAliases, OutCell, SheetError};
use weibao_store::{ChildFilter, Store, StoreError};

/// The most rows one import may hold (a county's ledger fits many times over).
pub const MAX_IMPORT_ROWS: u32 = 200_000;

/// The headers people write for each field. (Configurable per region later through the
/// settings table; these are the defaults.)
pub fn default_aliases() -> Vec<(String, Vec<String>)> {
    let list: &[(&str, &[&str])] = &[
        ("name", &["姓名", "儿童姓名", "儿童名字", "名字"]),
        (
            "id_number",
            &[
                "身份证号",
                "身份证号码",
                "公民身份号码",
                "儿童身份证号",
                "身份证",
                "身份证件号码",
                "证件号码",
            ],
        ),
        (
            "village",
            &[
                "村（居）",
                "村(居)",
                "所在村",
                "村居",
                "村（社区）",
                "村(社区)",
                "村名",
                "所属村",
                "村委会",
                "现住村",
                "村（居）委会",
                "所在村（居）",
                "村",
            ],
        ),
        (
            "village_code",
            &["村代码", "区划代码", "村级代码", "村居代码"],
        ),
        (
            "township",
            &[
                "乡镇（街道）",
                "乡镇(街道)",
                "所在乡镇",
                "所在乡镇（街道）",
                "所属乡镇",
                "乡镇",
                "乡镇街道",
                "乡（镇）",
                "乡(镇)",
                "镇（乡）",
            ],
        ),
        (
            "address",
            &["现住址", "家庭住址", "住址", "详细地址", "居住地址"],
        ),
        ("hukou", &["户籍类型", "户口性质", "户籍性质", "户口类型"]),
        ("hukou_address", &["户籍地", "户籍地址", "户口所在地"]),
        (
            "school_status",
            &["就学状况", "就读情况", "学段", "就学情况"],
        ),
        ("school_name", &["就读学校", "学校", "学校名称"]),
        ("grade", &["年级", "班级"]),
        (
            "not_in_school_reason",
            &["未在校原因", "失学辍学原因", "辍学原因"],
        ),
        ("health", &["健康状况", "身体状况"]),
        ("illness", &["疾病情况", "患病情况", "疾病名称"]),
        ("disability_kind", &["残疾类别", "残疾类型"]),
        ("disability_grade", &["残疾等级"]),
        ("guardian_name", &["监护人姓名", "监护人", "实际监护人"]),
        (
            "guardian_relationship",
            &["与儿童关系", "监护人关系", "与监护人关系", "关系"],
        ),
        (
            "guardian_phone",
            &[
                "监护人电话",
                "联系电话",
                "监护人联系方式",
                "联系方式",
                "电话",
            ],
        ),
        (
            "guardian_id_number",
            &["监护人身份证号", "监护人身份证号码"],
        ),
        ("father_status", &["父亲状况", "父亲情况"]),
        (
            "father_since",
            &["父亲状况起始日期", "父亲外出时间", "父亲状况起始时间"],
        ),
        (
            "father_place",
            &["父亲务工地", "父亲外出地点", "父亲务工地点"],
        ),
        ("mother_status", &["母亲状况", "母亲情况"]),
        (
            "mother_since",
            &["母亲状况起始日期", "母亲外出时间", "母亲状况起始时间"],
        ),
        (
            "mother_place",
            &["母亲务工地", "母亲外出地点", "母亲务工地点"],
        ),
        ("support", &["家庭保障", "低保特困", "救助情况", "保障类型"]),
        ("categories", &["儿童类别", "类别", "儿童类型", "人员类别"]),
        ("distress_subtypes", &["困境类型"]),
        ("risk", &["风险等级", "风险"]),
        ("notes", &["备注"]),
        ("sex", &["性别"]),
        ("birth_date", &["出生日期", "出生年月"]),
    ];
    list.iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

/// The default aliases plus those configured for the region (setting
/// `import_header_aliases`: `{"field": ["header", ...]}`), configured ones first.
pub async fn aliases_for(
    store: &Store,
    within: DivisionCode,
    today: chrono::NaiveDate,
) -> Result<Vec<(String, Vec<String>)>, StoreError> {
    let mut aliases = default_aliases();
    if let Some(serde_json::Value::Object(extra)) = store
        .setting_json(weibao_store::IMPORT_HEADER_ALIASES, Some(within), today)
        .await?
    {
        for (field, headers) in extra {
            let headers: Vec<String> = headers
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|h| h.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            match aliases.iter_mut().find(|(f, _)| *f == field) {
                Some((_, known)) => {
                    let mut all = headers;
                    all.append(known);
                    *known = all;
                }
                None => aliases.push((field, headers)),
            }
        }
    }
    Ok(aliases)
}

/// One refused cell or row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportProblem {
    /// The row number as Excel shows it.
    pub row: u32,
    pub field: String,
    pub message: String,
}

/// What an import found (dry run) or did (commit).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    pub sheet: String,
    pub header_row: u32,
    pub rows_read: usize,
    pub rows_good: usize,
    pub imported: usize,
    pub errors: Vec<ImportProblem>,
    /// Headers that matched no field (ignored).
    pub ignored_headers: Vec<String>,
}

/// Why an import could not even be read.
#[derive(Debug)]
pub enum ImportFailure {
    Sheet(SheetError),
    Store(StoreError),
}

impl From<StoreError> for ImportFailure {
    fn from(e: StoreError) -> Self {
        ImportFailure::Store(e)
    }
}

fn text(cell: Option<&Cell>) -> Option<String> {
    cell.map(|c| c.text()).filter(|s| !s.is_empty())
}

/// Finds the village a row names: a 12-digit code, or a name as people write it
/// (朝天村 for 朝天村村民委员会), within the import's division, narrowed by the township
/// where the row names one (a county has several 新村). Indexed by every form of the name,
/// so a province's 60,000 villages cost one lookup a row.
pub struct Villages {
    list: Vec<(DivisionCode, String, String)>,
    /// Each village's township as [`township_key`] writes it, beside `list`.
    townships: Vec<String>,
    by_code: HashMap<DivisionCode, usize>,
    by_name: HashMap<String, Vec<usize>>,
}

/// The forms a village's name is written in: full, without 村民委员会/居委会, and without a
/// trailing 村/社区 word.
fn name_keys(name: &str) -> Vec<String> {
    let short = short_village_name(name);
    let bare = short.trim_end_matches(['村', '社', '区']);
    let mut keys = vec![name.to_string(), short.to_string()];
    if !bare.is_empty() {
        keys.push(format!("~{bare}"));
    }
    keys.dedup();
    keys
}

/// A township's name as people write it: 朝天镇, 朝天, 朝天镇人民政府 and 东坝街道办事处
/// all come to the same key.
fn township_key(name: &str) -> &str {
    let name = name.trim();
    let name = ["人民政府", "办事处"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    let bare = ["街道", "镇", "乡"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    if bare.is_empty() {
        name
    } else {
        bare
    }
}

impl Villages {
    /// From (code, name, township name) rows, as [`Store::villages_within`] gives them.
    pub fn new(list: Vec<(DivisionCode, String, String)>) -> Villages {
        let mut by_code = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (code, name, _)) in list.iter().enumerate() {
            by_code.insert(*code, i);
            // As the reader gives cells: 赵庄（西） in the database is 赵庄(西) in a row.
            for key in name_keys(&normalise_text(name)) {
                let entry = by_name.entry(key).or_default();
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        let townships = list
            .iter()
            .map(|(_, _, t)| township_key(&normalise_text(t)).to_string())
            .collect();
        Villages {
            list,
            townships,
            by_code,
            by_name,
        }
    }

    /// The village a row's code, or name and township, stand for; or why none does.
    pub fn resolve(
        &self,
        code: Option<&str>,
        name: Option<&str>,
        township: Option<&str>,
    ) -> Result<DivisionCode, String> {
        if let Some(c) = code.or(name.filter(|n| n.chars().all(|c| c.is_ascii_digit()))) {
            let parsed = DivisionCode::parse(c).map_err(|e| e.message)?;
            return self
                .by_code
                .get(&parsed)
                .map(|i| self.list[*i].0)
                .ok_or_else(|| format!("村代码 {c} 不在本次导入的范围内"));
        }
        let Some(name) = name else {
            return Err("请填写儿童所在的村（居）名称或 12 位代码".into());
        };
        let wanted = &normalise_text(name);
        let bare = wanted.trim_end_matches(['村', '社', '区']);
        let found = self
            .by_name
            .get(wanted)
            .or_else(|| self.by_name.get(&format!("~{bare}")))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let in_township: Vec<usize>;
        let found = match township.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) if !found.is_empty() => {
                let t = &normalise_text(t);
                let key = township_key(t);
                in_township = found
                    .iter()
                    .copied()
                    .filter(|i| self.townships[*i] == key)
                    .collect();
                if in_township.is_empty() {
                    let (_, _, there) = &self.list[found[0]];
                    return Err(if found.len() == 1 {
                        format!(
                            "村（居）“{wanted}”属于{there}，与所填乡镇“{t}”不符：请核对乡镇或村名"
                        )
                    } else {
                        format!("乡镇“{t}”下没有村（居）“{wanted}”：请核对乡镇或村名")
                    });
                }
                in_township.as_slice()
            }
            _ => found,
        };
        match found {
            [one] => Ok(self.list[*one].0),
            [] => Err(format!(
                "找不到村（居）“{wanted}”：请核对名称，或填写 12 位村代码"
            )),
            many => Err(format!(
                "“{wanted}”有 {} 个同名村（居）：{}；请填写所在乡镇（街道）或 12 位村代码区分",
                many.len(),
                many.iter()
                    .take(5)
                    .map(|i| {
                        let (c, n, t) = &self.list[*i];
                        format!("{t}{n}（{}）", c.full())
                    })
                    .collect::<Vec<_>>()
                    .join("、")
            )),
        }
    }
}

fn id_text(cell: Option<&Cell>) -> Result<Option<String>, String> {
    match cell {
        // Excel keeps 15 significant digits: an 18-digit number typed into a number cell
        // has already lost its last digits.
        Some(Cell::Number(n)) if *n >= 1e15 => Err(
            "身份证号被 Excel 存成了数字，后几位已丢失：请把该列设为“文本”格式后重新填写".into(),
        ),
        other => Ok(text(other)),
    }
}

fn list(cell: Option<&Cell>) -> Option<Vec<String>> {
    text(cell).map(|s| vec![s])
}

/// Reads a workbook and checks every row; with `dry_run` false and no problems, imports
/// all rows in one transaction. Problems are reported by Excel row number and field.
pub async fn import_children(
    store: &Store,
    scope: &Scope,
    within: DivisionCode,
    bytes: &[u8],
    dry_run: bool,
    ip: &str,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<ImportReport, ImportFailure> {
    let today = store.clock().today();
    let aliases = HeaderAliases::new(aliases_for(store, within, today).await?);
    let table = read_table(bytes, &aliases, &["name", "id_number"], MAX_IMPORT_ROWS)
        .map_err(ImportFailure::Sheet)?;
    let villages = Villages::new(store.villages_within(scope, within).await?);
    let book = store.rule_book(Some(within)).await?;
    let params = book.on(today).clone();
    let subtypes = store.distress_subtypes(Some(within), today).await?;
    let mut errors = Vec::new();
    let mut good: Vec<(u32, ChildRecord, bool)> = Vec::new();
    let total = table.rows.len();
    for field in &table.missing_fields {
        errors.push(ImportProblem {
            row: table.header_row,
            field: field.clone(),
            message: format!("表头中没有“{}”列", aliases_label(field)),
        });
    }
    for (i, row) in table.rows.iter().enumerate() {
        if i % 2000 == 0 {
            progress("check", i, total);
        }
        let cell = |k: &str| row.cells.get(k);
        let problem = |field: &str, message: String| ImportProblem {
            row: row.row_number,
            field: field.to_string(),
            message,
        };
        let id_number = match id_text(cell("id_number")) {
            Ok(v) => v,
            Err(m) => {
                errors.push(problem("id_number", m));
                continue;
            }
        };
        let division = match villages.resolve(
            text(cell("village_code")).as_deref(),
            text(cell("village")).as_deref(),
            text(cell("township")).as_deref(),
        ) {
            Ok(d) => d,
            Err(m) => {
                errors.push(problem("village", m));
                continue;
            }
        };
        let date = |k: &str| match cell(k) {
            Some(Cell::Date(d)) => Some(d.to_string()),
            other => text(other),
        };
        let parent = |status: &str, since: &str, place: &str| {
            let (s, d, p) = (text(cell(status)), date(since), text(cell(place)));
            (s.is_some() || d.is_some() || p.is_some()).then_some(ParentInput {
                status: s,
                since: d,
                evidence: None,
                place: p,
                name: None,
            })
        };
        let guardian = text(cell("guardian_name")).map(|name| {
            vec![GuardianInput {
                name: Some(name),
                relationship: text(cell("guardian_relationship")).or(Some("监护人".into())),
                id_number: text(cell("guardian_id_number")),
                phone: text(cell("guardian_phone")),
                capacity: None,
                actual_caregiver: true,
            }]
        });
        let categories = list(cell("categories"));
        let categories_given = categories.is_some();
        let patch = ChildPatch {
            name: text(cell("name")).or(Some(String::new())),
            id_number: id_number.or(Some(String::new())),
            division: Some(division.full()),
            address: text(cell("address")),
            hukou: text(cell("hukou")),
            hukou_address: text(cell("hukou_address")),
            school_status: text(cell("school_status")),
            school_name: text(cell("school_name")),
            grade: text(cell("grade")),
            not_in_school_reason: text(cell("not_in_school_reason")),
            health: text(cell("health")),
            illness: text(cell("illness")),
            disability_kind: text(cell("disability_kind")),
            disability_grade: text(cell("disability_grade"))
                .and_then(|g| g.trim_end_matches('级').trim().parse().ok()),
            guardians: guardian,
            father: parent("father_status", "father_since", "father_place"),
            mother: parent("mother_status", "mother_since", "mother_place"),
            support: list(cell("support")),
            categories,
            orphan_care: None,
            distress_subtypes: list(cell("distress_subtypes")),
            local_flags: None,
            risk: text(cell("risk")),
            notes: text(cell("notes")),
        };
        match patch.apply(None, today, params.adult_age, &subtypes) {
            Ok(record) => good.push((row.row_number, record, categories_given)),
            Err(e) => errors.push(problem(&e.field, e.invalid.message)),
        }
    }
    // The same child twice in the file, or already in the ledger.
    let mut seen: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    good.retain(|(row, r, _)| match seen.get(r.id_number().as_str()) {
        Some(first) => {
            errors.push(ImportProblem {
                row: *row,
                field: "id_number".into(),
                message: format!("与第 {first} 行的身份证号重复"),
            });
            false
        }
        None => {
            seen.insert(r.id_number().to_string(), *row);
            true
        }
    });
    let ids: Vec<IdNumber> = good.iter().map(|(_, r, _)| r.id_number().clone()).collect();
    let registered = store.registered_ids(&ids).await?;
    if !registered.is_empty() {
        good.retain(
            |(row, r, _)| match registered.iter().find(|(id, _)| id == r.id_number()) {
                Some((_, place)) => {
                    errors.push(ImportProblem {
                        row: *row,
                        field: "id_number".into(),
                        message: format!(
                            "该身份证号已在台账中（{place}），请在系统中直接修改该记录"
                        ),
                    });
                    false
                }
                None => true,
            },
        );
    }
    errors.sort_by_key(|e| e.row);
    let mut report = ImportReport {
        dry_run,
        sheet: table.sheet_name.clone(),
        header_row: table.header_row,
        rows_read: total,
        rows_good: good.len(),
        imported: 0,
        errors,
        ignored_headers: table.unknown_headers.clone(),
    };
    if dry_run || !report.errors.is_empty() || good.is_empty() {
        return Ok(report);
    }
    let records: Vec<(ChildRecord, bool)> = good.into_iter().map(|(_, r, g)| (r, g)).collect();
    let n = records.len();
    report.imported = store
        .import_children(scope, within, records, ip, |done| {
            progress("write", done, n)
        })
        .await?;
    Ok(report)
}

fn aliases_label(field: &str) -> String {
    default_aliases()
        .into_iter()
        .find(|(k, _)| k == field)
        .and_then(|(_, v)| v.into_iter().next())
        .unwrap_or_else(|| field.to_string())
}

/// The export's columns.
const EXPORT_HEADERS: &[&str] = &[
    "姓名",
    "性别",
    "出生日期",
    "年龄",
    "身份证号（脱敏）",
    "所在村（居）",
    "村代码",
    "儿童类别",
    "风险等级",
    "就学状况",
    "家庭保障",
    "状态",
];

/// Writes a filtered list (身份证号 masked) as .xlsx.
pub async fn export_children(
    store: &Store,
    scope: &Scope,
    filter: &ChildFilter,
    ip: &str,
) -> Result<Vec<u8>, StoreError> {
    let rows = store.export_children(scope, filter, ip).await?;
    let today = store.clock().today();
    let out = rows.into_iter().map(move |r| {
        vec![
            OutCell::Text(r.name.clone()),
            OutCell::Text(r.sex.clone()),
            OutCell::Date(r.birth_date),
            OutCell::Number(weibao_domain::categories::age_on(r.birth_date, today) as f64),
            OutCell::Text(r.id_masked.clone()),
            OutCell::Text(r.division_name.clone().unwrap_or_default()),
            OutCell::Text(r.division_code.clone()),
            OutCell::Text(
                r.categories()
                    .iter()
                    .map(|c| c.label())
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            OutCell::Text(r.risk.clone()),
            OutCell::Text(r.school_status.clone()),
            OutCell::Text(
                r.support()
                    .iter()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            OutCell::Text(
                if r.status == "transferring" {
                    "迁移中"
                } else {
                    "在册"
                }
                .into(),
            ),
        ]
    });
    weibao_sheets::write_table("儿童台账", EXPORT_HEADERS, out)
        .map_err(|e| StoreError::Config(format!("导出失败：{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: &str) -> DivisionCode {
        DivisionCode::parse(c).unwrap()
    }

    /// Two 新村 in two townships of one county, and a village whose name is unique.
    fn villages() -> Villages {
        Villages::new(vec![
            (
                code("510812100201"),
                "新村村民委员会".into(),
                "朝天镇".into(),
            ),
            (code("510812200201"), "新村".into(), "麻柳乡".into()),
            (code("510812200202"), "清河村".into(), "麻柳乡".into()),
            (
                code("510811100201"),
                "丙村社区居委会".into(),
                "东坝街道".into(),
            ),
        ])
    }

    #[test]
    fn a_township_tells_apart_villages_that_share_a_name() {
        let v = villages();
        // Without a township the name is ambiguous, and the message names both places and
        // both ways out.
        let err = v.resolve(None, Some("新村"), None).unwrap_err();
        assert!(err.contains("2 个同名村"), "{err}");
        assert!(err.contains("朝天镇") && err.contains("麻柳乡"), "{err}");
        assert!(err.contains("所在乡镇"), "{err}");
        // The township as people write it: with or without 镇/乡/街道, or as its office.
        for t in ["朝天镇", "朝天", " 朝天镇人民政府 "] {
            assert_eq!(
                v.resolve(None, Some("新村"), Some(t)),
                Ok(code("510812100201")),
                "{t}"
            );
        }
        assert_eq!(
            v.resolve(None, Some("新村"), Some("麻柳乡")),
            Ok(code("510812200201"))
        );
        assert_eq!(
            v.resolve(None, Some("丙村"), Some("东坝街道办事处")),
            Ok(code("510811100201"))
        );
        // A township that does not hold the village is refused, not guessed past.
        let err = v.resolve(None, Some("清河村"), Some("朝天镇")).unwrap_err();
        assert!(
            err.contains("属于麻柳乡") && err.contains("朝天镇"),
            "{err}"
        );
        let err = v.resolve(None, Some("新村"), Some("东坝街道")).unwrap_err();
        assert!(err.contains("东坝街道") && err.contains("没有"), "{err}");
        // A code wins over names; a blank township changes nothing.
        assert_eq!(
            v.resolve(Some("510812200201"), Some("新村"), Some("朝天镇")),
            Ok(code("510812200201"))
        );
        assert_eq!(
            v.resolve(None, Some("清河村"), Some(" ")),
            Ok(code("510812200202"))
        );
    }

    #[test]
    fn names_match_as_the_reader_gives_cells() {
        // The reader makes full-width brackets half-width; the database keeps the
        // official full-width ones.
        let v = Villages::new(vec![(
            code("371426103230"),
            "红运社区（西）赵庄村民委员会".into(),
            "红运社区（西）街道".into(),
        )]);
        let cell = weibao_sheets::normalise_text("红运社区（西）赵庄村民委员会");
        assert_eq!(cell, "红运社区(西)赵庄村民委员会");
        for name in [cell.as_str(), "红运社区（西）赵庄", "红运社区(西)赵庄村"] {
            assert_eq!(
                v.resolve(None, Some(name), Some("红运社区(西)")),
                Ok(code("371426103230")),
                "{name}"
            );
        }
    }
}
