//! The network in and out of Excel as counties keep it: a roster (花名册) of stations, work
//! points (儿童之家), service stations and the people who hold their posts, one row per
//! place or person or both (a village's 儿童之家 beside its 儿童主任). Headers are read by
//! meaning as in the ledger import; a village may be named or coded, a township named;
//! what is already recorded is left as it is, so the same sheet may be imported again,
//! and the export reads back in unchanged.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;
use weibao_domain::access::Scope;
use weibao_domain::network::{
    parse_date, Appointment, PersonInput, PlaceKind, Post, Qualification,
};
use weibao_domain::{DivisionCode, Level};
use weibao_sheets::{
    normalise_text, read_table_with, Cell, FieldRule, HeaderMatcher, OutCell, ReadOptions,
    SheetError,
};
use weibao_store::{NewPlace, Store, StoreError};

use crate::ledger_io::{ColumnMapping, FieldChoice, ImportProblem, Mapping, Villages};

/// The most rows one roster may hold (a county's villages and posts, with room).
pub const MAX_ROSTER_ROWS: u32 = 20_000;

/// The fields of a roster and their Chinese names, in the order the import page offers.
pub const FIELDS: &[(&str, &str)] = &[
    ("township", "乡镇（街道）"),
    ("village", "村（社区）"),
    ("division_code", "区划代码"),
    ("place_kind", "阵地类别"),
    ("place_name", "阵地名称"),
    ("address", "阵地地址"),
    ("opened_on", "建成日期"),
    ("staff", "工作人员数"),
    ("post", "岗位"),
    ("name", "姓名"),
    ("qualification", "人员身份"),
    ("certificate", "证书等级"),
    ("phone", "联系电话"),
    ("appointed_on", "任职日期"),
];

/// The export's headers, which the import reads back.
const EXPORT_HEADERS: &[&str] = &[
    "乡镇（街道）",
    "村（社区）",
    "区划代码",
    "阵地类别",
    "阵地名称",
    "阵地地址",
    "建成日期",
    "工作人员数",
    "岗位",
    "姓名",
    "人员身份",
    "证书等级",
    "联系电话",
    "任职日期",
    "本年培训学时",
];

fn label(field: &str) -> &'static str {
    FIELDS
        .iter()
        .find(|(k, _)| *k == field)
        .map(|(_, l)| *l)
        .unwrap_or("")
}

fn matcher() -> HeaderMatcher {
    let mut aliases: Vec<(String, Vec<String>)> = FIELDS
        .iter()
        .map(|(k, l)| (k.to_string(), vec![l.to_string()]))
        .collect();
    // A column headed by the post lists the names of those who hold it.
    aliases.push((
        "name".into(),
        vec!["儿童主任".into(), "儿童督导员".into(), "督导员".into()],
    ));
    HeaderMatcher::new(aliases).with_rules(vec![
        FieldRule::new("township", 2)
            .any(&["乡镇", "镇街", "街道", "乡(镇)", "镇(街道)"])
            .none(&["代码", "编码", "工作站", "地址"]),
        FieldRule::new("village", 2).any(&["村", "社区"]).none(&[
            "代码",
            "编码",
            "儿童之家",
            "工作点",
            "地址",
            "村官",
        ]),
        FieldRule::new("division_code", 2)
            .any(&["代码", "编码"])
            .none(&["信用", "身份"]),
        FieldRule::new("place_kind", 3)
            .any(&["阵地", "站点", "场所"])
            .any(&["类别", "类型", "种类"]),
        FieldRule::new("place_name", 3)
            .any(&[
                "工作站",
                "工作点",
                "儿童之家",
                "服务站",
                "阵地",
                "保护中心",
                "站点",
                "场所",
            ])
            .any(&["名称", "名字"]),
        FieldRule::new("address", 2)
            .any(&["地址", "地点", "位置"])
            .none(&["电话"]),
        FieldRule::new("opened_on", 2).any(&["建成", "挂牌", "成立", "建立", "启用", "投用"]),
        FieldRule::new("staff", 2).any(&["工作人员数", "人员数", "人数", "在岗人员"]),
        FieldRule::new("post", 2).any(&["岗位"]),
        FieldRule::new("name", 2)
            .any(&["姓名", "名字"])
            .none(&["单位", "儿童姓名", "监护"]),
        FieldRule::new("qualification", 2)
            .any(&["身份", "人员类别", "人员类型", "任职类型", "人员来源"])
            .none(&["身份证"]),
        FieldRule::new("certificate", 2).any(&["证书", "持证", "职业水平"]),
        FieldRule::new("phone", 2).any(&["电话", "手机", "联系方式"]),
        FieldRule::new("appointed_on", 2).any(&["任职", "聘任", "上岗", "任命", "聘用"]),
    ])
}

