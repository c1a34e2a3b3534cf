//! A corpus of township ledgers as they are really kept (titles, notes, two-row headers
//! under merged groups, line breaks and brackets of either width in headers, 是/否
//! columns, no village column at all), each imported through the API: every column must
//! be read as the right field, and every value must land in the record.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};
use serde_json::Value;
use weibao_domain::access::Scope;

use super::support::TestApp;
use super::upload;

/// A cell of a ledger row.
#[derive(Clone)]
enum V {
    T(String),
    Date(chrono::NaiveDate),
    Num(f64),
}

impl V {
    fn text(&self) -> String {
        match self {
            V::T(s) => s.clone(),
            V::Date(d) => d.to_string(),
            V::Num(n) => format!("{n}"),
        }
    }
}

fn t(s: &str) -> V {
    V::T(s.to_string())
}

/// The header: one row, or groups (a group's cell merged over its sub-headers; a group
/// with no sub-headers is one header merged down both rows).
enum Header {
    One(Vec<&'static str>),
    Two(Vec<(&'static str, Vec<&'static str>)>),
}

struct Case {
    name: &'static str,
    /// Lines above the header (a title merged across, notes).
    above: Vec<&'static str>,
    header: Header,
    /// The field each column must be read as (None: not imported, e.g. 序号).
    fields: Vec<Option<&'static str>>,
    /// The division the file is imported into.
    division: &'static str,
    rows: Vec<Vec<V>>,
}

fn write_case(case: &Case) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws: &mut Worksheet = wb.add_worksheet();
    let plain = Format::new();
    let width = case.fields.len() as u16;
    let mut r = 0u32;
    for (i, line) in case.above.iter().enumerate() {
        if i == 0 && width > 1 {
            ws.merge_range(r, 0, r, width - 1, line, &Format::new().set_bold())
                .unwrap();
        } else {
            ws.write_string(r, 0, *line).unwrap();
        }
        r += if i == 0 { 2 } else { 1 };
    }
    match &case.header {
        Header::One(cells) => {
            for (c, h) in cells.iter().enumerate() {
                ws.write_string(r, c as u16, *h).unwrap();
            }
            r += 1;
        }
        Header::Two(groups) => {
            let mut c = 0u16;
            for (group, subs) in groups {
                if subs.is_empty() {
                    ws.merge_range(r, c, r + 1, c, group, &plain).unwrap();
                    c += 1;
                } else {
                    let last = c + subs.len() as u16 - 1;
                    if last > c {
                        ws.merge_range(r, c, r, last, group, &plain).unwrap();
                    } else {
                        ws.write_string(r, c, *group).unwrap();
                    }
                    for (i, sub) in subs.iter().enumerate() {
                        ws.write_string(r + 1, c + i as u16, *sub).unwrap();
                    }
                    c = last + 1;
                }
            }
            r += 2;
        }
    }
    let day = Format::new().set_num_format("yyyy-mm-dd");
    for row in &case.rows {
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            match v {
                V::T(s) if s.is_empty() => {}
                V::T(s) => {
                    ws.write_string(r, c, s).unwrap();
                }
                V::Num(n) => {
                    ws.write_number(r, c, *n).unwrap();
                }
                V::Date(d) => {
                    use chrono::Datelike;
                    let dt =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .unwrap();
                    ws.write_datetime_with_format(r, c, &dt, &day).unwrap();
                }
            }
        }
        r += 1;
    }
    wb.save_to_buffer().unwrap()
}

/// A valid 身份证号 of a child born `years_ago` years ago on 3 March, unique by `seq`.
fn id(years_ago: i32, seq: u32) -> String {
    super::child_id(years_ago, seq)
}

fn born(id: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(&id[6..14], "%Y%m%d").unwrap()
}

fn age_of(id: &str) -> f64 {
    let today = chrono::Utc::now().date_naive();
    weibao_domain::IdNumber::parse(id, today)
        .unwrap()
        .age_on(today) as f64
}

