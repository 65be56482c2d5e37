//! The target of a command: a real cluster, the simulated cluster saved in a state file, or a manifests folder.

use std::path::PathBuf;
use std::sync::Arc;

use moorage::backend::cluster::ClusterBackend;
use moorage::backend::manifests::ManifestBackend;
use moorage::backend::sim::SimulatedCluster;
use moorage::backend::Backend;

use crate::args::TargetArgs;
use crate::error::CliError;

/// An opened target; [`Target::finish`] saves the simulated cluster's state.
pub struct Target {
    backend: Arc<dyn Backend>,
    simulated: Option<(Arc<SimulatedCluster>, PathBuf)>,
}

impl Target {
    /// Opens the target the options name: the simulated cluster (loaded from its state file when
    /// the file exists), a manifests folder, or a real cluster from the kubeconfig.
    pub async fn open(args: &TargetArgs) -> Result<Self, CliError> {
        if args.simulated {
            let sim = if args.state.exists() {
                SimulatedCluster::load(&args.state).map_err(|e| CliError::State { path: args.state.clone(), message: e.to_string() })?
            } else {
                SimulatedCluster::new()
            };
            let sim = Arc::new(sim);
            return Ok(Target { backend: sim.clone(), simulated: Some((sim, args.state.clone())) });
        }
        if let Some(dir) = &args.manifests {
            let backend = ManifestBackend::open(dir).map_err(|e| CliError::Manifests(e.to_string()))?;
            return Ok(Target { backend: Arc::new(backend), simulated: None });
        }
        let backend = ClusterBackend::from_kubeconfig(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
        Ok(Target { backend: Arc::new(backend), simulated: None })
    }

    /// The backend commands execute through.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// The backend, shared (for a fleet of this one target).
    pub fn shared(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    /// Saves the simulated cluster's state (whatever the command's outcome: a failed rollout
    /// leaves state behind too). Nothing to do for the other targets, whose state is the cluster.
    pub fn finish(&self) -> Result<(), CliError> {
        if let Some((sim, path)) = &self.simulated {
            sim.save(path).map_err(|e| CliError::StateSave { path: path.clone(), message: e.to_string() })?;
        }
        Ok(())
    }
}
