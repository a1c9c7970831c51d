//! `fake-anthropic --port N …`: serves the fake until SIGINT/SIGTERM.
//! Prints exactly one line, `listening on http://127.0.0.1:PORT`.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use fake_anthropic::{Config, FakeServer, RateLimit, TokenLimit};

#[derive(Parser)]
#[command(about = "A stateful fake of the Anthropic Files + Messages (code execution) API")]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long)]
    port: u16,
    #[arg(long, default_value_t = 0)]
    messages_latency_ms: u64,
    #[arg(long, default_value_t = 0)]
    files_latency_ms: u64,
    /// Requests per window, per group (Messages; Files).
    #[arg(long)]
    rate_limit: Option<u32>,
    #[arg(long, default_value_t = 60_000, requires = "rate_limit")]
    rate_window_ms: u64,
    /// Share of Messages requests answered 529 (0..=1).
    #[arg(long)]
    overload: Option<f64>,
    #[arg(long, default_value_t = 0, requires = "overload")]
    seed: u64,
    /// Require exactly this API key.
    #[arg(long)]
    api_key: Option<String>,
    #[arg(long)]
    max_concurrent_messages: Option<usize>,
    #[arg(long)]
    max_upload_bytes: Option<u64>,
    #[arg(long)]
    container_ttl_secs: Option<u64>,
    /// Input tokens per token window on Messages (cache reads do not count).
    #[arg(long)]
    input_tpm: Option<u64>,
    /// Output tokens per token window on Messages.
    #[arg(long, requires = "input_tpm")]
    output_tpm: Option<u64>,
    /// The token window; the real API's is a minute.
    #[arg(long, default_value_t = 60_000, requires = "input_tpm")]
    token_window_ms: u64,
    /// How long each Message Batch stays `in_progress` before it is processed.
    #[arg(long, default_value_t = 0)]
    batch_delay_ms: u64,
    /// The date model lifecycles and prices are judged by (YYYY-MM-DD); default today.
    #[arg(long)]
    today: Option<jiff::civil::Date>,
    /// Requests continuing a container's conversation must be strictly append-only.
    #[arg(long)]
    strict_prefix: bool,
    /// Answer a request naming an expired container with a bare 500 instead of a 400.
    #[arg(long)]
    expired_container_500: bool,
    /// Message Batch items that load skills come back `errored`.
    #[arg(long)]
    skills_in_batches_refused: bool,
}

#[expect(
    clippy::print_stdout,
    reason = "the listening line is the binary's interface"
)]
fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = Config {
        api_key: args.api_key,
        messages_latency: Duration::from_millis(args.messages_latency_ms),
        files_latency: Duration::from_millis(args.files_latency_ms),
        rate_limit: args.rate_limit.map(|requests| RateLimit {
            requests,
            window: Duration::from_millis(args.rate_window_ms),
        }),
        max_concurrent_messages: args.max_concurrent_messages,
        random_overload: args.overload.map(|p| (p, args.seed)),
        max_upload_bytes: args.max_upload_bytes,
        container_ttl: args.container_ttl_secs.map(Duration::from_secs),
        expired_container_500: args.expired_container_500,
        token_limit: args.input_tpm.map(|input| TokenLimit {
            input,
            output: args.output_tpm.unwrap_or(u64::from(u32::MAX)),
            window: Duration::from_millis(args.token_window_ms),
        }),
        batch_delay: Duration::from_millis(args.batch_delay_ms),
        today: args.today,
        strict_prefix: args.strict_prefix,
        skills_in_batches_refused: args.skills_in_batches_refused,
    };
    let server = FakeServer::bind(SocketAddr::from(([127, 0, 0, 1], args.port)), config)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        // Handlers first: a supervisor may signal as soon as it reads the line.
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        println!("listening on {}", server.base_url());
        std::io::stdout().flush()?;
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        Ok::<(), std::io::Error>(())
    })?;
    drop(server);
    Ok(())
}