fn sex_of(id: &str) -> &'static str {
    if (id.as_bytes()[16] - b'0') % 2 == 1 {
        "男"
    } else {
        "女"
    }
}

/// The village codes of the fixture's names.
fn village_code(name: &str) -> &'static str {
    match name {
        "朝天村" | "朝天村村民委员会" => "510812100200",
        "青云村" => "510812100202",
        "朱家村" => "510812100203",
        "明月路社区" => "510812100001",
        "横梁村" => "510812101200",
        "敬忠村" => "510812101205",
        other => panic!("no fixture village {other}"),
    }
}

fn corpus() -> Vec<Case> {
    let mut seq = 500;
    let mut next = |years: i32| {
        seq += 1;
        id(years, seq)
    };
    let d = |s: &str| V::Date(chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
    let mut cases = Vec::new();

    // 1. The header the issue reports: nothing imported, the phone silently dropped.
    let (a, b) = (next(9), next(12));
    cases.push(Case {
        name: "issue header",
        above: vec![],
        header: Header::One(vec![
            "序号",
            "儿童姓名",
            "性别",
            "身份证号码",
            "出生日期",
            "所在村（社区）",
            "监护人姓名",
            "监护人联系电话",
        ]),
        fields: vec![
            None,
            Some("name"),
            Some("sex"),
            Some("id_number"),
            Some("birth_date"),
            Some("village"),
            Some("guardian_name"),
            Some("guardian_phone"),
        ],
        division: "510812",
        rows: vec![
            vec![
                V::Num(1.0),
                t("张小花"),
                t(sex_of(&a)),
                t(&a),
                V::Date(born(&a)),
                t("朝天村"),
                t("张大山"),
                t("13812345678"),
            ],
            vec![
                V::Num(2.0),
                t("李小军"),
                t(sex_of(&b)),
                t(&b),
                t(&born(&b).format("%Y.%m.%d").to_string()),
                t("横梁村"),
                t("李四"),
                V::Num(13912345678.0),
            ],
        ],
    });

    // 2. A title, a note, half-width brackets, 户籍所在地 and 是否留守.
    let (a, b) = (next(8), next(10));
    cases.push(Case {
        name: "title, note, 是否留守",
        above: vec![
            "朝天镇农村留守儿童和困境儿童信息台账（2026年）",
            "填报单位：朝天镇人民政府　　填报日期：2026年11月",
        ],
        header: Header::One(vec![
            "姓名",
            "公民身份号码",
            "村(社区)名称",
            "家长联系方式",
            "户籍所在地",
            "是否留守",
            "户口性质",
        ]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("village"),
            Some("guardian_phone"),
            Some("hukou_address"),
            Some("is_left_behind"),
            Some("hukou"),
        ],
        division: "510812100",
        rows: vec![
            vec![
                t("王小明"),
                t(&a),
                t("青云村"),
                t("13700001111"),
                t("四川省广元市朝天区朝天镇青云村三组"),
                t("是"),
                t("农村"),
            ],
            vec![
                t("赵小红"),
                t(&b),
                t("朱家村"),
                t("13700002222"),
                t("朝天镇朱家村一组"),
                t("否"),
                t("农村"),
            ],
        ],
    });

    // 3. A two-row header: 儿童基本信息 over its columns, 监护人 over name, phone and
    //    relationship.
    let a = next(11);
    cases.push(Case {
        name: "two-row header under merged groups",
        above: vec!["大滩镇困境儿童台账"],
        header: Header::Two(vec![
            ("序号", vec![]),
            ("儿童基本信息", vec!["姓名", "身份证号", "性别"]),
            ("所在村", vec![]),
            ("监护人", vec!["姓名", "电话", "关系"]),
        ]),
        fields: vec![
            None,
            Some("name"),
            Some("id_number"),
            Some("sex"),
            Some("village"),
            Some("guardian_name"),
            Some("guardian_phone"),
            Some("guardian_relationship"),
        ],
        division: "510812101",
        rows: vec![vec![
            V::Num(1.0),
            t("周小燕"),
            t(&a),
            t(sex_of(&a)),
            t("敬忠村"),
            t("周建国"),
            t("15900003333"),
            t("祖父"),
        ]],
    });

    // 4. Line breaks inside header cells and full-width brackets.
    let a = next(7);
    cases.push(Case {
        name: "line breaks in headers",
        above: vec![],
        header: Header::One(vec![
            "儿童\n姓名",
            "身份证\n号码",
            "所在\n乡镇（街道）",
            "所在村\n（居）",
            "监护人\n身份证号码",
            "监护人\n姓名",
        ]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("township"),
            Some("village"),
            Some("guardian_id_number"),
            Some("guardian_name"),
        ],
        division: "510812",
        rows: vec![vec![
            t("吴小兰"),
            t(&a),
            t("朝天镇"),
            t("朝天村"),
            t(&id(60, 901)),
            t("吴老汉"),
        ]],
    });

    // 5. No village column: the village is found in 现居住地; 联系电话 is the guardian's.
    let (a, b) = (next(6), next(13));
    cases.push(Case {
        name: "village inside 现居住地",
        above: vec!["朝天区儿童信息登记表"],
        header: Header::One(vec![
            "姓名",
            "身份证号",
            "现居住地",
            "联系电话",
            "实际监护人",
        ]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("address"),
            Some("guardian_phone"),
            Some("guardian_name"),
        ],
        division: "510812",
        rows: vec![
            vec![
                t("郑小六"),
                t(&a),
                t("朝天镇朝天村五组12号"),
                t("18600004444"),
                t("郑奶奶"),
            ],
            vec![
                t("冯小七"),
                t(&b),
                t("大滩镇横梁村二组"),
                t("18600005555"),
                t("冯爷爷"),
            ],
        ],
    });

    // 6. Parents' columns as left-behind ledgers keep them.
    let a = next(9);
    cases.push(Case {
        name: "parents' situation",
        above: vec![],
        header: Header::One(vec![
            "儿童姓名",
            "身份证号码",
            "所在村",
            "父亲姓名",
            "父亲身份证号码",
            "父亲外出务工时间",
            "父亲务工地点",
            "母亲姓名",
            "母亲身份证号",
            "母亲情况",
            "母亲务工地",
        ]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("village"),
            Some("father_name"),
            Some("father_id_number"),
            Some("father_since"),
            Some("father_place"),
            Some("mother_name"),
            Some("mother_id_number"),
            Some("mother_status"),
            Some("mother_place"),
        ],
        division: "510812100",
        rows: vec![vec![
            t("陈小东"),
            t(&a),
            t("朝天村"),
            t("陈大伟"),
            t(&id(38, 902)),
            d("2024-02-01"),
            t("广东省东莞市"),
            t("刘梅"),
            t(&id(36, 903)),
            t("外出务工"),
            t("浙江省宁波市"),
        ]],
    });

    // 7. Schooling and health.
    let a = next(10);
    cases.push(Case {
        name: "school and health",
        above: vec![],
        header: Header::One(vec![
            "学生姓名",
            "身份证件号码",
            "村（居）",
            "就读学校",
            "年级",
            "在校情况",
            "健康状况",
            "疾病情况",
            "残疾类别",
            "残疾等级",
        ]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("village"),
            Some("school_name"),
            Some("grade"),
            Some("school_status"),
            Some("health"),
            Some("illness"),
            Some("disability_kind"),
            Some("disability_grade"),
        ],
        division: "510812100",
        rows: vec![vec![
            t("褚小北"),
            t(&a),
            t("明月路社区"),
            t("朝天区朝天镇中心小学"),
            t("四年级"),
            t("小学"),
            t("一般"),
            t("哮喘"),
            t("肢体残疾"),
            t("3级"),
        ]],
    });

    // 8. Categories, risk and notes in their own words; a region's 困境 sub-type.
    let a = next(12);
    cases.push(Case {
        name: "categories, risk, notes",
        above: vec![],
        header: Header::One(vec![
            "姓名",
            "身份证号",
            "所属村",
            "儿童类别",
            "是否孤儿",
            "是否低保",
            "风险等级",
            "备注说明",
        ]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("village"),
            Some("categories"),
            Some("is_orphan"),
            Some("is_dibao"),
            Some("risk"),
            Some("notes"),
        ],
        division: "510812100",
        rows: vec![vec![
            t("卫小西"),
            t(&a),
            t("朱家村"),
            t("残疾儿童"),
            t("否"),
            t("是"),
            t("中"),
            t("需每月走访"),
        ]],
    });

    // 9. A village code column and the township, a 序号 and a blank column between.
    let a = next(5);
    cases.push(Case {
        name: "village codes",
        above: vec![],
        header: Header::One(vec![
            "序号",
            "乡镇（街道）",
            "村代码",
            "姓名",
            "身份证号码",
            "家庭住址",
        ]),
        fields: vec![
            None,
            Some("township"),
            Some("village_code"),
            Some("name"),
            Some("id_number"),
            Some("address"),
        ],
        division: "510812",
        rows: vec![vec![
            V::Num(1.0),
            t("大滩镇"),
            t("510812101205"),
            t("蒋小南"),
            t(&a),
            t("敬忠村四组"),
        ]],
    });

    // 10. Required marks, full-width letters, shuffled order.
    let a = next(14);
    cases.push(Case {
        name: "required marks",
        above: vec!["说明：带*为必填项"],
        header: Header::One(vec![
            "*所在村（居）",
            "身份证号（必填）",
            "＊儿童姓名",
            "性别",
            "出生年月",
            "监护人电话",
        ]),
        fields: vec![
            Some("village"),
            Some("id_number"),
            Some("name"),
            Some("sex"),
            Some("birth_date"),
            Some("guardian_phone"),
        ],
        division: "510812101",
        rows: vec![vec![
            t("横梁村"),
            t(&a),
            t("沈小中"),
            t(sex_of(&a)),
            t(&born(&a).format("%Y年%m月%d日").to_string()),
            t("13300006666"),
        ]],
    });

    // 11. Two-row header with parents' groups: 父亲情况 / 母亲情况 over 状况, 起始日期.
    let a = next(8);
    cases.push(Case {
        name: "parents' groups in a two-row header",
        above: vec!["留守儿童花名册"],
        header: Header::Two(vec![
            ("姓名", vec![]),
            ("身份证号码", vec![]),
            ("所在村", vec![]),
            ("父亲情况", vec!["状况", "起始日期"]),
            ("母亲情况", vec!["状况", "起始日期"]),
        ]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("village"),
            Some("father_status"),
            Some("father_since"),
            Some("mother_status"),
            Some("mother_since"),
        ],
        division: "510812100",
        rows: vec![vec![
            t("韩小冬"),
            t(&a),
            t("青云村"),
            t("外出务工"),
            d("2023-09-01"),
            t("外出务工"),
            d("2023-10-01"),
        ]],
    });

    // 12. The seeds' own words: 农村留守儿童（是/否）, 事实无人抚养儿童, 困境儿童类型,
    //     监护人 alone and 与儿童关系.
    let a = next(13);
    cases.push(Case {
        name: "the seeds' words",
        above: vec!["未成年人保护动态台账"],
        header: Header::One(vec![
            "儿童姓名",
            "身份证号",
            "所在村",
            "农村留守儿童（是/否）",
            "是否事实无人抚养儿童",
            "困境儿童类型",
            "监护人",
            "与儿童关系",
            "年龄",
        ]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("village"),
            Some("is_left_behind"),
            Some("is_unsupported"),
            Some("distress_subtypes"),
            Some("guardian_name"),
            Some("guardian_relationship"),
            Some("age"),
        ],
        division: "510812100",
        rows: vec![vec![
            t("杨小秋"),
            t(&a),
            t("朝天村"),
            t("是"),
            t("否"),
            t("家庭经济困难"),
            t("杨外婆"),
            t("外祖母"),
            V::Num(age_of(&a)),
        ]],
    });

    // 13. 现住址 and a village column both, plus 低保特困 and 家长姓名.
    let a = next(4);
    cases.push(Case {
        name: "address beside the village",
        above: vec![],
        header: Header::One(vec![
            "儿童姓名",
            "身份证号码",
            "现住村",
            "现住址",
            "家长姓名",
            "家长手机号码",
            "低保特困",
        ]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("village"),
            Some("address"),
            Some("guardian_name"),
            Some("guardian_phone"),
            Some("support"),
        ],
        division: "510812100",
        rows: vec![vec![
            t("朱小夏"),
            t(&a),
            t("朝天村"),
            t("朝天村七组"),
            t("朱爸爸"),
            t("13500007777"),
            t("特困"),
        ]],
    });
    cases
}

/// Checks that one value of a row landed in the record as the field it was read as.
fn assert_lands(field: &str, v: &V, child: &weibao_store::StoredChild, row: &[V], case: &Case) {
    let r = &child.record;
    let id = r.id_number();
    let s = v.text();
    let date = |v: &V| match v {
        V::Date(d) => *d,
        V::T(s) => weibao_sheets::parse_date_text(s).expect("a date"),
        V::Num(_) => panic!("date as a number"),
    };
    let what = format!("{}: {field} = {s}", case.name);
    match field {
        "name" => assert_eq!(r.name, s, "{what}"),
        "id_number" => assert_eq!(id.to_string(), s.to_uppercase(), "{what}"),
        "sex" => assert_eq!(id.sex().label(), s, "{what}"),
        "birth_date" => assert_eq!(id.birth_date(), date(v), "{what}"),
        "age" => assert_eq!(
            id.age_on(chrono::Utc::now().date_naive()).to_string(),
            s,
            "{what}"
        ),
        "village" => assert_eq!(r.division().full(), village_code(&s), "{what}"),
        "village_code" => assert_eq!(r.division().full(), s, "{what}"),
        "township" => assert!(
            r.division().full().starts_with(match s.as_str() {
                "朝天镇" => "510812100",
                "大滩镇" => "510812101",
                other => panic!("no fixture township {other}"),
            }),
            "{what}"
        ),
        "address" => {
            assert_eq!(r.address, s, "{what}");
            // Without a village column, the village came from the address.
            let has_village = case
                .fields
                .iter()
                .any(|f| matches!(f, Some("village") | Some("village_code")));
            if !has_village {
                let name = ["朝天村", "横梁村", "敬忠村"]
                    .into_iter()
                    .find(|n| s.contains(n))
                    .unwrap();
                assert_eq!(r.division().full(), village_code(name), "{what}");
            }
        }
        "hukou" => assert_eq!(r.hukou.label(), s, "{what}"),
        "hukou_address" => assert_eq!(r.hukou_address, s, "{what}"),
        "school_status" => assert_eq!(r.school_status.unwrap().label(), s, "{what}"),
        "school_name" => assert_eq!(r.school_name, s, "{what}"),
        "grade" => assert_eq!(r.grade, s, "{what}"),
        "health" => assert_eq!(r.health.label(), s, "{what}"),
        "illness" => assert_eq!(r.illness, s, "{what}"),
        "disability_kind" => assert_eq!(r.disability.unwrap().kind.label(), s, "{what}"),
        "disability_grade" => assert_eq!(
            r.disability.unwrap().grade.to_string(),
            s.trim_end_matches('级'),
            "{what}"
        ),
        "guardian_name" => assert_eq!(r.guardians[0].name, s, "{what}"),
        "guardian_phone" => assert_eq!(r.guardians[0].phone, s, "{what}"),
        "guardian_relationship" => assert_eq!(r.guardians[0].relationship, s, "{what}"),
        "guardian_id_number" => assert_eq!(r.guardians[0].id_number, s, "{what}"),
        "father_name" => assert_eq!(r.father.name, s, "{what}"),
        "father_id_number" => assert_eq!(r.father.id_number, s, "{what}"),
        "mother_id_number" => assert_eq!(r.mother.id_number, s, "{what}"),
        "father_status" => assert_eq!(r.father.status.label(), s, "{what}"),
        "father_since" => assert_eq!(r.father.since, Some(date(v)), "{what}"),
        "father_place" => assert_eq!(r.father.place, s, "{what}"),
        "mother_name" => assert_eq!(r.mother.name, s, "{what}"),
        "mother_status" => assert_eq!(r.mother.status.label(), s, "{what}"),
        "mother_since" => assert_eq!(r.mother.since, Some(date(v)), "{what}"),
        "mother_place" => assert_eq!(r.mother.place, s, "{what}"),
        "support" => assert!(r.support.iter().any(|x| x.label() == s), "{what}"),
        "categories" => {
            for c in s.split('、') {
                assert!(r.categories.iter().any(|x| x.label() == c), "{what}");
            }
        }
        "distress_subtypes" => assert!(r.distress_subtypes.contains(&s), "{what}"),
        "risk" => assert_eq!(r.risk.label(), s, "{what}"),
        "notes" => assert_eq!(r.notes, s, "{what}"),
        flag if flag.starts_with("is_") => {
            let label = match flag {
                "is_left_behind" => "农村留守儿童",
                "is_orphan" => "孤儿",
                "is_unsupported" => "事实无人抚养儿童",
                "is_distressed" => "困境儿童",
                "is_disabled" => "残疾儿童",
                "is_dibao" => "低保",
                "is_tekun" => "特困",
                other => panic!("no flag {other}"),
            };
            let has = r.categories.iter().any(|c| c.label() == label)
                || r.support.iter().any(|x| x.label() == label);
            assert_eq!(has, s == "是", "{what}");
        }
        other => panic!(
            "{}: no check for {other} ({row:?})",
            case.name,
            row = row.len()
        ),
    }
}

#[test]
fn a_corpus_of_township_ledgers_imports_every_column_into_the_right_field() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    let corpus = corpus();
    assert!(corpus.len() >= 12);
    for case in &corpus {
        // Past the rate limit's minute: each case uploads twice.
        app.store.clock().advance_ms(61_000);
        let bytes = write_case(case);
        let path = format!("/api/v1/children/import?division={}", case.division);
        let (status, report) = upload(&app, &office, &path, &bytes);
        assert_eq!(status, 200, "{}: {report}", case.name);
        assert_eq!(
            report["errors"],
            Value::Array(vec![]),
            "{}: {report}",
            case.name
        );
        let columns = report["columns"].as_array().unwrap();
        let read_as: Vec<Option<&str>> = columns.iter().map(|c| c["field"].as_str()).collect();
        assert_eq!(
            read_as, case.fields,
            "{}: {:#}",
            case.name, report["columns"]
        );
        assert_eq!(report["rows_good"], case.rows.len(), "{}", case.name);
        let (status, done) = upload(&app, &office, &format!("{path}&dry_run=false"), &bytes);
        assert_eq!(status, 200, "{}: {done}", case.name);
        assert_eq!(done["imported"], case.rows.len(), "{}", case.name);
        let id_col = case
            .fields
            .iter()
            .position(|f| *f == Some("id_number"))
            .unwrap();
        for row in &case.rows {
            let number = row[id_col].text().to_uppercase();
            let (_, list) = app.get(&format!("/api/v1/children?q={number}"), Some(&office));
            let child_id = list["items"][0]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: {number} not in the ledger: {list}", case.name));
            let child = app
                .block_on(
                    app.store
                        .read_child(&Scope::system(), child_id, true, "test"),
                )
                .unwrap();
            for (field, v) in case.fields.iter().zip(row) {
                if let Some(f) = field {
                    assert_lands(f, v, &child, row, case);
                }
            }
        }
    }
}

