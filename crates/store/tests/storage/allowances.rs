//! Allowances on SQLite, PostgreSQL and Citus: applications through their steps, rolls
//! from the standards in force, locked rolls that never change, adjustments, hand-over
//! between counties, privacy of the sensitive records, totals and budgets.

use chrono::{Datelike, NaiveDate};
use weibao_domain::access::{Role, Scope};
use weibao_domain::allowances::{Decision, EndCause, FiledAs, Status, Step};
use weibao_domain::record::{ChildPatch, ParentInput};
use weibao_domain::{DivisionCode, Fen, Month};
use weibao_store::testing::TestDb;
use weibao_store::{BulkOutcome, CaseFilter, NewApplication, NewStandard, Store, StoreError};

use super::{add_user, code, scope_of, seeded};

const VILLAGE: &str = "510812100201";
const VILLAGE_2: &str = "510812100202";
const OTHER_VILLAGE: &str = "510811100201";

/// The people of one test: a director, the township's supervisor and the county office
/// of 510812, and a director and office of the neighbouring county 510811.
struct People {
    dir: Scope,
    sup: Scope,
    office: Scope,
    dir_x: Scope,
    office_x: Scope,
}

async fn people(s: &Store) -> People {
    People {
        dir: scope_of(&add_user(s, "dir-a", Role::Director, VILLAGE).await),
        sup: scope_of(&add_user(s, "sup-a", Role::Supervisor, "510812100").await),
        office: scope_of(&add_user(s, "office", Role::Office, "510812").await),
        dir_x: scope_of(&add_user(s, "dir-x", Role::Director, OTHER_VILLAGE).await),
        office_x: scope_of(&add_user(s, "office-x", Role::Office, "510811").await),
    }
}

fn today(s: &Store) -> NaiveDate {
    s.clock().today()
}

fn this_month(s: &Store) -> Month {
    Month::of(today(s))
}

/// Moves the store's clock to the 2nd of the next month (Beijing time).
fn next_month(s: &Store) {
    let target = this_month(s).next().first_day() + chrono::Duration::days(1);
    let days = (target - today(s)).num_days();
    s.clock().advance_ms(days * 86_400_000);
}

/// A 身份证号 of 510812 for someone born on `birth`.
fn id_for(birth: NaiveDate, seq: u32) -> String {
    let first17 = format!("510812{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    format!(
        "{first17}{}",
        weibao_domain::id_number::check_char(first17.as_bytes())
    )
}

fn parent(status: &str) -> Option<ParentInput> {
    Some(ParentInput {
        status: Some(status.into()),
        since: Some("2020-01-01".into()),
        ..Default::default()
    })
}

/// An orphan (both parents dead, 社会散居) of a 低保 household: 孤儿 and 困境儿童 implied.
async fn orphan(
    s: &Store,
    dir: &Scope,
    name: &str,
    birth: NaiveDate,
    seq: u32,
    village: &str,
) -> String {
    let p = ChildPatch {
        name: Some(name.into()),
        id_number: Some(id_for(birth, seq)),
        division: Some(village.into()),
        father: parent("死亡"),
        mother: parent("死亡"),
        support: Some(vec!["低保".into()]),
        school_status: Some("小学".into()),
        ..Default::default()
    };
    s.create_child(dir, p, "").await.unwrap().id
}

fn ten_years_ago(s: &Store) -> NaiveDate {
    let t = today(s);
    NaiveDate::from_ymd_opt(t.year() - 10, 3, 7).unwrap()
}

fn application(child: &str, type_code: &str) -> NewApplication {
    NewApplication {
        child_id: child.into(),
        type_code: type_code.into(),
        filed_as: FiledAs::Village,
        applicant: "祖母王秀兰".into(),
        bank_name: "四川农信".into(),
        account_holder: "王秀兰".into(),
        bank_account: Some("6217 0000 1234 5678 901".into()),
        note: String::new(),
    }
}

async fn standard(s: &Store, by: &Scope, type_code: &str, at: &str, from: Month, yuan: i64) {
    s.create_standard(
        by,
        NewStandard {
            type_code: type_code.into(),
            division: code(at),
            amount: Some(Fen::from_yuan(yuan)),
            follows_type: None,
            follows_percent: None,
            from,
            to: None,
            note: String::new(),
        },
        "",
    )
    .await
    .unwrap();
}

/// Files, checks and confirms an application; returns its id.
async fn confirmed(s: &Store, p: &People, child: &str, type_code: &str) -> String {
    let case = s
        .create_application(&p.dir, application(child, type_code), "")
        .await
        .unwrap();
    s.decide_application(
        &p.sup,
        &case.id,
        Step::Township,
        Decision::Approve,
        "材料齐全",
        "",
    )
    .await
    .unwrap();
    s.decide_application(
        &p.office,
        &case.id,
        Step::County,
        Decision::Approve,
        "同意",
        "",
    )
    .await
    .unwrap();
    case.id
}

