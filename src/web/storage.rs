//! Where the queue and the accepted set live: `localStorage` when the page
//! has it, the module's memory otherwise (private mode, storage disabled or
//! full, Node). Never throws.

use std::cell::RefCell;

use wasm_bindgen::JsCast;

use super::env;
use crate::queue::State;

const KEY: &str = "onramp-pixel:v1";

thread_local! {
    static MEMORY: RefCell<String> = const { RefCell::new(String::new()) };
}

fn local_storage() -> Option<web_sys::Storage> {
    // Reading `localStorage` itself throws where storage is disabled.
    env::global_property("localStorage").map(JsCast::unchecked_into)
}

/// The stored state (what could be read of it).
pub fn load() -> State {
    // Memory holds the state once a write to localStorage failed: it is newer.
    let memory = MEMORY.with(|m| m.try_borrow().map(|m| m.clone()).unwrap_or_default());
    if !memory.is_empty() {
        return State::decode(&memory);
    }
    local_storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .map(|text| State::decode(&text))
        .unwrap_or_default()
}

/// Stores the state; where `localStorage` refuses (quota, disabled), the
/// module's memory keeps it for the life of the page.
pub fn save(state: &State) {
    let text = state.encode();
    let in_memory = MEMORY.with(|m| m.try_borrow().map(|m| !m.is_empty()).unwrap_or(false));
    if !in_memory && local_storage().is_some_and(|s| s.set_item(KEY, &text).is_ok()) {
        return;
    }
    MEMORY.with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            *m = text;
        }
    });
}
