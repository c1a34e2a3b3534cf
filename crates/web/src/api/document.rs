//! What the OpenAPI document says beyond each handler's own annotations: who may call each
//! operation (`x-weibao-access`, `x-weibao-roles`, `security`), and the refusals that the
//! shared extractors give every operation of a kind, so that no route can answer a status
//! its entry does not list.

use serde_json::{json, Map, Value};
use weibao_domain::access::{allows, Role};

use super::ROUTE_ACCESS;
use crate::auth::RouteAccess;

/// Adds a response (an [`ErrorBody`](crate::error::ErrorBody)) unless the operation
/// already documents that status.
fn refusal(op: &mut Map<String, Value>, status: &str, description: &str) {
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    responses.entry(status.to_string()).or_insert_with(|| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    });
}

fn has_body(op: &Map<String, Value>, media_type: &str) -> bool {
    op.get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(|c| c.as_object())
        .is_some_and(|c| c.contains_key(media_type))
}

fn has_parameter_in(op: &Map<String, Value>, place: &str) -> bool {
    op.get("parameters")
        .and_then(|p| p.as_array())
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == place))
}

/// A division code as [`weibao_domain::DivisionCode::parse`] takes it: 2, 4, 6, 9 or 12
/// digits, a province from 11 to 82, nothing below an all-zero city, no village below an
/// all-zero township.
pub const DIVISION_PATTERN: &str = concat!(
    "^(1[1-9]|[2-7][0-9]|8[0-2])(",
    "|[0-9]{2}",
    "|0000|(0[1-9]|[1-9][0-9])[0-9]{2}",
    "|0{7}|(0[1-9]|[1-9][0-9])[0-9]{5}",
    "|0{10}|(0[1-9]|[1-9][0-9])[0-9]{2}(0{6}|(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})[0-9]{3})",
    ")$"
);

/// "Not only spaces" as the server decides it (`str::trim`: Unicode White_Space), for the
/// `pattern = r"\S"` that request fields write.
const NOT_BLANK: &str =
    "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// Gives every division-code parameter and request field the code's pattern (an optional
/// query filter may also be empty: no filter), and every "not only spaces" pattern the
/// server's exact notion of a space.
fn patterns(value: &mut Value) {
    if let Some(params) = value.pointer_mut("/paths").and_then(|p| p.as_object_mut()) {
        for item in params.values_mut().filter_map(|i| i.as_object_mut()) {
            for op in item.values_mut() {
                let Some(list) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) else {
                    continue;
                };
                for p in list {
                    let name = p["name"].as_str().unwrap_or_default().to_string();
                    let place = p["in"].as_str().unwrap_or_default().to_string();
                    let required = p["required"].as_bool().unwrap_or(false);
                    let pattern = match (place.as_str(), name.as_str()) {
                        ("path", "code") => DIVISION_PATTERN.to_string(),
                        ("query", "division") if required => DIVISION_PATTERN.to_string(),
                        ("query", "division") => DIVISION_PATTERN.replacen("^(", "^$|^(", 1),
                        _ => continue,
                    };
                    if let Some(schema) = p.get_mut("schema").and_then(|s| s.as_object_mut()) {
                        schema.insert("pattern".into(), pattern.into());
                    }
                }
            }
        }
    }
    // Division codes in the request bodies whose handlers parse them as such (answers
    // always carry 12 digits; a ledger patch's division is the domain's to check).
    let bodies = [
        "ReportRequest",
        "UnitRequest",
        "CreateUser",
        "ReferralRequest",
        "ForwardRequest",
        "TaskRequest",
    ];
    for name in bodies {
        let Some(props) = value
            .pointer_mut(&format!("/components/schemas/{name}/properties"))
            .and_then(|p| p.as_object_mut())
        else {
            continue;
        };
        for (field, nullable) in [
            ("division", false),
            ("to_township", true),
            ("township", true),
        ] {
            let Some(schema) = props.get_mut(field).and_then(|s| s.as_object_mut()) else {
                continue;
            };
            let pattern = if nullable {
                // Empty or absent means not given.
                DIVISION_PATTERN.replacen("^(", "^$|^(", 1)
            } else {
                DIVISION_PATTERN.to_string()
            };
            schema.insert("pattern".into(), pattern.into());
        }
    }
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.get("pattern").and_then(|p| p.as_str()) == Some("\\S") {
                    map.insert("pattern".into(), NOT_BLANK.into());
                }
                for child in map.values_mut() {
                    walk(child);
                }
            }
            Value::Array(list) => list.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(value);
}

