//! When the queue is worked on besides a call: one retry timer, and the
//! page's `online`, `pagehide` and `visibilitychange` events (never
//! `unload`, which would keep the page out of the bfcache), and
//! `beforeunload` while an attempt waits for its lock. One `Closure` serves
//! the timer, one every event.

use std::cell::{Cell, RefCell};

use js_sys::Date;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, VisibilityState};

use super::delivery::{send, Mode};

#[wasm_bindgen(module = "/src/web/schedule.js")]
extern "C" {
    fn later(callback: &JsValue, ms: f64) -> JsValue;
    fn leaving(handler: &JsValue, on: bool);
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(timer: &JsValue);
}

/// The longest delay a JS timer takes (2^31 − 1 ms); a longer one fires at once.
const MAX_DELAY_MS: i64 = 2_147_483_647;

thread_local! {
    static TIMER: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
    /// When the timer fires, by the clock the records' due times are read
    /// with (`Date.now()`); infinite when none is set.
    static FIRES_AT: Cell<f64> = const { Cell::new(f64::INFINITY) };
    // (The flush sets the timer again, from every record.)
    static TICK: Closure<dyn FnMut()> = Closure::new(|| {
        let _ = send(Mode::Due);
    });
    static LISTENING: Cell<bool> = const { Cell::new(false) };
    /// The events' handler, once listening.
    static HANDLER: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
    /// How many attempts wait for their lock.
    static WAITING: Cell<u32> = const { Cell::new(0) };
}

/// Wakes in `delay_ms` (plus a margin) to send what is due then, in place
/// of the timer set before: for a delay worked out from every record.
/// Nothing when `None` (nothing waits).
pub fn arm(delay_ms: Option<i64>) {
    FIRES_AT.set(f64::INFINITY);
    arm_sooner(delay_ms);
}

/// Wakes in `delay_ms` unless the timer already fires sooner: for one
/// record's new due time, without reading the others (whatever the timer
/// was set for, it still wakes for; if that was this record, the flush it
/// starts finds nothing due and sets the timer from every record). A clock
/// set forward while the timer runs can make this keep a timer that fires
/// up to that much later; one set back only makes it set a new one.
pub fn arm_sooner(delay_ms: Option<i64>) {
    let Some(delay) = delay_ms else { return };
    let ms = (delay.clamp(0, MAX_DELAY_MS - 50) + 50) as f64;
    let at = Date::now() + ms;
    if at >= FIRES_AT.get() {
        return;
    }
    FIRES_AT.set(at);
    let timer = TICK.with(|tick| later(tick.as_ref(), ms));
    let previous = TIMER.replace(timer);
    if !previous.is_undefined() {
        clear_timeout(&previous);
    }
}

fn on_event(event: Event) {
    let hidden = || {
        web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == VisibilityState::Hidden)
    };
    let mode = match event.type_().as_str() {
        "online" => Mode::Forced,
        "pagehide" | "beforeunload" => Mode::Leaving,
        // Hidden is not gone (another tab took the front): what is due goes
        // under its lock, as on the timer, so that it never races another
        // tab's attempt at the same tracking (a record that cannot be sent
        // before the page is killed waits for the next page).
        _ if hidden() => Mode::Due,
        _ => return,
    };
    let _ = send(mode);
}

/// Flushes when the browser comes back online and when the page is hidden
/// or left; once per page, and only where there is a page.
pub fn listen() {
    if LISTENING.replace(true) {
        return;
    }
    let Some(window) = web_sys::window() else { return };
    let handler = Closure::<dyn FnMut(Event)>::new(on_event).into_js_value();
    HANDLER.set(handler.clone());
    let handler = handler.unchecked_ref();
    let _ = window.add_event_listener_with_callback("online", handler);
    let _ = window.add_event_listener_with_callback("pagehide", handler);
    if let Some(document) = window.document() {
        let _ = document.add_event_listener_with_callback("visibilitychange", handler);
    }
}

/// Counts an attempt that asks for its lock (`true`) and one whose lock is
/// released or refused (`false`). While one waits for its lock (or holds
/// it), leaving the page also counts from `beforeunload`: WebKit fires no
/// `pagehide` (nor `visibilitychange`) for a page left before its load
/// event, and an attempt still waiting would die with the page. (One whose
/// request is in flight holds its lease: the flush leaves it alone.) The
/// listener goes once none waits, since a `beforeunload` listener can keep
/// a page out of the back/forward cache.
#[inline(never)]
pub fn waiting(starts: bool) {
    let before = WAITING.get();
    let now = if starts { before + 1 } else { before.saturating_sub(1) };
    WAITING.set(now);
    if (before == 0) != (now == 0) {
        HANDLER.with_borrow(|handler| leaving(handler, starts));
    }
}
