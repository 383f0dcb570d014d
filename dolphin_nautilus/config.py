"""Per-environment configuration: TOML files decoded into typed, validated msgspec structures.

A file may name a base file with `extends = "common.toml"`; tables merge key by key, the child winning.
Operational knobs can be overridden from the environment (`ENV_OVERRIDES`). Secrets never live in files:
they are read from environment variables only (`Secrets`), and a secret-looking key in a file is an error.

Every problem is a `ConfigError` naming the file, the key, the bad value and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

Namespace = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9]{1,15}$")]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
Fraction = Annotated[float, msgspec.Meta(gt=0, lt=1)]


INSTRUMENT_ID_RE = re.compile(r"^[A-Z0-9]+-USDT-PERP\.BINGX$")


def _require(ok: bool, expected: str, key: str) -> None:
    # msgspec turns this into a ValidationError that carries the path of the struct being built.
    if not ok:
        raise ValueError(f"Expected {expected} - at `$.{key}`")


MAX_MONEY = Decimal("1e12")  # far above any real account, far below what NautilusTrader's Money can hold


def _require_money(value: Decimal, key: str) -> None:
    # Decimal("NaN") > 0 raises InvalidOperation, so finiteness is checked first.
    _require(value.is_finite() and 0 < value <= MAX_MONEY, f"a decimal > 0 (finite, at most {MAX_MONEY:,.0f})", key)


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # msgspec passes these options on to subclasses; each section still says `frozen=True` itself because a type
    # checker (dataclass_transform) does not inherit it and would see a mutable section.
    pass


class NodeSection(_Section, frozen=True):
    environment: Literal["backtest", "vst", "live"]
    namespace: Namespace
    # Live trading with real money needs this set to exactly "i-understand-this-trades-real-money".
    live_authorization: str = ""
    output_dir: str = "runs"  # backtest run folders (relative paths: to the project folder)
    state_dir: str = "var"  # embedded stores of vst/live nodes: var/<namespace>/{clickhouse,live_state,spool}
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    # Store paths (clickhouse.path, hazelcast.path, journal.spool_dir) live inside the state/run folder. An
    # absolute store path (e.g. a separate disk) is accepted only when the operator opts in here.
    allow_absolute_store_paths: bool = False

    @property
    def trader_id(self) -> str:
        return f"DOLPHIN{self.namespace.upper()}-001"

    @property
    def client_order_prefix(self) -> str:
        return f"d{self.namespace}"


class ReferenceSignalSection(_Section, frozen=True):
    fast_bars: PositiveInt = 20
    slow_bars: PositiveInt = 120
    # Target exposure = clip((ema_fast - ema_slow) / ema_slow / full_exposure_spread, -1, 1).
    full_exposure_spread: PositiveFloat = 0.004
    emit_step: Fraction = 0.05  # publish a new target only when it moved this much (or changed sign)
    enter_above: Fraction = 0.5  # open a slot only when |target| reaches this
    retract_step: Fraction = 0.2  # retract when the wanted size is this fraction below the held size
    min_hold_bars: NonNegInt = 5  # no signal-driven exit or retract before this many bars


class StrategySection(_Section, frozen=True):
    instruments: list[str]
    bar_minutes: PositiveInt = 1
    trade_notional_usdt: Decimal = Decimal("1000")
    max_hold_bars: PositiveInt = 250
    poll_interval_s: PositiveFloat = 1.0
    # An order outcome unknown this long puts its slot into reconcile against the venue position. Below
    # Nautilus's own in-flight give-up (node/assembly.py: 5 s threshold + 5 checks x 2 s = 15 s).
    unknown_outcome_timeout_s: PositiveFloat = 10.0
    signal_source: Literal["reference", "file", "hazelcast"] = "reference"
    signal_file: str = ""
    reference: ReferenceSignalSection = ReferenceSignalSection()

    def __post_init__(self) -> None:
        _require_money(self.trade_notional_usdt, "trade_notional_usdt")
        _require(len(self.instruments) > 0, "at least one instrument id", "instruments")
        for iid in self.instruments:
            _require(bool(INSTRUMENT_ID_RE.match(iid)), "ids like 'BTC-USDT-PERP.BINGX'", "instruments")


class ClickHouseSection(_Section, frozen=True):
    backend: Literal["chdb", "server"] = "chdb"
    path: str = "clickhouse"  # chDB data folder, relative to the run/state folder
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8123
    username: str = "default"
    secure: bool = False


class HazelcastSection(_Section, frozen=True):
    backend: Literal["local", "cluster"] = "local"
    path: str = "live_state"  # local store folder, relative to the run/state folder
    members: list[str] = []
    cluster_name: str = "dev"
    username: str = ""  # cluster credentials' user (the password only ever from DOLPHIN_HAZELCAST_PASSWORD)
    lease_ttl_s: PositiveFloat = 30.0


class JournalSection(_Section, frozen=True):
    spool_dir: str = "spool"
    batch_size: PositiveInt = 50_000  # each insert writes a part per table (files, later merges): bursts need big ones
    flush_interval_s: PositiveFloat = 0.5


class RestoreSection(_Section, frozen=True):
    timeout_s: PositiveFloat = 10.0
    restart_window_s: PositiveFloat = 300.0
    restart_max: PositiveInt = 3
    # A venue position no restored trade claims: adopt it as an external slot, flatten it at once, or refuse
    # (leave it alone, start in safe mode and ask the operator). Unset: "refuse" for live, "adopt" elsewhere.
    unclaimed_venue_position: Literal["adopt", "flatten", "refuse"] = "adopt"
    legacy_database: str = ""
    legacy_table: str = "position_state"


class BingXSection(_Section, frozen=True):
    # Hosts default per environment (vst -> demo venue, live -> real venue); override for an emulator.
    rest_url: str = ""
    ws_market_url: str = ""
    ws_user_url: str = ""
    recv_window_ms: PositiveInt = 5000
    switch_to_one_way: bool = False


class BacktestSection(_Section, frozen=True):
    data: str = "sample"  # "sample" (the committed generator's data) or a CSV/Parquet path
    starting_balance_usdt: Decimal = Decimal("100000")
    leverage: Decimal = Decimal("10")
    # Every n-th exit order is rejected by the simulated venue (0 = never), to exercise the reject path.
    reject_exit_every: NonNegInt = 0
    progress: bool = True

    def __post_init__(self) -> None:
        _require_money(self.starting_balance_usdt, "starting_balance_usdt")
        _require(self.leverage.is_finite() and 1 <= self.leverage <= 125, "a decimal between 1 and 125", "leverage")


class Config(_Section, frozen=True):
    node: NodeSection
    strategy: StrategySection
    clickhouse: ClickHouseSection = ClickHouseSection()
    hazelcast: HazelcastSection = HazelcastSection()
    journal: JournalSection = JournalSection()
    restore: RestoreSection = RestoreSection()
    bingx: BingXSection = BingXSection()
    backtest: BacktestSection = BacktestSection()
    source: str = ""  # the file this was loaded from (set by the loader)


# Paths a node writes under its own state folder (or a backtest's run folder), and the folders themselves.
STORE_PATH_KEYS: tuple[tuple[str, str], ...] = (("clickhouse", "path"), ("hazelcast", "path"), ("journal", "spool_dir"))
HOME_PATH_KEYS: tuple[tuple[str, str], ...] = (("node", "state_dir"), ("node", "output_dir"))
UNCLAIMED_DEFAULT_BY_ENVIRONMENT = {"live": "refuse"}


def resolve_path(config: Config, path: str) -> Path:
    """Relative paths in a config are relative to the project folder (the parent of configs/)."""
    candidate = Path(path)
    if candidate.is_absolute() or not config.source:
        return candidate.resolve()
    return (Path(config.source).resolve().parent.parent / candidate).resolve()


def state_dir_for(config: Config) -> Path:
    """The namespace's own folder under node.state_dir: stores, logs, status and control files."""
    return resolve_path(config, config.node.state_dir) / config.node.namespace