fn county() -> DivisionCode {
    code("510812")
}

#[tokio::test]
async fn an_application_goes_village_then_township_then_county_and_pays_from_the_month_after() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let p = people(s).await;
        let child = orphan(s, &p.dir, "孙小梅", ten_years_ago(s), 1, VILLAGE).await;
        let case = s
            .create_application(&p.dir, application(&child, "orphan_scattered"), "")
            .await
            .unwrap();
        assert_eq!(case.status, Status::Filed, "{}", db.label);
        assert_eq!(case.account_masked, "6217***********8901");
        assert!(
            case.eligibility.contains("登记为孤儿"),
            "{}",
            case.eligibility
        );
        // The account is sealed at rest like a 身份证号.
        let raw = db.texts("SELECT bank_account FROM allowance_cases").await;
        assert!(
            raw[0].starts_with("sm4g2:") && !raw[0].contains("62170000"),
            "{raw:?}"
        );
        // The county waits for the township; the village decides nothing.
        assert!(matches!(
            s.decide_application(
                &p.office,
                &case.id,
                Step::County,
                Decision::Approve,
                "同意",
                ""
            )
            .await,
            Err(StoreError::Conflict {
                code: "wrong_step",
                ..
            })
        ));
        assert!(matches!(
            s.decide_application(
                &p.dir,
                &case.id,
                Step::Township,
                Decision::Approve,
                "好",
                ""
            )
            .await,
            Err(StoreError::Forbidden)
        ));
        // A reason is always written down.
        assert!(matches!(
            s.decide_application(&p.sup, &case.id, Step::Township, Decision::Approve, " ", "")
                .await,
            Err(StoreError::Invalid {
                field: "reason",
                ..
            })
        ));
        let checked = s
            .decide_application(
                &p.sup,
                &case.id,
                Step::Township,
                Decision::Approve,
                "入户核实，材料齐全",
                "",
            )
            .await
            .unwrap();
        assert_eq!(checked.status, Status::Checked);
        let done = s
            .decide_application(
                &p.office,
                &case.id,
                Step::County,
                Decision::Approve,
                "同意纳入",
                "",
            )
            .await
            .unwrap();
        assert_eq!(done.status, Status::Confirmed);
        assert_eq!(done.start_month, Some(this_month(s).next()), "{}", db.label);
        let steps: Vec<(String, String, String)> = done
            .steps
            .iter()
            .map(|st| (st.step.clone(), st.decision.clone(), st.actor_name.clone()))
            .collect();
        assert_eq!(
            steps,
            [
                ("filed".into(), "".into(), "dir-a".into()),
                ("township".into(), "approve".into(), "sup-a".into()),
                ("county".into(), "approve".into(), "office".into()),
            ]
        );
        assert!(done.steps[2]
            .reason
            .contains(&format!("自 {} 起发放", this_month(s).next())));
        // One application per type; one basic living allowance at a time.
        assert!(matches!(
            s.create_application(&p.dir, application(&child, "orphan_scattered"), "")
                .await,
            Err(StoreError::Conflict {
                code: "application_exists",
                ..
            })
        ));
        assert!(matches!(
            s.create_application(&p.dir, application(&child, "distressed"), "")
                .await,
            Err(StoreError::Conflict {
                code: "exclusive_allowance",
                ..
            })
        ));
        // The ledger decides eligibility, and says why not.
        match s
            .create_application(&p.dir, application(&child, "factually_unsupported"), "")
            .await
        {
            Err(StoreError::Invalid {
                field: "type",
                invalid,
            }) => {
                assert_eq!(invalid.code, "not_eligible");
                assert!(
                    invalid.message.contains("台账未登记为事实无人抚养儿童"),
                    "{}",
                    invalid.message
                );
            }
            other => panic!("{}: {other:?}", db.label),
        }
        // Outside the subtree the application does not exist; roles without it get 403.
        assert!(matches!(
            s.application(&p.dir_x, &case.id, "").await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.application(&p.office_x, &case.id, "").await,
            Err(StoreError::NotFound)
        ));
        let unit = Scope::new("u", "unit", Role::Unit, county(), Some("公安".into()));
        assert!(matches!(
            s.application(&unit, &case.id, "").await,
            Err(StoreError::Forbidden)
        ));
        let (list, total) = s
            .list_applications(
                &p.sup,
                &CaseFilter {
                    page: 1,
                    per_page: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!((list.len(), total.count), (1, 1));
        let (list, _) = s
            .list_applications(
                &p.office_x,
                &CaseFilter {
                    page: 1,
                    per_page: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(list.is_empty());
        assert!(s.verify_audit().await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn children_who_look_eligible_and_have_no_application_are_proposed_with_the_reason() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let p = people(s).await;
        let a = orphan(s, &p.dir, "周小一", ten_years_ago(s), 11, VILLAGE).await;
        let b = orphan(s, &p.dir, "周小二", ten_years_ago(s), 12, VILLAGE).await;
        s.create_application(&p.dir, application(&a, "orphan_scattered"), "")
            .await
            .unwrap();
        let found = s
            .eligible_candidates(&p.sup, code("510812100"))
            .await
            .unwrap();
        let for_b: Vec<&str> = found
            .iter()
            .filter(|x| x.child_id == b)
            .map(|x| x.type_code.as_str())
            .collect();
        // 孤儿 first (one basic allowance only), and the study grant beside it.
        assert_eq!(for_b, ["orphan_scattered", "study_grant"], "{}", db.label);
        assert!(found
            .iter()
            .any(|x| x.child_id == b && x.reason.contains("登记为孤儿")));
        let for_a: Vec<&str> = found
            .iter()
            .filter(|x| x.child_id == a)
            .map(|x| x.type_code.as_str())
            .collect();
        assert_eq!(
            for_a,
            ["study_grant"],
            "applied for already: only the grant is left"
        );
        assert!(s
            .eligible_candidates(&p.dir_x, code(VILLAGE))
            .await
            .is_err());
    }
}

#[tokio::test]
async fn a_roll_pays_the_standard_in_force_and_a_locked_roll_never_changes() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let p = people(s).await;
        let m0 = this_month(s);
        standard(
            s,
            &p.office,
            "orphan_scattered",
            "510812",
            m0.plus(-3),
            1694,
        )
        .await;
        let child = orphan(s, &p.dir, "孙小梅", ten_years_ago(s), 1, VILLAGE).await;
        let case = confirmed(s, &p, &child, "orphan_scattered").await;
        // Confirmed this month: nothing yet this month.
        let roll = s.generate_roll(&p.office, county(), m0, "").await.unwrap();
        assert_eq!((roll.lines, roll.total), (0, Fen::ZERO), "{}", db.label);
        next_month(s);
        let m1 = this_month(s);
        assert_eq!(m1, m0.next());
        let roll = s.generate_roll(&p.office, county(), m1, "").await.unwrap();
        assert_eq!(
            (roll.lines, roll.people, roll.total),
            (1, 1, Fen(169_400)),
            "{}",
            db.label
        );
        assert_eq!(roll.changes.len(), 1, "new since last month's (empty) roll");
        assert_eq!(roll.changes[0].kind, "new");
        assert!(
            roll.changes[0].reason.contains("县级确认"),
            "{}",
            roll.changes[0].reason
        );
        // A draft is generated again as often as needed, same id.
        let again = s.generate_roll(&p.office, county(), m1, "").await.unwrap();
        assert_eq!(
            (again.id.as_str(), again.generation, again.lines),
            (roll.id.as_str(), 2, 1)
        );
        let page = s.roll(&p.office, &roll.id, 1, 50, "").await.unwrap();
        assert_eq!(page.lines[0].case_id, case);
        assert_eq!(page.lines[0].child_name, "孙小梅");
        assert_eq!(page.lines[0].account_masked, "6217***********8901");
        // A county's roll is the county's: a township supervisor (a role without the
        // right: 403, as the access matrix says) neither reads nor locks it.
        assert!(matches!(
            s.roll(&p.sup, &roll.id, 1, 50, "").await,
            Err(StoreError::Forbidden)
        ));
        assert!(matches!(
            s.lock_roll(&p.sup, &roll.id, false, "").await,
            Err(StoreError::Forbidden)
        ));
        assert!(matches!(
            s.lock_roll(&p.office_x, &roll.id, false, "").await,
            Err(StoreError::NotFound)
        ));
        let locked = s.lock_roll(&p.office, &roll.id, false, "").await.unwrap();
        assert!(locked.locked());
        // Locked: never generated, adjusted or locked again (409), and unchanged.
        for attempt in [
            s.generate_roll(&p.office, county(), m1, "").await.err(),
            s.add_adjustment(&p.office, &roll.id, &case, m1, Fen(100), "补发", "")
                .await
                .err(),
            s.lock_roll(&p.office, &roll.id, false, "").await.err(),
            s.generate_roll(&p.office, county(), m0, "").await.err(),
        ] {
            assert!(
                matches!(attempt, Some(StoreError::Conflict { .. })),
                "{}: {attempt:?}",
                db.label
            );
        }
        let after = s.roll(&p.office, &roll.id, 1, 50, "").await.unwrap();
        assert_eq!((after.roll.total, after.lines.len()), (Fen(169_400), 1));
        // A new standard never rewrites a paid month: from the month after the lock only.
        let refused = s
            .create_standard(
                &p.office,
                NewStandard {
                    type_code: "orphan_scattered".into(),
                    division: county(),
                    amount: Some(Fen::from_yuan(1800)),
                    follows_type: None,
                    follows_percent: None,
                    from: m1,
                    to: None,
                    note: String::new(),
                },
                "",
            )
            .await;
        assert!(matches!(
            refused,
            Err(StoreError::Conflict {
                code: "month_locked",
                ..
            })
        ));
        standard(s, &p.office, "orphan_scattered", "510812", m1.next(), 1800).await;
        next_month(s);
        let m2 = this_month(s);
        let roll2 = s.generate_roll(&p.office, county(), m2, "").await.unwrap();
        assert_eq!(roll2.total, Fen(180_000), "{}", db.label);
        assert_eq!(roll2.changes.len(), 1);
        assert_eq!(roll2.changes[0].kind, "changed");
        assert!(
            roll2.changes[0].reason.contains("1,694.00 → 1,800.00"),
            "{}",
            roll2.changes[0].reason
        );
        // The earlier roll still says what it paid.
        let first = s.roll(&p.office, &roll.id, 1, 50, "").await.unwrap();
        assert_eq!(first.lines[0].amount_fen, 169_400);
        assert!(s.verify_audit().await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn a_death_recorded_late_is_recovered_and_a_missed_month_paid_in_a_later_roll() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let p = people(s).await;
        let m0 = this_month(s);
        standard(
            s,
            &p.office,
            "orphan_scattered",
            "510812",
            m0.plus(-3),
            1694,
        )
        .await;
        let a = orphan(s, &p.dir, "李小甲", ten_years_ago(s), 21, VILLAGE).await;
        let case_a = confirmed(s, &p, &a, "orphan_scattered").await;
        next_month(s);
        let m1 = this_month(s);
        let r1 = s.generate_roll(&p.office, county(), m1, "").await.unwrap();
        s.lock_roll(&p.office, &r1.id, false, "").await.unwrap();
        // Next month's roll is made and locked in advance; then a second child is
        // confirmed: it should have been paid next month, which is locked already.
        let b = orphan(s, &p.dir, "李小乙", ten_years_ago(s), 22, VILLAGE).await;
        let r2 = s
            .generate_roll(&p.office, county(), m1.next(), "")
            .await
            .unwrap();
        s.lock_roll(&p.office, &r2.id, false, "").await.unwrap();
        let case_b = confirmed(s, &p, &b, "orphan_scattered").await;
        let b_case = s.application(&p.office, &case_b, "").await.unwrap();
        assert!(
            b_case.reconcile,
            "{}: a start in a locked month is settled later",
            db.label
        );
        // The first child died in m1; it is recorded only now (both rolls paid).
        let death = m1.first_day();
        assert!(matches!(
            s.stop_case(&p.office, &case_a, EndCause::Adult, death, "x", "")
                .await,
            Err(StoreError::Invalid { field: "cause", .. })
        ));
        assert!(matches!(
            s.stop_case(
                &p.office,
                &case_a,
                EndCause::Death,
                today(s) + chrono::Duration::days(3),
                "死亡证明",
                ""
            )
            .await,
            Err(StoreError::Invalid { field: "date", .. })
        ));
        let stopped = s
            .stop_case(
                &p.office,
                &case_a,
                EndCause::Death,
                death,
                "乡镇报告，已见死亡证明",
                "",
            )
            .await
            .unwrap();
        assert_eq!(stopped.status, Status::Ended);
        assert_eq!(stopped.end_month, Some(m1));
        next_month(s);
        next_month(s);
        let m3 = this_month(s);
        let r3 = s.generate_roll(&p.office, county(), m3, "").await.unwrap();
        let page = s.roll(&p.office, &r3.id, 1, 50, "").await.unwrap();
        let mut lines: Vec<(String, String, String, i64)> = page
            .lines
            .iter()
            .map(|l| {
                (
                    l.case_id.clone(),
                    l.kind.clone(),
                    l.for_month.clone(),
                    l.amount_fen,
                )
            })
            .collect();
        lines.sort();
        let mut want = vec![
            (
                case_a.clone(),
                "adjustment".to_string(),
                m1.next().to_string(),
                -169_400,
            ),
            (
                case_b.clone(),
                "adjustment".to_string(),
                m1.next().to_string(),
                169_400,
            ),
            (
                case_b.clone(),
                "regular".to_string(),
                m3.to_string(),
                169_400,
            ),
        ];
        want.sort();
        assert_eq!(lines, want, "{}", db.label);
        let recover = page.lines.iter().find(|l| l.amount_fen < 0).unwrap();
        assert!(
            recover.reason.contains("追回") && recover.reason.contains("死亡"),
            "{}",
            recover.reason
        );
        let pay = page
            .lines
            .iter()
            .find(|l| l.kind == "adjustment" && l.amount_fen > 0)
            .unwrap();
        assert!(pay.reason.starts_with("补发"), "{}", pay.reason);
        // The bank gets the positive nets only; what is owed back is listed apart.
        let (_, payees, withheld) = s.roll_payees(&p.office, &r3.id, false, "").await.unwrap();
        assert_eq!(withheld, 0);
        assert_eq!(payees.len(), 1);
        assert_eq!(
            (payees[0].case_id.as_str(), payees[0].amount),
            (case_b.as_str(), Fen(338_800))
        );
        assert_eq!(
            payees[0].account, "6217000012345678901",
            "the bank file has the account in full"
        );
        assert!(payees[0].id_number.contains("**"), "masked unless asked");
        let recoveries = s.roll_recoveries(&p.office, &r3.id).await.unwrap();
        assert_eq!(recoveries.len(), 1);
        assert_eq!(recoveries[0].3, Fen(-169_400));
        // Locked, the settlement is done: the next roll settles nothing again.
        s.lock_roll(&p.office, &r3.id, false, "").await.unwrap();
        next_month(s);
        let r4 = s
            .generate_roll(&p.office, county(), this_month(s), "")
            .await
            .unwrap();
        assert_eq!((r4.lines, r4.adjustment), (1, Fen::ZERO), "{}", db.label);
    }
}

#[tokio::test]
async fn turning_18_stops_payment_the_month_after_the_birthday_with_the_reason() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let p = people(s).await;
        let m0 = this_month(s);
        standard(
            s,
            &p.office,
            "orphan_scattered",
            "510812",
            m0.plus(-3),
            1694,
        )
        .await;
        // 18 on the 1st of next month: that month is still paid.
        let birthday = m0.next().first_day();
        let birth = NaiveDate::from_ymd_opt(birthday.year() - 18, birthday.month(), 1).unwrap();
        let child = orphan(s, &p.dir, "赵十七", birth, 31, VILLAGE).await;
        let case = confirmed(s, &p, &child, "orphan_scattered").await;
        next_month(s);
        let m1 = this_month(s);
        let r1 = s.generate_roll(&p.office, county(), m1, "").await.unwrap();
        assert_eq!(r1.lines, 1, "{}: the birthday's month is paid", db.label);
        s.lock_roll(&p.office, &r1.id, false, "").await.unwrap();
        next_month(s);
        let r2 = s
            .generate_roll(&p.office, county(), this_month(s), "")
            .await
            .unwrap();
        assert_eq!(r2.lines, 0, "{}", db.label);
        assert_eq!(r2.changes.len(), 1);
        assert_eq!(r2.changes[0].kind, "stopped");
        assert!(
            r2.changes[0].reason.contains("年满 18 周岁")
                && r2.changes[0]
                    .reason
                    .contains(&format!("自 {} 起停发", m1.next())),
            "{}",
            r2.changes[0].reason
        );
        let ended = s.application(&p.office, &case, "").await.unwrap();
        assert_eq!(
            (ended.status, ended.end_cause),
            (Status::Ended, Some(EndCause::Adult))
        );
        assert_eq!(ended.end_month, Some(m1));
        assert_eq!(ended.steps.last().unwrap().step, "end");
    }
}