/// Completes the document utoipa built from the handlers.
pub fn complete(mut value: Value) -> String {
    patterns(&mut value);
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return value.to_string();
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            let id = op
                .get("operationId")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let Some((_, access)) = ROUTE_ACCESS.iter().find(|(op_id, _)| *op_id == id) else {
                continue;
            };
            let (label, roles): (String, Vec<&str>) = match access {
                RouteAccess::Public => ("public".into(), vec![]),
                RouteAccess::SignedIn => (
                    "signed_in".into(),
                    Role::ALL.iter().map(|r| r.as_str()).collect(),
                ),
                RouteAccess::Action(a) => (
                    a.as_str().into(),
                    Role::ALL
                        .iter()
                        .filter(|r| allows(**r, *a))
                        .map(|r| r.as_str())
                        .collect(),
                ),
                RouteAccess::AnyOf(actions) => (
                    actions
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join("|"),
                    Role::ALL
                        .iter()
                        .filter(|r| actions.iter().any(|a| allows(**r, *a)))
                        .map(|r| r.as_str())
                        .collect(),
                ),
            };
            op.insert("x-weibao-access".into(), label.into());
            op.insert("x-weibao-roles".into(), roles.into());
            // The refusals the shared extractors give (auth.rs, api/mod.rs).
            if *access != RouteAccess::Public {
                op.insert("security".into(), json!([{ "bearer": [] }]));
                refusal(op, "401", "未登录、令牌无效或已过期");
            }
            if let RouteAccess::Action(_) | RouteAccess::AnyOf(_) = access {
                refusal(op, "403", "您的角色无权进行此操作");
            }
            if has_body(op, "application/json") {
                refusal(op, "400", "请求内容不是有效的 JSON");
                refusal(op, "415", "请以 Content-Type: application/json 发送");
                refusal(op, "422", "请求内容的字段缺失、类型不对或取值无效");
            }
            if has_body(op, "multipart/form-data") {
                refusal(op, "400", "上传内容不是有效的 multipart/form-data");
                refusal(op, "422", "上传内容缺少文件或文件无效");
            }
            if has_parameter_in(op, "query") {
                refusal(op, "422", "查询参数无效");
            }
            if has_parameter_in(op, "path") {
                refusal(op, "400", "地址中的参数无法解码");
            }
        }
    }
    serde_json::to_string_pretty(&value).expect("JSON value serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use weibao_domain::DivisionCode;

    fn regex(pattern: &str) -> regex_lite::Regex {
        regex_lite::Regex::new(pattern).unwrap()
    }

    proptest! {
        /// The document's division pattern takes exactly the codes the server takes.
        #[test]
        fn the_division_pattern_is_the_parser(
            len in prop::sample::select(vec![1usize, 2, 3, 4, 5, 6, 8, 9, 10, 12, 13]),
            digits in prop::collection::vec(
                prop::sample::select(vec!['0', '0', '0', '1', '2', '5', '8', '9']), 13),
        ) {
            let code: String = digits.into_iter().take(len).collect();
            let pattern = regex(DIVISION_PATTERN);
            prop_assert_eq!(pattern.is_match(&code), DivisionCode::parse(&code).is_ok(), "{}", code);
        }
    }

    #[test]
    fn the_division_pattern_knows_real_codes_and_an_optional_filter_may_be_empty() {
        let strict = regex(DIVISION_PATTERN);
        for ok in [
            "51",
            "5108",
            "510812",
            "510812100",
            "510812100200",
            "441900003",
            "441900003001",
        ] {
            assert!(strict.is_match(ok), "{ok}");
            assert!(DivisionCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "10",
            "83",
            "5100000100",
            "510800000001",
            "51081200000 1",
            "51081210020",
        ] {
            assert!(!strict.is_match(bad), "{bad}");
            assert!(DivisionCode::parse(bad).is_err(), "{bad}");
        }
        let optional = regex(&DIVISION_PATTERN.replacen("^(", "^$|^(", 1));
        assert!(optional.is_match("") && optional.is_match("510812"));
        assert!(!optional.is_match("5"));
    }

    #[test]
    fn not_blank_is_the_servers_notion_of_only_spaces() {
        let not_blank = regex(NOT_BLANK);
        for c in (0u32..0x3100).filter_map(char::from_u32) {
            let s = c.to_string();
            assert_eq!(
                not_blank.is_match(&s),
                !s.trim().is_empty(),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn every_operation_documents_the_refusals_its_extractors_give() {
        let doc: Value = serde_json::from_str(&super::super::openapi_json()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                if op.get("security").is_some() {
                    assert!(responses.contains_key("401"), "{method} {path}");
                }
                if op
                    .pointer("/requestBody/content/application~1json")
                    .is_some()
                {
                    for s in ["400", "415", "422"] {
                        assert!(responses.contains_key(s), "{method} {path} {s}");
                    }
                }
            }
        }
        // The division filters carry the pattern, a required one without the empty case.
        let list = &doc["paths"]["/api/v1/children"]["get"]["parameters"];
        let division = list
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "division")
            .unwrap();
        assert!(division["schema"]["pattern"]
            .as_str()
            .unwrap()
            .starts_with("^$|"));
    }

    /// The document names a schema by its type's bare name, and a second type of the same
    /// name silently takes the first one's place: the assessment's lines were once
    /// documented as an allowance roll's. Every documented type has a name of its own.
    #[test]
    fn no_two_documented_types_share_a_name() {
        fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut seen: std::collections::BTreeMap<String, String> = Default::default();
        let mut found = 0;
        let mut twice = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let mut derives_schema = false;
            for line in text.lines().map(str::trim) {
                if line.starts_with("#[derive(") && line.contains("ToSchema") {
                    derives_schema = true;
                } else if derives_schema && line.starts_with("#[schema(as") {
                    derives_schema = false;
                } else if derives_schema
                    && (line.starts_with("pub struct ") || line.starts_with("pub enum "))
                {
                    let name: String = line
                        .split_whitespace()
                        .nth(2)
                        .unwrap()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    found += 1;
                    let here = file.display().to_string();
                    if let Some(other) = seen.insert(name.clone(), here.clone()) {
                        twice.push(format!("{name}: {other} and {here}"));
                    }
                    derives_schema = false;
                }
            }
        }
        assert!(twice.is_empty(), "documented twice: {twice:#?}");
        assert!(found > 100, "only {found} documented types found");
    }
}
