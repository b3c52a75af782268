//! Integration tests: the real app over HTTP (and the real binary for the CLI).

mod api;
mod chat;
mod checks;
mod chime;
mod cli;
mod dashboard;
mod dashboard_hooks;
mod delivery;
mod emulator;
mod health;
mod instances;
mod memory;
mod openapi;
mod recent_events;
mod resilience;
mod robustness;
mod security;
mod support;
