//! Strategy: how a release replaces the previous version (rolling, blue/green, canary).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checks;
use crate::error::Problems;

/// How a release replaces the previous version of its application.
///
/// In spec files it is one map with a `type` (`rolling`, `blueGreen`, `canary`) and that type's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "StrategyRepr", into = "StrategyRepr")]
pub enum Strategy {
    /// The Deployment's own rolling update.
    Rolling(Rolling),
    /// The new version runs beside the old one; traffic moves in one selector patch once it is ready.
    BlueGreen(BlueGreen),
    /// Traffic moves to the new version step by step.
    Canary(Canary),
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy::Rolling(Rolling::default())
    }
}

impl Strategy {
    /// A rolling update with the given surge and unavailability (counts like `"1"` or percentages like `"25%"`).
    pub fn rolling(max_surge: impl Into<String>, max_unavailable: impl Into<String>) -> Self {
        Strategy::Rolling(Rolling { max_surge: max_surge.into(), max_unavailable: max_unavailable.into() })
    }

    /// A blue/green update with the defaults of [`BlueGreen::default`].
    pub fn blue_green() -> BlueGreen {
        BlueGreen::default()
    }

    /// A canary update through the given steps, split by replica ratio.
    pub fn canary(steps: impl IntoIterator<Item = CanaryStep>) -> Canary {
        Canary { steps: steps.into_iter().collect(), traffic: TrafficRouting::default() }
    }

    /// The name of the strategy as used in specs (`rolling`, `blueGreen`, `canary`).
    pub fn kind(&self) -> &'static str {
        match self {
            Strategy::Rolling(_) => "rolling",
            Strategy::BlueGreen(_) => "blueGreen",
            Strategy::Canary(_) => "canary",
        }
    }

    /// The analyses the strategy refers to, with the field path of each reference.
    pub(crate) fn analysis_references(&self, path: &str) -> Vec<(String, &str)> {
        match self {
            Strategy::Rolling(_) => Vec::new(),
            Strategy::BlueGreen(b) => {
                let pre = b.pre_promotion_analysis.iter().enumerate().map(|(i, n)| (format!("{path}.prePromotionAnalysis[{i}]"), n.as_str()));
                let post = b.post_promotion_analysis.iter().enumerate().map(|(i, n)| (format!("{path}.postPromotionAnalysis[{i}]"), n.as_str()));
                pre.chain(post).collect()
            }
            Strategy::Canary(c) => c
                .steps
                .iter()
                .enumerate()
                .filter_map(|(i, s)| if let CanaryStep::Analysis(a) = s { Some((format!("{path}.steps[{i}].analysis.name"), a.name.as_str())) } else { None })
                .collect(),
        }
    }

    pub(crate) fn validate(&self, p: &mut Problems, path: &str, replicas: u32) {
        match self {
            Strategy::Rolling(r) => r.validate(p, path, replicas),
            Strategy::BlueGreen(b) => b.validate(p, path),
            Strategy::Canary(c) => c.validate(p, path),
        }
    }
}

/// The spec-file form of a [`Strategy`]: a `type` and the fields of that type. Read field by field
/// (not buffered like an internally tagged enum), so errors keep their exact path and line.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StrategyRepr {
    /// `rolling`, `blueGreen` or `canary`.
    #[serde(rename = "type")]
    pub type_: StrategyType,
    /// Rolling: pods above the desired count during the update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<String>,
    /// Rolling: pods that may be unavailable during the update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<String>,
    /// Blue/green: switch as soon as the new version is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promote: Option<bool>,
    /// Blue/green: the preview host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_host: Option<String>,
    /// Blue/green: how long the old version stays warm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay: Option<String>,
    /// Blue/green: previous versions kept for rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_previous: Option<u32>,
    /// Blue/green: analyses (by name) that must pass before traffic switches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_promotion_analysis: Option<Vec<String>>,
    /// Blue/green: analyses (by name) run after the switch; a failure switches traffic back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_promotion_analysis: Option<Vec<String>>,
    /// Canary: the steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<CanaryStep>>,
    /// Canary: how traffic is split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficRouting>,
}

/// The kinds of strategy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum StrategyType {
    /// [`Strategy::Rolling`].
    #[default]
    Rolling,
    /// [`Strategy::BlueGreen`].
    BlueGreen,
    /// [`Strategy::Canary`].
    Canary,
}

impl TryFrom<StrategyRepr> for Strategy {
    type Error = String;

