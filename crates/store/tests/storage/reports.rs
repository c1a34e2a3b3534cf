//! Reports, referrals, cases and the machinery they share, on every backend.

use weibao_domain::access::{Role, Scope};
use weibao_domain::reports::case::CaseState;
use weibao_domain::reports::referral::{ReferralState, ReferralStep};
use weibao_domain::reports::{
    Channel, ChildHint, Institution, Report, ReportInput, Reporter, Urgency,
};
use weibao_domain::work::{Span, UnitKind, WorkKind};
use weibao_domain::DivisionCode;
use weibao_store::testing::TestDb;
use weibao_store::{NewReport, ReferralTarget, Store, StoreError, Supervision};

use super::{add_user, left_behind_child, scope_of, seeded, visit_input};

fn now(s: &Store) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::from_timestamp_millis(s.clock().now_ms())
        .unwrap()
        .with_timezone(&weibao_domain::visit::cst())
}

/// A checked report of abuse at a school, as a school would file it.
fn school_report(s: &Store, urgency: Option<&str>, situations: &[&str]) -> Report {
    ReportInput {
        channel: Some("mandatory".into()),
        situations: situations.iter().map(|x| x.to_string()).collect(),
        urgency: urgency.map(String::from),
        description: "学生身上多处淤青，自述被家人殴打".into(),
        place: Some("朝天镇中心小学".into()),
        reporter: Reporter {
            name: "王老师".into(),
            unit: "朝天镇中心小学".into(),
            institution: Some(Institution::School),
            phone: "13812345678".into(),
            anonymous: false,
        },
        ..ReportInput::default()
    }
    .check(now(s), None)
    .unwrap()
}

fn about(report: Report, village: &str, child: Option<&str>) -> NewReport {
    NewReport {
        report,
        division: DivisionCode::parse(village).unwrap(),
        child_id: child.map(String::from),
        visit_id: None,
        hotline_order: None,
        hotline_due_at: None,
    }
}

/// Files a report about a ledger child and refers it to the county's police; returns the
/// referral's id.
pub async fn refer_child_to_police(s: &Store, office: &Scope, child: &str) -> String {
    let filed = s
        .file_report(
            office,
            about(school_report(s, None, &["s4"]), "510812", Some(child)),
            "",
        )
        .await
        .unwrap();
    s.refer(
        office,
        &filed.id,
        ReferralTarget::Kind(UnitKind::Police),
        "请核查监护人是否存在殴打行为",
        None,
        "",
        "",
    )
    .await
    .unwrap()
    .id
}

#[tokio::test]
async fn a_unit_reads_a_child_while_its_referral_is_open_and_thirty_days_after() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let police = scope_of(&add_user(s, "police", Role::Unit, "510812").await);
        let child = left_behind_child(s, &dir, "孙八", 301).await;
        assert!(matches!(
            s.read_child(&police, &child, false, "").await,
            Err(StoreError::NotFound)
        ));
        let referral = refer_child_to_police(s, &office, &child).await;
        let seen = s.read_child(&police, &child, false, "").await.unwrap();
        assert_eq!(seen.id, child, "{}", db.label);
        // Another unit has no referral: nothing.
        let edu = weibao_store::NewUser {
            username: "edu2".into(),
            display_name: "教育".into(),
            role: Role::Unit,
            division: DivisionCode::parse("510812").unwrap(),
            unit: Some("教育".into()),
            phone: None,
            password: super::PASSWORD.into(),
            must_change_password: false,
            designated: false,
        };
        let edu = scope_of(&s.create_user(&Scope::system(), edu).await.unwrap());
        for other in [&edu] {
            assert!(matches!(
                s.read_child(other, &child, false, "").await,
                Err(StoreError::NotFound)
            ));
        }
        // The unit hands it back: it still reads for the grace days, then not.
        s.referral_step(
            &police,
            &referral,
            ReferralStep::Return,
            "不属于本单位职责",
            None,
            "",
        )
        .await
        .unwrap();
        s.read_child(&police, &child, false, "").await.unwrap();
        s.clock().advance_ms(29 * 86_400_000);
        s.read_child(&police, &child, false, "").await.unwrap();
        s.clock().advance_ms(2 * 86_400_000);
        assert!(
            matches!(
                s.read_child(&police, &child, false, "").await,
                Err(StoreError::NotFound)
            ),
            "{}",
            db.label
        );
        // The ledger and lists stay closed to units throughout.
        assert!(matches!(
            s.child_history(&police, &child).await,
            Err(StoreError::Forbidden)
        ));
    }
}

