//! The county's figures a document quotes (a proposal's reply, later the work report):
//! the network, the ledger, the allowances paid, the activities held and the services
//! given in a year to date, each read through its own module with the caller's scope.
//!
//! They are the county's: only a reader who sees the whole county (its office) gets them;
//! anyone else gets none rather than a part passed off as "全区".

use chrono::{Datelike, NaiveDate};
use weibao_domain::access::{Role, Scope};
use weibao_domain::activities::ActivityGrouping;
use weibao_domain::proposals::reply_document::{
    ActivityFigures, NetworkFigures, ReplyFigures, ServiceFigures,
};
use weibao_domain::DivisionCode;

use crate::activities::ActivityFilter;
use crate::db::Store;
use crate::error::StoreError;

/// A figure the caller may not see is left out; any other failure is the caller's.
fn shown<T>(r: Result<T, StoreError>) -> Result<Option<T>, StoreError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::Forbidden | StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Store {
    /// The county's figures of the year to date, for a reader who sees the county.
    pub async fn county_figures(
        &self,
        scope: &Scope,
        county: DivisionCode,
    ) -> Result<ReplyFigures, StoreError> {
        let today = self.clock().today();
        let year = today.year();
        let mut f = ReplyFigures {
            place: self
                .division_path(&Scope::system(), county)
                .await?
                .last()
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            year,
            ..ReplyFigures::default()
        };
        let county_wide =
            scope.is_system() || (scope.role == Role::Office && scope.reaches(county));
        if !county_wide {
            return Ok(f);
        }
        if let Some(c) = shown(self.coverage(scope, county).await)? {
            let t = c.total;
            f.network = Some(NetworkFigures {
                stations: t.stations,
                work_points: t.work_points,
                supervisors: t.supervisors,
                directors: t.directors,
            });
            f.ledger_children = Some(t.children);
        }
        if let Some(t) = shown(self.allowance_totals(scope, county, year).await)? {
            // No locked roll this year: nothing to quote.
            f.allowances = t.through.map(|_| t.sentence);
        }
        let from = NaiveDate::from_ymd_opt(year, 1, 1);
        let counted = self
            .activity_counts(
                scope,
                &ActivityFilter {
                    from,
                    to: Some(today),
                    kind: None,
                    division: Some(county),
                },
                ActivityGrouping::Kind,
            )
            .await;
        // The counts end with their total (key "").
        if let Some(rows) = shown(counted)? {
            f.activities = rows
                .iter()
                .find(|r| r.key.is_empty())
                .map(|t| ActivityFigures {
                    activities: t.activities,
                    participants: t.participants,
                    children_reached: t.children_reached,
                    materials: t.materials,
                });
        }
        if let Some(s) = shown(self.service_totals(scope, from, Some(today)).await)? {
            f.services = Some(ServiceFigures {
                social_workers: s.social_workers,
                volunteers: s.volunteers,
                children_served: s.children_served,
                minutes: s.minutes,
            });
        }
        Ok(f)
    }
}
