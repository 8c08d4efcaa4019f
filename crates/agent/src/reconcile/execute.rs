//! Carries out the planned actions against the runtime (fetching images from the region when
//! needed) and says what came of each.

use super::Upstream;
use super::observe::deleted_and_gone;
use super::plan::Action;
use crate::runtime::{ContainerRuntime, CreateSpec, RuntimeError, image_to_run};
use flotilla_api::agent::{Assignment, Observed, ObservedState};
use flotilla_core::container::DesiredState;
use std::collections::HashMap;
use uuid::Uuid;

/// What came of one action.
#[derive(Debug)]
pub enum Effect {
    /// The desired state now holds.
    Applied(DesiredState),
    /// Creating or starting failed; the container is left alone for a while.
    Failed(String),
    /// Another action failed; it is tried again on the next pass.
    Error(String),
    /// Removed; to be reported.
    Removed(Observed),
    /// A stray copy was removed.
    Discarded,
}

#[derive(Debug)]
pub struct Outcome {
    pub id: Uuid,
    pub generation: u64,
    /// Runtime ids the action removed as older generations or strays.
    pub discarded: Vec<String>,
    pub effect: Effect,
}

/// Runs actions; shared by the actions of one pass, which run concurrently.
pub struct Executor<'a> {
    pub runtime: &'a dyn ContainerRuntime,
    pub upstream: &'a dyn Upstream,
    pub host_id: Uuid,
    pub assignments: &'a HashMap<Uuid, &'a Assignment>,
    /// One image download at a time, so two containers of one image fetch it once.
    pub image_lock: &'a tokio::sync::Mutex<()>,
    /// Networks and volumes (by runtime name) that could not be made this pass, with why.
    pub unavailable: &'a HashMap<String, String>,
}

/// Treats "already gone" as done.
fn gone_is_fine(result: Result<(), RuntimeError>) -> Result<(), RuntimeError> {
    match result {
        Err(RuntimeError::NotFound(_)) => Ok(()),
        other => other,
    }
}

