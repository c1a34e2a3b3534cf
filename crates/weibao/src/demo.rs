//! `serve --demo`: 四川省广元市朝天区 with a station and a supervisor per township, a
//! work point and a director per village (the network its work report describes), and the
//! county's office, from data shipped in this repository.

use weibao_domain::access::{Role, Scope};
use weibao_domain::record::short_village_name;
use weibao_domain::{DivisionCode, Level};
use weibao_store::{NewUser, Store, StoreError};

/// The county the demo runs on.
pub const DEMO_COUNTY: &str = "510812";
/// Every demo account's password (printed at start; demo data only).
pub const DEMO_PASSWORD: &str = "Weibao@2026";

const DIVISIONS: &str = include_str!("../demo/divisions-510812.csv");
/// The committee's duties and plan (lines `duty|…` and `task|…`; see the file's head).
const COMMITTEE: &str = include_str!("../demo/committee-510812.txt");

/// A demo account, for printing.
pub struct DemoAccount {
    pub username: String,
    pub role: Role,
    pub where_: String,
}

/// Loads the demo on an empty database; on a database with any division or account it
/// changes nothing and returns None.
pub async fn load(store: &Store) -> Result<Option<Vec<DemoAccount>>, String> {
    let err = |e: StoreError| e.to_string();
    let counts = store.division_counts().await.map_err(err)?;
    if counts.iter().sum::<i64>() > 0 || store.user_count().await.map_err(err)? > 0 {
        return Ok(None);
    }
    let system = Scope::system();
    let mut rows = Vec::new();
    crate::divisions_csv::read(DIVISIONS.as_bytes(), "demo", None, &mut rows)?;
    store
        .import_divisions(&system, &rows, |_| {})
        .await
        .map_err(err)?;

    let county = DivisionCode::parse(DEMO_COUNTY).expect("demo county code");
    let name_of = |code: DivisionCode| {
        rows.iter()
            .find(|r| r.code == code)
            .map(|r| r.name.clone())
            .unwrap_or_default()
    };
    let mut accounts = Vec::new();
    let mut add =
        |username: String, display: String, role: Role, at: DivisionCode, unit: Option<&str>| {
            accounts.push((
                NewUser {
                    username,
                    display_name: display,
                    role,
                    division: at,
                    unit: unit.map(Into::into),
                    phone: None,
                    password: DEMO_PASSWORD.into(),
                    must_change_password: false,
                    designated: false,
                },
                name_of(at),
            ));
        };
    let county_name = name_of(county);
    add(
        "admin".into(),
        "系统管理员".into(),
        Role::Admin,
        county,
        None,
    );
    add(
        "office".into(),
        format!("{county_name}未保办"),
        Role::Office,
        county,
        None,
    );
    add(
        "head".into(),
        format!("{county_name}未保办主任"),
        Role::Office,
        county,
        None,
    );
    add(
        "auditor".into(),
        format!("{county_name}审计员"),
        Role::Auditor,
        county,
        None,
    );
    add(
        "security".into(),
        format!("{county_name}安全管理员"),
        Role::Security,
        county,
        None,
    );
    add(
        "police".into(),
        format!("{county_name}公安局联络员"),
        Role::Unit,
        county,
        Some("公安"),
    );
    add(
        "school".into(),
        format!("{county_name}教育局（强制报告）"),
        Role::Reporter,
        county,
        Some("教育"),
    );
    for r in rows.iter().filter(|r| county.contains(r.code)) {
        match r.code.level() {
            Level::Township => add(
                format!("sup-{}", r.code.prefix()),
                format!("{}儿童督导员", r.name),
                Role::Supervisor,
                r.code,
                None,
            ),
            Level::Village => add(
                format!("dir-{}", r.code.prefix()),
                format!("{}儿童主任", short_village_name(&r.name)),
                Role::Director,
                r.code,
                None,
            ),
            _ => {}
        }
    }
    for r in rows
        .iter()
        .filter(|r| county.contains(r.code) && r.code.level() == Level::Township)
    {
        store
            .create_station(&system, r.code, &format!("{}未成年人保护工作站", r.name))
            .await
            .map_err(err)?;
    }
    let mut out = Vec::new();
    let mut directors = std::collections::HashMap::new();
    let mut supervisors = std::collections::HashMap::new();
    let mut office = None;
    let mut school = None;
    for (user, where_) in accounts {
        let u = store.create_user(&system, user).await.map_err(err)?;
        let scope = Scope::new(&u.id, &u.username, u.role, u.division, None);
        if u.username == "head" {
            store.set_head(&system, &u.id, true).await.map_err(err)?;
        }
        match u.role {
            Role::Reporter => school = Some(scope),
            Role::Office if u.username == "head" => {}
            Role::Director => {
                directors.insert(u.division, scope);
            }
            Role::Supervisor => {
                supervisors.insert(u.division, scope);
            }
            Role::Office => office = Some(scope),
            _ => {}
        }
        out.push(DemoAccount {
            username: u.username,
            role: u.role,
            where_,
        });
    }
    network(store, county, &rows).await?;
    let villages: Vec<DivisionCode> = rows
        .iter()
        .filter(|r| county.contains(r.code) && r.code.level() == Level::Village)
        .map(|r| r.code)
        .collect();
    let today = store.clock().today();
    let children = crate::synth::children(DEMO_SEED, DEMO_CHILDREN, &villages, today)
        .into_iter()
        .map(|r| (r, false))
        .collect();
    store
        .import_children(&system, county, children, "demo", |_| {})
        .await
        .map_err(err)?;
    visits(store, county, &directors).await?;
    let office = office.expect("the demo has a county office");
    allowances(store, county, &office, &directors, &supervisors).await?;
    let school = school.expect("the demo has a reporting institution");
    reports(store, county, &office, &school).await?;
    committee(store, county, &county_name).await?;
    year_of_work(store, county, &county_name, &office).await?;
    Ok(Some(out))
}