#[tokio::test]
async fn two_liaisons_accepting_at_once_make_one_acceptance() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let p1 = scope_of(&add_user(s, "police1", Role::Unit, "510812").await);
        let p2 = scope_of(&add_user(s, "police2", Role::Unit, "510812").await);
        assert_eq!(p1.unit_id, p2.unit_id, "one unit, two liaisons");
        let child = left_behind_child(s, &dir, "周九", 302).await;
        let referral = refer_child_to_police(s, &office, &child).await;
        let (a, b) = tokio::join!(
            s.referral_step(&p1, &referral, ReferralStep::Accept, "", None, ""),
            s.referral_step(&p2, &referral, ReferralStep::Accept, "", None, ""),
        );
        let oks = [a.is_ok(), b.is_ok()].iter().filter(|x| **x).count();
        assert_eq!(oks, 1, "{}: {a:?} {b:?}", db.label);
        for r in [a, b] {
            if let Err(e) = r {
                assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
            }
        }
        let r = s.referral(&office, &referral).await.unwrap();
        assert_eq!(r.state, ReferralState::Accepted);
        assert!(r.accepted_by.is_some() && r.reply_due_at.is_some());
    }
}

#[tokio::test]
async fn a_referral_is_returned_passed_on_revoked_and_completed_with_every_step_kept() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let police = scope_of(&add_user(s, "police", Role::Unit, "510812").await);
        let edu = scope_of(
            &s.create_user(
                &Scope::system(),
                weibao_store::NewUser {
                    username: "edu".into(),
                    display_name: "教育局联络员".into(),
                    role: Role::Unit,
                    division: DivisionCode::parse("510812").unwrap(),
                    unit: Some("教育".into()),
                    phone: None,
                    password: super::PASSWORD.into(),
                    must_change_password: false,
                    designated: false,
                },
            )
            .await
            .unwrap(),
        );
        let child = left_behind_child(s, &dir, "吴十", 303).await;
        let first = refer_child_to_police(s, &office, &child).await;
        // The sender cannot accept, the receiver cannot revoke.
        assert!(matches!(
            s.referral_step(&office, &first, ReferralStep::Accept, "", None, "")
                .await,
            Err(StoreError::Forbidden)
        ));
        assert!(matches!(
            s.referral_step(&police, &first, ReferralStep::Revoke, "不办", None, "")
                .await,
            Err(StoreError::Forbidden)
        ));
        // A reason is needed to pass it on; passed on, it goes to 教育 as a new referral.
        assert!(matches!(
            s.referral_step(
                &police,
                &first,
                ReferralStep::Forward,
                " ",
                Some(ReferralTarget::Kind(UnitKind::Education)),
                ""
            )
            .await,
            Err(StoreError::Invalid {
                field: "reason",
                ..
            })
        ));
        let passed = s
            .referral_step(
                &police,
                &first,
                ReferralStep::Forward,
                "涉及校园欺凌，应由教育局处理",
                Some(ReferralTarget::Kind(UnitKind::Education)),
                "",
            )
            .await
            .unwrap();
        assert_eq!(passed.state, ReferralState::Forwarded);
        let second = passed.forwarded_to.clone().expect("the new referral");
        // The police's access to the child ends after the grace days; 教育's begins.
        s.read_child(&edu, &child, false, "").await.unwrap();
        let r = s
            .referral_step(&edu, &second, ReferralStep::Accept, "", None, "")
            .await
            .unwrap();
        assert_eq!(r.state, ReferralState::Accepted);
        // A completed referral needs its reply, and cannot be touched again.
        assert!(matches!(
            s.referral_step(&edu, &second, ReferralStep::Complete, "", None, "")
                .await,
            Err(StoreError::Invalid { .. })
        ));
        let done = s
            .referral_step(
                &edu,
                &second,
                ReferralStep::Complete,
                "已约谈家长并开展家庭教育指导",
                None,
                "",
            )
            .await
            .unwrap();
        assert_eq!(done.state, ReferralState::Done);
        assert_eq!(done.reply, "已约谈家长并开展家庭教育指导");
        assert!(matches!(
            s.referral_step(&office, &second, ReferralStep::Revoke, "撤回", None, "")
                .await,
            Err(StoreError::Conflict { .. })
        ));
        // Revoking: the office takes back a third one.
        let third = s
            .refer(
                &office,
                &r.report_id.clone().unwrap(),
                ReferralTarget::Kind(UnitKind::WomensFederation),
                "请妇联协助家庭教育",
                None,
                "",
                "",
            )
            .await
            .unwrap();
        let revoked = s
            .referral_step(
                &office,
                &third.id,
                ReferralStep::Revoke,
                "已由教育局处理完毕",
                None,
                "",
            )
            .await
            .unwrap();
        assert_eq!(revoked.state, ReferralState::Revoked);
        // Every step is on the report's timeline, who and why.
        let report = s.report(&office, &r.report_id.unwrap(), "").await.unwrap();
        let steps: Vec<String> = s
            .report_timeline(&office, &report)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{}|{}", e.action, e.detail))
            .collect();
        for want in [
            "登记报告",
            "转介|转介至",
            "转介转交",
            "转介接收",
            "转介办结答复",
            "转介撤回",
        ] {
            assert!(
                steps.iter().any(|s| s.contains(want)),
                "{}: {want} in {steps:?}",
                db.label
            );
        }
        // An agency needs consent.
        let agency = s
            .create_unit(
                &office,
                weibao_store::NewUnit {
                    kind: UnitKind::Agency,
                    name: "朝天区阳光社会工作服务中心".into(),
                    division: DivisionCode::parse("510812").unwrap(),
                    contacts: vec![],
                },
            )
            .await
            .unwrap();
        let report_id = report.id.clone();
        assert!(matches!(
            s.refer(
                &office,
                &report_id,
                ReferralTarget::Unit(agency.id.clone()),
                "心理疏导",
                None,
                "",
                ""
            )
            .await,
            Err(StoreError::Invalid {
                field: "consent",
                ..
            })
        ));
        let with = s
            .refer(
                &office,
                &report_id,
                ReferralTarget::Unit(agency.id.clone()),
                "心理疏导",
                Some("override"),
                "监护人即侵害人，无法征得同意",
                "",
            )
            .await
            .unwrap();
        assert_eq!(with.consent.unwrap().note, "监护人即侵害人，无法征得同意");
    }
}

