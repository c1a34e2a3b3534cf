//! Finding every child (应保尽保、不漏一人): departments' lists matched against the ledger
//! (lists.rs) and one-to-one pairing of children with helpers (pairing.rs).

mod lists;
mod pairing;

pub use lists::*;
pub use pairing::*;
