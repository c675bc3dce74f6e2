//! The `demarches` command.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use demarches::config::Config;
use demarches::server;
use demarches::worker::Worker;

#[derive(Parser)]
#[command(
    name = "demarches",
    version,
    about = "Démarches en ligne et instruction des dossiers"
)]
struct Cli {
    /// Directory holding default.toml and <env>.toml.
    #[arg(long, env = "DEMARCHES_CONFIG_DIR", default_value = "config")]
    config_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (and the worker unless server.run_worker = false).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Run only the background worker (outbox and jobs).
    Worker,
    /// Measure deposits per second through the dossier actors (scratch database);
    /// `bench form`: the server time of saving and rendering a long form.
    Bench {
        #[command(subcommand)]
        what: Option<BenchCommand>,
        #[arg(long, default_value_t = 2000)]
        dossiers: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Load the dossier actors before timing (a deposit right after brouillon saves).
        #[arg(long)]
        warm: bool,
    },
    /// Seed a demo démarche and demo accounts, and print them.
    Demo,
    /// Manage administrateurs.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// WASM connectors (grants from <config-dir>/connectors.toml).
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Save (autosave) and render a long brouillon through the real handlers, in process:
    /// p50/p95/p99 server times (scratch database).
    Form {
        /// Top-level champs of the form.
        #[arg(long, default_value_t = 1000)]
        champs: usize,
        /// Rows of a bloc répétable placed after them (0: none).
        #[arg(long, default_value_t = 0)]
        rows: usize,
        /// Children of that bloc répétable.
        #[arg(long, default_value_t = 10)]
        children: usize,
        /// Measures of each operation.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// Validate <name>.wasm as connector <name> (compile, link, describe, grant) without installing it.
    Check { file: PathBuf },
    /// Load every <name>.wasm of a directory and print what would run, or why not.
    List {
        #[arg(default_value = "var/plugins")]
        dir: PathBuf,
    },
    /// Install <name>.wasm into the plugins directory, keeping the replaced artifact as
    /// <name>.wasm.previous; running servers watching the directory load it.
    Install {
        file: PathBuf,
        #[arg(long, default_value = "var/plugins")]
        dir: PathBuf,
    },
    /// Put <name>.wasm.previous back as <name>.wasm (the replaced one becomes the previous):
    /// every server watching the directory converges on it.
    Rollback {
        name: String,
        #[arg(long, default_value = "var/plugins")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrateur and e-mail the account-activation link.
    Create { email: String },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    // One process-wide TLS provider (ring) before any HTTP client is built.
    demarches_plugins::install_crypto_provider();
    let cli = Cli::parse();
    if let Command::Plugins { command } = &cli.command {
        let policy = demarches_plugins::Policy::load(&cli.config_dir.join("connectors.toml"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        return rt.block_on(plugins_command(command, policy));
    }
    let config = Config::load(&cli.config_dir)?;
    actix_web::rt::System::new().block_on(run(cli.command, config))
}

async fn plugins_command(
    command: &PluginsCommand,
    policy: demarches_plugins::Policy,
) -> anyhow::Result<()> {
    let plugins = demarches_plugins::Plugins::new(policy)?;
    match command {
        PluginsCommand::Check { file } => {
            let name = demarches_plugins::connector_name(file)
                .ok_or_else(|| anyhow::anyhow!("{}: not a <name>.wasm file", file.display()))?;
            let info = plugins.check(&name, &std::fs::read(file)?).await?;
            println!(
                "{} {} ok: capabilities {:?}, hosts {:?}",
                info.name, info.version, info.capabilities, info.requested_hosts
            );
        }
        PluginsCommand::Install { file, dir } => {
            let name = demarches_plugins::connector_name(file)
                .ok_or_else(|| anyhow::anyhow!("{}: not a <name>.wasm file", file.display()))?;
            let bytes = std::fs::read(file)?;
            let info = plugins.check(&name, &bytes).await?;
            demarches_plugins::files::install(dir, &name, &bytes).await?;
            println!(
                "{} {} installed in {}; the previous artifact is kept as {name}.wasm.previous",
                info.name,
                info.version,
                dir.display()
            );
        }
        PluginsCommand::Rollback { name, dir } => {
            let digest = demarches_plugins::files::rollback(dir, name).await?;
            let version = plugins
                .check(
                    name,
                    &std::fs::read(demarches_plugins::files::current_path(dir, name))?,
                )
                .await
                .map(|i| i.version)
                .unwrap_or_else(|e| format!("(not loadable here: {e})"));
            println!(
                "{name} rolled back to {version} ({}) in {}; servers watching the directory load it",
                &digest[..12.min(digest.len())],
                dir.display()
            );
        }
        PluginsCommand::List { dir } => {
            plugins.reconcile_dir(dir).await;
            for s in plugins.status() {
                let version = s.version.as_deref().unwrap_or("-");
                let digest = s.digest.as_deref().map_or("-", |d| &d[..12.min(d.len())]);
                let rejected = s.rejection.map(|r| format!(" rejected: {}", r.reason));
                println!(
                    "{}\t{version}\t{digest}{}",
                    s.name,
                    rejected.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Plugins { .. } => {
            anyhow::bail!("plugins commands are handled before the config is loaded")
        }
        Command::Serve => server::serve(config).await,
        Command::Migrate => {
            let db = server::connect(&config).await?;
            server::migrate(&db).await?;
            println!("Migrations appliquées.");
            Ok(())
        }
        Command::Worker => {
            let config = Arc::new(config);
            let db = server::connect(&config).await?;
            // The bus (Redis when configured: alone, the worker reaches the servers' dossier
            // actors through it), the connector host and the actors, for the jobs.
            let state = server::build_state(config.clone(), db.clone())?;
            Worker::new(db, config)?
                .with_bus(state.bus.clone())
                .with_fetcher(demarches::external::Fetcher::of_state(&state))
                .run()
                .await;
            Ok(())
        }
        Command::Bench {
            what:
                Some(BenchCommand::Form {
                    champs,
                    rows,
                    children,
                    iterations,
                }),
            ..
        } => {
            let bench = demarches::bench::form::FormBench {
                champs,
                rows,
                children,
                iterations,
            };
            let report = demarches::bench::form::run(&config, bench).await?;
            println!("{report}");
            Ok(())
        }
        Command::Bench {
            what: None,
            dossiers,
            concurrency,
            warm,
        } => {
            let report = demarches::bench::run(&config, dossiers, concurrency, warm).await?;
            println!("{report}");
            Ok(())
        }
        Command::Demo => {
            let db = server::connect(&config).await?;
            let demo = demarches::demo::seed(&db, &config).await?;
            println!("{}", demarches::demo::summary(&config, &demo));
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { email },
        } => {
            let db = server::connect(&config).await?;
            let mut tx = db.begin().await?;
            let id = demarches::accounts::invite::invite_administrateur(&mut tx, &config, &email)
                .await?;
            tx.commit().await?;
            println!("Administrateur {email} (n° {id}) : e-mail d’activation envoyé.");
            Ok(())
        }
    }
}
