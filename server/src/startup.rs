//! Building and running the application: used by `main` and by the integration tests.

use std::{future::Future, net::SocketAddr, sync::Arc};

use leptos::prelude::LeptosOptions;
use tokio::{
    net::TcpListener,
    sync::{Notify, watch},
};

use crate::{
    auth::{Auth, AuthSetupError, refresh::refresh_groups_periodically},
    config::{ConfigError, Settings},
    demo,
    http::{AppState, LiveViews, StreamSlots, build_router, metrics::HttpMetrics},
    iac::IacRepo,
    portal::{PortalService, Replanner, RequestPolicy},
    store::{Backend, NewCluster, NewTeam, Store, StoreError},
    worker::{Worker, WorkerMetrics, listen_for_jobs},
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Auth(#[from] AuthSetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: Store,
    /// The embedded worker, unless `worker.embedded = false`.
    worker: Option<Worker>,
    /// Set when shutdown begins: the worker and open event streams end on it.
    stop: watch::Sender<bool>,
    /// Set at the shutdown signal, `drain` before `stop`.
    draining: watch::Sender<bool>,
    drain: std::time::Duration,
}

impl Application {
    /// Checks the settings, opens (and migrates) the database, loads the demo catalog when
    /// asked, and binds.
    pub async fn build(settings: &Settings, load_demo: bool) -> Result<Self, StartupError> {
        let mut settings = settings.clone();
        if load_demo {
            demo::apply_demo_settings(&mut settings);
        }
        settings.validate_for_serve()?;
        let store = Store::open_with(&settings.database_url(), settings.store_options()).await?;
        if load_demo && demo::load(&store).await? {
            tracing::info!("loaded the demo catalog");
        }
        Self::with_store(&settings, store).await
    }

    pub async fn with_store(settings: &Settings, store: Store) -> Result<Self, StartupError> {
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        Self::on_listener(settings, store, listener).await
    }

    /// Serves on a listener bound beforehand (tests bind first to learn the port).
    pub async fn on_listener(
        settings: &Settings,
        store: Store,
        listener: TcpListener,
    ) -> Result<Self, StartupError> {
        settings.validate_for_serve()?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.listen,
            source,
        })?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        store.sync_teams(&configured_teams(settings)).await?;
        let clusters: Vec<NewCluster> = settings
            .clusters
            .iter()
            .map(|c| NewCluster {
                name: c.name.clone(),
                kind: c.kind.as_str().to_owned(),
                description: c.description.clone(),
            })
            .collect();
        store.sync_clusters(&clusters).await?;
        store.watch_changes(settings.database_url());
        let auth = Arc::new(Auth::new(settings, &public_url, store.clone())?);
        let leptos_options = LeptosOptions::builder()
            .output_name("stargate")
            .site_root(settings.site_root.to_string_lossy().as_ref())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .build();
        let wake = Arc::new(Notify::new());
        let metrics = HttpMetrics::new();
        let policy = Arc::new(RequestPolicy::from_settings(settings));
        // Imports read namespaces where requests are planned.
        let clusters = Arc::new(crate::apply::Clusters::from_settings(settings));
        let worker = settings.worker.embedded.then(|| {
            Worker::new(
                store.clone(),
                Replanner::new(store.clone(), policy.clone(), clusters.clone()),
                settings,
                wake.clone(),
                metrics.worker.clone(),
            )
        });
        if worker.is_some() && store.backend() == Backend::Postgres {
            listen_for_jobs(settings.database_url(), wake.clone());
        }
        let (stop, stopping) = watch::channel(false);
        let (draining_tx, draining) = watch::channel(false);
        let live = LiveViews::start(store.clone(), auth.clone(), stopping.clone());
        tokio::spawn(refresh_groups_periodically(auth.clone(), stopping.clone()));
        let island_files =
            crate::http::bundle::island_files(&crate::http::bundle::dir(&leptos_options));
        let state = AppState {
            stopping,
            draining,
            leptos_options,
            portal: Arc::new(PortalService::new(
                store.clone(),
                auth.clone(),
                policy,
                wake,
                IacRepo::new(&settings.iac, &settings.data_dir),
                clusters,
            )),
            store: store.clone(),
            metrics,
            auth,
            streams: StreamSlots::new(settings.http.max_streams_per_user),
            live,
            trusted_proxies: Arc::new(settings.http.trusted_proxies.clone()),
            island_files,
        };
        Ok(Self {
            listener,
            router: build_router(state),
            store,
            worker,
            stop,
            draining: draining_tx,
            drain: std::time::Duration::from_secs(settings.http.drain_seconds.into()),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and closes the pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Peer addresses: the client's, or its proxy's (see `http::client_addr`).
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let stop = self.stop;
        let worker = self.worker.map(|w| tokio::spawn(w.run(stop.subscribe())));
        let (draining, drain) = (self.draining, self.drain);
        // Graceful shutdown waits for every open connection; event streams would keep it
        // waiting forever, so they are told to end first.
        let stopping = async move {
            shutdown.await;
            if !drain.is_zero() {
                let _ = draining.send(true);
                tracing::info!(
                    seconds = drain.as_secs(),
                    "draining: /readyz fails, requests are still served"
                );
                tokio::time::sleep(drain).await;
            }
            let _ = stop.send(true);
        };
        axum::serve(self.listener, service)
            .with_graceful_shutdown(stopping)
            .await?;
        if let Some(worker) = worker {
            // A job in flight keeps its lease until it runs out; another worker resumes it.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), worker).await;
        }
        self.store.close().await;
        Ok(())
    }
}

fn configured_teams(settings: &Settings) -> Vec<NewTeam> {
    settings
        .teams
        .iter()
        .filter_map(|t| {
            Some(NewTeam {
                name: domain::TeamName::parse("teams.name", &t.name).ok()?,
                display_name: t.display_name.clone().unwrap_or_else(|| t.name.clone()),
                description: t.description.clone(),
                namespace: t.namespace(),
            })
        })
        .collect()
}

/// `stargate worker`: works the queue until Ctrl-C or SIGTERM, without a web server.
pub async fn run_worker(settings: &Settings) -> Result<(), StartupError> {
    settings.validate_for_worker()?;
    let store = Store::open_with(&settings.database_url(), settings.store_options()).await?;
    let wake = Arc::new(Notify::new());
    if store.backend() == Backend::Postgres {
        listen_for_jobs(settings.database_url(), wake.clone());
    }
    let mut registry = prometheus_client::registry::Registry::default();
    let policy = Arc::new(RequestPolicy::from_settings(settings));
    let worker = Worker::new(
        store.clone(),
        Replanner::new(
            store.clone(),
            policy,
            Arc::new(crate::apply::Clusters::from_settings(settings)),
        ),
        settings,
        wake,
        Arc::new(WorkerMetrics::register(&mut registry)),
    );
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(worker.run(stopped));
    shutdown_signal().await;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), running).await;
    store.close().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
