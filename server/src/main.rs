use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::{
    auth::Auth,
    config::Settings,
    startup::{Application, shutdown_signal},
    store::{
        BackupError, Store,
        backup::{restore, sqlite_path},
        hold_database,
    },
    telemetry,
};

/// Stargate: the self-service developer portal.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file; missing is fine (defaults and STARGATE_* variables apply).
    #[arg(
        long,
        global = true,
        env = "STARGATE_CONFIG",
        default_value = "stargate.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server.
    Serve {
        /// Load the demo catalog (once; later starts leave it as it is).
        #[arg(long)]
        demo: bool,
    },
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Apply approved requests (no web server); run several beside a PostgreSQL database.
    Worker,
    /// Fill the catalog with N generated services (benchmarks, demos).
    Seed {
        #[arg(long, default_value_t = 10_000)]
        services: u32,
    },
    /// Write the applied state (every object as last applied) to DIR, in the IaC
    /// repository's layout: to bootstrap a GitOps repository, or to restore one.
    Export {
        /// Only this cluster's objects.
        #[arg(long)]
        cluster: Option<String>,
        /// An empty (or new) folder.
        dir: PathBuf,
    },
    /// The IaC repository of applied changes.
    #[command(subcommand)]
    Iac(IacCommand),
    /// Print the Kubernetes objects that run Stargate with this configuration file: the
    /// objects `deploy/kubernetes/` builds, ready for `kubectl apply -f -` or a review.
    InstallManifests(server::install::InstallOptions),
    /// Personal access tokens for bootstrap and automation.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Copy the (SQLite) database to FILE while the portal runs (PostgreSQL: pg_dump).
    Backup { file: PathBuf },
    /// Replace the (SQLite) database with the backup FILE; every stargate process using it
    /// must be stopped.
    Restore { file: PathBuf },
}