/// The network 朝天区's work report describes (seed 002: "建成未成年人保护工作站12个、
/// 未成年保护工作点(家)139个、未成年人保护工作服务站6个，配齐配强儿童督导员12人、儿童主任
/// 139名"): a work point in every village and a director for it, a supervisor for every
/// township (its station is made with the accounts), service stations in six townships'
/// central schools. Each person is linked to their demo account; most directors were
/// trained this year, some not yet. The names are made up.
async fn network(
    store: &Store,
    county: DivisionCode,
    rows: &[weibao_store::DivisionImportRow],
) -> Result<(), String> {
    use weibao_domain::network::{PersonInput, PlaceKind};
    let err = |e: StoreError| e.to_string();
    let system = Scope::system();
    let today = store.clock().today();
    let mut rng = crate::synth::Rng::new(DEMO_SEED ^ 0x0e7);
    let qualifications = [
        "村（居）委委员",
        "村（居）委委员",
        "大学生村官",
        "社会工作者",
    ];
    let year_start =
        chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), 1, 1).expect("1 January");
    let mut service_stations = 0;
    for r in rows.iter().filter(|r| county.contains(r.code)) {
        let (post, username, qualification) = match r.code.level() {
            Level::Township => (
                "supervisor",
                format!("sup-{}", r.code.prefix()),
                "乡镇（街道）干部",
            ),
            Level::Village => {
                store
                    .add_place(
                        &system,
                        weibao_store::NewPlace {
                            kind: PlaceKind::WorkPoint,
                            division: r.code,
                            name: format!("{}儿童之家", short_village_name(&r.name)),
                            address: format!("{}村（居）委会", short_village_name(&r.name)),
                            opened_on: Some(
                                today - chrono::Duration::days(400 + rng.below(900) as i64),
                            ),
                            staff: 1,
                        },
                        "demo",
                    )
                    .await
                    .map_err(err)?;
                (
                    "director",
                    format!("dir-{}", r.code.prefix()),
                    *rng.pick(&qualifications),
                )
            }
            _ => continue,
        };
        if r.code.level() == Level::Township && service_stations < 6 {
            service_stations += 1;
            store
                .add_place(
                    &system,
                    weibao_store::NewPlace {
                        kind: PlaceKind::ServiceStation,
                        division: r.code,
                        name: format!("{}中心学校未成年人保护服务站", r.name),
                        address: format!("{}中心学校", r.name),
                        opened_on: Some(
                            today - chrono::Duration::days(200 + rng.below(300) as i64),
                        ),
                        staff: 2,
                    },
                    "demo",
                )
                .await
                .map_err(err)?;
        }
        let appointed = today - chrono::Duration::days(300 + rng.below(1500) as i64);
        let a = PersonInput {
            name: crate::synth::adult_name(&mut rng),
            post: post.into(),
            division: r.code.full(),
            qualification: Some(qualification.into()),
            phone: Some(format!("139{:08}", rng.below(100_000_000))),
            appointed_on: Some(appointed.to_string()),
            ..PersonInput::default()
        }
        .check(today)
        .map_err(|(field, e)| format!("demo network {field}: {}", e.message))?;
        let person = store
            .appoint(&system, a, Some(&username), "demo")
            .await
            .map_err(err)?;
        if rng.chance(0.85) {
            let held = (today - chrono::Duration::days(rng.below(60) as i64)).max(year_start);
            store
                .record_training(
                    &system,
                    &person.id,
                    held,
                    4.0,
                    "区级儿童工作业务培训",
                    "demo",
                )
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}

/// The unit a line of the committee file names: a kind (未保办, 公安, 教育…) is the
/// county's unit of that kind; anything else a unit of its own, named after the county
/// (委宣传部 → 朝天区委宣传部), made the first time.
async fn committee_unit(
    store: &Store,
    county: DivisionCode,
    county_name: &str,
    token: &str,
    made: &mut std::collections::HashMap<String, String>,
) -> Result<String, String> {
    use weibao_domain::work::UnitKind;
    if let Some(id) = made.get(token) {
        return Ok(id.clone());
    }
    let kind = if token == "未保办" {
        Some(UnitKind::Office)
    } else {
        UnitKind::from_member_unit(token)
    };
    let unit = match kind {
        Some(kind) => store.county_unit(county, kind).await,
        None => {
            store
                .create_unit(
                    &Scope::system(),
                    weibao_store::NewUnit {
                        kind: UnitKind::Other,
                        name: format!("{county_name}{token}"),
                        division: county,
                        contacts: vec![],
                    },
                )
                .await
        }
    }
    .map_err(|e| format!("demo unit {token}: {e}"))?;
    made.insert(token.to_string(), unit.id.clone());
    Ok(unit.id)
}

/// The committee at work: each unit's duties (seed 001 as the model), this year's plan of
/// 24 tasks with their lead and co-responsible units (seed 003), one of them under 督办,
/// the committee's chair, vice-chair and members, one joint meeting held (so the year is
/// one short of its two), and a notice the units are acknowledging. Names are made up.
async fn committee(store: &Store, county: DivisionCode, county_name: &str) -> Result<(), String> {
    use chrono::Datelike;
    use weibao_domain::committee::{split_duties, split_units, Position};
    let err = |e: StoreError| e.to_string();
    let system = Scope::system();
    let today = store.clock().today();
    let mut made = std::collections::HashMap::new();
    let mut tasks = Vec::new();
    for line in COMMITTEE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let fields: Vec<&str> = line.split('|').collect();
        match fields.as_slice() {
            ["duty", unit, text] => {
                let id = committee_unit(store, county, county_name, unit, &mut made).await?;
                store
                    .set_duties(&system, &id, &split_duties(text), "demo")
                    .await
                    .map_err(err)?;
            }
            ["task", number, title, lead, co] => {
                let lead = committee_unit(store, county, county_name, lead, &mut made).await?;
                let mut co_ids = Vec::new();
                for u in split_units(co) {
                    co_ids.push(committee_unit(store, county, county_name, &u, &mut made).await?);
                }
                let n: i64 = number.parse().unwrap_or(1);
                let task = store
                    .add_task(
                        &system,
                        county,
                        weibao_store::NewTask {
                            year: today.year(),
                            number: number.to_string(),
                            title: title.to_string(),
                            detail: String::new(),
                            lead_unit_id: lead,
                            co_unit_ids: co_ids,
                            due_on: today + chrono::Duration::days(20 + 7 * n),
                        },
                        "demo",
                    )
                    .await
                    .map_err(err)?;
                tasks.push(task);
            }
            _ => return Err(format!("demo committee line not understood: {line}")),
        }
    }
    // 督办 on task 6 (campus safety), five working days.
    if let Some(t) = tasks.iter().find(|t| t.number == "6") {
        let due = store
            .deadline_after(
                store.clock().now_ms(),
                weibao_domain::work::Span::WorkingDays(5),
            )
            .await
            .map_err(err)?;
        store
            .supervise(
                &system,
                &t.work_id,
                weibao_store::Supervision::Supervised,
                due.at_ms,
                "请于期限内报送校园周边安全隐患排查整治情况",
                "demo",
            )
            .await
            .map_err(err)?;
    }
    let mut rng = crate::synth::Rng::new(DEMO_SEED ^ 0xc0);
    let members = [
        ("未保办", Position::Chair, "副区长"),
        ("民政", Position::ViceChair, "局长"),
        ("教育", Position::Member, "副局长"),
        ("公安", Position::Member, "副局长"),
        ("卫健", Position::Member, "副局长"),
        ("法院", Position::Member, "副院长"),
        ("检察院", Position::Member, "副检察长"),
        ("司法", Position::Member, "副局长"),
        ("妇联", Position::Member, "副主席"),
        ("团委", Position::Member, "副书记"),
        ("公安", Position::Liaison, "科长"),
    ];
    let term_from = today
        .with_month(1)
        .and_then(|d| d.with_day(1))
        .unwrap_or(today)
        - chrono::Duration::days(365);
    for (unit, position, title) in members {
        let unit_id = committee_unit(store, county, county_name, unit, &mut made).await?;
        store
            .add_member(
                &system,
                county,
                weibao_store::NewMember {
                    unit_id,
                    name: crate::synth::adult_name(&mut rng),
                    title: title.into(),
                    position,
                    phone: format!("138{:08}", rng.below(100_000_000)),
                    term_from,
                    term_to: None,
                },
                "demo",
            )
            .await
            .map_err(err)?;
    }
    // One joint meeting early in the year.
    let held_on = today
        .with_month(3)
        .and_then(|d| d.with_day(20))
        .filter(|d| *d <= today)
        .unwrap_or(today);
    let mut attendees = Vec::new();
    for u in [
        "未保办",
        "民政",
        "教育",
        "公安",
        "卫健",
        "法院",
        "检察院",
        "妇联",
        "团委",
    ] {
        attendees.push(committee_unit(store, county, county_name, u, &mut made).await?);
    }
    store
        .record_meeting(
            &system,
            county,
            weibao_store::NewMeeting {
                held_on,
                convener: "副区长".into(),
                unit_ids: attendees,
                agenda: "通报上年度未成年人保护工作情况；审议本年度工作要点".into(),
                minutes: "会议听取了区民政局关于上年度工作的汇报，审议通过本年度工作要点，要求各成员单位按照职责分工抓好落实。".into(),
                resolutions: vec![],
            },
            "demo",
        )
        .await
        .map_err(err)?;
    store
        .issue_notice(
            &system,
            county,
            "关于开展未成年人保护工作督导检查的通报",
            "各成员单位、各乡镇（街道）：为推动年度工作任务落实，区未保委办公室将于近期开展督导检查，请各单位对照任务清单做好自查，并于收到本通报后三个工作日内签收。",
            "demo",
        )
        .await
        .map_err(err)?;
    Ok(())
}

