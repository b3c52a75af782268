//! Server-side helpers of the integration screens' server functions, by purpose.

mod access;
mod check;
mod flash;
mod form_values;
mod policy;
mod settings;
mod summary;

pub use access::user_and_app;
pub use check::run_check;
pub use flash::{flash_key, form_page, open_secret, seal_secret, Flash};
pub use form_values::form_of;
pub use form_values::hook_of;
pub use policy::policy;
pub use settings::{apply, stored};
pub use summary::{summary, target_of, SPARK_STEPS};
