"""Imported first by handlers/platform/__init__.py (so by every entry point): warnings nobody
can act on.

Connexion 3.3 imports jsonschema's deprecated RefResolver. Python shows that under
PYTHONWARNINGS=default or -X dev, in every process (the command, the server, each worker),
and `make run` must not greet anyone with it.

Connexion 3.3 also imports `starlette.testclient` for `App.test_client()`, which Starlette 1.x
greets, in every process, with a UserWarning unless `httpx2` is installed; `httpx2` is a test
dependency (the suite's test clients use it), not one of the service's. Everything else still
warns.
"""
import warnings

from starlette.exceptions import StarletteDeprecationWarning

warnings.filterwarnings("ignore", category=DeprecationWarning, module="connexion.json_schema")
warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated",
                        category=StarletteDeprecationWarning)