LIVE_AUTHORIZATION_PHRASE = "i-understand-this-trades-real-money"

# State, logs, WAL, restore reports and chDB folders hold trade data: the processes that write them create
# files owner-only. Child processes (the store service) inherit the mask.
OWNER_ONLY_UMASK = 0o077


def restrict_new_files() -> None:
    """Called first thing by dolphin-node, dolphin-backtest and dolphin-ctl."""
    os.umask(OWNER_ONLY_UMASK)


# Environment variable -> (config key path, type). Operational knobs only; never secrets.
ENV_OVERRIDES: dict[str, tuple[tuple[str, ...], type]] = {
    "DOLPHIN_POLL_INTERVAL_SEC": (("strategy", "poll_interval_s"), float),
    "DOLPHIN_MAX_HOLD_BARS": (("strategy", "max_hold_bars"), int),
    "DOLPHIN_LIVE_AUTHORIZATION": (("node", "live_authorization"), str),
}

SECRET_KEY_PATTERN = re.compile(r"(secret|password|api_key|apikey|token)", re.IGNORECASE)


_MISSING = object()


class ConfigError(ValueError):
    def __init__(self, source: str, key: str, value: Any, expected: str) -> None:
        self.source, self.key, self.value, self.expected = source, key, value, expected
        problem = "is missing" if value is _MISSING else f"has bad value {value!r}"
        super().__init__(f"{source}: key '{key}' {problem}: expected {expected}")


