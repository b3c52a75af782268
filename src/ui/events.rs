//! The app page's "Recent events": the latest events the app received, where each came from
//! (the API or the chat source) and a link to its deliveries in the delivery log.

use leptos::prelude::*;

use super::hooks_sfn::{recent_events, RecentEventView, RECENT_EVENTS};
use super::LoadError;
use crate::dto::format_millis;

#[component]
pub fn RecentEventsSection(app_id: i64) -> impl IntoView {
    let events = Resource::new(move || app_id, recent_events);
    view! {
        <section class="card" aria-labelledby="events-title" data-testid="recent-events">
            <h2 id="events-title">"Recent events"</h2>
            <p class="muted small">{format!("The latest {RECENT_EVENTS} events this app received, newest first.")}</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading events…"</p> }>
                {move || Suspend::new(async move {
                    match events.await {
                        Ok(list) => view! { <EventsTable list/> }.into_any(),
                        Err(e) => view! { <LoadError message=e.to_string()/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn EventsTable(list: Vec<RecentEventView>) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p class="empty" data-testid="recent-events-empty">
                "No events yet. Events sent to POST /events or fired by the chat API show here."
            </p>
        }
        .into_any();
    }
    view! {
        <table class="list events" aria-label="Recent events">
            <thead>
                <tr>
                    <th>"Time"</th><th>"Type"</th><th>"Channel"</th><th>"Source"</th><th>"Deliveries"</th>
                </tr>
            </thead>
            <tbody>
                {list.into_iter().map(|e| view! { <EventRow e/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn EventRow(e: RecentEventView) -> impl IntoView {
    let count = match e.deliveries {
        1 => "1 delivery".to_string(),
        n => format!("{n} deliveries"),
    };
    let id = e.id.clone();
    view! {
        <tr data-testid="recent-event" data-event-id=id data-source=e.source.clone()>
            <td class="muted">{format_millis(e.accepted_at)}</td>
            <td><code data-testid="event-type">{e.event_type}</code><div class="muted small">{e.id}</div></td>
            <td data-testid="event-cid">
                {match e.cid {
                    Some(cid) => view! { <code>{cid}</code> }.into_any(),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}
            </td>
            <td><span class=format!("badge source-{}", e.source) data-testid="event-source">{e.source_label}</span></td>
            <td>
                <a href=e.log_url data-testid="event-deliveries" data-count=e.deliveries>{count}</a>
            </td>
        </tr>
    }
}
