//! The protection network as records: its places (the `stations` table: the county's
//! center, stations, work points, service stations) and the people who hold its posts
//! (supervisors, directors, staff) with their training; coverage.rs counts them.
//!
//! Who: the office keeps its county's network, a township's supervisor the township's;
//! directors read their village's. Every change is audited; phones are sealed.

mod coverage;
mod roster;

pub use coverage::{Coverage, CoverageRow, Vacancy};
pub use roster::RosterCounts;

use chrono::NaiveDate;
use weibao_domain::access::{Action, Scope};
use weibao_domain::network::{Appointment, Certificate, PlaceKind, Post, Qualification};
use weibao_domain::{DivisionCode, Invalid};

use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::work::new_id;

/// A place of the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub id: String,
    pub kind: PlaceKind,
    pub division_code: String,
    pub name: String,
    pub address: String,
    pub opened_on: Option<String>,
    pub staff: i64,
    pub closed_on: Option<String>,
}

/// A new place, checked by the domain.
#[derive(Debug, Clone)]
pub struct NewPlace {
    pub kind: PlaceKind,
    pub division: DivisionCode,
    pub name: String,
    pub address: String,
    pub opened_on: Option<NaiveDate>,
    pub staff: i64,
}

/// Someone who holds (or held) a post.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: String,
    pub post: Post,
    pub division_code: String,
    pub name: String,
    pub phone: String,
    pub qualification: Qualification,
    pub certificate: Option<Certificate>,
    pub appointed_on: String,
    pub left_on: Option<String>,
    pub left_reason: String,
    pub user_id: Option<String>,
    /// Training this year, in hours.
    pub training_hours: f64,
}

#[derive(sqlx::FromRow)]
struct PlaceRow {
    id: String,
    kind: String,
    division_code: String,
    name: String,
    address: String,
    opened_on: Option<String>,
    staff: i64,
    closed_on: Option<String>,
}

impl From<PlaceRow> for Place {
    fn from(r: PlaceRow) -> Place {
        Place {
            kind: PlaceKind::parse(&r.kind).unwrap_or(PlaceKind::Station),
            id: r.id,
            division_code: r.division_code,
            name: r.name,
            address: r.address,
            opened_on: r.opened_on,
            staff: r.staff,
            closed_on: r.closed_on,
        }
    }
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    county_code: String,
    id: String,
    post: String,
    division_code: String,
    name: String,
    phone: String,
    qualification: String,
    certificate: Option<String>,
    appointed_on: String,
    left_on: Option<String>,
    left_reason: String,
    user_id: Option<String>,
}

const PERSON_COLUMNS: &str = "county_code, id, post, division_code, name, phone, qualification,
    certificate, appointed_on, left_on, left_reason, user_id";

/// Most people or places in one list.
pub const NETWORK_LIST_LIMIT: i64 = 2000;

fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