impl Executor<'_> {
    pub async fn run(&self, action: Action) -> Outcome {
        let rt = self.runtime;
        let assignment = |id: Uuid| self.assignments.get(&id).copied();
        let generation = |id: Uuid| assignment(id).map_or(0, |a| a.generation);
        let outcome = |id, discarded, effect| Outcome { id, generation: generation(id), discarded, effect };
        match action {
            Action::Create { id, replace } => match assignment(id) {
                Some(a) => {
                    let (discarded, result) = self.create(a, &replace).await;
                    Outcome { id, generation: a.generation, discarded, effect: result.map_or_else(Effect::Failed, Effect::Applied) }
                }
                None => outcome(id, vec![], Effect::Error("not assigned".into())),
            },
            Action::Start { id, runtime_id, then_pause } => {
                let result = async {
                    rt.start(&runtime_id).await?;
                    if then_pause {
                        rt.pause(&runtime_id).await?;
                    }
                    Ok::<_, RuntimeError>(if then_pause { DesiredState::Paused } else { DesiredState::Running })
                }
                .await;
                outcome(id, vec![], result.map_or_else(|e| Effect::Failed(format!("starting: {e}")), Effect::Applied))
            }
            Action::Stop { id, runtime_id, timeout_secs, unpause_first } => {
                let result = async {
                    if unpause_first {
                        rt.unpause(&runtime_id).await?;
                    }
                    rt.stop(&runtime_id, timeout_secs).await
                }
                .await;
                outcome(id, vec![], applied_or_error(result, DesiredState::Stopped, "stopping"))
            }
            Action::Pause { id, runtime_id } => {
                outcome(id, vec![], applied_or_error(rt.pause(&runtime_id).await, DesiredState::Paused, "pausing"))
            }
            Action::Unpause { id, runtime_id } => {
                outcome(id, vec![], applied_or_error(rt.unpause(&runtime_id).await, DesiredState::Running, "unpausing"))
            }
            Action::Remove { id, runtime_id, generation, report } => {
                let effect = match gone_is_fine(rt.remove(&runtime_id, true).await) {
                    Err(e) => Effect::Error(format!("removing: {e}")),
                    Ok(()) if report => Effect::Removed(match assignment(id) {
                        // Shaped as the observation of a deleted container that is gone, so it is not reported twice.
                        Some(a) => deleted_and_gone(a),
                        None => Observed {
                            id,
                            generation,
                            runtime_id: Some(runtime_id.clone()),
                            state: ObservedState::Removed,
                            exit_code: None,
                            reason: "not assigned to this host".to_owned(),
                            health: None,
                            cpu_percent: None,
                        },
                    }),
                    Ok(()) => Effect::Discarded,
                };
                let discarded = if report { vec![] } else { vec![runtime_id] };
                Outcome { id, generation, discarded, effect }
            }
            Action::Record { id, desired } => outcome(id, vec![], Effect::Applied(desired)),
        }
    }

    /// Replaces older generations, ensures the image, creates, and brings the container to its desired state.
    async fn create(&self, a: &Assignment, replace: &[String]) -> (Vec<String>, Result<DesiredState, String>) {
        let mut discarded = Vec::new();
        for runtime_id in replace {
            if let Err(e) = gone_is_fine(self.runtime.remove(runtime_id, true).await) {
                return (discarded, Err(format!("removing the previous generation: {e}")));
            }
            discarded.push(runtime_id.clone());
        }
        (discarded, self.create_fresh(a).await)
    }

    async fn create_fresh(&self, a: &Assignment) -> Result<DesiredState, String> {
        let spec = CreateSpec::of(a, self.host_id);
        let needs = spec.networks.iter().map(|e| &e.network).chain(spec.mounts.iter().map(|m| &m.volume));
        if let Some(reason) = needs.filter_map(|name| self.unavailable.get(name)).next() {
            return Err(reason.clone());
        }
        self.ensure_image(a).await?;
        let runtime_id = self.runtime.create(&spec).await.map_err(|e| format!("creating: {e}"))?;
        if matches!(a.desired, DesiredState::Running | DesiredState::Paused) {
            self.runtime.start(&runtime_id).await.map_err(|e| format!("starting: {e}"))?;
        }
        if a.desired == DesiredState::Paused {
            self.runtime.pause(&runtime_id).await.map_err(|e| format!("pausing: {e}"))?;
        }
        Ok(a.desired)
    }

    /// Makes sure the runtime holds the image to run (a Flotilla image by its id), loading it from
    /// the region when Flotilla holds it.
    async fn ensure_image(&self, a: &Assignment) -> Result<(), String> {
        let reference = image_to_run(&a.image);
        let has = || async { self.runtime.has_image(reference).await.map_err(|e| format!("checking image {reference}: {e}")) };
        if has().await? {
            return Ok(());
        }
        let Some(image_id) = a.image.image_id else {
            return Err(RuntimeError::ImageMissing(reference.to_owned()).to_string());
        };
        let _one_download = self.image_lock.lock().await;
        if has().await? {
            return Ok(());
        }
        let archive = self.upstream.image(image_id).await.map_err(|e| format!("fetching image {image_id}: {e}"))?;
        let loaded = self.runtime.load_image(archive).await.map_err(|e| format!("loading image {image_id}: {e}"))?;
        tracing::info!(image = %reference, ?loaded, "image loaded");
        if has().await? { Ok(()) } else { Err(format!("image {image_id} was loaded but holds {loaded:?}, not {reference}")) }
    }
}

fn applied_or_error(result: Result<(), RuntimeError>, desired: DesiredState, doing: &str) -> Effect {
    result.map_or_else(|e| Effect::Error(format!("{doing}: {e}")), |()| Effect::Applied(desired))
}
