use clap::Parser;
use std::process::ExitCode;

use onramp::cli::{Cli, Command, KeysCommand};
use onramp::config::Settings;
use onramp::service::bootstrap::{Bootstrap, Issued};
use onramp::startup::{self, Application, Deps, StartupError};
use onramp::store::StoreError;

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

fn print_pass(issued: &Issued, heading: &str) {
    use time::format_description::well_known::Rfc3339;
    let tap = &issued.tap.view.tap;
    let show = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    println!(
        "\n  {heading}\n  user:       {}\n  pass:       {}\n  valid:      {} until {}\n  sign in at: {}\n",
        issued.user.upn,
        issued.tap.passcode,
        show(tap.start),
        show(tap.end()),
        issued.sign_in_url
    );
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let _log = onramp::telemetry::init(&settings.log);
    let listen = settings.server.listen.clone();
    let issuer = settings.issuer().to_owned();
    let application = Application::build(settings, Deps::default(), None).await?;
    if let Some(issued) = &application.bootstrap {
        print_pass(
            issued,
            "First start: the administrator's Temporary Access Pass (shown once)",
        );
    }
    tracing::info!(%listen, %issuer, store = application.state.ctx.store.kind(), "onramp is serving");
    application.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
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
    let ctx = startup::build_context(settings, store, Deps::default()).await?;
    let issued = Bootstrap::new(ctx).recover(&upn).await?;
    print_pass(
        &issued,
        "Recovery: a new Temporary Access Pass (shown once; any earlier pass is replaced)",
    );
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
