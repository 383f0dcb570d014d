"""The supervisor and systemd examples, `dolphin-node --help` and docs/operator.md agree with the launcher's one
exit-code table (`launch.node_exits.EXIT_CODES`): what is not restarted there is exactly what the examples do not
restart."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from dolphin_nautilus.launch import node_exits as launcher

ROOT = Path(__file__).resolve().parents[2]
SUPERVISOR_CONFS = sorted((ROOT / "configs" / "supervisor").glob("*.conf"))
SYSTEMD_UNIT = ROOT / "configs" / "systemd" / "dolphin-node@.service"
NO_RESTART = {code for code, exit_code in launcher.EXIT_CODES.items() if not exit_code.restart}


def test_the_table_holds_every_exit_constant_and_the_refusals_map_into_it():
    constants = {
        name: value for name, value in vars(launcher).items() if name.startswith("EXIT_") and isinstance(value, int)
    }
    assert set(constants.values()) == set(launcher.EXIT_CODES), constants
    assert set(launcher.NO_RESTART_EXIT_CODES) == NO_RESTART
    assert set(launcher.REFUSAL_EXIT_CODES.values()) <= NO_RESTART  # a venue refusal is never restarted


@pytest.mark.parametrize("conf", SUPERVISOR_CONFS, ids=lambda p: p.name)
def test_supervisor_examples_do_not_restart_exactly_the_no_restart_codes(conf):
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    parser.read(conf)
    (program,) = [s for s in parser.sections() if s.startswith("program:")]
    assert parser[program]["autorestart"] == "unexpected"  # only then does `exitcodes` decide
    expected = {int(code) for code in parser[program]["exitcodes"].split(",")}
    assert expected == NO_RESTART


def test_systemd_unit_prevents_restart_for_exactly_the_no_restart_failures():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(SYSTEMD_UNIT)
    service = parser["Service"]
    assert service["Restart"] == "on-failure"  # exit 0 is success: never restarted
    assert {int(c) for c in service["SuccessExitStatus"].split()} == {launcher.EXIT_OK}
    assert {int(c) for c in service["RestartPreventExitStatus"].split()} == NO_RESTART - {launcher.EXIT_OK}


def test_help_and_operator_doc_carry_the_table():
    help_text = launcher.EXIT_CODES_HELP
    doc = (ROOT / "docs" / "operator.md").read_text()
    section = doc[doc.index("### dolphin-node exit codes") : doc.index("## dolphin-ctl")]
    rows = {int(m[1]): m[2] for m in re.finditer(r"^\| (\d+) \|.*\| (yes|no)[^|]*\|$", section, re.M)}
    assert set(rows) == set(launcher.EXIT_CODES)
    for code, exit_code in launcher.EXIT_CODES.items():
        assert re.search(
            rf"^  {code}  {'restart' if exit_code.restart else 'no restart'} +{re.escape(exit_code.meaning)}$",
            help_text,
            re.M,
        ), code
        assert rows[code] == ("yes" if exit_code.restart else "no"), code
