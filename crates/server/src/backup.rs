//! `gatehouse backup PATH` and `gatehouse restore PATH` for the SQLite database: a
//! consistent copy taken while servers run, and its return after a check. The master key
//! travels with it (`PATH.key`) when it lives in the key file beside the database, since
//! the signing keys and secrets in the copy are sealed with it. PostgreSQL: its own tools.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use gatehouse_store::SqlStore;

use crate::config::{Config, Database};

/// What to tell an operator of PostgreSQL.
const POSTGRES: &str = "PostgreSQL is backed up and restored with its own tools: \
     pg_dump --format=custom --file PATH DATABASE_URL, and pg_restore --clean --dbname DATABASE_URL PATH";

/// The key file beside `path` (`<path>.key`).
fn key_file(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".key");
    PathBuf::from(p)
}

/// Copies `from` to `to`, readable by the owner only (a master key).
fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(to)
        .with_context(|| format!("writing {}", to.display()))?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    Ok(())
}

fn sqlite_path(config: &Config) -> anyhow::Result<&Path> {
    match &config.database {
        Database::Sqlite { path, .. } => Ok(path),
        Database::Postgres { .. } => bail!("{POSTGRES}"),
    }
}

/// Writes a consistent copy of the database to `to` (and the key file to `to.key`).
pub async fn backup(config: &Config, to: &Path) -> anyhow::Result<()> {
    let db = sqlite_path(config)?;
    let store = SqlStore::connect(config.database.url()).await?;
    let made = store.backup_into(to).await;
    store.close().await;
    made.with_context(|| format!("backing up into {}", to.display()))?;
    println!("backed up {} into {}", db.display(), to.display());
    let key = key_file(db);
    if config.master_key.is_none() && key.exists() {
        copy_private(&key, &key_file(to))?;
        println!(
            "the master key is in {}: keep it with the copy, and as safe as the key itself",
            key_file(to).display()
        );
    } else {
        println!("the master key (GATEHOUSE_MASTER_KEY) is not in the copy: restore needs it too");
    }
    Ok(())
}

/// Puts the copy `from` in place of the database, after checking it; every server on the
/// database must be stopped first.
pub async fn restore(config: &Config, from: &Path) -> anyhow::Result<()> {
    let db = sqlite_path(config)?;
    if !from.is_file() {
        bail!("no backup at {}", from.display());
    }
    let checked = match SqlStore::connect(&format!("sqlite://{}", from.display())).await {
        Ok(copy) => {
            let checked = copy.check_backup().await;
            copy.close().await;
            checked
        }
        Err(e) => Err(e),
    };
    checked.with_context(|| format!("{} cannot be restored", from.display()))?;
    // Copied beside the database, then renamed over it: the database is never half written.
    let mut staged = db.as_os_str().to_owned();
    staged.push(".restoring");
    let staged = PathBuf::from(staged);
    std::fs::copy(from, &staged).with_context(|| format!("copying to {}", staged.display()))?;
    for side in ["-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(side);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    std::fs::rename(&staged, db).with_context(|| format!("replacing {}", db.display()))?;
    if key_file(from).exists() {
        copy_private(&key_file(from), &key_file(db))?;
    }
    println!("restored {} from {}", db.display(), from.display());
    Ok(())
}
