//! The queue in `localStorage`: one record per tracking under
//! `onramp-pixel:v2:` and the tracking's id, written with serde
//! (serde-wasm-bindgen and the browser's `JSON`). Tabs that queue at the
//! same moment write different keys, so none overwrites another's
//! trackings. Where there is no `localStorage` (Node, some private modes)
//! or a write fails (quota), the record lives in this page's memory.

use std::cell::RefCell;

use js_sys::JSON;
use wasm_bindgen::JsValue;
use web_sys::Storage;

use onramp_core::queue::{Record, STORAGE_PREFIX as PREFIX};

use super::convert::to_js;

thread_local! {
    /// Records that `localStorage` could not take: (key, text).
    static MEMORY: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

fn local() -> Option<Storage> {
    super::convert::window()?.local_storage().ok()?
}

fn key(id: &str) -> String {
    [PREFIX, id].concat()
}

fn encode(record: &Record) -> Option<String> {
    Some(stringify(&to_js(record))).filter(|text| !text.is_empty())
}

/// Reads a stored record; `None` when it is damaged. Its fields are read
/// with js-sys rather than `serde_wasm_bindgen::from_value`, whose error
/// path links core::fmt's float printer: 8.7 KB gzip, measured, a third of
/// the size budget. What is written is always `Record`'s serde form.
fn decode(text: &str) -> Option<Record> {
    let object = JSON::parse(text).ok()?;
    let field = |name: &str| super::convert::get(&object, name).ok();
    let text = |name: &str| field(name)?.as_string();
    let number = |name: &str| field(name)?.as_f64().filter(|n| n.is_finite());
    let accepted_ms = match field("acceptedMs") {
        Some(at) if at.is_null() || at.is_undefined() => None,
        _ => Some(number("acceptedMs")? as i64),
    };
    Some(Record {
        url: text("url")?,
        body: text("body")?,
        created_ms: number("createdMs")? as i64,
        failures: number("failures")? as u32,
        next_ms: number("nextMs")? as i64,
        leased_until: number("leaseMs")? as i64,
        timeout_ms: number("timeoutMs")? as u32,
        accepted_ms,
    })
}

fn read(key: &str) -> Option<String> {
    MEMORY
        .with_borrow(|m| m.iter().find(|(k, _)| k == key).map(|(_, text)| text.clone()))
        .or_else(|| local()?.get_item(key).ok()?)
}

/// The tracking's record, if the store has one that reads.
pub fn load(id: &str) -> Option<Record> {
    decode(&read(&key(id))?)
}

/// Stores the tracking's record; false when only this page's memory
/// took it.
pub fn save(id: &str, record: &Record) -> bool {
    let Some(text) = encode(record) else {
        return false;
    };
    let key = key(id);
    let stored = local().is_some_and(|s| s.set_item(&key, &text).is_ok());
    MEMORY.with_borrow_mut(|m| {
        m.retain(|(k, _)| *k != key);
        if !stored {
            m.push((key, text));
        }
    });
    stored
}

/// Forgets the tracking.
pub fn remove(id: &str) {
    let key = key(id);
    MEMORY.with_borrow_mut(|m| m.retain(|(k, _)| *k != key));
    if let Some(s) = local() {
        let _ = s.remove_item(&key);
    }
}

/// Every record, by id.
pub fn all() -> Vec<(String, Record)> {
    let mut keys: Vec<String> = MEMORY.with_borrow(|m| m.iter().map(|(k, _)| k.clone()).collect());
    if let Some(s) = local() {
        for i in 0..s.length().unwrap_or(0) {
            if let Ok(Some(k)) = s.key(i) {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    keys.iter()
        .filter_map(|k| {
            let id = k.strip_prefix(PREFIX)?;
            Some((id.to_owned(), decode(&read(k)?)?))
        })
        .collect()
}

/// `JSON.stringify` of a JS value: a record as stored (the body of a
/// request is the core's, `Tracking::body`).
pub fn stringify(value: &JsValue) -> String {
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use onramp_core::tracking::Tracking;

    use super::*;

    /// The body the core writes is the text `JSON.stringify` writes of the
    /// tracking, whatever its strings hold.
    #[wasm_bindgen_test]
    fn the_body_is_json_stringify_s_text() {
        for tracking in Tracking::escaping() {
            let text = &tracking.customer_id;
            assert_eq!(tracking.body(), stringify(&to_js(&tracking)), "{text}");
        }
    }

    /// The reader takes back exactly what `Record`'s serde form writes.
    #[wasm_bindgen_test]
    fn a_record_reads_back_as_written() {
        let mut record = Record::new(
            "https://o.example/api/SaasTrackings".into(),
            "{\"a\":1}".into(),
            5_000,
            1_795_718_581_000,
        );
        record.failures = 3;
        record.next_ms = 1_795_718_590_000;
        record.leased_until = 1_795_718_600_000;
        let text = encode(&record).expect("encoded");
        assert_eq!(decode(&text), Some(record.clone()));
        record.accept(1_795_718_700_000);
        let text = encode(&record).expect("encoded");
        assert_eq!(decode(&text), Some(record));
        for damaged in ["", "not JSON", "{}", "null", "{\"url\":1}"] {
            assert_eq!(decode(damaged), None, "{damaged}");
        }
    }
}
