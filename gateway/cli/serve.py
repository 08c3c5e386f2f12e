"""`smsgate web` and `smsgate worker`: the production processes, as the Procfile runs them."""

from __future__ import annotations

import os

import click


@click.command("web")
@click.option("--bind", default=None, help="host:port  [default: 0.0.0.0:$PORT, 8000]")
@click.option("--workers", default=None, type=int, help="[default: $WEB_CONCURRENCY, 2]")
def web(bind: str | None, workers: int | None) -> None:
    """Serve the gateway with gunicorn, as the Procfile's `web` does (production)."""
    command = ["gunicorn", "-c", "python:gateway.serving.config"]
    if bind:
        command += ["--bind", bind]
    if workers:
        command += ["--workers", str(workers)]
    os.execvp("gunicorn", [*command, "gateway.app:create_app()"])


@click.command("worker")
@click.option("--burst", is_flag=True, help="stop when the queue is empty")
def worker(burst: bool) -> None:
    """Run one RQ worker with the scheduler (production; run several)."""
    # RQ and the worker's wiring load only in the process that becomes the worker.
    from workers.__main__ import main as run_worker

    run_worker(burst=burst)
