//! 统计: the figures every report quotes, as rules: which tiles a child counts in on a
//! date, and the periods figures are compared over.

pub mod ledger;
pub mod period;
pub mod work_report;
