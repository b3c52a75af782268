//! The integration screens: the list on the app page, Add Integration, the per-type form with
//! its connection test, and the delete confirmation. Every form is a plain HTML form posting to
//! a server function, so all of it works without JavaScript; with it, the test button shows
//! "Testing…" while the check runs.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::hooks_sfn::*;
use super::{query_error, route_i64, FormError, Layout, LoadError};
use crate::dto::{
    format_millis, hook_type_label, CheckReport, FieldError, HookForm, HookFormView, HookSummary,
};
use crate::hooks::{ChimeDataType, EVENT_TYPES};

/// "All events", or the first few and how many more.
pub fn events_summary(events: &[String]) -> String {
    match events.len() {
        0 => "All events".to_string(),
        1..=3 => events.join(", "),
        n => format!("{} +{} more", events[..3].join(", "), n - 3),
    }
}

fn param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync {
    let params = use_params_map();
    move || params.read().get(name).unwrap_or_default()
}

/// The "Webhook & Event Configuration" section of the app page.
#[component]
pub fn HooksSection(app_id: i64) -> impl IntoView {
    let overview = Resource::new(move || app_id, list_hooks);
    let base = format!("/apps/{app_id}");
    view! {
        <section class="card" aria-labelledby="hooks-title">
            <h2 id="hooks-title">"Webhook & Event Configuration"</h2>
            <p class="actions">
                <a class="button primary" href=format!("{base}/hooks/new")>"Add Integration"</a>
                " "
                <a class="button" href=format!("{base}/deliveries")>"Delivery log"</a>
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading integrations…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) => view! { <HooksTable app_id hooks=o.hooks/><CompressionForm app_id on=o.compression/> }.into_any(),
                        Err(e) => view! { <LoadError message=e.to_string()/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn HooksTable(app_id: i64, hooks: Vec<HookSummary>) -> impl IntoView {
    if hooks.is_empty() {
        return view! { <p class="empty">"No integrations yet."</p> }.into_any();
    }
    view! {
        <table class="list" aria-label="Integrations">
            <thead>
                <tr>
                    <th>"Type"</th><th>"Target"</th><th>"Status"</th><th>"Events"</th>
                    <th>"Last hour"</th><th>"Last error"</th><th>"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {hooks.into_iter().map(|h| view! { <HookRow app_id h/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn HookRow(app_id: i64, h: HookSummary) -> impl IntoView {
    let base = format!("/apps/{app_id}/hooks/{}", h.id);
    let log = format!("/apps/{app_id}/deliveries?hook_id={}", h.id);
    let (state, toggle_label, next) = if h.enabled {
        ("Enabled", "Disable", "false")
    } else {
        ("Disabled", "Enable", "true")
    };
    view! {
        <tr data-hook-id=h.id.clone()>
            <td>{hook_type_label(&h.hook_type)}</td>
            <td><code class="target">{h.target.clone()}</code></td>
            <td>
                <span class=if h.enabled { "badge ok" } else { "badge off" }>{state}</span>
                <form method="post" action="/_sfn/hook_toggle" class="inline">
                    <input type="hidden" name="app_id" value=app_id/>
                    <input type="hidden" name="hook_id" value=h.id.clone()/>
                    <input type="hidden" name="enabled" value=next/>
                    <button type="submit" class="link">{toggle_label}</button>
                </form>
            </td>
            <td>{events_summary(&h.event_types)}</td>
            <td class="health">
                {sparkline(&h.spark)}
                <span>
                    {format!("{} delivered · {} failed · {}{} pending", h.delivered_1h, h.failed_1h, h.pending, if h.pending_more { "+" } else { "" })}
                </span>
                <span class="muted small">
                    {h.last_success.map_or_else(|| "No success in the last hour".to_string(), |t| format!("Last success {}", format_millis(t)))}
                </span>
            </td>
            <td class="muted small">{h.last_error.clone().unwrap_or_else(|| "—".into())}</td>
            <td class="row-actions">
                <a href=format!("{base}/edit")>"Edit"</a>
                " "
                <a href=log>"Log"</a>
                " "
                <a href=format!("{base}/delete")>"Delete"</a>
            </td>
        </tr>
    }
}

/// One bar of the sparkline: x, then the delivered part's top and height, then the failed
/// part's top and height (stacked above it), in a 60 × 16 box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SparkBar {
    pub x: u32,
    pub delivered: (u32, u32),
    pub failed: (u32, u32),
}

const SPARK_HEIGHT: u32 = 16;
const SPARK_STEP: u32 = 5;

/// The bars for counts per step, scaled so that the busiest step fills the height; a step
/// with any delivery gets at least one pixel of its kind.
pub fn spark_bars(steps: &[(i64, i64)]) -> Vec<SparkBar> {
    let max = steps.iter().map(|(d, f)| d + f).max().unwrap_or(0).max(1);
    let scale = |n: i64| -> u32 {
        if n <= 0 {
            0
        } else {
            let h = (n * i64::from(SPARK_HEIGHT) + max / 2) / max;
            u32::try_from(h.clamp(1, i64::from(SPARK_HEIGHT))).unwrap_or(SPARK_HEIGHT)
        }
    };
    steps
        .iter()
        .zip(0u32..)
        .map(|(&(d, f), i)| {
            let failed_h = scale(f);
            let delivered_h = scale(d).min(SPARK_HEIGHT - failed_h);
            let delivered_top = SPARK_HEIGHT - delivered_h;
            SparkBar {
                x: i * SPARK_STEP,
                delivered: (delivered_top, delivered_h),
                failed: (delivered_top - failed_h, failed_h),
            }
        })
        .collect()
}

/// The last hour per 5 minutes as a small bar chart, rendered on the server (plain SVG).
fn sparkline(steps: &[(i64, i64)]) -> impl IntoView {
    let delivered: i64 = steps.iter().map(|s| s.0).sum();
    let failed: i64 = steps.iter().map(|s| s.1).sum();
    let label = format!("Last hour in 5-minute steps: {delivered} delivered, {failed} failed");
    let width = SPARK_STEP * u32::try_from(steps.len().max(1)).unwrap_or(1);
    let title = label.clone();
    view! {
        <svg class="spark" viewBox=format!("0 0 {width} {SPARK_HEIGHT}") width=width height=SPARK_HEIGHT
            role="img" aria-label=label data-testid="sparkline">
            <title>{title}</title>
            <line x1="0" y1=SPARK_HEIGHT x2=width y2=SPARK_HEIGHT class="spark-base"/>
            {spark_bars(steps).into_iter().map(|b| view! {
                <rect x=b.x y=b.delivered.0 width="4" height=b.delivered.1 class="spark-ok"/>
                <rect x=b.x y=b.failed.0 width="4" height=b.failed.1 class="spark-failed"/>
            }).collect_view()}
        </svg>
    }
}

#[component]
fn CompressionForm(app_id: i64, on: bool) -> impl IntoView {
    view! {
        <form method="post" action="/_sfn/hook_compression" class="row-form">
            <input type="hidden" name="app_id" value=app_id/>
            <input id="compression" type="checkbox" name="enabled" value="on" checked=on/>
            <label for="compression">"Compress hook payloads (gzip)"</label>
            <button type="submit">"Save option"</button>
        </form>
    }
}

/// `/apps/:id/hooks/new`: the type choice, then (`?type=`) the form.
#[component]
pub fn HookNewPage() -> impl IntoView {
    let id = route_i64("id");
    let query = use_query_map();
    let kind = move || query.read().get("type").unwrap_or_default();
    view! {
        <Layout>
            {move || {
                if kind().is_empty() {
                    let base = format!("/apps/{}/hooks/new?type=", id());
                    view! {
                        <Title text="Add Integration"/>
                        <nav class="crumbs"><A href="/apps">"Apps"</A>" / "<a href=format!("/apps/{}", id())>"App"</a></nav>
                        <h1>"Add Integration"</h1>
                        <ul class="choices">
                            {[("webhook", "Send events to an HTTP endpoint of yours."),
                              ("sqs", "Queue events in an Amazon SQS queue you own."),
                              ("sns", "Publish events to an Amazon SNS topic."),
                              ("kinesis", "Stream events to Amazon Kinesis (Chime SDK format).")]
                                .into_iter()
                                .map(|(t, d)| view! {
                                    <li><a class="button" href=format!("{base}{t}")>{hook_type_label(t)}</a>" "<span class="muted">{d}</span></li>
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any()
                } else {
                    view! { <HookFormLoader hook_id=String::new() kind=kind()/> }.into_any()
                }
            }}
        </Layout>
    }
}

/// `/apps/:id/hooks/:hook/edit`.
#[component]
pub fn HookEditPage() -> impl IntoView {
    let hook = param("hook");
    view! {
        <Layout>
            {move || view! { <HookFormLoader hook_id=hook() kind=String::new()/> }}
        </Layout>
    }
}

#[component]
fn HookFormLoader(hook_id: String, kind: String) -> impl IntoView {
    let id = route_i64("id");
    let query = use_query_map();
    let flash = move || query.read().get("flash").is_some();
    let data = Resource::new(
        move || (id(), hook_id.clone(), kind.clone(), flash()),
        |(id, hook, kind, flash)| load_hook_form(id, hook, kind, flash),
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(v)) => view! { <HookFormCard v/> }.into_any(),
                    Ok(None) => view! { <h1>"No such integration"</h1><p><A href="/apps">"Back to the apps"</A></p> }.into_any(),
                    Err(e) => view! { <LoadError message=e.to_string()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn target_label(t: &str) -> &'static str {
    match t {
        "sqs" => "Queue URL",
        "sns" => "Topic ARN",
        "kinesis" => "Stream ARN",
        _ => "Webhook URL",
    }
}

fn target_placeholder(t: &str) -> &'static str {
    match t {
        "sqs" => "https://sqs.us-east-1.amazonaws.com/123456789012/my-queue",
        "sns" => "arn:aws:sns:us-east-1:123456789012:my-topic",
        "kinesis" => "arn:aws:kinesis:us-east-1:123456789012:stream/my-stream",
        _ => "https://example.com/hookrelay",
    }
}

fn test_label(t: &str) -> &'static str {
    match t {
        "sqs" => "Test SQS",
        "sns" => "Test SNS",
        "kinesis" => "Test Kinesis",
        _ => "Test webhook",
    }
}

/// The message for `field`, shown next to it.
fn field_error(error: &Option<FieldError>, field: &'static str) -> impl IntoView {
    error
        .as_ref()
        .filter(|e| e.field == field)
        .map(|e| view! { <p class="field-error" role="alert" id=format!("err-{field}")>{e.message.clone()}</p> })
}

/// The event type groups: the part of the name before the first dot.
fn event_groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut groups: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for e in EVENT_TYPES {
        let group = e.name.split('.').next().unwrap_or(e.name);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, list)) => list.push(e.name),
            None => groups.push((group, vec![e.name])),
        }
    }
    groups
}

#[component]
fn HookFormCard(v: HookFormView) -> impl IntoView {
    let HookFormView {
        app_id,
        app_name,
        form,
        error,
        report,
        policy,
        external_id,
    } = v;
    let HookForm {
        hook_id,
        hook_type,
        target,
        region,
        auth_type,
        key,
        secret,
        role_arn,
        event_types,
        kinesis_data_types,
        kinesis_payload,
        enabled,
        ..
    } = form;
    let aws = hook_type != "webhook";
    let label = hook_type_label(&hook_type);
    let title = if hook_id.is_empty() {
        format!("Add {label}")
    } else {
        format!("Edit {label}")
    };
    let test_text = test_label(&hook_type);
    let general = error
        .as_ref()
        .filter(|e| e.field == "form")
        .map(|e| view! { <p class="form-error" role="alert">{e.message.clone()}</p> });
    let checked = |t: &str| auth_type == t;
    view! {
        <Title text=title.clone()/>
        <nav class="crumbs">
            <A href="/apps">"Apps"</A>" / "<a href=format!("/apps/{app_id}")>{app_name}</a>" / "{title.clone()}
        </nav>
        <h1>{title}</h1>
        <div class="hook-editor">
            <form method="post" action="/_sfn/hook_save" class="card hook-form">
                {general}
                <input type="hidden" name="form[app_id]" value=app_id/>
                <input type="hidden" name="form[hook_id]" value=hook_id.clone()/>
                <input type="hidden" name="form[hook_type]" value=hook_type.clone()/>

                <label for="hook-target">{target_label(&hook_type)}</label>
                <input id="hook-target" name="form[target]" value=target placeholder=target_placeholder(&hook_type) required
                    aria-invalid=error.as_ref().is_some_and(|e| e.field == "target").to_string()/>
                {field_error(&error, "target")}

                {aws.then(|| view! {
                    <label for="hook-region">"Region (optional: taken from the URL or ARN)"</label>
                    <input id="hook-region" name="form[region]" value=region.clone() placeholder="us-east-1"/>
                    {field_error(&error, "region")}

                    <fieldset class="auth">
                        <legend>"Authentication"</legend>
                        {field_error(&error, "auth_type")}
                        <div>
                            <input type="radio" id="auth-keys" name="form[auth_type]" value="keys" checked=checked("keys")/>
                            <label for="auth-keys">"Access key and secret"</label>
                        </div>
                        <div class="auth-fields">
                            <label for="hook-key">"Access key id"</label>
                            <input id="hook-key" name="form[key]" value=key.clone() autocomplete="off"/>
                            {field_error(&error, "key")}
                            <label for="hook-secret">"Secret access key"</label>
                            <input id="hook-secret" type="password" name="form[secret]" value=secret.clone() autocomplete="off"/>
                            {field_error(&error, "secret")}
                            {(!hook_id.is_empty()).then(|| view! { <p class="muted small">"Leave the masked values as they are to keep the stored key and secret."</p> })}
                        </div>
                        <div>
                            <input type="radio" id="auth-resource" name="form[auth_type]" value="resource" checked=checked("resource")/>
                            <label for="auth-resource">"Resource policy (no keys)"</label>
                        </div>
                        <div class="auth-fields">
                            <p class="muted small">"Attach this policy to the target:"</p>
                            <pre class="policy" data-testid="policy">{policy.clone()}</pre>
                        </div>
                        <div>
                            <input type="radio" id="auth-role" name="form[auth_type]" value="role" checked=checked("role")/>
                            <label for="auth-role">"Assume an IAM role"</label>
                        </div>
                        <div class="auth-fields">
                            <label for="hook-role">"Role ARN"</label>
                            <input id="hook-role" name="form[role_arn]" value=role_arn.clone() placeholder="arn:aws:iam::123456789012:role/hookrelay"/>
                            {field_error(&error, "role_arn")}
                            <p class="muted small">"External id for the role's trust policy: "<code data-testid="external-id">{external_id.clone()}</code></p>
                        </div>
                    </fieldset>
                }.into_any())}

                <EventTypesField selected=event_types error=error.clone()/>


                {(hook_type == "kinesis").then(|| view! {
                    <fieldset>
                        <legend>"Kinesis data types"</legend>
                        {field_error(&error, "kinesis_data_types")}
                        {ChimeDataType::ALL.iter().map(|d| {
                            let name = d.as_str();
                            let id = format!("kdt-{name}");
                            view! {
                                <span class="check">
                                    <input type="checkbox" id=id.clone() name="form[kinesis_data_types][]" value=name checked=kinesis_data_types.iter().any(|k| k == name)/>
                                    <label for=id>{name}</label>
                                </span>
                            }
                        }).collect_view()}
                        <label for="kinesis-payload">"Record payload"</label>
                        <select id="kinesis-payload" name="form[kinesis_payload]">
                            <option value="chime" selected=kinesis_payload != "stream">"Amazon Chime shape (ChannelArn, MessageId, Content, Sender…)"</option>
                            <option value="stream" selected=kinesis_payload == "stream">"The Stream event as received"</option>
                        </select>
                        {field_error(&error, "kinesis_payload")}
                    </fieldset>
                }.into_any())}

                <div class="check">
                    <input type="checkbox" id="hook-enabled" name="form[enabled]" value="on" checked=enabled.is_some()/>
                    <label for="hook-enabled">"Enabled"</label>
                </div>

                <div class="actions">
                    <button type="submit" class="primary" name="form[action]" value="save">"Save"</button>
                    " "
                    <TestButton label=test_text.to_string()/>
                    " "
                    <a href=format!("/apps/{app_id}")>"Cancel"</a>
                </div>
            </form>
            {report.map(|r| view! { <ReportView r/> }.into_any())}
        </div>
    }
}

/// The form's test button: a submit button (so it works without JavaScript) that says
/// "Testing…" once pressed, while the check runs (up to about 2.5 s).
#[island]
fn TestButton(label: String) -> impl IntoView {
    let testing = RwSignal::new(false);
    view! {
        <button type="submit" name="form[action]" value="test" data-testid="test-button"
            aria-busy=move || testing.get().to_string()
            on:click=move |_| testing.set(true)>
            <span hidden=testing>{label}</span>
            <span hidden=move || !testing.get()>"Testing…"</span>
        </button>
    }
}

/// Whether `name` matches what is typed in the event filter (any part, any case).
pub fn event_matches(filter: &str, name: &str) -> bool {
    let filter = filter.trim().to_ascii_lowercase();
    filter.is_empty() || name.contains(&filter)
}

/// The event types as grouped checkboxes with a filter box. The filter is a browser-side aid:
/// it is in the page from the start (hidden, keeping its space) and shows once the page is
/// hydrated, so nothing moves; without JavaScript all the checkboxes are simply there.
#[island]
fn EventTypesField(selected: Vec<String>, error: Option<FieldError>) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    let shown = move |name: &str| event_matches(&filter.read(), name);
    view! {
        <fieldset class="events">
            <legend>"Event types"</legend>
            <p class="muted small">"None ticked: all events, including future ones."</p>
            {field_error(&error, "event_types")}
            <div class="event-filter" class:unready=move || !ready.get()>
                <label for="event-filter">"Find event types"</label>
                <input id="event-filter" type="search" placeholder="e.g. message or reaction" autocomplete="off"
                    aria-controls="event-list"
                    prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))
                    // Enter here filters; it must not submit the form (Save is its first button)
                    on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default() }/>
            </div>
            <div id="event-list">
                {event_groups().into_iter().map(|(group, names)| {
                    let members = names.clone();
                    view! {
                        <div class="event-group" class:filtered-out=move || !members.iter().any(|n| shown(n))>
                            <strong>{group}</strong>
                            {names.into_iter().map(|n| {
                                let id = format!("ev-{}", n.replace('.', "-"));
                                view! {
                                    <span class="check" class:filtered-out=move || !shown(n)>
                                        <input type="checkbox" id=id.clone() name="form[event_types][]" value=n checked=selected.iter().any(|e| e == n)/>
                                        <label for=id>{n}</label>
                                    </span>
                                }
                            }).collect_view()}
                        </div>
                    }
                }).collect_view()}
                <p class="muted small" role="status" class:filtered-out=move || crate::hooks::EVENT_TYPES.iter().any(|e| shown(e.name))>
                    "No event type matches."
                </p>
            </div>
        </fieldset>
    }
    .into_any()
}