/// The year's other work (seeds 000, 002 and 004): activities at each level, a social-work
/// agency bought in with its contract, workers and services to ledger children, and two
/// proposals: one 民政 is handling, one whose reply waits for the office's review.
async fn year_of_work(
    store: &Store,
    county: DivisionCode,
    county_name: &str,
    office: &Scope,
) -> Result<(), String> {
    use chrono::Datelike;
    use weibao_domain::activities::ActivityInput;
    use weibao_domain::proposals::ProposalInput;
    use weibao_domain::services::{AgencyInput, ContractInput, ServiceInput, WorkerInput};
    let err = |what: &str, e: StoreError| format!("demo {what}: {e}");
    let today = store.clock().today();
    let days_ago = |n: i64| {
        let d = today - chrono::Duration::days(n);
        if d.year() < today.year() {
            today.with_day(1).unwrap_or(today)
        } else {
            d
        }
    };
    let mut made = std::collections::HashMap::new();
    let civil = committee_unit(store, county, county_name, "民政", &mut made).await?;
    let education = committee_unit(store, county, county_name, "教育", &mut made).await?;
    let police = committee_unit(store, county, county_name, "公安", &mut made).await?;

    let activities = [
        (
            "“儿童主任走万家”寒假走访",
            "visit_campaign",
            40,
            "各村（社区）",
            139,
            1100,
            0,
            None,
        ),
        (
            "防性侵安全教育进校园",
            "lecture",
            25,
            "区实验小学",
            420,
            400,
            500,
            Some(&police),
        ),
        (
            "儿童督导员、儿童主任业务培训",
            "training",
            60,
            "区民政局会议室",
            151,
            0,
            151,
            None,
        ),
        (
            "“点亮六一”未成年人保护宣传",
            "publicity",
            10,
            "城区广场",
            800,
            300,
            2000,
            Some(&civil),
        ),
    ];
    for (title, kind, ago, place, participants, children, materials, unit) in activities {
        store
            .add_activity(
                office,
                weibao_store::NewActivity {
                    input: ActivityInput {
                        title: title.into(),
                        kind: kind.into(),
                        held_on: Some(days_ago(ago)),
                        place: place.into(),
                        participants,
                        children_reached: children,
                        materials,
                        summary: String::new(),
                    },
                    division: None,
                    unit_id: unit.cloned(),
                },
                vec![],
                "demo",
            )
            .await
            .map_err(|e| err("activity", e))?;
    }

    let first17 = format!("52{}MJ0000001", &county.prefix()[..6]);
    let agency = store
        .add_agency(
            office,
            AgencyInput {
                name: format!("{county_name}阳光社会工作服务中心"),
                credit_code: format!(
                    "{first17}{}",
                    weibao_domain::credit_code::check_char(first17.as_bytes())
                ),
                override_reason: String::new(),
                contact: "赵社工".into(),
                phone: "13800000000".into(),
            },
            "demo",
        )
        .await
        .map_err(|e| err("agency", e))?;
    let contract = store
        .add_contract(
            office,
            &agency.id,
            ContractInput {
                project: "困境儿童关爱服务项目".into(),
                amount: "300000".into(),
                starts_on: Some(
                    today
                        .with_month(1)
                        .and_then(|d| d.with_day(1))
                        .unwrap_or(today),
                ),
                ends_on: Some(
                    today
                        .with_month(12)
                        .and_then(|d| d.with_day(31))
                        .unwrap_or(today),
                ),
                target_children: 100,
                required_hours: "1200".into(),
            },
            "demo",
        )
        .await
        .map_err(|e| err("contract", e))?;
    let mut workers = Vec::new();
    for (name, kind, qualification) in [
        ("赵社工", "social_worker", "intermediate"),
        ("钱社工", "social_worker", "assistant"),
        ("孙志愿者", "volunteer", "none"),
    ] {
        let w = store
            .add_worker(
                office,
                WorkerInput {
                    name: name.into(),
                    kind: kind.into(),
                    qualification: qualification.into(),
                },
                Some(&agency.id),
                "demo",
            )
            .await
            .map_err(|e| err("worker", e))?;
        workers.push(w.id);
    }
    let (children, _) = store
        .list_children(
            office,
            &weibao_store::ChildFilter {
                per_page: 12,
                page: 1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| err("children", e))?;
    for (i, child) in children.iter().enumerate() {
        let kind = ["home_visit", "counselling", "tutoring", "companionship"][i % 4];
        store
            .add_service(
                office,
                weibao_store::NewService {
                    input: ServiceInput {
                        kind: kind.into(),
                        served_on: Some(days_ago(5 + i as i64 * 3)),
                        hours: ["2", "1.5", "3", "2"][i % 4].into(),
                        note: String::new(),
                    },
                    worker_id: workers[i % workers.len()].clone(),
                    contract_id: Some(contract.id.clone()),
                    child_id: Some(child.id.clone()),
                    activity_id: None,
                },
                "demo",
            )
            .await
            .map_err(|e| err("service", e))?;
    }

    let system = Scope::system();
    store
        .add_proposal(
            &system,
            county,
            weibao_store::NewProposal {
                input: ProposalInput {
                    kind: "proposal".into(),
                    year: today.year(),
                    session: format!("政协{county_name}委员会全会"),
                    number: "15".into(),
                    category: "社会事业".into(),
                    title: "关于加强全区未成年人关爱保护工作的建议".into(),
                    text: "建议完善联席会议制度，充实基层未保工作力量，加强儿童督导员、儿童主任专业化建设，引导社会力量参与未保工作。".into(),
                    proposer: "刘某某".into(),
                    co_signers: vec!["徐某某".into()],
                    key: true,
                    assigned_on: Some(days_ago(40)),
                },
                supervisor: "区政府督查室".into(),
                lead_unit_id: civil.clone(),
                co_unit_ids: vec![education.clone(), police.clone()],
            },
            "demo",
        )
        .await
        .map_err(|e| err("proposal", e))?;
    let replied = store
        .add_proposal(
            &system,
            county,
            weibao_store::NewProposal {
                input: ProposalInput {
                    kind: "suggestion".into(),
                    year: today.year(),
                    session: format!("{county_name}人民代表大会"),
                    number: "37".into(),
                    category: "教育".into(),
                    title: "关于加强农村留守儿童心理健康服务的建议".into(),
                    text: "建议在乡镇中心校配齐心理健康教师，定期为留守儿童开展心理辅导。".into(),
                    proposer: "王某某".into(),
                    co_signers: vec![],
                    key: false,
                    assigned_on: Some(days_ago(60)),
                },
                supervisor: String::new(),
                lead_unit_id: education.clone(),
                co_unit_ids: vec![civil.clone()],
            },
            "demo",
        )
        .await
        .map_err(|e| err("proposal", e))?;
    store
        .reply_proposal(
            &system,
            &replied.id,
            "B",
            "一是各乡镇中心校已配备专兼职心理健康教师；二是每学期为留守儿童开展不少于两次团体心理辅导；三是将心理健康服务纳入明年购买服务项目。",
            "demo",
        )
        .await
        .map_err(|e| err("proposal reply", e))?;
    Ok(())
}

/// Reports at work: a school's mandatory report referred to the police (waiting for the
/// police to accept it), a case opened on it with a task for education, and a neighbour's
/// phone call waiting for the office to look at it. The people and events are made up.
async fn reports(
    store: &Store,
    county: DivisionCode,
    office: &Scope,
    school: &Scope,
) -> Result<(), String> {
    use weibao_domain::reports::{ChildHint, Institution, ReportInput, Reporter};
    use weibao_domain::work::UnitKind;
    use weibao_store::{CaseTaskInput, ChildFilter, NewReport, ReferralTarget};
    let err = |e: StoreError| e.to_string();
    let (children, _) = store
        .list_children(
            office,
            &ChildFilter {
                division: Some(county),
                per_page: 2,
                page: 1,
                ..ChildFilter::default()
            },
        )
        .await
        .map_err(err)?;
    let [first, second] = children.as_slice() else {
        return Err("演示数据：台账中儿童不足两名".into());
    };
    let now = chrono::DateTime::from_timestamp_millis(store.clock().now_ms())
        .expect("a time")
        .with_timezone(&weibao_domain::visit::cst());
    let about = |report: ReportInput, child: &weibao_store::ChildSummary| {
        let report = report.check(now, None).map_err(|e| e.invalid.message)?;
        Ok::<_, String>(NewReport {
            report,
            division: DivisionCode::parse(&child.division_code).map_err(|e| e.message)?,
            child_id: Some(child.id.clone()),
            visit_id: None,
            hotline_order: None,
            hotline_due_at: None,
        })
    };
    let mandatory = ReportInput {
        channel: Some("mandatory".into()),
        situations: vec!["s4".into()],
        description: "班主任发现该生手臂、背部有多处新旧淤青，询问时回避，称“在家摔的”。".into(),
        reporter: Reporter {
            name: "王老师".into(),
            unit: "中心小学".into(),
            institution: Some(Institution::School),
            phone: "13800000000".into(),
            ..Reporter::default()
        },
        ..ReportInput::default()
    };
    let filed = store
        .file_report(school, about(mandatory, first)?, "demo")
        .await
        .map_err(err)?;
    store
        .refer(
            office,
            &filed.id,
            ReferralTarget::Kind(UnitKind::Police),
            "请核查是否存在家庭暴力，依法处置并答复。",
            None,
            "",
            "demo",
        )
        .await
        .map_err(err)?;
    let case = store
        .open_case(office, Some(&filed.id), None, None, "demo")
        .await
        .map_err(err)?;
    store
        .add_case_task(
            office,
            &case.id,
            CaseTaskInput {
                unit: ReferralTarget::Kind(UnitKind::Education),
                title: "学校安排心理老师每周谈话一次，关注出勤".into(),
                due_on: None,
            },
            "demo",
        )
        .await
        .map_err(err)?;
    let call = ReportInput {
        channel: Some("phone".into()),
        situations: vec!["s6".into()],
        description: "邻居来电：孩子的奶奶住院一周，孩子一个人在家，晚上不敢睡。".into(),
        child: ChildHint {
            age: Some(9),
            ..ChildHint::default()
        },
        reporter: Reporter {
            name: "张女士（邻居）".into(),
            phone: "13900000000".into(),
            ..Reporter::default()
        },
        ..ReportInput::default()
    };
    store
        .file_report(office, about(call, second)?, "demo")
        .await
        .map_err(err)?;
    Ok(())
}

/// Allowances at work: standards, last month's roll locked, and applications at every
/// step. The 1,694.00 yuan a month of 社会散居孤儿 (also 事实无人抚养 and 受艾滋病影响,
/// which follow it at 100%) is 奎文区's 2022 figure from seed 004, reused here; the other
/// amounts are illustrative, not Sichuan's official standards.
async fn allowances(
    store: &Store,
    county: DivisionCode,
    office: &Scope,
    directors: &std::collections::HashMap<DivisionCode, Scope>,
    supervisors: &std::collections::HashMap<DivisionCode, Scope>,
) -> Result<(), String> {
    use weibao_domain::allowances::{types, Decision, FiledAs, Step};
    use weibao_domain::{Fen, Month};
    use weibao_store::{NewApplication, NewStandard};
    let err = |e: StoreError| e.to_string();
    let system = Scope::system();
    // Two months back: the standards are set, the first cases are filed, checked and
    // confirmed; last month's roll pays them and is locked; then today again.
    let clock = store.clock();
    let now = clock.now_ms();
    let this = Month::of(clock.today());
    let at = |m: Month| {
        (m.first_day() + chrono::Duration::days(9))
            .and_hms_opt(2, 0, 0)
            .expect("a time")
            .and_utc()
            .timestamp_millis()
    };
    clock.advance_ms(at(this.plus(-2)) - now);
    let from = Month::new(2024, 1).expect("a month");
    let fixed = [
        (types::ORPHAN_SCATTERED, "51", 169_400),
        (types::ORPHAN_INSTITUTIONAL, DEMO_COUNTY, 210_000),
        (types::DISTRESSED, DEMO_COUNTY, 60_000),
        (types::DISABILITY_TWO, DEMO_COUNTY, 16_000),
        (types::STUDY_GRANT, DEMO_COUNTY, 30_000),
    ];
    for (code, at, fen) in fixed {
        store
            .create_standard(
                &system,
                NewStandard {
                    type_code: code.into(),
                    division: DivisionCode::parse(at).expect("demo division"),
                    amount: Some(Fen(fen)),
                    follows_type: None,
                    follows_percent: None,
                    from,
                    to: None,
                    note: "演示数据".into(),
                },
                "demo",
            )
            .await
            .map_err(err)?;
    }
    for code in [types::FACTUALLY_UNSUPPORTED, types::HIV_AFFECTED] {
        store
            .create_standard(
                &system,
                NewStandard {
                    type_code: code.into(),
                    division: county,
                    amount: None,
                    follows_type: Some(types::ORPHAN_SCATTERED.into()),
                    follows_percent: Some(100),
                    from,
                    to: None,
                    note: "按社会散居孤儿标准的 100%".into(),
                },
                "demo",
            )
            .await
            .map_err(err)?;
    }
    let mut proposals = store
        .eligible_candidates(office, county)
        .await
        .map_err(err)?;
    // Orphans and children without de-facto caregivers first: the seeds' figures.
    let rank = |t: &str| match t {
        types::ORPHAN_SCATTERED | types::ORPHAN_INSTITUTIONAL => 0,
        types::FACTUALLY_UNSUPPORTED => 1,
        _ => 2,
    };
    proposals.sort_by_key(|p| rank(&p.type_code));
    // One basic allowance per child, the first the ledger shows.
    let mut seen = std::collections::HashSet::new();
    let picks: Vec<_> = proposals
        .into_iter()
        .filter(|p| p.type_code != types::STUDY_GRANT && seen.insert(p.child_id.clone()))
        .take(16)
        .collect();
    let township = |village: &str| {
        DivisionCode::parse(&village[..9])
            .ok()
            .and_then(|t| supervisors.get(&t))
    };
    let file = |n: usize, p: &weibao_store::Eligible| NewApplication {
        child_id: p.child_id.clone(),
        type_code: p.type_code.clone(),
        filed_as: match n % 3 {
            0 => FiledAs::GuardianForm,
            _ => FiledAs::Village,
        },
        applicant: "监护人".into(),
        bank_name: "四川农信朝天支行".into(),
        account_holder: "监护人".into(),
        bank_account: Some(format!(
            "6217 0021 {:04} {:04} 031",
            1000 + n * 37,
            2000 + n * 53
        )),
        note: String::new(),
    };
    for (n, p) in picks.iter().take(8).enumerate() {
        let (Some(dir), Some(sup)) = (
            DivisionCode::parse(&p.division)
                .ok()
                .and_then(|v| directors.get(&v)),
            township(&p.division),
        ) else {
            continue;
        };
        let case = store
            .create_application(dir, file(n, p), "demo")
            .await
            .map_err(err)?;
        store
            .decide_application(
                sup,
                &case.id,
                Step::Township,
                Decision::Approve,
                "已入户核实，材料齐全",
                "demo",
            )
            .await
            .map_err(err)?;
        store
            .decide_application(
                office,
                &case.id,
                Step::County,
                Decision::Approve,
                "经审核符合条件，同意纳入保障",
                "demo",
            )
            .await
            .map_err(err)?;
    }
    clock.advance_ms(at(this.plus(-1)) - clock.now_ms());
    let roll = store
        .generate_roll(office, county, this.prev(), "demo")
        .await
        .map_err(err)?;
    store
        .lock_roll(office, &roll.id, true, "demo")
        .await
        .map_err(err)?;
    clock.advance_ms(now - clock.now_ms());
    // Today: applications waiting at each step, and one refused.
    for (n, p) in picks.iter().enumerate().skip(8) {
        let (Some(dir), Some(sup)) = (
            DivisionCode::parse(&p.division)
                .ok()
                .and_then(|v| directors.get(&v)),
            township(&p.division),
        ) else {
            continue;
        };
        let case = store
            .create_application(dir, file(n, p), "demo")
            .await
            .map_err(err)?;
        match n {
            8..=10 => {}
            11..=13 => {
                store
                    .decide_application(
                        sup,
                        &case.id,
                        Step::Township,
                        Decision::Approve,
                        "已入户核实，材料齐全",
                        "demo",
                    )
                    .await
                    .map_err(err)?;
            }
            _ => {
                store
                    .decide_application(
                        sup,
                        &case.id,
                        Step::Township,
                        Decision::Reject,
                        "缺少父母死亡证明，请补充后重新申请",
                        "demo",
                    )
                    .await
                    .map_err(err)?;
            }
        }
    }
    Ok(())
}

/// Past visits by each village's director, so that worklists and progress show a county
/// at work: most children visited in the last three months, some overdue, a few dangers.
async fn visits(
    store: &Store,
    county: DivisionCode,
    directors: &std::collections::HashMap<DivisionCode, Scope>,
) -> Result<(), String> {
    use weibao_domain::visit::{CheckInput, CheckItem, VisitInput};
    let err = |e: StoreError| e.to_string();
    let filter = weibao_store::ChildFilter {
        division: Some(county),
        page: 1,
        per_page: DEMO_CHILDREN as u32,
        ..Default::default()
    };
    let (children, _) = store
        .list_children(&Scope::system(), &filter)
        .await
        .map_err(err)?;
    let mut rng = crate::synth::Rng::new(DEMO_SEED ^ 0x5a5a);
    let now = chrono::DateTime::from_timestamp_millis(store.clock().now_ms())
        .expect("clock in range")
        .with_timezone(&weibao_domain::visit::cst());
    for c in &children {
        let Ok(village) = DivisionCode::parse(&c.division_code) else {
            continue;
        };
        let Some(director) = directors.get(&village) else {
            continue;
        };
        // One in five not yet visited (due or overdue for a first visit).
        if rng.below(5) == 0 {
            continue;
        }
        let danger = rng.below(40) == 0;
        let days_ago = 3 + rng.below(85) as i64;
        let at = now
            - chrono::Duration::days(days_ago)
            - chrono::Duration::minutes(rng.below(300) as i64);
        let left_behind = c
            .categories()
            .contains(weibao_domain::child::Category::RuralLeftBehind);
        let checks = CheckItem::CORE
            .iter()
            .copied()
            .chain(left_behind.then_some(CheckItem::ParentContact))
            .map(|item| CheckInput {
                item: item.label().into(),
                finding: if danger && item == CheckItem::Guardianship {
                    "危险".into()
                } else if rng.below(8) == 0 {
                    "关注".into()
                } else {
                    "正常".into()
                },
                note: (danger && item == CheckItem::Guardianship)
                    .then(|| "祖父住院，儿童独自在家".into()),
            })
            .collect();
        let input = VisitInput {
            visited_at: Some(at.to_rfc3339()),
            method: Some(
                if rng.below(6) == 0 {
                    "电话"
                } else {
                    "入户"
                }
                .into(),
            ),
            duration_minutes: Some(20 + 10 * rng.below(5) as u32),
            present: Some(vec!["儿童本人".into(), "实际照料人".into()]),
            checks: Some(checks),
            risk_after: danger.then(|| "高".into()),
            ..Default::default()
        };
        store
            .record_visit(director, &c.id, input, None, "demo")
            .await
            .map_err(err)?;
    }
    Ok(())
}

/// How many synthetic children the demo registers, and from which seed.
pub const DEMO_CHILDREN: usize = 400;
const DEMO_SEED: u64 = 510812;

#[cfg(test)]
mod tests {
    use weibao_domain::record::short_village_name;

    #[test]
    fn village_committee_names_shorten_to_what_people_say() {
        assert_eq!(short_village_name("朝天村村民委员会"), "朝天村");
        assert_eq!(short_village_name("北街社区居委会"), "北街社区");
        assert_eq!(short_village_name("某某居民委员会"), "某某");
        assert_eq!(short_village_name("新村"), "新村");
    }
}