class Secrets(msgspec.Struct, frozen=True):
    """Credentials, read from the environment only. `repr` never shows them."""

    bingx_api_key: str = ""
    bingx_api_secret: str = ""
    clickhouse_password: str = ""
    hazelcast_password: str = ""

    def __repr__(self) -> str:
        present = [f for f in self.__struct_fields__ if getattr(self, f)]
        return f"Secrets(present={present})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        env = os.environ if environ is None else environ
        return cls(
            bingx_api_key=env.get("BINGX_API_KEY", ""),
            bingx_api_secret=env.get("BINGX_API_SECRET", ""),
            clickhouse_password=env.get("DOLPHIN_CLICKHOUSE_PASSWORD", ""),
            hazelcast_password=env.get("DOLPHIN_HAZELCAST_PASSWORD", ""),
        )


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    path = Path(path)
    origins: dict[tuple[str, ...], str] = {}
    raw = _read_with_bases(path, seen=(), origins=origins)
    _reject_secrets(raw, str(path), ())
    _apply_env_overrides(raw, os.environ if environ is None else environ)
    _default_unclaimed_policy(raw)
    raw["source"] = str(path)
    try:
        config = msgspec.convert(raw, Config, strict=True)
    except msgspec.ValidationError as exc:
        raise _explain(exc, raw, str(path)) from None
    _check_paths(config, origins, str(path))
    return config


def _default_unclaimed_policy(raw: dict[str, Any]) -> None:
    """Live refuses to adopt a venue position nobody claims unless a config says otherwise."""
    environment = (raw.get("node") or {}).get("environment")
    restore = raw.setdefault("restore", {})
    if (
        isinstance(restore, dict)
        and "unclaimed_venue_position" not in restore
        and environment in UNCLAIMED_DEFAULT_BY_ENVIRONMENT
    ):
        restore["unclaimed_venue_position"] = UNCLAIMED_DEFAULT_BY_ENVIRONMENT[environment]


def _check_paths(config: Config, origins: dict[tuple[str, ...], str], source: str) -> None:
    """Files stay home: no `..` anywhere in a path key; store paths relative to the state/run folder unless the
    operator set `node.allow_absolute_store_paths`. The error names the file that set the key."""
    for keys in HOME_PATH_KEYS + STORE_PATH_KEYS:
        value = getattr(getattr(config, keys[0]), keys[1])
        where = origins.get(keys, source)
        if ".." in Path(value).parts:
            raise ConfigError(
                where,
                ".".join(keys),
                value,
                "a path without '..' (it must not escape its folder; write an absolute path "
                "instead if the folder really lives elsewhere)",
            )
        if not value.strip():
            raise ConfigError(where, ".".join(keys), value, "a non-empty path")
    if config.node.allow_absolute_store_paths:
        return
    for keys in STORE_PATH_KEYS:
        value = getattr(getattr(config, keys[0]), keys[1])
        if Path(value).is_absolute():
            raise ConfigError(
                origins.get(keys, source),
                ".".join(keys),
                value,
                "a path relative to the node's state folder (or the backtest run folder); an "
                "absolute store path needs `allow_absolute_store_paths = true` in [node]",
            )


