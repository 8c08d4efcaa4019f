//! The whole path over TLS, through the binary: `flotilla server --tls-cert/--tls-key` (a test CA
//! made here with rcgen), an agent trusting it with `--ca-cert`, the CLI logging in with
//! `--ca-cert` and running a container, exec (one-shot, and interactive up to the simulated
//! runtime's refusal) and logs through the agent's mutual-TLS callback;
//! and the refusals: a client without the CA, a caller of the callback without the server's
//! client certificate.

mod support;

use rcgen::{CertificateParams, KeyPair};
use support::{ADMIN_PASSWORD, Sandbox, make_pki, sim_agent, start_named_server};

#[test]
fn the_whole_path_runs_over_tls() {
    let sandbox = Sandbox::new();
    let pki = make_pki(&sandbox);
    let server = start_named_server(&sandbox, "server", None, &["--tls-cert", &pki.cert, "--tls-key", &pki.key]);
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);

    // Without the CA the server's certificate is not trusted: nothing is sent.
    let stranger = Sandbox::new();
    let refused = stranger.run(&["login", "--url", &server.url, "--user", "admin"], &[("FLOTILLA_PASSWORD", ADMIN_PASSWORD)]);
    let message = refused.fails_with(1);
    assert!(message.contains("certificate") || message.contains("cannot reach"), "{message}");

    // With it (saved at login, then used by every command).
    let login = ["login", "--url", &server.url, "--user", "admin", "--project", "admin", "--ca-cert", &pki.ca];
    sandbox.run(&login, &[("FLOTILLA_PASSWORD", ADMIN_PASSWORD)]).ok();
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let _agent = sim_agent(&sandbox, &server, &token, "tls-host", &["--ca-cert", &pki.ca], "joined");

    let run = ["container", "run", "--name", "web", "--image", "any/image:1", "--wait", "-o", "json"];
    let web = sandbox.run(&run, &[]).json();
    assert_eq!(web["status"], "RUNNING", "{web}");
    // Exec and logs go server → agent over mutual TLS.
    assert_eq!(sandbox.run(&["container", "exec", "web", "--", "echo", "over", "tls"], &[]).ok(), "over tls\n");
    // An interactive exec opens its WebSocket over TLS both ways; the simulated runtime refuses it, named.
    let refused = sandbox.run(&["container", "exec", "-it", "web", "--", "sh"], &[]).fails_with(1);
    assert!(refused.contains("409") && refused.contains("sim runtime cannot run an interactive exec"), "{refused}");
    assert!(sandbox.run(&["container", "logs", "web"], &[]).ok().contains("sim: started"), "logs came through the callback");

    // The callback answers only the server's client certificate.
    let host = sandbox.run(&["host", "show", "tls-host", "-o", "json"], &[]).json();
    let advertise = host["advertise"].as_str().unwrap().to_owned();
    assert!(advertise.starts_with("https://127.0.0.1:"), "{advertise}");
    let stranger_key = KeyPair::generate().unwrap();
    let stranger_cert = CertificateParams::new(vec!["stranger".to_owned()]).unwrap().self_signed(&stranger_key).unwrap();
    let stranger_identity =
        reqwest::Identity::from_pem(format!("{}{}", stranger_cert.pem(), stranger_key.serialize_pem()).as_bytes()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let without = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let other = reqwest::Client::builder().danger_accept_invalid_certs(true).identity(stranger_identity).build().unwrap();
    let id = web["id"].as_str().unwrap();
    let url = format!("{advertise}/agent/v1/containers/{id}/exec");
    let exec = |client: &reqwest::Client| runtime.block_on(client.post(&url).json(&serde_json::json!({"command": ["echo", "hi"]})).send());
    for (who, client) in [("no client certificate", without), ("another client certificate", other)] {
        let sent = exec(&client);
        assert!(sent.is_err(), "{who}: the callback answered {sent:?}");
    }
    // The same client holding the server's identity (kept in its data dir) is answered.
    let read = |name: &str| std::fs::read_to_string(sandbox.path("data").join("callback-identity").join(name)).unwrap();
    let server_identity = reqwest::Identity::from_pem(format!("{}{}", read("cert.pem"), read("key.pem")).as_bytes()).unwrap();
    let as_server = reqwest::Client::builder().danger_accept_invalid_certs(true).identity(server_identity).build().unwrap();
    assert_eq!(exec(&as_server).expect("the server's certificate is let in").status(), 200);
}
