//! The import progress line: rows, MB read and MB/s, redrawn a few times a
//! second from the loader's counters; hidden when stderr is not a terminal
//! or with `--quiet`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hyperctl_sql::LoadProgress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A running progress line; [`ImportProgress::finish`] clears it.
#[derive(Debug)]
pub(crate) struct ImportProgress {
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl ImportProgress {
    /// Starts drawing `counters` unless `quiet` or stderr is not a terminal.
    pub(crate) fn start(counters: Arc<LoadProgress>, quiet: bool) -> ImportProgress {
        let stop = Arc::new(AtomicBool::new(false));
        if quiet || !std::io::stderr().is_terminal() {
            return ImportProgress { stop, ticker: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let flag = Arc::clone(&stop);
        let ticker = std::thread::spawn(move || {
            let started = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                bar.set_message(line(&counters, started.elapsed()));
                bar.tick();
                std::thread::sleep(Duration::from_millis(120));
            }
            bar.finish_and_clear();
        });
        ImportProgress {
            stop,
            ticker: Some(ticker),
        }
    }

    /// Stops and clears the line.
    pub(crate) fn finish(mut self) {
        self.stop_ticker();
    }

    fn stop_ticker(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ImportProgress {
    fn drop(&mut self) {
        self.stop_ticker();
    }
}

/// `1,234,567 rows  812.4 MB  301.2 MB/s`.
pub(crate) fn line(counters: &LoadProgress, elapsed: Duration) -> String {
    let mb = counters.bytes_read() as f64 / 1e6;
    let secs = elapsed.as_secs_f64().max(1e-3);
    let mut text = format!(
        "{} rows  {mb:.1} MB  {:.1} MB/s",
        counters.rows(),
        mb / secs
    );
    if counters.rejected() > 0 {
        text.push_str(&format!("  {} rejected", counters.rejected()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_rows_mb_and_rate() {
        let counters = LoadProgress::new();
        counters.add_rows(1234, 5_000_000);
        assert_eq!(
            line(&counters, Duration::from_secs(2)),
            "1234 rows  5.0 MB  2.5 MB/s"
        );
    }
}
