"""A node's lease holder identity, which survives the process (issue 11 item 5).

The holder id is derived from the trader id, the host and the node's state folder, never from the pid: a node
restarted after kill -9 has the same id and takes over the lease its previous life left behind at once (under
a new fencing token, so that previous life cannot write any more), while another node (another host or another
state folder) has another id and is still refused until the lease expires. The id is written to
`<state_dir>/node_identity.json` so an operator can see which lease record is this node's.

Two processes with the same identity must never run at once (the second would take the first's lease): the
node holds `<state_dir>/node.lock` (an exclusive `flock`) for its whole life. The kernel drops the lock when
the process dies, kill -9 included, so it never delays a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
from pathlib import Path

IDENTITY_FILE = "node_identity.json"
NODE_LOCK_FILE = "node.lock"


class NodeAlreadyRunning(Exception):
    """Another process holds this state folder's node lock: it is this node, already running."""


def node_holder_id(trader_id: str, state_dir: str | os.PathLike) -> str:
    """`<trader>@<host>/<8 hex of the state folder's real path>`, recorded in the state folder."""
    folder = Path(state_dir).resolve()
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:8]
    holder_id = f"{trader_id}@{socket.gethostname()}/{digest}"
    _record(folder, holder_id)
    return holder_id


def _record(folder: Path, holder_id: str) -> None:
    """Write the id (atomically) unless the file already says so; derived, so a copied folder on another host
    gets that host's id, never this one's."""
    path = folder / IDENTITY_FILE
    with contextlib.suppress(FileNotFoundError, ValueError):
        if json.loads(path.read_text()).get("holder_id") == holder_id:
            return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"holder_id": holder_id, "state_dir": str(folder)}) + "\n")
    os.replace(tmp, path)


def hold_node_lock(state_dir: str | os.PathLike) -> int:
    """Take this state folder's node lock for the life of the process; returns its descriptor (keep it open).
    Raises NodeAlreadyRunning naming the pid that holds it."""
    folder = Path(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / NODE_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise NodeAlreadyRunning(
            f"another dolphin-node (pid {holder}) runs on the state folder {folder.resolve()}; stop it first"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    os.set_inheritable(fd, False)  # the store-service child must not keep the lock after the node died
    return fd


__all__ = ["IDENTITY_FILE", "NODE_LOCK_FILE", "NodeAlreadyRunning", "hold_node_lock", "node_holder_id"]
