"""Configuration loading: every error class names the file, the key, the bad value and what was expected."""

from decimal import Decimal
from pathlib import Path

import pytest

from dolphin_nautilus.config import LIVE_AUTHORIZATION_PHRASE, ConfigError, Secrets, load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
MINIMAL = '[node]\nenvironment = "backtest"\nnamespace = "blue"\n[strategy]\ninstruments = ["BTC-USDT-PERP.BINGX"]\n'


def write(tmp_path: Path, text: str, name: str = "cfg.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["backtest", "vst", "live"])
def test_shipped_configs_load(name: str) -> None:
    cfg = load_config(CONFIGS / f"{name}.toml", environ={})
    assert cfg.node.environment == name
    assert cfg.strategy.max_hold_bars == 250
    assert cfg.strategy.poll_interval_s == 1.0
    assert cfg.source.endswith(f"{name}.toml")


def test_environments_share_common_defaults_and_override_them() -> None:
    backtest = load_config(CONFIGS / "backtest.toml", environ={})
    vst = load_config(CONFIGS / "vst.toml", environ={})
    assert backtest.strategy.instruments == vst.strategy.instruments
    assert (backtest.clickhouse.backend, vst.clickhouse.backend) == ("chdb", "server")
    assert (backtest.node.namespace, vst.node.namespace) == ("blue", "pink")


def test_namespace_derives_trader_id_and_client_order_prefix(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL.replace('"blue"', '"pink"')), environ={})
    assert cfg.node.trader_id == "DOLPHINPINK-001"
    assert cfg.node.client_order_prefix == "dpink"


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        (MINIMAL + "bogus = 1\n", "strategy.bogus", "bad value 1: expected no such key (unknown setting)"),
        (MINIMAL + 'max_hold_bars = "x"\n', "strategy.max_hold_bars", "bad value 'x': expected `int`, got `str`"),
        (MINIMAL + "max_hold_bars = 0\n", "strategy.max_hold_bars", "bad value 0: expected `int` >= 1"),
        (
            MINIMAL + 'trade_notional_usdt = "-5"\n',
            "strategy.trade_notional_usdt",
            "bad value '-5': expected a decimal > 0",
        ),
        (MINIMAL.replace('namespace = "blue"\n', ""), "node.namespace", "is missing: expected a required value"),
        (
            MINIMAL.replace('"backtest"', '"paper"'),
            "node.environment",
            "bad value 'paper': expected one of 'backtest', 'vst', 'live'",
        ),
        (MINIMAL.replace('"blue"', '"Blue!"'), "node.namespace", "expected `str` matching regex"),
        (
            MINIMAL.replace('"BTC-USDT-PERP.BINGX"', '"BTCUSDT"'),
            "strategy.instruments",
            "expected ids like 'BTC-USDT-PERP.BINGX'",
        ),
        (
            MINIMAL + "[backtest]\nleverage = 500\n",
            "backtest.leverage",
            "bad value 500: expected a decimal between 1 and 125",
        ),
        (MINIMAL + "[clickhouse]\nport = 70000\n", "clickhouse.port", "bad value 70000: expected `int` <= 65535"),
        (
            MINIMAL + "[strategy.reference]\nretract_step = 1.5\n",
            "strategy.reference.retract_step",
            "bad value 1.5: expected `float` < 1",
        ),
    ],
)
def test_errors_name_file_key_value_and_expectation(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert err.value.key == key
    assert str(err.value).startswith(f"{path}: key '{key}' ")
    assert fragment in str(err.value)


def test_secrets_in_files_are_refused_without_echoing_them(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[bingx]\napi_secret = "hunter2"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert err.value.key == "bingx.api_secret"
    assert "hunter2" not in str(err.value)
    assert "BINGX_API_SECRET" in str(err.value)


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"key '\(syntax\)'.*expected valid TOML"):
        load_config(write(tmp_path, "[node\n"), environ={})
    with pytest.raises(ConfigError, match="expected an existing TOML file"):
        load_config(tmp_path / "absent.toml", environ={})


def test_extends_merges_tables_and_rejects_cycles(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL + "max_hold_bars = 100\nbar_minutes = 5\n", "base.toml")
    child = write(tmp_path, 'extends = "base.toml"\n[strategy]\nmax_hold_bars = 50\n', "child.toml")
    cfg = load_config(child, environ={})
    assert (cfg.strategy.max_hold_bars, cfg.strategy.bar_minutes) == (50, 5)
    write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(ConfigError, match="circular"):
        load_config(tmp_path / "a.toml", environ={})


def test_environment_overrides_operational_knobs(tmp_path: Path) -> None:
    env = {"DOLPHIN_POLL_INTERVAL_SEC": "2.5", "DOLPHIN_MAX_HOLD_BARS": "40"}
    cfg = load_config(write(tmp_path, MINIMAL), environ=env)
    assert (cfg.strategy.poll_interval_s, cfg.strategy.max_hold_bars) == (2.5, 40)


def test_bad_environment_override_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, MINIMAL), environ={"DOLPHIN_MAX_HOLD_BARS": "lots"})
    assert str(err.value).startswith("environment variable DOLPHIN_MAX_HOLD_BARS: key 'strategy.max_hold_bars'")
    with pytest.raises(ConfigError, match="expected `int` >= 1"):
        load_config(write(tmp_path, MINIMAL), environ={"DOLPHIN_MAX_HOLD_BARS": "0"})


