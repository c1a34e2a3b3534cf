//! Which children changed lately: the ledger, visits and reports name each child whose
//! record, visits or reports they changed, and the modules built on them (the early
//! warnings) take the names in their own time. The ledger and visits know only this
//! list, never who reads it. In memory, per process: a restart forgets at most the last
//! few seconds of names, which the nightly evaluation of every child covers; so does a
//! list grown past its bound (a bulk import), which stops taking names until it is read.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::db::Store;

/// Names kept at most before the list stops taking more.
const MAX_KEPT: usize = 100_000;

#[derive(Default)]
pub(crate) struct ChangedChildren(Mutex<HashSet<String>>);

impl Store {
    /// Notes that a child's record, visits or reports changed (after the commit).
    pub(crate) fn child_changed(&self, child_id: &str) {
        let mut set = self.changed.0.lock().unwrap_or_else(|e| e.into_inner());
        if set.len() < MAX_KEPT {
            set.insert(child_id.to_string());
        }
    }

    /// Takes up to `max` of the children changed since the last call.
    pub fn take_changed_children(&self, max: usize) -> Vec<String> {
        let mut set = self.changed.0.lock().unwrap_or_else(|e| e.into_inner());
        let taken: Vec<String> = set.iter().take(max).cloned().collect();
        for id in &taken {
            set.remove(id);
        }
        taken
    }
}
