//! The ledger's columns: every field an imported sheet can fill, its Chinese name, the
//! headers people write for it (exact, configurable per region) and the key words that
//! recognise the rest.

use weibao_domain::DivisionCode;
use weibao_sheets::{FieldRule, HeaderMatcher};
use weibao_store::{Store, StoreError};

/// (field, what the import page calls it). The order is the order of the page's choices.
pub const FIELDS: &[(&str, &str)] = &[
    ("name", "儿童姓名"),
    ("id_number", "儿童身份证号"),
    ("sex", "性别（与身份证号核对）"),
    ("birth_date", "出生日期（与身份证号核对）"),
    ("age", "年龄（由身份证号推算，不另存）"),
    ("village", "所在村（居）"),
    ("village_code", "村（居）代码"),
    ("township", "乡镇（街道）"),
    ("address", "现住址"),
    ("hukou", "户籍类型"),
    ("hukou_address", "户籍地"),
    ("school_status", "就学状况"),
    ("school_name", "就读学校"),
    ("grade", "年级"),
    ("not_in_school_reason", "未在校原因"),
    ("health", "健康状况"),
    ("illness", "疾病情况"),
    ("disability_kind", "残疾类别"),
    ("disability_grade", "残疾等级"),
    ("guardian_name", "监护人姓名"),
    ("guardian_relationship", "监护人与儿童关系"),
    ("guardian_phone", "监护人电话"),
    ("guardian_id_number", "监护人身份证号"),
    ("father_name", "父亲姓名"),
    ("father_id_number", "父亲身份证号"),
    ("father_status", "父亲状况"),
    ("father_since", "父亲状况起始日期"),
    ("father_place", "父亲务工地"),
    ("mother_name", "母亲姓名"),
    ("mother_id_number", "母亲身份证号"),
    ("mother_status", "母亲状况"),
    ("mother_since", "母亲状况起始日期"),
    ("mother_place", "母亲务工地"),
    ("support", "家庭保障（低保、特困）"),
    ("categories", "儿童类别"),
    ("distress_subtypes", "困境类型"),
    ("is_left_behind", "是否农村留守儿童"),
    ("is_orphan", "是否孤儿"),
    ("is_unsupported", "是否事实无人抚养儿童"),
    ("is_distressed", "是否困境儿童"),
    ("is_disabled", "是否残疾儿童"),
    ("is_dibao", "是否低保"),
    ("is_tekun", "是否特困"),
    ("risk", "风险等级"),
    ("notes", "备注"),
];

/// The Chinese name of a field ("village" → 所在村（居）).
pub fn label(field: &str) -> &'static str {
    FIELDS
        .iter()
        .find(|(k, _)| *k == field)
        .map(|(_, l)| *l)
        .unwrap_or("其他字段")
}

