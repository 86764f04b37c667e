//! The defaults set by `configure()`, kept for the life of the module.

use std::cell::RefCell;

use crate::options::Defaults;

thread_local! {
    static DEFAULTS: RefCell<Defaults> = RefCell::new(Defaults::default());
}

/// Runs `f` with the current defaults (without copying them).
pub fn with<R>(f: impl FnOnce(&Defaults) -> R) -> R {
    DEFAULTS.with(|d| match d.try_borrow() {
        Ok(defaults) => f(&defaults),
        Err(_) => f(&Defaults::default()),
    })
}

/// Lays checked defaults over the current ones.
pub fn merge(newer: Defaults) {
    DEFAULTS.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            d.merge(newer);
        }
    });
}
