"""Real Hazelcast members (com.hazelcast:hazelcast, a JVM each) on 127.0.0.1, for the tests.

`./dev test` fetches the pinned jar into .cache/hazelcast/ (see tests/support/hazelcast/pom.xml) and picks a
Java 17+ (DOLPHIN_JAVA). A `HazelcastCluster` owns N member processes that share one cluster name and a
TCP-IP member list on loopback (config: tests/support/hazelcast/member.xml). Members are started as their own
process group, stopped with SIGTERM (graceful shutdown) or killed with SIGKILL, and always reaped.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import hazelcast

HAZELCAST_VERSION = "5.7.0"
SUPPORT_DIR = Path(__file__).resolve().parent / "hazelcast"
REPO_ROOT = SUPPORT_DIR.parents[2]
MEMBER_JAR = REPO_ROOT / ".cache" / "hazelcast" / f"hazelcast-{HAZELCAST_VERSION}.jar"
MEMBER_CONFIG = SUPPORT_DIR / "member.xml"
# A small heap and a quick-starting JIT: members hold a handful of entries, and JVM start-up dominates.
JVM_OPTIONS = [
    "-Xms64m",
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
    "-Djava.net.preferIPv4Stack=true",
    # The access Hazelcast asks for on Java 9+ (its start-up warning lists exactly these).
    "--add-modules",
    "java.se",
    "--add-exports",
    "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.lang=ALL-UNNAMED",
    "--add-opens",
    "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens",
    "java.management/sun.management=ALL-UNNAMED",
    "--add-opens",
    "jdk.management/com.sun.management.internal=ALL-UNNAMED",
]


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it if the test process dies, so no JVM outlives a killed run."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class MemberUnavailable(RuntimeError):
    """The member jar or a suitable Java is missing, or a member did not come up."""


def pinned_sha256() -> str:
    return (SUPPORT_DIR / f"hazelcast-{HAZELCAST_VERSION}.jar.sha256").read_text().split()[0]


def member_jar() -> Path:
    """The fetched member jar, refused unless it matches the SHA-256 pinned in the repository."""
    if not MEMBER_JAR.is_file():
        raise MemberUnavailable(
            f"{MEMBER_JAR} is missing: run `./dev setup` (it fetches "
            f"com.hazelcast:hazelcast:{HAZELCAST_VERSION} through Maven)"
        )
    digest = hashlib.sha256(MEMBER_JAR.read_bytes()).hexdigest()
    if digest != pinned_sha256():
        raise MemberUnavailable(
            f"{MEMBER_JAR} has SHA-256 {digest}, not the pinned {pinned_sha256()}; delete it and run `./dev setup`"
        )
    return MEMBER_JAR


def java_binary() -> str:
    """DOLPHIN_JAVA (set by ./dev), then JAVA_HOME, then PATH; it must be Java 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    for candidate in (os.environ.get("DOLPHIN_JAVA"), home and f"{home}/bin/java", shutil.which("java")):
        if candidate and os.access(candidate, os.X_OK) and java_major(candidate) >= 17:
            return candidate
    raise MemberUnavailable(
        "no Java 17+ found (DOLPHIN_JAVA, JAVA_HOME, PATH); on Debian: apt-get install openjdk-17-jre-headless maven"
    )