#[component]
fn ReportView(r: CheckReport) -> impl IntoView {
    view! {
        <section class=if r.ok { "card report ok" } else { "card report failed" } aria-live="polite" data-testid="check-report">
            <h2>{if r.ok { "✓ Test passed" } else { "✗ Test failed" }}</h2>
            <ol class="steps">
                {r.steps.into_iter().map(|s| view! {
                    <li class=if s.ok { "step ok" } else { "step failed" }>
                        <span class="mark">{if s.ok { "✓" } else { "✗" }}</span>" "
                        {s.name}" "
                        <span class="muted">{format!("{} ms", s.millis)}</span>
                        {s.detail.map(|d| view! { <div class="detail">{d}</div> })}
                    </li>
                }).collect_view()}
            </ol>
            {r.error.map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            {(!r.hints.is_empty()).then(|| view! {
                <ul class="hints">{r.hints.into_iter().map(|h| view! { <li>{h}</li> }).collect_view()}</ul>
            })}
        </section>
    }
}

/// `/apps/:id/hooks/:hook/delete`: asks for confirmation (a required checkbox).
#[component]
pub fn HookDeletePage() -> impl IntoView {
    let id = route_i64("id");
    let hook = param("hook");
    let error = query_error();
    let data = Resource::new(
        move || (id(), hook()),
        |(id, hook)| load_hook_form(id, hook, String::new(), false),
    );
    view! {
        <Layout>
            <Title text="Delete integration"/>
            <h1>"Delete integration"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(Some(v)) => view! {
                            <section class="card narrow">
                                <p>"Delete the " {hook_type_label(&v.form.hook_type)} " integration to "
                                    <code>{v.form.target.clone()}</code>"? Events are no longer sent to it."</p>
                                <FormError error/>
                                <form method="post" action="/_sfn/hook_delete">
                                    <input type="hidden" name="app_id" value=v.app_id/>
                                    <input type="hidden" name="hook_id" value=v.form.hook_id.clone()/>
                                    <div class="check">
                                        <input type="checkbox" id="confirm-delete" name="confirm" value="yes" required/>
                                        <label for="confirm-delete">"Yes, delete this integration"</label>
                                    </div>
                                    <button type="submit" class="danger">"Delete integration"</button>
                                    " "
                                    <a href=format!("/apps/{}", v.app_id)>"Cancel"</a>
                                </form>
                            </section>
                        }.into_any(),
                        Ok(None) => view! { <p>"No such integration."</p> }.into_any(),
                        Err(e) => view! { <LoadError message=e.to_string()/> }.into_any(),
                    }
                })}
            </Suspense>
        </Layout>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_step_fills_the_sparkline_and_failures_stack_on_top() {
        let bars = spark_bars(&[(0, 0), (10, 0), (5, 5), (1, 0)]);
        assert_eq!(bars.len(), 4);
        assert_eq!(bars[0].x, 0);
        assert_eq!(bars[3].x, 15);
        // nothing: no bar at all
        assert_eq!(bars[0].delivered.1 + bars[0].failed.1, 0);
        // the busiest step (10) is the full height, delivered only
        assert_eq!(bars[1].delivered, (0, 16));
        assert_eq!(bars[1].failed.1, 0);
        // 5 + 5 of 10: half each, failed above delivered
        assert_eq!(bars[2].delivered, (8, 8));
        assert_eq!(bars[2].failed, (0, 8));
        // 1 of 10: 1.6 pixels, rounded
        assert_eq!(bars[3].delivered, (14, 2));
        // 1 of 100 still shows one pixel
        assert_eq!(spark_bars(&[(100, 0), (1, 0)])[1].delivered, (15, 1));
    }

    #[test]
    fn a_quiet_hour_has_empty_bars_and_a_lone_failure_shows() {
        assert!(spark_bars(&[(0, 0); 12])
            .iter()
            .all(|b| b.delivered.1 == 0 && b.failed.1 == 0));
        let bars = spark_bars(&[(1000, 1), (0, 0)]);
        assert_eq!(bars[0].failed.1, 1);
        assert_eq!(bars[0].delivered.1, 15);
        assert_eq!(bars[0].failed.0 + bars[0].failed.1, bars[0].delivered.0);
    }

    #[test]
    fn the_event_filter_matches_any_part_in_any_case() {
        assert!(event_matches("", "message.new"));
        assert!(event_matches("  ", "message.new"));
        assert!(event_matches("MESS", "message.new"));
        assert!(event_matches("ion.new", "reaction.new"));
        assert!(!event_matches("channel", "message.new"));
    }

    #[test]
    fn events_summary_names_the_first_three() {
        assert_eq!(events_summary(&[]), "All events");
        let names: Vec<String> = ["a.x", "b.x", "c.x", "d.x", "e.x"].map(String::from).into();
        assert_eq!(events_summary(&names[..2]), "a.x, b.x");
        assert_eq!(events_summary(&names), "a.x, b.x, c.x +2 more");
    }
}
