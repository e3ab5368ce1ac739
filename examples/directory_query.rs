//! Directory lookups by index, for the benchmark (tests/bench/directory_query.sh).
//!
//!   directory_query seed <store url> <prefix> <users>
//!       writes <users> users straight into the store (the server must not
//!       be running on an embedded file): user{i}@bench.example, employeeId
//!       E{i}, mail m{i}@bench.example.
//!   directory_query query <issuer> <client id> <secret> <users> <requests> <concurrency>
//!       asks GET /api/v1/users?$filter=… by userPrincipalName and by
//!       employeeId for random users, and prints one Markdown table row per
//!       filter: requests/s and latency p50/p99, every answer checked to be
//!       exactly the one user.

use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp::domain::user::NewUser;
use onramp::store::SharedStore;
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("seed") if args.len() == 4 => seed(&args[1], &args[2], args[3].parse()?).await,
        Some("query") if args.len() == 7 => {
            query(
                &args[1],
                &args[2],
                &args[3],
                args[4].parse()?,
                args[5].parse()?,
                args[6].parse()?,
            )
            .await
        }
        _ => anyhow::bail!(
            "usage: directory_query seed <store url> <prefix> <users> | query <issuer> <client> <secret> <users> <requests> <concurrency>"
        ),
    }
}

async fn open(url: &str, prefix: &str) -> anyhow::Result<SharedStore> {
    Ok(match url.strip_prefix("embedded:") {
        Some(path) => Arc::new(onramp::store::embedded::EmbeddedStore::open(
            std::path::Path::new(path),
        )?),
        None => Arc::new(
            onramp::store::redis::RedisStore::connect(url, prefix, Duration::from_secs(5)).await?,
        ),
    })
}

async fn seed(url: &str, prefix: &str, users: usize) -> anyhow::Result<()> {
    let store = open(url, prefix).await?;
    let started = Instant::now();
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in (0..users)
        .collect::<Vec<_>>()
        .chunks(users.div_ceil(8).max(1))
    {
        let (store, chunk) = (store.clone(), chunk.to_vec());
        tasks.spawn(async move {
            for i in chunk {
                let user = NewUser {
                    upn: format!("user{i}@bench.example"),
                    display_name: format!("Bench User {i}"),
                    mail: Some(format!("m{i}@bench.example")),
                    employee_id: Some(format!("E{i}")),
                    ..NewUser::default()
                }
                .into_user(format!("00000000-0000-4000-8000-{i:012}"), now)?;
                store.create_user(&user).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    eprintln!(
        "seeded {users} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn token(
    http: &reqwest::Client,
    issuer: &str,
    id: &str,
    secret: &str,
) -> anyhow::Result<String> {
    let res: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    res["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no token: {res}"))
}

/// A small deterministic generator: the same users are asked for each run.
fn pick(state: &mut u64, users: usize) -> usize {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % users as u64) as usize
}

async fn query(
    issuer: &str,
    id: &str,
    secret: &str,
    users: usize,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let token = Arc::new(token(&http, issuer, id, secret).await?);
    for (label, filter) in [
        (
            "userPrincipalName eq",
            "userPrincipalName eq 'user{}@bench.example'",
        ),
        ("employeeId eq", "employeeId eq 'E{}'"),
    ] {
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..concurrency {
            let (http, token, issuer) = (http.clone(), token.clone(), issuer.to_owned());
            let filter = filter.to_owned();
            let share = requests / concurrency;
            tasks.spawn(async move {
                let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ (worker as u64 + 1);
                let mut latencies = Vec::with_capacity(share);
                for _ in 0..share {
                    let n = pick(&mut seed, users);
                    let f = filter.replace("{}", &n.to_string());
                    let t = Instant::now();
                    let res: Value = http
                        .get(format!("{issuer}/api/v1/users"))
                        .query(&[("$filter", f.as_str())])
                        .bearer_auth(token.as_str())
                        .send()
                        .await?
                        .json()
                        .await?;
                    latencies.push(t.elapsed());
                    let found = res["value"].as_array().map_or(0, Vec::len);
                    anyhow::ensure!(
                        found == 1 && res["value"][0]["employeeId"] == format!("E{n}"),
                        "{f}: {res}"
                    );
                }
                anyhow::Ok(latencies)
            });
        }
        let mut all = Vec::with_capacity(requests);
        while let Some(done) = tasks.join_next().await {
            all.extend(done??);
        }
        let secs = started.elapsed().as_secs_f64();
        all.sort_unstable();
        let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
        println!(
            "| {users} | `{label}` | {:.0} | {:.2} | {:.2} |",
            all.len() as f64 / secs,
            at(0.50).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3
        );
    }
    Ok(())
}
