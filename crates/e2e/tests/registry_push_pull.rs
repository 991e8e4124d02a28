//! Push and pull against Debian's `docker-registry` through berth and the docker CLI:
//! push, rmi, pull, run; every tag (`-a`); the API's JSON progress as dockerd writes it;
//! progress on a terminal; pulls side by side.

use berth_e2e::registry::{
    big_image_tar, json_lines, now, remove_image, Registry, RegistryOptions,
};
use berth_e2e::{both_clis, daemon, Cli, IMAGE};
both_clis!(push_rmi_pull_run,);

fn push_rmi_pull_run(cli: Cli) {
    let reg = Registry::start(RegistryOptions::default());
    let d = daemon!();
    let since = (now() - 1).to_string();
    let target = format!("{}/e2e/bb:1", reg.host());
    d.cli(cli, &["tag", IMAGE, &target]).ok();

    let o = d.cli(cli, &["push", &target]).ok();
    assert!(
        o.stdout.contains(&format!(
            "The push refers to repository [{}/e2e/bb]",
            reg.host()
        )),
        "{o:?}"
    );
    assert!(o.stdout.contains(": Pushed"), "{o:?}");
    let digest = o
        .lines()
        .iter()
        .find_map(|l| l.strip_prefix("1: digest: ").map(str::to_string))
        .unwrap_or_else(|| panic!("no digest line: {o:?}"));
    let digest = digest
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(digest.starts_with("sha256:"), "{o:?}");

    remove_image(&d, cli, &target);
    let o = d.cli(cli, &["pull", &target]).ok();
    for want in [
        "1: Pulling from e2e/bb".to_string(),
        ": Pull complete".to_string(),
        format!("Digest: {digest}"),
        format!("Status: Downloaded newer image for {target}"),
    ] {
        assert!(o.stdout.contains(&want), "{want:?} missing:\n{o:?}");
    }
    let o = d.cli(cli, &["run", "--rm", &target, "echo", "pulled"]).ok();
    assert_eq!(o.out(), "pulled");
    let o = d
        .cli(
            cli,
            &[
                "images",
                "--digests",
                "--format",
                "{{.Repository}} {{.Digest}}",
            ],
        )
        .ok();
    assert!(
        o.stdout
            .contains(&format!("{}/e2e/bb {digest}", reg.host())),
        "{o:?}"
    );
    let o = d.cli(cli, &["pull", &target]).ok();
    assert!(
        o.stdout
            .contains(&format!("Status: Image is up to date for {target}")),
        "{o:?}"
    );

    // dockerd's events, named by the reference.
    let until = (now() + 1).to_string();
    let o = d
        .cli(
            cli,
            &[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                "type=image",
                "--format",
                "{{.Action}} {{.Actor.ID}}",
            ],
        )
        .ok();
    for want in [format!("push {target}"), format!("pull {target}")] {
        assert!(o.lines().contains(&want), "{want:?} missing: {o:?}");
    }

    // Every tag of the repository, both ways (`-a`).
    let repo = format!("{}/e2e/bb", reg.host());
    d.cli(cli, &["tag", &target, &format!("{repo}:2")]).ok();
    let o = d.cli(cli, &["push", "-a", &repo]).ok();
    assert!(o.stdout.contains("1: digest: sha256:"), "{o:?}");
    assert!(o.stdout.contains("2: digest: sha256:"), "{o:?}");
    remove_image(&d, cli, &target);
    let o = d.cli(cli, &["pull", "-a", &repo]).ok();
    assert!(o.stdout.contains("2: Pulling from e2e/bb"), "{o:?}");
    let o = d
        .cli(cli, &["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok();
    let mut mine: Vec<String> = o
        .lines()
        .into_iter()
        .filter(|l| l.starts_with(&repo))
        .collect();
    mine.sort();
    assert_eq!(mine, [format!("{repo}:1"), format!("{repo}:2")], "{o:?}");

    // No such tag: Docker's message, and an exit status.
    let missing = format!("{}/e2e/bb:nope", reg.host());
    let o = d.cli(cli, &["pull", &missing]).fails();
    assert!(
        o.stderr.contains(&format!(
            "manifest for {missing} not found: manifest unknown"
        )),
        "{o:?}"
    );
}

/// The API as dockerd speaks it: `/auth`'s answers, `X-Registry-Auth`, the JSON progress
/// of a push (with its `aux`) and of a pull.
#[test]
fn api_streams_read_as_dockerd_s() {
    let reg = Registry::start(RegistryOptions {
        tls: None,
        user: Some(("bob", "hunter2")),
        token: None,
    });
    let d = daemon!();
    let host = reg.host();

    let bad = serde_json::json!({"username": "bob", "password": "nope", "serveraddress": host});
    let r = d.http_json("POST", "/auth", &bad);
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        r.message(),
        format!("login attempt to http://{host}/v2/ failed with status: 401 Unauthorized")
    );
    let good = serde_json::json!({"username": "bob", "password": "hunter2", "serveraddress": host});
    let r = d.http_json("POST", "/auth", &good);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json(),
        serde_json::json!({"Status": "Login Succeeded", "IdentityToken": ""})
    );

    let target = format!("{host}/api/bb");
    d.berth(&["tag", IMAGE, &format!("{target}:7")]).ok();
    let auth = berth_api::auth::AuthConfig {
        username: "bob".into(),
        password: "hunter2".into(),
        server_address: host.clone(),
        ..Default::default()
    }
    .encode();
    let push = format!("/images/{target}/push?tag=7");
    let r = d.http_with("POST", &push, &[("X-Registry-Auth", &auth)], None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let lines = json_lines(&r.body);
    assert_eq!(
        lines[0]["status"],
        format!("The push refers to repository [{target}]")
    );
    let aux = lines
        .iter()
        .find_map(|l| l.get("aux"))
        .unwrap_or_else(|| panic!("no aux: {lines:?}"));
    assert_eq!(aux["Tag"], "7");
    let digest = aux["Digest"].as_str().unwrap().to_string();
    let size = aux["Size"].as_u64().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["status"] == format!("7: digest: {digest} size: {size}")),
        "{lines:?}"
    );

    // Without credentials the push fails in the stream, after its first line.
    let r = d.http("POST", &push);
    assert_eq!(r.status, 200, "{r:?}");
    let last = json_lines(&r.body).pop().unwrap();
    assert!(last["errorDetail"]["message"].is_string(), "{last}");
    assert_eq!(last["error"], last["errorDetail"]["message"]);

    // Pull by digest with the credentials: Docker's messages, in Docker's order.
    d.berth(&["rmi", "-f", IMAGE, &format!("{target}:7")]).ok();
    let pull = format!("/images/create?fromImage={target}&tag={digest}");
    let r = d.http_with("POST", &pull, &[("X-Registry-Auth", &auth)], None);
    assert_eq!(r.status, 200, "{r:?}");
    let lines = json_lines(&r.body);
    assert_eq!(
        lines[0],
        serde_json::json!({"status": "Pulling from api/bb", "id": digest})
    );
    let layer = lines
        .iter()
        .find(|l| l["status"] == "Pulling fs layer")
        .unwrap_or_else(|| panic!("no layer: {lines:?}"));
    assert_eq!(layer["progressDetail"], serde_json::json!({}));
    assert!(lines
        .iter()
        .any(|l| l["status"] == "Downloading" && l["progressDetail"]["total"].as_u64() > Some(0)));
    assert!(lines.iter().any(|l| l["status"] == "Pull complete"));
    let n = lines.len();
    assert_eq!(lines[n - 2]["status"], format!("Digest: {digest}"));
    assert_eq!(
        lines[n - 1]["status"],
        format!("Status: Downloaded newer image for {target}@{digest}")
    );

    // A repository that does not exist: an HTTP error, as dockerd answers before any output.
    let r = d.http_with(
        "POST",
        &format!("/images/create?fromImage={host}/api/none&tag=1"),
        &[("X-Registry-Auth", &auth)],
        None,
    );
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.message().contains("not found"), "{r:?}");
}