/// What a roster import found (dry run) or did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkImportReport {
    pub dry_run: bool,
    pub sheet: String,
    pub header_row: u32,
    pub rows_read: usize,
    pub rows_good: usize,
    /// Places and people recorded now (on a dry run: that would be).
    pub imported: usize,
    pub places_added: usize,
    pub people_added: usize,
    /// Already recorded, left as they are.
    pub places_existing: usize,
    pub people_existing: usize,
    /// In words, as the page shows it.
    pub summary: String,
    pub errors: Vec<ImportProblem>,
    pub columns: Vec<ColumnMapping>,
    pub fields: Vec<FieldChoice>,
}

/// Why an import could not even be read.
#[derive(Debug)]
pub enum NetworkFailure {
    Sheet(SheetError),
    Store(StoreError),
}

impl From<StoreError> for NetworkFailure {
    fn from(e: StoreError) -> Self {
        NetworkFailure::Store(e)
    }
}

fn text(cell: Option<&Cell>) -> Option<String> {
    cell.map(|c| c.text()).filter(|s| !s.is_empty())
}

fn date_of(field: &'static str, cell: Option<&Cell>) -> Result<Option<String>, String> {
    match cell {
        Some(Cell::Date(d)) => Ok(Some(d.format("%Y-%m-%d").to_string())),
        other => match text(other) {
            None => Ok(None),
            Some(t) => parse_date(field, &t)
                .map(|d| Some(d.format("%Y-%m-%d").to_string()))
                .map_err(|e| e.message),
        },
    }
}

/// A place kind as rosters write it: 工作站, 儿童之家, 服务站, 保护中心, or the code.
fn place_kind_of(s: &str) -> Option<PlaceKind> {
    if let Some(k) = PlaceKind::parse(s) {
        return Some(k);
    }
    if s.contains("中心") {
        Some(PlaceKind::Center)
    } else if s.contains("服务站") {
        Some(PlaceKind::ServiceStation)
    } else if s.contains("工作站") {
        Some(PlaceKind::Station)
    } else if s.contains("工作点") || s.contains("儿童之家") {
        Some(PlaceKind::WorkPoint)
    } else {
        None
    }
}

/// The townships under the import's division, found by name as people write them.
struct Townships(Vec<(DivisionCode, String)>);

impl Townships {
    fn resolve(&self, name: &str) -> Result<DivisionCode, String> {
        let wanted = normalise_text(name);
        if wanted.chars().all(|c| c.is_ascii_digit()) {
            let code = DivisionCode::parse(&wanted).map_err(|e| e.message)?;
            return self
                .0
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(c, _)| *c)
                .ok_or_else(|| format!("乡镇代码 {wanted} 不在本次导入的范围内"));
        }
        let key = crate::ledger_io::township_key(&wanted);
        let found: Vec<DivisionCode> = self
            .0
            .iter()
            .filter(|(_, n)| crate::ledger_io::township_key(&normalise_text(n)) == key)
            .map(|(c, _)| *c)
            .collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!(
                "找不到乡镇（街道）“{wanted}”：请核对名称，或在“区划代码”列填写 9 位代码"
            )),
            _ => Err(format!(
                "“{wanted}”有多个同名乡镇（街道）：请在“区划代码”列填写 9 位代码区分"
            )),
        }
    }
}

/// One row checked: the division it is about, the place and the person it records.
struct RosterLine {
    place: Option<NewPlace>,
    person: Option<Appointment>,
}

