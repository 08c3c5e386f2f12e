"""Messages (every role): the outbox by status and reason, newest first, a page at a time; and
one message with its decision, its attempts and — for admins and auditors, as in the API —
its proof (gateway.proofs, the document /api/v1/messages/<id>/proof answers)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, get_args

from flask import Blueprint, abort, g, request
from werkzeug.wrappers import Response

from gateway import outbound, proofs, records
from gateway.db import transaction
from gateway.models import OutboundMessage
from gateway.web.api.messages import MESSAGE_ID, Status, message_json
from gateway.web.audit import audited, touch
from gateway.web.auth import READ
from gateway.web.console.front_desk import REASONS, TONES, Errors, parse_number
from gateway.web.console.pages import page, render
from gateway.web.context import runtime

bp = Blueprint("message_pages", __name__)
PAGE = 50
STATUSES = get_args(Status)
PROOF_ROLES = ("admin", "auditor")  # as GET /api/v1/messages/<id>/proof


@bp.get("/messages")
@page(*READ)
def outbox() -> tuple[str, int] | Response:
    rt = runtime()
    args = request.args
    errors = Errors()
    chosen = {k: args.get(k, "")[:40] for k in ("status", "reason", "category", "to", "before")}
    status = chosen["status"] if chosen["status"] in STATUSES else None
    reason = chosen["reason"] if chosen["reason"] in REASONS else None
    category = chosen["category"] if chosen["category"] in rt.rules.categories else None
    before = chosen["before"] if MESSAGE_ID.fullmatch(chosen["before"]) else None
    to = None
    if chosen["to"]:
        try:
            to = parse_number(chosen["to"])
        except ValueError as exc:
            errors.add("to", str(exc))
    wanted = records.Outbox(status, reason, category, to, before)

    def read() -> list[OutboundMessage]:
        with transaction(rt.sessions) as session:
            rows = records.outbox(session, wanted, PAGE)
            session.expunge_all()
        touch(m.to_number for m in rows)
        return rows

    rows = [] if errors else audited("console.messages.list")(read)()
    following = {k: v for k, v in chosen.items() if v and k != "before"}
    return render(
        "console/outbox.html",
        422 if errors else 200,
        title="Messages",
        rows=rows,
        chosen=chosen,
        errors=errors,
        older={**following, "before": rows[-1].id} if len(rows) == PAGE else None,
        newest=following if before else None,
        statuses=STATUSES,
        reasons=REASONS,
        tones=TONES,
        categories=rt.rules.categories,
    )


@bp.get("/messages/<message_id>")
@page(*READ)
def message(message_id: str) -> tuple[str, int]:
    if not MESSAGE_ID.fullmatch(message_id):
        abort(404, f"There is no message {message_id[:40]}.")
    with_proof = g.actor.role in PROOF_ROLES

    def read() -> dict[str, Any]:
        rt = runtime()
        with transaction(rt.sessions) as session:
            msg = session.get(OutboundMessage, message_id)
            if msg is None:
                abort(404, f"There is no message {message_id}.")
            touch([msg.to_number])
            attempts = outbound.attempts(session, msg.id)
            shown = message_json(msg, attempts)
            proof = proofs.document(session, msg, shown, rt.clock()) if with_proof else None
            session.expunge_all()
            return {"msg": msg, "attempts": attempts, "proof": proof}

    action = "console.messages.proof" if with_proof else "console.messages.read"
    found = audited(action)(read)()
    proof = found["proof"]
    return render(
        "console/message.html",
        title=f"Message {message_id}",
        **found,
        proof_json=json.dumps(proof, indent=2, ensure_ascii=False) if proof else None,
        parse_iso=dt.datetime.fromisoformat,
        just_sent=request.args.get("sent") == "1",
        reasons=REASONS,
        tones=TONES,
    )
