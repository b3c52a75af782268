//! Hookrelay: takes an app's events, stores them durably and delivers them to the app's event
//! hooks (SQS, SNS, Kinesis, webhooks).
//!
//! Layers, imported one way: entry points (`api`, `ui`, `server`) → `hooks` (validation and
//! the hook store), `check` (connection checker), `delivery` (the engine), `chat` (the chat
//! source, which fires its events through `delivery`) → `aws` (SDK clients
//! shared by checks and deliveries), `egress` (where tenant URLs may connect) → `store` (the only module that names sqlx) → `domain`
//! (ids, times, hook types, delivery states, the wire form of a hook) and `dto`. See the
//! README's Architecture section. Server-only modules are behind `ssr` so the browser bundle
//! (`hydrate`) stays small.

#![recursion_limit = "256"]

pub mod domain;
pub mod dto;
pub mod hooks;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod aws;
#[cfg(feature = "ssr")]
pub mod chat;
#[cfg(feature = "ssr")]
pub mod check;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod delivery;
#[cfg(feature = "ssr")]
pub mod egress;
#[cfg(feature = "ssr")]
pub mod http_server;
#[cfg(feature = "ssr")]
pub mod limits;
#[cfg(feature = "ssr")]
pub mod ops;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod web_guard;

/// The browser entry point. The pages are rendered on the server and work without JavaScript;
/// only their interactive parts (`#[island]` components) are hydrated, which the page's script
/// does right after this returns.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // Lets tests (and curious people) see that the page is live: set once the islands are
    // hydrated (the script hydrates them in the microtasks that run before this timer).
    leptos::prelude::set_timeout(
        || {
            if let Some(body) = leptos::prelude::document().body() {
                let _ = body.set_attribute("data-hydrated", "true");
            }
        },
        std::time::Duration::ZERO,
    );
}
