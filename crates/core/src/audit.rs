//! Who changes an identity, network, volume or quota object: the actor an audit event names.

use crate::event::Event;
use crate::{ProjectId, UserId};

/// The user who asked for a change, and the project their token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub user_name: String,
    pub project_id: ProjectId,
    pub project_name: String,
}

impl Actor {
    /// `event`, done by this actor: its user, and their name and project in the metadata
    /// (`by`, `by_project`), so the log reads after the user is gone.
    pub fn stamp(&self, event: Event) -> Event {
        let project = event.project_id;
        event.by(project, Some(self.user_id)).meta("by", &self.user_name).meta("by_project", &self.project_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{END, EventAction, ObjectType};

    #[test]
    fn stamping_names_the_actor_and_keeps_the_object_project() {
        let actor = Actor { user_id: UserId::new(), user_name: "ada".into(), project_id: ProjectId::new(), project_name: "ops".into() };
        let owner = ProjectId::new();
        let event = Event::new(ObjectType::Network, uuid::Uuid::now_v7(), "net", EventAction::NetworkCreate, END).by(Some(owner), None);
        let stamped = actor.stamp(event);
        assert_eq!((stamped.project_id, stamped.user_id), (Some(owner), Some(actor.user_id)));
        assert_eq!((stamped.metadata["by"].as_str(), stamped.metadata["by_project"].as_str()), ("ada", "ops"));
    }
}
