//! The committee's work in a county: its members and each member unit's duties (here),
//! the plan's tasks with their progress and notices (plan.rs), joint meetings and their
//! yearly minimum (meetings.rs).
//!
//! Who: the office keeps it all; a member unit's liaison and a township's supervisor read
//! the committee and report on the tasks of their own units. Deadlines, supervision and
//! acknowledgements are work items of the shared engine (crate::work).

mod assessment;
mod files;
mod meetings;
mod plan;

pub use assessment::{Assessed, Assessment, Counted, Drill, Points};
pub use files::{TaskFile, MAX_TASK_FILES};
pub use meetings::{Meeting, NewMeeting, MEETINGS_PER_YEAR};
pub use plan::{NewTask, Notice, NoticeUnit, PlanTask, TaskFilter, TaskProgress};

use chrono::NaiveDate;
use weibao_domain::access::{Action, Role, Scope};
use weibao_domain::committee::{check_duties, Position};
use weibao_domain::{DivisionCode, Invalid, Level};

use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::work::{exec, new_id, Unit};

/// A member of the committee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub unit_id: String,
    pub name: String,
    /// Their post in their unit (副区长, 局长).
    pub title: String,
    pub position: Position,
    pub phone: String,
    pub term_from: String,
    pub term_to: Option<String>,
    pub left_on: Option<String>,
}

/// A member to add.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub unit_id: String,
    pub name: String,
    pub title: String,
    pub position: Position,
    pub phone: String,
    pub term_from: NaiveDate,
    pub term_to: Option<NaiveDate>,
}

/// A liaison account of a unit (a user acting for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiaisonAccount {
    pub unit_id: String,
    pub username: String,
    pub display_name: String,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: String,
    unit_id: String,
    name: String,
    title: String,
    position: String,
    phone: String,
    term_from: String,
    term_to: Option<String>,
    left_on: Option<String>,
}

pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The county whose committee the caller works in: their home's (a county office, a
/// liaison, a township's supervisor).
pub fn committee_county(scope: &Scope) -> Result<DivisionCode, StoreError> {
    let home = scope.home().ok_or_else(|| {
        StoreError::invalid(
            "county",
            Invalid::new("county_required", "系统账户请指明县级区划"),
        )
    })?;
    if home.level() < Level::County {
        return Err(StoreError::invalid(
            "county",
            Invalid::new(
                "county_level",
                "委员会的工作以县为单位：请用县级未保办的账号办理",
            ),
        ));
    }
    DivisionCode::parse(&home.county_code()).map_err(|e| StoreError::Config(e.message))
}

impl Store {
    /// Checks that the caller may do `action` in `county`'s committee: the office of the
    /// county; for reading, also its liaisons and township supervisors.
    pub(crate) fn check_committee(
        &self,
        scope: &Scope,
        action: Action,
        county: DivisionCode,
    ) -> Result<(), StoreError> {
        scope.check_role(action)?;
        if scope.is_system() {
            return Ok(());
        }
        let home_county = scope.home().map(|h| h.county_code());
        if scope.reaches(county) || home_county.as_deref() == Some(county.county_code().as_str()) {
            if action == Action::ManageCommittee && scope.role != Role::Office {
                return Err(StoreError::Forbidden);
            }
            return Ok(());
        }
        Err(StoreError::NotFound)
    }

