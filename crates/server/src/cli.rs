//! The `gatehouse` command line: `serve`, `migrate`, `keys list|rotate`, `backup`,
//! `restore`, `version`; and `apps|apis|users|connections|roles|logs` for a running server
//! (`remote`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gatehouse_core::signing_key::KeyState;
use gatehouse_store::SqlStore;

use crate::app::{App, Application, shutdown_signal};
use crate::config::{Config, Flags};
use crate::remote::{Resource, ResourceArgs};
use crate::setup::BootstrapCredentials;
use crate::signing;

/// gatehouse: a self-hosted identity server that speaks Auth0's APIs.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about)]
pub struct Cli {
    /// Settings given as flags (they override the environment and the config file).
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags shared by every command. Secrets (master key, bootstrap secret) are deliberately
/// not flags: command lines are visible to every user of the machine.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML file with settings.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [env: GATEHOUSE_LISTEN] [default: 127.0.0.1:8080].
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Public base URL, with a trailing slash [env: GATEHOUSE_ISSUER].
    #[arg(long, global = true, value_name = "URL")]
    pub issuer: Option<String>,
    /// sqlite://FILE or postgres://... [env: GATEHOUSE_DATABASE_URL].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// pretty or json [env: GATEHOUSE_LOG_FORMAT].
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Log filter, e.g. info or gatehouse_server=debug [env: GATEHOUSE_LOG_LEVEL].
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
}

impl GlobalArgs {
    /// The flag layer of the settings.
    pub fn flags(&self) -> Flags {
        Flags {
            config_file: self.config.clone(),
            listen: self.listen.clone(),
            issuer: self.issuer.clone(),
            database_url: self.database_url.clone(),
            log_format: self.log_format.clone(),
            log_level: self.log_level.clone(),
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates and seeds the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Copy the SQLite database (consistently, while servers run) and its key file.
    Backup {
        /// Where the copy goes (must not exist).
        path: PathBuf,
    },
    /// Put a copy made by `backup` in place of the SQLite database (stop every server first).
    Restore {
        /// The copy.
        path: PathBuf,
    },
    /// Print the version.
    Version,
    /// Applications of a running server (the Management API's clients).
    Apps(ResourceArgs),
    /// APIs of a running server (resource servers).
    Apis(ResourceArgs),
    /// Users of a running server.
    Users(ResourceArgs),
    /// Connections of a running server.
    Connections(ResourceArgs),
    /// Roles of a running server.
    Roles(ResourceArgs),
    /// Tenant log events of a running server.
    Logs(ResourceArgs),
    /// Administrators of the dashboard at /admin.
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// `gatehouse admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make an administrator on a running server and print a one-time link to set a password.
    Create {
        /// Their email address (they sign in with it).
        #[arg(long)]
        email: String,
    },
}

/// `gatehouse keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys and their states.
    List,
    /// Promote the next key to current, keep the current one as previous, make a new next.
    Rotate,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Version => {
            println!("gatehouse {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let store = SqlStore::connect(config.database.url()).await?;
            store.clone().into_stores().setup.migrate().await?;
            store.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::Backup { path } => crate::backup::backup(&config, &path).await,
        Command::Restore { path } => crate::backup::restore(&config, &path).await,
        Command::Apps(args) => remote(&config, Resource::Apps, args).await,
        Command::Apis(args) => remote(&config, Resource::Apis, args).await,
        Command::Users(args) => remote(&config, Resource::Users, args).await,
        Command::Connections(args) => remote(&config, Resource::Connections, args).await,
        Command::Roles(args) => remote(&config, Resource::Roles, args).await,
        Command::Logs(args) => remote(&config, Resource::Logs, args).await,
        Command::Admin(AdminCommand::Create { email }) => {
            let made = crate::remote::create_admin(target(&config), &email).await?;
            println!("administrator {email} created ({})", made.user_id);
            println!(
                "set a password within 7 days, then sign in at {}:",
                made.dashboard
            );
            println!("{}", made.link);
            Ok(())
        }
        Command::Keys(KeysCommand::List) => {
            let app = open(config).await?;
            print_keys(&app).await
        }
        Command::Keys(KeysCommand::Rotate) => {
            let app = open(config).await?;
            let sealer = app.sealer.clone();
            let next =
                tokio::task::spawn_blocking(move || signing::generate(&sealer, KeyState::Next))
                    .await??;
            app.stores.signing_keys.rotate_signing_keys(&next).await?;
            println!("rotated: the next key is now current; running servers follow within 30 s");
            print_keys(&app).await
        }
    }
}

/// A resource command against the server the settings name: its issuer (or where it
/// listens), with the bootstrap client's credentials.
async fn remote(config: &Config, resource: Resource, args: ResourceArgs) -> anyhow::Result<()> {
    crate::remote::run(target(config), resource, args).await
}

/// The running server the settings name, with the bootstrap client's credentials.
fn target(config: &Config) -> crate::remote::Target {
    crate::remote::Target {
        base: config
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}/", config.listen)),
        credentials: config
            .bootstrap
            .as_ref()
            .map(|(id, secret)| (id.clone(), secret.expose().to_owned())),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let shutdown = shutdown_signal()?;
    let app = Application::build(config).await?;
    if let Some(creds) = app.new_bootstrap_credentials() {
        print_credentials(creds);
    }
    app.run_until_stopped(shutdown).await?;
    Ok(())
}

/// Opens the database as `serve` would (migrated, seeded, keys loaded), without serving.
async fn open(config: Config) -> anyhow::Result<App> {
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}/", config.listen));
    let (app, creds) = App::build(config, issuer).await?;
    if let Some(creds) = creds {
        print_credentials(&creds);
    }
    Ok(app)
}

async fn print_keys(app: &App) -> anyhow::Result<()> {
    println!("{:<44}  {:<8}  {:<5}  CREATED", "KID", "STATE", "ALG");
    for k in app.stores.signing_keys.signing_keys().await? {
        let created = k
            .created_at
            .format(&time::format_description::well_known::Rfc3339)?;
        println!(
            "{:<44}  {:<8}  {:<5}  {created}",
            k.kid,
            k.state.as_str(),
            k.alg
        );
    }
    Ok(())
}

/// Shown on the terminal once, on the first start of a new database; never logged.
fn print_credentials(c: &BootstrapCredentials) {
    println!(
        "\nA Management API client was created for this new database. Its secret is shown only now:\n\n  \
         GATEHOUSE_BOOTSTRAP_CLIENT_ID={}\n  GATEHOUSE_BOOTSTRAP_CLIENT_SECRET={}\n  audience: {}\n",
        c.client_id,
        c.client_secret.expose(),
        c.audience
    );
}