/// Reads a roster for `within` (a county or a township in it), checks every row, and
/// with `dry_run` false and no problems records every place and person not yet recorded,
/// all in one transaction.
pub async fn import_roster(
    store: &Store,
    scope: &Scope,
    within: DivisionCode,
    bytes: &[u8],
    mapping: Mapping,
    dry_run: bool,
    ip: &str,
) -> Result<NetworkImportReport, NetworkFailure> {
    let table = read_table_with(
        bytes,
        &matcher(),
        &ReadOptions {
            required: Vec::new(),
            max_rows: MAX_ROSTER_ROWS,
            mapping,
        },
    )
    .map_err(NetworkFailure::Sheet)?;
    let villages = Villages::new(store.villages_within(scope, within).await?);
    let townships = Townships(match within.level() {
        Level::Township => vec![(within, store.division(scope, within).await?.name)],
        Level::Village => Vec::new(),
        _ => store
            .division_children(scope, within)
            .await?
            .into_iter()
            .filter_map(|d| Some((DivisionCode::parse(&d.code).ok()?, d.name)))
            .filter(|(c, _)| c.level() == Level::Township)
            .collect(),
    });
    let today = store.clock().today();
    let has = |f: &str| table.columns.iter().any(|c| c.field.as_deref() == Some(f));
    let mut errors = Vec::new();
    if !has("township") && !has("village") && !has("division_code") {
        let headers = table
            .columns
            .iter()
            .map(|c| c.header.as_str())
            .collect::<Vec<_>>()
            .join("、");
        errors.push(ImportProblem {
            row: table.header_row,
            field: "village".into(),
            message: format!(
                "找不到“乡镇（街道）”“村（社区）”或“区划代码”列，无法知道每行属于哪里；表头是：{headers}"
            ),
        });
    }
    let mut lines: Vec<RosterLine> = Vec::new();
    let located = errors.is_empty();
    for row in table.rows.iter().filter(|_| located) {
        let cell = |k: &str| row.cells.get(k);
        let problem = |field: &str, message: String| ImportProblem {
            row: row.row_number,
            field: field.into(),
            message,
        };
        // Where the row is: its code, else its village (within its township), else its
        // township.
        let code = text(cell("division_code"));
        let village = text(cell("village"));
        let township = text(cell("township"));
        let division = if let Some(code) = &code {
            match DivisionCode::parse(code) {
                Ok(d) if within.contains(d) && d.level() >= Level::County => Ok(d),
                Ok(_) => Err((
                    "division_code",
                    format!("区划代码 {code} 不在 {within} 范围内"),
                )),
                Err(e) => Err(("division_code", e.message)),
            }
        } else if let Some(v) = &village {
            villages
                .resolve(None, Some(v), township.as_deref())
                .map_err(|m| ("village", m))
        } else if let Some(t) = &township {
            townships.resolve(t).map_err(|m| ("township", m))
        } else {
            Err((
                "village",
                "请填写乡镇（街道）、村（社区）或区划代码".to_string(),
            ))
        };
        let division = match division {
            Ok(d) => d,
            Err((field, message)) => {
                errors.push(problem(field, message));
                continue;
            }
        };
        let kind = match text(cell("place_kind")) {
            Some(k) => match place_kind_of(&k) {
                Some(k) => k,
                None => {
                    errors.push(problem(
                        "place_kind",
                        format!("阵地类别“{k}”无法识别，可选：保护中心、工作站、工作点（儿童之家）、服务站"),
                    ));
                    continue;
                }
            },
            None => match division.level() {
                Level::County => PlaceKind::Center,
                Level::Township => PlaceKind::Station,
                _ => PlaceKind::WorkPoint,
            },
        };
        let mut bad = false;
        let place = match text(cell("place_name")) {
            None => {
                if text(cell("address")).is_some() || cell("opened_on").is_some() {
                    errors.push(problem(
                        "place_name",
                        "填写了阵地地址或建成日期，请同时填写阵地名称".into(),
                    ));
                    bad = true;
                }
                None
            }
            Some(name) => {
                let opened_on = match date_of("建成日期", cell("opened_on")) {
                    Ok(d) => d.and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
                    Err(m) => {
                        errors.push(problem("opened_on", m));
                        bad = true;
                        None
                    }
                };
                let staff = match cell("staff") {
                    None => 0,
                    Some(Cell::Number(n)) if n.fract() == 0.0 => *n as i64,
                    Some(c) => match c.text().trim().trim_end_matches('人').parse::<i64>() {
                        Ok(n) => n,
                        Err(_) => {
                            errors.push(problem(
                                "staff",
                                format!("工作人员数“{}”应为整数", c.text()),
                            ));
                            bad = true;
                            0
                        }
                    },
                };
                let new = NewPlace {
                    kind,
                    division,
                    name,
                    address: text(cell("address")).unwrap_or_default(),
                    opened_on,
                    staff,
                };
                if let Err(e) = store.check_new_place(&new) {
                    let (field, message) = store_problem(e);
                    errors.push(problem(
                        if field == "name" { "place_name" } else { field },
                        message,
                    ));
                    bad = true;
                }
                Some(new)
            }
        };
        let person = match text(cell("name")) {
            None => None,
            Some(name) => {
                let post = text(cell("post")).unwrap_or_else(|| {
                    match (kind, division.level()) {
                        (PlaceKind::Center | PlaceKind::ServiceStation, _) => Post::Staff,
                        (_, Level::Township) => Post::Supervisor,
                        (_, Level::Village) => Post::Director,
                        _ => Post::Staff,
                    }
                    .code()
                    .to_string()
                });
                let appointed_on = match date_of("任职日期", cell("appointed_on")) {
                    Ok(d) => d,
                    Err(m) => {
                        errors.push(problem("appointed_on", m));
                        continue;
                    }
                };
                let input = PersonInput {
                    name,
                    post,
                    division: division.full(),
                    qualification: text(cell("qualification")).map(|q| qualification_of(&q)),
                    certificate: text(cell("certificate")),
                    phone: text(cell("phone")),
                    appointed_on,
                };
                match input.check(today) {
                    Ok(a) => Some(a),
                    Err((field, e)) => {
                        errors.push(problem(
                            if field == "division" { "post" } else { field },
                            e.message,
                        ));
                        bad = true;
                        None
                    }
                }
            }
        };
        if !bad && (place.is_some() || person.is_some()) {
            lines.push(RosterLine { place, person });
        }
    }
    errors.sort_by_key(|e| e.row);
    let rows_good = lines.len();
    let places: Vec<NewPlace> = lines.iter().filter_map(|l| l.place.clone()).collect();
    let people: Vec<Appointment> = lines.into_iter().filter_map(|l| l.person).collect();
    let write = !dry_run && errors.is_empty();
    let counts = if errors.is_empty() {
        store
            .import_network(scope, within, &places, &people, !write, ip)
            .await?
    } else {
        Default::default()
    };
    let summary = format!(
        "{}阵地 {} 个、人员 {} 名{}",
        if write { "新增" } else { "将新增" },
        counts.places_added,
        counts.people_added,
        if counts.places_existing + counts.people_existing > 0 {
            format!(
                "；已登记的阵地 {} 个、人员 {} 名保持不变",
                counts.places_existing, counts.people_existing
            )
        } else {
            String::new()
        }
    );
    Ok(NetworkImportReport {
        dry_run: !write,
        sheet: table.sheet_name.clone(),
        header_row: table.header_row,
        rows_read: table.rows.len(),
        rows_good,
        imported: counts.places_added + counts.people_added,
        places_added: counts.places_added,
        people_added: counts.people_added,
        places_existing: counts.places_existing,
        people_existing: counts.people_existing,
        summary,
        errors,
        columns: crate::ledger_io::column_report(&table.columns, label),
        fields: FIELDS
            .iter()
            .map(|(f, l)| FieldChoice {
                field: f.to_string(),
                label: l.to_string(),
            })
            .collect(),
    })
}

