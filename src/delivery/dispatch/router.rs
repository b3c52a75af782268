//! The router: groups incoming deliveries by app, looks up their hooks (again, when the copy
//! may be stale), records deliveries that cannot be sent (hook deleted, disabled or
//! misconfigured) and hands the others to one worker per hook, started on first use.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{done, Dispatcher, Routed};
use crate::delivery::registry::RuntimeHook;
use crate::domain::{AppId, Finish, HookId, Millis};

impl Dispatcher {
    pub(super) async fn route(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Vec<Routed>>) {
        type WorkerTx = mpsc::UnboundedSender<(Routed, Arc<RuntimeHook>)>;
        let mut workers: HashMap<(AppId, HookId), WorkerTx> = HashMap::new();
        while let Some(batch) = rx.recv().await {
            let mut refused = Vec::new();
            let mut by_app: Vec<(AppId, Vec<Routed>)> = Vec::new();
            for r in batch {
                match by_app.iter_mut().find(|(app, _)| *app == r.app_id) {
                    Some((_, list)) => list.push(r),
                    None => by_app.push((r.app_id, vec![r])),
                }
            }
            for (app_id, items) in by_app {
                let min_version = items.iter().map(|r| r.hooks_version).max().unwrap_or(0);
                let mut hooks = match self.registry.app(app_id, min_version, false).await {
                    Ok(hooks) => hooks,
                    Err(e) => {
                        tracing::error!(%app_id, error = %e, "cannot load the app's hooks; deliveries wait");
                        let later = Millis::now().plus(super::POSTPONE);
                        refused.extend(
                            items
                                .into_iter()
                                .map(|r| done(&r, Finish::Postpone { next_at: later })),
                        );
                        continue;
                    }
                };
                // a hook missing or disabled in a copy that may be stale: look again before
                // dropping anything
                let stale = items
                    .iter()
                    .any(|r| hooks.hooks.get(&r.hook_id).is_none_or(|h| !h.enabled));
                if stale {
                    match self.registry.app(app_id, min_version, true).await {
                        Ok(fresh) => hooks = fresh,
                        Err(e) => {
                            tracing::warn!(%app_id, error = %e, "cannot re-read the app's hooks")
                        }
                    }
                }
                for r in items {
                    let hook = hooks.hooks.get(&r.hook_id);
                    let finish = match hook {
                        None => Some(Finish::Dropped {
                            error: "the hook was deleted before the event was delivered".into(),
                        }),
                        Some(h) if !h.enabled => Some(Finish::Dropped {
                            error: "the hook was disabled before the event was delivered".into(),
                        }),
                        Some(h) => match &h.destination {
                            Err(reason) => Some(Finish::Failed {
                                error: reason.to_string(),
                            }),
                            Ok(_) => None,
                        },
                    };
                    if let Some(finish) = finish {
                        refused.push(done(&r, finish));
                        continue;
                    }
                    let hook = hook.expect("checked above").clone();
                    let key = (app_id, r.hook_id.clone());
                    let tx = workers
                        .entry(key.clone())
                        .or_insert_with(|| self.clone().spawn_worker(key.clone()));
                    if let Err(e) = tx.send((r, hook)) {
                        // the worker ended (it never should): start another
                        let tx = self.clone().spawn_worker(key.clone());
                        let _ = tx.send(e.0);
                        workers.insert(key, tx);
                    }
                }
            }
            if !refused.is_empty() {
                let _ = self.done_tx.send(refused);
            }
        }
    }

    fn spawn_worker(
        self: Arc<Self>,
        key: (AppId, HookId),
    ) -> mpsc::UnboundedSender<(Routed, Arc<RuntimeHook>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(self.worker(key, rx));
        tx
    }
}
