//! Finding every child (应保尽保、不漏一人): departments' lists matched against the ledger,
//! and one-to-one pairing of children with helpers. (Early warnings come next.)

pub mod matching;
pub mod pairing;
