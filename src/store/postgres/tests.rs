//! The PostgreSQL backend against a real server, through the [`Store`] facade.
//!
//! Each test creates a database `hr_unit_<random>` on the server at `HOOKRELAY_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432`; its own database part is ignored, the
//! maintenance database `test` is used to create and drop), migrates it, runs, and drops it
//! (`WITH (FORCE)`), even when the test fails. An unreachable server fails the tests;
//! `HOOKRELAY_TEST_POSTGRES=off` skips them.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::{Connection, Executor, PgConnection};
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

use crate::domain::{
    AppId, DeliveryId, DeliveryStatus, Email, EventHook, Finish, HookId, HookType, LegacySecrets,
    LegacySettings, Millis, Outcome, Role, UserId,
};
use crate::dto::InputError;
use crate::secrets::MasterKey;
use crate::store::stats::{Backlog, STEP_MS};
use crate::store::{
    redact_url, AppName, HookRecord, Lease, ListFilter, NewDelivery, NewEvent, Store, StoreError,
};

const SERVER_ENV: &str = "HOOKRELAY_TEST_POSTGRES";
const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
/// The database connected to for creating and dropping the test databases.
const MAINTENANCE_DB: &str = "test";

/// A test database, created on the server and dropped by [`Scratch::remove`].
struct Scratch {
    admin: url::Url,
    name: String,
    url: String,
}

impl Scratch {
    /// `None` when the tests are turned off.
    async fn create() -> Option<Self> {
        let server = std::env::var(SERVER_ENV).unwrap_or_else(|_| DEFAULT_SERVER.to_string());
        if server.trim().eq_ignore_ascii_case("off") {
            eprintln!("{SERVER_ENV}=off: PostgreSQL backend test skipped");
            return None;
        }
        let mut admin = url::Url::parse(server.trim())
            .unwrap_or_else(|e| panic!("{SERVER_ENV}={server:?} is not a postgres:// URL: {e}"));
        admin.set_path(&format!("/{MAINTENANCE_DB}"));
        let name = format!("hr_unit_{}", uuid::Uuid::new_v4().simple());
        let mut url = admin.clone();
        url.set_path(&format!("/{name}"));
        let mut conn = admin_connection(&admin).await;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let _ = conn.close().await;
        Some(Self {
            admin,
            name,
            url: url.to_string(),
        })
    }

    async fn remove(self) {
        let mut conn = admin_connection(&self.admin).await;
        let dropped = conn
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await;
        let _ = conn.close().await;
        if let Err(e) = dropped {
            panic!("cannot drop the test database {}: {e}", self.name);
        }
    }
}

async fn admin_connection(admin: &url::Url) -> PgConnection {
    PgConnection::connect(admin.as_str())
        .await
        .unwrap_or_else(|e| {
            panic!(
            "PostgreSQL is not reachable at {} ({e}). Start it, point {SERVER_ENV} at a server \
             (postgres://USER@HOST:PORT, with a database {MAINTENANCE_DB:?}), or set \
             {SERVER_ENV}=off to skip the PostgreSQL tests.",
            redact_url(admin.as_str())
        )
        })
}

fn key() -> MasterKey {
    MasterKey::from_hex(&"ab".repeat(32)).unwrap()
}

