//! Images: import (file, stdin, --change), list, inspect, tag, rmi, and hostile archives.

use berth_e2e::{both_clis, busybox_tar, daemon, tar_with_raw_path, unique, Cli, IMAGE};

both_clis!(
    import_from_file_and_stdin,
    import_change_cmd,
    images_list_and_inspect,
    tag_and_rmi,
    rmi_refused_while_in_use,
    import_rejects_path_traversal,
);

fn import_from_file_and_stdin(cli: Cli) {
    let d = daemon!();
    let file = d.root.join("bb.tar");
    std::fs::write(&file, busybox_tar()).unwrap();
    let o = d
        .cli(cli, &["import", file.to_str().unwrap(), "fromfile:v1"])
        .ok();
    assert!(o.out().starts_with("sha256:"), "{o:?}");
    let o = d
        .cli_in(cli, &["import", "-", "fromstdin:v2"], busybox_tar())
        .ok();
    assert!(o.out().starts_with("sha256:"), "{o:?}");
    let list = d
        .cli(cli, &["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .lines();
    for r in ["fromfile:v1", "fromstdin:v2", "busybox:latest"] {
        assert!(list.contains(&r.to_string()), "{r} not in {list:?}");
    }
    for img in ["fromfile:v1", "fromstdin:v2"] {
        let o = d.cli(cli, &["run", "--rm", img, "echo", "ran"]).ok();
        assert_eq!(o.out(), "ran");
    }
}

fn import_change_cmd(cli: Cli) {
    let d = daemon!();
    let o = d
        .cli_in(
            cli,
            &[
                "import",
                "--change",
                r#"CMD ["echo", "from-cmd"]"#,
                "--change",
                "ENV GREETING=hi",
                "--change",
                "WORKDIR /tmp",
                "-",
                "withcmd:1",
            ],
            busybox_tar(),
        )
        .ok();
    assert!(o.out().starts_with("sha256:"), "{o:?}");
    let o = d.cli(cli, &["run", "--rm", "withcmd:1"]).ok();
    assert_eq!(o.out(), "from-cmd");
    let o = d
        .cli(
            cli,
            &[
                "run",
                "--rm",
                "withcmd:1",
                "sh",
                "-c",
                "echo $GREETING; pwd",
            ],
        )
        .ok();
    assert_eq!(o.lines(), vec!["hi", "/tmp"]);
    let o = d
        .cli(
            cli,
            &[
                "image",
                "inspect",
                "-f",
                "{{json .Config.Cmd}}",
                "withcmd:1",
            ],
        )
        .ok();
    assert_eq!(o.out(), r#"["echo","from-cmd"]"#);
    // The CMD ["sh"] of the issue: an interactive shell reading stdin.
    d.cli_in(
        cli,
        &["import", "--change", r#"CMD ["sh"]"#, "-", "shcmd:1"],
        busybox_tar(),
    )
    .ok();
    let o = d
        .cli_in(cli, &["run", "-i", "--rm", "shcmd:1"], b"echo via-sh\n")
        .ok();
    assert_eq!(o.out(), "via-sh");
}

fn images_list_and_inspect(cli: Cli) {
    let d = daemon!();
    let table = d.cli(cli, &["images"]).ok();
    let header = table.stdout.lines().next().unwrap_or("");
    for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(header.contains(col), "{table:?}");
    }
    assert!(table.stdout.contains("busybox"), "{table:?}");
    let ls = d.cli(cli, &["image", "ls", "-q"]).ok().lines();
    assert_eq!(ls.len(), 1, "{ls:?}");
    assert_eq!(ls[0].len(), 12, "{ls:?}");
    let j = d.cli(cli, &["image", "inspect", IMAGE]).ok();
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    let img = &v[0];
    assert!(img["Id"].as_str().unwrap().starts_with("sha256:"), "{img}");
    assert!(img["Id"].as_str().unwrap()[7..].starts_with(&ls[0]));
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["Architecture"], "amd64");
    assert!(img["RepoTags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "busybox:latest"));
    assert!(img["Size"].as_u64().unwrap() > 500_000, "{img}");
    assert_eq!(img["RootFS"]["Type"], "layers");
    let o = d
        .cli(cli, &["image", "inspect", "-f", "{{.Os}}", "busybox"])
        .ok();
    assert_eq!(o.out(), "linux");
    let o = d.cli(cli, &["image", "inspect", "nosuch:1"]).fails();
    assert!(o.stderr.contains("No such image"), "{o:?}");
}

fn tag_and_rmi(cli: Cli) {
    let d = daemon!();
    d.cli(cli, &["tag", "busybox", "mine:1"]).ok();
    d.cli(cli, &["tag", "busybox:latest", "example.com/team/other:2"])
        .ok();
    let list = d
        .cli(
            cli,
            &["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"],
        )
        .ok()
        .lines();
    let id_of = |r: &str| {
        list.iter()
            .find(|l| l.starts_with(&format!("{r} ")))
            .unwrap_or_else(|| panic!("{r} not in {list:?}"))
            .split(' ')
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(id_of("mine:1"), id_of("busybox:latest"));
    assert_eq!(id_of("example.com/team/other:2"), id_of("busybox:latest"));
    let o = d.cli(cli, &["run", "--rm", "mine:1", "echo", "ok"]).ok();
    assert_eq!(o.out(), "ok");
    let o = d.cli(cli, &["rmi", "mine:1"]).ok();
    assert!(o.stdout.contains("Untagged: mine:1"), "{o:?}");
    let list = d
        .cli(cli, &["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .lines();
    assert!(!list.contains(&"mine:1".to_string()), "{list:?}");
    assert!(list.contains(&"busybox:latest".to_string()), "{list:?}");
    d.cli(cli, &["rmi", "mine:1"]).fails();
    d.cli(cli, &["tag", "nosuch:1", "x:1"]).fails();
    // Removing the last tag deletes the image.
    d.cli(cli, &["rmi", "example.com/team/other:2"]).ok();
    let o = d.cli(cli, &["rmi", "busybox"]).ok();
    assert!(o.stdout.contains("Untagged: busybox:latest"), "{o:?}");
    assert!(o.stdout.contains("Deleted: sha256:"), "{o:?}");
    assert!(d.cli(cli, &["images", "-q"]).ok().out().is_empty());
}

fn rmi_refused_while_in_use(cli: Cli) {
    let d = daemon!();
    d.cli_in(
        cli,
        &["import", "--change", "LABEL solo=1", "-", "solo:1"],
        busybox_tar(),
    )
    .ok();
    let name = unique("user");
    d.cli(cli, &["create", "--name", &name, "solo:1", "true"])
        .ok();
    // dockerd: a container (even a stopped one) using the only tag of an image needs -f.
    let o = d.cli(cli, &["rmi", "solo:1"]).fails();
    assert!(
        o.stderr.contains("conflict") || o.stderr.contains("must force"),
        "{o:?}"
    );
    assert!(
        o.stderr.contains(&name) || o.stderr.contains("container"),
        "{o:?}"
    );
    d.cli(cli, &["image", "inspect", "solo:1"]).ok();
    // -f untags it; the container keeps working from the image id.
    let o = d.cli(cli, &["rmi", "-f", "solo:1"]).ok();
    assert!(o.stdout.contains("Untagged: solo:1"), "{o:?}");
    d.cli(cli, &["image", "inspect", "solo:1"]).fails();
    let o = d.cli(cli, &["start", "-a", &name]).ok();
    assert_eq!(o.code(), 0);
    // Running container: its image id cannot be deleted even with -f.
    let id = d.run_d(cli, &[], &["sleep", "300"]);
    let img = d.inspect(&id)["Image"].as_str().unwrap().to_string();
    let o = d.cli(cli, &["rmi", "-f", &img]).fails();
    assert!(
        o.stderr.contains("conflict") || o.stderr.contains("running"),
        "{o:?}"
    );
    d.cli(cli, &["image", "inspect", IMAGE]).ok();
}

fn import_rejects_path_traversal(cli: Cli) {
    let d = daemon!();
    let marker = unique("berth-evil");
    let deep = format!("../../../../../../../../../../tmp/{marker}");
    for path in [format!("../{marker}"), deep] {
        let tar = tar_with_raw_path(&path, b"pwned\n");
        let o = d.cli_in(cli, &["import", "-", "evil:1"], &tar);
        assert!(!o.success(), "importing a tar with {path} succeeded: {o:?}");
        assert!(
            !std::path::Path::new(&format!("/tmp/{marker}")).exists(),
            "{path} was written to /tmp"
        );
        // Nothing named like the marker anywhere under the daemon's root.
        let out = std::process::Command::new("find")
            .arg(&d.root)
            .arg("-name")
            .arg(&marker)
            .output()
            .unwrap();
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let list = d
        .cli(cli, &["images", "--format", "{{.Repository}}"])
        .ok()
        .lines();
    assert!(!list.contains(&"evil".to_string()), "{list:?}");
    // A symlink pointing out, then a file through it.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    h.set_uid(0);
    h.set_gid(0);
    b.append_link(&mut h, "escape", "/tmp").unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    let evil = format!("escape/{marker}");
    {
        let name = &mut h.as_old_mut().name;
        name[..evil.len()].copy_from_slice(evil.as_bytes());
    }
    h.set_cksum();
    b.append(&h, &b"pwned\n"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let _ = d.cli_in(cli, &["import", "-", "evil:2"], &tar);
    assert!(
        !std::path::Path::new(&format!("/tmp/{marker}")).exists(),
        "a file was written through a symlink to /tmp"
    );
}
