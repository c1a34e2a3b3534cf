//! The network as a county keeps it in a spreadsheet (花名册): a whole county's places
//! and people read in one transaction (what is already recorded is left as it is, so a
//! sheet may be imported again), and the roster the export writes.

use std::collections::HashSet;

use weibao_domain::access::{Action, Scope};
use weibao_domain::network::{Appointment, PlaceKind};
use weibao_domain::{DivisionCode, Invalid};

use super::{date_text, NewPlace, Person, PersonRow, Place, PlaceRow, PERSON_COLUMNS};
use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::work::new_id;

/// Inserts sent in one round trip (10 parameters each at most).
const STATEMENTS_PER_TRIP: usize = 500;

/// What one roster import added and found already recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RosterCounts {
    pub places_added: usize,
    pub places_existing: usize,
    pub people_added: usize,
    pub people_existing: usize,
}

/// A place is the same place when it has the same kind and division (and, for service
/// stations, of which a division may have several, the same name).
fn place_key(kind: PlaceKind, division: &str, name: &str) -> String {
    if kind.one_per_division() {
        format!("{}|{division}", kind.code())
    } else {
        format!("{}|{division}|{name}", kind.code())
    }
}

/// A person is already recorded when someone of that name holds that post there.
fn person_key(post: &str, division: &str, name: &str) -> String {
    format!("{post}|{division}|{name}")
}

