//! A refused form on a page of many forms (a report's, a case's): which form it was, the
//! store's message, the field at fault, and what the user typed, so that the page comes
//! back with the message in that form and nothing lost.

use axum::http::StatusCode;
use axum::response::Response;
use weibao_store::StoreError;

use crate::error::ApiError;

#[derive(Debug, Clone, Default)]
pub struct Failed {
    /// The form's name on the page ("refer", "triage"…); empty: none failed.
    pub form: &'static str,
    pub message: String,
    /// The field the store named, as the form names it (`child.name` → `child_name`).
    pub field: String,
    values: Vec<(String, String)>,
}

impl Failed {
    /// A refusal of `form` with the submitted pairs.
    pub fn new(
        form: &'static str,
        message: String,
        field: &str,
        pairs: &[(String, String)],
    ) -> Failed {
        Failed {
            form,
            message,
            field: field.replace('.', "_"),
            values: pairs
                .iter()
                .filter(|(k, _)| k != "_csrf")
                .cloned()
                .collect(),
        }
    }

    /// Whether `form` is the one refused.
    pub fn on(&self, form: &str) -> bool {
        !self.form.is_empty() && self.form == form
    }

    /// What was typed in `key` of `form` (empty for other forms).
    pub fn val(&self, form: &str, key: &str) -> &str {
        if !self.on(form) {
            return "";
        }
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Whether `value` was among the values of `key` (checkboxes, selects).
    pub fn has(&self, form: &str, key: &str, value: &str) -> bool {
        self.on(form) && self.values.iter().any(|(k, v)| k == key && v == value)
    }
}

/// Every non-empty value a form sent for `key` (checkboxes of one name).
pub fn all(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect()
}

/// The value a form sent for `key`, trimmed ("" when it sent none).
/// A page's `?notice=` after a form succeeded (which message to show).
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

pub fn field<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// A form's optional date (YYYY-MM-DD, or as people type it): None when left empty,
/// refused naming `field` when unreadable.
pub fn optional_date(
    field: &'static str,
    label: &'static str,
    value: &str,
) -> Result<Option<chrono::NaiveDate>, StoreError> {
    match value.trim() {
        "" => Ok(None),
        d => weibao_domain::network::parse_date(label, d)
            .map(Some)
            .map_err(|e| StoreError::invalid(field, e)),
    }
}

/// A unit's name from `names`, its id when it is not there.
pub fn name_of(names: &std::collections::HashMap<String, String>, id: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| id.to_string())
}

/// What becomes of a store's refusal of a form.
pub enum Refused {
    /// A 422 or 409: the page again, the message in the form.
    Again(StatusCode, Failed),
    /// Anything else (403, 404, a server error): the error page.
    Page(Response),
}

/// A store refusal of a form: a 422 or 409 to show in the form again, or the error page
/// for anything else.
pub fn refusal(form: &'static str, e: StoreError, pairs: &[(String, String)]) -> Refused {
    match &e {
        StoreError::Invalid { field, .. } | StoreError::Conflict { field, .. } => {
            let field = field.to_string();
            let e = ApiError::from(e);
            Refused::Again(e.status, Failed::new(form, e.message, &field, pairs))
        }
        _ => Refused::Page(super::store_error_page(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_what_was_typed_for_its_own_form_only() {
        let pairs = vec![
            ("_csrf".to_string(), "secret".to_string()),
            ("note".into(), "请核查".into()),
            ("situations".into(), "s4".into()),
            ("situations".into(), "s6".into()),
        ];
        let f = Failed::new("refer", "请选择接收单位".into(), "child.name", &pairs);
        assert_eq!(f.field, "child_name");
        assert_eq!(f.val("refer", "note"), "请核查");
        assert_eq!(f.val("triage", "note"), "");
        assert_eq!(f.val("refer", "_csrf"), "", "the token is not echoed");
        assert!(f.has("refer", "situations", "s6") && !f.has("refer", "situations", "s5"));
        assert!(!Failed::default().on(""));
    }
}
