//! The report: durations and rates as text, percentiles, and the markdown summary table.

use std::time::Duration;

use crate::dashboard::PageResult;
use crate::latency::LatencyResult;
use crate::prune::PruneResult;
use crate::sqs::SqsResult;
use crate::webhook::WebhookResult;

/// 1234567.8 -> "1,234,568"
pub fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

pub fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// "p50 A ms, p90 B ms, p99 C ms, max D ms" of sorted latencies (the runs' log lines).
pub fn spread(sorted: &[Duration]) -> String {
    format!(
        "p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        ms(percentile(sorted, 0.50)),
        ms(percentile(sorted, 0.90)),
        ms(percentile(sorted, 0.99)),
        ms(percentile(sorted, 1.0)),
    )
}

/// "A / B ms": p50 and p99 of sorted latencies (the summary table's cells).
fn p50_p99(sorted: &[Duration]) -> String {
    format!(
        "{} / {} ms",
        ms(percentile(sorted, 0.50)),
        ms(percentile(sorted, 0.99))
    )
}

pub struct Report {
    pub posters: usize,
    pub sqs_senders: usize,
    pub webhook: WebhookResult,
    pub sqs: std::result::Result<SqsResult, String>,
    pub latency: LatencyResult,
    pub pages: PageResult,
    pub rss: Option<u64>,
    pub exit: (String, bool),
    /// The retention run, unless skipped (`--prune-rows 0`).
    pub prune: Option<std::result::Result<PruneResult, String>>,
    pub sink_requests: u64,
    pub bad_signature: u64,
    pub unreadable: u64,
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

/// The server's memory budget under this benchmark (issue 17), in MiB.
const RSS_BUDGET_MB: f64 = 64.0;

pub fn print_summary(r: &Report) -> bool {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut met = 0;
    let mut targets = 0;

    let w = &r.webhook;
    targets += 1;
    let w_ok = w.end_to_end.is_some_and(|x| x >= 20_000.0);
    met += usize::from(w_ok);
    rows.push((
        format!(
            "webhook throughput, end to end ({} events)",
            thousands(w.n as f64)
        ),
        w.end_to_end.map_or("incomplete".into(), |x| {
            format!("{} events/s", thousands(x))
        }),
        format!("≥ 20,000 events/s ({})", verdict(w_ok)),
    ));
    rows.push((
        "webhook accept rate (POST /events, 1,000 per batch)".into(),
        format!("{} events/s", thousands(w.accept_rate)),
        "—".into(),
    ));
    match &r.sqs {
        Ok(s) => {
            targets += 1;
            let ratio = s.rate.map(|x| 100.0 * x / s.ceiling);
            let ok = ratio.is_some_and(|p| p >= 90.0);
            met += usize::from(ok);
            rows.push((
                format!(
                    "SQS throughput ({} events, emulator)",
                    thousands(s.m as f64)
                ),
                s.rate.map_or("incomplete".into(), |x| {
                    format!("{} events/s", thousands(x))
                }),
                "—".into(),
            ));
            rows.push((
                format!(
                    "emulator raw ceiling (SendMessageBatch ×10, {} senders)",
                    r.sqs_senders
                ),
                format!("{} msgs/s", thousands(s.ceiling)),
                "—".into(),
            ));
            rows.push((
                "SQS throughput / emulator ceiling".into(),
                ratio.map_or("—".into(), |p| format!("{p:.0} %")),
                format!("≥ 90 % ({})", verdict(ok)),
            ));
        }
        Err(why) => rows.push((
            "SQS throughput".into(),
            format!("skipped ({why})"),
            "≥ 90 % of emulator ceiling".into(),
        )),
    }
    let l = &r.latency;
    targets += 1;
    let p99 = percentile(&l.delivered, 0.99);
    let l_ok = l.missing == 0 && !l.delivered.is_empty() && p99 <= Duration::from_millis(10);
    met += usize::from(l_ok);
    rows.push((
        format!(
            "accept → delivered at {}/s, p50 / p90 / p99 / max",
            thousands(f64::from(l.rate))
        ),
        format!(
            "{} / {} / {} / {} ms",
            ms(percentile(&l.delivered, 0.50)),
            ms(percentile(&l.delivered, 0.90)),
            ms(p99),
            ms(percentile(&l.delivered, 1.0))
        ),
        format!("p99 ≤ 10 ms ({})", verdict(l_ok)),
    ));
    rows.push((
        "POST /events (1 event) p50 / p99".into(),
        p50_p99(&l.post),
        "—".into(),
    ));
    let p = &r.pages;
    targets += 1;
    let page_p99 = percentile(&p.latencies, 0.99);
    let p_ok = !p.latencies.is_empty() && page_p99 <= Duration::from_millis(10);
    met += usize::from(p_ok);
    rows.push((
        format!(
            "app page SSR ({} bytes), {} concurrent, p50 / p99",
            thousands(p.bytes as f64),
            p.concurrency
        ),
        format!("{} ({} pages/s)", p50_p99(&p.latencies), thousands(p.rate)),
        format!("p99 ≤ 10 ms ({})", verdict(p_ok)),
    ));
    if !p.paced.is_empty() {
        rows.push((
            format!(
                "app page SSR at {}/s (paced), p50 / p99",
                thousands(f64::from(p.paced_rate))
            ),
            p50_p99(&p.paced),
            "—".into(),
        ));
    }
    targets += 1;
    let rss_mb = r.rss.map(|b| b as f64 / 1_048_576.0);
    let rss_ok = rss_mb.is_some_and(|mb| mb <= RSS_BUDGET_MB);
    met += usize::from(rss_ok);
    rows.push((
        "peak RSS of hookrelay (VmHWM)".into(),
        rss_mb.map_or("unknown".into(), |mb| {
            format!("{mb:.1} MB (budget {RSS_BUDGET_MB:.0} MB)")
        }),
        format!("≤ {RSS_BUDGET_MB:.0} MB ({})", verdict(rss_ok)),
    ));
    let prune_ok = match &r.prune {
        None => true,
        Some(Ok(pr)) => {
            rows.push((
                format!(
                    "POST /events (1 event) at {}/s while pruning {} deliveries, p50 / p99",
                    thousands(f64::from(pr.rate)),
                    thousands(pr.rows as f64)
                ),
                p50_p99(&pr.during),
                "—".into(),
            ));
            rows.push((
                "… the same load without pruning, p50 / p99".into(),
                p50_p99(&pr.without),
                "—".into(),
            ));
            rows.push((
                format!("prune of {} finished deliveries", thousands(pr.rows as f64)),
                pr.pruned
                    .map_or("unknown".into(), |l| format!("{:.1} s", l.seconds)),
                "—".into(),
            ));
            true
        }
        Some(Err(e)) => {
            rows.push((
                "retention run (POST /events while pruning)".into(),
                format!("failed: {e}"),
                "—".into(),
            ));
            false
        }
    };
    let missing = w.missing + l.missing;
    let duplicates = w.duplicates + l.duplicates;
    rows.push((
        "webhook deliveries missing / duplicated".into(),
        format!("{missing} / {duplicates}"),
        "0 / 0".into(),
    ));
    rows.push((
        "exit on SIGTERM".into(),
        r.exit.0.clone(),
        "exit code 0".into(),
    ));

    println!();
    println!(
        "## Benchmark: {} ({} cores; {} posters; latency run {} events at {}/s)",
        crate::server::backend_name(),
        cores,
        r.posters,
        l.sent,
        l.rate
    );
    println!();
    println!("| metric | value | target |");
    println!("|---|---|---|");
    for (metric, value, target) in &rows {
        println!("| {metric} | {value} | {target} |");
    }
    println!();
    println!("targets met: {met} of {targets}");
    if r.bad_signature > 0 || r.unreadable > 0 {
        println!(
            "sink: {} requests, {} with a wrong or missing x-signature, {} unreadable",
            r.sink_requests, r.bad_signature, r.unreadable
        );
    }
    missing == 0 && r.exit.1 && prune_ok && r.bad_signature == 0 && r.unreadable == 0
}
