"""Launcher refusals (config, live authorization) and the JSON log's redaction."""

from __future__ import annotations

import io
import json
import logging

from dolphin_nautilus.config import LIVE_AUTHORIZATION_PHRASE, Secrets
from dolphin_nautilus.launch.node import main
from dolphin_nautilus.launch.node_exits import EXIT_CONFIG, EXIT_LIVE_NOT_AUTHORIZED
from dolphin_nautilus.logs import log_event, node_logger, setup_logging

from .conftest import API_KEY, API_SECRET, node, write_config


def run_node(tmp_path, *args, env=None):
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with out.open("w") as o, err.open("w") as e:
        code = node(*args, env=env, stdout=o, stderr=e).wait(timeout=60)
    return code, out.read_text(), err.read_text()


def test_live_refuses_without_authorization_and_says_how_to_give_it(tmp_path):
    config = write_config(tmp_path / "live.toml", namespace="blue", environment="live", state_dir=tmp_path / "var")
    code, out, err = run_node(tmp_path, "--config", str(config))
    assert code == EXIT_LIVE_NOT_AUTHORIZED == 3
    refusal = json.loads(err.strip().splitlines()[-1])
    assert refusal["event"] == "refused" and refusal["exit_code"] == 3
    assert f"DOLPHIN_LIVE_AUTHORIZATION={LIVE_AUTHORIZATION_PHRASE}" in refusal["message"]
    assert "REAL MONEY" in refusal["message"]
    assert not (tmp_path / "var").exists(), "nothing may be opened before authorization"
    assert API_KEY not in out + err and API_SECRET not in out + err


# In-process from here: these refusals happen before anything is opened, so `main()` returns at once.
def test_live_with_a_wrong_phrase_is_refused_too(tmp_path, monkeypatch, capsys):
    config = write_config(tmp_path / "live.toml", namespace="blue", environment="live", state_dir=tmp_path / "var")
    monkeypatch.setenv("DOLPHIN_LIVE_AUTHORIZATION", "yes")
    assert main(["--config", str(config)]) == EXIT_LIVE_NOT_AUTHORIZED
    assert "not authorized" in capsys.readouterr().err


def test_without_restore_is_refused_for_live_even_when_authorized(tmp_path, monkeypatch, capsys):
    config = write_config(tmp_path / "live.toml", namespace="blue", environment="live", state_dir=tmp_path / "var")
    monkeypatch.setenv("DOLPHIN_LIVE_AUTHORIZATION", LIVE_AUTHORIZATION_PHRASE)
    assert main(["--config", str(config), "--without-restore"]) == EXIT_CONFIG
    assert "refused for live" in capsys.readouterr().err


def test_bad_config_exits_2_naming_the_key(tmp_path, capsys):
    config = write_config(
        tmp_path / "bad.toml", namespace="blue", state_dir=tmp_path / "var", extra="no_such_setting = 1"
    )
    assert main(["--config", str(config)]) == EXIT_CONFIG == 2
    err = capsys.readouterr().err
    assert "bingx.no_such_setting" in err and "unknown setting" in err


def test_missing_credentials_exit_2_naming_the_variables(tmp_path, monkeypatch, capsys):
    config = write_config(tmp_path / "vst.toml", namespace="blue", state_dir=tmp_path / "var")
    monkeypatch.delenv("BINGX_API_KEY", raising=False)
    monkeypatch.delenv("BINGX_API_SECRET", raising=False)
    assert main(["--config", str(config)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "BINGX_API_KEY" in err and "BINGX_API_SECRET" in err


def test_log_lines_are_json_with_code_and_never_carry_secrets(tmp_path):
    secrets = Secrets(bingx_api_key=API_KEY, bingx_api_secret=API_SECRET)
    stream = io.StringIO()
    path = setup_logging(tmp_path, "INFO", secrets, stream=stream)
    log = node_logger("adapter")
    log_event(
        log,
        logging.ERROR,
        "fault",
        f"signature failed for key {API_KEY}",
        code="ORDER_REJECTED",
        details={"request": f"apiKey={API_KEY}&secret={API_SECRET}"},
        attempts=[API_SECRET, 2],
    )
    try:
        raise RuntimeError(f"boom with {API_SECRET}")
    except RuntimeError:
        log.exception("crashed", extra={"event": "crashed", "code": "NODE_FAILED"})
    log.info("plain %s args", API_KEY)
    for text in (stream.getvalue(), path.read_text()):
        assert API_KEY not in text and API_SECRET not in text
        lines = [json.loads(line) for line in text.splitlines()]
        assert [line["event"] for line in lines] == ["fault", "crashed", "log"]
        assert lines[0]["code"] == "ORDER_REJECTED" and lines[0]["component"] == "adapter"
        assert lines[0]["message"] == "signature failed for key ***"
        assert lines[0]["details"] == {"request": "apiKey=***&secret=***"} and lines[0]["attempts"] == ["***", 2]
        assert "boom with ***" in lines[1]["exception"] and lines[1]["code"] == "NODE_FAILED"
        assert lines[2]["message"] == "plain *** args" and "code" not in lines[2]
        assert {"ts", "level", "component", "event", "message"} <= set(lines[0])