#[tokio::test]
async fn the_reporter_is_seen_only_by_the_office_and_the_handling_unit() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let sup = scope_of(&add_user(s, "sup-a", Role::Supervisor, "510812100").await);
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let police = scope_of(&add_user(s, "police", Role::Unit, "510812").await);
        let school = scope_of(&add_user(s, "school", Role::Reporter, "510812").await);
        let other_school = scope_of(
            &s.create_user(
                &Scope::system(),
                weibao_store::NewUser {
                    username: "school2".into(),
                    display_name: "另一所学校".into(),
                    role: Role::Reporter,
                    division: DivisionCode::parse("510812").unwrap(),
                    unit: Some("教育".into()),
                    phone: None,
                    password: super::PASSWORD.into(),
                    must_change_password: false,
                    designated: false,
                },
            )
            .await
            .unwrap(),
        );
        let child = left_behind_child(s, &dir, "郑十一", 304).await;
        let filed = s
            .file_report(
                &school,
                about(
                    school_report(s, None, &["s4"]),
                    "510812100201",
                    Some(&child),
                ),
                "",
            )
            .await
            .unwrap();
        // The office and the school that filed it see who reported.
        for full in [&office, &school] {
            let r = s.report(full, &filed.id, "").await.unwrap();
            assert!(r.reporter_visible);
            assert_eq!(r.details.reporter.name, "王老师", "{}", db.label);
            assert_eq!(r.details.reporter.phone, "13812345678");
        }
        // The township and village see the report, not the reporter.
        for masked in [&sup, &dir] {
            let r = s.report(masked, &filed.id, "").await.unwrap();
            assert!(!r.reporter_visible);
            assert_eq!(r.details.reporter.name, "（保密）");
            assert!(r.details.reporter.phone.is_empty());
            assert_eq!(r.details.description, "学生身上多处淤青，自述被家人殴打");
        }
        // A unit sees nothing until it is referred, then all of it.
        assert!(matches!(
            s.report(&police, &filed.id, "").await,
            Err(StoreError::NotFound)
        ));
        s.refer(
            &office,
            &filed.id,
            ReferralTarget::Kind(UnitKind::Police),
            "请出警核查",
            None,
            "",
            "",
        )
        .await
        .unwrap();
        let r = s.report(&police, &filed.id, "").await.unwrap();
        assert_eq!(r.details.reporter.name, "王老师");
        // Another reporter account: 404, and its own list is empty.
        assert!(matches!(
            s.report(&other_school, &filed.id, "").await,
            Err(StoreError::NotFound)
        ));
        let mine = s
            .list_reports(
                &other_school,
                &weibao_store::ReportFilter {
                    page: 1,
                    per_page: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(mine.is_empty());
        let theirs = s
            .list_reports(
                &school,
                &weibao_store::ReportFilter {
                    page: 1,
                    per_page: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(theirs.len(), 1);
        // Outside the subtree: nothing.
        let dir_b = scope_of(&add_user(s, "dir-b", Role::Director, "510812100202").await);
        assert!(matches!(
            s.report(&dir_b, &filed.id, "").await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn sealed_reports_show_only_that_they_exist_until_access_is_granted() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let reader_user = add_user(s, "office2", Role::Office, "510812").await;
        let reader = scope_of(&reader_user);
        let sup = scope_of(&add_user(s, "sup-a", Role::Supervisor, "510812100").await);
        let sup_user_id = sup.user_id.clone();
        let school = scope_of(&add_user(s, "school", Role::Reporter, "510812").await);
        let filed = s
            .file_report(
                &school,
                about(
                    school_report(s, Some("priority"), &["s2"]),
                    "510812100201",
                    None,
                ),
                "",
            )
            .await
            .unwrap();
        // Not even the office reads it without being named; the school that filed it does.
        assert!(!s.report(&school, &filed.id, "").await.unwrap().withheld);
        for who in [&office, &reader, &sup] {
            let r = s.report(who, &filed.id, "").await.unwrap();
            assert!(r.sealed && r.withheld, "{}", db.label);
            assert!(r.details.description.is_empty());
        }
        let county = DivisionCode::parse("510812").unwrap();
        s.set_sealed_reader(&office, county, &reader_user.id, true, "")
            .await
            .unwrap();
        let r = s.report(&reader, &filed.id, "").await.unwrap();
        assert!(!r.withheld);
        assert!(r.details.description.contains("淤青"));
        // A supervisor asks, with a reason; granted for two hours, then it ends.
        assert!(s
            .request_sealed_access(&sup, &filed.id, "急", "")
            .await
            .is_err());
        let asked = s
            .request_sealed_access(&sup, &filed.id, "需要安排督导员陪同儿童就医", "")
            .await
            .unwrap();
        assert_eq!(asked.user_id, sup_user_id);
        assert!(s.report(&sup, &filed.id, "").await.unwrap().withheld);
        assert!(matches!(
            s.decide_sealed_access(&sup, &asked.id, true, 2, "").await,
            Err(StoreError::Forbidden)
        ));
        s.decide_sealed_access(&office, &asked.id, true, 2, "")
            .await
            .unwrap();
        assert!(!s.report(&sup, &filed.id, "").await.unwrap().withheld);
        s.clock().advance_ms(2 * 3_600_000 + 1);
        assert!(
            s.report(&sup, &filed.id, "").await.unwrap().withheld,
            "{}",
            db.label
        );
        // Every read is audited, the withheld ones too.
        let log = s.recent_audit(&Scope::system(), 200).await.unwrap();
        assert!(log
            .iter()
            .any(|e| e.action == "report.read_withheld" && e.target == filed.id));
        assert!(log.iter().any(|e| e.action == "sealed.grant"));
    }
}

#[tokio::test]
async fn an_urgent_report_goes_to_the_police_at_once_and_waits_for_acknowledgement() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let police = scope_of(&add_user(s, "police", Role::Unit, "510812").await);
        let filed = s
            .file_report(
                &office,
                about(
                    school_report(s, Some("urgent"), &["s4"]),
                    "510812100201",
                    None,
                ),
                "",
            )
            .await
            .unwrap();
        assert_eq!(
            s.unacknowledged_urgent(&office).await.unwrap(),
            1,
            "{}",
            db.label
        );
        let inbox = s.inbox(&police, 50).await.unwrap();
        let item = inbox
            .iter()
            .find(|w| w.kind == WorkKind::ReferralResponse.as_str())
            .expect("the police have it");
        assert_eq!(item.urgency, Urgency::Urgent.rank());
        // An hour to answer.
        let due = item.due_at.unwrap() - item.created_at;
        assert!((3_599_000..=3_601_000).contains(&due), "{due}");
        let office_inbox = s.inbox(&office, 50).await.unwrap();
        assert_eq!(
            office_inbox[0].kind,
            WorkKind::UrgentAck.as_str(),
            "the urgent item is on top"
        );
        s.acknowledge_report(&office, &filed.id, "").await.unwrap();
        assert_eq!(s.unacknowledged_urgent(&office).await.unwrap(), 0);
        // Triaged urgent later: the same path, once.
        let later = s
            .file_report(
                &office,
                about(school_report(s, None, &["s6"]), "510812100201", None),
                "",
            )
            .await
            .unwrap();
        s.triage_report(&office, &later.id, Urgency::Urgent, "核实为正在发生", "")
            .await
            .unwrap();
        s.triage_report(&office, &later.id, Urgency::Urgent, "再次确认", "")
            .await
            .unwrap();
        let report = s.report(&office, &later.id, "").await.unwrap();
        let referrals = s
            .referrals_of(&office, &report.county_code, &later.id)
            .await
            .unwrap();
        assert_eq!(referrals.len(), 1, "{}", db.label);
        assert_eq!(referrals[0].to_unit_kind, UnitKind::Police);
    }
}

#[tokio::test]
async fn a_case_closes_only_with_an_assessment_a_reply_and_the_head() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let head_user = add_user(s, "head", Role::Office, "510812").await;
        let head_user = s
            .set_head(&Scope::system(), &head_user.id, true)
            .await
            .unwrap();
        let head = scope_of(&head_user);
        let police = scope_of(&add_user(s, "police", Role::Unit, "510812").await);
        let filed = s
            .file_report(
                &office,
                about(school_report(s, None, &["s4"]), "510812100201", None),
                "",
            )
            .await
            .unwrap();
        let case = s
            .open_case(&office, Some(&filed.id), None, None, "")
            .await
            .unwrap();
        assert_eq!(case.state, CaseState::Accepted);
        assert!(matches!(
            s.open_case(&office, Some(&filed.id), None, None, "").await,
            Err(StoreError::Conflict { .. })
        ));
        let id = case.id.clone();
        assert!(matches!(
            s.transition_case(&office, &id, CaseState::Helping, "", "")
                .await,
            Err(StoreError::Conflict { .. })
        ));
        s.transition_case(&office, &id, CaseState::Assessing, "", "")
            .await
            .unwrap();
        assert!(matches!(
            s.transition_case(&office, &id, CaseState::Helping, "", "")
                .await,
            Err(StoreError::Conflict {
                code: "transition_forbidden",
                ..
            })
        ));
        s.record_case_text(
            &office,
            &id,
            Some("家访核实：继父多次殴打，母亲外出务工"),
            None,
            "",
        )
        .await
        .unwrap();
        s.transition_case(&office, &id, CaseState::Helping, "", "")
            .await
            .unwrap();
        // A task for the police, due by the rule; done by them.
        let task = s
            .add_case_task(
                &office,
                &id,
                weibao_store::CaseTaskInput {
                    unit: ReferralTarget::Kind(UnitKind::Police),
                    title: "对继父进行训诫".into(),
                    due_on: None,
                },
                "",
            )
            .await
            .unwrap();
        assert_eq!(
            s.inbox(&police, 50)
                .await
                .unwrap()
                .iter()
                .filter(|w| w.id == task.id)
                .count(),
            1
        );
        s.complete_task(&police, &task.id, "已训诫并出具告诫书", "")
            .await
            .unwrap();
        s.add_measure(
            &office,
            &id,
            weibao_domain::reports::case::Measure::Admonition,
            s.clock().today(),
            "派出所训诫",
            "",
        )
        .await
        .unwrap();
        s.transition_case(&office, &id, CaseState::FollowUp, "", "")
            .await
            .unwrap();
        // No reply yet: not even the head closes it.
        assert!(matches!(
            s.transition_case(&head, &id, CaseState::Closed, "", "")
                .await,
            Err(StoreError::Conflict {
                code: "transition_forbidden",
                ..
            })
        ));
        s.record_case_text(
            &office,
            &id,
            None,
            Some("已处置，儿童由祖母照料，持续回访"),
            "",
        )
        .await
        .unwrap();
        assert!(matches!(
            s.transition_case(&office, &id, CaseState::Closed, "", "")
                .await,
            Err(StoreError::Conflict {
                code: "head_approval",
                ..
            })
        ));
        s.request_closure(&office, &id, "请主任审批结案", "")
            .await
            .unwrap();
        let head_inbox = s.inbox(&head, 50).await.unwrap();
        assert!(head_inbox
            .iter()
            .any(|w| w.kind == WorkKind::ClosureApproval.as_str()));
        assert!(!s
            .inbox(&office, 50)
            .await
            .unwrap()
            .iter()
            .any(|w| w.kind == WorkKind::ClosureApproval.as_str()));
        let closed = s
            .transition_case(&head, &id, CaseState::Closed, "同意结案", "")
            .await
            .unwrap();
        assert_eq!(closed.state, CaseState::Closed);
        assert!(matches!(
            s.transition_case(&head, &id, CaseState::Helping, "", "")
                .await,
            Err(StoreError::Conflict { .. })
        ));
        let report = s.report(&office, &filed.id, "").await.unwrap();
        assert_eq!(
            report.state,
            weibao_domain::reports::ReportState::Closed,
            "{}",
            db.label
        );
        assert!(s
            .inbox(&head, 50)
            .await
            .unwrap()
            .iter()
            .all(|w| w.kind != WorkKind::ClosureApproval.as_str()));
        let measures = s.case_measures(&closed).await.unwrap();
        assert_eq!(measures.len(), 1);
    }
}