#[test]
fn a_missing_village_column_is_reported_once_with_the_headers_seen() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    let case = Case {
        name: "no village",
        above: vec![],
        header: Header::One(vec!["序号", "儿童姓名", "身份证号码", "监护人姓名"]),
        fields: vec![None, Some("name"), Some("id_number"), Some("guardian_name")],
        division: "510812",
        rows: (0..3)
            .map(|i| vec![V::Num(i as f64), t("某某"), t(&id(8, 700 + i)), t("某家长")])
            .collect(),
    };
    let (status, report) = upload(
        &app,
        &office,
        "/api/v1/children/import?division=510812",
        &write_case(&case),
    );
    assert_eq!(status, 200, "{report}");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "one problem, not one a row: {report}");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message
            .starts_with("找不到“所在村（居）”列；表头是：序号、儿童姓名、身份证号码、监护人姓名"),
        "{message}"
    );
    assert_eq!(errors[0]["field"], "village");
    // Imported into one village, the same sheet needs no village column.
    let (status, report) = upload(
        &app,
        &office,
        "/api/v1/children/import?division=510812100200&dry_run=false",
        &write_case(&case),
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["imported"], 3);
}

#[test]
fn a_column_with_data_is_never_dropped_unseen_and_the_mapping_changes_what_is_read() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    // Two phone columns: the guardian's is taken by 监护人电话; 联系电话 would be lost.
    let a = id(9, 800);
    let case = Case {
        name: "two phones",
        above: vec![],
        header: Header::One(vec![
            "姓名",
            "身份证号",
            "所在村",
            "监护人电话",
            "联系电话",
            "爱好",
        ]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("village"),
            Some("guardian_phone"),
            None,
            None,
        ],
        division: "510812100",
        rows: vec![vec![
            t("秦小一"),
            t(&a),
            t("朝天村"),
            t("13800008888"),
            t("13900009999"),
            t("画画"),
        ]],
    };
    let bytes = write_case(&case);
    let base = "/api/v1/children/import?division=510812100";
    let (status, report) = upload(&app, &office, base, &bytes);
    assert_eq!(status, 200);
    let e = &report["columns"][4];
    assert_eq!(e["column"], "E");
    assert_eq!(e["field"], Value::Null);
    assert_eq!(e["has_data"], true);
    assert_eq!(e["sample"], "1390****999", "a long number is shown masked");
    assert!(
        e["note"]
            .as_str()
            .unwrap()
            .contains("已由 D 列“监护人电话”导入"),
        "{e}"
    );
    // The commit refuses while the column is unaccounted for, and imports nothing.
    let (status, refused) = upload(&app, &office, &format!("{base}&dry_run=false"), &bytes);
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["imported"], 0);
    let problem = &refused["errors"][0];
    assert_eq!(problem["field"], "mapping");
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains("第 E 列“联系电话”"),
        "{problem}"
    );
    let (_, list) = app.get(&format!("/api/v1/children?q={a}"), Some(&office));
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // 爱好 has no field in the ledger: listed, never blocking.
    assert_eq!(report["columns"][5]["note"], "台账中没有对应的字段，不导入");
    // The user takes E for the guardian's phone and leaves D out: the report says so.
    let mapping = super::support::url_encode(r#"{"E":"guardian_phone","D":""}"#);
    let (status, report) = upload(&app, &office, &format!("{base}&mapping={mapping}"), &bytes);
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["columns"][3]["field"], Value::Null);
    assert_eq!(report["columns"][3]["chosen"], true);
    assert_eq!(report["columns"][4]["field"], "guardian_phone");
    let (status, done) = upload(
        &app,
        &office,
        &format!("{base}&mapping={mapping}&dry_run=false"),
        &bytes,
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["imported"], 1);
    let (_, list) = app.get(&format!("/api/v1/children?q={a}"), Some(&office));
    let child = app
        .block_on(app.store.read_child(
            &Scope::system(),
            list["items"][0]["id"].as_str().unwrap(),
            true,
            "test",
        ))
        .unwrap();
    assert_eq!(child.record.guardians[0].phone, "13900009999");
    // A mapping naming no field, or no column, is refused with the field named.
    for bad in [r#"{"E":"phone"}"#, r#"{"5":"name"}"#, "not json"] {
        let (status, body) = upload(
            &app,
            &office,
            &format!("{base}&mapping={}", super::support::url_encode(bad)),
            &bytes,
        );
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "mapping", "{bad}");
    }
}