/// On a terminal both CLIs redraw each layer's line in place.
#[test]
fn progress_is_drawn_in_place_on_a_terminal() {
    let reg = Registry::start(RegistryOptions::default());
    let d = daemon!();
    let target = format!("{}/tty/bb:1", reg.host());
    d.berth(&["tag", IMAGE, &target]).ok();
    d.berth(&["push", &target]).ok();
    for cli in ["$BERTH", "$DOCKER"] {
        remove_image(&d, Cli::Berth, &target);
        let o = d.in_pty(&format!("{cli} pull {target}"), None).ok();
        // Cursor up, clear the line, the layer's status, back down.
        assert!(o.stdout.contains("\x1b[2K\r"), "{cli}: {o:?}");
        assert!(o.stdout.contains("\x1b[1A"), "{cli}: {o:?}");
        assert!(o.stdout.contains(": Pull complete"), "{cli}: {o:?}");
        assert!(
            o.stdout
                .contains(&format!("Status: Downloaded newer image for {target}")),
            "{cli}: {o:?}"
        );
    }
}

/// Pulls side by side of one image (by both CLIs) and of another sharing its layer all
/// finish, and the image runs.
#[test]
fn concurrent_pulls_of_shared_layers_all_succeed() {
    let reg = Registry::start(RegistryOptions::default());
    let d = daemon!();
    let first = format!("{}/big/conc:1", reg.host());
    let second = format!("{}/big/conc2:1", reg.host());
    d.berth_in(&["import", "-", &first], &big_image_tar(8 << 20))
        .ok();
    d.berth(&["tag", &first, &second]).ok();
    d.berth(&["push", &first]).ok();
    d.berth(&["push", &second]).ok();
    remove_image(&d, Cli::Berth, &first);
    let pulls = [
        d.cli_spawn(Cli::Berth, &["pull", &first]),
        d.cli_spawn(Cli::Docker, &["pull", &first]),
        d.cli_spawn(Cli::Docker, &["pull", &second]),
    ];
    for mut p in pulls {
        let status = p.wait_timeout(std::time::Duration::from_secs(90));
        assert!(
            status.is_some_and(|s| s.success()),
            "{status:?}\n{}\n{}",
            p.stdout(),
            p.stderr()
        );
    }
    for r in [&first, &second] {
        d.berth(&["run", "--rm", r, "true"]).ok();
    }
}
