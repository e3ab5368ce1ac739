use clap::Parser;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use onramp::cli::{Cli, Command, KeysCommand};
use onramp::config::{LogFormat, Settings};
use onramp::service::bootstrap::{Bootstrap, Issued};
use onramp::startup::{self, Application, Deps, StartupError};
use onramp::store::StoreError;

// The request path allocates many short-lived buffers from one worker
// thread; mimalloc's thread-local free lists serve them for about half the
// CPU of glibc's malloc (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for configuration errors.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("onramp: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            println!("# configuration is valid\n{}", settings.to_masked_toml());
            ExitCode::SUCCESS
        }
        Command::Serve => run(serve(settings)),
        Command::Recover { upn } => run(recover(settings, upn)),
        Command::Keys {
            action: KeysCommand::Rotate,
        } => run(rotate_keys(settings)),
    }
}

fn run(fut: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("onramp: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onramp: {e:#}");
            if matches!(
                e.downcast_ref::<StartupError>(),
                Some(StartupError::Config(_))
            ) {
                ExitCode::from(EXIT_CONFIG)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The pass as the operator reads it.
fn pass_text(issued: &Issued, heading: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let tap = &issued.tap.view.tap;
    let show = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    format!(
        "\n  {heading}\n  user:       {}\n  pass:       {}\n  valid:      {} until {}\n  sign in at: {}\n\n",
        issued.user.upn,
        issued.tap.passcode,
        show(tap.start),
        show(tap.end()),
        issued.sign_in_url
    )
}

/// `path` from the root, so that a log line names the file wherever the
/// reader stands.
fn absolute(path: &Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Writes `text` to `stream` if it is an interactive terminal; `false` if
/// it is not (a pipe, a file, a log collector) or the write failed.
fn show_on_terminal(stream: impl Write + IsTerminal, text: &str) -> bool {
    if !stream.is_terminal() {
        return false;
    }
    let mut stream = stream;
    stream
        .write_all(text.as_bytes())
        .and_then(|()| stream.flush())
        .is_ok()
}

/// Writes a pass to `path`, readable and writable by its owner only. The
/// file is always created fresh: an earlier one is removed first (its pass
/// has been replaced), and creation refuses to go through a symbolic link
/// (`O_CREAT | O_EXCL`), so a link planted there cannot redirect the pass.
/// Missing parent folders are created, accessible to the owner only.
#[cfg(unix)]
fn write_pass_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_pass_file(_path: &Path, _text: &str) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "owner-only files need a Unix system",
    ))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let _log = onramp::telemetry::init(&settings.log);
    let listen = settings.server.listen.clone();
    let issuer = settings.issuer().to_owned();
    let log_format = settings.log.format;
    let pass_file = settings.bootstrap.pass_file.clone();
    let application = Application::build(settings, Deps::default(), None).await?;
    if let Some(issued) = &application.bootstrap {
        hand_over_bootstrap_pass(issued, log_format, &pass_file);
    }
    tracing::info!(%listen, %issuer, store = application.state.ctx.store.kind(), "onramp is serving");
    application.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

/// A Global Administrator's pass never goes into the log stream (stdout):
/// it is shown only on an interactive terminal (stdout in text mode,
/// stderr in JSON mode, so that stdout stays one JSON object per line),
/// and otherwise written to the owner-only `bootstrap.pass_file`, of
/// which only the path is logged.
fn hand_over_bootstrap_pass(issued: &Issued, log_format: LogFormat, pass_file: &Path) {
    let text = pass_text(
        issued,
        "First start: the administrator's Temporary Access Pass (shown once)",
    );
    let shown = match log_format {
        LogFormat::Text => show_on_terminal(std::io::stdout(), &text),
        LogFormat::Json => show_on_terminal(std::io::stderr(), &text),
    };
    if shown {
        return;
    }
    let upn = issued.user.upn.as_str();
    let shown_path = absolute(pass_file);
    match write_pass_file(pass_file, &text) {
        Ok(()) => tracing::warn!(
            path = %shown_path.display(),
            upn,
            "first start: the administrator's Temporary Access Pass is in this file, readable by its owner only; delete it once used"
        ),
        Err(e) => tracing::error!(
            path = %shown_path.display(),
            upn,
            error = %e,
            "first start: the administrator's Temporary Access Pass could not be written; issue a new one with `onramp recover --upn {upn}`"
        ),
    }
}

async fn recover(settings: Settings, upn: String) -> anyhow::Result<()> {
    let store = match startup::open_store(&settings).await {
        Err(StartupError::Store(StoreError::Locked(path))) => {
            anyhow::bail!(
                "the embedded store {path} is in use by a running server: stop the server first, then run recover again (or use Redis, which allows recovery while serving)"
            )
        }
        other => other?,
    };
    let pass_file = settings.bootstrap.pass_file.clone();
    let ctx = startup::build_context(settings, store, Deps::default()).await?;
    let issued = Bootstrap::new(ctx).recover(&upn).await?;
    // As at bootstrap: the pass on a terminal, else in the owner-only file.
    let text = pass_text(
        &issued,
        "Recovery: a new Temporary Access Pass (shown once; any earlier pass is replaced)",
    );
    if !show_on_terminal(std::io::stdout(), &text) {
        write_pass_file(&pass_file, &text).map_err(|e| {
            anyhow::anyhow!(
                "the new pass for {} could not be written to {}: {e} (run recover again on a terminal, or fix the path in bootstrap.pass_file)",
                issued.user.upn,
                absolute(&pass_file).display()
            )
        })?;
        println!(
            "recover: the new Temporary Access Pass for {} is in {}, readable by its owner only; delete it once used",
            issued.user.upn,
            absolute(&pass_file).display()
        );
    }
    Ok(())
}

async fn rotate_keys(settings: Settings) -> anyhow::Result<()> {
    use onramp::clock::{Clock, SystemClock};
    use time::Duration;
    let store = match startup::open_store(&settings).await {
        Err(StartupError::Store(StoreError::Locked(path))) => anyhow::bail!(
            "the embedded store {path} is in use by a running server: stop it first (or use Redis, which allows rotation while serving)"
        ),
        other => other?,
    };
    let delay = Duration::seconds(i64::from(settings.keys.activation_delay_seconds));
    let lifetime = Duration::seconds(i64::from(settings.tokens.access_token_lifetime_seconds) + 60);
    let now = SystemClock.now();
    let next = onramp::service::keys::rotate(&*store, now, delay, lifetime).await?;
    println!("signing keys rotated (key set version {}):", next.version);
    for k in &next.keys {
        let note = match (k.not_before, k.retire_until) {
            (Some(t), _) if t > now => format!("new, signs from {t}"),
            (_, Some(t)) => format!("retiring, published until {t}"),
            _ => "active".to_owned(),
        };
        println!("  {} {} ({note})", k.alg.as_str(), k.kid);
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_pass_file_is_fresh_owner_only_and_never_follows_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/folder/pass.txt");
        write_pass_file(&path, "first\n").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first\n");

        // An existing file, even one anybody may read, is replaced by a new one.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_pass_file(&path, "second\n").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second\n");

        // A planted symbolic link is not followed: its target stays untouched.
        let target = dir.path().join("planted-target");
        std::fs::write(&target, "").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o666)).unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_pass_file(&link, "third\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_file(), "a regular file, not the link");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "third\n");
    }
}