#[tokio::test]
async fn a_danger_found_on_a_visit_opens_one_report_whatever_the_worker_does() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let child = left_behind_child(s, &dir, "冯十二", 305).await;
        let (visit, _) = s
            .record_visit(&dir, &child, visit_input(true, true), None, "")
            .await
            .unwrap();
        assert!(!s.pending_events(10).await.unwrap().is_empty());
        assert_eq!(s.consume_events(10).await.unwrap(), 1);
        assert_eq!(s.consume_events(10).await.unwrap(), 0, "consumed once");
        let reports = s.child_reports(&office, &child).await.unwrap();
        assert_eq!(reports.len(), 1, "{}", db.label);
        let r = &reports[0];
        assert_eq!(r.channel, Channel::Visit);
        assert_eq!(r.visit_id.as_deref(), Some(visit.id.as_str()));
        assert!(
            r.details.description.contains("屋顶漏雨"),
            "{}",
            r.details.description
        );
        // A worker that stopped before marking the event consumed meets the report.
        s.record_visit(&dir, &child, visit_input(true, false), None, "")
            .await
            .unwrap();
        assert_eq!(s.child_reports(&office, &child).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_late_supervised_item_escalates_to_the_head_over_working_days() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let head_user = add_user(s, "head", Role::Office, "510812").await;
        let head = scope_of(
            &s.set_head(&Scope::system(), &head_user.id, true)
                .await
                .unwrap(),
        );
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let police = scope_of(&add_user(s, "police", Role::Unit, "510812").await);
        let child = left_behind_child(s, &dir, "陈十三", 306).await;
        let referral = refer_child_to_police(s, &office, &child).await;
        let item = s
            .inbox(&police, 50)
            .await
            .unwrap()
            .into_iter()
            .find(|w| w.subject_id == referral)
            .unwrap();
        let due = s
            .deadline_after(s.clock().now_ms(), Span::WorkingDays(3))
            .await
            .unwrap();
        assert!(matches!(
            s.supervise(
                &police,
                &item.id,
                Supervision::Supervised,
                due.at_ms,
                "请按时办理",
                ""
            )
            .await,
            Err(StoreError::Forbidden)
        ));
        let supervised = s
            .supervise(
                &office,
                &item.id,
                Supervision::Listed,
                due.at_ms,
                "挂牌督办：三个工作日内接收",
                "",
            )
            .await
            .unwrap();
        assert_eq!(supervised.supervision, 2);
        assert_eq!(s.escalate_late().await.unwrap(), 0);
        assert!(!s
            .inbox(&head, 50)
            .await
            .unwrap()
            .iter()
            .any(|w| w.id == item.id));
        s.clock().advance_ms(due.at_ms - s.clock().now_ms() + 1);
        assert_eq!(s.escalate_late().await.unwrap(), 1, "{}", db.label);
        assert_eq!(s.escalate_late().await.unwrap(), 0, "once");
        assert!(s
            .inbox(&head, 50)
            .await
            .unwrap()
            .iter()
            .any(|w| w.id == item.id));
        let told = s.notifications(&head, 20).await.unwrap();
        assert!(told.iter().any(|n| n.text.contains("督办事项已逾期")));
    }
}