/// A qualification as rosters write it (村委委员, 村支书, 大学生村官, 社工…).
fn qualification_of(s: &str) -> String {
    if Qualification::parse(s).is_some() {
        return s.to_string();
    }
    let q = if s.contains("持证") {
        Qualification::CertifiedSocialWorker
    } else if s.contains("社工") || s.contains("社会工作") {
        Qualification::SocialWorker
    } else if s.contains("村官") {
        Qualification::CollegeOfficial
    } else if s.contains("委员")
        || s.contains("村委")
        || s.contains("居委")
        || s.contains("书记")
        || s.contains("主任")
    {
        Qualification::CommitteeMember
    } else if s.contains("干部") || s.contains("公务员") {
        Qualification::Civil
    } else {
        return s.to_string();
    };
    q.code().to_string()
}

fn store_problem(e: StoreError) -> (&'static str, String) {
    match e {
        StoreError::Invalid { field, invalid } => (field, invalid.message),
        other => ("file", other.to_string()),
    }
}

/// The roster of `within` (a county or below) as an .xlsx the import reads back: for
/// each division its places and its people side by side.
pub async fn export_roster(
    store: &Store,
    scope: &Scope,
    within: DivisionCode,
    ip: &str,
) -> Result<Vec<u8>, StoreError> {
    let (places, people) = store.network_roster(scope, within, ip).await?;
    let villages = store.villages_within(scope, within).await?;
    let mut names: BTreeMap<String, (String, String)> = villages
        .into_iter()
        .map(|(code, name, township)| (code.full(), (township, name)))
        .collect();
    if within.level() <= Level::County {
        let county = DivisionCode::parse(&within.county_code()).unwrap_or(within);
        for t in store.division_children(scope, county).await? {
            names.insert(t.code.clone(), (t.name, String::new()));
        }
    } else if within.level() == Level::Township {
        let t = store.division(scope, within).await?;
        names.insert(t.code.clone(), (t.name, String::new()));
    }
    // Each division's places and people, paired in order: a village's work point beside
    // its director, a township's station beside its supervisor.
    let mut by_division: BTreeMap<String, (Vec<&weibao_store::Place>, Vec<&weibao_store::Person>)> =
        BTreeMap::new();
    for p in &places {
        by_division
            .entry(p.division_code.clone())
            .or_default()
            .0
            .push(p);
    }
    for p in &people {
        by_division
            .entry(p.division_code.clone())
            .or_default()
            .1
            .push(p);
    }
    let mut rows = Vec::new();
    for (code, (mut ps, mut folk)) in by_division {
        // The division's own kind of place and post first.
        ps.sort_by_key(|p| !p.kind.one_per_division());
        folk.sort_by_key(|p| p.post == Post::Staff);
        let (township, village) = names.get(&code).cloned().unwrap_or_default();
        for i in 0..ps.len().max(folk.len()) {
            let place = ps.get(i);
            let person = folk.get(i);
            let t = |s: &str| OutCell::Text(s.to_string());
            let date = |s: Option<&str>| {
                s.and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .map(OutCell::Date)
                    .unwrap_or(OutCell::Empty)
            };
            rows.push(vec![
                t(&township),
                t(&village),
                t(&code),
                place.map(|p| t(p.kind.label())).unwrap_or(OutCell::Empty),
                place.map(|p| t(&p.name)).unwrap_or(OutCell::Empty),
                place.map(|p| t(&p.address)).unwrap_or(OutCell::Empty),
                date(place.and_then(|p| p.opened_on.as_deref())),
                place
                    .map(|p| OutCell::Number(p.staff as f64))
                    .unwrap_or(OutCell::Empty),
                person.map(|p| t(p.post.label())).unwrap_or(OutCell::Empty),
                person.map(|p| t(&p.name)).unwrap_or(OutCell::Empty),
                person
                    .map(|p| t(p.qualification.label()))
                    .unwrap_or(OutCell::Empty),
                person
                    .and_then(|p| p.certificate)
                    .map(|c| t(c.label()))
                    .unwrap_or(OutCell::Empty),
                person.map(|p| t(&p.phone)).unwrap_or(OutCell::Empty),
                date(person.map(|p| p.appointed_on.as_str())),
                person
                    .map(|p| OutCell::Number(p.training_hours))
                    .unwrap_or(OutCell::Empty),
            ]);
        }
    }
    weibao_sheets::write_table("工作网络花名册", EXPORT_HEADERS, rows)
        .map_err(|e| StoreError::Config(format!("导出失败：{e}")))
}