impl Store {
    /// Opens a place of the network; one open center, station or work point per division.
    pub async fn add_place(
        &self,
        scope: &Scope,
        new: NewPlace,
        ip: &str,
    ) -> Result<Place, StoreError> {
        scope.check(Action::ManageNetwork, new.division)?;
        self.check_new_place(&new)?;
        let name = new.name.trim();
        let place = Place {
            id: new_id(),
            kind: new.kind,
            division_code: new.division.full(),
            name: name.to_string(),
            address: new.address.trim().chars().take(200).collect(),
            opened_on: new.opened_on.map(date_text),
            staff: new.staff,
            closed_on: None,
        };
        let county = new.division.county_code();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let inserted = on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO stations (county_code, id, division_code, name, created_at, kind,
                 address, opened_on, staff, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $5) ON CONFLICT DO NOTHING"
        )
        .bind(&county)
        .bind(&place.id)
        .bind(&place.division_code)
        .bind(&place.name)
        .bind(now)
        .bind(place.kind.code())
        .bind(&place.address)
        .bind(&place.opened_on)
        .bind(place.staff)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if inserted == 0 {
            return Err(StoreError::Conflict {
                field: "division",
                code: "place_exists",
                message: format!(
                    "{} 已设有{}；如已撤销，请先登记撤销日期",
                    new.division,
                    new.kind.label()
                ),
            });
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "network.place_add", &place.id)
                .in_county(&county)
                .from_ip(ip)
                .detail(place.kind.code()),
        )
        .await?;
        tx.commit().await?;
        Ok(place)
    }

    /// Records that a place closed (its row stays, as the history of the network).
    pub async fn close_place(
        &self,
        scope: &Scope,
        id: &str,
        closed_on: NaiveDate,
        ip: &str,
    ) -> Result<Place, StoreError> {
        let (county, place) = self.place_by_id(scope, id, Action::ManageNetwork).await?;
        if place.closed_on.is_some() {
            return Err(StoreError::Conflict {
                field: "id",
                code: "place_closed",
                message: "该阵地已登记撤销".into(),
            });
        }
        if closed_on > self.clock().today()
            || place
                .opened_on
                .as_deref()
                .is_some_and(|o| o > date_text(closed_on).as_str())
        {
            return Err(StoreError::invalid(
                "closed_on",
                Invalid::new("date_range", "撤销日期应在建成日期之后、今天或以前"),
            ));
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        crate::work::exec(
            &mut tx,
            "UPDATE stations SET closed_on = $3, updated_at = $4 WHERE county_code = $1 AND id = $2",
            vec![
                county.clone().into(),
                id.into(),
                date_text(closed_on).into(),
                now.into(),
            ],
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "network.place_close", id)
                .in_county(&county)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await?;
        Ok(Place {
            closed_on: Some(date_text(closed_on)),
            ..place
        })
    }

    async fn place_by_id(
        &self,
        scope: &Scope,
        id: &str,
        action: Action,
    ) -> Result<(String, Place), StoreError> {
        scope.check_role(action)?;
        let row: Option<(String, PlaceRow)> = {
            let mut c = self.read().await?;
            let r: Option<PlaceRow> = on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, kind, division_code, name, address, opened_on, staff, closed_on
                 FROM stations WHERE id = $1"
            )
            .bind(id)
            .fetch_optional(&mut *c)
            .await)?;
            r.map(|r| (r.division_code[..6].to_string(), r))
        };
        let (county, row) = row.ok_or(StoreError::NotFound)?;
        let at = DivisionCode::parse(&row.division_code).map_err(|_| StoreError::NotFound)?;
        scope.check(action, at)?;
        Ok((county, row.into()))
    }

    /// The places under `within` (closed ones too when `closed`), by division.
    pub async fn list_places(
        &self,
        scope: &Scope,
        within: DivisionCode,
        kind: Option<PlaceKind>,
        closed: bool,
    ) -> Result<Vec<Place>, StoreError> {
        scope.check(Action::ViewNetwork, within)?;
        let (lo, hi) = within.subtree_bounds();
        let mut c = self.read().await?;
        let rows: Vec<PlaceRow> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT id, kind, division_code, name, address, opened_on, staff, closed_on
             FROM stations WHERE division_code BETWEEN $1 AND $2
               AND ($3 = '' OR kind = $3) AND ($4 OR closed_on IS NULL)
             ORDER BY division_code, kind, id LIMIT $5"
        )
        .bind(&lo)
        .bind(&hi)
        .bind(kind.map(|k| k.code()).unwrap_or(""))
        .bind(closed)
        .bind(NETWORK_LIST_LIMIT)
        .fetch_all(&mut *c)
        .await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Appoints someone to a post; `username` links their account (within the caller's
    /// reach). Several may hold one post (a township with two supervisors).
    pub async fn appoint(
        &self,
        scope: &Scope,
        a: Appointment,
        username: Option<&str>,
        ip: &str,
    ) -> Result<Person, StoreError> {
        scope.check(Action::ManageNetwork, a.division)?;
        let user_id = match username.map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(u) => Some(self.network_account(scope, u).await?),
        };
        let id = new_id();
        let county = a.division.county_code();
        let now = self.now_ms();
        let phone = self
            .keys()?
            .seal(&format!("network_people.phone:{id}"), &a.phone);
        let mut tx = self.begin().await?;
        crate::work::exec(
            &mut tx,
            "INSERT INTO network_people (county_code, id, division_code, post, name, phone,
                 qualification, certificate, appointed_on, left_on, left_reason, user_id,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, '', $10, $11, $11)",
            vec![
                county.clone().into(),
                id.clone().into(),
                a.division.full().into(),
                a.post.code().into(),
                a.name.clone().into(),
                phone.into(),
                a.qualification.code().into(),
                a.certificate.map(|c| c.code().to_string()).into(),
                date_text(a.appointed_on).into(),
                user_id.clone().into(),
                now.into(),
            ],
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "network.appoint", &id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("{} {}", a.post.code(), a.division.full())),
        )
        .await?;
        tx.commit().await?;
        Ok(Person {
            id,
            post: a.post,
            division_code: a.division.full(),
            name: a.name,
            phone: a.phone,
            qualification: a.qualification,
            certificate: a.certificate,
            appointed_on: date_text(a.appointed_on),
            left_on: None,
            left_reason: String::new(),
            user_id,
            training_hours: 0.0,
        })
    }

    /// The id of an account the caller reaches, by its username (422 when there is none).
    async fn network_account(&self, scope: &Scope, username: &str) -> Result<String, StoreError> {
        let folded = crate::accounts::fold_username(username);
        let row: Option<(String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, division_code FROM users WHERE username = $1"
            )
            .bind(&folded)
            .fetch_optional(&mut *c)
            .await)?
        };
        let reached = row.filter(|(_, d)| {
            DivisionCode::parse(d)
                .map(|d| scope.reaches(d))
                .unwrap_or(false)
        });
        reached.map(|(id, _)| id).ok_or_else(|| {
            StoreError::invalid(
                "username",
                Invalid::new(
                    "account_unknown",
                    format!("本辖区没有用户名为“{username}”的账号；没有账号的可不填"),
                ),
            )
        })
    }

    /// Records that someone left their post; the post shows vacant until someone else
    /// is appointed, and their record stays.
    pub async fn leave_post(
        &self,
        scope: &Scope,
        id: &str,
        left_on: NaiveDate,
        reason: &str,
        ip: &str,
    ) -> Result<Person, StoreError> {
        let person = self.person(scope, id, Action::ManageNetwork).await?;
        if let Some(left) = &person.left_on {
            return Err(StoreError::Conflict {
                field: "id",
                code: "already_left",
                message: format!("{} 已于 {left} 离任", person.name),
            });
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(StoreError::invalid(
                "reason",
                Invalid::new(
                    "reason_required",
                    "请写明离任原因（200 字以内），如：调任、辞职",
                ),
            ));
        }
        if left_on > self.clock().today() || date_text(left_on) < person.appointed_on {
            return Err(StoreError::invalid(
                "left_on",
                Invalid::new("date_range", "离任日期应在任职日期之后、今天或以前"),
            ));
        }
        let county = person.division_code[..6].to_string();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        crate::work::exec(
            &mut tx,
            "UPDATE network_people SET left_on = $3, left_reason = $4, updated_at = $5
             WHERE county_code = $1 AND id = $2",
            vec![
                county.clone().into(),
                id.into(),
                date_text(left_on).into(),
                reason.into(),
                now.into(),
            ],
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "network.leave", id)
                .in_county(&county)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await?;
        Ok(Person {
            left_on: Some(date_text(left_on)),
            left_reason: reason.to_string(),
            ..person
        })
    }

    /// Records a training someone attended (hours, one decimal).
    pub async fn record_training(
        &self,
        scope: &Scope,
        person_id: &str,
        held_on: NaiveDate,
        hours: f64,
        topic: &str,
        ip: &str,
    ) -> Result<Person, StoreError> {
        let person = self.person(scope, person_id, Action::ManageNetwork).await?;
        if !(0.5..=200.0).contains(&hours) || !hours.is_finite() {
            return Err(StoreError::invalid(
                "hours",
                Invalid::new("hours_range", "培训学时应在 0.5 到 200 之间"),
            ));
        }
        let topic = topic.trim();
        if topic.is_empty() || topic.chars().count() > 100 {
            return Err(StoreError::invalid(
                "topic",
                Invalid::new("topic_required", "请填写培训内容（100 字以内）"),
            ));
        }
        if held_on > self.clock().today() {
            return Err(StoreError::invalid(
                "held_on",
                Invalid::new("date_future", "培训日期不能晚于今天"),
            ));
        }
        let county = person.division_code[..6].to_string();
        let now = self.now_ms();
        let id = new_id();
        let mut tx = self.begin().await?;
        crate::work::exec(
            &mut tx,
            "INSERT INTO network_trainings (county_code, id, person_id, held_on, tenths, topic,
                 recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                county.clone().into(),
                id.clone().into(),
                person_id.into(),
                date_text(held_on).into(),
                ((hours * 10.0).round() as i64).into(),
                topic.into(),
                scope.user_id.clone().into(),
                now.into(),
            ],
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "network.training", person_id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("training={id}")),
        )
        .await?;
        tx.commit().await?;
        self.person(scope, person_id, Action::ManageNetwork).await
    }

    /// One person, when the caller may do `action` where they serve.
    pub async fn person(
        &self,
        scope: &Scope,
        id: &str,
        action: Action,
    ) -> Result<Person, StoreError> {
        scope.check_role(action)?;
        let sql = format!("SELECT {PERSON_COLUMNS} FROM network_people WHERE id = $1");
        let row: Option<PersonRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?
        };
        let row = row.ok_or(StoreError::NotFound)?;
        let at = DivisionCode::parse(&row.division_code).map_err(|_| StoreError::NotFound)?;
        scope.check(action, at)?;
        let mut people = self.people_from_rows(vec![row]).await?;
        Ok(people.remove(0))
    }

    /// The people under `within` holding `post` (those who left too when `former`).
    pub async fn list_people(
        &self,
        scope: &Scope,
        within: DivisionCode,
        post: Option<Post>,
        former: bool,
    ) -> Result<Vec<Person>, StoreError> {
        scope.check(Action::ViewNetwork, within)?;
        let (lo, hi) = within.subtree_bounds();
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM network_people
             WHERE division_code BETWEEN $1 AND $2 AND ($3 = '' OR post = $3)
               AND ($4 OR left_on IS NULL)
             ORDER BY division_code, post, appointed_on, id LIMIT $5"
        );
        let rows: Vec<PersonRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&lo)
                .bind(&hi)
                .bind(post.map(|p| p.code()).unwrap_or(""))
                .bind(former)
                .bind(NETWORK_LIST_LIMIT)
                .fetch_all(&mut *c)
                .await)?
        };
        self.people_from_rows(rows).await
    }

    async fn people_from_rows(&self, rows: Vec<PersonRow>) -> Result<Vec<Person>, StoreError> {
        let year_start = format!("{}-01-01", self.clock().today().format("%Y"));
        let mut counties: Vec<&str> = rows.iter().map(|r| r.county_code.as_str()).collect();
        counties.sort_unstable();
        counties.dedup();
        let mut hours = std::collections::HashMap::new();
        {
            let mut c = self.read().await?;
            for county in counties {
                let sums: Vec<(String, i64)> = on!(c.conn(), |c| sqlx::query_as(
                    "SELECT person_id, CAST(SUM(tenths) AS BIGINT) FROM network_trainings
                     WHERE county_code = $1 AND held_on >= $2 GROUP BY person_id"
                )
                .bind(county)
                .bind(&year_start)
                .fetch_all(&mut *c)
                .await)?;
                hours.extend(sums);
            }
        }
        let keys = self.keys()?;
        rows.into_iter()
            .map(|r| {
                Ok(Person {
                    phone: keys.open(&format!("network_people.phone:{}", r.id), &r.phone)?,
                    post: Post::parse(&r.post).unwrap_or(Post::Staff),
                    qualification: Qualification::parse(&r.qualification)
                        .unwrap_or(Qualification::Other),
                    certificate: r.certificate.as_deref().and_then(Certificate::parse),
                    training_hours: hours.get(&r.id).copied().unwrap_or(0) as f64 / 10.0,
                    id: r.id,
                    division_code: r.division_code,
                    name: r.name,
                    appointed_on: r.appointed_on,
                    left_on: r.left_on,
                    left_reason: r.left_reason,
                    user_id: r.user_id,
                })
            })
            .collect()
    }
}