#[tokio::test]
async fn a_childs_reports_and_cases_follow_it_to_another_county() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let office_b = scope_of(&add_user(s, "office-b", Role::Office, "510811").await);
        let dir_c = scope_of(&add_user(s, "dir-c", Role::Director, "510811100201").await);
        let police = scope_of(&add_user(s, "police", Role::Unit, "510812").await);
        let child = left_behind_child(s, &dir, "韩十四", 307).await;
        let referral = refer_child_to_police(s, &office, &child).await;
        let report_id = s
            .referral(&office, &referral)
            .await
            .unwrap()
            .report_id
            .unwrap();
        let case = s
            .open_case(&office, Some(&report_id), None, None, "")
            .await
            .unwrap();
        let t = s
            .request_transfer(
                &dir,
                &child,
                DivisionCode::parse("510811100201").unwrap(),
                "随母亲迁居",
                "",
            )
            .await
            .unwrap();
        s.decide_transfer(&dir_c, &t.id, true, "", "")
            .await
            .unwrap();
        s.consume_events(50).await.unwrap();
        let r = s.report(&office_b, &report_id, "").await.unwrap();
        assert_eq!(r.county_code, "510811", "{}", db.label);
        assert!(matches!(
            s.report(&office, &report_id, "").await,
            Err(StoreError::NotFound)
        ));
        let c = s.case(&office_b, &case.id, "").await.unwrap();
        assert_eq!(c.county_code, "510811");
        // The old county's police lost the referral and the child.
        let moved = s.referral(&office_b, &referral).await.unwrap();
        assert_eq!(moved.state, ReferralState::Revoked);
        assert!(matches!(
            s.read_child(&police, &child, false, "").await,
            Err(StoreError::NotFound)
        ));
        // The timeline came along; the new office has it to look at.
        assert!(!s.report_timeline(&office_b, &r).await.unwrap().is_empty());
        assert!(s
            .inbox(&office_b, 50)
            .await
            .unwrap()
            .iter()
            .any(|w| w.subject_id == report_id));
    }
}

