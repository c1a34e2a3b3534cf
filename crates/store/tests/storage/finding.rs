//! The ledger's kin rows (child_kin) on SQLite and PostgreSQL: a list is matched against
//! what the record says now (a guardian replaced is no longer found, the new one is), and
//! a record without its row (written before the table was kept) is matched all the same;
//! a parent's own number finds the child.

use weibao_domain::access::Role;
use weibao_domain::finding::matching::ListKind;
use weibao_domain::id_number::IdNumber;
use weibao_domain::record::{ChildPatch, GuardianInput, ParentInput};
use weibao_store::testing::TestDb;
use weibao_store::{ListRowInput, Store};

use super::{add_user, scope_of, seeded};

const VILLAGE: &str = "510812100201";

fn number(birth: &str, seq: u32) -> String {
    let first17 = format!("510812{birth}{:03}", seq % 1000);
    format!(
        "{first17}{}",
        weibao_domain::id_number::check_char(first17.as_bytes())
    )
}

fn grandmother(id_number: &str) -> GuardianInput {
    GuardianInput {
        name: Some("王某".into()),
        relationship: Some("祖母".into()),
        id_number: Some(id_number.into()),
        actual_caregiver: true,
        ..Default::default()
    }
}

/// Matches a 司法 list of one adult row and answers how many children it found changed.
async fn prison_list_finds(s: &Store, office: &weibao_domain::access::Scope, adult: &str) -> i64 {
    let today = s.clock().today();
    let list = s
        .add_dept_list(office, ListKind::Prison, "服刑.xlsx", b"xlsx", 1, "")
        .await
        .unwrap();
    let row = ListRowInput {
        row: 2,
        name: "王某".into(),
        id_number: IdNumber::parse(adult, today).unwrap(),
        children: vec![],
        parents: vec![],
        detail: String::new(),
        division: None,
    };
    let done = s.match_dept_list(&list.id, vec![row]).await.unwrap();
    assert_eq!(done.state, "done");
    done.changed
}

#[tokio::test]
async fn matching_follows_the_record_and_fills_the_kin_row_a_record_lacks() {
    for db in TestDb::all().await {
        let at = db.label;
        seeded(&db).await;
        let s = &db.store;
        let dir = scope_of(&add_user(s, "dir-a", Role::Director, VILLAGE).await);
        let office = scope_of(&add_user(s, "office", Role::Office, "510812").await);
        let (first, second) = (number("19600304", 11), number("19620405", 12));
        let child = s
            .create_child(
                &dir,
                ChildPatch {
                    name: Some("李小红".into()),
                    id_number: Some(number("20160101", 21)),
                    division: Some(VILLAGE.into()),
                    guardians: Some(vec![grandmother(&first)]),
                    ..Default::default()
                },
                "",
            )
            .await
            .unwrap();
        assert_eq!(prison_list_finds(s, &office, &first).await, 1, "{at}");
        assert_eq!(prison_list_finds(s, &office, &second).await, 0, "{at}");

        // The guardian's number is corrected (only the number: it was once dropped as
        // no change): the list now finds the new one, not the old.
        s.update_child(
            &dir,
            &child.id,
            ChildPatch {
                guardians: Some(vec![grandmother(&second)]),
                ..Default::default()
            },
            None,
            "",
        )
        .await
        .unwrap();
        assert_eq!(prison_list_finds(s, &office, &first).await, 0, "{at}");
        assert_eq!(prison_list_finds(s, &office, &second).await, 1, "{at}");

        // A record written before the kin rows were kept has none: the match writes it.
        db.raw("DELETE FROM child_kin").await.unwrap();
        assert_eq!(prison_list_finds(s, &office, &second).await, 1, "{at}");
        let kept = db.texts("SELECT child_id FROM child_kin").await;
        assert_eq!(kept, vec![child.id.clone()], "{at}");

        // A father recorded with his own number (not a guardian) finds his child.
        let father = number("19800506", 13);
        assert_eq!(prison_list_finds(s, &office, &father).await, 0, "{at}");
        s.create_child(
            &dir,
            ChildPatch {
                name: Some("赵小明".into()),
                id_number: Some(number("20170203", 22)),
                division: Some(VILLAGE.into()),
                father: Some(ParentInput {
                    name: Some("赵某".into()),
                    id_number: Some(father.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "",
        )
        .await
        .unwrap();
        assert_eq!(prison_list_finds(s, &office, &father).await, 1, "{at}");
    }
}
