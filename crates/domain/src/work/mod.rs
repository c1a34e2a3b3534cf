//! The machinery every later module shares: the units work goes to, the working-day
//! calendar, and how long each kind of work may take.

pub mod calendar;
pub mod deadlines;
pub mod units;

pub use calendar::{Calendar, Deadline, Span, YearCalendar};
pub use deadlines::{DeadlineRules, WorkKind};
pub use units::UnitKind;
