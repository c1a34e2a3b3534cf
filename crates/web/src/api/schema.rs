//! Schemas the derive macros cannot write: enumerations whose values come from the
//! domain's own lists (so the document and the parser never disagree).

use utoipa::openapi::schema::Type;
use utoipa::openapi::{Object, ObjectBuilder};

/// A string that is one of `values`.
pub fn one_of(values: impl IntoIterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.into_iter().collect::<Vec<_>>()))
        .build()
}

/// An optional filter: one of `values`, or empty for none.
pub fn one_of_or_empty(values: impl IntoIterator<Item = &'static str>) -> Object {
    one_of(std::iter::once("").chain(values))
}

/// An optional body field: one of `values`, or empty, or null (both: not given).
pub fn one_of_or_null(values: impl IntoIterator<Item = &'static str>) -> Object {
    let mut all: Vec<serde_json::Value> =
        std::iter::once("").chain(values).map(Into::into).collect();
    all.push(serde_json::Value::Null);
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .enum_values(Some(all))
        .build()
}

/// The value whose code is exactly `input` (no trimming: what the document lists is what
/// the server takes).
pub fn exact<T: Copy>(all: &[T], code: impl Fn(T) -> &'static str, input: &str) -> Option<T> {
    all.iter().copied().find(|v| code(*v) == input)
}
