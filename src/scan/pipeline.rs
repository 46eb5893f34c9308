//! The streaming pipeline: input items in, rows out in input order, with a bounded
//! number of domains in flight and a bounded reorder buffer.
//!
//! ```text
//! reader thread ──(bounded channel)──▶ dispatcher ──spawn──▶ per-domain tasks (≤ concurrency)
//!                                           │                        │
//!                                           ◀──── finished rows ─────┘
//!                                           ▼
//!                               reorder buffer (≤ window rows) ──▶ sink (input order)
//! ```
//!
//! Backpressure: the dispatcher stops taking input while `concurrency` domains are
//! in flight or while the oldest unwritten row is `window` items behind the newest
//! one, so memory is bounded whatever the input's length. A slow sink slows the
//! dispatcher, which stops reading.
//!
//! One slow domain (a policy host that stalls until the fetch timeout) holds up the rows
//! after it, while the other domains go on: the window must cover what the pipeline
//! finishes during the slowest domain's time, so finished rows wait in a compact form
//! (`finish` turns each into what the sink takes, e.g. its CSV bytes).

use crate::row::ResultRow;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// One input line as the pipeline sees it.
#[derive(Debug)]
pub enum Item {
    /// A domain to scan.
    Scan {
        /// Rank as the row will show it.
        rank: u64,
        /// The normalised domain.
        domain: String,
    },
    /// A line whose row is already decided (invalid input, duplicate, or
    /// already done in an earlier run).
    Ready(Box<ResultRow>),
}

/// Limits of the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Domains scanned at once.
    pub concurrency: usize,
    /// Largest distance between the oldest unwritten item and the newest taken.
    pub window: usize,
}

/// The reorder window for `concurrency` domains in flight: it must cover what the other
/// domains finish while one waits for its timeouts (DNS retries, then a policy fetch of up
/// to `--timeout`); at ~100 ms per domain that is 100-200 domains per slot. Waiting rows
/// cost 24 B each in the ring, and their bytes past 4 MiB go to a spill file (`spill`).
pub fn window_for(concurrency: usize) -> usize {
    (concurrency.max(1) * 128).max(65_536)
}

/// What a pipeline run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Rows written.
    pub rows: u64,
    /// Of which scanned by the per-domain function.
    pub scanned: u64,
}

/// Observes progress (called from the dispatcher; keep it cheap).
pub trait Observer: Send {
    fn started(&mut self, _in_flight: usize) {}
    fn finished(&mut self, _row: &ResultRow) {}
}

/// No progress reporting.
pub struct Silent;
impl Observer for Silent {}

/// Why the pipeline stopped early.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("reading the input: {0}")]
    Input(io::Error),
    #[error("writing results: {0}")]
    Output(io::Error),
    #[error("a scan task failed: {0}")]
    Task(String),
}

