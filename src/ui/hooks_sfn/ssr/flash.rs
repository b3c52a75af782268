//! The values, refusal and test report a form post carries back to the form page, in the
//! session (never in the URL). A secret typed into the form travels sealed with the master key
//! (the session table never holds it in clear) and is opened for the page that shows the form.

use crate::dto::{CheckReport, FieldError, HookForm};

pub type Flash = (HookForm, Option<FieldError>, Option<CheckReport>);

pub fn flash_key(app_id: i64, hook_id: &str) -> String {
    let hook = if hook_id.is_empty() { "new" } else { hook_id };
    format!("hook_form:{app_id}:{hook}")
}

/// The form page of a hook (to go back to after a test or a refusal).
pub fn form_page(form: &HookForm) -> String {
    if form.hook_id.is_empty() {
        format!(
            "/apps/{}/hooks/new?type={}&flash=1",
            form.app_id,
            crate::server::query_component(&form.hook_type)
        )
    } else {
        format!(
            "/apps/{}/hooks/{}/edit?flash=1",
            form.app_id,
            crate::server::query_component(&form.hook_id)
        )
    }
}

/// What marks a sealed secret in a carried form.
const SEALED: &str = "sealed:";

fn purpose(form: &HookForm) -> String {
    format!("flash:{}", flash_key(form.app_id, &form.hook_id))
}

/// The form to carry: its typed secret, if any, sealed.
pub fn seal_secret(db: &crate::store::Store, mut form: HookForm) -> HookForm {
    if !form.secret.is_empty() {
        form.secret = format!("{SEALED}{}", db.seal(&form.secret, &purpose(&form)));
    }
    form
}

/// The carried form with its secret opened again (dropped if it cannot be opened).
pub fn open_secret(db: &crate::store::Store, mut form: HookForm) -> HookForm {
    if let Some(sealed) = form.secret.strip_prefix(SEALED) {
        use secrecy::ExposeSecret;
        form.secret = db
            .open(sealed, &purpose(&form))
            .map(|s| s.expose_secret().to_string())
            .unwrap_or_default();
    }
    form
}
