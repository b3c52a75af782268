//! The vocabulary every layer shares and the store persists: typed ids, instants, hook types,
//! delivery states and outcomes, the wire form of a hook and an app's legacy settings.
//!
//! This module sits below `store/`: it imports nothing of the crate, so the store can return
//! these types without depending on the layers that use it. It only needs `serde` and `thiserror`, so it compiles for the browser bundle too.

pub mod delivery;
pub mod event_source;
pub mod hook;
pub mod ids;
pub mod settings;
pub mod time;
pub mod user;

pub use delivery::{DeliveryStatus, Finish, HookType, Outcome, UnknownHookType};
pub use event_source::EventSource;
pub use hook::{EventHook, HookError};
pub use ids::{AppId, DeliveryId, HookId, UserId};
pub use settings::{LegacySecrets, LegacySettings};
pub use time::Millis;
pub use user::{Email, Role};
