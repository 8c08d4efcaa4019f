//! The `affinity` policy: a cluster's members together or apart, per host or zone, hard (a filter) or soft (a score).

use crate::scheduler::Request;
use crate::validation::ValidationError;

/// Together or apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AffinityMode {
    /// `affinity`: members share a host (or zone).
    Affinity,
    /// `anti-affinity`: members on distinct hosts (or zones); Senlin's default.
    AntiAffinity,
}

/// What "together" and "apart" are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AffinityScope {
    /// Hosts (the default).
    Host,
    /// Zones.
    Zone,
}

/// The properties of an `affinity` policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffinityPolicy {
    /// Together or apart (default `anti-affinity`).
    #[serde(default = "anti_affinity")]
    pub mode: AffinityMode,
    /// A preference the scheduler may break when nothing else fits, rather than a rule (default false).
    #[serde(default)]
    pub soft: bool,
    /// Hosts or zones (default `host`).
    #[serde(default = "host")]
    pub scope: AffinityScope,
}

fn anti_affinity() -> AffinityMode {
    AffinityMode::AntiAffinity
}
fn host() -> AffinityScope {
    AffinityScope::Host
}

impl AffinityPolicy {
    /// Nothing beyond the types to check; present so every policy validates alike.
    pub fn validate_at(&self, _prefix: &str) -> Result<(), ValidationError> {
        Ok(())
    }

    /// Shapes the placement of a new member given where the others run, as `(host, zone)` pairs.
    ///
    /// Hard anti-affinity excludes the members' hosts (`avoid_hosts`) or zones; hard affinity, once there are members,
    /// restricts to their hosts or zones; the soft modes favour or shun them in scoring. Members not yet placed
    /// (empty names) are skipped.
    pub fn apply<H: AsRef<str>, Z: AsRef<str>>(&self, request: &mut Request, members: &[(H, Z)]) {
        let names = members.iter().map(|(host, zone)| match self.scope {
            AffinityScope::Host => host.as_ref(),
            AffinityScope::Zone => zone.as_ref(),
        });
        let names = names.filter(|n| !n.is_empty()).map(str::to_owned);
        // The members' hosts named here are those read before the placement; members placed at
        // the same time are seen by the placement itself.
        request.affinity.avoid_member_hosts |=
            matches!((self.mode, self.soft, self.scope), (AffinityMode::AntiAffinity, false, AffinityScope::Host));
        let rules = &mut request.affinity;
        let target = match (self.mode, self.soft, self.scope) {
            (AffinityMode::AntiAffinity, false, AffinityScope::Host) => &mut request.avoid_hosts,
            (AffinityMode::AntiAffinity, false, AffinityScope::Zone) => &mut rules.avoid_zones,
            (AffinityMode::Affinity, false, AffinityScope::Host) => &mut rules.only_hosts,
            (AffinityMode::Affinity, false, AffinityScope::Zone) => &mut rules.only_zones,
            (AffinityMode::Affinity, true, AffinityScope::Host) => &mut rules.prefer_hosts,
            (AffinityMode::Affinity, true, AffinityScope::Zone) => &mut rules.prefer_zones,
            (AffinityMode::AntiAffinity, true, AffinityScope::Host) => &mut rules.shun_hosts,
            (AffinityMode::AntiAffinity, true, AffinityScope::Zone) => &mut rules.shun_zones,
        };
        target.extend(names);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::{HostState, HostView, Reason, Resources, Settings, place, refuse};
    use std::collections::{BTreeMap, BTreeSet};

    fn host(name: &str, zone: &str) -> HostView {
        HostView {
            name: name.into(),
            zone: zone.into(),
            pool: "default".into(),
            labels: BTreeMap::new(),
            state: HostState::Up,
            capacity: Resources { cpu_millis: 4000, memory_mib: 8192, disk_mib: 100_000 },
            allocated: Resources::default(),
            cpu_utilisation: 0.0,
            host_ports: BTreeSet::new(),
            cluster_members: 0,
            containers: 0,
            images: BTreeSet::new(),
        }
    }

    fn policy(mode: AffinityMode, soft: bool, scope: AffinityScope) -> AffinityPolicy {
        AffinityPolicy { mode, soft, scope }
    }

    #[test]
    fn placement_table() {
        use AffinityMode::*;
        use AffinityScope::*;
        // Idlest first: h1, h2, h4, h3; h1 wins when nothing else matters.
        let mut hosts = vec![host("h1", "az1"), host("h2", "az1"), host("h3", "az2"), host("h4", "az2")];
        for (h, util) in hosts.iter_mut().zip([0.1, 0.2, 0.5, 0.3]) {
            h.cpu_utilisation = util;
        }
        let on_h3 = [("h3", "az2"), ("", "")];
        let on_h1 = [("h1", "az1")];
        let cases = [
            ("hard anti-affinity, host: anywhere but h3", policy(AntiAffinity, false, Host), &on_h3[..], "h1"),
            ("hard anti-affinity, host: anywhere but h1", policy(AntiAffinity, false, Host), &on_h1[..], "h2"),
            ("hard anti-affinity, zone: outside az1", policy(AntiAffinity, false, Zone), &on_h1[..], "h4"),
            ("hard affinity, host: h3 only", policy(Affinity, false, Host), &on_h3[..], "h3"),
            ("hard affinity, zone: az2 only", policy(Affinity, false, Zone), &on_h3[..], "h4"),
            ("soft affinity, host: h3 preferred", policy(Affinity, true, Host), &on_h3[..], "h3"),
            ("soft affinity, zone: az2 preferred", policy(Affinity, true, Zone), &on_h3[..], "h4"),
            ("soft anti-affinity, host: h1 shunned", policy(AntiAffinity, true, Host), &on_h1[..], "h2"),
            ("soft anti-affinity, zone: az1 shunned", policy(AntiAffinity, true, Zone), &on_h1[..], "h4"),
        ];
        for (name, p, members, expected) in cases {
            let mut request = Request::default();
            p.apply(&mut request, members);
            assert_eq!(place(&hosts, &request, &Settings::default()).unwrap().name, expected, "{name}");
        }
    }

    #[test]
    fn hard_rules_filter_soft_rules_do_not() {
        use AffinityMode::*;
        use AffinityScope::*;
        let only = host("h1", "az1");
        let members = [("h1".to_owned(), "az1".to_owned())];
        let cases = [
            (policy(AntiAffinity, false, Host), Some(Reason::AntiAffinity)),
            (policy(AntiAffinity, false, Zone), Some(Reason::AntiAffinity)),
            (policy(AntiAffinity, true, Host), None),
            (policy(AntiAffinity, true, Zone), None),
        ];
        for (p, expected) in cases {
            let mut request = Request::default();
            p.apply(&mut request, &members);
            assert_eq!(refuse(&only, &request, &Settings::default()), expected, "{p:?}");
        }
        // Hard affinity elsewhere: refused, and the explanation says why.
        let mut request = Request::default();
        policy(Affinity, false, Zone).apply(&mut request, &[("h9", "az9")]);
        assert_eq!(refuse(&only, &request, &Settings::default()), Some(Reason::Affinity));
        // No members yet: no restriction.
        let mut request = Request::default();
        policy(Affinity, false, Host).apply::<&str, &str>(&mut request, &[]);
        assert_eq!(refuse(&only, &request, &Settings::default()), None);
    }
}
