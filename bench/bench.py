#!/usr/bin/env python3
"""berth vs Docker vs Podman: start latency, `ps` latency and memory.

Run through bench/run.sh. Every engine runs against a private state directory
under one temp dir (its own daemon where it has one), gets its `busybox` image
by importing the same local tarball, and runs containers with `--network none`
and `--pull never`. Engines are measured one after the other, never side by
side. Everything started here is stopped and removed at the end.

This is a benchmark, not a test: it reports numbers and never fails on them.
"""

import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
TAG = f"berth-bench-{os.getpid()}"

# Targets from the issue.
TARGET_RUN_RATIO = 0.1  # berth `run --rm busybox true` median <= 1/10 of docker's
TARGET_IDLE_RSS_KIB = 15 * 1024  # berthd idle RSS <= 15 MB
TARGET_PER_CTR_KIB = 1.5 * 1024  # <= 1.5 MB RSS per running container beyond its own processes

README_START = "<!-- bench-results:start -->"
README_END = "<!-- bench-results:end -->"


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class EngineFailed(Exception):
    """An engine cannot be measured on this host; the message says why."""


# ---------------------------------------------------------------- /proc helpers


def proc_list():
    """[(pid, ppid, argv)] of every process we can read."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError):
            continue
        out.append((int(d), ppid, argv))
    return out


def status_kib(pid, field="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rollup(pid):
    """Fields of /proc/PID/smaps_rollup in KiB (Rss, Pss, Private_Clean, ...)."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        pass
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        return st[st.rindex(")") + 2] != "Z"
    except OSError:
        return False


def own_mounts(prefix):
    """Mount points at or under prefix, deepest first."""
    pts = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4].replace("\\040", " ")
                if mp == prefix or mp.startswith(prefix + "/"):
                    pts.append(mp)
    except OSError:
        pass
    return sorted(pts, key=len, reverse=True)


def cgroup_roots():
    """Every cgroup hierarchy root mounted on this host (v1 controllers and v2)."""
    roots = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fstype = right.split()[0] if right else ""
                if fstype in ("cgroup", "cgroup2"):
                    roots.append(left.split()[4])
    except OSError:
        pass
    return sorted(set(roots))


def cgroup_layout():
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "cgroup v2 (unified)"
    if os.path.isdir("/sys/fs/cgroup/unified") and os.path.exists(
        "/sys/fs/cgroup/unified/cgroup.controllers"
    ):
        ctrls = sorted(
            d
            for d in os.listdir("/sys/fs/cgroup")
            if d not in ("unified", "systemd") and os.path.isdir(f"/sys/fs/cgroup/{d}") and not os.path.islink(f"/sys/fs/cgroup/{d}")
        )
        return f"hybrid: cgroup v1 controllers ({', '.join(ctrls)}) + cgroup2 at /sys/fs/cgroup/unified"
    return "cgroup v1"


def child_cgroups(name):
    """Directories below /<name> in every hierarchy (leftover container cgroups):
    (count, a few of them as hierarchy:relative/path)."""
    found = []
    for root in cgroup_roots():
        base = os.path.join(root, name.lstrip("/"))
        if os.path.isdir(base):
            for dirpath, dirs, _ in os.walk(base):
                found += [f"{os.path.basename(root)}:{os.path.relpath(os.path.join(dirpath, d), base)}" for d in dirs]
    return len(found), sorted(found)[:2]


def top_cgroups(name, roots):
    """Directories right below /<name> in each of `roots`, as hierarchy:dir. A container's
    cgroup is one of them; whatever it holds goes before it can, so this is enough to poll."""
    found = set()
    for root in roots:
        base = os.path.join(root, name.lstrip("/"))
        found |= {f"{os.path.basename(root)}:{d}" for d in subdirs(base)}
    return found


def subdirs(parent):
    """Names of the directories (not symlinks) right inside parent; none if it is missing."""
    try:
        with os.scandir(parent) as it:
            return {x.name for x in it if x.is_dir(follow_symlinks=False)}
    except (FileNotFoundError, NotADirectoryError):
        return set()


def remove_cgroups(name):
    for root in cgroup_roots():
        base = os.path.join(root, name.lstrip("/"))
        if not os.path.isdir(base):
            continue
        for dirpath, _, _ in sorted(os.walk(base), key=lambda t: len(t[0]), reverse=True):
            try:
                os.rmdir(dirpath)
            except OSError as e:
                log(f"could not remove cgroup {dirpath}: {e}")


# ---------------------------------------------------------------- command helpers