#[tokio::test]
async fn a_public_report_is_found_by_its_tracking_code_and_nothing_else() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let report = ReportInput {
            situations: vec!["s6".into()],
            description: "邻居家孩子长期一个人在家".into(),
            child: ChildHint {
                age: Some(7),
                ..ChildHint::default()
            },
            reporter: Reporter {
                anonymous: true,
                ..Reporter::default()
            },
            ..ReportInput::default()
        }
        .check(now(s), Some(Channel::Public))
        .unwrap();
        let filed = s
            .file_report(
                &Scope::system(),
                about(report, "510812100", None),
                "203.0.113.1",
            )
            .await
            .unwrap();
        let code = filed.tracking_code.clone().unwrap();
        assert_eq!(code.len(), 23);
        let seen = s
            .track_report(&code.to_lowercase().replace('-', " "), "")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.state, weibao_domain::reports::ReportState::New);
        assert!(seen.reply.is_empty());
        assert!(s
            .track_report("AAAAA-BBBBB-CCCCC-DDDDD", "")
            .await
            .unwrap()
            .is_none());
        s.reply_report(&office, &filed.id, "已核实，村委会已安排亲属照料", true, "")
            .await
            .unwrap();
        let seen = s.track_report(&code, "").await.unwrap().unwrap();
        assert_eq!(
            seen.state,
            weibao_domain::reports::ReportState::Closed,
            "{}",
            db.label
        );
        assert_eq!(seen.reply, "已核实，村委会已安排亲属照料");
    }
}