def _read_with_bases(path: Path, seen: tuple[Path, ...], origins: dict[tuple[str, ...], str]) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(str(path), "(file)", str(path), "an existing TOML file")
    if path.resolve() in seen:
        raise ConfigError(str(path), "extends", str(path), "no circular 'extends'")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(syntax)", str(exc), "valid TOML") from None
    base_name = data.pop("extends", None)
    if base_name is not None:
        if not isinstance(base_name, str):
            raise ConfigError(str(path), "extends", base_name, "a file name string")
        base = _read_with_bases(path.parent / base_name, (*seen, path.resolve()), origins)
    # After the base: the child's keys overwrite the base's origins, as its values do.
    _record_origins(data, str(path), (), origins)
    return data if base_name is None else _merge(base, data)


def _record_origins(
    data: dict[str, Any], source: str, prefix: tuple[str, ...], origins: dict[tuple[str, ...], str]
) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            _record_origins(value, source, (*prefix, key), origins)
        else:
            origins[(*prefix, key)] = source


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _reject_secrets(raw: dict[str, Any], source: str, prefix: tuple[str, ...]) -> None:
    for key, value in raw.items():
        if isinstance(value, dict):
            _reject_secrets(value, source, (*prefix, key))
        elif SECRET_KEY_PATTERN.search(key) and key != "live_authorization":
            raise ConfigError(
                source,
                ".".join((*prefix, key)),
                "<redacted>",
                "no secrets in config files: set them as environment variables "
                "(BINGX_API_KEY, BINGX_API_SECRET, DOLPHIN_CLICKHOUSE_PASSWORD, DOLPHIN_HAZELCAST_PASSWORD)",
            )


def _apply_env_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for var, (keys, typ) in ENV_OVERRIDES.items():
        if var not in environ:
            continue
        text = environ[var]
        try:
            value = typ(text)
        except ValueError:
            raise ConfigError(f"environment variable {var}", ".".join(keys), text, f"a {typ.__name__}") from None
        section = raw.setdefault(keys[0], {})
        if isinstance(section, dict):
            section[keys[1]] = value


_PATH_RE = re.compile(r"at `\$((?:\.[A-Za-z_0-9]+|\[\d+\])*)`")


def _explain(exc: msgspec.ValidationError, raw: dict[str, Any], source: str) -> ConfigError:
    text = str(exc)
    matches = list(_PATH_RE.finditer(text))
    # Errors raised inside a nested struct's __post_init__ carry the inner path first, then the outer one.
    keys: list[str] = []
    for match in reversed(matches):
        keys += [name or idx for name, idx in re.findall(r"\.([A-Za-z_0-9]+)|\[(\d+)\]", match.group(1))]
    message = text[: matches[0].start()].rstrip(" -") if matches else text
    unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
    missing = re.match(r"Object missing required field `([^`]+)`", message)
    if unknown:
        keys.append(unknown.group(1))
        return ConfigError(source, ".".join(keys), _lookup(raw, keys), "no such key (unknown setting)")
    if missing:
        keys.append(missing.group(1))
        return ConfigError(source, ".".join(keys), _MISSING, "a required value")
    if message.startswith("Invalid enum value"):
        return ConfigError(source, ".".join(keys), _lookup(raw, keys), "one of " + ", ".join(_choices(keys)))
    expected = message.removeprefix("Expected ")
    return ConfigError(source, ".".join(keys), _lookup(raw, keys), expected)


def _choices(keys: list[str]) -> list[str]:
    """The allowed values of a Literal-typed setting, found by walking the Config types."""
    typ: Any = Config
    for key in keys:
        hints = typing.get_type_hints(typ, include_extras=False) if isinstance(typ, type) else {}
        typ = hints.get(key)
    return [repr(v) for v in typing.get_args(typ)]


def _lookup(raw: Any, keys: list[str]) -> Any:
    node = raw
    for key in keys:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node