#[test]
fn a_sex_or_birth_date_the_id_number_contradicts_is_refused() {
    let app = TestApp::sqlite();
    let office = app.token("office");
    let a = id(9, 850);
    let wrong_sex = if sex_of(&a) == "男" { "女" } else { "男" };
    let case = Case {
        name: "contradictions",
        above: vec![],
        header: Header::One(vec!["姓名", "身份证号", "所在村", "性别", "出生日期"]),
        fields: vec![
            Some("name"),
            Some("id_number"),
            Some("village"),
            Some("sex"),
            Some("birth_date"),
        ],
        division: "510812100",
        rows: vec![
            vec![t("甲"), t(&a), t("朝天村"), t(wrong_sex), V::Date(born(&a))],
            vec![t("乙"), t(&id(9, 851)), t("朝天村"), t(""), t("2001-01-01")],
        ],
    };
    let (status, report) = upload(
        &app,
        &office,
        "/api/v1/children/import?division=510812100",
        &write_case(&case),
    );
    assert_eq!(status, 200);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{report}");
    assert_eq!(errors[0]["field"], "sex");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("与身份证号"),
        "{report}"
    );
    assert_eq!(errors[1]["field"], "birth_date");
}

#[test]
fn browser_import_shows_the_column_mapping_and_a_change_is_checked_again_on_a_phone() {
    let Some(browser) = super::Browser::start(360, 740) else {
        return;
    };
    let app = TestApp::sqlite();
    let a = id(9, 880);
    let case = Case {
        name: "two phones",
        above: vec!["朝天镇儿童台账"],
        header: Header::One(vec![
            "姓名",
            "身份证号码",
            "所在村（社区）",
            "监护人电话",
            "联系电话",
        ]),
        fields: vec![],
        division: "510812100",
        rows: vec![vec![
            t("许小五"),
            t(&a),
            t("朝天村"),
            t("13800001234"),
            t("13900005678"),
        ]],
    };
    let dir = super::support::TempDir::new();
    let file = dir.path().join("two-phones.xlsx");
    std::fs::write(&file, write_case(&case)).unwrap();
    browser.goto(&format!("{}/login", app.base));
    browser.fill("input[name=username]", "sup-a");
    browser.fill("input[name=password]", super::PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_text("h1", "我的工作");
    browser.goto(&format!("{}/children/import", app.base));
    browser.fill("input[type=file]", file.to_str().unwrap());
    browser.click("#import-form button[type=submit]");
    browser.wait_for_text("#import-mapping", "1 列有内容但未导入");
    // Each column, what it is read as, and the one left out marked.
    assert_eq!(browser.count("#import-mapping tbody tr"), 5);
    assert_eq!(
        browser.eval("return document.querySelector('select[name=map-C]').value"),
        "village"
    );
    assert_eq!(browser.count("#import-mapping tr.warn"), 1);
    assert!(browser.text("#import-mapping tr.warn").contains("联系电话"));
    assert_eq!(
        browser.count("#import-commit"),
        0,
        "no commit while a column is undecided"
    );
    browser.screenshot("import-mapping-360");
    // The E column is the guardian's phone: D is left out, and the check runs again.
    browser.select("select[name=map-E]", "guardian_phone");
    browser.wait_for_text("#import-report", "检查通过");
    browser.wait_for_text("#import-mapping tr[data-column=D]", "已选择不导入");
    browser.click("#import-commit");
    browser.wait_for_text("#import-report", "已导入 1 名儿童");
    let office = app.token("office");
    let (_, list) = app.get(&format!("/api/v1/children?q={a}"), Some(&office));
    let child = app
        .block_on(app.store.read_child(
            &Scope::system(),
            list["items"][0]["id"].as_str().unwrap(),
            true,
            "test",
        ))
        .unwrap();
    assert_eq!(child.record.guardians[0].phone, "13900005678");
}