def run(argv, env=None, timeout=120, check=True):
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise EngineFailed(f"`{' '.join(argv)}` exited {p.returncode}: {(p.stderr or p.stdout).strip()[-600:]}")
    return p


def timed(argv, env=None):
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise EngineFailed(f"`{' '.join(argv)}` exited {p.returncode}: {p.stderr.strip()[-600:]}")
    return dt * 1000.0, p.stdout


def first_line(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - version strings are best effort
        return "?"


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise EngineFailed(f"timed out after {timeout}s waiting for {what}")


def stop_pid(pid, timeout=20):
    if pid is None or not alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    if alive(pid):
        log(f"pid {pid} ignored SIGTERM; sending SIGKILL")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- engines


class Engine:
    name = "?"
    supervisor = "?"  # basename of the per-container supervisor binary
    daemonless = False

    def __init__(self, root, tarball):
        self.root = os.path.join(root, self.name)
        # Runtime state (exec root, podman's runroot) on a tmpfs, as /run is on a real host.
        self.run_root = os.path.join(root, "run", self.name)
        self.tarball = tarball
        self.cgroup_parent = f"/{TAG}-{self.name}"
        self.env = dict(os.environ)
        self.procs = []  # Popen objects we started
        self.versions = {}

    # subclasses: available(), start(), cli, run_flags, daemon_pids(), stop()
    def available(self):
        return None

    def start(self):
        pass

    def run_flags(self):
        return ["--network", "none", "--pull", "never"]

    def c(self, *args):
        return self.cli + list(args)

    def import_image(self):
        run(self.c("import", "--change", 'CMD ["sh"]', self.tarball, "busybox:latest"), env=self.env, timeout=300)
        run(self.c("image", "inspect", "busybox:latest"), env=self.env)

    def daemon_pids(self):
        return {}

    def daemon_rss(self):
        return {k: status_kib(p) for k, p in self.daemon_pids().items()}

    def supervisor_pids(self):
        return [
            pid
            for pid, _, argv in proc_list()
            if argv
            and os.path.basename(argv[0]) == self.supervisor
            and any(self.root in a or self.run_root in a for a in argv)
            and alive(pid)
        ]

    def container_ids(self, all_=True):
        p = run(self.c("ps", "-aq" if all_ else "-q", "--no-trunc"), env=self.env)
        return p.stdout.split()

    def remove_all(self):
        ids = self.container_ids()
        for i in range(0, len(ids), 25):
            run(self.c("rm", "-f", *ids[i : i + 25]), env=self.env, timeout=300, check=False)

    def container_dir_parents(self):
        """Directories whose entries are per-container state on disk (the container's own
        directory and its writable layer); entries there at idle (image layers) do not count."""
        return []

    # cgroups under the parent that outlive every container by design (not a container's)
    shared_cgroups = frozenset()

    def stop(self):
        pass

    def shutdown(self):
        """stop() once, however many times cleanup asks."""
        if not getattr(self, "_stopped", False):
            self._stopped = True
            self.stop()


class Berth(Engine):
    name = "berth"
    supervisor = "berth-shim"

    def __init__(self, root, tarball, bindir):
        super().__init__(root, tarball)
        self.bindir = bindir
        self.sock = os.path.join(self.root, "berth.sock")
        self.cli = [os.path.join(bindir, "berth"), "-H", f"unix://{self.sock}"]
        self.pid = None
        self.cli_name = self.cli[0]

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        logf = open(os.path.join(self.root, "berthd.log"), "w")
        p = subprocess.Popen(
            [
                os.path.join(self.bindir, "berthd"),
                "--data-root", os.path.join(self.root, "data"),
                "--exec-root", self.run_root,
                "-H", f"unix://{self.sock}",
                "--cgroup-parent", self.cgroup_parent,
            ],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.procs.append(p)
        self.pid = p.pid
        wait_for(lambda: p.poll() is None and run(self.c("version"), env=self.env, check=False).returncode == 0, 30, "berthd")
        self.versions["berthd"] = first_line([os.path.join(self.bindir, "berthd"), "--version"])
        self.versions["berth CLI"] = first_line([self.cli[0], "--version"])

    def daemon_pids(self):
        return {"berthd": self.pid}

    def container_dir_parents(self):
        # <data-root>/containers/<id> holds the record and the writable layer (rootfs upper).
        return [os.path.join(self.root, "data", "containers")]

    def stop(self):
        stop_pid(self.pid)


class Docker(Engine):
    name = "docker"
    supervisor = "containerd-shim-runc-v2"

    def __init__(self, root, tarball):
        super().__init__(root, tarball)
        self.sock = os.path.join(self.root, "docker.sock")
        self.dockerd = shutil.which("dockerd")
        # One CLI for every docker figure: $DOCKER_CLI, else the CLI that ships with the
        # daemon package (Debian's docker.io installs /usr/bin/docker), else `docker` on PATH.
        cli = os.environ.get("DOCKER_CLI")
        if not cli:
            cli = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else shutil.which("docker")
        self.cli_name = cli
        self.cli = [cli or "docker", "-H", f"unix://{self.sock}"]
        self.env.pop("DOCKER_HOST", None)
        self.env.pop("DOCKER_CONTEXT", None)
        self.env["DOCKER_CONFIG"] = os.path.join(self.root, "cli-config")  # no user config, no plugins
        self.env["DOCKER_CLI_HINTS"] = "false"
        self.pidfile = os.path.join(self.root, "docker.pid")
        self.pid = None

    def available(self):
        if not self.dockerd:
            return "not installed (no dockerd)"
        if not self.cli_name:
            return "not installed (no docker CLI)"
        for b in ("containerd", "runc", "containerd-shim-runc-v2"):
            if not shutil.which(b):
                return f"not installed (no {b})"
        return None

    def start(self):
        os.makedirs(os.path.join(self.root, "cli-config"), exist_ok=True)
        logf = open(os.path.join(self.root, "dockerd.log"), "w")
        # dockerd launches its own managed containerd under --exec-root.
        p = subprocess.Popen(
            [
                self.dockerd,
                "--data-root", os.path.join(self.root, "data"),
                "--exec-root", self.run_root,
                "-H", f"unix://{self.sock}",
                "--pidfile", self.pidfile,
                "--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
                "--cgroup-parent", self.cgroup_parent,
                "--config-file", self._empty_config(),
            ],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.procs.append(p)
        self.pid = p.pid

        def up():
            if p.poll() is not None:
                raise EngineFailed(f"dockerd exited {p.returncode}: {self._log_tail()}")
            return run(self.c("version"), env=self.env, check=False).returncode == 0

        wait_for(up, 60, "dockerd")
        v = run(self.c("version", "--format", "{{.Client.Version}} {{.Server.Version}}"), env=self.env).stdout.split()
        self.versions["docker CLI"] = f"{self.cli_name} {v[0]}"
        self.versions["dockerd"] = v[1]
        self.versions["containerd"] = first_line(["containerd", "--version"])
        self.versions["runc"] = first_line(["runc", "--version"])

    def _empty_config(self):
        path = os.path.join(self.root, "daemon.json")
        with open(path, "w") as f:
            f.write("{}\n")
        return path

    def _log_tail(self):
        try:
            with open(os.path.join(self.root, "dockerd.log")) as f:
                return " | ".join(f.read().strip().splitlines()[-5:])
        except OSError:
            return ""

    def container_dir_parents(self):
        # <data-root>/containers/<id>, and the writable layers <id> and <id>-init in overlay2/.
        data = os.path.join(self.root, "data")
        return [os.path.join(data, "containers"), os.path.join(data, "overlay2")]

    def daemon_pids(self):
        pids = {"dockerd": self.pid}
        for pid, ppid, argv in proc_list():
            if ppid == self.pid and argv and os.path.basename(argv[0]) == "containerd":
                pids["containerd"] = pid
        return pids

    def stop(self):
        ctrd = self.daemon_pids().get("containerd")
        stop_pid(self.pid, timeout=30)
        stop_pid(ctrd, timeout=10)


class Podman(Engine):
    name = "podman"
    supervisor = "conmon"
    daemonless = True

    def __init__(self, root, tarball):
        super().__init__(root, tarball)
        self.bin = shutil.which("podman")
        self.cli_name = self.bin
        self.conf = os.path.join(self.root, "containers.conf")
        self.cli = [
            self.bin or "podman",
            "--root", os.path.join(self.root, "root"),
            "--runroot", self.run_root,
            "--tmpdir", os.path.join(self.root, "tmp"),
            "--storage-driver", "overlay",
            "--cgroup-manager", "cgroupfs",
            "--events-backend", "file",
            "--network-config-dir", os.path.join(self.root, "networks"),
        ]
        self.env["CONTAINERS_CONF"] = self.conf
        self.env["CONTAINERS_STORAGE_CONF"] = os.path.join(self.root, "storage.conf")
        self.env["CONTAINERS_REGISTRIES_CONF"] = os.path.join(self.root, "registries.conf")

    def available(self):
        if not self.bin:
            return "not installed"
        if not shutil.which("conmon"):
            return "not installed (no conmon)"
        return None

    def start(self):
        for d in ("root", "tmp", "networks"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        os.makedirs(self.run_root, exist_ok=True)
        lines = ["[containers]"]
        # Podman (as root) raises RLIMIT_NOFILE/NPROC of every container to the maximum.
        # Without CAP_SYS_RESOURCE (as in some VMs/containers) runc then fails with
        # "error setting rlimit type 7: operation not permitted"; pin them to what we may set.
        if not has_cap(24):  # CAP_SYS_RESOURCE
            import resource

            nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 32768)  # podman's own nproc cap
            lines.append(f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]')
            self.note = f"no CAP_SYS_RESOURCE here: containers.conf pins default_ulimits nofile={nofile}, nproc={nproc}"
        lines += ["[engine]", 'cgroup_manager = "cgroupfs"', 'events_logger = "file"']
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(self.root, "storage.conf"), "w") as f:
            f.write(
                '[storage]\ndriver = "overlay"\n'
                f'graphroot = "{os.path.join(self.root, "root")}"\n'
                f'runroot = "{os.path.join(self.root, "run")}"\n'
            )
        with open(os.path.join(self.root, "registries.conf"), "w") as f:
            f.write("unqualified-search-registries = []\nshort-name-mode = \"disabled\"\n")
        self.versions["podman"] = first_line([self.bin, "--version"])
        self.versions["conmon"] = first_line(["conmon", "--version"])
        self.versions["runc"] = first_line(["runc", "--version"])

    # conmon's cgroup is shared by every container's conmon and left in place by podman.
    shared_cgroups = frozenset({"conmon"})

    def container_dir_parents(self):
        # containers/storage keeps each container's directory under overlay-containers/ in
        # both the graph root and the run root, and its writable layer under overlay/.
        root = os.path.join(self.root, "root")
        return [
            os.path.join(root, "overlay-containers"),
            os.path.join(self.run_root, "overlay-containers"),
            os.path.join(root, "overlay"),
        ]

    def run_flags(self):
        # podman has no daemon-wide cgroup parent: pass it on every run (same place as the others).
        return super().run_flags() + ["--cgroup-parent", self.cgroup_parent]

    def stop(self):
        run(self.c("rm", "-a", "-f", "-t", "0"), env=self.env, check=False, timeout=300)
        run(self.c("system", "reset", "-f"), env=self.env, check=False, timeout=300)


def has_cap(bit):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except OSError:
        pass
    return True


# ---------------------------------------------------------------- measurement


def stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


SUSTAINED_QUIET_S = 120  # longest wait for earlier steps' containers to be gone before the series
SUSTAINED_TAIL_S = 300  # longest wait for the series' containers to be gone after the last CLI return


class Traces:
    """What containers leave behind: their directories (see container_dir_parents) and their
    cgroups right under the engine's cgroup parent in every hierarchy, beyond the engine at idle."""

    def __init__(self, e):
        self.e = e
        self.roots = cgroup_roots()
        self.idle = self._dirs()  # taken after the image import, before any container

    def _dirs(self):
        return {os.path.join(p, d) for p in self.e.container_dir_parents() for d in subdirs(p)}

    def left(self):
        """(container directories, container cgroups) that exist now."""
        cgs = {c for c in top_cgroups(self.e.cgroup_parent, self.roots) if c.split(":", 1)[1] not in self.e.shared_cgroups}
        return self._dirs() - self.idle, cgs


def sustained(e, a, r, traces):
    """`--sustained-runs` back-to-back `run --rm busybox true`, timed from the first start until
    the last container's directories and cgroups are gone: the work an engine defers past its
    answer counts here, not only what the CLI waits for."""
    argv = e.c("run", "--rm", *e.run_flags(), "busybox", "true")
    # Start from a quiet engine: what earlier steps left (berth deletes in the background) goes first.
    try:
        wait_for(lambda: not any(traces.left()), SUSTAINED_QUIET_S, "the containers of earlier steps to be gone")
        before = (set(), set())
    except EngineFailed:
        before = traces.left()
        r.setdefault("notes", []).append(
            f"sustained: {len(before[0])} directories and {len(before[1])} cgroups of earlier containers still there "
            f"{SUSTAINED_QUIET_S}s after their removal; the figure ignores them, e.g. {sorted(before[0] | before[1])[:2]}"
        )

    def new_traces():
        dirs, cgs = traces.left()
        return dirs - before[0], cgs - before[1]

    t0 = time.perf_counter()
    for _ in range(a.sustained_runs):
        timed(argv, env=e.env)
    t_cli = time.perf_counter()
    while any(left := new_traces()):
        if time.perf_counter() - t_cli > SUSTAINED_TAIL_S:
            r.setdefault("notes", []).append(
                f"sustained: {len(left[0])} container directories and {len(left[1])} cgroups still there {SUSTAINED_TAIL_S}s "
                f"after the last `run --rm` returned, e.g. {sorted(left[0] | left[1])[:2]}; no figure"
            )
            return
        time.sleep(0.005)
    t_end = time.perf_counter()
    r["sustained"] = {"n": a.sustained_runs, "total": t_end - t0, "cli": t_cli - t0}
    log(f"{e.name}: sustained {a.sustained_runs} × run --rm: {t_end - t0:.2f} s ({t_end - t_cli:.3f} s after the last CLI return)")
    left = e.container_ids()
    if left:
        r.setdefault("notes", []).append(f"sustained: {len(left)} container(s) still listed by `ps -a` after {a.sustained_runs} `run --rm`")
        e.remove_all()


def measure(e, a):
    r = {}
    img = ["busybox"]
    flags = e.run_flags()
    traces = Traces(e)

    if not e.daemonless:
        time.sleep(a.settle)
        r["idle"] = e.daemon_rss()
        log(f"{e.name}: idle daemon RSS {r['idle']}")

    # 0. CLI round trip floor: `version` (client start + one API call; for podman no daemon)
    for _ in range(a.warmup):
        timed(e.c("version"), env=e.env)
    r["version"] = stats([timed(e.c("version"), env=e.env)[0] for _ in range(a.runs)])

    # 1. run --rm busybox true
    for _ in range(a.warmup):
        timed(e.c("run", "--rm", *flags, *img, "true"), env=e.env)
    xs = [timed(e.c("run", "--rm", *flags, *img, "true"), env=e.env)[0] for _ in range(a.runs)]
    r["run_rm"] = stats(xs)
    log(f"{e.name}: run --rm true median {r['run_rm']['median']:.1f} ms")
    left = e.container_ids()
    if left:
        r.setdefault("notes", []).append(f"{len(left)} container(s) still listed by `ps -a` after {a.runs + a.warmup} `run --rm`")
        e.remove_all()

    # 2. run -d busybox sleep 1000
    for _ in range(a.warmup):
        timed(e.c("run", "-d", *flags, *img, "sleep", "1000"), env=e.env)
    e.remove_all()
    xs = [timed(e.c("run", "-d", *flags, *img, "sleep", "1000"), env=e.env)[0] for _ in range(a.detach_runs)]
    r["run_d"] = stats(xs)
    log(f"{e.name}: run -d sleep median {r['run_d']['median']:.1f} ms")
    e.remove_all()
    time.sleep(a.settle)

    # 4. memory with N running containers
    before = e.daemon_rss()
    for _ in range(a.containers):
        timed(e.c("run", "-d", *flags, *img, "sleep", "1000"), env=e.env)
    time.sleep(a.settle)
    running = len(e.container_ids(all_=False))
    sup = e.supervisor_pids()
    rss = [x for x in (status_kib(p) for p in sup) if x is not None]
    rolls = [x for x in (rollup(p) for p in sup) if "Pss" in x]
    pss = [x["Pss"] for x in rolls]
    uss = [x.get("Private_Clean", 0) + x.get("Private_Dirty", 0) for x in rolls]
    after = e.daemon_rss()
    r["running"] = running
    r["supervisors"] = len(sup)
    if rss:
        r["sup_rss"] = statistics.mean(rss)
    if pss:
        r["sup_pss"] = statistics.mean(pss)
        r["sup_uss"] = statistics.mean(uss)
    if before and after:
        r["daemon_growth"] = {k: (after[k] - before[k]) / a.containers for k in before if before[k] is not None and after.get(k) is not None}
        r["daemon_growth_total"] = sum(r["daemon_growth"].values())
        r["daemon_rss_loaded"] = after
    # processes we started that are neither daemon, supervisor nor container
    known = set(sup) | set(v for v in e.daemon_pids().values() if v)
    extra = [(pid, " ".join(argv)[:120]) for pid, _, argv in proc_list() if pid not in known and any(e.root in x for x in argv) and alive(pid)]
    if extra:
        r.setdefault("notes", []).append(f"{len(extra)} other process(es) of the engine with {a.containers} running: {extra[:3]}")
    if running != a.containers or len(sup) != a.containers:
        r.setdefault("notes", []).append(f"{running} running containers and {len(sup)} {e.supervisor} processes for {a.containers} started")
    # The sustained figure watches these: with every container up, each must show.
    dirs, cgs = traces.left()
    if len(dirs) < a.containers or len(cgs) < a.containers:
        r.setdefault("notes", []).append(
            f"with {a.containers} running only {len(dirs)} container directories and {len(cgs)} container cgroups were seen: "
            "the sustained figure may miss some"
        )
    log(f"{e.name}: with {a.containers} running: {len(dirs)} container directories, {len(cgs)} container cgroups")
    log(f"{e.name}: {len(sup)} {e.supervisor}, mean RSS {r.get('sup_rss', 0):.0f} KiB, PSS {r.get('sup_pss', 0):.0f} KiB; daemon growth {r.get('daemon_growth')}")

    # 5. ps with N running
    for _ in range(a.warmup):
        timed(e.c("ps"), env=e.env)
    xs = [timed(e.c("ps"), env=e.env)[0] for _ in range(a.ps_runs)]
    r["ps"] = stats(xs)
    log(f"{e.name}: ps median {r['ps']['median']:.1f} ms")

    e.remove_all()
    time.sleep(1)
    if e.container_ids():
        r.setdefault("notes", []).append("containers still listed after `rm -f` of all")
    n, sample = child_cgroups(e.cgroup_parent)
    if n:
        r.setdefault("notes", []).append(
            f"{n} cgroup directories left under {e.cgroup_parent} (all hierarchies) after every container was removed, e.g. {sample}"
        )

    # 6. sustained run --rm, until the last container's directories and cgroups are gone
    if a.sustained_runs > 0:
        sustained(e, a, r, traces)
    return r


# ---------------------------------------------------------------- report


def fmt_ms(s):
    return f"{s['median']:.1f} ms ({s['min']:.0f}–{s['max']:.0f})"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}"


def build_table(results, reasons, a):
    engines = ["berth", "docker", "podman"]

    def cell(name, fn):
        if name in reasons:
            return "–"
        try:
            return fn(results[name])
        except (KeyError, TypeError, ZeroDivisionError):
            return "–"

    def val(name, fn):
        if name in reasons:
            return None
        try:
            return fn(results[name])
        except (KeyError, TypeError, ZeroDivisionError):
            return None

    def idle_total(r):
        return sum(v for v in r["idle"].values() if v is not None) if r.get("idle") else None

    def idle_cell(r):
        if "idle" not in r:
            return "n/a (daemonless)"
        parts = r["idle"]
        if len(parts) == 1:
            return mib(idle_total(r))
        return f"{mib(idle_total(r))} (" + " + ".join(f"{k} {mib(v)}" for k, v in parts.items()) + ")"

    def growth_cell(r):
        if "daemon_growth" not in r:
            return "n/a (daemonless)"
        g = r["daemon_growth"]
        s = f"{r['daemon_growth_total']:.0f} KiB"
        if len(g) > 1:
            s += " (" + " + ".join(f"{k} {v:.0f}" for k, v in g.items()) + ")"
        return s

    def overhead(r):
        return r["sup_rss"] + r.get("daemon_growth_total", 0)

    n = a.containers
    rows = [
        (f"`version` (CLI + API round trip floor), median (min–max) of {a.runs}", lambda r: fmt_ms(r["version"]), lambda r: r["version"]["median"]),
        (f"`run --rm busybox true`, median (min–max) of {a.runs}", lambda r: fmt_ms(r["run_rm"]), lambda r: r["run_rm"]["median"]),
        (f"`run -d busybox sleep 1000`, median (min–max) of {a.detach_runs}", lambda r: fmt_ms(r["run_d"]), lambda r: r["run_d"]["median"]),
        (f"`ps` with {n} running, median (min–max) of {a.ps_runs}", lambda r: fmt_ms(r["ps"]), lambda r: r["ps"]["median"]),
        (
            f"sustained: {a.sustained_runs} back-to-back `run --rm busybox true` until the last container's directories and cgroups are gone",
            lambda r: f"{r['sustained']['total']:.2f} s (last CLI return at {r['sustained']['cli']:.2f} s)",
            lambda r: r["sustained"]["total"],
        ),
        (
            "sustained, per container",
            lambda r: f"{r['sustained']['total'] / r['sustained']['n'] * 1000:.1f} ms",
            lambda r: r["sustained"]["total"] / r["sustained"]["n"],
        ),
        ("daemon idle RSS (no containers)", idle_cell, idle_total),
        (f"supervisor RSS per container (mean of {n})", lambda r: f"{r['sup_rss']:.0f} KiB", lambda r: r["sup_rss"]),
        (f"supervisor PSS per container (mean of {n})", lambda r: f"{r['sup_pss']:.0f} KiB", lambda r: r["sup_pss"]),
        (f"supervisor USS (private) per container (mean of {n})", lambda r: f"{r['sup_uss']:.0f} KiB", lambda r: r["sup_uss"]),
        (f"daemon RSS growth per container (0 → {n})", growth_cell, lambda r: r["daemon_growth_total"]),
        ("overhead per container: supervisor RSS + daemon growth", lambda r: f"{overhead(r):.0f} KiB", overhead),
    ]
    hdr = "| | berth | docker | podman | berth/docker | podman/docker |\n|---|---|---|---|---|---|\n"
    sup_names = "berth-shim · containerd-shim-runc-v2 · conmon"
    out = hdr
    for label, f_cell, f_val in rows:
        cells = []
        for name in engines:
            if name in reasons:
                cells.append("–")
            else:
                cells.append(cell(name, f_cell))
        b, d, p = (val(x, f_val) for x in engines)
        out += f"| {label} | " + " | ".join(cells) + f" | {ratio(b, d)} | {ratio(p, d)} |\n"
    out += f"\nSupervisor per container: {sup_names}. Docker's daemon figures are dockerd + containerd. "
    out += "MiB/KiB are binary units (1 MiB = 1024 KiB). Ratios below 1 mean less time or memory than Docker.\n"
    for name in engines:
        if name in reasons:
            out += f"\n- **{name}**: {reasons[name]}"
    for name in engines:
        r = results.get(name) or {}
        for note in r.get("notes", []):
            out += f"\n- {name}: {note}"
    return out + "\n"


def targets(results, reasons):
    lines = []
    b, d = results.get("berth"), results.get("docker")
    if b and d and "berth" not in reasons and "docker" not in reasons:
        rr = b["run_rm"]["median"] / d["run_rm"]["median"]
        lines.append(
            f"| `run --rm busybox true` median ≤ 1/10 of docker's | berth/docker = {rr:.3f} ({1 / rr:.1f}× faster) | {'met' if rr <= TARGET_RUN_RATIO else 'missed'} |"
        )
    else:
        lines.append("| `run --rm busybox true` median ≤ 1/10 of docker's | docker not measured | unknown |")
    if b and "berth" not in reasons:
        idle = sum(v for v in b["idle"].values() if v is not None)
        lines.append(f"| berthd idle RSS ≤ 15 MB | {mib(idle)} | {'met' if idle <= TARGET_IDLE_RSS_KIB else 'missed'} |")
        ov = b["sup_rss"] + b.get("daemon_growth_total", 0)
        lines.append(
            f"| ≤ 1.5 MB RSS per running container beyond its own processes | {ov:.0f} KiB (berth-shim RSS {b['sup_rss']:.0f} + berthd growth {b.get('daemon_growth_total', 0):.0f}); PSS of berth-shim {b.get('sup_pss', 0):.0f} KiB | {'met' if ov <= TARGET_PER_CTR_KIB else 'missed'} |"
        )
    return "| target | measured | |\n|---|---|---|\n" + "\n".join(lines) + "\n"


def machine_info():
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        load = "?"
    return {
        "CPUs (nproc)": f"{os.cpu_count()} × {model}",
        "memory": mem,
        "kernel": platform.release(),
        "cgroups": cgroup_layout(),
        "load average at start": load,
    }


def render(results, reasons, versions, machine, a, started):
    s = f"Measured {started:%Y-%m-%d %H:%M} UTC by `bench/run.sh` "
    s += f"(runs={a.runs}, detach-runs={a.detach_runs}, containers={a.containers}, ps-runs={a.ps_runs}, sustained-runs={a.sustained_runs}, warm-ups={a.warmup}).\n\n"
    s += build_table(results, reasons, a)
    s += "\n**Targets**\n\n" + targets(results, reasons)
    s += "\n**Machine**: " + "; ".join(f"{k}: {v}" for k, v in machine.items()) + ".\n"
    s += "\n**Versions**: " + "; ".join(f"{k}: `{v}`" for k, v in versions.items()) + ".\n"
    return s


# ---------------------------------------------------------------- main


def ensure_berth_binaries():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    if not os.path.isabs(target):
        target = os.path.join(REPO, target)
    bindir = os.path.join(target, "release")
    need = ["berthd", "berth", "berth-shim"]
    if not all(os.access(os.path.join(bindir, b), os.X_OK) for b in need):
        log(f"building berth (release) into {target}")
        subprocess.run(
            ["cargo", "build", "--release", "-p", "berthd", "-p", "berth-shim", "-p", "berth-cli"],
            cwd=REPO, check=True,
        )
    return bindir


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20, help="timed `run --rm busybox true` (default 20)")
    ap.add_argument("--detach-runs", type=int, default=10, help="timed `run -d busybox sleep 1000` (default 10)")
    ap.add_argument("--containers", type=int, default=50, help="running containers for memory and ps (default 50)")
    ap.add_argument("--ps-runs", type=int, default=20, help="timed `ps` (default 20)")
    ap.add_argument(
        "--sustained-runs", type=int, default=100,
        help="back-to-back `run --rm busybox true` timed until the last one's directories and cgroups are gone (default 100; 0 skips)",
    )
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs before each timed series (default 2)")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds to wait before reading memory (default 2)")
    ap.add_argument("--engines", default="berth,docker,podman")
    ap.add_argument("--out", default=os.path.join(BENCH, "results.md"))
    ap.add_argument("--no-readme", action="store_true", help="do not update the table in bench/README.md")
    a = ap.parse_args()

    if os.geteuid() != 0:
        sys.exit("bench/run.sh needs root (it starts daemons and containers)")

    bindir = ensure_berth_binaries()
    started = datetime.datetime.now(datetime.timezone.utc)
    machine = machine_info()
    tmp = tempfile.mkdtemp(prefix="bb.", dir="/tmp")  # short: unix socket paths are limited to 108 bytes
    tarball = os.path.join(tmp, "busybox.tar")
    os.makedirs(os.path.join(tmp, "run"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", os.path.join(tmp, "run")], check=True)
    results, reasons, versions = {}, {}, {}
    engines = []

    def on_signal(sig, _frame):
        raise KeyboardInterrupt(f"signal {sig}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        subprocess.run([os.path.join(REPO, "scripts", "make-busybox-tar.sh"), tarball], check=True)
        wanted = [x.strip() for x in a.engines.split(",") if x.strip()]
        for name in ["berth", "docker", "podman"]:
            if name not in wanted:
                reasons[name] = "not measured (left out with --engines)"
                continue
            e = {"berth": lambda: Berth(tmp, tarball, bindir), "docker": lambda: Docker(tmp, tarball), "podman": lambda: Podman(tmp, tarball)}[name]()
            engines.append(e)
            why = e.available()
            if why:
                reasons[name] = why
                log(f"{name}: {why}")
                continue
            log(f"{name}: starting")
            try:
                e.start()
                e.import_image()
                results[name] = measure(e, a)
                if getattr(e, "note", None):
                    results[name].setdefault("notes", []).append(e.note)
            except EngineFailed as ex:
                reasons[name] = f"failed on this host: {ex}"
                log(f"{name}: FAILED: {ex}")
            finally:
                try:
                    e.remove_all()
                except Exception as ex:  # noqa: BLE001
                    log(f"{name}: cleanup: {ex}")
                e.shutdown()
                versions.update(e.versions)
                log(f"{name}: stopped")
    finally:
        for e in engines:
            e.shutdown()
            for p in e.procs:
                if p.poll() is None:
                    p.kill()
                p.wait()
            # container processes of a daemon that died are still running: kill what remains
            for pid, _, argv in proc_list():
                if any(e.root in x or e.run_root in x for x in argv) and pid != os.getpid():
                    log(f"killing leftover {pid}: {' '.join(argv)[:100]}")
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        time.sleep(0.5)
        for mp in own_mounts(tmp):
            subprocess.run(["umount", "-l", mp], check=False)
        if own_mounts(tmp):
            log(f"mounts remain under {tmp}; not removing it")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        for e in engines:
            remove_cgroups(e.cgroup_parent)

    text = render(results, reasons, versions, machine, a, started)
    print("\n" + text)
    with open(a.out, "w") as f:
        f.write("# berth benchmark results\n\n" + text)
    log(f"wrote {a.out}")
    readme = os.path.join(BENCH, "README.md")
    if not a.no_readme and os.path.exists(readme):
        with open(readme) as f:
            body = f.read()
        if README_START in body and README_END in body:
            pre, rest = body.split(README_START, 1)
            _, post = rest.split(README_END, 1)
            with open(readme, "w") as f:
                f.write(pre + README_START + "\n" + text + README_END + post)
            log(f"updated the results in {readme}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as e:
        log(f"interrupted ({e or 'Ctrl-C'}); everything started was cleaned up")
        sys.exit(130)
