//! The lifecycle with fakes at every edge (`seams::fake`): start, stop, kill, pause, restart
//! policies, auto-remove and recovery after a daemon crash, without root or processes.

use super::{Container, ContainerRecord};
use crate::model::{ContainerStatus, Event};
use crate::model::{HostConfig, NetworkMode, RestartPolicy};
use crate::seams::fake::Fakes;
use crate::{Engine, EngineConfig, ErrorKind};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

struct Harness {
    dir: tempfile::TempDir,
    fakes: Fakes,
    engine: Arc<Engine>,
}

fn config(dir: &std::path::Path) -> EngineConfig {
    EngineConfig {
        data_root: dir.join("data"),
        exec_root: dir.join("exec"),
        runtime: "builtin".into(),
        shim_binary: "/nonexistent/berth-shim".into(),
        cgroup_parent: "/berth-test".into(),
        init_binary: None,
        registry: Default::default(),
        log_driver: String::new(),
        log_opts: Default::default(),
    }
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let fakes = Fakes::default();
    let engine = Engine::open(config(dir.path()), fakes.deps())
        .await
        .unwrap();
    Harness { dir, fakes, engine }
}

impl Harness {
    /// The daemon crashed and starts again with the same roots (and the same fake shims).
    async fn reopen(self) -> Harness {
        let Harness { dir, fakes, engine } = self;
        drop(engine);
        // Tasks of the old engine may hold it a moment longer.
        let mut tries = 0;
        let engine = loop {
            match Engine::open(config(dir.path()), fakes.deps()).await {
                Ok(e) => break e,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("reopening: {e}"),
            }
        };
        Harness { dir, fakes, engine }
    }

    /// A created container, as create leaves it.
    fn add(&self, name: &str, host: HostConfig) -> String {
        let id = hex::encode(rand::random::<[u8; 32]>());
        std::fs::create_dir_all(self.engine.config.container_dir(&id)).unwrap();
        let rec = ContainerRecord {
            id: id.clone(),
            name: name.into(),
            created: super::now_rfc3339(),
            image_id: "sha256:0".into(),
            layers: vec![],
            config: crate::model::ContainerConfig {
                image: "busybox".into(),
                cmd: Some(vec!["sh".into()]),
                ..Default::default()
            },
            host_config: HostConfig {
                network_mode: NetworkMode::None,
                ..host
            },
            path: "sh".into(),
            args: vec![],
            state: Default::default(),
            restart_count: 0,
            manually_stopped: false,
        };
        self.engine.persist(&rec).unwrap();
        self.engine.insert(Arc::new(Container::new(rec)));
        id
    }

    fn rec(&self, id: &str) -> ContainerRecord {
        self.engine.container(id).unwrap().snapshot()
    }

    fn stored(&self, id: &str) -> ContainerRecord {
        let all = self.engine.store.all().unwrap();
        all.into_iter().find(|r| r.id == id).expect("stored")
    }

    fn state_dir(&self, id: &str) -> std::path::PathBuf {
        self.engine.config.shim_state_dir(id)
    }
}

fn policy(name: &str, max: i64) -> HostConfig {
    HostConfig {
        restart_policy: match name {
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => RestartPolicy::OnFailure { max_retries: max },
            _ => RestartPolicy::No,
        },
        ..Default::default()
    }
}

