//! The official docker CLI against berthd: the flows the other files do not already drive
//! through both CLIs.

use berth_e2e::{daemon, Cli, IMAGE};

#[test]
fn version_info_and_negotiation() {
    let d = daemon!();
    let o = d
        .docker(&[
            "version",
            "--format",
            "{{.Server.APIVersion}} {{.Server.Os}}",
        ])
        .ok();
    assert_eq!(o.out(), "1.47 linux");
    let o = d
        .docker(&["info", "--format", "{{.OSType}} {{.Images}}"])
        .ok();
    assert_eq!(o.out(), "linux 1");
    let o = d.berth(&["version"]).ok();
    assert!(o.stdout.contains("Server"), "{o:?}");
    let o = d.berth(&["info"]).ok();
    assert!(o.stdout.contains("Images: 1"), "{o:?}");
}

#[test]
fn top_lists_container_processes() {
    let d = daemon!();
    for cli in [Cli::Docker, Cli::Berth] {
        let id = d.run_d(cli, &[], &["sh", "-c", "sleep 300 & exec sleep 301"]);
        berth_e2e::wait_until("two processes", berth_e2e::SOON, || {
            d.cli(cli, &["top", &id]).stdout.lines().count() == 3
        });
        let o = d.cli(cli, &["top", &id]).ok();
        assert!(o.stdout.lines().next().unwrap().contains("PID"), "{o:?}");
        assert!(o.stdout.contains("sleep 300"), "{o:?}");
        assert!(o.stdout.contains("sleep 301"), "{o:?}");
        let pid = d.inspect(&id)["State"]["Pid"].to_string();
        assert!(
            o.stdout
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(&pid)),
            "{o:?}"
        );
        let o = d.cli(cli, &["top", &id, "-o", "pid,comm"]).ok();
        assert!(
            o.stdout.lines().next().unwrap().contains("COMMAND"),
            "{o:?}"
        );
    }
}

#[test]
fn inspect_templates_and_container_json() {
    let d = daemon!();
    let id = d.run_d(
        Cli::Docker,
        &["--name", "tmpl", "-e", "A=1", "--memory", "32m"],
        &["sleep", "300"],
    );
    let o = d
        .docker(&[
            "inspect",
            "-f",
            "{{.Name}} {{.Config.Image}} {{.HostConfig.Memory}} {{range .Config.Env}}{{.}},{{end}}",
            "tmpl",
        ])
        .ok();
    assert!(
        o.out().starts_with("/tmpl busybox:latest 33554432 "),
        "{o:?}"
    );
    assert!(o.out().contains("A=1,"), "{o:?}");
    let o = d.docker(&["container", "inspect", &id]).ok();
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v[0]["Config"]["Cmd"], serde_json::json!(["sleep", "300"]));
    assert_eq!(v[0]["Path"], "sleep");
    assert!(v[0]["Created"].as_str().unwrap().starts_with("20"));
    let o = d
        .docker(&["inspect", "--type", "image", "-f", "{{.Id}}", IMAGE])
        .ok();
    assert!(o.out().starts_with("sha256:"), "{o:?}");
}

#[test]
fn container_subcommands() {
    let d = daemon!();
    let o = d
        .docker(&["container", "run", "--rm", IMAGE, "echo", "sub"])
        .ok();
    assert_eq!(o.out(), "sub");
    let id = d.docker(&["container", "create", IMAGE, "true"]).ok().out();
    d.docker(&["container", "start", "-a", &id]).ok();
    let o = d.docker(&["container", "ls", "-a", "-q"]).ok();
    assert_eq!(o.out(), id[..12]);
    d.docker(&["container", "rm", &id]).ok();
    assert!(d
        .docker(&["container", "ls", "-a", "-q"])
        .ok()
        .out()
        .is_empty());
}
