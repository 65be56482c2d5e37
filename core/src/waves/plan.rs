//! The wave plan model: which tenants get which version of an application, in what order, with what safety limits.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checks::{check_dns1123_label, check_image_reference, check_label_key, check_label_value, parse_duration};
use crate::error::{Problems, ValidationErrors};

/// Which tenants of the fleet a plan upgrades (only those already running the application).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSelection {
    /// Tenants whose Namespace carries every one of these labels (the tenant's own labels).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Tenants placed on one of these fleet clusters (empty: any cluster).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    /// Exactly these tenants (empty: every tenant that matches the other rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
}

/// What happens between two waves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum WaveGate {
    /// The next wave starts at once.
    #[default]
    None,
    /// The plan pauses after each wave until [`super::resume`] is called (a person looks first).
    Pause,
    /// The plan waits this long (e.g. `10m`) after each wave, then goes on.
    Wait(String),
    /// After each wave, this analysis runs against every tenant the wave upgraded (its stable
    /// Service, the new version): one that fails stops the plan, one that cannot decide
    /// (inconclusive) pauses it until `resume`; all passed, the next wave starts.
    Analysis(Box<crate::model::analysis::Analysis>),
}

fn default_waves() -> Vec<u32> {
    vec![100]
}

fn default_max_concurrent() -> u32 {
    5
}

/// A plan to upgrade one application across tenants of a fleet, as written in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WavePlanSpec {
    /// The plan's name (a DNS label); its progress is stored under it, so a second process resumes it.
    pub name: String,
    /// The application to upgrade (tenants keep their own replicas, hosts and configuration).
    pub app: String,
    /// The version to roll out.
    pub version: String,
    /// The image of that version.
    pub image: String,
    /// Which tenants.
    #[serde(default)]
    pub selection: TenantSelection,
    /// Tenants upgraded first, alone in the first wave.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canary_tenants: Vec<String>,
    /// The other tenants in waves, as cumulative percentages, rising, ending at 100 (e.g. `[5, 25, 100]`).
    #[serde(default = "default_waves")]
    pub waves: Vec<u32>,
    /// At most this many rollouts at once on one cluster.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent_per_cluster: u32,
    /// What happens between waves.
    #[serde(default)]
    pub between_waves: WaveGate,
    /// The plan stops when more than this many tenants failed (the failed ones are rolled back,
    /// the upgraded ones stay).
    #[serde(default)]
    pub failure_budget: u32,
}

impl WavePlanSpec {
    /// A spec with every default: all tenants running `app`, one wave, 5 rollouts per cluster at once.
    pub fn new(name: impl Into<String>, app: impl Into<String>, version: impl Into<String>, image: impl Into<String>) -> Self {
        WavePlanSpec {
            name: name.into(),
            app: app.into(),
            version: version.into(),
            image: image.into(),
            selection: TenantSelection::default(),
            canary_tenants: Vec::new(),
            waves: default_waves(),
            max_concurrent_per_cluster: default_max_concurrent(),
            between_waves: WaveGate::None,
            failure_budget: 0,
        }
    }

