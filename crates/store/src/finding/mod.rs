//! Finding every child (应保尽保、不漏一人): departments' lists matched against the ledger
//! (lists.rs), one-to-one pairing of children with helpers (pairing.rs) and the early
//! warnings kept and decided on (warnings.rs).

mod lists;
mod pairing;
mod warnings;

pub use lists::*;
pub use pairing::*;
pub use warnings::*;
