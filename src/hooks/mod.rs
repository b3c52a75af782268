//! Event hooks: the wire form shared with the dashboard (`model`), the subscribable event
//! types (`events`), and — on the server only — typed AWS targets (`aws`) and the validation
//! that turns a received hook into a deliverable one (`validate`).
//!
//! `model` and `events` compile for the browser bundle too; `aws` and `validate` need the
//! `url` crate and are built with the `ssr` feature only.

pub mod events;
/// The wire form of a hook lives in `domain` (the store persists it); this path stays for
/// the layers above.
pub use crate::domain::hook as model;
#[cfg(feature = "ssr")]
pub mod patch;
#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "ssr")]
pub mod aws;
#[cfg(feature = "ssr")]
pub mod chime;
#[cfg(feature = "ssr")]
pub mod resource_auth;
#[cfg(feature = "ssr")]
pub mod validate;

pub use events::{
    chime_event_type, is_known_event_type, ChimeDataType, EventTypeInfo, UnknownChimeDataType,
    EVENT_TYPES,
};
pub use model::{is_masked, mask_secret, non_empty, Callback, EventHook, HookError};

#[cfg(feature = "ssr")]
pub use aws::{AwsTargetError, IamRoleArn, KinesisStreamArn, Region, SnsTopicArn, SqsQueueUrl};
#[cfg(feature = "ssr")]
pub use validate::{
    validate_hook, validate_hooks, AwsAuth, HookTarget, KinesisPayload, ValidHook, ValidateContext,
};