/// Runs the pipeline to the end of `input` (or until `stop` resolves, after which
/// no new input is taken and in-flight domains are finished).
/// `finish` is applied to each row as it completes (in completion order); the sink gets
/// its results in input order.
pub async fn run<I, F, Fut, D, T, S>(
    input: I,
    limits: Limits,
    scan: F,
    mut finish: D,
    mut sink: S,
    observer: &mut dyn Observer,
    stop: impl Future<Output = ()>,
) -> Result<Counts, PipelineError>
where
    I: Iterator<Item = io::Result<Item>> + Send + 'static,
    F: Fn(u64, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ResultRow> + Send + 'static,
    D: FnMut(ResultRow) -> T,
    S: FnMut(T) -> io::Result<()>,
{
    let concurrency = limits.concurrency.max(1);
    let window = limits.window.max(concurrency) as u64;
    let (tx, mut rx) = mpsc::channel::<io::Result<Item>>(1024);
    let reader = std::thread::spawn(move || {
        for item in input {
            let failed = item.is_err();
            if tx.blocking_send(item).is_err() || failed {
                break;
            }
        }
    });

    let scan = Arc::new(scan);
    let mut tasks: JoinSet<(u64, ResultRow)> = JoinSet::new();
    // Finished items by position after the next one to write: a ring allocated once at the
    // window's size, so its memory does not depend on how far a slow domain lets it fill.
    let mut pending: VecDeque<Option<T>> = VecDeque::with_capacity(window as usize + 1);
    let mut parked = 0usize;
    let mut next_seq: u64 = 0;
    let mut next_write: u64 = 0;
    let mut input_done = false;
    let mut counts = Counts::default();
    tokio::pin!(stop);
    let mut stopped = false;

    loop {
        let can_take =
            !input_done && !stopped && tasks.len() < concurrency && next_seq - next_write < window;
        tokio::select! {
            biased;
            _ = &mut stop, if !stopped => {
                stopped = true;
                rx.close();
            }
            done = tasks.join_next(), if !tasks.is_empty() => {
                let (seq, row) = done
                    .expect("join_next on a non-empty set")
                    .map_err(|e| PipelineError::Task(e.to_string()))?;
                counts.scanned += 1;
                observer.finished(&row);
                park(&mut pending, (seq - next_write) as usize, finish(row));
                parked += 1;
            }
            item = rx.recv(), if can_take => {
                match item {
                    None => input_done = true,
                    Some(Err(e)) => return Err(PipelineError::Input(e)),
                    Some(Ok(Item::Ready(row))) => {
                        observer.finished(&row);
                        park(&mut pending, (next_seq - next_write) as usize, finish(*row));
                        parked += 1;
                        next_seq += 1;
                    }
                    Some(Ok(Item::Scan { rank, domain })) => {
                        let seq = next_seq;
                        next_seq += 1;
                        let scan = Arc::clone(&scan);
                        tasks.spawn(async move { (seq, scan(rank, domain).await) });
                        observer.started(tasks.len());
                    }
                }
            }
            else => break,
        }
        while let Some(Some(_)) = pending.front() {
            let Some(Some(done)) = pending.pop_front() else {
                unreachable!("front checked above")
            };
            parked -= 1;
            sink(done).map_err(PipelineError::Output)?;
            next_write += 1;
            counts.rows += 1;
        }
        if (input_done || stopped) && tasks.is_empty() && parked == 0 {
            break;
        }
    }
    // The reader ends by itself once the channel is gone (it may be blocked on stdin).
    drop(rx);
    drop(reader);
    Ok(counts)
}

/// Puts `item` at position `at` of the ring (0 = the next to write).
fn park<T>(ring: &mut VecDeque<Option<T>>, at: usize, item: T) {
    if ring.len() <= at {
        ring.resize_with(at + 1, || None);
    }
    ring[at] = Some(item);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::InputStatus;
    use std::time::Duration;

    fn items(n: u64) -> impl Iterator<Item = io::Result<Item>> + Send + 'static {
        (1..=n).map(|i| {
            Ok(if i % 10 == 0 {
                Item::Ready(Box::new(ResultRow {
                    rank: i,
                    domain: format!("bad{i}"),
                    input_status: Some(InputStatus::Invalid),
                    ..Default::default()
                }))
            } else {
                Item::Scan {
                    rank: i,
                    domain: format!("d{i}.example"),
                }
            })
        })
    }

    async fn slow_scan(rank: u64, domain: String) -> ResultRow {
        // Later domains finish first: the reorder buffer must restore input order.
        tokio::time::sleep(Duration::from_micros((7919 * rank) % 3000)).await;
        ResultRow {
            rank,
            domain,
            input_status: Some(InputStatus::Ok),
            ..Default::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_come_out_in_input_order_exactly_once() {
        let mut out = Vec::new();
        let limits = Limits {
            concurrency: 64,
            window: 256,
        };
        let counts = run(
            items(5000),
            limits,
            slow_scan,
            |row| row,
            |row| {
                out.push(row.rank);
                Ok(())
            },
            &mut Silent,
            std::future::pending(),
        )
        .await
        .unwrap();
        assert_eq!(out, (1..=5000).collect::<Vec<_>>());
        assert_eq!(counts.rows, 5000);
        assert_eq!(counts.scanned, 4500);
    }

    struct MaxInFlight(usize);
    impl Observer for MaxInFlight {
        fn started(&mut self, n: usize) {
            self.0 = self.0.max(n);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_than_the_concurrency_limit_in_flight() {
        let mut obs = MaxInFlight(0);
        let limits = Limits {
            concurrency: 8,
            window: 8,
        };
        run(
            items(500),
            limits,
            slow_scan,
            |row| row,
            |_| Ok(()),
            &mut obs,
            std::future::pending(),
        )
        .await
        .unwrap();
        assert!(obs.0 <= 8 && obs.0 > 1, "max in flight {}", obs.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_sink_stops_the_run_with_an_output_error() {
        let limits = Limits {
            concurrency: 4,
            window: 16,
        };
        let err = run(
            items(100),
            limits,
            slow_scan,
            |row| row,
            |row| {
                if row.rank == 30 {
                    Err(io::Error::other("disk full"))
                } else {
                    Ok(())
                }
            },
            &mut Silent,
            std::future::pending(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, PipelineError::Output(_)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stop_finishes_in_flight_work_and_writes_a_gapless_prefix() {
        let mut out = Vec::new();
        let limits = Limits {
            concurrency: 16,
            window: 64,
        };
        let stop = tokio::time::sleep(Duration::from_millis(30));
        run(
            items(1_000_000),
            limits,
            slow_scan,
            |row| row,
            |row| {
                out.push(row.rank);
                Ok(())
            },
            &mut Silent,
            stop,
        )
        .await
        .unwrap();
        assert!(!out.is_empty() && out.len() < 1_000_000);
        assert_eq!(out, (1..=out.len() as u64).collect::<Vec<_>>());
    }
}
