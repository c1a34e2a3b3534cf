//! Activities (宣传和服务活动) and their counts. The rules of an activity are the domain's
//! (weibao_domain::activities).
//!
//! Who: each level records its own. A village's director records the village's, a
//! township's supervisor the township's (or one of its villages'), the office the county's
//! (or for one of its units); a member unit's liaison records its unit's, counted in the
//! county. Each sees what its division holds (a unit: its own unit's). Photos are files on
//! the record (record_files), each read audited.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use weibao_domain::access::{Action, Role, Scope};
use weibao_domain::activities::{ActivityGrouping, ActivityInput, ActivityKind};
use weibao_domain::{DivisionCode, Invalid, Level};

use crate::audit::{append, AuditEvent};
use crate::committee::date_text;
use crate::db::Store;
use crate::error::StoreError;
use crate::files::{Owner, RecordFile};
use crate::on;
use crate::script::Script;
use crate::work::{locate_in, new_id};

/// Most photos on one activity.
pub const MAX_ACTIVITY_PHOTOS: usize = 9;
/// Most activities listed at once.
const MAX_LISTED: i64 = 1000;
/// Most activities counted at once (a province's year is far fewer).
const MAX_COUNTED: i64 = 200_000;

/// An activity as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ActivityRecord {
    pub county_code: String,
    pub id: String,
    pub division_code: String,
    pub unit_id: Option<String>,
    pub kind: String,
    pub title: String,
    pub held_on: String,
    pub place: String,
    pub participants: i64,
    pub children_reached: i64,
    pub materials: i64,
    pub summary: String,
    pub created_by: String,
    pub created_at: i64,
}

const SELECT: &str = "SELECT county_code, id, division_code, unit_id, kind, title, held_on,
        place, participants, children_reached, materials, summary, created_by, created_at
    FROM activities";

/// An activity to record: as typed, where, and for which unit.
#[derive(Debug, Clone, Default)]
pub struct NewActivity {
    pub input: ActivityInput,
    /// Within the caller's reach; defaults to the caller's home division.
    pub division: Option<DivisionCode>,
    /// The unit that held it: a liaison's own unit always; the office may name one.
    pub unit_id: Option<String>,
}

/// Which activities to list or count.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub kind: Option<ActivityKind>,
    /// Only those under this division (within the caller's reach).
    pub division: Option<DivisionCode>,
}

/// One line of the counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActivityCount {
    /// The division's code, the unit's id, the kind's code or the month (YYYY-MM).
    pub key: String,
    pub label: String,
    pub activities: i64,
    pub participants: i64,
    pub children_reached: i64,
    pub materials: i64,
}

impl ActivityCount {
    fn add(&mut self, a: &CountRow) {
        self.activities += 1;
        self.participants += a.participants;
        self.children_reached += a.children_reached;
        self.materials += a.materials;
    }
}

#[derive(sqlx::FromRow)]
struct CountRow {
    division_code: String,
    unit_id: Option<String>,
    kind: String,
    held_on: String,
    participants: i64,
    children_reached: i64,
    materials: i64,
}

impl Store {
    /// Where the caller's activities are: the division to filter by (a unit's liaison: its
    /// county, with its unit).
    async fn activity_reach(
        &self,
        scope: &Scope,
        action: Action,
        wanted: Option<DivisionCode>,
    ) -> Result<(DivisionCode, Option<String>), StoreError> {
        scope.check_role(action)?;
        let home = scope.home().ok_or(StoreError::Forbidden)?;
        if scope.role == Role::Unit {
            let unit_id = scope.unit_id.clone().ok_or_else(|| StoreError::Conflict {
                field: "unit",
                code: "no_unit",
                message: "您的账号未关联单位；请联系未保办在账号中设置所属单位".into(),
            })?;
            let county = DivisionCode::parse(&home.county_code())
                .map_err(|e| StoreError::Config(e.message))?;
            return Ok((county, Some(unit_id)));
        }
        let at = wanted.unwrap_or(home);
        scope.check(action, at)?;
        Ok((at, None))
    }

