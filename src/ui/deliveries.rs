//! `/apps/:id/deliveries`: the delivery log with its filters (a GET form), redelivery and the
//! test event. All plain forms: it works without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_location, use_query_map};

use super::hooks_sfn::list_deliveries;
use super::{Layout, LoadError};
use crate::dto::{format_millis, hook_type_label, DeliveriesView, DeliveryView};

const STATUSES: [&str; 5] = ["delivered", "retrying", "pending", "failed", "dropped"];

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let query = use_query_map();
    let id = super::route_i64("id");
    let status = move || query.read().get("status").unwrap_or_default();
    let hook = move || query.read().get("hook_id").unwrap_or_default();
    let event = move || query.read().get("event_id").unwrap_or_default();
    let redelivered = move || {
        query
            .read()
            .get("redelivered")
            .and_then(|n| n.parse::<u64>().ok())
    };
    let sent = move || query.read().get("sent").is_some();
    let data = Resource::new(
        move || (id(), status(), hook(), event(), redelivered(), sent()),
        |(id, status, hook, event, _, _)| list_deliveries(id, status, hook, event),
    );
    view! {
        <Layout>
            <Title text="Delivery log"/>
            {move || sent().then(|| view! { <p class="notice" role="status">"Test event sent."</p> })}
            {move || redelivered().map(|n| view! { <p class="notice" role="status">{format!("{n} deliveries queued again.")}</p> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading deliveries…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(Some(v)) => view! { <DeliveriesView v status=status() hook=hook() event=event()/> }.into_any(),
                        Ok(None) => view! { <h1>"No such app"</h1><p><A href="/apps">"Back to the apps"</A></p> }.into_any(),
                        Err(e) => view! { <LoadError message=e.to_string()/> }.into_any(),
                    }
                })}
            </Suspense>
        </Layout>
    }
}

fn redeliverable(d: &DeliveryView) -> bool {
    d.status == "failed" || d.status == "dropped"
}

#[component]
fn DeliveriesView(v: DeliveriesView, status: String, hook: String, event: String) -> impl IntoView {
    let location = use_location();
    let back = {
        let search = location.search.get_untracked();
        let path = format!("/apps/{}/deliveries", v.app_id);
        if search.is_empty() {
            path
        } else {
            format!("{path}?{}", search.trim_start_matches('?'))
        }
    };
    let app_id = v.app_id;
    let failed: Vec<i64> = v
        .rows
        .iter()
        .filter(|d| redeliverable(d))
        .map(|d| d.id)
        .collect();
    view! {
        <nav class="crumbs">
            <A href="/apps">"Apps"</A>" / "<a href=format!("/apps/{app_id}")>{v.app_name.clone()}</a>" / Delivery log"
        </nav>
        <h1>"Delivery log"</h1>
        <section class="card">
            <form method="get" class="row-form filters">
                <label for="filter-status">"Status"</label>
                <select id="filter-status" name="status">
                    <option value="" selected=status.is_empty()>"Any"</option>
                    {STATUSES.iter().map(|s| view! { <option value=*s selected=status == *s>{*s}</option> }).collect_view()}
                </select>
                <label for="filter-hook">"Integration"</label>
                <select id="filter-hook" name="hook_id">
                    <option value="" selected=hook.is_empty()>"All"</option>
                    {v.hooks.iter().map(|(id, label)| view! { <option value=id.clone() selected=hook == *id>{label.clone()}</option> }).collect_view()}
                </select>
                <label for="filter-event">"Event id"</label>
                <input id="filter-event" name="event_id" value=event placeholder="Any" data-testid="filter-event"/>
                <button type="submit">"Filter"</button>
            </form>
            <div class="row-form">
                <form method="post" action="/_sfn/send_test_event" class="inline">
                    <input type="hidden" name="app_id" value=app_id/>
                    <button type="submit" class="primary">"Send test event"</button>
                </form>
                {(!failed.is_empty()).then(|| view! {
                    <form method="post" action="/_sfn/redeliver" class="inline">
                        <input type="hidden" name="app_id" value=app_id/>
                        <input type="hidden" name="back" value=back.clone()/>
                        {failed.iter().map(|id| view! { <input type="hidden" name="ids[]" value=*id/> }).collect_view()}
                        <button type="submit">{format!("Redeliver all failed in view ({})", failed.len())}</button>
                    </form>
                })}
            </div>
        </section>
        {if v.rows.is_empty() {
            view! { <p class="empty">"No deliveries match."</p> }.into_any()
        } else {
            view! {
                <table class="list deliveries" aria-label="Deliveries">
                    <thead>
                        <tr>
                            <th>"Time"</th><th>"Event"</th><th>"Integration"</th><th>"Status"</th>
                            <th>"Attempts"</th><th>"Latency"</th><th>"Last error"</th><th>"Payload"</th><th></th>
                        </tr>
                    </thead>
                    <tbody>
                        {v.rows.into_iter().map(|d| {
                            let can = redeliverable(&d);
                            view! {
                                <tr data-status=d.status.clone() data-delivery-id=d.id data-event-id=d.event_id.clone()>
                                    <td class="muted">{format_millis(d.accepted_at)}</td>
                                    <td><code>{d.event_type.clone()}</code><div class="muted small">{d.event_id.clone()}</div></td>
                                    <td>{hook_type_label(&d.hook_type)}</td>
                                    <td><span class=format!("badge status-{}", d.status)>{d.status.clone()}</span></td>
                                    <td>{d.attempts}</td>
                                    <td>{d.latency_ms.map(|l| format!("{l} ms")).unwrap_or_else(|| "—".into())}</td>
                                    <td class="small">{d.last_error.clone().unwrap_or_default()}</td>
                                    <td><code class="preview small">{d.payload_preview.clone().unwrap_or_default()}</code></td>
                                    <td>
                                        {can.then(|| view! {
                                            <form method="post" action="/_sfn/redeliver" class="inline">
                                                <input type="hidden" name="app_id" value=app_id/>
                                                <input type="hidden" name="back" value=back.clone()/>
                                                <input type="hidden" name="ids[]" value=d.id/>
                                                <button type="submit" class="link">"Redeliver"</button>
                                            </form>
                                        })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}