/// Waits (up to 10 s) for `cond`.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A one-file image `img:1` (`CMD ["sh"]`), imported as `docker import` does.
async fn import_image(engine: &Engine) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(&mut header, "bin/sh", &b"#!\n"[..])
        .unwrap();
    let bytes = tar.into_inner().unwrap();
    engine
        .import_image(
            Box::new(std::io::Cursor::new(bytes)),
            "img",
            "1",
            &["CMD [\"sh\"]".to_string()],
            "",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn create_merges_the_image_and_commits_a_created_container() {
    let h = harness().await;
    import_image(&h.engine).await;
    let config = crate::model::ContainerConfig {
        image: "img:1".into(),
        ..Default::default()
    };
    let (id, _) = h
        .engine
        .create_container(Some("first"), config.clone(), HostConfig::default())
        .await
        .unwrap();
    let rec = h.stored(&id);
    assert_eq!(rec.state.status(), ContainerStatus::Created);
    assert_eq!((rec.path.as_str(), rec.name.as_str()), ("sh", "first"));
    assert_eq!(rec.host_config.network_mode, NetworkMode::None);
    assert_eq!(rec.host_config.restart_policy, RestartPolicy::No);
    let dir = h.engine.config.container_dir(&id);
    let hostname = std::fs::read_to_string(dir.join("hostname")).unwrap();
    assert_eq!(hostname.trim(), &id[..12]);
    assert!(h.fakes.shims.calls().is_empty(), "create launched a shim");

    let e = h
        .engine
        .create_container(Some("first"), config.clone(), HostConfig::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(
        e.to_string().contains("\"/first\" is already in use"),
        "{e}"
    );
    let e = h
        .engine
        .create_container(
            None,
            config.clone(),
            HostConfig {
                auto_remove: true,
                restart_policy: RestartPolicy::Always,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "can't create 'AutoRemove' container with restart policy"
    );
    let missing = crate::model::ContainerConfig {
        image: "nope".into(),
        ..Default::default()
    };
    let e = h
        .engine
        .create_container(None, missing, HostConfig::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.to_string(), "No such image: nope:latest");
    // Only the first create left a container.
    assert_eq!(h.engine.store.all().unwrap().len(), 1);
    // It starts like any other.
    h.engine.start_container(&id).await.unwrap();
    assert_eq!(h.rec(&id).state.status(), ContainerStatus::Running);
}

#[tokio::test]
async fn start_launches_the_shim_and_records_running() {
    let h = harness().await;
    let id = h.add("web", HostConfig::default());
    h.engine.start_container("web").await.unwrap();
    let rec = h.rec(&id);
    assert_eq!(rec.state.status(), ContainerStatus::Running);
    assert_eq!(rec.state.pid, 1000);
    assert_eq!(h.stored(&id).state.status(), ContainerStatus::Running);
    assert_eq!(h.fakes.shims.calls(), ["create", "start"]);
    assert_eq!(h.fakes.network.loopbacks.load(Ordering::SeqCst), 1);
    assert!(h
        .dir
        .path()
        .join("data/containers")
        .join(&id)
        .join("bundle/config.json")
        .exists());
    let e = h.engine.start_container("web").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotModified);
}

#[tokio::test]
async fn a_failed_create_is_torn_down_and_recorded() {
    let h = harness().await;
    let id = h.add("bad", HostConfig::default());
    *h.fakes.shims.fail_create.lock().unwrap() =
        Some("exec: \"nope\": executable file not found in $PATH".into());
    let e = h.engine.start_container(&id).await.unwrap_err();
    assert!(e.to_string().contains("executable file not found"), "{e}");
    let rec = h.rec(&id);
    assert_eq!(rec.state.status(), ContainerStatus::Created);
    assert_eq!(rec.state.exit_code, 127);
    assert_eq!(h.fakes.shims.calls(), ["create", "abort"]);
    assert!(h
        .fakes
        .cgroups
        .calls()
        .iter()
        .any(|c| c.starts_with("kill_all")));
    assert!(
        h.fakes.rootfs.mounted.lock().unwrap().is_empty(),
        "rootfs released"
    );
}

#[tokio::test]
async fn stop_sends_sigterm_then_sigkill_after_the_timeout() {
    let h = harness().await;
    let id = h.add("stubborn", HostConfig::default());
    h.engine.start_container(&id).await.unwrap();
    h.fakes.shims.ignore_sigterm.store(true, Ordering::SeqCst);
    let t0 = std::time::Instant::now();
    h.engine.stop_container(&id, Some(1), None).await.unwrap();
    assert!(t0.elapsed() >= Duration::from_secs(1), "SIGKILL came early");
    assert_eq!(
        h.fakes.shims.calls(),
        ["create", "start", "kill 15", "kill 9"]
    );
    let rec = h.rec(&id);
    assert_eq!(rec.state.status(), ContainerStatus::Exited);
    assert_eq!(rec.state.exit_code, 137);
    assert!(rec.manually_stopped);
    let e = h
        .engine
        .stop_container(&id, Some(1), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotModified);
}

#[tokio::test]
async fn stop_of_a_container_that_obeys_sigterm_sends_nothing_more() {
    let h = harness().await;
    let id = h.add("polite", HostConfig::default());
    h.engine.start_container(&id).await.unwrap();
    h.engine.stop_container(&id, Some(10), None).await.unwrap();
    assert_eq!(h.fakes.shims.calls(), ["create", "start", "kill 15"]);
    assert_eq!(h.rec(&id).state.exit_code, 143);
}

#[tokio::test]
async fn kill_sigkills_and_refuses_a_stopped_container() {
    let h = harness().await;
    let id = h.add("k", HostConfig::default());
    h.engine.start_container(&id).await.unwrap();
    h.engine.kill_container(&id, None).await.unwrap();
    assert_eq!(h.rec(&id).state.exit_code, 137);
    assert_eq!(h.rec(&id).state.status(), ContainerStatus::Exited);
    let e = h.engine.kill_container(&id, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().ends_with("is not running"), "{e}");
}

#[tokio::test]
async fn pause_freezes_and_the_state_machine_refuses_illegal_moves() {
    let h = harness().await;
    let id = h.add("p", HostConfig::default());
    let e = h.engine.pause_container(&id).await.unwrap_err();
    assert_eq!(e.to_string(), format!("Container {id} is not running"));
    assert_eq!(e.kind(), ErrorKind::Conflict);
    h.engine.start_container(&id).await.unwrap();
    h.engine.pause_container(&id).await.unwrap();
    assert_eq!(h.rec(&id).state.status(), ContainerStatus::Paused);
    let e = h.engine.start_container(&id).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot start a paused container, try unpause instead"
    );
    h.engine.unpause_container(&id).await.unwrap();
    assert_eq!(h.rec(&id).state.status(), ContainerStatus::Running);
    let cg = h.fakes.cgroups.calls();
    assert!(
        cg[0].starts_with("freeze ") && cg[1].starts_with("thaw "),
        "{cg:?}"
    );
}

#[tokio::test]
async fn on_failure_restarts_up_to_its_maximum() {
    let h = harness().await;
    let id = h.add("flaky", policy("on-failure", 2));
    h.engine.start_container(&id).await.unwrap();
    let sd = h.state_dir(&id);
    for round in 1..=2 {
        h.fakes.shims.exit(&sd, 1);
        until("restarted", || {
            let r = h.rec(&id);
            r.restart_count == round && r.state.status() == ContainerStatus::Running
        })
        .await;
    }
    h.fakes.shims.exit(&sd, 1);
    until("exited", || {
        h.rec(&id).state.status() == ContainerStatus::Exited
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = h.rec(&id);
    assert_eq!(r.state.status(), ContainerStatus::Exited, "a third restart");
    assert_eq!((r.restart_count, r.state.exit_code), (2, 1));
}

#[tokio::test]
async fn on_failure_leaves_a_clean_exit_alone_and_always_restarts_it() {
    let h = harness().await;
    let calm = h.add("calm", policy("on-failure", 0));
    let busy = h.add("busy", policy("always", 0));
    h.engine.start_container(&calm).await.unwrap();
    h.engine.start_container(&busy).await.unwrap();
    h.fakes.shims.exit(&h.state_dir(&calm), 0);
    h.fakes.shims.exit(&h.state_dir(&busy), 0);
    until("always restarts", || h.rec(&busy).restart_count == 1).await;
    until("calm exits", || {
        h.rec(&calm).state.status() == ContainerStatus::Exited
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.rec(&calm).restart_count, 0);
}

#[tokio::test]
async fn unless_stopped_stays_stopped_after_a_manual_stop_even_across_daemon_starts() {
    let h = harness().await;
    let manual = h.add("manual", policy("unless-stopped", 0));
    let always = h.add("always", policy("always", 0));
    for id in [&manual, &always] {
        h.engine.start_container(id).await.unwrap();
        h.engine.stop_container(id, Some(1), None).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.rec(&manual).state.status(), ContainerStatus::Exited);
    assert_eq!(h.rec(&always).state.status(), ContainerStatus::Exited);
    let h = h.reopen().await;
    // `always` ignores a manual stop when the daemon starts; `unless-stopped` does not.
    until("always back", || {
        h.rec(&always).state.status() == ContainerStatus::Running
    })
    .await;
    assert_eq!(h.rec(&manual).state.status(), ContainerStatus::Exited);
}

#[tokio::test]
async fn stop_cancels_a_pending_restart() {
    let h = harness().await;
    let id = h.add("loop", policy("always", 0));
    h.engine.start_container(&id).await.unwrap();
    // Ten quick exits push the back-off past a second.
    let sd = h.state_dir(&id);
    h.engine
        .container(&id)
        .unwrap()
        .update(|r| r.restart_count = 5);
    h.fakes.shims.exit(&sd, 2);
    until("restarting", || {
        h.rec(&id).state.status() == ContainerStatus::Restarting
    })
    .await;
    h.engine.stop_container(&id, Some(1), None).await.unwrap();
    assert_eq!(h.rec(&id).state.status(), ContainerStatus::Exited);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        h.rec(&id).state.status(),
        ContainerStatus::Exited,
        "restarted after stop"
    );
}

#[tokio::test]
async fn auto_remove_removes_the_container_when_it_exits() {
    let h = harness().await;
    let id = h.add(
        "rm",
        HostConfig {
            auto_remove: true,
            ..Default::default()
        },
    );
    h.engine.start_container(&id).await.unwrap();
    let wait = h
        .engine
        .wait_container(&id, super::WaitCondition::Removed)
        .unwrap();
    h.fakes.shims.exit(&h.state_dir(&id), 0);
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap();
    assert!(h.engine.container(&id).is_err(), "still listed");
    assert!(h.engine.store.all().unwrap().iter().all(|r| r.id != id));
    until("layer removed", || {
        h.fakes.rootfs.removed.lock().unwrap().contains(&id)
    })
    .await;
}

/// A daemon crash with its shim alive: the first engine runs on a runtime of its own that is
/// dropped (its tasks, the monitor among them, die with it, as with the process).
#[test]
fn recovery_reattaches_a_live_shim() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (h, id) = rt.block_on(async {
        let h = harness().await;
        let id = h.add("alive", HostConfig::default());
        h.engine.start_container(&id).await.unwrap();
        (h, id)
    });
    let Harness { dir, fakes, engine } = h;
    drop(engine);
    drop(rt);
    let sd = config(dir.path()).shim_state_dir(&id);
    assert!(fakes.shims.is_running(&sd));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let engine = Engine::open(config(dir.path()), fakes.deps())
            .await
            .unwrap();
        let h = Harness { dir, fakes, engine };
        assert_eq!(h.rec(&id).state.status(), ContainerStatus::Running);
        // The new daemon watches it: its exit is settled.
        h.fakes.shims.exit(&sd, 3);
        // The record is committed right after the status changes in memory.
        until("settled", || {
            h.stored(&id).state.status() == ContainerStatus::Exited
        })
        .await;
        assert_eq!(h.stored(&id).state.exit_code, 3);
        assert_eq!(
            h.fakes.shims.calls(),
            ["create", "start"],
            "no second launch"
        );
    });
}

#[tokio::test]
async fn recovery_settles_a_container_whose_shim_is_gone_from_its_exit_file() {
    let h = harness().await;
    let id = h.add("gone", HostConfig::default());
    // A record that says running, as the crashed daemon left it, and no shim any more.
    let c = h.engine.container(&id).unwrap();
    let rec = c.transition(Event::Start, |r| r.state.pid = 99).unwrap();
    h.engine.persist(&rec).unwrap();
    let sd = h.state_dir(&id);
    std::fs::create_dir_all(&sd).unwrap();
    std::fs::write(
        sd.join(berth_shim_protocol::EXIT_FILE),
        r#"{"exit_code":7,"oom_killed":true,"finished_at":"2026-12-02T10:00:00Z"}"#,
    )
    .unwrap();
    drop(c);
    let h = h.reopen().await;
    let rec = h.rec(&id);
    assert_eq!(rec.state.status(), ContainerStatus::Exited);
    assert_eq!((rec.state.exit_code, rec.state.oom_killed), (7, true));
    assert_eq!(rec.state.finished_at, "2026-12-02T10:00:00Z");
    assert_eq!(h.stored(&id).state.exit_code, 7);
}
