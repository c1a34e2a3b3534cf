//! A file as a download: its type, the name the browser saves it under (RFC 5987, with an
//! ASCII fallback for old clients), never cached.

use axum::http::header;
use axum::response::{IntoResponse, Response};

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// `bytes` to be saved as `name` (`fallback` for clients without RFC 5987).
pub fn download(bytes: Vec<u8>, content_type: &str, fallback: &str, name: &str) -> Response {
    let encoded = crate::pages::url_encode(name);
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}
