//! Synthetic children with realistic facts, deterministic from a seed: for the demo (and
//! later the scale generator). Shares follow what the seed documents report: most
//! children in the ledger are rural left-behind, a few are orphans or without de-facto
//! caregivers, some live in 低保 households or have a disability.

use chrono::{Datelike, NaiveDate};
use weibao_domain::record::{ChildPatch, ChildRecord, GuardianInput, ParentInput};
use weibao_domain::DivisionCode;

/// A small, fast, deterministic generator (xorshift64*): no crate needed for demo data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹",
    "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾",
];
const GIVEN: &[&str] = &[
    "子涵", "欣怡", "梓轩", "浩宇", "雨桐", "宇航", "思彤", "俊杰", "佳怡", "文博", "可馨", "明轩",
    "嘉怡", "一诺", "子墨", "诗涵", "天佑", "若曦", "晨阳", "雅静", "小花", "小军", "春燕", "国强",
    "秀英", "志强", "丽娟", "海洋", "婷婷", "鑫", "磊", "静", "娜", "洋", "杰", "敏",
];
const ADULT_GIVEN: &[&str] = &[
    "建华", "秀兰", "志明", "玉梅", "德明", "桂芳", "红梅", "春华", "国华", "丽萍", "永红", "晓燕",
    "文华", "明辉", "淑芬", "海燕",
];

/// A grown-up's name (a director, a supervisor) from `rng`.
pub fn adult_name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(ADULT_GIVEN))
}

const CITIES: &[&str] = &[
    "广东省东莞市",
    "广东省深圳市",
    "浙江省宁波市",
    "江苏省苏州市",
    "福建省泉州市",
    "四川省成都市",
    "陕西省西安市",
    "重庆市",
    "新疆乌鲁木齐市",
    "上海市",
];