#[tokio::test]
async fn a_move_to_another_county_hands_the_case_over_with_a_clean_end_and_start() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let p = people(s).await;
        let m0 = this_month(s);
        // A province's standard reaches both counties.
        standard(
            s,
            &Scope::system(),
            "orphan_scattered",
            "51",
            m0.plus(-3),
            1694,
        )
        .await;
        let birth = ten_years_ago(s);
        let child = orphan(s, &p.dir, "钱小移", birth, 41, VILLAGE).await;
        let case = confirmed(s, &p, &child, "orphan_scattered").await;
        next_month(s);
        let m1 = this_month(s);
        let r1 = s.generate_roll(&p.office, county(), m1, "").await.unwrap();
        assert_eq!(r1.lines, 1);
        s.lock_roll(&p.office, &r1.id, false, "").await.unwrap();
        // The child moves to 510811 during m1.
        let t = s
            .request_transfer(&p.dir, &child, code(OTHER_VILLAGE), "随亲属迁居", "")
            .await
            .unwrap();
        s.decide_transfer(&p.dir_x, &t.id, true, "已接收", "")
            .await
            .unwrap();
        next_month(s);
        let m2 = this_month(s);
        // The receiving county's roll comes first: it takes the case over.
        let rx = s
            .generate_roll(&p.office_x, code("510811"), m2, "")
            .await
            .unwrap();
        assert_eq!((rx.lines, rx.total), (1, Fen(169_400)), "{}", db.label);
        let (moved, _) = s
            .list_applications(
                &p.office_x,
                &CaseFilter {
                    page: 1,
                    per_page: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(moved.len(), 1);
        assert_eq!(
            moved[0].start_month,
            Some(m2),
            "starts the month after the move"
        );
        assert_eq!(moved[0].from_case.as_deref(), Some(case.as_str()));
        assert_eq!(moved[0].status, Status::Confirmed);
        assert_eq!(moved[0].account_masked, "6217***********8901");
        let old = s.application(&p.office, &case, "").await.unwrap();
        assert_eq!(
            (old.status, old.end_cause, old.end_month),
            (Status::Ended, Some(EndCause::MovedOut), Some(m1)),
            "{}: ends with the month of the move",
            db.label
        );
        // The old county pays nothing more, and says why.
        let r2 = s.generate_roll(&p.office, county(), m2, "").await.unwrap();
        assert_eq!(r2.lines, 0);
        assert!(
            r2.changes[0].reason.contains("迁出本县"),
            "{:?}",
            r2.changes
        );
        // The account still opens under the new case (re-sealed for it).
        let (_, payees, _) = s.roll_payees(&p.office_x, &rx.id, true, "").await.unwrap();
        assert_eq!(payees[0].account, "6217000012345678901");
        assert_eq!(
            payees[0].id_number,
            id_for(birth, 41),
            "full, for the office"
        );
        assert!(s.verify_audit().await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn a_county_confirms_many_applications_at_once_each_recorded_on_its_own() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let p = people(s).await;
        let mut ids = Vec::new();
        for n in 0..30 {
            let child = orphan(s, &p.dir, "批量童", ten_years_ago(s), 100 + n, VILLAGE).await;
            ids.push(
                s.create_application(&p.dir, application(&child, "orphan_scattered"), "")
                    .await
                    .unwrap()
                    .id,
            );
        }
        let checked = s
            .decide_applications(
                &p.sup,
                &ids[..29],
                Step::Township,
                Decision::Approve,
                "批量查验",
                "",
            )
            .await
            .unwrap();
        assert!(checked
            .iter()
            .all(|(_, o)| *o == BulkOutcome::Done(Status::Checked)));
        let entries_before = db.texts("SELECT action FROM audit_log").await.len();
        let mut asked = ids.clone();
        asked.push("no-such-application".into());
        let out = s
            .decide_applications(
                &p.office,
                &asked,
                Step::County,
                Decision::Approve,
                "同意",
                "",
            )
            .await
            .unwrap();
        let done = out
            .iter()
            .filter(|(_, o)| *o == BulkOutcome::Done(Status::Confirmed))
            .count();
        assert_eq!(done, 29, "{}", db.label);
        assert!(
            matches!(out[29].1, BulkOutcome::Conflict(_)),
            "the unchecked one waits: {:?}",
            out[29]
        );
        assert_eq!(out[30].1, BulkOutcome::NotFound);
        // Each one has its step and its own audit entry.
        let steps = db
            .texts("SELECT step FROM allowance_steps WHERE step = 'county'")
            .await;
        assert_eq!(steps.len(), 29);
        let entries = db.texts("SELECT action FROM audit_log").await;
        assert_eq!(
            entries.iter().filter(|a| *a == "allowance.county").count(),
            29
        );
        assert_eq!(entries.len(), entries_before + 29);
        assert!(s.verify_audit().await.unwrap().is_ok());
        // Another county's office confirms none of them.
        let out = s
            .decide_applications(
                &p.office_x,
                &ids,
                Step::County,
                Decision::Approve,
                "同意",
                "",
            )
            .await
            .unwrap();
        assert!(out.iter().all(|(_, o)| *o == BulkOutcome::NotFound));
    }
}

#[tokio::test]
async fn records_affected_by_hiv_are_seen_only_by_designated_users_and_never_in_bank_files() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let p = people(s).await;
        let m0 = this_month(s);
        standard(s, &p.office, "hiv_affected", "510812", m0.plus(-3), 1694).await;
        let dir_d = p.dir.clone().with_designated(true);
        let office_d = p.office.clone().with_designated(true);
        let sup_d = p.sup.clone().with_designated(true);
        let mut patch = ChildPatch {
            name: Some("隐名童".into()),
            id_number: Some(id_for(ten_years_ago(s), 51)),
            division: Some(VILLAGE.into()),
            categories: Some(vec!["受艾滋病影响儿童".into()]),
            ..Default::default()
        };
        patch.father = parent("在家");
        let child = s.create_child(&dir_d, patch, "").await.unwrap().id;
        let case = s
            .create_application(&dir_d, application(&child, "hiv_affected"), "")
            .await
            .unwrap();
        assert!(case.sensitive);
        s.decide_application(
            &sup_d,
            &case.id,
            Step::Township,
            Decision::Approve,
            "核实",
            "",
        )
        .await
        .unwrap();
        s.decide_application(
            &office_d,
            &case.id,
            Step::County,
            Decision::Approve,
            "同意",
            "",
        )
        .await
        .unwrap();
        assert!(matches!(
            s.application(&p.office, &case.id, "").await,
            Err(StoreError::NotFound)
        ));
        let (list, _) = s
            .list_applications(
                &p.office,
                &CaseFilter {
                    page: 1,
                    per_page: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(list.is_empty(), "{}", db.label);
        next_month(s);
        let roll = s
            .generate_roll(&p.office, county(), this_month(s), "")
            .await
            .unwrap();
        assert_eq!(roll.total, Fen(169_400), "the roll pays everyone");
        let page = s.roll(&p.office, &roll.id, 1, 50, "").await.unwrap();
        assert_eq!(page.lines[0].child_name, "（受保护记录）");
        assert_eq!(page.lines[0].account_masked, "");
        let (_, payees, withheld) = s.roll_payees(&p.office, &roll.id, false, "").await.unwrap();
        assert_eq!((payees.len(), withheld), (0, 1));
        let (_, payees, withheld) = s.roll_payees(&office_d, &roll.id, false, "").await.unwrap();
        assert_eq!((payees.len(), withheld), (1, 0));
        assert_eq!(payees[0].child_name, "隐名童");
    }
}

#[tokio::test]
async fn totals_add_up_the_locked_rolls_and_a_budget_warns_before_a_roll_exceeds_it() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let p = people(s).await;
        let m0 = this_month(s);
        standard(
            s,
            &p.office,
            "orphan_scattered",
            "510812",
            m0.plus(-3),
            1694,
        )
        .await;
        let a = orphan(s, &p.dir, "总计甲", ten_years_ago(s), 61, VILLAGE).await;
        let dir_2 = scope_of(&add_user(s, "dir-a2", Role::Director, VILLAGE_2).await);
        let b = orphan(s, &dir_2, "总计乙", ten_years_ago(s), 62, VILLAGE_2).await;
        confirmed(s, &p, &a, "orphan_scattered").await;
        let case_b = s
            .create_application(&dir_2, application(&b, "orphan_scattered"), "")
            .await
            .unwrap();
        s.decide_application(
            &p.sup,
            &case_b.id,
            Step::Township,
            Decision::Approve,
            "核实",
            "",
        )
        .await
        .unwrap();
        s.decide_application(
            &p.office,
            &case_b.id,
            Step::County,
            Decision::Approve,
            "同意",
            "",
        )
        .await
        .unwrap();
        next_month(s);
        let m1 = this_month(s);
        // A budget of 3,000.00 a year: two children at 1,694.00 exceed it in one month.
        s.set_budget(
            &p.office,
            county(),
            m1.year(),
            "orphan_scattered",
            Fen::from_yuan(3000),
            "",
        )
        .await
        .unwrap();
        assert!(matches!(
            s.set_budget(&p.sup, county(), m1.year(), "orphan_scattered", Fen(1), "")
                .await,
            Err(StoreError::Forbidden)
        ));
        let roll = s.generate_roll(&p.office, county(), m1, "").await.unwrap();
        assert_eq!(roll.warnings.len(), 1, "{}", db.label);
        assert!(
            roll.warnings[0].contains("超出预算"),
            "{}",
            roll.warnings[0]
        );
        assert!(matches!(
            s.lock_roll(&p.office, &roll.id, false, "").await,
            Err(StoreError::Conflict {
                code: "budget_exceeded",
                ..
            })
        ));
        s.lock_roll(&p.office, &roll.id, true, "").await.unwrap();
        let totals = s
            .allowance_totals(&p.office, county(), m1.year())
            .await
            .unwrap();
        assert_eq!(
            (totals.total, totals.people),
            (Fen(338_800), 2),
            "{}",
            db.label
        );
        assert_eq!(totals.by_type.len(), 1);
        assert_eq!(totals.by_type[0].people, 2);
        assert_eq!(totals.by_month.len(), 1);
        assert_eq!(totals.by_division.len(), 1, "one township");
        assert_eq!(totals.by_division[0].division, "510812100000");
        assert!(
            totals
                .sentence
                .contains("孤儿基本生活费0.34万元，共惠及2人"),
            "{}",
            totals.sentence
        );
        // A village sees its own.
        let mine = s
            .allowance_totals(&p.dir, code(VILLAGE), m1.year())
            .await
            .unwrap();
        assert_eq!((mine.total, mine.people), (Fen(169_400), 1));
        let budgets = s.budgets(&p.office, county(), m1.year()).await.unwrap();
        assert_eq!(budgets[0].spent, Fen(338_800));
        // Another year: nothing yet.
        let none = s
            .allowance_totals(&p.office, county(), m1.year() - 1)
            .await
            .unwrap();
        assert_eq!(none.total, Fen::ZERO);
    }
}

