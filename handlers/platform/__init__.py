"""The HTTP platform: the app factory, settings, `*Middleware` classes, the server protocol,
auth, idempotency, metrics, logs, and the one module that adapts Connexion
(connexion_glue.py). It never imports the operations (the factory finds them by name)."""

# First, before any module of the platform imports Connexion: every entry point (the CLI, a
# uvicorn worker importing the app or the server protocol) comes through this package.
from handlers.platform import quiet  # noqa: F401
