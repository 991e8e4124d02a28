//! `save` and `load` through berth and the docker CLI (files, pipes, bad input), and podman
//! loading what berth saves and the reverse (docker and OCI archives).

use berth_e2e::registry::{remove_image, Podman};
use berth_e2e::{both_clis, daemon, Cli, IMAGE};
both_clis!(save_and_load,);

fn save_and_load(cli: Cli) {
    let d = daemon!();
    let file = d.root.join("saved.tar");
    d.cli(cli, &["tag", IMAGE, "saved/bb:2"]).ok();
    d.cli(
        cli,
        &["save", "-o", file.to_str().unwrap(), IMAGE, "saved/bb:2"],
    )
    .ok();
    let archive = std::fs::read(&file).unwrap();
    remove_image(&d, cli, IMAGE);

    let o = d.cli(cli, &["load", "-i", file.to_str().unwrap()]).ok();
    assert!(o.stdout.contains("Loaded image: busybox:latest"), "{o:?}");
    assert!(o.stdout.contains("Loaded image: saved/bb:2"), "{o:?}");
    let o = d
        .cli(cli, &["run", "--rm", "saved/bb:2", "echo", "loaded"])
        .ok();
    assert_eq!(o.out(), "loaded");

    // To stdout and from stdin, quietly.
    let mut save = d.cli_cmd(cli, &["save", "saved/bb:2"]);
    let out = save.output().expect("running save");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.len() > 1 << 20, "{} bytes", out.stdout.len());
    remove_image(&d, cli, "saved/bb:2");
    let o = d.cli_in(cli, &["load", "-q"], &out.stdout).ok();
    assert_eq!(o.out(), "Loaded image: saved/bb:2");
    d.cli(cli, &["run", "--rm", "saved/bb:2", "true"]).ok();

    // Not an archive: refused, nothing loaded.
    let o = d.cli_in(cli, &["load"], b"not a tar at all").fails();
    assert!(o.stderr.contains("Error response from daemon"), "{o:?}");
    let o = d
        .cli(cli, &["save", "-o", file.to_str().unwrap(), "nosuch:1"])
        .fails();
    assert!(o.stderr.contains("No such image: nosuch:1"), "{o:?}");
    assert!(archive.len() > 1 << 20);
}

#[test]
fn podman_loads_what_berth_saves_and_the_reverse() {
    let d = daemon!();
    let podman = Podman::new();
    let saved = d.root.join("for-podman.tar");
    d.berth(&["save", "-o", saved.to_str().unwrap(), IMAGE])
        .ok();
    let o = podman.run(&["load", "-i", saved.to_str().unwrap()]).ok();
    assert!(o.stdout.contains("busybox:latest"), "{o:?}");
    let ulimits = [
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
    ];
    let mut run = vec!["run", "--rm"];
    run.extend_from_slice(&ulimits);
    run.extend_from_slice(&["docker.io/library/busybox:latest", "echo", "in-podman"]);
    assert_eq!(podman.run(&run).ok().out(), "in-podman");

    podman
        .run(&[
            "tag",
            "docker.io/library/busybox:latest",
            "localhost/frompodman:2",
        ])
        .ok();
    for (format, file) in [
        ("docker-archive", "p-docker.tar"),
        ("oci-archive", "p-oci.tar"),
    ] {
        let path = d.root.join(file);
        podman
            .run(&[
                "save",
                "--format",
                format,
                "-o",
                path.to_str().unwrap(),
                "localhost/frompodman:2",
            ])
            .ok();
        d.berth(&["rmi", "-f", "localhost/frompodman:2"]);
        let o = d.berth(&["load", "-i", path.to_str().unwrap()]).ok();
        assert!(
            o.stdout.contains("Loaded image: localhost/frompodman:2"),
            "{format}: {o:?}"
        );
        let o = d
            .berth(&["run", "--rm", "localhost/frompodman:2", "echo", format])
            .ok();
        assert_eq!(o.out(), format);
    }
}