def java_major(java: str) -> int:
    out = subprocess.run([java, "-XshowSettings:properties", "-version"], capture_output=True, text=True).stderr
    found = re.search(r"java\.specification\.version = (\d+)", out)
    return int(found.group(1)) if found else 0


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out on loopback; all held open together so they differ."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class MemberProcess:
    """One member JVM. `start()` returns at once; `wait_started()` waits for its "is STARTED" log line."""

    def __init__(self, *, java: str, jar: Path, cluster_name: str, port: int, member_list: str, log_dir: Path):
        self.java, self.jar, self.cluster_name, self.port = java, jar, cluster_name, port
        self.member_list = member_list
        self.log_file = log_dir / f"member-{port}.log"
        self.proc: subprocess.Popen | None = None
        self._log_offset = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> MemberProcess:
        if self.running:
            raise RuntimeError(f"member {self.address} is already running")
        self._log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        command = [
            self.java,
            *JVM_OPTIONS,
            f"-Dhazelcast.config={MEMBER_CONFIG}",
            f"-Ddolphin.cluster.name={self.cluster_name}",
            f"-Ddolphin.member.port={self.port}",
            f"-Ddolphin.cluster.members={self.member_list}",
            # SIGTERM = graceful shutdown (partitions handed over first); SIGKILL is the crash.
            "-Dhazelcast.shutdownhook.policy=GRACEFUL",
            "-cp",
            str(self.jar),
            "com.hazelcast.core.server.HazelcastMemberStarter",
        ]
        with self.log_file.open("ab") as log:
            # Own session: a Ctrl-C to pytest does not hit the member first, and we reap it ourselves.
            self.proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return self

    def wait_started(self, timeout_s: float = 90.0) -> None:
        needle = f"[127.0.0.1]:{self.port} is STARTED"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if needle in self._log_since_start():
                return
            if not self.running:
                raise MemberUnavailable(
                    f"member {self.address} exited with {self.proc.returncode}:\n{self._log_since_start()[-3000:]}"
                )
            time.sleep(0.05)
        raise MemberUnavailable(
            f"member {self.address} not started within {timeout_s}s:\n{self._log_since_start()[-3000:]}"
        )

    def stop(self, timeout_s: float = 30.0) -> None:
        """Graceful shutdown (SIGTERM); SIGKILL if it does not exit in time."""
        if self.running:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reap()

    def kill(self) -> None:
        """A crash: SIGKILL, no shutdown hook, no partition hand-over."""
        if self.running:
            self.proc.send_signal(signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        if self.proc is not None:
            self.proc.wait()

    def _log_since_start(self) -> str:
        try:
            with self.log_file.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""


class HazelcastCluster:
    """N members on loopback with one cluster name; `.addresses` is what a client's `cluster_members` takes."""

    def __init__(self, size: int, log_dir: Path, *, cluster_name: str | None = None) -> None:
        java, jar = java_binary(), member_jar()
        self.cluster_name = cluster_name or f"dolphin-test-{uuid.uuid4().hex[:8]}"
        ports = free_ports(size)
        member_list = ",".join(f"127.0.0.1:{p}" for p in ports)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.members = [
            MemberProcess(
                java=java, jar=jar, cluster_name=self.cluster_name, port=p, member_list=member_list, log_dir=log_dir
            )
            for p in ports
        ]
        self._admin: hazelcast.HazelcastClient | None = None
        self._admin_lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.members[0].address

    @property
    def addresses(self) -> list[str]:
        return [m.address for m in self.members]

    def start(self, timeout_s: float = 120.0) -> HazelcastCluster:
        """Start every member that is not running (in parallel) and wait until they form one cluster."""
        starting = [m.start() for m in self.members if not m.running]
        try:
            for member in starting:
                member.wait_started(timeout_s)
            self.wait_members(len(self.members), timeout_s)
            self._assign_partitions()
        except BaseException:
            self.close()
            raise
        return self

    def _assign_partitions(self) -> None:
        """A fresh cluster assigns its partitions on the first data operation, which can take seconds on a
        loaded machine: pay for it here, not inside the first test's operation timeout."""
        warm_up = self.admin().get_map("dolphin-test-warm-up").blocking()
        warm_up.put("k", "v")
        warm_up.destroy()

    def start_member(self, index: int, timeout_s: float = 90.0) -> None:
        self.members[index].start().wait_started(timeout_s)
        self.wait_members(sum(m.running for m in self.members), timeout_s)
        self._assign_partitions()

    def stop_member(self, index: int) -> None:
        self.members[index].stop()

    def kill_member(self, index: int) -> None:
        self.members[index].kill()

    def kill_all(self) -> None:
        for member in self.members:
            member.kill()

    def stop(self) -> None:
        """Stop every member (graceful); data is lost, as on a real cluster without persistence."""
        for member in self.members:
            member.stop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        if self._admin is not None:
            self._admin.shutdown()
            self._admin = None
        for member in self.members:
            member.kill()

    # ------------------------------------------------------------ inspection, through a real client

    def client(self, **settings) -> hazelcast.HazelcastClient:
        """A new client of this cluster, with short retry back-offs; the caller shuts it down."""
        options = dict(
            cluster_members=self.addresses,
            cluster_name=self.cluster_name,
            cluster_connect_timeout=30,
            invocation_timeout=10,
            retry_initial_backoff=0.05,
            retry_max_backoff=0.5,
        )
        options.update(settings)
        return hazelcast.HazelcastClient(**options)

    def admin(self) -> hazelcast.HazelcastClient:
        """One long-lived client for the tests' own look at the cluster (map contents, clean-up)."""
        with self._admin_lock:
            if self._admin is None or not self._admin.lifecycle_service.is_running():
                self._admin = self.client()
            return self._admin

    def map_names(self) -> set[str]:
        return {o.name for o in self.admin().get_distributed_objects() if o.service_name == "hz:impl:mapService"}

    def map_entries(self, name: str) -> dict:
        return dict(self.admin().get_map(name).blocking().entry_set())

    def wipe(self) -> None:
        """Destroy every distributed object, so the next test starts on an empty cluster."""
        for proxy in self.admin().get_distributed_objects():
            proxy.destroy()

    def wait_members(self, count: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            seen = len(self.admin().cluster_service.get_members())
            if seen == count:
                return
            if time.monotonic() >= deadline:
                raise MemberUnavailable(f"cluster {self.cluster_name}: {seen} member(s), expected {count}")
            time.sleep(0.1)