#[tokio::test]
async fn a_follower_standard_moves_with_the_one_it_follows_and_missing_standards_are_named() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let p = people(s).await;
        let m0 = this_month(s);
        // 事实无人抚养 = 100% of 社会散居 at the province; the county sets 社会散居.
        s.create_standard(
            &Scope::system(),
            NewStandard {
                type_code: "factually_unsupported".into(),
                division: code("51"),
                amount: None,
                follows_type: Some("orphan_scattered".into()),
                follows_percent: Some(100),
                from: m0.plus(-3),
                to: None,
                note: String::new(),
            },
            "",
        )
        .await
        .unwrap();
        let p_fu = ChildPatch {
            name: Some("吴小事".into()),
            id_number: Some(id_for(ten_years_ago(s), 71)),
            division: Some(VILLAGE.into()),
            father: parent("死亡"),
            mother: Some(ParentInput {
                status: Some("服刑在押".into()),
                since: Some("2021-01-01".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let child = s.create_child(&p.dir, p_fu, "").await.unwrap().id;
        confirmed(s, &p, &child, "factually_unsupported").await;
        next_month(s);
        let m1 = this_month(s);
        // No 社会散居 standard yet: the roll says which is missing, and is not made.
        match s.generate_roll(&p.office, county(), m1, "").await {
            Err(StoreError::Invalid { invalid, .. }) => {
                assert_eq!(invalid.code, "standard_missing");
                assert!(
                    invalid.message.contains("没有适用的保障标准"),
                    "{}",
                    invalid.message
                );
            }
            other => panic!("{}: {other:?}", db.label),
        }
        standard(s, &p.office, "orphan_scattered", "510812", m1, 1694).await;
        let roll = s.generate_roll(&p.office, county(), m1, "").await.unwrap();
        assert_eq!(roll.total, Fen(169_400), "{}", db.label);
        // Not the county office's to set at the province.
        assert!(matches!(
            s.create_standard(
                &p.office,
                NewStandard {
                    type_code: "distressed".into(),
                    division: code("51"),
                    amount: Some(Fen(1)),
                    follows_type: None,
                    follows_percent: None,
                    from: m1,
                    to: None,
                    note: String::new(),
                },
                "",
            )
            .await,
            Err(StoreError::NotFound)
        ));
        let listed = s.standards_at(&p.dir, code(VILLAGE)).await.unwrap();
        assert_eq!(
            listed.len(),
            2,
            "the province's and the county's reach the village"
        );
    }
}

#[tokio::test]
async fn key_rotation_reseals_bank_accounts_and_the_rolls_copies() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let p = people(&db.store).await;
        let m0 = this_month(&db.store);
        standard(
            &db.store,
            &p.office,
            "orphan_scattered",
            "510812",
            m0.plus(-3),
            1694,
        )
        .await;
        let birth = ten_years_ago(&db.store);
        let child = orphan(&db.store, &p.dir, "轮换童", birth, 81, VILLAGE).await;
        confirmed(&db.store, &p, &child, "orphan_scattered").await;
        next_month(&db.store);
        let roll = db
            .store
            .generate_roll(&p.office, county(), this_month(&db.store), "")
            .await
            .unwrap();
        let own = std::env::temp_dir().join(format!("weibao-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&own).unwrap();
        let file = own.join("weibao.keys");
        std::fs::copy(weibao_store::testing::test_key_file(), &file).unwrap();
        let s = Store::open_with_keys(Some(&db.url), &own, Some(&file))
            .await
            .unwrap();
        s.migrate().await.unwrap();
        let (_, done) = s.rotate_keys().await.unwrap();
        assert_eq!(done.allowances, 2, "{}: one account, one line", db.label);
        let raw = db
            .texts("SELECT bank_account FROM allowance_cases UNION ALL SELECT id_number FROM allowance_roll_lines")
            .await;
        assert!(raw.iter().all(|v| v.starts_with("sm4g2:2:")), "{raw:?}");
        let (_, payees, _) = s.roll_payees(&p.office, &roll.id, true, "").await.unwrap();
        assert_eq!(payees[0].account, "6217000012345678901");
        assert_eq!(payees[0].id_number, id_for(birth, 81));
        std::fs::remove_dir_all(own).ok();
    }
}
