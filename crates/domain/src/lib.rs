//! Weibao's domain: the rules of minor-protection work, pure (no I/O, no async, no clock).
//!
//! Every value that crosses into the system is parsed into a type that can only hold a
//! valid value ("parse, don't validate"); refusals are [`Invalid`] with a Chinese message
//! that names the field and says how to fix it.

pub mod access;
pub mod activities;
pub mod allowances;
pub mod assessment;
pub mod categories;
pub mod child;
mod coded;
pub mod committee;
pub mod credit_code;
pub mod division;
pub mod error;
pub mod finding;
pub mod id_number;
pub mod money;
pub mod month;
pub mod network;
pub mod proposals;
pub mod record;
pub mod record_checks;
pub mod reports;
pub mod services;
pub mod stats;
pub mod visit;
pub mod work;

pub use credit_code::{CreditCode, CreditCodeError};
pub use division::{DivisionCode, Level, VillageArea};
pub use error::Invalid;
pub use id_number::{IdNumber, Sex};
pub use money::Fen;
pub use month::Month;
