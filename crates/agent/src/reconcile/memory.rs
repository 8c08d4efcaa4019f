//! What the reconciler remembers between passes, per assigned container.

use flotilla_core::container::DesiredState;
use std::collections::HashMap;
use std::time::Instant;
use uuid::Uuid;

/// What happened to one container so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerMemory {
    /// The last desired state applied (or adopted), for the generation it was applied to.
    pub applied: Option<(u64, DesiredState)>,
    /// The last failure to create or start it, left alone until the retry delay passed.
    pub failure: Option<Failure>,
    /// Runtime ids the agent removed itself (older generations): not "removed outside Flotilla".
    pub discarded: Vec<String>,
    /// The runtime id last seen holding the assigned generation (before the server learnt of it).
    pub seen: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub generation: u64,
    pub at: Instant,
    pub reason: String,
}

/// Per container id.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    containers: HashMap<Uuid, ContainerMemory>,
}

impl Memory {
    pub fn get(&self, id: Uuid) -> Option<&ContainerMemory> {
        self.containers.get(&id)
    }

    pub fn entry(&mut self, id: Uuid) -> &mut ContainerMemory {
        self.containers.entry(id).or_default()
    }

    /// The desired state applied to `generation`, if any.
    pub fn applied(&self, id: Uuid, generation: u64) -> Option<DesiredState> {
        self.get(id)?.applied.filter(|(g, _)| *g == generation).map(|(_, d)| d)
    }

    /// The failure of `generation`, if any.
    pub fn failure(&self, id: Uuid, generation: u64) -> Option<&Failure> {
        self.get(id)?.failure.as_ref().filter(|f| f.generation == generation)
    }

    pub fn seen(&self, id: Uuid) -> Option<&str> {
        self.get(id)?.seen.as_deref()
    }

    pub fn discarded(&self, id: Uuid, runtime_id: &str) -> bool {
        self.get(id).is_some_and(|m| m.discarded.iter().any(|d| d == runtime_id))
    }

    /// Forgets containers no longer assigned.
    pub fn retain(&mut self, assigned: impl Fn(Uuid) -> bool) {
        self.containers.retain(|id, _| assigned(*id));
    }
}
