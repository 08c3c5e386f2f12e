"""The law of the system, as plain functions over plain data.

Like Flask's sansio core, this package cannot do any I/O nor be part of a likely I/O path:
no Flask, no SQLAlchemy session, no Twilio, no Redis, and no clock read inside — time comes
in as an argument. `phonenumbers` is the one dependency allowed. import-linter enforces it.
"""
