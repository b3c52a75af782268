//! The dashboard (Leptos, rendered on the server and hydrated in the browser).

pub mod deliveries;
pub mod events;
pub mod hooks;
pub mod hooks_sfn;
pub mod server_fns;
pub mod users;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Redirect, Route, Router, Routes, A};
use leptos_router::hooks::{use_params_map, use_query_map};
use leptos_router::{path, SsrMode};

use crate::dto::{format_millis, AppDetail, InputError};
use server_fns::*;

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // the hydration script carries the nonce the Content-Security-Policy header names
    #[cfg(feature = "ssr")]
    if let Some(nonce) = use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::web_guard::CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="hookrelay" href="/pkg/hookrelay.css"/>
        <Title formatter=|t: String| if t.is_empty() { "Hookrelay".to_string() } else { format!("{t} · Hookrelay") }/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=|| view! { <Redirect path="/apps"/> }/>
                <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/apps") view=AppsPage ssr=SsrMode::Async/>
                <Route path=path!("/apps/:id") view=AppPage ssr=SsrMode::Async/>
                <Route path=path!("/apps/:id/hooks/new") view=hooks::HookNewPage ssr=SsrMode::Async/>
                <Route path=path!("/apps/:id/hooks/:hook/edit") view=hooks::HookEditPage ssr=SsrMode::Async/>
                <Route path=path!("/apps/:id/hooks/:hook/delete") view=hooks::HookDeletePage ssr=SsrMode::Async/>
                <Route path=path!("/apps/:id/deliveries") view=deliveries::DeliveriesPage ssr=SsrMode::Async/>
                <Route path=path!("/users") view=users::UsersPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// The integer route parameter `name` (as in `/apps/:id`); -1, which names nothing, when it is
/// not a number.
fn route_i64(name: &'static str) -> impl Fn() -> i64 + Copy + Send + Sync {
    let params = use_params_map();
    move || {
        params
            .read()
            .get(name)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(-1)
    }
}

/// The refusal named by `?error=` in the current URL, if any.
fn query_error() -> impl Fn() -> Option<InputError> + Copy {
    let query = use_query_map();
    move || {
        query
            .read()
            .get("error")
            .and_then(|code| InputError::from_code(&code))
    }
}