/// Runs `check` on a store over a fresh database, then drops the database (also when `check`
/// panics, whose panic is then passed on).
async fn with_store<F, Fut>(check: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = Scratch::create().await else {
        return;
    };
    let store = match Store::connect(&db.url, key()).await {
        Ok(store) => store,
        Err(e) => {
            db.remove().await;
            panic!("Store::connect on a fresh PostgreSQL database: {e}");
        }
    };
    let result = tokio::spawn(check(store.clone())).await;
    store.close().await;
    db.remove().await;
    if let Err(e) = result {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

async fn new_app(store: &Store, name: &str) -> AppId {
    store
        .create_app(&AppName::parse(name).unwrap())
        .await
        .unwrap()
        .app
        .id
}

fn hook(id: &str, hook_type: HookType, enabled: bool) -> EventHook {
    EventHook {
        id: id.to_string(),
        hook_type: hook_type.as_str().to_string(),
        enabled,
        webhook_url: (hook_type == HookType::Webhook).then(|| format!("https://example.com/{id}")),
        sqs_queue_url: (hook_type == HookType::Sqs)
            .then(|| "https://sqs.eu-west-1.amazonaws.com/123456789012/q".to_string()),
        ..EventHook::default()
    }
}

fn record(hook: EventHook, credentials: Option<(&str, &str)>, at: Millis) -> HookRecord {
    HookRecord {
        hook_type: hook.hook_type.parse().unwrap(),
        hook,
        credentials: credentials.map(|(k, s)| (k.to_string(), s.to_string())),
        created_at: at,
        updated_at: Millis(at.0 + 1),
    }
}

/// Gives the app exactly these hooks.
async fn set_hooks(store: &Store, app: AppId, hooks: &[HookRecord]) {
    let mut change = store.change_hooks(app).await.unwrap();
    change.replace_hooks(hooks).await.unwrap();
    change.commit().await.unwrap();
}

fn event(id: &str) -> NewEvent<'_> {
    NewEvent {
        id,
        event_type: "message.new",
        cid: Some("messaging:general"),
        payload: r#"{"type":"message.new","message":{"text":"hi"}}"#,
        source: crate::domain::EventSource::Api,
    }
}

/// Stores events `ids` with one delivery each to `hook`, leased to `lease` if given, all
/// accepted and due at `now`; returns the deliveries in id order.
async fn ingest(
    store: &Store,
    app: AppId,
    hook: &HookId,
    ids: &[String],
    now: Millis,
    lease: Option<Lease<'_>>,
) -> Vec<DeliveryId> {
    let mut tx = store.begin_ingest().await.unwrap();
    let events: Vec<NewEvent> = ids.iter().map(|id| event(id)).collect();
    let fresh = tx.insert_events(app, now, &events).await.unwrap();
    let rows: Vec<NewDelivery> = fresh
        .iter()
        .map(|id| NewDelivery {
            app_id: app,
            hook_id: hook,
            hook_type: HookType::Webhook,
            event_id: id,
            event_type: "message.new",
            size: 47,
        })
        .collect();
    let created = tx.insert_deliveries(now, lease, &rows).await.unwrap();
    tx.commit().await.unwrap();
    let mut ids: Vec<DeliveryId> = created.into_iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn outcome(id: DeliveryId, accepted_at: Millis, finish: Finish, size: Option<i64>) -> Outcome {
    Outcome {
        id,
        hook_type: HookType::Webhook,
        accepted_at,
        finish,
        size,
    }
}

fn lease(owner: &str, until: Millis) -> Lease<'_> {
    Lease { owner, until }
}

#[tokio::test]
async fn apps_round_trip_with_their_secrets() {
    with_store(|store| async move {
        let created = store
            .create_app(&AppName::parse("Chat prod").unwrap())
            .await
            .unwrap();
        let app = created.app.clone();
        assert_eq!(app.api_key.len(), 12);
        assert_eq!(
            store.app_by_key(&app.api_key).await.unwrap(),
            Some(app.clone())
        );
        assert_eq!(store.app(app.id).await.unwrap(), Some(app.clone()));
        assert_eq!(
            store.app_secret(app.id).await.unwrap().expose_secret(),
            created.api_secret.expose_secret()
        );
        assert!(store.app_by_key("nope").await.unwrap().is_none());

        // names are unique whatever their case
        let taken = store
            .create_app(&AppName::parse("CHAT PROD").unwrap())
            .await;
        assert!(
            matches!(taken, Err(StoreError::Input(InputError::AppNameTaken))),
            "{:?}",
            taken.err()
        );
        new_app(&store, "alpha").await;
        new_app(&store, "Zulu").await;
        let listed: Vec<String> = store
            .apps()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(listed, ["alpha", "Chat prod", "Zulu"]);

        let with = store.app_with_settings(app.id).await.unwrap().unwrap();
        assert_eq!(with.app, app);
        assert_eq!(with.settings, LegacySettings::default());
        assert_eq!(with.hooks_version, 0);
        assert_eq!(store.hooks_version(app.id).await.unwrap(), Some(0));

        let missing = AppId(987_654);
        assert!(store.app(missing).await.unwrap().is_none());
        assert!(store.app_with_settings(missing).await.unwrap().is_none());
        assert_eq!(store.hooks_version(missing).await.unwrap(), None);
        assert!(matches!(
            store.app_secret(missing).await,
            Err(StoreError::NotFound)
        ));
        store.ping().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn users_and_the_one_first_user() {
    with_store(|store| async move {
        assert_eq!(store.user_count().await.unwrap(), 0);
        let (a, b) = (
            Email::parse("A@example.com").unwrap(),
            Email::parse("b@example.com").unwrap(),
        );
        // two first-run forms at once: one wins
        let (s1, s2) = (store.clone(), store.clone());
        let (a2, b2) = (a.clone(), b.clone());
        let (r1, r2) = tokio::join!(
            tokio::spawn(async move { s1.create_first_user(&a2, "hash-a").await }),
            tokio::spawn(async move { s2.create_first_user(&b2, "hash-b").await }),
        );
        let results = [r1.unwrap(), r2.unwrap()];
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        assert!(results
            .iter()
            .any(|r| matches!(r, Err(StoreError::Input(InputError::AdminExists)))));
        assert_eq!(store.user_count().await.unwrap(), 1);
        let first = results.into_iter().find_map(Result::ok).unwrap();
        let row = store.user(first).await.unwrap().unwrap();
        assert_eq!(row.id, first);
        assert!(row.email == a.as_str() || row.email == b.as_str());

        let other = if row.email == a.as_str() { &b } else { &a };
        let id = store
            .create_user(other, "hash-2", Role::Member, &[])
            .await
            .unwrap();
        assert_ne!(id, first);
        assert!(matches!(
            store.create_user(other, "again", Role::Admin, &[]).await,
            Err(StoreError::Input(InputError::EmailTaken))
        ));
        let found = store.user_by_email(other).await.unwrap().unwrap();
        assert_eq!((found.id, found.password_hash.as_str()), (id, "hash-2"));
        assert!(store.user(UserId(999_999)).await.unwrap().is_none());
        assert_eq!(store.user_count().await.unwrap(), 2);
        assert_eq!(row.role, Role::Admin, "the first user administers");
        assert_eq!(found.role, Role::Member);
        // members get apps; an unknown app is refused; the last admin stays
        let app = store
            .create_app(&crate::store::AppName::parse("Granted").unwrap())
            .await
            .unwrap()
            .app;
        store.set_access(id, Role::Member, &[app.id]).await.unwrap();
        assert_eq!(store.user_apps(id).await.unwrap(), vec![app.id]);
        assert!(matches!(
            store.set_access(id, Role::Member, &[AppId(999_999)]).await,
            Err(StoreError::Input(InputError::UnknownApp))
        ));
        assert!(matches!(
            store.delete_user(first).await,
            Err(StoreError::Input(InputError::LastAdmin))
        ));
        store.delete_app(app.id).await.unwrap();
        assert!(store.user_apps(id).await.unwrap().is_empty());
        store.delete_user(id).await.unwrap();
        assert_eq!(store.user_count().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_hook_change_is_read_back() {
    with_store(|store| async move {
        let app = new_app(&store, "Hooks").await;
        let at = Millis(1_795_392_000_000);
        let mut change = store.change_hooks(app).await.unwrap();
        assert_eq!(change.settings().await.unwrap(), LegacySettings::default());
        assert!(change.hooks().await.unwrap().is_empty());
        let settings = LegacySettings {
            webhook_url: "https://example.com/legacy".to_string(),
            webhook_events: vec!["message.new".to_string()],
            secrets: LegacySecrets {
                sqs_key: "AKIA123".to_string(),
                sqs_secret: "shh".to_string(),
                ..LegacySecrets::default()
            },
            ..LegacySettings::default()
        };
        change.write_settings(&settings).await.unwrap();
        let records = vec![
            record(hook("h1", HookType::Webhook, true), None, at),
            record(
                hook("h2", HookType::Sqs, false),
                Some(("AKIA456", "secret")),
                at,
            ),
        ];
        change.replace_hooks(&records).await.unwrap();
        // the change sees itself
        assert_eq!(change.hooks().await.unwrap().len(), 2);
        assert_eq!(change.settings().await.unwrap(), settings);
        change.commit().await.unwrap();

        let stored = store.hooks(app).await.unwrap();
        let ids: Vec<&str> = stored.iter().map(|h| h.hook.id.as_str()).collect();
        assert_eq!(ids, ["h1", "h2"]);
        for (s, r) in stored.iter().zip(&records) {
            let mut expected = r.hook.clone();
            expected.created_at = Some(crate::store::rfc3339(r.created_at));
            expected.updated_at = Some(crate::store::rfc3339(r.updated_at));
            assert_eq!(s.hook, expected);
            assert_eq!(s.credentials, r.credentials);
        }
        assert!(stored[0].hook.enabled && !stored[1].hook.enabled);
        assert_eq!(store.legacy_settings(app).await.unwrap(), settings);
        assert_eq!(store.hooks_version(app).await.unwrap(), Some(1));

        // a change not committed writes nothing
        let mut change = store.change_hooks(app).await.unwrap();
        change.replace_hooks(&[]).await.unwrap();
        drop(change);
        assert_eq!(store.hooks(app).await.unwrap().len(), 2);
        assert_eq!(store.hooks_version(app).await.unwrap(), Some(1));

        // a second change replaces every hook
        set_hooks(
            &store,
            app,
            &[record(hook("h3", HookType::Webhook, true), None, at)],
        )
        .await;
        let stored = store.hooks(app).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].hook.id, "h3");
        assert_eq!(store.hooks_version(app).await.unwrap(), Some(2));

        assert!(matches!(
            store.change_hooks(AppId(987_654)).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.legacy_settings(AppId(987_654)).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn an_ingest_commit_stores_new_events_and_their_leased_deliveries() {
    with_store(|store| async move {
        let app = new_app(&store, "Ingest").await;
        let at = Millis(1_795_392_000_000);
        set_hooks(
            &store,
            app,
            &[record(hook("h1", HookType::Webhook, true), None, at)],
        )
        .await;
        let h1 = HookId::from("h1");
        let now = Millis::now();
        let until = Millis(now.0 + 60_000);

        let mut tx = store.begin_ingest().await.unwrap();
        let mut first = tx
            .insert_events(app, now, &[event("e1"), event("e2")])
            .await
            .unwrap();
        first.sort();
        assert_eq!(first, ["e1", "e2"]);
        let second = tx
            .insert_events(app, now, &[event("e2"), event("e3"), event("e3")])
            .await
            .unwrap();
        assert_eq!(second, ["e3"]);
        let versions = tx.hooks_versions(&[app, AppId(987_654)]).await.unwrap();
        assert_eq!(versions, HashMap::from([(app, 1)]));
        let configs = tx.hook_configs(app).await.unwrap();
        assert_eq!(configs.len(), 1);
        assert_eq!(configs[0].id, "h1");
        let events = ["e1", "e2", "e3"];
        let rows: Vec<NewDelivery> = events
            .iter()
            .map(|e| NewDelivery {
                app_id: app,
                hook_id: &h1,
                hook_type: HookType::Webhook,
                event_id: e,
                event_type: "message.new",
                size: 47,
            })
            .collect();
        let created = tx
            .insert_deliveries(now, Some(lease("me", until)), &rows)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(created.len(), 3);
        let mut by_event: Vec<(&str, &str, AppId)> = created
            .iter()
            .map(|c| (c.event_id.as_str(), c.hook_id.as_str(), c.app_id))
            .collect();
        by_event.sort();
        assert_eq!(
            by_event,
            [("e1", "h1", app), ("e2", "h1", app), ("e3", "h1", app)]
        );

        // leased to "me": nobody else claims them before the lease runs out
        let other = lease("other", Millis(now.0 + 120_000));
        assert!(store.claim(other, now, 10).await.unwrap().is_empty());
        let claimed = store.claim(other, Millis(until.0 + 1), 10).await.unwrap();
        assert_eq!(claimed.len(), 3);
        assert!(claimed.windows(2).all(|w| w[0].id < w[1].id));
        let c = &claimed[0];
        assert_eq!(
            (
                c.app_id,
                c.hook_id.as_str(),
                c.hook_type,
                c.event_type.as_str(),
                c.attempts,
                c.accepted_at
            ),
            (app, "h1", HookType::Webhook, "message.new", 0, now)
        );

        let stored = store.events(app, &["e1", "e3", "nope"]).await.unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(stored["e1"].cid.as_deref(), Some("messaging:general"));
        assert_eq!(stored["e3"].payload, event("e3").payload);
        assert!(store
            .events(AppId(987_654), &["e1"])
            .await
            .unwrap()
            .is_empty());

        // dropped without a commit: nothing stored
        let mut tx = store.begin_ingest().await.unwrap();
        tx.insert_events(app, now, &[event("e9")]).await.unwrap();
        drop(tx);
        assert!(store.events(app, &["e9"]).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_hook_change_waits_for_an_ingest_commit_that_read_the_version() {
    with_store(|store| async move {
        let app = new_app(&store, "Versions").await;
        let now = Millis::now();
        let mut tx = store.begin_ingest().await.unwrap();
        tx.insert_events(app, now, &[event("e1")]).await.unwrap();
        assert_eq!(tx.hooks_versions(&[app]).await.unwrap()[&app], 0);
        let s = store.clone();
        let change = tokio::spawn(async move { set_hooks(&s, app, &[]).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !change.is_finished(),
            "the hook change committed under an ingest commit that read the old version"
        );
        tx.commit().await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), change)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.hooks_version(app).await.unwrap(), Some(1));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_take_the_same_delivery() {
    with_store(|store| async move {
        let app = new_app(&store, "Claims").await;
        let h1 = HookId::from("h1");
        let now = Millis::now();
        let ids = ingest(&store, app, &h1, &names("e", 200), now, None).await;
        assert_eq!(ids.len(), 200);
        assert_eq!(
            store.next_due_after(Millis(now.0 - 1)).await.unwrap(),
            Some(now)
        );

        let start = Arc::new(tokio::sync::Barrier::new(2));
        let claimer = |owner: &'static str| {
            let store = store.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let mut got = Vec::new();
                loop {
                    let batch = store
                        .claim(lease(owner, Millis(now.0 + 60_000)), now, 25)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return got;
                    }
                    got.extend(batch.into_iter().map(|c| c.id));
                }
            })
        };
        let (a, b) = (claimer("a"), claimer("b"));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let a_ids: HashSet<DeliveryId> = a.iter().copied().collect();
        let b_ids: HashSet<DeliveryId> = b.iter().copied().collect();
        assert_eq!(a_ids.len(), a.len(), "owner a was given a delivery twice");
        assert_eq!(b_ids.len(), b.len(), "owner b was given a delivery twice");
        assert!(
            a_ids.is_disjoint(&b_ids),
            "both owners claimed {:?}",
            a_ids.intersection(&b_ids).collect::<Vec<_>>()
        );
        assert_eq!(a.len() + b.len(), 200);
        let all: HashSet<DeliveryId> = a_ids.union(&b_ids).copied().collect();
        assert_eq!(all, ids.iter().copied().collect());
    })
    .await;
}

#[tokio::test]
async fn outcomes_are_recorded_for_the_owner_only() {
    with_store(|store| async move {
        let app = new_app(&store, "Outcomes").await;
        let h1 = HookId::from("h1");
        let now = Millis::now();
        let d = ingest(&store, app, &h1, &names("e", 6), now, None).await;
        // d0..d4 leased to "a"; d5 to "stale", whose lease runs out and "b" takes it over
        assert_eq!(
            store
                .claim(lease("a", Millis(now.0 + 60_000)), now, 5)
                .await
                .unwrap()
                .len(),
            5
        );
        let stale = store
            .claim(lease("stale", Millis(now.0 + 1)), now, 10)
            .await
            .unwrap();
        assert_eq!(stale.iter().map(|c| c.id).collect::<Vec<_>>(), [d[5]]);
        let taken = store
            .claim(lease("b", Millis(now.0 + 200_000)), Millis(now.0 + 2), 10)
            .await
            .unwrap();
        assert_eq!(taken.iter().map(|c| c.id).collect::<Vec<_>>(), [d[5]]);

        let t = Millis(now.0 + 5);
        let outcomes = [
            outcome(d[0], now, Finish::Delivered, None),
            outcome(
                d[1],
                now,
                Finish::Retry {
                    next_at: Millis(now.0 + 30_000),
                    error: "503 Service Unavailable".to_string(),
                },
                None,
            ),
            outcome(
                d[2],
                now,
                Finish::Failed {
                    error: "410 Gone".to_string(),
                },
                Some(2048),
            ),
            outcome(
                d[3],
                now,
                Finish::Dropped {
                    error: "too big".to_string(),
                },
                Some(300_000),
            ),
            outcome(
                d[4],
                now,
                Finish::Postpone {
                    next_at: Millis(now.0 + 10_000),
                },
                None,
            ),
        ];
        store.complete("a", t, &outcomes).await.unwrap();
        // "stale" lost its lease: its outcome is ignored
        store
            .complete(
                "stale",
                t,
                &[outcome(
                    d[5],
                    now,
                    Finish::Failed {
                        error: "late".to_string(),
                    },
                    None,
                )],
            )
            .await
            .unwrap();
        store.complete("a", t, &[]).await.unwrap();

        let list = |status: Option<DeliveryStatus>| {
            let store = store.clone();
            async move {
                let filter = ListFilter {
                    status,
                    limit: 100,
                    ..ListFilter::default()
                };
                store.deliveries(app, &filter).await.unwrap()
            }
        };
        let delivered = list(Some(DeliveryStatus::Delivered)).await;
        assert_eq!(delivered.len(), 1);
        let r = &delivered[0];
        assert_eq!(
            (
                r.id,
                r.attempts,
                r.done_at,
                r.latency_ms,
                r.last_error.as_deref()
            ),
            (d[0], 1, Some(t), Some(5), None)
        );
        assert_eq!(r.payload_preview.as_deref(), Some(event("e0").payload));
        assert_eq!((r.hook_id.as_str(), r.event_id.as_str()), ("h1", "e0"));
        assert_eq!((r.hook_type, r.size), (HookType::Webhook, Some(47)));

        let retrying = list(Some(DeliveryStatus::Retrying)).await;
        assert_eq!(retrying.len(), 1);
        let r = &retrying[0];
        assert_eq!(
            (
                r.id,
                r.status,
                r.attempts,
                r.next_at,
                r.last_error.as_deref(),
                r.done_at
            ),
            (
                d[1],
                DeliveryStatus::Retrying,
                1,
                Millis(now.0 + 30_000),
                Some("503 Service Unavailable"),
                None
            )
        );

        let failed = list(Some(DeliveryStatus::Failed)).await;
        assert_eq!(failed.len(), 1);
        let r = &failed[0];
        assert_eq!(
            (r.id, r.attempts, r.done_at, r.size, r.last_error.as_deref()),
            (d[2], 1, Some(t), Some(2048), Some("410 Gone"))
        );

        let dropped = list(Some(DeliveryStatus::Dropped)).await;
        assert_eq!(dropped.len(), 1);
        let r = &dropped[0];
        assert_eq!(
            (r.id, r.attempts, r.done_at, r.size, r.last_error.as_deref()),
            (d[3], 0, Some(t), Some(300_000), Some("too big"))
        );

        let pending = list(Some(DeliveryStatus::Pending)).await;
        let pending: Vec<(DeliveryId, i64, Millis)> = pending
            .iter()
            .map(|r| (r.id, r.attempts, r.next_at))
            .collect();
        // newest first; the postponed one used no attempt; the stale owner changed nothing
        assert_eq!(pending, [(d[5], 0, now), (d[4], 0, Millis(now.0 + 10_000))]);

        let all = list(None).await;
        assert_eq!(
            all.iter().map(|r| r.id).collect::<Vec<_>>(),
            d.iter().rev().copied().collect::<Vec<_>>()
        );
        let page = store
            .deliveries(
                app,
                &ListFilter {
                    before: Some(d[3]),
                    limit: 2,
                    ..ListFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), [d[2], d[1]]);
        let by_event = store
            .deliveries(
                app,
                &ListFilter {
                    event_id: Some("e4".to_string()),
                    hook_id: Some(h1.clone()),
                    limit: 10,
                    ..ListFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(by_event.iter().map(|r| r.id).collect::<Vec<_>>(), [d[4]]);

        // health: one step with 1 delivered, 2 failed (failed + dropped), 3 pending
        let health = store.hook_health(app, t, 12).await.unwrap();
        assert_eq!(health.len(), 1);
        let h = &health[0];
        assert_eq!(
            (
                h.hook_id.as_str(),
                h.delivered,
                h.failed,
                h.pending,
                h.last_success
            ),
            ("h1", 1, 2, 3, Some(t))
        );
        assert_eq!(h.last_error.as_deref(), Some("too big"));
        assert_eq!(h.steps.len(), 12);
        assert_eq!(h.steps[11], (1, 2));

        assert_eq!(
            store.next_due_after(now).await.unwrap(),
            Some(Millis(now.0 + 10_000))
        );
        assert_eq!(
            store.backlog().await.unwrap(),
            [Backlog {
                app_id: app,
                pending: 3
            }]
        );

        // more outcomes in the same step add to it
        let again = store
            .claim(
                lease("a", Millis(now.0 + 100_000)),
                Millis(now.0 + 30_000),
                10,
            )
            .await
            .unwrap();
        assert_eq!(
            again.iter().map(|c| (c.id, c.attempts)).collect::<Vec<_>>(),
            [(d[1], 1), (d[4], 0)]
        );
        store
            .complete(
                "a",
                t,
                &[
                    outcome(d[1], now, Finish::Delivered, None),
                    outcome(
                        d[4],
                        now,
                        Finish::Failed {
                            error: "newest".to_string(),
                        },
                        None,
                    ),
                ],
            )
            .await
            .unwrap();
        let h = &store.hook_health(app, t, 12).await.unwrap()[0];
        assert_eq!((h.delivered, h.failed, h.pending), (2, 3, 1));
        assert_eq!(h.last_error.as_deref(), Some("newest"));
        assert_eq!(h.steps[11], (2, 3));

        // leases: renewed and released for their owner only
        let renew = lease("b", Millis(now.0 + 500_000));
        assert_eq!(
            store.renew(renew, Millis(now.0 + 300_000)).await.unwrap(),
            1
        );
        assert_eq!(
            store.renew(renew, Millis(now.0 + 300_000)).await.unwrap(),
            0
        );
        assert_eq!(store.release("nobody").await.unwrap(), 0);
        assert_eq!(store.release("b").await.unwrap(), 1);
        let free = store
            .claim(lease("c", Millis(now.0 + 60_000)), now, 10)
            .await
            .unwrap();
        assert_eq!(free.iter().map(|c| c.id).collect::<Vec<_>>(), [d[5]]);

        // redelivery: finished ones only, of this app only
        assert_eq!(
            store
                .redeliver_ids(AppId(987_654), &[d[0]], now)
                .await
                .unwrap(),
            0
        );
        let t2 = Millis(now.0 + 40_000);
        assert_eq!(
            store
                .redeliver_ids(app, &[d[0], d[2], d[5]], t2)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            store
                .redeliver_range(app, &h1, Millis(now.0 - 1), Millis(now.0 + 1), t2)
                .await
                .unwrap(),
            2 // d3 dropped, d4 failed
        );
        let pending = list(Some(DeliveryStatus::Pending)).await;
        let mut redelivered: Vec<(DeliveryId, i64, Millis, Option<Millis>)> = pending
            .iter()
            .filter(|r| r.id != d[5])
            .map(|r| (r.id, r.attempts, r.next_at, r.done_at))
            .collect();
        redelivered.sort();
        assert_eq!(
            redelivered,
            [d[0], d[2], d[3], d[4]].map(|id| (id, 0, t2, None))
        );
    })
    .await;
}

#[tokio::test]
async fn prune_deletes_old_finished_deliveries_and_their_events_in_batches() {
    with_store(|store| async move {
        let app = new_app(&store, "Prune").await;
        let h1 = HookId::from("h1");
        let now = Millis::now();
        // more than one batch of finished deliveries
        let n = super::BATCH + 100;
        let owner = lease("a", Millis(now.0 + 60_000));
        let done = ingest(&store, app, &h1, &names("old", n), now, Some(owner)).await;
        let outcomes: Vec<Outcome> = done
            .iter()
            .map(|id| outcome(*id, now, Finish::Delivered, None))
            .collect();
        store.complete("a", now, &outcomes).await.unwrap();
        // a pending delivery and its event stay; an event without deliveries goes
        let keep = ingest(&store, app, &h1, &["keep".to_string()], now, None).await;
        let mut tx = store.begin_ingest().await.unwrap();
        tx.insert_events(app, now, &[event("orphan")])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let h = &store.hook_health(app, now, 1).await.unwrap()[0];
        assert_eq!((h.delivered, h.pending), (n as i64, 1));

        // nothing done before `now`: nothing to delete
        assert_eq!(
            store.prune(now).await.unwrap(),
            crate::store::retention::Pruned::default()
        );

        let before = Millis(now.0 + 2 * STEP_MS);
        let pruned = store.prune(before).await.unwrap();
        assert_eq!(pruned.deliveries, n as u64);
        assert_eq!(pruned.events, n as u64 + 1);
        let left = store
            .deliveries(
                app,
                &ListFilter {
                    limit: 10,
                    ..ListFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(left.iter().map(|r| r.id).collect::<Vec<_>>(), keep);
        let events = store
            .events(app, &["keep", "orphan", "old0"])
            .await
            .unwrap();
        assert_eq!(events.keys().collect::<Vec<_>>(), ["keep"]);
        // the health steps before it went too: only the pending count is left
        let h = &store.hook_health(app, now, 1).await.unwrap()[0];
        assert_eq!((h.delivered, h.failed, h.pending), (0, 0, 1));

        assert_eq!(
            store.prune(before).await.unwrap(),
            crate::store::retention::Pruned::default()
        );
    })
    .await;
}

#[tokio::test]
async fn sessions_round_trip() {
    with_store(|store| async move {
        let sessions = store.session_store(Duration::ZERO).await.unwrap();
        // a second process (or restart) finds the table there
        let again = store.session_store(Duration::from_secs(60)).await.unwrap();
        let mut data = HashMap::new();
        data.insert("user".to_string(), serde_json::json!(7));
        let mut r = Record {
            id: Id::default(),
            data,
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(10),
        };
        sessions.create(&mut r).await.unwrap();
        assert_eq!(sessions.load(&r.id).await.unwrap(), Some(r.clone()));
        assert_eq!(again.load(&r.id).await.unwrap(), Some(r.clone()));

        r.data
            .insert("csrf".to_string(), serde_json::json!("token"));
        sessions.save(&r).await.unwrap();
        assert_eq!(sessions.load(&r.id).await.unwrap(), Some(r.clone()));

        let mut expired = Record {
            id: Id::default(),
            data: HashMap::new(),
            expiry_date: time::OffsetDateTime::now_utc() - time::Duration::minutes(1),
        };
        sessions.create(&mut expired).await.unwrap();
        assert_eq!(sessions.load(&expired.id).await.unwrap(), None);

        sessions.delete(&r.id).await.unwrap();
        assert_eq!(sessions.load(&r.id).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn a_group_commit_stores_every_request_in_one_statement_and_the_first_sender_wins() {
    with_store(|store| async move {
        let a = new_app(&store, "Group A").await;
        let b = new_app(&store, "Group B").await;
        let now = Millis::now();
        let mut tx = store.begin_ingest().await.unwrap();
        let groups = vec![
            (a, vec![event("x1"), event("x2")]),
            (b, vec![event("x1")]),
            // a second request of app a resending x2, and a new one
            (a, vec![event("x2"), event("x3")]),
        ];
        let fresh = tx.insert_event_groups(now, &groups).await.unwrap();
        assert_eq!(fresh, vec![vec!["x1", "x2"], vec!["x1"], vec!["x3"]]);
        tx.commit().await.unwrap();
        // already stored: nothing is new the second time
        let mut tx = store.begin_ingest().await.unwrap();
        let again = tx.insert_event_groups(now, &groups).await.unwrap();
        assert!(again.iter().all(Vec::is_empty), "{again:?}");
    })
    .await;
}