    pub(crate) fn validate(&self, p: &mut Problems, path: &str) {
        p.check(|| format!("{path}.name"), check_dns1123_label(&self.name));
        p.check(|| format!("{path}.app"), check_dns1123_label(&self.app));
        p.check(|| format!("{path}.version"), check_label_value(&self.version));
        if self.version.is_empty() {
            p.add(format!("{path}.version"), "must not be empty");
        }
        p.check(|| format!("{path}.image"), check_image_reference(&self.image));
        for (k, v) in &self.selection.labels {
            p.check(|| format!("{path}.selection.labels.{k}"), check_label_key(k));
            p.check(|| format!("{path}.selection.labels.{k}"), check_label_value(v));
        }
        check_names(p, &format!("{path}.selection.clusters"), &self.selection.clusters);
        check_names(p, &format!("{path}.selection.tenants"), &self.selection.tenants);
        check_names(p, &format!("{path}.canaryTenants"), &self.canary_tenants);
        if !self.selection.tenants.is_empty() {
            for (i, t) in self.canary_tenants.iter().enumerate() {
                if !self.selection.tenants.contains(t) {
                    p.add(format!("{path}.canaryTenants[{i}]"), format!("{t:?} is not in selection.tenants; add it there or remove it here"));
                }
            }
        }
        if self.waves.is_empty() {
            p.add(format!("{path}.waves"), "must list at least one wave, ending at 100 (e.g. [100], or [5, 25, 100])");
        }
        let mut previous = 0;
        for (i, &w) in self.waves.iter().enumerate() {
            if w == 0 || w > 100 {
                p.add(format!("{path}.waves[{i}]"), format!("{w} is not a percentage between 1 and 100"));
            } else if w <= previous {
                p.add(format!("{path}.waves[{i}]"), format!("{w} does not rise above the previous wave ({previous}); waves are cumulative percentages"));
            }
            previous = previous.max(w);
        }
        if let Some(&last) = self.waves.last() {
            if last < 100 && last > 0 {
                p.add(
                    format!("{path}.waves[{}]", self.waves.len() - 1),
                    format!("the last wave is {last}%, so some tenants would never be upgraded; end with 100"),
                );
            }
        }
        if self.max_concurrent_per_cluster == 0 {
            p.add(format!("{path}.maxConcurrentPerCluster"), "must be at least 1");
        }
        match &self.between_waves {
            WaveGate::Wait(d) => {
                p.check(|| format!("{path}.betweenWaves.wait"), parse_duration(d).map(|_| ()));
            }
            WaveGate::Analysis(a) => a.validate(p, &format!("{path}.betweenWaves.analysis")),
            WaveGate::None | WaveGate::Pause => {}
        }
    }
}

fn check_names(p: &mut Problems, path: &str, names: &[String]) {
    let mut seen = BTreeSet::new();
    for (i, n) in names.iter().enumerate() {
        p.check(|| format!("{path}[{i}]"), check_dns1123_label(n));
        if !seen.insert(n) {
            p.add(format!("{path}[{i}]"), format!("{n:?} is listed twice"));
        }
    }
}

/// A validated wave plan. Build it with [`WavePlan::builder`] or [`WavePlan::from_spec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct WavePlan {
    spec: WavePlanSpec,
}

impl WavePlan {
    /// Starts a plan upgrading `app` to `version` (running `image`).
    pub fn builder(name: impl Into<String>, app: impl Into<String>, version: impl Into<String>, image: impl Into<String>) -> WavePlanBuilder {
        WavePlanBuilder { spec: WavePlanSpec::new(name, app, version, image) }
    }

    /// Validates a spec and returns the plan, or every problem found (paths start at `plan`).
    pub fn from_spec(spec: WavePlanSpec) -> Result<Self, ValidationErrors> {
        let mut p = Problems::default();
        spec.validate(&mut p, "plan");
        p.finish(WavePlan { spec })
    }

    /// The validated spec.
    pub fn spec(&self) -> &WavePlanSpec {
        &self.spec
    }

