//! The page: one retry timer, and the page's `online`, `pagehide` and
//! `visibilitychange` events (never `unload`, which would keep the page out
//! of the bfcache), and `beforeunload` while the engine asks. Each reaches
//! the handler given to [`listen`] as a [`PageEvent`]; what it means is
//! the engine's to decide. One `Closure` serves the timer, one every event.

use std::cell::{Cell, RefCell};

use onramp_core::host::PageEvent;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Event;

#[wasm_bindgen(module = "/src/web/page.js")]
extern "C" {
    fn later(callback: &JsValue, ms: f64) -> JsValue;
    fn leaving(handler: &JsValue, on: bool);
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(timer: &JsValue);
}

thread_local! {
    /// Who is told of the page's events.
    static HANDLER: Cell<Option<fn(PageEvent)>> = const { Cell::new(None) };
    static TIMER: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
    static TICK: Closure<dyn FnMut()> = Closure::new(|| tell(PageEvent::Timer));
    /// The events' listener, once listening.
    static LISTENER: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
}

fn tell(event: PageEvent) {
    if let Some(handler) = HANDLER.get() {
        handler(event);
    }
}

fn on_event(event: Event) {
    let hidden = || {
        super::convert::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.hidden())
    };
    tell(match event.type_().as_str() {
        "online" => PageEvent::Online,
        "pagehide" | "beforeunload" => PageEvent::Left,
        _ if hidden() => PageEvent::Hidden,
        _ => return,
    });
}

/// Tells `handler` of the timer and of the page's events from now on; the
/// listeners are added once, and only where there is a page.
pub fn listen(handler: fn(PageEvent)) {
    if HANDLER.replace(Some(handler)).is_some() {
        return;
    }
    let Some(window) = super::convert::window() else { return };
    let listener = Closure::<dyn FnMut(Event)>::new(on_event).into_js_value();
    LISTENER.set(listener.clone());
    let listener = listener.unchecked_ref();
    let _ = window.add_event_listener_with_callback("online", listener);
    let _ = window.add_event_listener_with_callback("pagehide", listener);
    if let Some(document) = window.document() {
        let _ = document.add_event_listener_with_callback("visibilitychange", listener);
    }
}

/// The timer fires in `ms`, in place of the one set before.
pub fn set_timer(ms: i64) {
    let timer = TICK.with(|tick| later(tick.as_ref(), ms as f64));
    let previous = TIMER.replace(timer);
    if !previous.is_undefined() {
        clear_timeout(&previous);
    }
}

/// Listens to `beforeunload` too (`on`), or no longer.
#[inline(never)]
pub fn watch_leaving(on: bool) {
    LISTENER.with_borrow(|listener| leaving(listener, on));
}
