"""gunicorn's logger with every line masked (SPEC §8): the access log writes the request
line, query string and referer, and the error log the URI of a request it aborts ("Error
handling request POST /api/v1/numbers/…/erase") or refuses ("Invalid request from …")."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn import glogging

from gateway import logs


class MaskedLogger(glogging.Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # On the loggers themselves: every record gunicorn writes is created there, whatever
        # handlers a log configuration gives them.
        logs.masked(self.error_log)
        logs.masked(self.access_log)
        logs.configure()  # the application's own loggers (gateway.*), masked too
        logging.getLogger("alembic").setLevel(logging.WARNING)  # the start-up schema check