#[component]
fn FormError(error: impl Fn() -> Option<InputError> + Send + Sync + 'static) -> impl IntoView {
    view! {
        {move || error().map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
    }
}

/// The bare page used by first-run and login.
#[component]
fn Centered(children: Children) -> impl IntoView {
    view! {
        <main class="centered">
            <div class="brand brand-large">
                <Logo/>
                "Hookrelay"
            </div>
            <div class="card narrow">{children()}</div>
        </main>
    }
}

#[component]
fn Logo() -> impl IntoView {
    view! {
        <svg class="logo" viewBox="0 0 24 24" aria-hidden="true" width="22" height="22">
            <path d="M4 12h6l2-6 4 12 2-6h2" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/>
        </svg>
    }
}

#[component]
fn SetupPage() -> impl IntoView {
    let error = query_error();
    view! {
        <Title text="Create the admin account"/>
        <Centered>
            <h1>"Create the admin account"</h1>
            <p class="muted">"This Hookrelay has no administrator yet. The account you create here manages apps and their event hooks."</p>
            <FormError error/>
            <SetupForm/>
        </Centered>
    }
}

/// The first-run form: sent by the page's script when it runs (the button is disabled while
/// it is under way), else as a plain form post.
#[island]
fn SetupForm() -> impl IntoView {
    let action = ServerAction::<SetupAdmin>::new();
    view! {
        <ActionForm action>
            <label for="setup-email">"Email"</label>
            <input id="setup-email" type="email" name="email" autocomplete="username" required/>
            <label for="setup-password">"Password"</label>
            <input id="setup-password" type="password" name="password" autocomplete="new-password" minlength="8" required/>
            <label for="setup-password-confirm">"Repeat the password"</label>
            <input id="setup-password-confirm" type="password" name="password_confirm" autocomplete="new-password" minlength="8" required/>
            <button type="submit" class="primary" disabled=move || action.pending().get()>"Create the admin account"</button>
        </ActionForm>
    }
}

#[component]
fn LoginPage() -> impl IntoView {
    let error = query_error();
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    view! {
        <Title text="Log in"/>
        <Centered>
            <h1>"Log in"</h1>
            <FormError error/>
            <LoginForm next/>
        </Centered>
    }
}

/// The login form (`next`: where to go once logged in), enhanced like the first-run form.
#[island]
fn LoginForm(next: String) -> impl IntoView {
    let action = ServerAction::<Login>::new();
    view! {
        <ActionForm action>
            <input type="hidden" name="next" value=next/>
            <label for="login-email">"Email"</label>
            <input id="login-email" type="email" name="email" autocomplete="username" required/>
            <label for="login-password">"Password"</label>
            <input id="login-password" type="password" name="password" autocomplete="current-password" required/>
            <button type="submit" class="primary" disabled=move || action.pending().get()>"Log in"</button>
        </ActionForm>
    }
}

/// Header and navigation around the logged-in pages.
#[component]
fn Layout(children: Children) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let me = Resource::new(|| (), |_| whoami());
    view! {
        <header class="topbar">
            <A href="/apps" attr:class="brand">
                <Logo/>
                "Hookrelay"
            </A>
            <nav>
                <A href="/apps">"Apps"</A>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().filter(|u| u.is_admin).map(|_| view! { <A href="/users">"Users"</A> })
                    })}
                </Suspense>
            </nav>
            <div class="spacer"></div>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().map(|u| view! { <span class="muted user-email">{u.email}</span> })
                })}
            </Suspense>
            <ActionForm action=logout attr:class="inline">
                <button type="submit" class="link">"Log out"</button>
            </ActionForm>
        </header>
        <main class="page">{children()}</main>
    }
}

#[component]
fn AppsPage() -> impl IntoView {
    let create = ServerAction::<CreateApp>::new();
    let apps = Resource::new(move || create.version().get(), |_| list_apps());
    let error = query_error();
    view! {
        <Title text="Apps"/>
        <Layout>
            <h1>"Apps"</h1>
            <p class="muted">"Each app sends its events to Hookrelay with its API key and secret, and has its own event hooks."</p>
            <section class="card">
                <h2>"Create an app"</h2>
                <FormError error/>
                <ActionForm action=create attr:class="row-form">
                    <label for="app-name" class="sr-only">"App name"</label>
                    <input id="app-name" name="name" placeholder="App name, e.g. Chat production" maxlength="100" required/>
                    <button type="submit" class="primary" disabled=move || create.pending().get()>"Create app"</button>
                </ActionForm>
            </section>
            <Suspense fallback=|| view! { <p class="muted">"Loading apps…"</p> }>
                {move || Suspend::new(async move {
                    match apps.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="empty">"No apps yet. Create the first one above."</p> }.into_any()
                        }
                        Ok(list) => {
                            view! {
                                <table class="list" aria-label="Apps">
                                    <thead>
                                        <tr><th>"Name"</th><th>"API key"</th><th>"Created"</th></tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|app| {
                                                view! {
                                                    <tr>
                                                        <td><A href=format!("/apps/{}", app.id)>{app.name}</A></td>
                                                        <td><code class="api-key">{app.api_key}</code></td>
                                                        <td class="muted">{format_millis(app.created_at)}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                            .into_any()
                        }
                        Err(e) => view! { <LoadError message=e.to_string()/> }.into_any(),
                    }
                })}
            </Suspense>
        </Layout>
    }
}

#[component]
fn LoadError(message: String) -> impl IntoView {
    // server function errors arrive as "error running server function: <message>"
    let message = message.rsplit(": ").next().unwrap_or_default().to_string();
    view! {
        <div class="form-error" role="alert">
            {message}
            " "
            <a href="/login">"Log in"</a>
        </div>
    }
}

