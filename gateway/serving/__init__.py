"""How the web tier is served: gunicorn with the settings in `config` (the Procfile's `web`),
a threaded worker that reads each request whole before a thread takes it (`worker`), and a
logger that masks phone numbers in the access and error logs (`logger`)."""