    fn try_from(r: StrategyRepr) -> Result<Self, String> {
        let misplaced = |allowed: &[&str], kind: &str| -> Result<(), String> {
            let present = [
                ("maxSurge", r.max_surge.is_some()),
                ("maxUnavailable", r.max_unavailable.is_some()),
                ("autoPromote", r.auto_promote.is_some()),
                ("previewHost", r.preview_host.is_some()),
                ("scaleDownDelay", r.scale_down_delay.is_some()),
                ("keepPrevious", r.keep_previous.is_some()),
                ("prePromotionAnalysis", r.pre_promotion_analysis.is_some()),
                ("postPromotionAnalysis", r.post_promotion_analysis.is_some()),
                ("steps", r.steps.is_some()),
                ("traffic", r.traffic.is_some()),
            ];
            match present.iter().find(|(name, set)| *set && !allowed.contains(name)) {
                Some((name, _)) => Err(format!("{name} is not a field of a {kind} strategy (its fields: {})", allowed.join(", "))),
                None => Ok(()),
            }
        };
        Ok(match r.type_ {
            StrategyType::Rolling => {
                misplaced(&["maxSurge", "maxUnavailable"], "rolling")?;
                let d = Rolling::default();
                Strategy::Rolling(Rolling { max_surge: r.max_surge.unwrap_or(d.max_surge), max_unavailable: r.max_unavailable.unwrap_or(d.max_unavailable) })
            }
            StrategyType::BlueGreen => {
                misplaced(&["autoPromote", "previewHost", "scaleDownDelay", "keepPrevious", "prePromotionAnalysis", "postPromotionAnalysis"], "blueGreen")?;
                let d = BlueGreen::default();
                Strategy::BlueGreen(BlueGreen {
                    auto_promote: r.auto_promote.unwrap_or(d.auto_promote),
                    preview_host: r.preview_host,
                    scale_down_delay: r.scale_down_delay.unwrap_or(d.scale_down_delay),
                    keep_previous: r.keep_previous.unwrap_or(d.keep_previous),
                    pre_promotion_analysis: r.pre_promotion_analysis.unwrap_or_default(),
                    post_promotion_analysis: r.post_promotion_analysis.unwrap_or_default(),
                })
            }
            StrategyType::Canary => {
                misplaced(&["steps", "traffic"], "canary")?;
                Strategy::Canary(Canary { steps: r.steps.unwrap_or_default(), traffic: r.traffic.unwrap_or_default() })
            }
        })
    }
}

impl From<Strategy> for StrategyRepr {
    fn from(s: Strategy) -> Self {
        match s {
            Strategy::Rolling(r) => {
                StrategyRepr { type_: StrategyType::Rolling, max_surge: Some(r.max_surge), max_unavailable: Some(r.max_unavailable), ..Default::default() }
            }
            Strategy::BlueGreen(b) => StrategyRepr {
                type_: StrategyType::BlueGreen,
                auto_promote: Some(b.auto_promote),
                preview_host: b.preview_host,
                scale_down_delay: Some(b.scale_down_delay),
                keep_previous: Some(b.keep_previous),
                pre_promotion_analysis: Some(b.pre_promotion_analysis).filter(|a| !a.is_empty()),
                post_promotion_analysis: Some(b.post_promotion_analysis).filter(|a| !a.is_empty()),
                ..Default::default()
            },
            Strategy::Canary(c) => StrategyRepr { type_: StrategyType::Canary, steps: Some(c.steps), traffic: Some(c.traffic), ..Default::default() },
        }
    }
}

/// Rolling update settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rolling {
    /// Pods created above the desired count during the update: a count (`"1"`) or a percentage (`"25%"`).
    #[serde(default = "default_surge")]
    pub max_surge: String,
    /// Pods that may be unavailable during the update: a count or a percentage.
    #[serde(default = "default_unavailable")]
    pub max_unavailable: String,
}

fn default_surge() -> String {
    "25%".into()
}
fn default_unavailable() -> String {
    "0".into()
}

impl Default for Rolling {
    /// `maxSurge: 25%`, `maxUnavailable: 0`: never below the desired count.
    fn default() -> Self {
        Self { max_surge: default_surge(), max_unavailable: default_unavailable() }
    }
}

/// A count or a percentage, as Kubernetes' IntOrString accepts for surge and unavailability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CountOrPercent {
    Count(u32),
    Percent(u32),
}

impl CountOrPercent {
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let bad = || format!("{value:?} is neither a count (\"1\") nor a percentage (\"25%\")");
        if let Some(pct) = value.strip_suffix('%') {
            let n: u32 = pct.parse().map_err(|_| bad())?;
            if n > 100 {
                return Err(format!("{value:?} is over 100%"));
            }
            Ok(Self::Percent(n))
        } else {
            value.parse::<u32>().map(Self::Count).map_err(|_| bad())
        }
    }

    /// The number of pods it means for `replicas`; percentages round up for surge, down for unavailability.
    pub(crate) fn resolve(self, replicas: u32, round_up: bool) -> u32 {
        match self {
            Self::Count(n) => n,
            Self::Percent(pct) => {
                let scaled = u64::from(replicas) * u64::from(pct);
                let n = if round_up { scaled.div_ceil(100) } else { scaled / 100 };
                u32::try_from(n).unwrap_or(u32::MAX)
            }
        }
    }
}