    /// The committee's members, present and past (those who left last).
    pub async fn committee_members(
        &self,
        scope: &Scope,
        county: DivisionCode,
    ) -> Result<Vec<Member>, StoreError> {
        self.check_committee(scope, Action::ViewCommittee, county)?;
        let rows: Vec<MemberRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, unit_id, name, title, position, phone, term_from, term_to, left_on
                 FROM committee_members WHERE county_code = $1
                 ORDER BY left_on IS NOT NULL, position, created_at LIMIT 500"
            )
            .bind(county.county_code())
            .fetch_all(&mut *c)
            .await)?
        };
        let keys = self.keys()?;
        let mut out: Vec<Member> = rows
            .into_iter()
            .map(|r| {
                Ok(Member {
                    phone: keys.open(&format!("committee_members.phone:{}", r.id), &r.phone)?,
                    position: Position::parse(&r.position).unwrap_or(Position::Member),
                    id: r.id,
                    unit_id: r.unit_id,
                    name: r.name,
                    title: r.title,
                    term_from: r.term_from,
                    term_to: r.term_to,
                    left_on: r.left_on,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        out.sort_by_key(|m| (m.left_on.is_some(), m.position));
        Ok(out)
    }

    /// Adds a member of the committee (a unit of the county's registry).
    pub async fn add_member(
        &self,
        scope: &Scope,
        county: DivisionCode,
        new: NewMember,
        ip: &str,
    ) -> Result<Member, StoreError> {
        self.check_committee(scope, Action::ManageCommittee, county)?;
        let unit = self.committee_unit(county, &new.unit_id, "unit_id").await?;
        // Lengths are counted as sent (the API document's maxLength says the same).
        if new.name.chars().count() > 30 {
            return Err(StoreError::invalid(
                "name",
                Invalid::new("too_long", "委员姓名请写在 30 字以内"),
            ));
        }
        if new.phone.chars().count() > 20 {
            return Err(StoreError::invalid(
                "phone",
                Invalid::new("too_long", "电话请写在 20 个字符以内"),
            ));
        }
        let name = weibao_domain::child::parse_person_name("委员姓名", &new.name)
            .map_err(|e| StoreError::invalid("name", e))?;
        let title = new.title.trim();
        if new.title.chars().count() > 30 {
            return Err(StoreError::invalid(
                "title",
                Invalid::new("too_long", "职务请写在 30 字以内，如：副区长"),
            ));
        }
        let phone = match new.phone.trim() {
            "" => String::new(),
            p => weibao_domain::network::check_phone(p)
                .map_err(|e| StoreError::invalid("phone", e))?,
        };
        if new.term_to.is_some_and(|t| t < new.term_from) {
            return Err(StoreError::invalid(
                "term_to",
                Invalid::new("term_order", "任期结束日期不能早于开始日期"),
            ));
        }
        let id = new_id();
        let now = self.now_ms();
        let sealed = self
            .keys()?
            .seal(&format!("committee_members.phone:{id}"), &phone);
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "INSERT INTO committee_members (county_code, id, unit_id, name, title, position,
                 phone, term_from, term_to, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
            vec![
                county.county_code().into(),
                id.clone().into(),
                unit.id.clone().into(),
                name.clone().into(),
                title.into(),
                new.position.code().into(),
                sealed.into(),
                date_text(new.term_from).into(),
                new.term_to.map(date_text).into(),
                now.into(),
            ],
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "committee.member_add", &id)
                .in_county(county.county_code())
                .from_ip(ip)
                .detail(format!("{} {}", unit.id, new.position.code())),
        )
        .await?;
        tx.commit().await?;
        Ok(Member {
            id,
            unit_id: unit.id,
            name,
            title: title.to_string(),
            position: new.position,
            phone,
            term_from: date_text(new.term_from),
            term_to: new.term_to.map(date_text),
            left_on: None,
        })
    }

    /// Records that a member left the committee; their record stays.
    pub async fn member_leaves(
        &self,
        scope: &Scope,
        county: DivisionCode,
        id: &str,
        left_on: NaiveDate,
        ip: &str,
    ) -> Result<(), StoreError> {
        self.check_committee(scope, Action::ManageCommittee, county)?;
        if left_on > self.clock().today() {
            return Err(StoreError::invalid(
                "left_on",
                Invalid::new("date_future", "离任日期不能晚于今天"),
            ));
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let changed = exec(
            &mut tx,
            "UPDATE committee_members SET left_on = $3, updated_at = $4
             WHERE county_code = $1 AND id = $2 AND left_on IS NULL",
            vec![
                county.county_code().into(),
                id.into(),
                date_text(left_on).into(),
                now.into(),
            ],
        )
        .await?;
        if changed == 0 {
            // Gone already (409), or no such member of this county's committee (404).
            let known: Option<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
                "SELECT id FROM committee_members WHERE county_code = $1 AND id = $2"
            )
            .bind(county.county_code())
            .bind(id)
            .fetch_optional(&mut *c)
            .await)?;
            return Err(match known {
                Some(_) => StoreError::Conflict {
                    field: "id",
                    code: "left_already",
                    message: "该成员已登记离任".into(),
                },
                None => StoreError::NotFound,
            });
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "committee.member_leave", id)
                .in_county(county.county_code())
                .from_ip(ip),
        )
        .await?;
        tx.commit().await
    }

    /// Replaces a unit's duty list (部门职责).
    pub async fn set_duties(
        &self,
        scope: &Scope,
        unit_id: &str,
        duties: &[String],
        ip: &str,
    ) -> Result<Unit, StoreError> {
        let unit = self.unit(scope, unit_id).await?;
        let county = DivisionCode::parse(&unit.county_code).map_err(|_| StoreError::NotFound)?;
        self.check_committee(scope, Action::ManageCommittee, county)?;
        let duties = check_duties(duties).map_err(|e| StoreError::invalid("duties", e))?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "UPDATE units SET duties = $2, updated_at = $3 WHERE id = $1",
            vec![
                unit.id.clone().into(),
                serde_json::to_string(&duties)
                    .expect("duties serialise")
                    .into(),
                now.into(),
            ],
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "committee.duties", &unit.id)
                .in_county(&unit.county_code)
                .from_ip(ip)
                .detail(format!("{} 条", duties.len())),
        )
        .await?;
        tx.commit().await?;
        self.unit(scope, unit_id).await
    }

    /// The accounts that act for the county's units (liaisons, townships' supervisors are
    /// not among them: they act for their township by their home).
    pub async fn liaison_accounts(
        &self,
        scope: &Scope,
        county: DivisionCode,
    ) -> Result<Vec<LiaisonAccount>, StoreError> {
        self.check_committee(scope, Action::ViewCommittee, county)?;
        let rows: Vec<(String, String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT unit_id, username, display_name FROM users
                 WHERE role = 'unit' AND unit_id IS NOT NULL AND division_code LIKE $1
                 ORDER BY username LIMIT 1000"
            )
            .bind(format!("{}%", county.prefix()))
            .fetch_all(&mut *c)
            .await)?
        };
        Ok(rows
            .into_iter()
            .map(|(unit_id, username, display_name)| LiaisonAccount {
                unit_id,
                username,
                display_name,
            })
            .collect())
    }

    /// A unit of `county`'s registry by id, refused by `field` when it is not one.
    pub(crate) async fn committee_unit(
        &self,
        county: DivisionCode,
        id: &str,
        field: &'static str,
    ) -> Result<Unit, StoreError> {
        match self.unit_by_id(id.trim()).await? {
            Some(u) if u.county_code == county.county_code() && u.active => Ok(u),
            _ => Err(StoreError::invalid(
                field,
                Invalid::new(
                    "unit_unknown",
                    format!("单位“{}”不在本县的单位名录中，请从名录中选择", id.trim()),
                ),
            )),
        }
    }
}
