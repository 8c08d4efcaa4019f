//! What can go wrong starting, driving or removing a testbed.

/// A testbed failure, naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    #[error("testbed spec: {field} {value:?} {reason}")]
    Spec { field: &'static str, value: String, reason: String },
    #[error("underlay {underlay} overlaps route {route} (dev {device}) of the root namespace: test traffic could leave the machine")]
    Overlap { underlay: String, route: String, device: String },
    #[error("underlay {underlay} has no free block of {size} addresses left: other testbeds hold the rest")]
    Exhausted { underlay: String, size: u32 },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("netlink, {context}: {source}")]
    Netlink {
        context: String,
        #[source]
        source: rtnetlink::Error,
    },
    #[error("link {0} is missing")]
    MissingLink(String),
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("Docker Engine of {host}: {message}")]
    Docker { host: String, message: String },
    #[error("{what} did not happen within {secs} s")]
    Timeout { what: String, secs: u64 },
    #[error("cleanup left {0:?}")]
    Leftovers(Vec<String>),
}

impl TestbedError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    pub(crate) fn netlink(context: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> Self {
        let context = context.into();
        move |source| Self::Netlink { context, source }
    }
}