impl Rolling {
    fn validate(&self, p: &mut Problems, path: &str, replicas: u32) {
        let surge = p.ok(format!("{path}.maxSurge"), CountOrPercent::parse(&self.max_surge));
        let unavailable = p.ok(format!("{path}.maxUnavailable"), CountOrPercent::parse(&self.max_unavailable));
        if let (Some(s), Some(u)) = (surge, unavailable) {
            if s.resolve(replicas.max(1), true) == 0 && u.resolve(replicas.max(1), false) == 0 {
                p.add(
                    format!("{path}.maxSurge"),
                    "maxSurge and maxUnavailable are both 0, so the update could never progress; set maxSurge to \"1\" or \"25%\"",
                );
            }
        }
    }
}

/// Blue/green settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlueGreen {
    /// Switch traffic as soon as the new version is ready (otherwise wait for `promote`).
    #[serde(default = "default_true")]
    pub auto_promote: bool,
    /// A host name on which the new version is reachable before the switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_host: Option<String>,
    /// How long the old version stays warm after the switch, for an instant rollback (`"30s"`, `"10m"`).
    #[serde(default = "default_scale_down_delay")]
    pub scale_down_delay: String,
    /// How many previous versions are kept (scaled down) for rollback.
    #[serde(default = "default_keep_previous")]
    pub keep_previous: u32,
    /// Analyses (names from the release's `analyses`) that must pass before traffic switches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre_promotion_analysis: Vec<String>,
    /// Analyses run after the switch, while the old version is warm; a failure switches back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_promotion_analysis: Vec<String>,
}

fn default_true() -> bool {
    true
}
fn default_scale_down_delay() -> String {
    "30s".into()
}
fn default_keep_previous() -> u32 {
    1
}

impl Default for BlueGreen {
    /// Auto-promote, no preview host, 30 s warm, one previous version kept.
    fn default() -> Self {
        Self {
            auto_promote: true,
            preview_host: None,
            scale_down_delay: default_scale_down_delay(),
            keep_previous: 1,
            pre_promotion_analysis: Vec::new(),
            post_promotion_analysis: Vec::new(),
        }
    }
}

impl BlueGreen {
    /// Whether to switch traffic as soon as the new version is ready.
    pub fn auto_promote(mut self, auto: bool) -> Self {
        self.auto_promote = auto;
        self
    }
    /// The preview host name.
    pub fn preview_host(mut self, host: impl Into<String>) -> Self {
        self.preview_host = Some(host.into());
        self
    }
    /// How long the old version stays warm after the switch.
    pub fn scale_down_delay(mut self, delay: impl Into<String>) -> Self {
        self.scale_down_delay = delay.into();
        self
    }
    /// How many previous versions are kept for rollback.
    pub fn keep_previous(mut self, n: u32) -> Self {
        self.keep_previous = n;
        self
    }
    /// Adds an analysis (by name) that must pass before traffic switches.
    pub fn pre_promotion_analysis(mut self, name: impl Into<String>) -> Self {
        self.pre_promotion_analysis.push(name.into());
        self
    }
    /// Adds an analysis (by name) run after the switch; a failure switches traffic back.
    pub fn post_promotion_analysis(mut self, name: impl Into<String>) -> Self {
        self.post_promotion_analysis.push(name.into());
        self
    }

    fn validate(&self, p: &mut Problems, path: &str) {
        if let Some(host) = &self.preview_host {
            p.check(|| format!("{path}.previewHost"), checks::check_hostname(host, false));
        }
        p.check(|| format!("{path}.scaleDownDelay"), checks::parse_duration(&self.scale_down_delay).map(|_| ()));
        if self.keep_previous > 10 {
            p.add(
                format!("{path}.keepPrevious"),
                format!("{} is more than 10; each kept version holds its ConfigMap and a scaled-down Deployment", self.keep_previous),
            );
        }
    }
}

impl From<BlueGreen> for Strategy {
    fn from(b: BlueGreen) -> Self {
        Strategy::BlueGreen(b)
    }
}

/// Canary settings: the steps and how traffic is split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Canary {
    /// The steps, in order.
    pub steps: Vec<CanaryStep>,
    /// How traffic is split between the stable and the canary version.
    #[serde(default)]
    pub traffic: TrafficRouting,
}

impl Canary {
    /// Splits traffic with the given method.
    pub fn traffic(mut self, traffic: TrafficRouting) -> Self {
        self.traffic = traffic;
        self
    }

    /// The largest weight any step sets (0 when none).
    pub fn max_weight(&self) -> u32 {
        self.steps.iter().filter_map(|s| if let CanaryStep::SetWeight(w) = s { Some(*w) } else { None }).max().unwrap_or(0)
    }

