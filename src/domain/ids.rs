//! Typed ids: an app id cannot be passed where a delivery id is meant.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }
    };
}

int_id!(
    /// An app (a tenant): its hooks, events and deliveries belong to it.
    AppId
);
int_id!(
    /// One delivery of one event to one hook (a row of the outbox).
    DeliveryId
);
int_id!(
    /// A dashboard user.
    UserId
);

/// A hook's id, unique within its app (a UUID for hooks created here, any text up to 255
/// characters for hooks given one through the API). Shared, not copied: every delivery in
/// memory names its hook, and a copy is a reference count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct HookId(Arc<str>);

impl HookId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for HookId {
    fn from(id: String) -> Self {
        Self(id.into())
    }
}

impl From<&str> for HookId {
    fn from(id: &str) -> Self {
        Self(id.into())
    }
}

impl Serialize for HookId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HookId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from)
    }
}

impl std::borrow::Borrow<str> for HookId {
    fn borrow(&self) -> &str {
        &self.0
    }
}
