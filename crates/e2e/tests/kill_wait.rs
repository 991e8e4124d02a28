//! `kill` right after `start`, then `wait`, from several clients at once (as client
//! libraries' test suites do): every wait reports the kill's 137, never a stale code.

use berth_e2e::{daemon, TestDaemon, IMAGE};

const CLIENTS: usize = 6;
const ROUNDS: usize = 15;

fn round(d: &TestDaemon) -> Option<String> {
    let body = serde_json::json!({"Image": IMAGE, "Cmd": ["sleep", "60"]});
    let r = d.http_json("POST", "/containers/create", &body);
    assert_eq!(r.status, 201, "create: {}", r.text());
    let id = r.json()["Id"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        d.http("POST", &format!("/containers/{id}/start")).status,
        204
    );
    let kill = d.http("POST", &format!("/containers/{id}/kill?signal=9"));
    assert_eq!(kill.status, 204, "kill: {}", kill.text());
    let wait = d.http("POST", &format!("/containers/{id}/wait"));
    let code = wait.json()["StatusCode"].clone();
    let inspected = d.inspect(&id)["State"]["ExitCode"].clone();
    assert_eq!(
        d.http("DELETE", &format!("/containers/{id}?force=1"))
            .status,
        204
    );
    (code != 137 || inspected != 137).then(|| format!("{id}: wait {code}, inspect {inspected}"))
}

#[test]
fn wait_after_kill_reports_the_kill_under_concurrency() {
    let d = daemon!();
    let wrong: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|_| s.spawn(|| (0..ROUNDS).filter_map(|_| round(&d)).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a client panicked"))
            .collect()
    });
    assert!(
        wrong.is_empty(),
        "{} of {} waits wrong: {wrong:?}",
        wrong.len(),
        CLIENTS * ROUNDS
    );
}
