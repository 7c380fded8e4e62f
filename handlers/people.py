"""The caller, as this service knows them."""
from __future__ import annotations

from handlers import present


def show_me(token_info: dict):
    return {"user": present.user(token_info["caller"])}, 200, {"Content-Type": present.JSON}
