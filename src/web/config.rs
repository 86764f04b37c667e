//! The defaults set by `configure()`, kept for the life of the module.

use std::cell::RefCell;

use crate::options::Defaults;

thread_local! {
    static DEFAULTS: RefCell<Defaults> = RefCell::new(Defaults::default());
}

/// A copy of the current defaults.
pub fn current() -> Defaults {
    DEFAULTS.with(|d| d.try_borrow().map(|d| d.clone()).unwrap_or_default())
}

/// Lays checked defaults over the current ones.
pub fn merge(newer: Defaults) {
    DEFAULTS.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            d.merge(newer);
        }
    });
}
