//! The users page (administrators only): who may log in, as what, and which apps members see.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use super::{query_error, FormError, Layout, LoadError};

/// A user as the users page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
    /// The apps a member sees, as `(id, name)`.
    pub apps: Vec<(i64, String)>,
}

/// The users and every app (to give to members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersView {
    pub users: Vec<UserView>,
    pub apps: Vec<(i64, String)>,
}

#[cfg(feature = "ssr")]
mod ssr {
    use leptos::prelude::ServerFnError;

    use crate::domain::AppId;
    use crate::dto::InputError;
    use crate::server::AppState;
    use crate::ui::server_fns::ssr::{redirect_error, require_user};

    /// The logged-in administrator's state, or a redirect done.
    pub async fn require_admin() -> Option<AppState> {
        match require_user().await {
            Ok((state, viewer)) if viewer.is_admin() => Some(state),
            Ok(_) => {
                redirect_error("/apps", InputError::Forbidden);
                None
            }
            Err(_) => {
                redirect_error("/login", InputError::NotLoggedIn);
                None
            }
        }
    }

    /// `1, 2,3` as app ids (anything else is an unknown app).
    pub fn app_ids(raw: &str) -> Result<Vec<AppId>, InputError> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map(AppId).map_err(|_| InputError::UnknownApp))
            .collect()
    }

    /// The role a form names: `admin`, else the least, `member`.
    pub fn role_of(raw: &str) -> crate::domain::Role {
        raw.parse().unwrap_or(crate::domain::Role::Member)
    }

    pub fn internal(e: impl std::fmt::Display) -> ServerFnError {
        crate::ui::server_fns::ssr::internal(e)
    }
}

#[server(prefix = "/_sfn", endpoint = "users")]
pub async fn list_users() -> Result<UsersView, ServerFnError> {
    use crate::domain::Role;
    let (state, viewer) = crate::ui::server_fns::ssr::require_user().await?;
    if !viewer.is_admin() {
        return Err(ServerFnError::new(
            crate::dto::InputError::Forbidden.to_string(),
        ));
    }
    let apps: Vec<(i64, String)> = state
        .db
        .apps()
        .await
        .map_err(ssr::internal)?
        .into_iter()
        .map(|a| (a.id.0, a.name))
        .collect();
    let mut users = Vec::new();
    for user in state.db.users().await.map_err(ssr::internal)? {
        let given = state.db.user_apps(user.id).await.map_err(ssr::internal)?;
        users.push(UserView {
            id: user.id.0,
            email: user.email,
            is_admin: user.role == Role::Admin,
            apps: apps
                .iter()
                .filter(|(id, _)| given.contains(&crate::domain::AppId(*id)))
                .cloned()
                .collect(),
        });
    }
    Ok(UsersView { users, apps })
}

/// Creates a user: an administrator, or a member who sees the apps listed (ids, comma-separated).
#[server(prefix = "/_sfn", endpoint = "user_create")]
pub async fn create_user(
    email: String,
    password: String,
    role: String,
    apps: String,
) -> Result<(), ServerFnError> {
    use crate::auth::{Email, NewPassword};
    use crate::dto::InputError;
    use crate::ui::server_fns::ssr::{input_error, redirect_error};

    let Some(state) = ssr::require_admin().await else {
        return Ok(());
    };
    let parsed = Email::parse(&email)
        .map_err(InputError::from)
        .and_then(|e| Ok((e, NewPassword::parse(&password)?, ssr::app_ids(&apps)?)));
    let (email, password, apps) = match parsed {
        Ok(v) => v,
        Err(e) => {
            redirect_error("/users", e);
            return Ok(());
        }
    };
    let role = ssr::role_of(&role);
    let Ok(hash) = state.login.hash(move || password.hash()).await else {
        redirect_error("/users", InputError::RateLimited);
        return Ok(());
    };
    match state.db.create_user(&email, &hash, role, &apps).await {
        Ok(id) => {
            tracing::info!(user = %email.as_str(), id = %id, %role, "user created");
            leptos_axum::redirect("/users");
        }
        Err(e) => redirect_error("/users", input_error(e)),
    }
    Ok(())
}