/// The headers people write for each field, matched exactly. A region adds its own in
/// the setting `import_header_aliases`; everything else is found by [`rules`].
pub fn default_aliases() -> Vec<(String, Vec<String>)> {
    let list: &[(&str, &[&str])] = &[
        ("name", &["姓名", "儿童姓名", "名字"]),
        (
            "id_number",
            &["身份证号", "身份证号码", "公民身份号码", "身份证"],
        ),
        ("village", &["村（居）", "村居", "村", "所在村"]),
        (
            "village_code",
            &["村代码", "区划代码", "村级代码", "村居代码"],
        ),
        (
            "township",
            &["乡镇（街道）", "乡镇", "乡（镇）", "镇（乡）"],
        ),
        ("hukou", &["户籍类型", "户口性质", "户籍性质", "户口类型"]),
        (
            "school_status",
            &["就学状况", "就读情况", "学段", "就学情况"],
        ),
        ("school_name", &["就读学校", "学校", "学校名称"]),
        ("grade", &["年级", "班级"]),
        (
            "guardian_name",
            &["监护人姓名", "监护人", "实际监护人", "家长", "家长姓名"],
        ),
        (
            "guardian_relationship",
            &["与儿童关系", "监护人关系", "与监护人关系", "关系"],
        ),
        ("support", &["家庭保障", "低保特困", "救助情况", "保障类型"]),
        ("categories", &["儿童类别", "类别", "儿童类型", "人员类别"]),
        ("distress_subtypes", &["困境类型"]),
        ("risk", &["风险等级", "风险"]),
        ("notes", &["备注"]),
        ("sex", &["性别"]),
        ("birth_date", &["出生日期", "出生年月"]),
        ("age", &["年龄"]),
    ];
    list.iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

/// Words that make a header somebody else's: a parent's, a guardian's, a director's.
const NOT_THE_CHILD: &[&str] = &[
    "监护",
    "家长",
    "父",
    "母",
    "抚养",
    "照料",
    "看护",
    "代养",
    "联系人",
    "主任",
    "督导",
    "填表",
    "户主",
];
const CARERS: &[&str] = &[
    "监护人",
    "家长",
    "抚养人",
    "照料人",
    "看护人",
    "代养人",
    "实际监护",
    "委托监护",
];
const PHONES: &[&str] = &["电话", "手机", "联系方式", "联系号码", "号码"];

/// How each field is recognised by its key words when no alias matches: "a header with 村
/// or 社区 and not 代码 is the village; 电话/手机/联系方式 next to 监护人/家长 is the
/// guardian's phone".
pub fn rules() -> Vec<FieldRule> {
    let parent = |who: &str, key: &str| -> Vec<FieldRule> {
        let other = if who == "父" { "母" } else { "父" };
        let words: &[&str] = if who == "父" {
            &["父亲", "父"]
        } else {
            &["母亲", "母"]
        };
        vec![
            FieldRule::new(&format!("{key}_name"), 3)
                .any(words)
                .any(&["姓名", "名字"])
                .none(&[other]),
            FieldRule::new(&format!("{key}_id_number"), 3)
                .any(words)
                .any(&["身份证", "证件号", "身份号码"])
                .none(&[other]),
            FieldRule::new(&format!("{key}_status"), 3)
                .any(words)
                .any(&["状况", "情况", "状态", "去向"])
                .none(&[other, "时间", "日期", "地点", "务工地"]),
            FieldRule::new(&format!("{key}_since"), 3)
                .any(words)
                .any(&["时间", "日期", "起始", "年月"])
                .none(&[other]),
            FieldRule::new(&format!("{key}_place"), 3)
                .any(words)
                .any(&["务工地", "外出地", "地点", "所在地", "去向地"])
                .none(&[other]),
        ]
    };
    let flag = |field: &str, words: &[&str]| {
        FieldRule::new(field, 3)
            .any(&["是否", "(是/否)", "是/否", "是否为"])
            .any(words)
    };
    let mut rules = vec![
        FieldRule::new("name", 2)
            .any(&["姓名", "名字"])
            .none(NOT_THE_CHILD),
        FieldRule::new("name", 3)
            .any(&["儿童", "学生", "未成年人", "孩子", "子女"])
            .any(&["姓名", "名字"])
            .none(NOT_THE_CHILD),
        FieldRule::new("id_number", 2)
            .any(&["身份证", "身份号码", "证件号", "公民身份"])
            .none(NOT_THE_CHILD),
        FieldRule::new("sex", 2).any(&["性别"]).none(NOT_THE_CHILD),
        FieldRule::new("birth_date", 2)
            .any(&["出生"])
            .none(&["地", "父", "母", "监护"]),
        FieldRule::new("age", 2)
            .any(&["年龄", "岁"])
            .none(&["父", "母", "监护", "家长"]),
        FieldRule::new("village", 2)
            .any(&["村", "社区", "居委", "居民委员会", "村委"])
            .none(&[
                "代码", "编码", "乡镇", "镇", "街道", "户籍", "户口", "电话", "组长", "主任",
                "干部", "地址", "住址",
            ]),
        FieldRule::new("village", 3)
            .any(&[
                "所在村",
                "现住村",
                "所属村",
                "居住村",
                "所在社区",
                "所属社区",
                "村名",
                "社区名",
            ])
            .none(&["代码", "编码", "电话"]),
        FieldRule::new("village_code", 3)
            .any(&["代码", "编码", "区划码"])
            .any(&["村", "社区", "居", "区划"]),
        FieldRule::new("township", 2)
            .any(&["乡镇", "乡", "镇", "街道"])
            .none(&["代码", "编码", "村", "社区", "电话", "户", "地址", "住址"]),
        FieldRule::new("address", 2)
            .any(&["住址", "地址", "居住地", "现住", "住所", "居住"])
            .none(&["户籍", "户口", "务工", "外出", "父", "母", "监护", "家长"]),
        FieldRule::new("hukou_address", 3)
            .any(&["户籍", "户口"])
            .any(&["地", "址", "所在"])
            .none(&["类型", "性质", "类别"]),
        FieldRule::new("hukou", 3)
            .any(&["户籍", "户口"])
            .any(&["类型", "性质", "类别"]),
        FieldRule::new("school_status", 2)
            .any(&[
                "就学",
                "就读情况",
                "学段",
                "在校情况",
                "上学情况",
                "入学",
                "在读",
            ])
            .none(&["学校", "原因"]),
        FieldRule::new("school_name", 2)
            .any(&["学校", "就读单位"])
            .none(&["类型", "情况"]),
        FieldRule::new("grade", 2).any(&["年级", "班级"]),
        FieldRule::new("not_in_school_reason", 3)
            .any(&["原因"])
            .any(&["失学", "辍学", "未在校", "未入学", "未上学", "不在校"]),
        FieldRule::new("health", 2)
            .any(&["健康", "身体状况", "身体情况"])
            .none(&["父", "母", "监护"]),
        FieldRule::new("illness", 2)
            .any(&["疾病", "患病", "病种", "病情", "病史"])
            .none(&["父", "母", "监护"]),
        FieldRule::new("disability_kind", 3)
            .any(&["残疾"])
            .any(&["类别", "类型", "种类"])
            .none(&["父", "母", "监护", "是否"]),
        FieldRule::new("disability_grade", 3)
            .any(&["残疾"])
            .any(&["等级", "级别"])
            .none(&["父", "母", "监护"]),
        FieldRule::new("guardian_name", 3)
            .any(CARERS)
            .any(&["姓名", "名字", "名称"]),
        FieldRule::new("guardian_name", 2).any(CARERS).none(&[
            "电话", "手机", "联系", "号码", "身份", "证件", "关系", "地址", "住址", "年龄", "能力",
            "工作", "单位", "情况", "状况",
        ]),
        FieldRule::new("guardian_relationship", 2)
            .any(&["关系"])
            .none(&["父亲", "母亲"]),
        FieldRule::new("guardian_phone", 3)
            .any(CARERS)
            .any(PHONES)
            .none(&["身份", "证件"]),
        FieldRule::new("guardian_phone", 1)
            .any(&["电话", "手机", "联系方式"])
            .none(&["父", "母", "主任", "督导", "本人", "身份", "学校", "村委"]),
        FieldRule::new("guardian_id_number", 3)
            .any(CARERS)
            .any(&["身份证", "证件号", "身份号码"]),
        FieldRule::new("support", 2).any(&["低保", "特困", "保障", "救助", "兜底"]),
        FieldRule::new("categories", 3)
            .any(&["类别", "类型", "分类"])
            .any(&["儿童", "人员", "对象"])
            .none(&["残疾", "户籍", "困境"]),
        FieldRule::new("distress_subtypes", 4)
            .any(&["困境"])
            .any(&["类型", "类别", "情形", "原因"]),
        flag("is_left_behind", &["留守"]),
        FieldRule::new("is_left_behind", 2)
            .any(&["留守"])
            .none(&["类型", "类别"]),
        flag("is_orphan", &["孤儿"]),
        flag("is_unsupported", &["事实无人抚养"]),
        FieldRule::new("is_unsupported", 2).any(&["事实无人抚养"]),
        flag("is_distressed", &["困境"]),
        flag("is_disabled", &["残疾"]),
        flag("is_dibao", &["低保"]),
        flag("is_tekun", &["特困"]),
        FieldRule::new("risk", 2).any(&["风险"]),
        FieldRule::new("notes", 1)
            .any(&["备注", "说明", "其他情况", "其它情况"])
            .none(&["填表"]),
    ];
    rules.extend(parent("父", "father"));
    rules.extend(parent("母", "mother"));
    rules
}

/// The matcher for imports within `within`: the region's configured headers (setting
/// `import_header_aliases`: `{"field": ["header", ...]}`) before the defaults, then the
/// key words.
pub async fn matcher_for(
    store: &Store,
    within: DivisionCode,
    today: chrono::NaiveDate,
) -> Result<HeaderMatcher, StoreError> {
    // The first alias that matches wins: configured headers go before the defaults.
    let mut ordered: Vec<(String, Vec<String>)> = Vec::new();
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
            ordered.push((field, headers));
        }
    }
    ordered.extend(default_aliases());
    Ok(HeaderMatcher::new(ordered).with_rules(rules()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> HeaderMatcher {
        HeaderMatcher::new(default_aliases()).with_rules(rules())
    }

    /// Every header variant the import promises to understand, with the field it means.
    pub const VARIANTS: &[(&str, &str)] = &[
        ("所在村（社区）", "village"),
        ("所在村(社区)", "village"),
        ("村（社区）名称", "village"),
        ("村(居)委会", "village"),
        ("现住村", "village"),
        ("社区", "village"),
        ("村代码", "village_code"),
        ("所在乡镇（街道）", "township"),
        ("乡镇\n(街道)", "township"),
        ("现居住地", "address"),
        ("家庭住址", "address"),
        ("户籍所在地", "hukou_address"),
        ("户口性质", "hukou"),
        ("监护人电话", "guardian_phone"),
        ("监护人联系电话", "guardian_phone"),
        ("联系电话", "guardian_phone"),
        ("家长联系方式", "guardian_phone"),
        ("家长手机号码", "guardian_phone"),
        ("监护人姓名", "guardian_name"),
        ("实际监护人", "guardian_name"),
        ("监护人身份证号码", "guardian_id_number"),
        ("与儿童关系", "guardian_relationship"),
        ("是否留守", "is_left_behind"),
        ("是否留守儿童", "is_left_behind"),
        ("是否孤儿", "is_orphan"),
        ("是否事实无人抚养儿童", "is_unsupported"),
        ("儿童姓名", "name"),
        ("学生姓名", "name"),
        ("身份证号码", "id_number"),
        ("儿童身份证\n号码", "id_number"),
        ("公民身份号码", "id_number"),
        ("出生年月", "birth_date"),
        ("年龄（周岁）", "age"),
        ("父亲姓名", "father_name"),
        ("父亲外出务工时间", "father_since"),
        ("父亲务工地点", "father_place"),
        ("母亲情况", "mother_status"),
        ("母亲去向", "mother_status"),
        ("就读学校", "school_name"),
        ("在校情况", "school_status"),
        ("辍学原因", "not_in_school_reason"),
        ("困境儿童类型", "distress_subtypes"),
        ("儿童类别", "categories"),
        ("残疾等级", "disability_grade"),
        ("残疾类别", "disability_kind"),
        ("是否低保", "is_dibao"),
        ("低保特困", "support"),
        ("保障类型", "support"),
        ("风险等级", "risk"),
        ("备注说明", "notes"),
    ];

    #[test]
    fn every_promised_header_variant_finds_its_field() {
        let m = m();
        for (header, field) in VARIANTS {
            assert_eq!(
                m.field_of(header).as_deref(),
                Some(*field),
                "{header}: {:?}",
                m.scores(header)
            );
        }
    }

    #[test]
    fn headers_that_are_someone_elses_are_not_the_childs() {
        let m = m();
        for (header, not) in [
            ("父亲电话", "guardian_phone"),
            ("监护人姓名", "name"),
            ("母亲身份证号", "id_number"),
            ("儿童主任", "guardian_name"),
            ("村代码", "village"),
            ("填表人", "name"),
        ] {
            assert_ne!(m.field_of(header).as_deref(), Some(not), "{header}");
        }
        assert_eq!(m.field_of("爱好"), None);
    }

    #[test]
    fn every_field_has_a_label_and_a_rule_or_alias() {
        let m = m();
        let known = m.fields();
        for (f, l) in FIELDS {
            assert!(known.contains(f), "{f} cannot be recognised");
            assert_eq!(label(f), *l);
        }
        for f in known {
            assert!(FIELDS.iter().any(|(k, _)| *k == f), "{f} has no label");
        }
    }
}