    fn validate(&self, p: &mut Problems, path: &str) {
        if self.steps.is_empty() {
            p.add(format!("{path}.steps"), "a canary needs at least one step, e.g. `- setWeight: 25`");
            return;
        }
        let mut last_weight: Option<(usize, u32)> = None;
        for (i, step) in self.steps.iter().enumerate() {
            let spath = format!("{path}.steps[{i}]");
            match step {
                CanaryStep::SetWeight(w) => {
                    if *w > 100 {
                        p.add(format!("{spath}.setWeight"), format!("{w} is over 100; a weight is a percentage of traffic (0 to 100)"));
                    } else if let Some((j, prev)) = last_weight {
                        if *w < prev {
                            p.add(
                                format!("{spath}.setWeight"),
                                format!("{w} is below the weight of steps[{j}] ({prev}); weights must not decrease (use abort to go back)"),
                            );
                        }
                    }
                    if *w <= 100 {
                        last_weight = Some((i, *w));
                    }
                }
                CanaryStep::Pause(pause) => {
                    if let Some(d) = &pause.duration {
                        p.check(|| format!("{spath}.pause.duration"), checks::parse_duration(d).map(|_| ()));
                    }
                }
                CanaryStep::Analysis(a) => {
                    p.check(|| format!("{spath}.analysis.name"), checks::check_dns1123_label(&a.name));
                }
            }
        }
        if last_weight.is_none() {
            p.add(format!("{path}.steps"), "no step sets a weight, so the canary would never receive traffic; add `- setWeight: 25`");
        }
    }
}

impl From<Canary> for Strategy {
    fn from(c: Canary) -> Self {
        Strategy::Canary(c)
    }
}

/// One canary step. In spec files: `- setWeight: 25`, `- pause: {duration: 5m}`, `- pause: {}`,
/// `- analysis: {name: error-rate}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "CanaryStepRepr", into = "CanaryStepRepr")]
pub enum CanaryStep {
    /// Send this percentage of traffic (0 to 100) to the canary.
    SetWeight(u32),
    /// Wait: for a duration, or until promoted when no duration is given.
    Pause(Pause),
    /// Run the named analysis; a failure aborts the rollout.
    Analysis(AnalysisStep),
}

impl CanaryStep {
    /// A `SetWeight` step.
    pub fn set_weight(weight: u32) -> Self {
        CanaryStep::SetWeight(weight)
    }
    /// A pause for a duration such as `"5m"`.
    pub fn pause_for(duration: impl Into<String>) -> Self {
        CanaryStep::Pause(Pause { duration: Some(duration.into()) })
    }
    /// A pause until the rollout is promoted.
    pub fn pause_until_promoted() -> Self {
        CanaryStep::Pause(Pause { duration: None })
    }
    /// An analysis step.
    pub fn analysis(name: impl Into<String>) -> Self {
        CanaryStep::Analysis(AnalysisStep { name: name.into() })
    }
}

/// The spec-file form of a [`CanaryStep`]: a map with exactly one key.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryStepRepr {
    /// Send this percentage of traffic to the canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_weight: Option<u32>,
    /// Wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<Pause>,
    /// Run an analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisStep>,
}

impl TryFrom<CanaryStepRepr> for CanaryStep {
    type Error = String;

    fn try_from(r: CanaryStepRepr) -> Result<Self, String> {
        match (r.set_weight, r.pause, r.analysis) {
            (Some(w), None, None) => Ok(CanaryStep::SetWeight(w)),
            (None, Some(p), None) => Ok(CanaryStep::Pause(p)),
            (None, None, Some(a)) => Ok(CanaryStep::Analysis(a)),
            _ => Err("a step has exactly one of setWeight, pause or analysis".to_string()),
        }
    }
}

impl From<CanaryStep> for CanaryStepRepr {
    fn from(s: CanaryStep) -> Self {
        match s {
            CanaryStep::SetWeight(w) => CanaryStepRepr { set_weight: Some(w), ..Default::default() },
            CanaryStep::Pause(p) => CanaryStepRepr { pause: Some(p), ..Default::default() },
            CanaryStep::Analysis(a) => CanaryStepRepr { analysis: Some(a), ..Default::default() },
        }
    }
}

/// A pause step.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pause {
    /// How long to wait (`"5m"`); absent means until promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

/// An analysis step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisStep {
    /// The name of the analysis to run.
    pub name: String,
}

/// How canary traffic is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TrafficRouting {
    /// By the ratio of ready replicas under one Service (weights are approximate with few replicas).
    #[default]
    ReplicaRatio,
    /// By ingress-nginx canary annotations.
    IngressNginx,
    /// By Gateway API HTTPRoute backend weights.
    GatewayApi,
}
