//! Rollout progress on stderr: an indicatif bar and spinner on terminals, one plain line per event otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use moorage::rollout::{Progress, RolloutOptions};

use crate::args::Format;

/// One line describing a progress event, for people.
pub fn describe(p: &Progress) -> String {
    match p {
        Progress::PreflightPassed { extra_pods } => format!("quota preflight passed ({extra_pods} extra pods at the peak)"),
        Progress::Applied { objects, changed } => format!("applied {objects} objects ({changed} changed)"),
        Progress::ReplicasReady { version, ready, desired } => format!("{version}: {ready}/{desired} ready"),
        Progress::WaitingForPromotion { version } => format!("{version} is ready; waiting for `moorage promote`"),
        Progress::TrafficSwitched { from, to, .. } => match from {
            Some(from) => format!("traffic switched from {from} to {to}"),
            None => format!("traffic on {to}"),
        },
        Progress::KeepingWarm { version, delay } => format!("keeping {version} warm for {}s", delay.as_secs()),
        Progress::ScaledDown { version } => format!("{version} scaled down (kept for rollback)"),
        Progress::Pruned { version } => format!("{version} pruned"),
        Progress::WeightSet { requested, actual, canary, total } => format!("canary weight {actual}% (asked {requested}%, {canary}/{total} endpoints)"),
        Progress::Paused { version, step, note } => format!("{version} paused at step {step}: {note}"),
        Progress::Aborted { version } => format!("canary {version} aborted; all traffic on the stable version"),
        Progress::AnalysisFinished { name, gate, verdict, reason } => format!("analysis {name} ({gate}): {} ({reason})", verdict.as_str()),
        Progress::Done { revision, version } => format!("done: revision {revision} ({version}) is live"),
    }
}

/// How progress is shown during one command.
pub enum ProgressView {
    /// An indicatif spinner, with a bar while replicas become ready.
    Bar(ProgressBar),
    /// One line per event on stderr.
    Lines,
    /// Nothing (JSON/YAML output keeps stderr for errors only).
    Off,
}

impl ProgressView {
    /// The view for this run: a bar on a terminal, lines on other stderr, nothing for JSON/YAML.
    pub fn for_run(format: Format) -> Self {
        if format != Format::Table {
            return ProgressView::Off;
        }
        if !std::io::stderr().is_terminal() {
            return ProgressView::Lines;
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.enable_steady_tick(Duration::from_millis(120));
        ProgressView::Bar(bar)
    }

    /// Rollout options with `timeout` that send progress here.
    pub fn options(&self, timeout: Duration, wait_for_scale_down: bool) -> RolloutOptions {
        let options = RolloutOptions { wait_for_scale_down, ..RolloutOptions::with_timeout(timeout) };
        match self {
            ProgressView::Off => options,
            ProgressView::Lines => options.on_progress(|p| eprintln!("{}", describe(p))),
            ProgressView::Bar(bar) => {
                let bar = bar.clone();
                options.on_progress(move |p| show(&bar, p))
            }
        }
    }

    /// Clears the bar (before the result is printed).
    pub fn finish(&self) {
        if let ProgressView::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn show(bar: &ProgressBar, p: &Progress) {
    match p {
        Progress::ReplicasReady { version, ready, desired } => {
            bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}").unwrap_or_else(|_| ProgressStyle::default_bar()));
            bar.set_length(u64::from(*desired));
            bar.set_position(u64::from(*ready));
            bar.set_message(format!("{version} ready"));
        }
        other => {
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
            // Every step stays visible above the spinner.
            bar.println(format!("  {}", describe(other)));
            bar.set_message(describe(other));
        }
    }
}