/// Sets a user's role and apps (ids, comma-separated).
#[server(prefix = "/_sfn", endpoint = "user_access")]
pub async fn set_user_access(id: i64, role: String, apps: String) -> Result<(), ServerFnError> {
    use crate::domain::UserId;
    use crate::ui::server_fns::ssr::{input_error, redirect_error};

    let Some(state) = ssr::require_admin().await else {
        return Ok(());
    };
    let apps = match ssr::app_ids(&apps) {
        Ok(a) => a,
        Err(e) => {
            redirect_error("/users", e);
            return Ok(());
        }
    };
    let role = ssr::role_of(&role);
    match state.db.set_access(UserId(id), role, &apps).await {
        Ok(()) => {
            state.users.forget(UserId(id));
            tracing::info!(user = id, %role, "user access changed");
            leptos_axum::redirect("/users");
        }
        Err(e) => redirect_error("/users", input_error(e)),
    }
    Ok(())
}

#[server(prefix = "/_sfn", endpoint = "user_delete")]
pub async fn delete_user(id: i64) -> Result<(), ServerFnError> {
    use crate::domain::UserId;
    use crate::ui::server_fns::ssr::{input_error, redirect_error};

    let Some(state) = ssr::require_admin().await else {
        return Ok(());
    };
    match state.db.delete_user(UserId(id)).await {
        Ok(()) => {
            state.users.forget(UserId(id));
            tracing::info!(user = id, "user deleted");
            leptos_axum::redirect("/users");
        }
        Err(e) => redirect_error("/users", input_error(e)),
    }
    Ok(())
}

fn ids(apps: &[(i64, String)]) -> String {
    apps.iter()
        .map(|(id, _)| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    let error = query_error();
    view! {
        <Title text="Users"/>
        <Layout>
            <h1>"Users"</h1>
            <p class="muted">"Administrators see every app and manage the users; members see and change only the apps given to them."</p>
            <FormError error/>
            <Suspense fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(view) => view! { <UsersList view/> }.into_any(),
                        Err(e) => view! { <LoadError message=e.to_string()/> }.into_any(),
                    }
                })}
            </Suspense>
        </Layout>
    }
}

#[component]
fn UsersList(view: UsersView) -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let all_apps = view
        .apps
        .iter()
        .map(|(id, name)| format!("{id} = {name}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <table class="list" aria-label="Users">
            <thead>
                <tr><th>"Email"</th><th>"Role and apps"</th><th></th></tr>
            </thead>
            <tbody>
                {view
                    .users
                    .into_iter()
                    .map(|u| {
                        let access = ServerAction::<SetUserAccess>::new();
                        let delete = ServerAction::<DeleteUser>::new();
                        let role = if u.is_admin { "admin" } else { "member" };
                        view! {
                            <tr data-testid="user-row">
                                <td>{u.email.clone()}</td>
                                <td>
                                    <ActionForm action=access attr:class="row-form">
                                        <input type="hidden" name="id" value=u.id.to_string()/>
                                        <select name="role" aria-label=format!("Role of {}", u.email)>
                                            <option value="admin" selected=u.is_admin>"Administrator"</option>
                                            <option value="member" selected=!u.is_admin>"Member"</option>
                                        </select>
                                        <input name="apps" value=ids(&u.apps) placeholder="app ids, e.g. 1,3" aria-label=format!("Apps of {}", u.email)/>
                                        <button type="submit">"Save"</button>
                                    </ActionForm>
                                    <span class="muted small">{role}</span>
                                </td>
                                <td>
                                    <ActionForm action=delete attr:class="inline">
                                        <input type="hidden" name="id" value=u.id.to_string()/>
                                        <button type="submit" class="danger">"Delete"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <section class="card">
            <h2>"Add a user"</h2>
            <p class="muted small">"Apps: " {all_apps}</p>
            <ActionForm action=create>
                <label for="user-email">"Email"</label>
                <input id="user-email" type="email" name="email" required/>
                <label for="user-password">"Password"</label>
                <input id="user-password" type="password" name="password" autocomplete="new-password" minlength="8" required/>
                <label for="user-role">"Role"</label>
                <select id="user-role" name="role">
                    <option value="member">"Member"</option>
                    <option value="admin">"Administrator"</option>
                </select>
                <label for="user-apps">"App ids (members; comma-separated)"</label>
                <input id="user-apps" name="apps" placeholder="e.g. 1,3"/>
                <button type="submit" class="primary">"Add user"</button>
            </ActionForm>
        </section>
    }
}
