//! Reading a bulk answer: whether every action succeeded, and if not, each item's outcome in
//! the order of the actions sent.

use serde::Deserialize;

/// Per-item error types that mean the document itself is wrong (Confluent's list, plus
/// Elasticsearch 8's `document_parsing_exception`, which wraps mapping failures).
pub(super) const MALFORMED: &[&str] = &[
    "mapper_parsing_exception",
    "document_parsing_exception",
    "strict_dynamic_mapping_exception",
    "illegal_argument_exception",
    "action_request_validation_exception",
];

/// What a successful (2xx) bulk answer says.
pub(super) enum Answer {
    /// Every action succeeded.
    Acknowledged,
    /// Some actions failed: every item, in the order of the actions.
    Items(Vec<ItemResult>),
}

#[derive(Deserialize)]
struct BulkErrors {
    errors: bool,
}

#[derive(Deserialize)]
struct BulkResponse {
    errors: bool,
    #[serde(default)]
    items: Vec<BulkItem>,
}

#[derive(Deserialize)]
struct BulkItem {
    #[serde(alias = "index", alias = "create", alias = "update", alias = "delete")]
    op: ItemResult,
}

#[derive(Deserialize)]
pub(super) struct ItemResult {
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub error: Option<ItemError>,
    #[serde(default, rename = "_index")]
    pub index: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ItemError {
    #[serde(rename = "type", default)]
    pub ty: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub caused_by: Option<serde_json::Value>,
}

impl ItemError {
    pub fn text(&self) -> String {
        let mut s = format!("{}: {}", self.ty, self.reason.as_deref().unwrap_or(""));
        if let Some(c) = &self.caused_by {
            if let Some(r) = c["reason"].as_str() {
                s.push_str(&format!(
                    " (caused by {}: {r})",
                    c["type"].as_str().unwrap_or("")
                ));
            }
        }
        s
    }

    pub fn is_malformed(&self) -> bool {
        MALFORMED.contains(&self.ty.as_str())
    }
}

/// Parses a 2xx bulk answer. Most answers have no errors, so the `errors` flag is read first
/// and the items only when it is set.
pub(super) fn parse(bytes: &[u8]) -> Result<Answer, String> {
    let not_json =
        |e: serde_json::Error| format!("the bulk answer is not the JSON Elasticsearch sends: {e}");
    let quick: BulkErrors = serde_json::from_slice(bytes).map_err(not_json)?;
    if !quick.errors {
        return Ok(Answer::Acknowledged);
    }
    let resp: BulkResponse = serde_json::from_slice(bytes).map_err(not_json)?;
    if !resp.errors {
        return Ok(Answer::Acknowledged);
    }
    Ok(Answer::Items(
        resp.items.into_iter().map(|i| i.op).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_answers_parse_whatever_the_operation() {
        let body = br#"{"took":1,"errors":true,"items":[
            {"index":{"_index":"a","_id":"1","status":201}},
            {"delete":{"_index":"a","_id":"2","status":404,"result":"not_found"}},
            {"update":{"_index":"a","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}},
            {"create":{"_index":"a","_id":"4","status":400,"error":{"type":"document_parsing_exception","reason":"bad","caused_by":{"type":"illegal_argument_exception","reason":"nope"}}}}]}"#;
        let Answer::Items(items) = parse(body).unwrap() else {
            panic!("errors: true gives the items");
        };
        assert_eq!(items.len(), 4);
        assert!(items[0].error.is_none() && items[1].error.is_none());
        assert_eq!(items[2].status, 429);
        let e = items[3].error.as_ref().unwrap();
        assert!(e.is_malformed());
        assert!(e
            .text()
            .contains("caused by illegal_argument_exception: nope"));
    }

    #[test]
    fn an_answer_without_errors_is_acknowledged_and_garbage_is_named() {
        assert!(matches!(
            parse(br#"{"took":1,"errors":false,"items":[{"index":{"status":201}}]}"#),
            Ok(Answer::Acknowledged)
        ));
        assert!(parse(b"<html>")
            .err()
            .unwrap()
            .starts_with("the bulk answer is not the JSON Elasticsearch sends"));
    }
}
