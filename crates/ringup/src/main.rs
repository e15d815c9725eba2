//! `ringup`: serve the API (default) or run a maintenance command.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use ringup::check;
use ringup::settings::Settings;
use ringup::settings::{AuditCommand, RollupsCommand};
use ringup::startup::{self, Application};
use ringup::{Cli, Command};

/// Why not the C library's allocator: glibc's `malloc` keeps each freed argon2 working buffer
/// (19 MiB per password hashed or checked) in the arena of the thread that used it, so resident
/// memory grew with every blocking thread that ever verified a password. mimalloc returns
/// freed large blocks to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Only the working directory's `.env` is read (not a parent's, as `dotenv()` would).
    if let Err(err) = dotenvy::from_path(".env")
        && !err.not_found()
    {
        eprintln!("ringup: cannot read .env: {err}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let settings = match Settings::from_cli(&cli.settings, std::io::stdout().is_terminal()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("ringup: {err}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match ringup::telemetry::init(&settings) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("ringup: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("ringup: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    let outcome = runtime.block_on(run(command, settings));
    // After the runtime's work, outside it: sends the spans still queued.
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ringup: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `ringup restore`: the rows, then every check `ringup check` and `ringup audit verify` run.
async fn restore(
    db: &ringup_store::Db,
    file: &std::path::Path,
    force: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let restored = ringup_app::backup::restore(db, file, force).await?;
    let m = &restored.manifest;
    println!(
        "ringup: restored {} rows of {} tables from {} (taken {} on {}, schema {}) in {:.1} s",
        restored.rows,
        m.tables.len(),
        file.display(),
        m.created_at,
        m.engine,
        m.schema_version,
        restored.elapsed.as_secs_f64()
    );
    let stock = check::run(db).await;
    let audit = check::audit(db).await;
    stock?;
    audit
}

async fn run(command: Command, settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Migrate => {
            startup::prepare_data_dir(&settings.data_dir)?;
            let db = startup::open_database(&settings).await?;
            let applied = ringup_store::Db::migration_versions(db.engine()).len();
            db.close().await;
            println!(
                "ringup: {} database at {} is migrated ({applied} migrations)",
                db.engine().name(),
                settings.database_url
            );
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let db = startup::open_database(&settings).await?;
            let outcome = check::audit(&db).await;
            db.close().await;
            outcome
        }
        Command::Backup { to } => {
            startup::prepare_data_dir(&settings.data_dir)?;
            let db = startup::open_database(&settings).await?;
            let dir = to.unwrap_or_else(|| settings.backup.dir.clone());
            let outcome = ringup::backup::take(&db, &dir, &settings.backup).await;
            db.close().await;
            let created = outcome?;
            println!("{}", created.path.display());
            eprintln!(
                "ringup: backup of {} rows in {} tables ({} bytes) written in {:.1} s",
                created.manifest.rows(),
                created.manifest.tables.len(),
                created.bytes,
                created.elapsed.as_secs_f64()
            );
            Ok(())
        }
        Command::Restore { file, force } => {
            startup::prepare_data_dir(&settings.data_dir)?;
            let db = startup::open_database(&settings).await?;
            let outcome = restore(&db, &file, force).await;
            db.close().await;
            outcome
        }
        Command::Rollups {
            command: RollupsCommand::Rebuild,
        } => {
            let db = startup::open_database(&settings).await?;
            let outcome = ringup_store::reports::rebuild::rebuild(&db).await;
            db.close().await;
            let rebuilt = outcome?;
            println!(
                "ringup: report rollups rebuilt from the sales ({} rows)",
                rebuilt.rows
            );
            Ok(())
        }
        Command::Demo => Ok(ringup::demo::run(&settings, chrono::Utc::now()).await?),
        Command::Check => {
            let db = startup::open_database(&settings).await?;
            let outcome = check::run(&db).await;
            db.close().await;
            outcome
        }
        Command::Serve => {
            let public = settings.public_url.clone();
            let app = Application::build(settings).await?;
            if let Some(admin) = app.first_admin() {
                // Printed to the terminal once, never through the logger.
                match &admin.generated_password {
                    Some(password) => println!(
                        "ringup: created the first admin `{}` with password: {password}\n\
                         ringup: this password is shown only now; change it after logging in.",
                        admin.username
                    ),
                    None => println!("ringup: created the first admin `{}`", admin.username),
                }
            }
            let docs = public
                .join("docs")
                .map(|u| u.to_string())
                .unwrap_or_default();
            tracing::info!(
                address = %app.address(),
                engine = app.db().engine().name(),
                docs = %docs,
                "ringup listening on http://{} (API docs at {docs})",
                app.address()
            );
            app.run_until(startup::shutdown_signal()).await?;
            Ok(())
        }
    }
}
