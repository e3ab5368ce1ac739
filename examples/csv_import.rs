//! CSV import rate, for the benchmark (tests/bench/csv_import.sh).
//!
//!   csv_import <store url> <prefix> <rows>
//!
//! Builds Onramp's services on the store (as the server does, without
//! serving HTTP), writes a file of <rows> new hires (every second one with
//! a manager from the same file), and times the two steps the portal runs:
//! the preview (parse, check every row, look every user name and manager
//! up; writes only the preview record) and the commit (creates every row
//! with its `user.created` event, then links the managers). Prints one
//! Markdown table row; fails unless every row was created.

use std::time::Instant;

use onramp::domain::audit::Actor;
use onramp::domain::permission::Permission;
use onramp::service::{Caller, RequestMeta};
use onramp::startup::{Application, Deps};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, prefix, rows] = args.as_slice() else {
        anyhow::bail!("usage: csv_import <store url> <prefix> <rows>");
    };
    let rows: usize = rows.parse()?;
    let dir = tempfile_dir()?;
    let mut settings = onramp::config::Settings::default();
    settings.store.url = url.clone();
    settings.store.prefix = prefix.clone();
    settings.log.level = "warn".into();
    settings.bootstrap.pass_file = dir.join("bootstrap-pass.txt");
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let app = Application::build(settings, Deps::default(), Some(listener)).await?;
    let admin = &app.state.admin;
    let caller = Caller {
        actor: Actor::client("bench-hr"),
        permissions: vec![Permission::UserReadWriteAll],
        roles: Vec::new(),
        upn: None,
        meta: RequestMeta::default(),
    };
    let mut file = String::from(
        "userPrincipalName,displayName,mail,manager,employeeHireDate,department,jobTitle,employeeId\n",
    );
    for i in 0..rows {
        let manager = if i % 2 == 1 {
            format!("hire{}@bench.example", i - 1)
        } else {
            String::new()
        };
        file.push_str(&format!(
            "hire{i}@bench.example,\"Hire, Number {i}\",hire{i}@bench.example,{manager},2027-01-04,Sales,Account Executive,E{i}\n"
        ));
    }
    let bytes = file.len();
    let started = Instant::now();
    let (id, preview) = admin.preview_import(&caller, file.into_bytes()).await?;
    let preview_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        preview.good() == rows,
        "only {} of {rows} rows passed the preview",
        preview.good()
    );
    let started = Instant::now();
    let report = admin.commit_import(&caller, &id).await?;
    let commit_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.created() == rows,
        "only {} of {rows} rows were created",
        report.created()
    );
    let store = if url.starts_with("embedded:") {
        "embedded"
    } else {
        "redis"
    };
    println!(
        "| {store} | {rows} | {:.0} KiB | {preview_s:.2} s | {commit_s:.2} s | {:.0} |",
        bytes as f64 / 1024.0,
        rows as f64 / (preview_s + commit_s)
    );
    drop(app);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("onramp-csvbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
