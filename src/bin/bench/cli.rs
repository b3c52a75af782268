//! The command line: the benchmark's options.

use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "hookrelay-bench",
    about = "End-to-end benchmark of a built Hookrelay: webhook and SQS throughput, latency, memory"
)]
pub struct Args {
    /// The hookrelay binary to benchmark.
    #[arg(long = "bin", default_value = "target/dist/hookrelay")]
    pub bin: PathBuf,
    /// Events in the webhook throughput run.
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Concurrent posters (each sends batches of 1,000 events) in the throughput runs.
    #[arg(long, default_value_t = 4)]
    pub posters: usize,
    /// Events in the SQS run (and messages in the emulator ceiling run).
    #[arg(long, default_value_t = 20_000)]
    pub sqs_events: usize,
    /// Concurrent SendMessageBatch senders for the emulator ceiling run.
    #[arg(long, default_value_t = 16)]
    pub sqs_senders: usize,
    /// Events per second in the latency run (one event per POST).
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Duration of the latency run.
    #[arg(long, default_value_t = 10)]
    pub latency_seconds: u64,
    /// App page requests in the dashboard run.
    #[arg(long, default_value_t = 5000)]
    pub pages: usize,
    /// Concurrent clients in the dashboard run.
    #[arg(long, default_value_t = 50)]
    pub page_concurrency: usize,
    /// App pages per second in the paced dashboard run that follows (each request sent on
    /// time, however many are in flight); 0 skips it.
    #[arg(long, default_value_t = 1000)]
    pub page_rate: u32,
    /// The server's database: empty for SQLite in a fresh data directory (the default), or
    /// the URL of an empty PostgreSQL database (`postgres://…`) for the PostgreSQL run.
    #[arg(long, default_value = "")]
    pub database_url: String,
    /// Skip the SQS run (it is skipped anyway when AWS_ENDPOINT_URL is not set).
    #[arg(long)]
    pub skip_sqs: bool,
    /// Finished deliveries (two days old, one event each) seeded for the retention run, which
    /// measures POST /events at `--rate` while the server prunes them, beside the same load
    /// without pruning; 0 skips the run.
    #[arg(long, default_value_t = 1_000_000)]
    pub prune_rows: u64,
    /// Run only the retention run (on a fresh app), none of the others.
    #[arg(long)]
    pub prune_only: bool,
}
