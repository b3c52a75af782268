//! Server functions of the integration screens. They change hooks through the same store
//! (`hooks::store::apply`, with its validation) and test them with the same checker as the
//! REST API. Forms post here as plain HTML forms and are answered with a redirect; a test
//! report or a refused field travels back in the session (flash), never in the URL.
//!
//! One file per screen: `integrations` (the app page's list of integrations), `events` (the app
//! page's recent events), `form` (the integration form: Test and Save) and `log` (the delivery
//! log); `ssr` holds their server-side helpers, by purpose.

mod events;
mod form;
mod integrations;
mod log;
#[cfg(feature = "ssr")]
mod ssr;

pub use self::events::*;
pub use self::form::*;
pub use self::integrations::*;
pub use self::log::*;