    /// Records an activity with its photos (each a JPEG, PNG, WebP or PDF).
    pub async fn add_activity(
        &self,
        scope: &Scope,
        new: NewActivity,
        photos: Vec<(String, Vec<u8>)>,
        ip: &str,
    ) -> Result<ActivityRecord, StoreError> {
        let (division, own_unit) = self
            .activity_reach(scope, Action::RecordActivities, new.division)
            .await?;
        if division.level() < Level::County {
            return Err(StoreError::invalid(
                "division_code",
                Invalid::new("division_level", "活动所在区划应为县级或以下"),
            ));
        }
        let a = new
            .input
            .check(self.clock().today())
            .map_err(|(f, e)| StoreError::invalid(f, e))?;
        let county = division.county_code();
        let unit_id = match (own_unit, new.unit_id.filter(|u| !u.trim().is_empty())) {
            (Some(own), _) => Some(own),
            (None, Some(u)) if scope.role == Role::Office => {
                let county_code =
                    DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
                Some(self.committee_unit(county_code, &u, "unit_id").await?.id)
            }
            (None, Some(_)) => {
                return Err(StoreError::invalid(
                    "unit_id",
                    Invalid::new("unit_not_yours", "只有未保办可以为其他单位登记活动"),
                ))
            }
            (None, None) => None,
        };
        if photos.len() > MAX_ACTIVITY_PHOTOS {
            return Err(StoreError::invalid(
                "photos",
                Invalid::new(
                    "too_many",
                    format!("每次活动最多 {MAX_ACTIVITY_PHOTOS} 张照片"),
                ),
            ));
        }
        let mut staged = Vec::with_capacity(photos.len());
        for (name, bytes) in photos {
            if bytes.is_empty() {
                continue;
            }
            staged.push(self.stage_file(&name, bytes).await.map_err(|e| match e {
                StoreError::Invalid { invalid, .. } => StoreError::invalid("photos", invalid),
                other => other,
            })?);
        }
        let id = new_id();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO activities (county_code, id, division_code, unit_id, kind, title,
                 held_on, place, participants, children_reached, materials, summary,
                 created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        )
        .bind(&county)
        .bind(&id)
        .bind(division.full())
        .bind(&unit_id)
        .bind(a.kind.code())
        .bind(&a.title)
        .bind(date_text(a.held_on))
        .bind(&a.place)
        .bind(a.participants)
        .bind(a.children_reached)
        .bind(a.materials)
        .bind(&a.summary)
        .bind(&scope.user_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        for file in staged {
            self.keep_file(
                &mut tx,
                Owner {
                    county_code: &county,
                    kind: "activity",
                    id: &id,
                },
                file,
                &scope.user_id,
                MAX_ACTIVITY_PHOTOS,
            )
            .await?;
        }
        let mut s = Script::default();
        locate_in(&mut s, &id, &county, "activity");
        s.run(tx.conn()).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "activity.add", &id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("{} {}", a.kind.code(), a.held_on)),
        )
        .await?;
        tx.commit().await?;
        Ok(self.activity(scope, &id).await?.0)
    }

    /// Adds photos to an activity the caller may record in.
    pub async fn add_activity_photos(
        &self,
        scope: &Scope,
        id: &str,
        photos: Vec<(String, Vec<u8>)>,
        ip: &str,
    ) -> Result<Vec<RecordFile>, StoreError> {
        let (a, _) = self.activity(scope, id).await?;
        let division = DivisionCode::parse(&a.division_code).map_err(|_| StoreError::NotFound)?;
        self.activity_reach(scope, Action::RecordActivities, Some(division))
            .await?;
        self.attach_files(
            scope,
            Owner {
                county_code: &a.county_code,
                kind: "activity",
                id,
            },
            photos,
            MAX_ACTIVITY_PHOTOS,
            "activity.photos",
            ip,
        )
        .await
    }

    /// One activity with its photos, if the caller sees it.
    pub async fn activity(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<(ActivityRecord, Vec<RecordFile>), StoreError> {
        scope.check_role(Action::ViewActivities)?;
        let county = self
            .locate_record(id, "activity")
            .await?
            .ok_or(StoreError::NotFound)?;
        let sql = format!("{SELECT} WHERE county_code = $1 AND id = $2");
        let found: Option<ActivityRecord> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?
        };
        let a = found.ok_or(StoreError::NotFound)?;
        if !self.sees_activity(scope, &a).await? {
            return Err(StoreError::NotFound);
        }
        let files = self
            .files_of(Owner {
                county_code: &a.county_code,
                kind: "activity",
                id,
            })
            .await?;
        Ok((a, files))
    }

    async fn sees_activity(&self, scope: &Scope, a: &ActivityRecord) -> Result<bool, StoreError> {
        let Ok(division) = DivisionCode::parse(&a.division_code) else {
            return Ok(false);
        };
        Ok(
            match self
                .activity_reach(scope, Action::ViewActivities, None)
                .await
            {
                Ok((_, Some(unit))) => a.unit_id.as_deref() == Some(unit.as_str()),
                Ok((home, None)) => home.contains(division),
                Err(_) => false,
            },
        )
    }

    /// A photo of an activity with its bytes, the read audited.
    pub async fn activity_photo(
        &self,
        scope: &Scope,
        id: &str,
        file_id: &str,
        ip: &str,
    ) -> Result<(RecordFile, Vec<u8>), StoreError> {
        let (a, _) = self.activity(scope, id).await?;
        self.read_file(
            scope,
            Owner {
                county_code: &a.county_code,
                kind: "activity",
                id,
            },
            file_id,
            "activity.photo_read",
            ip,
        )
        .await
    }

    fn activity_where(
        reach: &(DivisionCode, Option<String>),
        filter: &ActivityFilter,
    ) -> (String, Vec<String>) {
        let (home, unit) = reach;
        let under = filter
            .division
            .filter(|d| home.contains(*d))
            .unwrap_or(*home);
        let mut sql = String::from(" WHERE county_code LIKE $1 AND division_code LIKE $2");
        let mut binds = vec![
            format!("{}%", under.prefix().chars().take(6).collect::<String>()),
            format!("{}%", under.prefix()),
        ];
        let mut push = |cond: &str, v: String| {
            binds.push(v);
            sql.push_str(&format!(" AND {cond} ${}", binds.len()));
        };
        if let Some(u) = unit {
            push("unit_id =", u.clone());
        }
        if let Some(f) = filter.from {
            push("held_on >=", date_text(f));
        }
        if let Some(t) = filter.to {
            push("held_on <=", date_text(t));
        }
        if let Some(k) = filter.kind {
            push("kind =", k.code().to_string());
        }
        (sql, binds)
    }

    /// The activities the caller sees, newest first.
    pub async fn activities(
        &self,
        scope: &Scope,
        filter: &ActivityFilter,
    ) -> Result<Vec<ActivityRecord>, StoreError> {
        let reach = self
            .activity_reach(scope, Action::ViewActivities, None)
            .await?;
        let (cond, binds) = Self::activity_where(&reach, filter);
        let sql =
            format!("{SELECT}{cond} ORDER BY held_on DESC, created_at DESC LIMIT {MAX_LISTED}");
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| {
            let mut q = sqlx::query_as(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(&mut *c).await
        })?)
    }

    /// The caller's activities counted by division (one level below the caller's, or the
    /// filter's division), unit, kind or month; the last line is the total (key "").
    pub async fn activity_counts(
        &self,
        scope: &Scope,
        filter: &ActivityFilter,
        by: ActivityGrouping,
    ) -> Result<Vec<ActivityCount>, StoreError> {
        let reach = self
            .activity_reach(scope, Action::ViewActivities, None)
            .await?;
        let (cond, binds) = Self::activity_where(&reach, filter);
        let sql = format!(
            "SELECT division_code, unit_id, kind, held_on, participants, children_reached,
                    materials FROM activities{cond} LIMIT {MAX_COUNTED}"
        );
        let rows: Vec<CountRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| {
                let mut q = sqlx::query_as(&sql);
                for b in &binds {
                    q = q.bind(b);
                }
                q.fetch_all(&mut *c).await
            })?
        };
        let under = filter
            .division
            .filter(|d| reach.0.contains(*d))
            .unwrap_or(reach.0);
        let below = under.level().child().unwrap_or(Level::Village);
        let mut lines: BTreeMap<String, ActivityCount> = BTreeMap::new();
        let mut total = ActivityCount {
            label: "合计".into(),
            ..Default::default()
        };
        for r in &rows {
            let key = match by {
                ActivityGrouping::Division => DivisionCode::parse(&r.division_code)
                    .map(|d| {
                        if d.level() > under.level() {
                            d.at_level(below).full()
                        } else {
                            d.full()
                        }
                    })
                    .unwrap_or_else(|_| r.division_code.clone()),
                ActivityGrouping::Unit => r.unit_id.clone().unwrap_or_default(),
                ActivityGrouping::Kind => r.kind.clone(),
                ActivityGrouping::Month => r.held_on.get(..7).unwrap_or("").to_string(),
            };
            lines.entry(key).or_default().add(r);
            total.add(r);
        }
        let names = match by {
            ActivityGrouping::Division => {
                let mut names: BTreeMap<String, String> = BTreeMap::new();
                let mut c = self.read().await?;
                for key in lines.keys() {
                    let row: Option<(String,)> = on!(c.conn(), |c| sqlx::query_as(
                        "SELECT name FROM divisions WHERE code = $1"
                    )
                    .bind(key)
                    .fetch_optional(&mut *c)
                    .await)?;
                    if let Some((n,)) = row {
                        names.insert(key.clone(), n);
                    }
                }
                names
            }
            ActivityGrouping::Unit => {
                let mut names = BTreeMap::new();
                for key in lines.keys().filter(|k| !k.is_empty()) {
                    if let Some(u) = self.unit_by_id(key).await? {
                        names.insert(key.clone(), u.name);
                    }
                }
                names
            }
            _ => BTreeMap::new(),
        };
        let mut out: Vec<ActivityCount> = lines
            .into_iter()
            .map(|(key, mut line)| {
                line.label = match by {
                    ActivityGrouping::Kind => ActivityKind::parse(&key)
                        .map(|k| k.label().to_string())
                        .unwrap_or_else(|| key.clone()),
                    ActivityGrouping::Month => month_label(&key),
                    ActivityGrouping::Unit if key.is_empty() => "（各级自行开展）".into(),
                    _ => names.get(&key).cloned().unwrap_or_else(|| key.clone()),
                };
                line.key = key;
                line
            })
            .collect();
        if by != ActivityGrouping::Month {
            out.sort_by(|a, b| b.activities.cmp(&a.activities).then(a.key.cmp(&b.key)));
        }
        out.push(total);
        Ok(out)
    }
}

fn month_label(key: &str) -> String {
    NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d")
        .map(|d| format!("{} 年 {} 月", d.year(), d.month()))
        .unwrap_or_else(|_| key.to_string())
}
