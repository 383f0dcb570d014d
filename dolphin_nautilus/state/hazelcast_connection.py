"""The Hazelcast side of the live-state store: the client it connects with (reconnecting
forever), the bounded wait on the client's futures, and the map proxies a restarted cluster must be told of.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import hazelcast
from hazelcast.invocation import Invocation
from hazelcast.protocol.codec import client_create_proxy_codec

from dolphin_nautilus.state.hazelcast_config import HazelcastStoreConfig

MAP_SERVICE = "hz:impl:mapService"


def open_hazelcast_client(
    config: HazelcastStoreConfig, username: str, password: str, on_lifecycle: Callable[[str], None]
) -> hazelcast.HazelcastClient:
    """A client that starts at once and reconnects forever; `on_lifecycle` hears every (dis)connection.

    `username`/`password`: the cluster credentials, passed in by the caller (never read here, never kept)."""
    return hazelcast.HazelcastClient(
        cluster_members=list(config.cluster_members),
        cluster_name=config.cluster_name,
        creds_username=username or None,
        creds_password=password or None,
        async_start=True,  # start returns at once; we bound the wait ourselves
        cluster_connect_timeout=-1,  # then reconnect forever: the member may restart at any time
        invocation_timeout=config.op_timeout_s,
        retry_initial_backoff=config.retry_initial_backoff_s,
        retry_max_backoff=config.retry_max_backoff_s,
        smart_routing=config.smart_routing,
        # The member waits for its sync backups before it answers, instead of sending backup acks to the
        # client: after an async start or a reconnect the client's backup listener is not registered yet,
        # and each write would then wait out operation_backup_timeout (5 s) for acks that never come.
        backup_ack_to_client_enabled=False,
        lifecycle_listeners=[on_lifecycle],
    )


def register_map_proxies(client: hazelcast.HazelcastClient, names: tuple[str, ...], call: Callable[..., Any]) -> None:
    """Announce our maps to the (possibly restarted) cluster again.

    The Python client creates a map's proxy on the cluster only on its first `get_map`, and, unlike the
    Java client, never again after reconnecting to a restarted cluster. The maps keep working without
    it, but the cluster's object list (what `dolphin-ctl mode-verify` and Management Center read) would
    no longer show them. The client has no public call for this, hence its invocation service.
    """
    for name in names:
        request = client_create_proxy_codec.encode_request(name, MAP_SERVICE)
        invocation = Invocation(request)
        client._invocation_service.invoke(invocation)  # noqa: SLF001 - no public call (see above)
        call(lambda invocation=invocation: invocation.future, f"register map {name}")


def wait_hazelcast_future(future, timeout_s: float):
    """Wait for a hazelcast Future (or a plain value) for at most `timeout_s`."""
    if not hasattr(future, "add_done_callback"):
        return future
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    if not done.wait(max(timeout_s, 0.0)):
        raise TimeoutError
    return future.result()
