//! Finding every child (应保尽保、不漏一人): departments' lists matched against the ledger,
//! early warnings over what the platform knows of a child, and one-to-one pairing of
//! children with helpers.

pub mod matching;
pub mod pairing;
pub mod warnings;
