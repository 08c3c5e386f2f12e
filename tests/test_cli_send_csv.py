"""`smsgate send --csv FILE`: every good row queued, every bad row named by its line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from redis import Redis
from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.adapters.rq_queue import QUEUE
from gateway.cli import main
from gateway.models import OutboundMessage

CSV = """to,category,body,template,provider,appointment_time,send_at
+12015550123,transactional,Your visit is tomorrow,,,,
12345,transactional,Your visit is tomorrow,,,,
(305) 555-0142,,,appointment_reminder,Dr. Rivera,Mon 9:00,2026-11-25T14:00:00Z
+14055550150,gossip,Hello,,,,
+12065550142,transactional,"A body
on two lines",,,,2026-11-25 10:00
+12065550142,,,appointment_reminder,Dr. Rivera,,
+12015550123,marketing,Flu shots are in!,,,,
"""


def stored(sessions: sessionmaker[Session]) -> list[OutboundMessage]:
    with sessions() as session:
        query = select(OutboundMessage).order_by(OutboundMessage.to_number)
        return list(session.execute(query).scalars())


def test_a_csv_queues_its_good_rows_and_names_each_bad_rows_line(
    env, tmp_path: Path, sessions, redis: Redis
) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    file = tmp_path / "blast.csv"
    file.write_text(CSV, encoding="utf-8")
    result = runner.invoke(main, ["send", "--csv", str(file)])
    assert result.exit_code == 1  # a script notices that some rows were refused
    assert result.stdout.strip() == "queued 3 messages; 4 rows refused (lines above)"
    refusals = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert refusals[0].startswith("line 3: to: ")
    assert refusals[1].startswith("line 5: category: ")
    assert refusals[2].startswith("line 6: send_at: ") and "offset" in refusals[2]
    assert refusals[3].startswith("line 8: fields: ") and "appointment_time" in refusals[3]
    assert len(refusals) == 4
    rows = stored(sessions)
    assert sorted((m.to_number, m.category, m.status) for m in rows) == [
        ("+12015550123", "marketing", "queued"),
        ("+12015550123", "transactional", "queued"),
        ("+13055550142", "transactional", "queued"),
    ]
    reminder = next(m for m in rows if m.template)
    assert "Dr. Rivera" in (reminder.body or "") and reminder.send_at is not None
    assert {m.created_by for m in rows} == {"cli:maria"}
    assert Queue(QUEUE, connection=redis).count == 3


def test_a_rerun_with_idempotency_keys_queues_nothing_twice(
    env, tmp_path: Path, sessions, redis: Redis
) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    file = tmp_path / "keyed.csv"
    file.write_text(
        "to,category,body,idempotency_key\n"
        "+12015550123,transactional,See you Monday,visit-1\n"
        "+13055550142,transactional,See you Tuesday,visit-2\n",
        encoding="utf-8",
    )
    first = runner.invoke(main, ["send", "--csv", str(file)])
    assert first.exit_code == 0 and first.stdout.strip() == "queued 2 messages"
    again = runner.invoke(main, ["send", "--csv", str(file)])
    assert again.exit_code == 0
    assert again.stdout.strip() == "queued 0 messages; 2 already queued (same idempotency_key)"
    assert len(stored(sessions)) == 2 and Queue(QUEUE, connection=redis).count == 2


def test_csv_takes_no_other_message_option_and_a_file_without_a_to_column_is_refused(
    env, tmp_path: Path
) -> None:
    runner = CliRunner()
    file = tmp_path / "bad.csv"
    file.write_text("number,body\n+12015550123,hi\n", encoding="utf-8")
    both = runner.invoke(main, ["send", "--csv", str(file), "--to", "+12015550123"])
    assert both.exit_code == 2 and "--csv" in both.output
    headless = runner.invoke(main, ["send", "--csv", str(file)])
    assert headless.exit_code == 2 and "`to`" in headless.output
    alone = runner.invoke(main, ["send", "--category", "transactional", "--body", "x"])
    assert alone.exit_code == 2 and "--to" in alone.output
