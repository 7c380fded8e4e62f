"""Event names: what each history `action` is called on the wire (change feed and webhooks)."""
from __future__ import annotations

# One history action -> one public event type. The change feed and webhooks share this table.
EVENT_TYPES: dict[str, str] = {
    "create": "interview.created",
    "edit": "interview.updated",
    "confirm": "interview.confirmed",
    "decline": "interview.declined",
    "cancel": "interview.cancelled",
    "complete": "interview.completed",
    "no_show": "interview.no_show",
    "propose_amendment": "interview.amendment_proposed",
    "accept_amendment": "interview.amendment_accepted",
    "reject_amendment": "interview.amendment_rejected",
    "withdraw_amendment": "interview.amendment_withdrawn",
    "respond": "interview.panel_response",
    "book_request": "scheduling_request.booked",
}
ACTIONS_BY_TYPE: dict[str, str] = {name: action for action, name in EVENT_TYPES.items()}


def event_type(action: str) -> str:
    """The public name (`interview.confirmed`) of a history action (`confirm`)."""
    return EVENT_TYPES[action]


def actions_of(types: list[str]) -> list[str]:
    """The history actions behind public event names (all validated by the spec's enum)."""
    return [ACTIONS_BY_TYPE[name] for name in types]
