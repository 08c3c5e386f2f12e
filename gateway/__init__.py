"""smsgate: an SMS consent gateway for clinics.

The Flask factory is `gateway.app:create_app()`. Importing `gateway` (or `gateway.domain`)
imports nothing else, so the pure core stays free of Flask and SQLAlchemy.
"""
