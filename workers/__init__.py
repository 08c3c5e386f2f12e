"""RQ jobs: deliver one message (the send-time filter), reconcile the outbox, purge, replay.

Jobs take ids, not objects, open a transaction and call a service; `workers` never imports
the web layer.
"""