#[component]
fn AppPage() -> impl IntoView {
    let query = use_query_map();
    let id = route_i64("id");
    let reveal = move || query.read().get("reveal").is_some();
    let detail = Resource::new(move || (id(), reveal()), |(id, reveal)| get_app(id, reveal));
    view! {
        <Layout>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(Some(detail)) => view! { <AppView detail/> }.into_any(),
                        Ok(None) => view! { <NoSuchApp/> }.into_any(),
                        Err(e) => view! { <LoadError message=e.to_string()/> }.into_any(),
                    }
                })}
            </Suspense>
        </Layout>
    }
}

/// An app that does not exist or that the user may not see: the same 404 for both.
#[component]
pub fn NoSuchApp() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found"/>
        <h1>"No such app"</h1>
        <p><A href="/apps">"Back to the apps"</A></p>
    }
}

/// The grace periods the Rotate form offers, as `(value, label)`.
const GRACE_PERIODS: [(&str, &str); 4] = [
    ("0s", "stops at once"),
    ("1h", "works 1 more hour"),
    ("24h", "works 24 more hours"),
    ("7d", "works 7 more days"),
];

#[component]
fn AppView(detail: AppDetail) -> impl IntoView {
    let AppDetail {
        app,
        api_secret,
        app_instance_arn,
    } = detail;
    let page = format!("/apps/{}", app.id);
    let rotate = ServerAction::<RotateSecret>::new();
    let query = use_query_map();
    let rotated = query.read_untracked().get("rotated").and_then(|g| {
        GRACE_PERIODS
            .iter()
            .find(|(v, _)| *v == g)
            .map(|(_, label)| *label)
    });
    view! {
        <Title text=app.name.clone()/>
        <nav class="crumbs"><A href="/apps">"Apps"</A>" / "{app.name.clone()}</nav>
        <h1>{app.name.clone()}</h1>
        <section class="card">
            <h2>"Credentials"</h2>
            <dl class="facts">
                <dt>"App id"</dt>
                <dd><code>{app.id.to_string()}</code></dd>
                <dt>"API key"</dt>
                <dd><code class="api-key" data-testid="api-key">{app.api_key.clone()}</code></dd>
                <dt>"AppInstance ARN"</dt>
                <dd><code data-testid="app-instance-arn">{app_instance_arn}</code>" "<span class="muted small">"(Chime SDK messaging: sign with the API key and secret)"</span></dd>
                <dt>"API secret"</dt>
                <dd>
                    {match api_secret {
                        Some(secret) => view! {
                            <code class="secret" data-testid="api-secret">{secret}</code>
                            " "
                            <a href=page.clone() class="button">"Hide"</a>
                        }
                        .into_any(),
                        None => view! {
                            <span class="masked">"••••••••••••"</span>
                            " "
                            <a href=format!("{page}?reveal=1") class="button">"Reveal secret"</a>
                        }
                        .into_any(),
                    }}
                </dd>
                <dt>"Created"</dt>
                <dd>{format_millis(app.created_at)}</dd>
            </dl>
            <p class="muted small">"Server SDKs sign their requests with the secret; keep it on your servers only."</p>
            {rotated.map(|label| view! {
                <p class="notice" role="status" data-testid="rotated">"The secret was rotated; the previous one " {label} "."</p>
            })}
            <ActionForm action=rotate attr:class="row-form">
                <input type="hidden" name="id" value=app.id.0.to_string()/>
                <label for="rotate-grace">"Rotate the secret; the old one"</label>
                <select id="rotate-grace" name="grace">
                    {GRACE_PERIODS.iter().map(|(value, label)| view! {
                        <option value=*value selected=*value == "24h">{*label}</option>
                    }).collect_view()}
                </select>
                <button type="submit">"Rotate secret"</button>
            </ActionForm>
        </section>
        <hooks::HooksSection app_id=app.id.0/>
        <events::RecentEventsSection app_id=app.id.0/>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found"/>
        <Centered>
            <h1>"Page not found"</h1>
            <p><a href="/apps">"Go to the apps"</a></p>
        </Centered>
    }
}
