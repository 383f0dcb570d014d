"""Structured node logs: one JSON object per line (ts, level, component, event, code, message, ...).

The launcher and the node's own actors log through the standard `logging` package under the `dolphin`
logger; `setup_logging` sends those records as JSON lines to stdout and to `<state_dir>/logs/dolphin-node.jsonl`.
A `RedactingFilter` replaces every secret value taken from the environment (BingX key and secret, store
passwords) with `***` in the message and in every extra field, so a secret that slips into an exception
text still never reaches a log line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

LOGGER_NAME = "dolphin"
LOG_FILE_NAME = "dolphin-node.jsonl"
REDACTED = "***"
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_encoder = msgspec.json.Encoder()


def secret_values(secrets: Any) -> list[str]:
    """The secret strings to scrub (from a `config.Secrets`: this layer sits below the config, so it reads the
    four fields by name); short ones are skipped so redaction cannot shred ordinary words."""
    values = (secrets.bingx_api_key, secrets.bingx_api_secret, secrets.clickhouse_password, secrets.hazelcast_password)
    return sorted({v for v in values if len(v) >= 6}, key=len, reverse=True)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                record.__dict__[key] = self._scrub(value)
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._scrub(v) for v in value]
        return value


class JsonLineFormatter(logging.Formatter):
    """`event` and `code` come from `extra={...}`; any other extra key is carried through as a field."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": getattr(record, "component", record.name.removeprefix(LOGGER_NAME + ".") or "node"),
            "event": getattr(record, "event", "log"),
        }
        code = getattr(record, "code", None)
        if code is not None:
            event["code"] = str(code)
        event["message"] = record.getMessage()
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in event and key not in ("component", "event", "code"):
                event[key] = value
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exception"] = record.exc_text
        return _encoder.encode(event).decode() if _encodable(event) else _encoder.encode(_stringify(event)).decode()


def _encodable(event: dict[str, Any]) -> bool:
    try:
        _encoder.encode(event)
    except (TypeError, msgspec.EncodeError):
        return False
    return True


def _stringify(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _stringify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stringify(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def log_dir(state_dir: Path) -> Path:
    return state_dir / "logs"


def setup_logging(state_dir: Path, level: str, secrets: Any, *, stream=None) -> Path:
    """Route the `dolphin` logger to stdout and the state dir's JSON log; returns the log file path."""
    directory = log_dir(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOG_FILE_NAME
    redact = RedactingFilter(secret_values(secrets))
    formatter = JsonLineFormatter()
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    for handler in (logging.StreamHandler(stream or sys.stdout), logging.FileHandler(path, encoding="utf-8")):
        handler.addFilter(redact)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return path


def node_logger(component: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{component}")


def log_event(
    logger: logging.Logger, level: int, event: str, message: str, *, code: str | None = None, **fields: Any
) -> None:
    logger.log(level, message, extra={"event": event, "code": code, **fields})
