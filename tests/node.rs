//! The wasm glue in Node (the CLI's environment).
#![cfg(target_arch = "wasm32")]

mod suite;
