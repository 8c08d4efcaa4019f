//! The CLI's conventions as a user meets them, with the real binary against a real server and a
//! simulated host: contexts, output formats (`-o wide|name|jsonpath=`, `-q`), `show` with members
//! by name and recent events, every event object type, and shell completion with live names.

use serde_json::Value;
use std::time::Duration;

mod support;

use support::{ADMIN_PASSWORD, Sandbox, sim_agent, start_server_on, wait_until};

/// Lines of `text`, trimmed, without empty ones.
fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// Asks the binary for completions as bash's completion function does for `words` (the last is
/// the one being completed).
fn complete(sandbox: &Sandbox, words: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let index = (words.len() - 1).to_string();
    let mut args = vec!["--"];
    args.extend(words);
    let mut vars =
        vec![("COMPLETE", "bash"), ("_CLAP_COMPLETE_INDEX", index.as_str()), ("_CLAP_IFS", "\n"), ("_CLAP_COMPLETE_COMP_TYPE", "9")];
    vars.extend(env);
    let out = sandbox.run(&args, &vars);
    assert_eq!(out.code, Some(0), "{out:?}");
    lines(&out.stdout)
}

#[test]
fn contexts_formats_show_and_completion() {
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    let url = server.url.as_str();
    let admin_pw = [("FLOTILLA_PASSWORD", ADMIN_PASSWORD)];

    // Contexts: two logins kept side by side, one in use, another for one command.
    let said = sandbox.run(&["--context", "ops", "login", "--url", url, "--user", "admin", "--project", "admin"], &admin_pw).ok();
    assert!(said.contains("logged in"), "{said}");
    sandbox.run(&["project", "create", "demo"], &[]).ok();
    sandbox.run(&["user", "create", "alice", "--password", "alice-pass-1234", "--project", "demo"], &[]).ok();
    sandbox.run(&["role", "assign", "--user", "alice", "--project", "demo", "member"], &[]).ok();
    sandbox
        .run(
            &["--context", "alice", "login", "--url", url, "--user", "alice", "--project", "demo"],
            &[("FLOTILLA_PASSWORD", "alice-pass-1234")],
        )
        .ok();
    let contexts = sandbox.run(&["context", "list", "-o", "json"], &[]).json();
    let listed: Vec<(String, bool, String)> = contexts["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["current"].as_bool().unwrap(), c["user"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(listed, [("alice".into(), false, "alice".into()), ("ops".into(), true, "admin".into())], "the first login is current");
    assert!(!contexts.to_string().contains("token\""), "no token is listed: {contexts}");
    let table = sandbox.run(&["context", "list"], &[]).ok();
    assert!(lines(&table).iter().any(|l| l.starts_with("*") && l.contains("ops") && l.contains(url)), "{table}");
    let me = |args: &[&str]| sandbox.run(&[args, &["whoami", "-o", "json"]].concat(), &[]).json()["user"].as_str().unwrap().to_owned();
    assert_eq!(me(&[]), "admin");
    assert_eq!(me(&["--context", "alice"]), "alice", "--context for one command");
    assert_eq!(me(&[]), "admin", "without switching");
    sandbox.run(&["context", "use", "alice"], &[]).ok();
    assert_eq!(me(&[]), "alice");
    let current = sandbox.run(&["context", "current", "-o", "json"], &[]).json();
    assert_eq!((current["name"].as_str(), current["project"].as_str()), (Some("alice"), Some("demo")));
    let unknown = sandbox.run(&["--context", "nope", "whoami"], &[]).fails_with(1);
    assert!(unknown.contains("unknown context \"nope\"") && unknown.contains("alice, ops"), "{unknown}");
    sandbox.run(&["context", "rename", "alice", "dev-alice"], &[]).ok();
    assert_eq!(me(&[]), "alice", "a renamed current context stays current");
    let clash = sandbox.run(&["context", "rename", "dev-alice", "ops"], &[]).fails_with(1);
    assert!(clash.contains("\"ops\" already exists"), "{clash}");
    sandbox.run(&["context", "use", "ops"], &[]).ok();
    sandbox.run(&["context", "delete", "dev-alice"], &[]).ok();
    let names = sandbox.run(&["context", "list", "-o", "name"], &[]).ok();
    assert_eq!(lines(&names), ["ops"]);

    // A host and a cluster to look at.
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let agent = sim_agent(&sandbox, &server, &token, "sim", &["--simulate-hosts", "2"], "simulated hosts joined");
    let spec = sandbox.path("web.yaml");
    std::fs::write(&spec, "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: any/image:1\n  memory: 64\n").unwrap();
    sandbox.run(&["profile", "create", "web-profile", "--spec-file", spec.to_str().unwrap()], &[]).ok();
    sandbox.run(&["cluster", "create", "web", "--profile", "web-profile", "--desired-capacity", "2", "--wait"], &[]).ok();
    sandbox.run(&["container", "run", "--name", "solo", "--image", "any/image:1", "--wait"], &[]).ok();

    // --watch: the list again as it changes, without asking.
    let mut watch = sandbox.spawn("watch", &["container", "list", "--watch", "-o", "name"], &[], "solo");
    sandbox.run(&["container", "run", "--name", "watched", "--image", "any/image:1", "--wait"], &[]).ok();
    watch.wait_for("watched");
    drop(watch);
    sandbox.run(&["container", "delete", "watched", "--stop"], &[]).ok();
    wait_until("watched is gone", Duration::from_secs(30), || {
        !sandbox.run(&["container", "list", "-o", "name"], &[]).ok().contains("watched")
    });

    // Output formats: names in tables, ids with -o wide or -q, names with -o name, JSONPath.
    let listed = sandbox.run(&["container", "list", "-o", "json"], &[]).json();
    let solo: &Value = listed["containers"].as_array().unwrap().iter().find(|c| c["name"] == "solo").unwrap();
    let solo_id = solo["id"].as_str().unwrap().to_owned();
    let table = sandbox.run(&["container", "list"], &[]).ok();
    assert!(table.trim_start().starts_with("NAME") && table.contains("solo") && !table.contains(&solo_id), "{table}");
    let wide = sandbox.run(&["container", "list", "-o", "wide"], &[]).ok();
    assert!(wide.trim_start().starts_with("ID") && wide.contains(&solo_id), "{wide}");
    let ids = lines(&sandbox.run(&["container", "list", "-q"], &[]).ok());
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.contains(&solo_id));
    let names = lines(&sandbox.run(&["container", "list", "-o", "name"], &[]).ok());
    assert!(names.contains(&"solo".to_owned()) && names.len() == 3, "{names:?}");
    let statuses = sandbox.run(&["container", "list", "-o", "jsonpath={.containers[*].status}"], &[]).ok();
    assert_eq!(lines(&statuses), ["RUNNING", "RUNNING", "RUNNING"]);
    let one = sandbox.run(&["container", "show", "solo", "-o", "jsonpath=$.name"], &[]).ok();
    assert_eq!(one.trim(), "solo");
    let bad = sandbox.run(&["container", "list", "-o", "jsonpath={.containers[}"], &[]);
    assert_eq!(bad.code, Some(2), "a usage error: {bad:?}");
    assert!(bad.stderr.contains("jsonpath={.containers[}"), "{bad:?}");
    assert_eq!(sandbox.run(&["container", "list", "-q", "-o", "json"], &[]).code, Some(2), "-q and -o conflict");

    // show: members by name with their host, and the latest events, as `kubectl describe`.
    let shown = sandbox.run(&["cluster", "show", "web"], &[]).ok();
    let members = sandbox.run(&["cluster", "members", "web", "-o", "json"], &[]).json();
    for node in members["nodes"].as_array().unwrap() {
        let line = shown.lines().find(|l| l.contains(node["name"].as_str().unwrap())).unwrap_or_else(|| panic!("{node} in {shown}"));
        assert!(line.contains("ACTIVE") && line.contains(node["host_name"].as_str().unwrap()), "{line}");
        assert!(!shown.contains(node["id"].as_str().unwrap()), "no member ids: {shown}");
    }
    assert!(shown.contains("nodes:") && shown.contains("events:") && shown.contains("CLUSTER_CREATE"), "{shown}");
    let shown = sandbox.run(&["container", "show", "solo"], &[]).ok();
    assert!(shown.contains("events:") && shown.contains("CONTAINER_CREATE"), "{shown}");
    let as_json = sandbox.run(&["cluster", "show", "web", "-o", "json"], &[]).json();
    assert!(as_json.get("events").is_none(), "scripts get the object as the API has it: {as_json}");

    // Every object type the server records can be filtered on.
    let events = sandbox.run(&["event", "list", "--object-type", "cluster", "-o", "json"], &[]).json();
    let events = events["events"].as_array().unwrap();
    assert!(!events.is_empty() && events.iter().all(|e| e["object_type"] == "cluster"), "{events:?}");

    // Completion: the script, commands and flags, live names from the server, contexts.
    let script = sandbox.run(&["completion", "bash"], &[]).ok();
    assert!(script.contains("complete -o nospace") && script.contains("COMPLETE=\"bash\"") && script.contains("flotilla"), "{script}");
    for shell in ["zsh", "fish"] {
        assert!(sandbox.run(&["completion", shell], &[]).ok().contains("COMPLETE"), "{shell}");
    }
    let commands = complete(&sandbox, &["flotilla", "cont"], &[]);
    assert!(commands.contains(&"container".to_owned()) && commands.contains(&"context".to_owned()), "{commands:?}");
    wait_until("the containers are listed", Duration::from_secs(10), || {
        let live = complete(&sandbox, &["flotilla", "container", "show", ""], &[]);
        ["solo", "web-1", "web-2"].iter().all(|n| live.iter().any(|l| l.starts_with(n))) || {
            eprintln!("completed {live:?}");
            false
        }
    });
    let clusters = complete(&sandbox, &["flotilla", "cluster", "scale-out", "w"], &[]);
    assert_eq!(clusters, ["web"]);
    let contexts = complete(&sandbox, &["flotilla", "context", "use", ""], &[]);
    assert!(contexts.contains(&"ops".to_owned()) && !contexts.iter().any(|c| c.contains("alice")), "{contexts:?}");

    // apply -f: create, then nothing to do, then a change shown by --dry-run and made by apply.
    let manifest = |capacity: u8, tier: &str| {
        format!(
            "kind: network\nname: front\nsubnet: {{cidr: 10.77.0.0/24}}\n---\n\
             kind: profile\nname: api-profile\nspec:\n  type: container.docker\n  version: \"1.0\"\n  properties: {{image: any/image:1, memory: 32}}\n---\n\
             kind: policy\nname: oldest\nspec: {{type: deletion, version: \"1.0\", properties: {{criteria: OLDEST_FIRST}}}}\n---\n\
             kind: cluster\nname: api\nprofile: api-profile\ndesired_capacity: {capacity}\nmax_size: 5\nmetadata: {{tier: {tier}}}\npolicies: [oldest]\n"
        )
    };
    let file = sandbox.path("stack.yaml");
    let file_arg = file.to_str().unwrap();
    std::fs::write(&file, manifest(1, "api")).unwrap();
    let results = |args: &[&str]| -> Vec<(String, String, String)> {
        let out = sandbox.run(&[&["apply", "-f", file_arg, "-o", "json"], args].concat(), &[]).json();
        out["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    format!("{}/{}", o["kind"].as_str().unwrap(), o["name"].as_str().unwrap()),
                    o["result"].as_str().unwrap().to_owned(),
                    o["changes"].to_string(),
                )
            })
            .collect()
    };
    let dry = results(&["--dry-run"]);
    assert!(dry.iter().all(|(_, result, _)| result == "created"), "{dry:?}");
    assert_eq!(sandbox.run(&["cluster", "show", "api"], &[]).code, Some(1), "a dry run makes nothing");
    let made = results(&[]);
    assert_eq!(
        made.iter().map(|(o, r, _)| format!("{o} {r}")).collect::<Vec<_>>(),
        ["network/front created", "profile/api-profile created", "policy/oldest created", "cluster/api created"]
    );
    let api = sandbox.run(&["cluster", "show", "api", "-o", "json"], &[]).json();
    assert_eq!((api["desired_capacity"].as_i64(), api["policies"][0]["policy_name"].as_str()), (Some(1), Some("oldest")), "{api}");
    let again = results(&["--dry-run"]);
    assert!(again.iter().all(|(_, r, _)| r == "unchanged"), "{again:?}");
    std::fs::write(&file, manifest(3, "backend")).unwrap();
    let planned = results(&["--dry-run"]);
    let cluster = planned.iter().find(|(o, ..)| o == "cluster/api").unwrap();
    assert_eq!(cluster.1, "changed");
    assert!(cluster.2.contains("desired_capacity: 1 -> 3") && cluster.2.contains("backend"), "{cluster:?}");
    assert_eq!(sandbox.run(&["cluster", "show", "api", "-o", "json"], &[]).json()["desired_capacity"], 1, "still 1 after a dry run");
    let table = sandbox.run(&["apply", "-f", file_arg], &[]).ok();
    assert!(table.contains("cluster/api") && table.contains("changed"), "{table}");
    let api = sandbox.run(&["cluster", "show", "api", "-o", "json"], &[]).json();
    assert_eq!((api["desired_capacity"].as_i64(), api["metadata"]["tier"].as_str()), (Some(3), Some("backend")), "{api}");
    assert_eq!(sandbox.run(&["cluster", "members", "api", "-q"], &[]).ok().lines().count(), 3);
    let last = results(&["--dry-run"]);
    assert!(last.iter().all(|(_, r, _)| r == "unchanged"), "{last:?}");
    std::fs::write(&file, "kind: cluster\nname: bad\nprofile: api-profile\ncolour: blue\n").unwrap();
    let refused = sandbox.run(&["apply", "-f", file_arg], &[]).fails_with(1);
    assert!(refused.contains("cluster/bad") && refused.contains("colour"), "{refused}");

    // Man pages for every command.
    let man = sandbox.path("man");
    sandbox.run(&["man", man.to_str().unwrap()], &[]).ok();
    let page = std::fs::read_to_string(man.join("flotilla-cluster-scale-out.1")).unwrap();
    assert!(page.contains("scale\\-out"), "{page}");
    agent.stop();
    server.stop();
}
