//! `flotilla receiver ...`: webhooks that run a cluster action with stored parameters: create (which
//! shows the trigger URL, once), list, show, delete, and trigger one (no login needed: the URL's
//! secret is the credential).

use super::common::{ListArgs, MetadataArgs, params, parse_param};
use super::follow;
use super::wait::WaitArgs;
use crate::output::{self, Format, Row};
use crate::target::{Spread, Target};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::{Receiver, ReceiverCreate, ReceiverList};
use flotilla_client::Client;
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum ReceiverCommand {
    /// Create a webhook receiver; prints its trigger URL, which is shown only this once.
    Create {
        /// Name of the new receiver.
        name: String,
        /// The cluster it acts on (name or id).
        #[arg(long)]
        cluster: String,
        /// The cluster action it runs: scale_out, scale_in, resize, check or recover.
        #[arg(long)]
        action: String,
        /// A parameter of the action, KEY=VALUE (VALUE read as JSON when it is, e.g. count=2); repeat for more.
        #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
        params: Vec<(String, Value)>,
        /// A parameter a trigger may set over the stored ones (e.g. count); repeat for more. None by default.
        #[arg(long = "overridable", value_name = "PARAM")]
        overridable: Vec<String>,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// List receivers.
    List {
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a receiver by name or id.
    Show {
        /// Name or id of the receiver.
        receiver: String,
    },
    /// Delete a receiver: its URL stops working.
    Delete {
        /// Name or id of the receiver.
        receiver: String,
    },
    /// Trigger a receiver by its URL: runs its action, with these parameters over the stored ones.
    /// Needs no login (--wait does, to follow the action).
    Trigger {
        /// The trigger URL `receiver create` printed.
        #[arg(value_name = "URL")]
        trigger_url: String,
        /// A parameter overriding a stored one, KEY=VALUE (VALUE read as JSON when it is); only those the receiver lists as overridable.
        #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
        params: Vec<(String, Value)>,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

/// Runs `command`; `client` gives the logged-in client (a trigger needs none).
/// `client` makes the session's client; `anonymous` a client without a token for a webhook URL.
pub async fn run(
    client: impl AsyncFn() -> Result<Target>,
    anonymous: impl Fn(&str) -> Result<Client>,
    format: Format,
    command: ReceiverCommand,
) -> Result<()> {
    match command {
        ReceiverCommand::Create { name, cluster, action, params: entries, overridable, metadata } => {
            let body = ReceiverCreate {
                name,
                type_name: "webhook".into(),
                cluster,
                action,
                params: params(entries),
                overridable,
                metadata: metadata.metadata(),
            };
            let receiver = client().await?.create_receiver(&body).await?;
            output::one(format, &receiver)?;
            match &receiver.url {
                Some(url) if format.is_table() => output::done(format, &format!("trigger URL (shown only now): {url}")),
                _ => Ok(()),
            }
        }
        ReceiverCommand::List { list, spread } => {
            client().await?.list(format, &spread, async |c| c.list_receivers(&list.query()).await).await
        }
        ReceiverCommand::Show { receiver } => output::one(format, &client().await?.receiver(&receiver).await?),
        ReceiverCommand::Delete { receiver } => {
            client().await?.delete_receiver(&receiver).await?;
            output::deleted(format, "receiver", &receiver)
        }
        // (Not `url`: that is the global --url's id.)
        ReceiverCommand::Trigger { trigger_url, params: entries, wait } => {
            let absolute = trigger_url.starts_with("http://") || trigger_url.starts_with("https://");
            let trigger = if absolute { anonymous(&trigger_url)? } else { (*client().await?).clone() };
            let accepted = trigger.trigger_receiver(&trigger_url, &params(entries)).await?;
            let follower = if wait.wait { (*client().await?).clone() } else { trigger };
            follow::started(&follower, format, &accepted, &wait).await
        }
    }
}

impl Row for Receiver {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "TYPE", "CLUSTER", "ACTION", "PARAMS", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.type_name.clone(),
            self.cluster_id.to_string(),
            self.action.clone(),
            output::cell(&self.params),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(ReceiverList, receivers, Receiver);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn a_trigger_url_is_not_the_server_url() {
        let cli =
            Cli::try_parse_from(["flotilla", "receiver", "trigger", "http://h:1/v1/webhooks/s", "--param", "count=2", "--wait"]).unwrap();
        assert_eq!(cli.globals.url, None, "the positional URL is not the global --url");
        let Command::Receiver(ReceiverCommand::Trigger { trigger_url, params: entries, wait }) = cli.command else { panic!() };
        assert_eq!((trigger_url.as_str(), wait.wait), ("http://h:1/v1/webhooks/s", true));
        assert_eq!(serde_json::Value::Object(params(entries)), serde_json::json!({"count": 2}));
    }
}
