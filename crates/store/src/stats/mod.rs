//! 统计: the figures of the dashboards and reports. The ledger's are counters kept with
//! every write (ledger.rs); the others are read from their modules (overview.rs).

pub(crate) mod ledger;
pub mod overview;
pub(crate) mod visits;
pub mod work_reports;