impl Store {
    /// Checks a place as [`Store::add_place`] would, without writing (an import checks
    /// every row before it writes any).
    pub fn check_new_place(&self, new: &NewPlace) -> Result<(), StoreError> {
        new.kind
            .check_division(new.division)
            .map_err(|e| StoreError::invalid("division", e))?;
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(StoreError::invalid(
                "name",
                Invalid::new("name_required", "请填写阵地名称（60 字以内）"),
            ));
        }
        if !(0..=500).contains(&new.staff) {
            return Err(StoreError::invalid(
                "staff",
                Invalid::new("staff_range", "工作人员数应在 0 到 500 之间"),
            ));
        }
        if new.opened_on.is_some_and(|d| d > self.clock().today()) {
            return Err(StoreError::invalid(
                "opened_on",
                Invalid::new("date_future", "建成日期不能晚于今天"),
            ));
        }
        Ok(())
    }

    /// Records the places and people of a county (or a township in it) from a roster,
    /// all or nothing: a place or a
    /// person already recorded (an open place of that kind there; someone of that name in
    /// that post there) is left as it is and counted. With `dry_run` nothing is written.
    pub async fn import_network(
        &self,
        scope: &Scope,
        within: DivisionCode,
        places: &[NewPlace],
        people: &[Appointment],
        dry_run: bool,
        ip: &str,
    ) -> Result<RosterCounts, StoreError> {
        scope.check(Action::ManageNetwork, within)?;
        if within.level() < weibao_domain::Level::County {
            return Err(StoreError::invalid(
                "division",
                Invalid::new("division_level", "请选择一个县（市、区）或其下的区划导入"),
            ));
        }
        let county_code = within.county_code();
        let outside = |at: DivisionCode| {
            StoreError::invalid(
                "division",
                Invalid::new("division_outside", format!("{at} 不在 {within} 范围内")),
            )
        };
        for p in places {
            if !within.contains(p.division) {
                return Err(outside(p.division));
            }
            self.check_new_place(p)?;
        }
        if let Some(a) = people.iter().find(|a| !within.contains(a.division)) {
            return Err(outside(a.division));
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let open_places: Vec<(String, String, String)> = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT kind, division_code, name FROM stations
             WHERE county_code = $1 AND closed_on IS NULL"
        )
        .bind(&county_code)
        .fetch_all(&mut *c)
        .await)?;
        let mut places_seen: HashSet<String> = open_places
            .iter()
            .filter_map(|(k, d, n)| Some(place_key(PlaceKind::parse(k)?, d, n.trim())))
            .collect();
        let holders: Vec<(String, String, String)> = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT post, division_code, name FROM network_people
             WHERE county_code = $1 AND left_on IS NULL"
        )
        .bind(&county_code)
        .fetch_all(&mut *c)
        .await)?;
        let mut people_seen: HashSet<String> = holders
            .iter()
            .map(|(p, d, n)| person_key(p, d, n))
            .collect();
        let mut counts = RosterCounts::default();
        // Sent a few hundred statements at a time: SQLite numbers a text's parameters
        // across all its statements, up to 32766.
        let mut scripts: Vec<Script> = Vec::new();
        let mut script = Script::default();
        let mut in_script = 0;
        for p in places {
            let name = p.name.trim().to_string();
            if !places_seen.insert(place_key(p.kind, &p.division.full(), &name)) {
                counts.places_existing += 1;
                continue;
            }
            counts.places_added += 1;
            script.push(
                "INSERT INTO stations (county_code, id, division_code, name, created_at, kind,
                     address, opened_on, staff, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $5)",
                vec![
                    county_code.clone().into(),
                    new_id().into(),
                    p.division.full().into(),
                    name.into(),
                    now.into(),
                    p.kind.code().into(),
                    p.address
                        .trim()
                        .chars()
                        .take(200)
                        .collect::<String>()
                        .into(),
                    p.opened_on.map(date_text).into(),
                    p.staff.into(),
                ],
            );
            in_script += 1;
            if in_script == STATEMENTS_PER_TRIP {
                scripts.push(std::mem::take(&mut script));
                in_script = 0;
            }
        }
        let keys = self.keys()?;
        for a in people {
            if !people_seen.insert(person_key(a.post.code(), &a.division.full(), &a.name)) {
                counts.people_existing += 1;
                continue;
            }
            counts.people_added += 1;
            let id = new_id();
            let phone = keys.seal(&format!("network_people.phone:{id}"), &a.phone);
            script.push(
                "INSERT INTO network_people (county_code, id, division_code, post, name, phone,
                     qualification, certificate, appointed_on, left_on, left_reason, user_id,
                     created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, '', NULL, $10, $10)",
                vec![
                    county_code.clone().into(),
                    id.into(),
                    a.division.full().into(),
                    a.post.code().into(),
                    a.name.clone().into(),
                    phone.into(),
                    a.qualification.code().into(),
                    a.certificate.map(|c| c.code().to_string()).into(),
                    date_text(a.appointed_on).into(),
                    now.into(),
                ],
            );
            in_script += 1;
            if in_script == STATEMENTS_PER_TRIP {
                scripts.push(std::mem::take(&mut script));
                in_script = 0;
            }
        }
        if dry_run || counts.places_added + counts.people_added == 0 {
            // Dropped unwritten: nothing changes.
            drop(tx);
            return Ok(counts);
        }
        for batch in scripts.into_iter().chain([script]) {
            batch.run(tx.conn()).await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "network.import", &county_code)
                .in_county(&county_code)
                .from_ip(ip)
                .detail(format!(
                    "places={} people={}",
                    counts.places_added, counts.people_added
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// Every open place and every current post holder under `within` (a county or below),
    /// by division: what the roster export writes. Phones are opened, so it takes the
    /// right to keep the network, and the export is audited.
    pub async fn network_roster(
        &self,
        scope: &Scope,
        within: DivisionCode,
        ip: &str,
    ) -> Result<(Vec<Place>, Vec<Person>), StoreError> {
        scope.check(Action::ManageNetwork, within)?;
        if within.level() < weibao_domain::Level::County {
            return Err(StoreError::invalid(
                "division",
                Invalid::new("division_level", "请选择一个县（市、区）或其下的区划导出"),
            ));
        }
        let county = within.county_code();
        let (lo, hi) = within.subtree_bounds();
        let (places, people): (Vec<PlaceRow>, Vec<PersonRow>) = {
            let mut c = self.read().await?;
            let places = on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, kind, division_code, name, address, opened_on, staff, closed_on
                 FROM stations WHERE county_code = $1 AND division_code BETWEEN $2 AND $3
                   AND closed_on IS NULL
                 ORDER BY division_code, kind, name, id"
            )
            .bind(&county)
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&mut *c)
            .await)?;
            let sql = format!(
                "SELECT {PERSON_COLUMNS} FROM network_people
                 WHERE county_code = $1 AND division_code BETWEEN $2 AND $3 AND left_on IS NULL
                 ORDER BY division_code, post, appointed_on, id"
            );
            let people = on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .bind(&lo)
                .bind(&hi)
                .fetch_all(&mut *c)
                .await)?;
            (places, people)
        };
        let people = self.people_from_rows(people).await?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "network.export", within.full())
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("places={} people={}", places.len(), people.len())),
        )
        .await?;
        tx.commit().await?;
        Ok((places.into_iter().map(Into::into).collect(), people))
    }
}
