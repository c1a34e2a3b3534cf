//! Finding every child (应保尽保、不漏一人): departments' lists matched against the ledger.
//! (Early warnings and one-to-one pairing come next.)

pub mod matching;