def test_secrets_come_from_environment_and_never_print() -> None:
    secrets = Secrets.from_env({"BINGX_API_KEY": "key-abc", "BINGX_API_SECRET": "sec-xyz"})
    assert secrets.bingx_api_secret == "sec-xyz"
    assert "sec-xyz" not in repr(secrets) and "key-abc" not in repr(secrets)
    assert "bingx_api_secret" in repr(secrets)


def test_decimal_settings_are_exact(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL + 'trade_notional_usdt = "0.1"\n'), environ={})
    assert cfg.strategy.trade_notional_usdt == Decimal("0.1")


def test_live_authorization_phrase_is_documented_in_live_config() -> None:
    assert LIVE_AUTHORIZATION_PHRASE in (CONFIGS / "live.toml").read_text()


# ------------------------------------------------------------------------------------------ files stay home
@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("clickhouse", "path"),
        ("hazelcast", "path"),
        ("journal", "spool_dir"),
        ("node", "state_dir"),
        ("node", "output_dir"),
    ],
)
def test_a_dotdot_path_is_refused_naming_the_file_and_the_key(tmp_path: Path, section: str, key: str) -> None:
    base = write(tmp_path, f'[{section}]\n{key} = "data/../../elsewhere"\n', "base.toml")
    text = MINIMAL.replace("[node]\n", 'extends = "base.toml"\n[node]\n')
    child = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(child, environ={})
    # The file that wrote the bad value is named, not only the one that was loaded.
    assert err.value.source == str(base) and err.value.key == f"{section}.{key}"
    assert "without '..'" in str(err.value)


@pytest.mark.parametrize(("section", "key"), [("clickhouse", "path"), ("hazelcast", "path"), ("journal", "spool_dir")])
def test_an_absolute_store_path_needs_the_explicit_opt_in(tmp_path: Path, section: str, key: str) -> None:
    text = MINIMAL + f'[{section}]\n{key} = "{tmp_path / "disk2"}"\n'
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), environ={})
    assert err.value.key == f"{section}.{key}" and "allow_absolute_store_paths = true" in str(err.value)
    opted = text.replace("[node]\n", "[node]\nallow_absolute_store_paths = true\n")
    cfg = load_config(write(tmp_path, opted), environ={})
    assert getattr(getattr(cfg, section), key) == str(tmp_path / "disk2")


def test_relative_store_paths_resolve_inside_the_namespace_state_folder(tmp_path: Path) -> None:
    from dolphin_nautilus.node.stores import clickhouse_config

    text = MINIMAL.replace('"backtest"', '"vst"').replace("[node]\n", f'[node]\nstate_dir = "{tmp_path / "var"}"\n')
    cfg = load_config(write(tmp_path, text + '[clickhouse]\npath = "db/ch"\n'), environ={})
    home = tmp_path / "var" / "blue"
    assert Path(clickhouse_config(cfg, home).chdb_path).resolve().is_relative_to(home)


def test_live_refuses_unclaimed_venue_positions_unless_a_config_says_otherwise(tmp_path: Path) -> None:
    assert load_config(CONFIGS / "live.toml", environ={}).restore.unclaimed_venue_position == "refuse"
    assert load_config(CONFIGS / "vst.toml", environ={}).restore.unclaimed_venue_position == "adopt"
    live = MINIMAL.replace('"backtest"', '"live"')
    assert load_config(write(tmp_path, live), environ={}).restore.unclaimed_venue_position == "refuse"
    adopting = load_config(write(tmp_path, live + '[restore]\nunclaimed_venue_position = "adopt"\n'), environ={})
    assert adopting.restore.unclaimed_venue_position == "adopt"