#[tokio::test]
async fn the_calendar_ships_two_years_and_takes_the_next() {
    for db in TestDb::all().await {
        let s = &db.store;
        let years: Vec<i32> = s
            .calendar_years()
            .await
            .unwrap()
            .iter()
            .map(|y| y.year)
            .collect();
        assert_eq!(years, [2025, 2026], "{}", db.label);
        seeded(&db).await;
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        assert!(matches!(
            s.load_calendar(&dir, "year 2027\nholiday 2027-01-01").await,
            Err(StoreError::Forbidden)
        ));
        assert!(matches!(
            s.load_calendar(&office, "year 2027\nholiday 2027-13-01")
                .await,
            Err(StoreError::Invalid {
                field: "calendar",
                ..
            })
        ));
        s.load_calendar(
            &office,
            "year 2027\nholiday 2027-01-01 元旦\nworkday 2027-01-02",
        )
        .await
        .unwrap();
        assert!(s.calendar().await.unwrap().has_year(2027));
        assert_eq!(
            s.calendar()
                .await
                .unwrap()
                .is_working_day(chrono::NaiveDate::from_ymd_opt(2027, 1, 2).unwrap()),
            (true, true)
        );
    }
}

#[tokio::test]
async fn digests_go_once_a_day_to_each_unit_with_work_due() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, "510812100201").await);
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let police = scope_of(&add_user(s, "police", Role::Unit, "510812").await);
        let child = left_behind_child(s, &dir, "杨十五", 308).await;
        refer_child_to_police(s, &office, &child).await;
        let far = s.clock().now_ms() + 10 * 86_400_000;
        let told = s.send_digests("2026-12-04", far).await.unwrap();
        assert!(told >= 1, "{}", db.label);
        assert_eq!(s.send_digests("2026-12-04", far).await.unwrap(), told);
        let n = s.notifications(&police, 50).await.unwrap();
        assert_eq!(
            n.iter().filter(|x| x.text.starts_with("每日提醒")).count(),
            1,
            "once a day"
        );
    }
}
