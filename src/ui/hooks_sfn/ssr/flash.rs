//! The values, refusal and test report a form post carries back to the form page, in the
//! session (never in the URL).

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
