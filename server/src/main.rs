use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::{
    config::Settings,
    startup::{Application, shutdown_signal},
    store::Store,
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(&cli.config)?;
    telemetry::init(&settings.log);
    match cli.command {
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
        Command::Migrate => {
            Store::open(&settings.database_url()).await?;
            tracing::info!("database is up to date");
        }
    }
    Ok(())
}
