//! A network's names and the answer to a query: A records for a name it knows, no data for
//! another type of a known name, and a refusal for a name it does not know (the agent answers
//! only its own names; Docker's embedded DNS tries the container's other servers).

use super::lookup::NameLookup;
use flotilla_api::agent::DnsName;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use uuid::Uuid;

/// Where a network's names come from.
pub enum NameSource {
    /// Listed with the assignments (by a server that sends every name of every network).
    Listed(Names),
    /// Asked of the region, name by name.
    Asked { network: Uuid, lookup: Arc<NameLookup> },
}

impl NameSource {
    /// The answer to `name`, asking for an A record when `wants_a`.
    pub async fn answer(&self, name: &str, wants_a: bool) -> Answer {
        match self {
            NameSource::Listed(names) => names.answer(name, wants_a),
            NameSource::Asked { network, lookup } => lookup.answer(*network, name, wants_a).await,
        }
    }
}

/// The names of one network, lower-case and without the root's dot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names(HashMap<String, Vec<Ipv4Addr>>);

/// What a query gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The name's addresses (an A query).
    Addresses(Vec<Ipv4Addr>),
    /// A known name, but no record of the type asked (NOERROR, empty).
    NoData,
    /// Not a name of the network: REFUSED.
    Refused,
}

impl Names {
    /// The names of `records`; addresses that do not parse are left out.
    pub fn new(records: &[DnsName]) -> Self {
        let mut names: HashMap<String, Vec<Ipv4Addr>> = HashMap::new();
        for r in records {
            let addresses = r.addresses.iter().filter_map(|a| a.parse::<Ipv4Addr>().ok());
            names.entry(r.name.to_ascii_lowercase()).or_default().extend(addresses);
        }
        Self(names)
    }

    /// The answer to `name` (any case, with or without the final dot), asking for an A record
    /// when `wants_a`.
    pub fn answer(&self, name: &str, wants_a: bool) -> Answer {
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        match self.0.get(&name) {
            Some(addresses) if wants_a && !addresses.is_empty() => Answer::Addresses(addresses.clone()),
            Some(_) => Answer::NoData,
            None => Answer::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, addresses: &[&str]) -> DnsName {
        DnsName { name: name.into(), addresses: addresses.iter().map(|a| (*a).to_owned()).collect() }
    }

    #[test]
    fn names_answer_their_addresses_in_any_case() {
        let names = Names::new(&[
            record("web-1", &["10.1.0.2"]),
            record("web", &["10.1.0.2", "10.1.0.3"]),
            record("idle", &[]),
            record("broken", &["not-an-address"]),
        ]);
        let (two, three) = (Ipv4Addr::new(10, 1, 0, 2), Ipv4Addr::new(10, 1, 0, 3));
        assert_eq!(names.answer("web.", true), Answer::Addresses(vec![two, three]), "a cluster: every running member");
        assert_eq!(names.answer("WEB-1", true), Answer::Addresses(vec![two]));
        assert_eq!(names.answer("web", false), Answer::NoData, "AAAA of a known name: no data");
        assert_eq!(names.answer("idle", true), Answer::NoData, "a cluster without running members");
        assert_eq!(names.answer("broken", true), Answer::NoData);
        assert_eq!(names.answer("example.org.", true), Answer::Refused, "not ours");
        assert_eq!(names.answer("web.example.org.", true), Answer::Refused);
    }
}