    /// The plan's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

/// Builds a [`WavePlan`]; [`WavePlanBuilder::build`] checks everything at once.
#[derive(Debug, Clone)]
pub struct WavePlanBuilder {
    spec: WavePlanSpec,
}

impl WavePlanBuilder {
    /// Upgrades only tenants carrying this label.
    pub fn select_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.selection.labels.insert(key.into(), value.into());
        self
    }
    /// Upgrades only tenants placed on this cluster (may be called several times).
    pub fn select_cluster(mut self, cluster: impl Into<String>) -> Self {
        self.spec.selection.clusters.push(cluster.into());
        self
    }
    /// Upgrades only these tenants.
    pub fn select_tenants<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tenants: I) -> Self {
        self.spec.selection.tenants = tenants.into_iter().map(Into::into).collect();
        self
    }
    /// Upgrades these tenants first, alone in the first wave.
    pub fn canary_tenants<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tenants: I) -> Self {
        self.spec.canary_tenants = tenants.into_iter().map(Into::into).collect();
        self
    }
    /// Cumulative percentages of the other tenants per wave, ending at 100.
    pub fn waves(mut self, percentages: impl IntoIterator<Item = u32>) -> Self {
        self.spec.waves = percentages.into_iter().collect();
        self
    }
    /// At most `n` rollouts at once per cluster.
    pub fn max_concurrent_per_cluster(mut self, n: u32) -> Self {
        self.spec.max_concurrent_per_cluster = n;
        self
    }
    /// Pauses after every wave until resumed.
    pub fn pause_between_waves(mut self) -> Self {
        self.spec.between_waves = WaveGate::Pause;
        self
    }
    /// Waits this long (e.g. `10m`) after every wave.
    pub fn wait_between_waves(mut self, duration: impl Into<String>) -> Self {
        self.spec.between_waves = WaveGate::Wait(duration.into());
        self
    }
    /// Runs `analysis` against the tenants of every wave before the next one (see [`WaveGate::Analysis`]).
    pub fn analysis_between_waves(mut self, analysis: crate::model::analysis::Analysis) -> Self {
        self.spec.between_waves = WaveGate::Analysis(Box::new(analysis));
        self
    }
    /// Stops the plan when more than `n` tenants failed.
    pub fn failure_budget(mut self, n: u32) -> Self {
        self.spec.failure_budget = n;
        self
    }
    /// Checks every field; returns the plan or every problem with its path.
    pub fn build(self) -> Result<WavePlan, ValidationErrors> {
        WavePlan::from_spec(self.spec)
    }
}

/// Splits `tenants` (already sorted) into waves: the canary tenants first (when any), then the
/// others by cumulative percentage, rounding up so that every wave but an empty selection moves.
pub(crate) fn assign_waves(spec: &WavePlanSpec, tenants: &[String]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let canaries: Vec<String> = tenants.iter().filter(|t| spec.canary_tenants.contains(t)).cloned().collect();
    if !canaries.is_empty() {
        out.push(("canary".to_string(), canaries));
    }
    let rest: Vec<&String> = tenants.iter().filter(|t| !spec.canary_tenants.contains(t)).collect();
    let mut taken = 0usize;
    for &pct in &spec.waves {
        let upto = (rest.len() * pct as usize).div_ceil(100).min(rest.len());
        let wave: Vec<String> = rest[taken..upto.max(taken)].iter().map(|s| s.to_string()).collect();
        taken = upto.max(taken);
        out.push((format!("{pct}%"), wave));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let err = WavePlan::builder("Bad Name", "shop", "", "nginx:1.27")
            .waves([25, 10, 90])
            .max_concurrent_per_cluster(0)
            .wait_between_waves("soon")
            .canary_tenants(["a", "a"])
            .build()
            .unwrap_err();
        for path in
            ["plan.name", "plan.version", "plan.waves[1]", "plan.waves[2]", "plan.maxConcurrentPerCluster", "plan.betweenWaves.wait", "plan.canaryTenants[1]"]
        {
            assert!(err.has_path(path), "{path} missing from {err}");
        }
    }

    #[test]
    fn waves_are_cumulative_and_cover_everyone_once() {
        let spec = WavePlan::builder("p", "shop", "2.0", "shop:2.0").canary_tenants(["t03"]).waves([5, 25, 100]).build().unwrap().spec;
        let tenants: Vec<String> = (0..41).map(|i| format!("t{i:02}")).collect();
        let waves = assign_waves(&spec, &tenants);
        let labels: Vec<&str> = waves.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["canary", "5%", "25%", "100%"]);
        assert_eq!(waves[0].1, ["t03"]);
        let sizes: Vec<usize> = waves.iter().map(|(_, w)| w.len()).collect();
        // 40 others: 5% -> 2, 25% -> 10 in all, 100% -> 40 in all.
        assert_eq!(sizes, [1, 2, 8, 30]);
        let mut all: Vec<String> = waves.into_iter().flat_map(|(_, w)| w).collect();
        all.sort();
        assert_eq!(all, tenants);
    }
}