/// A valid 身份证号 for a child of 朝天区 born on `birth` with sequence `seq`.
pub fn id_number(county: &str, birth: NaiveDate, seq: u32) -> String {
    let first17 = format!("{county}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    let check = weibao_domain::id_number::check_char(first17.as_bytes());
    format!("{first17}{check}")
}

fn date_between(rng: &mut Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let days = (to - from).num_days().max(1) as u64;
    from + chrono::Duration::days(rng.below(days) as i64)
}

/// Builds `n` children spread over `villages`, as of `today`.
pub fn children(
    seed: u64,
    n: usize,
    villages: &[DivisionCode],
    today: NaiveDate,
) -> Vec<ChildRecord> {
    Generator::new(seed, villages.to_vec(), today).batch(n)
}

/// A stream of synthetic children whose 身份证号 never repeat across batches.
pub struct Generator {
    rng: Rng,
    used: std::collections::HashSet<String>,
    villages: Vec<DivisionCode>,
    today: NaiveDate,
}

impl Generator {
    pub fn new(seed: u64, villages: Vec<DivisionCode>, today: NaiveDate) -> Generator {
        Generator {
            rng: Rng::new(seed),
            used: std::collections::HashSet::new(),
            villages,
            today,
        }
    }

    /// Marks numbers as taken (e.g. already in the ledger).
    pub fn exclude(&mut self, ids: impl IntoIterator<Item = String>) {
        self.used.extend(ids);
    }

    /// The next `n` children.
    pub fn batch(&mut self, n: usize) -> Vec<ChildRecord> {
        let (rng, used, today) = (&mut self.rng, &mut self.used, self.today);
        next_children(rng, used, &self.villages, today, n)
    }
}

fn next_children(
    rng: &mut Rng,
    used: &mut std::collections::HashSet<String>,
    villages: &[DivisionCode],
    today: NaiveDate,
    n: usize,
) -> Vec<ChildRecord> {
    let mut out = Vec::with_capacity(n);
    let oldest = NaiveDate::from_ymd_opt(today.year() - 17, today.month(), 1).unwrap_or(today);
    let youngest = today - chrono::Duration::days(60);
    while out.len() < n {
        let village = *rng.pick(villages);
        let birth = date_between(rng, oldest, youngest);
        let county = &village.full()[..6];
        let id = id_number(county, birth, rng.below(1000) as u32);
        if !used.insert(id.clone()) {
            continue;
        }
        let surname = *rng.pick(SURNAMES);
        let name = format!("{surname}{}", rng.pick(GIVEN));
        let age = today.year() - birth.year();
        let away_since = |rng: &mut Rng| {
            Some(
                date_between(
                    rng,
                    today - chrono::Duration::days(365 * 4),
                    today - chrono::Duration::days(120),
                )
                .to_string(),
            )
        };
        let roll = rng.below(1000);
        let (father, mother, guardian_rel): (ParentInput, ParentInput, &str) = match roll {
            // Both parents away for work: the ledger's largest group.
            0..=519 => (
                parent("外出务工", away_since(rng), rng.pick::<&str>(CITIES)),
                parent("外出务工", away_since(rng), rng.pick::<&str>(CITIES)),
                if rng.chance(0.5) {
                    "祖母"
                } else {
                    "外祖母"
                },
            ),
            // One away, the other at home.
            520..=699 => (
                parent("外出务工", away_since(rng), rng.pick::<&str>(CITIES)),
                parent("在家", None, ""),
                "母亲",
            ),
            // Father dead, mother away for work.
            700..=739 => (
                parent(
                    "死亡",
                    Some(date_between(rng, birth, today).to_string()),
                    "",
                ),
                parent("外出务工", away_since(rng), rng.pick::<&str>(CITIES)),
                "祖父",
            ),
            // Orphans: both parents dead.
            740..=764 => (
                parent(
                    "死亡",
                    Some(date_between(rng, birth, today).to_string()),
                    "",
                ),
                parent(
                    "死亡",
                    Some(date_between(rng, birth, today).to_string()),
                    "",
                ),
                "叔叔",
            ),
            // Without de-facto caregivers: one dead, the other imprisoned for years.
            765..=799 => (
                parent(
                    "死亡",
                    Some(date_between(rng, birth, today).to_string()),
                    "",
                ),
                parent(
                    "服刑在押",
                    Some(
                        (today - chrono::Duration::days(400 + rng.below(1500) as i64)).to_string(),
                    ),
                    "",
                ),
                "祖母",
            ),
            // Father imprisoned, mother lost contact for over a year.
            800..=819 => (
                parent(
                    "服刑在押",
                    Some(
                        (today - chrono::Duration::days(300 + rng.below(1000) as i64)).to_string(),
                    ),
                    "",
                ),
                parent(
                    "失联",
                    Some((today - chrono::Duration::days(400 + rng.below(800) as i64)).to_string()),
                    "",
                ),
                "祖父",
            ),
            // Both at home (in the ledger for poverty, disability or illness).
            _ => (parent("在家", None, ""), parent("在家", None, ""), "父亲"),
        };
        let disabled = rng.chance(0.05);
        let poor = rng.chance(0.18);
        let school = match age {
            0..=2 => "未到入学年龄",
            3..=5 => "学前教育",
            6..=11 => "小学",
            12..=14 => "初中",
            _ => {
                if rng.chance(0.85) {
                    "高中"
                } else {
                    "未在校"
                }
            }
        };
        let risk = match rng.below(100) {
            0..=4 => "高",
            5..=19 => "中",
            _ => "低",
        };
        let guardian_name = format!(
            "{surname}{}",
            rng.pick(&["秀兰", "桂英", "建国", "德明", "玉珍", "永福"])
        );
        let phone = format!(
            "1{}{:09}",
            rng.pick(&["3", "5", "8", "9"]),
            rng.below(1_000_000_000)
        );
        let patch = ChildPatch {
            name: Some(name),
            id_number: Some(id),
            division: Some(village.full()),
            address: Some(format!("{}组{}号", 1 + rng.below(9), 1 + rng.below(60))),
            school_status: Some(school.into()),
            school_name: (school != "未到入学年龄" && school != "未在校").then(|| {
                format!(
                    "朝天区{}",
                    match school {
                        "学前教育" => "中心幼儿园",
                        "小学" => "中心小学",
                        "初中" => "中学",
                        _ => "高级中学",
                    }
                )
            }),
            not_in_school_reason: (school == "未在校").then(|| "辍学务农".into()),
            health: Some(
                if rng.chance(0.03) {
                    "患重病"
                } else {
                    "健康"
                }
                .into(),
            ),
            disability_kind: disabled.then(|| {
                rng.pick(&["肢体残疾", "智力残疾", "听力残疾", "言语残疾"])
                    .to_string()
            }),
            disability_grade: disabled.then(|| 1 + rng.below(4) as u8),
            guardians: Some(vec![GuardianInput {
                name: Some(guardian_name),
                relationship: Some(guardian_rel.into()),
                id_number: None,
                phone: Some(phone),
                capacity: Some(if rng.chance(0.9) { "有" } else { "部分" }.into()),
                actual_caregiver: true,
            }]),
            father: Some(father),
            mother: Some(mother),
            support: poor.then(|| vec![if rng.chance(0.8) { "低保" } else { "特困" }.to_string()]),
            risk: Some(risk.into()),
            ..Default::default()
        };
        match patch.apply(None, today, 18, &[]) {
            Ok(record) => out.push(record),
            // A generated fact the rules refuse is a bug in this generator; skip it.
            Err(e) => debug_assert!(false, "synthetic child refused: {e:?}"),
        }
    }
    out
}

/// The headers of a generated ledger workbook (words the importer knows).
pub const LEDGER_HEADERS: &[&str] = &[
    "序号",
    "所在乡镇",
    "所在村",
    "儿童姓名",
    "公民身份号码",
    "现住址",
    "父亲状况",
    "父亲外出时间",
    "母亲状况",
    "母亲外出时间",
    "监护人姓名",
    "与儿童关系",
    "监护人电话",
    "就学状况",
    "家庭保障",
    "风险等级",
];

/// The columns of a synthetic department's list (a 低保 roll as 民政 hands it over).
pub const LIST_HEADERS: &[&str] = &[
    "姓名",
    "公民身份号码",
    "乡镇（街道）",
    "村（社区）",
    "保障类别",
];

/// A child as a row of a synthetic 低保 list.
pub fn list_row(
    r: &ChildRecord,
    places: &std::collections::HashMap<DivisionCode, (String, String)>,
) -> Vec<weibao_sheets::OutCell> {
    use weibao_sheets::OutCell::Text;
    let (township, village) = places
        .get(&r.division())
        .cloned()
        .unwrap_or_else(|| (String::new(), r.division().full()));
    vec![
        Text(r.name.clone()),
        Text(r.id_number().to_string()),
        Text(township),
        Text(village),
        Text("农村低保".into()),
    ]
}

/// One record as a row of a township's ledger; `places` gives each village's township
/// and the name (or code) the row writes for it.
pub fn ledger_row(
    r: &ChildRecord,
    places: &std::collections::HashMap<DivisionCode, (String, String)>,
) -> Vec<weibao_sheets::OutCell> {
    use weibao_sheets::OutCell::{Empty, Text};
    let g = r.guardians.first();
    let since = |p: &weibao_domain::child::ParentSituation| {
        p.since.map(|d| Text(d.to_string())).unwrap_or(Empty)
    };
    let (township, village) = places
        .get(&r.division())
        .cloned()
        .unwrap_or_else(|| (String::new(), r.division().full()));
    vec![
        Empty,
        Text(township),
        Text(village),
        Text(r.name.clone()),
        Text(r.id_number().to_string()),
        Text(r.address.clone()),
        Text(r.father.status.label().into()),
        since(&r.father),
        Text(r.mother.status.label().into()),
        since(&r.mother),
        g.map(|g| Text(g.name.clone())).unwrap_or(Empty),
        g.map(|g| Text(g.relationship.clone())).unwrap_or(Empty),
        g.map(|g| Text(g.phone.clone())).unwrap_or(Empty),
        r.school_status
            .map(|s| Text(s.label().into()))
            .unwrap_or(Empty),
        Text(
            r.support
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join("、"),
        ),
        Text(r.risk.label().into()),
    ]
}

fn parent(status: &str, since: Option<String>, place: &str) -> ParentInput {
    ParentInput {
        status: Some(status.into()),
        since,
        evidence: None,
        place: Some(place.into()),
        name: None,
        id_number: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn villages() -> Vec<DivisionCode> {
        ["510812100200", "510812100202", "510812101200"]
            .iter()
            .map(|c| DivisionCode::parse(c).unwrap())
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_children() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let a = children(7, 50, &villages(), today);
        let b = children(7, 50, &villages(), today);
        assert_eq!(a, b);
        assert_ne!(a, children(8, 50, &villages(), today));
        let ids: std::collections::HashSet<_> =
            a.iter().map(|r| r.id_number().to_string()).collect();
        assert_eq!(ids.len(), 50, "ID numbers are unique");
        assert!(a.iter().all(|r| r.id_number().age_on(today) < 18));
    }
}
