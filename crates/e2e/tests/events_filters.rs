//! `events` filters as Docker applies them: every `label` must match, `event`, `type`,
//! `container` (by name or id), `image`, replay with `since`/`until`, unknown keys refused.

use berth_e2e::{daemon, Cli, TestDaemon, IMAGE};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() + 1)
        .unwrap_or(0)
}

/// `docker events` replayed from the start until now, one `name action` line per event.
fn replay(d: &TestDaemon, cli: Cli, filters: &[&str]) -> Vec<String> {
    let until = now().to_string();
    let mut args = vec!["events", "--since", "0", "--until", &until];
    for f in filters {
        args.extend_from_slice(&["--filter", f]);
    }
    args.extend_from_slice(&["--format", "{{.Actor.Attributes.name}} {{.Action}}"]);
    d.cli(cli, &args).ok().lines()
}

#[test]
fn filters_select_as_docker_does() {
    let d = daemon!();
    d.cli(
        Cli::Berth,
        &[
            "run", "--name", "both", "-l", "a=1", "-l", "b=2", IMAGE, "true",
        ],
    )
    .ok();
    d.cli(
        Cli::Berth,
        &["run", "--name", "one", "-l", "a=1", IMAGE, "true"],
    )
    .ok();
    for cli in [Cli::Berth, Cli::Docker] {
        let both = replay(&d, cli, &["label=a=1", "label=b=2"]);
        assert!(!both.is_empty(), "{cli:?}: no events for both labels");
        assert!(
            both.iter().all(|l| l.starts_with("both ")),
            "{cli:?}: {both:?}"
        );

        let dies = replay(&d, cli, &["type=container", "event=die"]);
        assert_eq!(dies, ["both die", "one die"], "{cli:?}");

        let one = replay(&d, cli, &["container=one"]);
        assert!(one.contains(&"one start".to_string()), "{cli:?}: {one:?}");
        assert!(
            one.iter().all(|l| l.starts_with("one ")),
            "{cli:?}: {one:?}"
        );

        let by_image = replay(&d, cli, &["image=nosuch", "event=start"]);
        assert!(by_image.is_empty(), "{cli:?}: {by_image:?}");
        let by_image = replay(&d, cli, &[&format!("image={IMAGE}"), "event=start"]);
        assert_eq!(by_image.len(), 2, "{cli:?}: {by_image:?}");
    }
    let r = d.http(
        "GET",
        "/events?since=0&until=1&filters=%7B%22nope%22%3A%5B%22x%22%5D%7D",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.message(), "invalid filter 'nope'");
}
