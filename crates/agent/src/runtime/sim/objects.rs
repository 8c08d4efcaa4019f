//! The simulated host's networks or volumes: names and labels, with Docker's rules (an existing
//! name is fine when it is the same Flotilla object; an object in use is not removed).

use crate::runtime::RuntimeError;
use crate::runtime::RuntimeObject;
use crate::runtime::objects::check_existing;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug)]
pub struct SimObjects {
    /// `network` or `volume`, for messages.
    what: &'static str,
    /// The label holding the Flotilla object's id.
    kind: &'static str,
    /// Labels, by name.
    by_name: HashMap<String, HashMap<String, String>>,
}

impl SimObjects {
    pub fn new(what: &'static str, kind: &'static str) -> Self {
        Self { what, kind, by_name: HashMap::new() }
    }

    /// Makes object `name` of Flotilla object `id`, unless it exists as that object.
    pub fn ensure(&mut self, name: &str, id: Uuid, labels: HashMap<String, String>) -> Result<(), RuntimeError> {
        match self.by_name.get(name) {
            Some(existing) => check_existing(name, existing, self.kind, id),
            None => {
                self.by_name.insert(name.to_owned(), labels);
                Ok(())
            }
        }
    }

    /// Fails unless object `name` exists.
    pub fn require(&self, name: &str) -> Result<(), RuntimeError> {
        if self.by_name.contains_key(name) { Ok(()) } else { Err(RuntimeError::NotFound(format!("{} {name} not found", self.what))) }
    }

    /// Removes object `name` unless `in_use`.
    pub fn remove(&mut self, name: &str, in_use: bool) -> Result<(), RuntimeError> {
        self.require(name)?;
        if in_use {
            return Err(RuntimeError::InUse(format!("{} {name} is in use", self.what)));
        }
        self.by_name.remove(name);
        Ok(())
    }

    pub fn list(&self) -> Vec<RuntimeObject> {
        self.by_name.iter().filter_map(|(name, labels)| RuntimeObject::from_labels(name.clone(), labels, self.kind)).collect()
    }
}
