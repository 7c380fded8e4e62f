"""Imported first by handlers/platform/__init__.py (so by every entry point): warnings nobody
can act on.

Connexion 3.3 imports jsonschema's deprecated RefResolver. Python shows that under
PYTHONWARNINGS=default or -X dev, in every process (the command, the server, each worker),
and `make run` must not greet anyone with it. Everything else still warns.
"""
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning, module="connexion.json_schema")
