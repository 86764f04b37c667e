//! The queue in `localStorage`: one record per tracking under
//! `onramp-pixel:v2:` and the tracking's id, written with serde
//! (serde-wasm-bindgen and the browser's `JSON`). Tabs that queue at the
//! same moment write different keys, so none overwrites another's
//! trackings. Where there is no `localStorage` (Node, some private modes)
//! or a write fails (quota), the record lives in this page's memory.

use std::cell::RefCell;
use std::collections::BTreeMap;

use js_sys::JSON;
use wasm_bindgen::JsValue;
use web_sys::Storage;

use crate::queue::{legacy, Record};

use super::convert::to_js;

/// The prefix of every record's key.
const PREFIX: &str = "onramp-pixel:v2:";

thread_local! {
    /// Records that `localStorage` could not take, by key.
    static MEMORY: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
}

fn local() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn key(id: &str) -> String {
    [PREFIX, id].concat()
}

fn encode(record: &Record) -> Option<String> {
    JSON::stringify(&to_js(record)).ok()?.as_string()
}

fn decode(text: &str) -> Option<Record> {
    serde_wasm_bindgen::from_value(JSON::parse(text).ok()?).ok()
}

fn read(key: &str) -> Option<String> {
    MEMORY
        .with_borrow(|m| m.get(key).cloned())
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
        if stored {
            m.remove(&key);
        } else {
            m.insert(key, text);
        }
    });
    stored
}

/// Forgets the tracking.
pub fn remove(id: &str) {
    let key = key(id);
    MEMORY.with_borrow_mut(|m| m.remove(&key));
    if let Some(s) = local() {
        let _ = s.remove_item(&key);
    }
}

/// Every record, by id.
pub fn all() -> Vec<(String, Record)> {
    let mut keys: Vec<String> = MEMORY.with_borrow(|m| m.keys().cloned().collect());
    if let Some(s) = local() {
        let count = s.length().unwrap_or(0);
        keys.extend((0..count).filter_map(|i| s.key(i).ok().flatten()));
    }
    keys.sort_unstable();
    keys.dedup();
    keys.iter()
        .filter_map(|k| {
            let id = k.strip_prefix(PREFIX)?;
            Some((id.to_owned(), decode(&read(k)?)?))
        })
        .collect()
}

/// Moves the queue stored by version 1 (one text under
/// `onramp-pixel:v1`) to records of its own; a tracking that already has
/// a record keeps it.
pub fn upgrade() {
    let Some(s) = local() else { return };
    let Ok(Some(text)) = s.get_item(legacy::KEY) else {
        return;
    };
    for (id, record) in legacy::decode(&text) {
        if load(&id).is_none() {
            save(&id, &record);
        }
    }
    let _ = s.remove_item(legacy::KEY);
}

/// `JSON.stringify` of a JS value, for a request's body.
pub fn stringify(value: &JsValue) -> String {
    JSON::stringify(value).ok().and_then(|s| s.as_string()).unwrap_or_default()
}
