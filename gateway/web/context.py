"""The app's runtime, reached from a request."""

from __future__ import annotations

from typing import cast

from flask import current_app

from gateway.runtime import Runtime


def runtime() -> Runtime:
    return cast(Runtime, current_app.extensions["smsgate"])