#[derive(Subcommand)]
enum IacCommand {
    /// Check that the repository's tip holds exactly the applied state recorded in the
    /// database; print each difference and exit with status 1 if there is any.
    Verify,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new token for USER (created if missing), alone on the last line.
    Create {
        /// The user's email address.
        #[arg(long)]
        user: String,
        /// Replace the user's SSO groups, e.g. `payments,payments-leads`.
        #[arg(long, value_delimiter = ',')]
        groups: Option<Vec<String>>,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Lifetime such as `30d` or `12h`: at least a minute, at most `auth.token_max_days`
        /// (default 365); 90 days when left out. Every token expires.
        #[arg(long, value_parser = humantime::parse_duration)]
        expires: Option<std::time::Duration>,
        /// What the token may do beyond reading: `request` (submit, cancel, comment),
        /// `review` (approve, reject, retry), e.g. `--scopes read,request`.
        #[arg(long, default_value = "read")]
        scopes: String,
    },
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(&cli.config)?;
    // install-manifests prints YAML on stdout for `kubectl apply -f -`: no log line there.
    if !matches!(cli.command, Command::InstallManifests(_)) {
        telemetry::init(&settings.log);
    }
    for variable in Settings::unknown_variables() {
        tracing::warn!(%variable, "not a Stargate setting; ignored");
    }
    // Every process using a SQLite database holds a shared lock on it: a restore waits
    // for none of them and refuses while any runs.
    let _database = match cli.command {
        Command::Restore { .. } | Command::InstallManifests(_) => None,
        _ => Some(hold_database(&settings.database_url())?),
    };
    match cli.command {
        Command::Backup { file } => {
            // Before connecting: a PostgreSQL database is never touched (nor migrated) here.
            if sqlite_path(&settings.database_url()).is_none() {
                return Err(BackupError::Postgres.into());
            }
            let store =
                Store::open_with(&settings.database_url(), settings.store_options()).await?;
            store.backup_to(&file).await?;
            tracing::info!(file = %file.display(), "backup written");
        }
        Command::Restore { file } => {
            restore(&settings.database_url(), &file).await?;
            tracing::info!(file = %file.display(), "database restored; start stargate again");
        }
        Command::Serve { demo } => {
            let app = Application::build(&settings, demo).await?;
            tracing::info!(
                url = %format!("http://{}", app.local_addr()),
                public_url = %settings.public_url(),
                "stargate is ready"
            );
            app.run_until_stopped(shutdown_signal())
                .await
                .context("server failed")?;
        }
        Command::InstallManifests(options) => {
            let config = std::fs::read_to_string(&cli.config)
                .with_context(|| format!("reading {}", cli.config.display()))?;
            let objects = server::install::install_manifests(&config, &options)?;
            print!("{}", server::install::to_yaml(&objects)?);
        }
        Command::Worker => {
            server::startup::run_worker(&settings).await?;
        }
        Command::Migrate => {
            Store::open_with(&settings.database_url(), settings.store_options()).await?;
            tracing::info!("database is up to date");
        }
        Command::Seed { services } => {
            let store =
                Store::open_with(&settings.database_url(), settings.store_options()).await?;
            let took = server::seed::seed(&store, services).await?;
            tracing::info!(services, seconds = took.as_secs_f64(), "seeded the catalog");
        }
        Command::Export { cluster, dir } => {
            let store =
                Store::open_with(&settings.database_url(), settings.store_options()).await?;
            let exported = server::iac::export(&store, cluster.as_deref(), &dir).await?;
            println!(
                "wrote {} objects of {} clusters to {}",
                exported.objects,
                exported.clusters,
                dir.display()
            );
        }
        Command::Iac(IacCommand::Verify) => {
            let store =
                Store::open_with(&settings.database_url(), settings.store_options()).await?;
            let repo = server::iac::IacRepo::new(&settings.iac, &settings.data_dir);
            let differences = server::iac::verify(&store, &repo).await?;
            for difference in &differences {
                println!("{difference}");
            }
            if !differences.is_empty() {
                anyhow::bail!(
                    "the IaC repository at {} differs from the applied state in {} places",
                    repo.path().display(),
                    differences.len()
                );
            }
            println!(
                "the IaC repository at {} holds exactly the applied state",
                repo.path().display()
            );
        }
        Command::Token(TokenCommand::Create {
            user,
            groups,
            name,
            expires,
            scopes,
        }) => {
            if !user.contains('@') {
                anyhow::bail!("--user must be an email address, got {user:?}");
            }
            let max_days = settings.auth.token_max_days;
            let expires = expires.unwrap_or(std::time::Duration::from_secs(
                u64::from(domain::DEFAULT_TOKEN_DAYS.min(max_days)) * 86_400,
            ));
            if expires > std::time::Duration::from_secs(u64::from(max_days) * 86_400) {
                anyhow::bail!("--expires must be at most {max_days} days (auth.token_max_days)");
            }
            // A token that is dead on arrival is a typo, not a wish.
            if expires < std::time::Duration::from_secs(60) {
                anyhow::bail!("--expires must be at least 1 minute");
            }
            let scopes = domain::Scopes::parse("--scopes", &scopes)
                .map_err(|e| anyhow::anyhow!("--scopes {}", e.message))?;
            let store =
                Store::open_with(&settings.database_url(), settings.store_options()).await?;
            let record = match store.ensure_user(&user, groups.as_deref()).await {
                Err(refused @ server::store::StoreError::Deactivated(_)) => anyhow::bail!(
                    "no token created: {refused}; reactivate them first (admin users page)"
                ),
                other => other?,
            };
            let auth = Auth::new(&settings, &settings.public_url(), store.clone())?;
            let (id, token) = auth.issue_token(&record, &name, expires, scopes).await?;
            eprintln!(
                "created token {id} ({name:?}, {}) for {user}; it is shown only once:",
                scopes.to_text()
            );
            println!("{token}");
        }
    }
    Ok(())
}
