"""Keep secrets out of the logs of the HTTP libraries the channels use.

httpx logs every request URL at INFO ("HTTP Request: POST https://oapi.dingtalk.com/robot/send?access_token=…"),
urllib3 logs `/gettoken?appkey=…&appsecret=…` at DEBUG and dingtalk-sdk logs request params on errors. A filter
on those loggers rewrites the message with the secret query values replaced by ***."""
from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(r"((?:access_token|appsecret|corpsecret|sign|session|timestamp)=)[^&\s\"']+",
                            re.IGNORECASE)
_LOGGERS = ("httpx", "httpcore", "urllib3.connectionpool", "dingtalk.client.base", "requests")


def redact(text: str) -> str:
    return _SECRET_PARAMS.sub(r"\1***", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 — a broken log call is not ours to fix; drop its arguments
            msg = str(record.msg)
        clean = redact(msg)
        if clean != msg or record.args:
            record.msg, record.args = clean, ()
        return True


def install() -> None:
    """Idempotent: add the filter to each HTTP library logger once."""
    for name in _LOGGERS:
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in lg.filters):
            lg.addFilter(RedactSecrets())
