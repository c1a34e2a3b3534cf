//! The machinery the modules after the ledger share (reports and cases first; the
//! committee's tasks, allowances' steps and verification tasks later): the registry of
//! units, the working-day calendar, work items with deadlines (the inbox), the
//! notification outbox, events from the ledger and visits, the timeline of every step,
//! the locator of records by id, and access grants.

pub(crate) mod calendar;
mod events;
mod grants;
mod items;
mod locator;
mod outbox;
mod timeline;
pub(crate) mod units;

pub use calendar::CalendarYear;
pub use events::{Event, EVENT_CHILD_MOVED, EVENT_VISIT_DANGER};
pub use items::{NewWork, Supervision, WorkItem, WorkOwner};
pub use outbox::{Notification, Webhook, WebhookKind};
pub use timeline::TimelineEntry;
pub use units::{NewUnit, Unit, UnitContact};

pub(crate) use events::event_to;
pub(crate) use grants::{end_grants, grant};
pub(crate) use items::WORK_COLUMNS;
pub(crate) use items::{add_work, add_work_to, close_work};
pub(crate) use locator::{locate_in, relocate};
pub(crate) use outbox::{clear_notifications, notify};
pub(crate) use timeline::{record_step, record_step_to};
pub(crate) use units::insert_unit;

use crate::db::Tx;
use crate::error::StoreError;
use crate::script::{Script, Val};

/// Runs one statement in `tx`; answers the rows it changed.
pub(crate) async fn exec(
    tx: &mut Tx,
    sql: &'static str,
    vals: Vec<Val>,
) -> Result<u64, StoreError> {
    let mut s = Script::default();
    s.push(sql, vals);
    s.run(tx.conn()).await
}

/// A new time-ordered id.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
