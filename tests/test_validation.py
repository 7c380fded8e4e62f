"""The compiled validator (jsonschema-rs) agrees with Connexion's stock Draft 4 validator.

The stock one stays the oracle: the same valid and invalid documents go through both, for
every request body and every JSON response schema in the spec.
"""
from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import pytest
import yaml
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator, resolve_refs
from jsonschema import Draft4Validator

from handlers.platform.connexion_glue import compiled

ROOT = Path(__file__).resolve().parent.parent
SPEC = resolve_refs(yaml.safe_load((ROOT / "openapi.yaml").read_text()))
SEED = SPEC["components"]["examples"]["SeedInterview"]["value"]
INTERVIEW = SEED["interview"]
CREATE_FIELDS = ("kind", "start_at", "end_at", "interviewee_id", "interviewer_id")


def schemas() -> list[tuple[str, dict, type]]:
    found = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                found.append((f"{method.upper()} {path} request", body["schema"],
                              Draft4RequestValidator))
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    if "json" in media:
                        found.append((f"{method.upper()} {path} {status} {media}",
                                      content["schema"], Draft4ResponseValidator))
    return found


VALUES = [None, True, 0, -1, 1, 2**53, 1.5, "", "x", "x" * 5001, "2025-11-20T08:13:05Z",
          "2025-11-20T08:13:05", "2025-13-20T08:13:05Z", "not a date", "https://zoom.com",
          "GBP", "gbp", "pending", "video_call", "edit", [], ["edit"], ["nope"], {}, {"a": 1}]


EXCLUDED = {"overlap": 0, "held": 5, "buffer": 1, "time_off": 2, "daily_limit": 0,
            "weekly_limit": 4, "outside_working_hours": 3, "too_soon": 0}
HELD = {"start_at": "2025-11-20T08:15:00.000Z", "end_at": "2025-11-20T08:45:00.000Z",
        "interviewer_ids": [1, 2]}


def documents() -> list:
    """Valid documents and near misses: each field of each one replaced by each value."""
    interview = copy.deepcopy(INTERVIEW)
    problem = {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "d",
               "code": "overlap", "conflicts": [1], "errors": [{"field": "f", "message": "m"}],
               "allowed_actions": ["cancel"], "interviewer_id": 3}
    bases = [
        SEED, {"interviews": [interview, interview], "next_cursor": None},
        {"interviews": [], "next_cursor": "c"},
        {"events": [{"id": 1, "action": "create", "actor_id": 2, "at": "2025-11-20T08:13:05.000Z",
                     "changes": {"kind": {"from": None, "to": "video_call"}}, "reason": None}]},
        {"user": {"id": 1, "title": "t", "role": "driver", "phone_number": None,
                  "contact_phone_number": None, "image": None}},
        {"status": "ok"}, problem,
        {"interview": {k: INTERVIEW[k] for k in CREATE_FIELDS}},
        {"interview": {"kind": "phone_call", "location": None}},
        {"amendment": {"start_at": "2025-11-21T09:00:00Z", "end_at": "2025-11-21T09:30:00+01:00"}},
        {"reason": "because"}, {},
        # the people directory
        {"interviewers": [{"id": 1, "title": "t", "contact_phone_number": None, "image": None,
                           "time_zone": "UTC"}], "next_cursor": None},
        {"interviewees": [interview["interviewee"]], "next_cursor": "c"},
        {"interviewee": interview["interviewee"]},
        {"interviewee": {"driver_id": 1, "kind": "interview", "currency": "GBP"}},
        # Schedules, time off, availability.
        {"schedule": {"time_zone": "Europe/London",
                      "working_hours": {"monday": [{"start": "09:00", "end": "24:00"}]},
                      "buffer_minutes": 10, "daily_limit": None, "minimum_notice_minutes": 0}},
        {"time_off": [{"id": 1, "start_at": "2025-11-20T08:13:05.000Z",
                       "end_at": "2025-11-21T08:13:05.000Z", "reason": None}]},
        {"time_off": {"id": 1, "start_at": "2025-11-20T08:13:05.000Z",
                      "end_at": "2025-11-21T08:13:05.000Z", "reason": "Holiday"}},
        {"time_off": {"start_at": "2025-11-20T08:13:05Z", "end_at": "2025-11-21T08:13:05+01:00"}},
        {"slots": [{"start_at": "2025-11-20T08:15:00.000Z", "end_at": "2025-11-20T08:45:00.000Z",
                    "interviewer_ids": [1]}],
         "excluded": EXCLUDED},
        # Panels and pools.
        {"interview": {**{k: INTERVIEW[k] for k in CREATE_FIELDS},
                       "panel": [{"interviewer_id": 2, "role": "panelist"},
                                 {"interviewer_id": 3, "role": "shadow"}]}},
        {"response": {"status": "declined", "reason": "away"}},
        {"schedule": {"time_zone": "UTC", "working_hours": None, "buffer_minutes": 0,
                      "daily_limit": 2, "minimum_notice_minutes": 0, "weekly_limit": 8,
                      "date_overrides": {"2031-12-24": [],
                                         "2031-12-27": [{"start": "10:00", "end": "14:00"}]}}},
        {"events": [{"id": 2, "action": "respond", "actor_id": 3, "at": "2025-11-20T08:13:05.000Z",
                     "changes": {"panel": {"from": None,
                                           "to": [{"interviewer_id": 2, "role": "shadow"}]},
                                 "response": {"from": "needs_action", "to": "declined"}},
                     "reason": None}]},
        {"events": [{"id": 1, "interview_id": 3, "type": "interview.created", "action": "create",
                     "actor_id": 2, "at": "2025-11-20T08:13:05.000Z",
                     "changes": {"kind": {"from": None, "to": "video_call"}}, "reason": None}],
         "next_cursor": "WzAsIDBd"},
        {"calendar_feed": {"url": "https://example.com/api/v1/calendar/feeds/x.ics"}},
        # Holds and loops.
        {"hold": {"interviewee_id": 1, "ttl_seconds": 60, "slots": [HELD]}},
        {"hold": {"id": 1, "interviewee_id": 1, "slots": [HELD], "status": "active",
                  "expires_at": "2025-11-20T08:18:05.000Z",
                  "created_at": "2025-11-20T08:13:05.000Z"}},
        {"search": {"interviewee_id": 1, "from": "2025-11-20T08:00:00Z",
                    "to": "2025-11-21T08:00:00Z",
                    "rounds": [{"duration_minutes": 30, "interviewer_ids": [1], "mode": "all"}],
                    "gap_minutes": {"min": 0, "max": 30}, "same_day": True,
                    "time_zone": "Europe/London", "step_minutes": 15, "limit": 5}},
        {"itineraries": [{"start_at": "2025-11-20T08:15:00.000Z",
                          "end_at": "2025-11-20T08:45:00.000Z", "rounds": [HELD]}],
         "excluded": EXCLUDED},
        {"loop": {"interviewee_id": 1, "hold_id": 2, "rounds": [{
            "start_at": "2025-11-20T08:15:00Z", "end_at": "2025-11-20T08:45:00Z",
            "interviewer_id": 1, "panel": [], "kind": "video_call", "location": None}]}},
        {"loop": {"id": 1, "interviewee_id": 1, "status": "active", "interviews": [interview]}},
    ]
    offer = {"interviewee_id": 1, "from": "2025-11-20T08:00:00Z", "to": "2025-11-21T08:00:00Z",
             "rounds": [{"duration_minutes": 30, "interviewer_ids": [1, 2], "mode": "any"}],
             "gap_minutes": {"min": 0, "max": 15}, "step_minutes": 15, "kind": "video_call",
             "location": "https://zoom.com", "expires_at": "2025-11-19T08:00:00Z"}
    option_round = {**HELD, "interviewers": [{"id": 1, "title": "Felipe", "image": None}]}
    bases += [
        {"scheduling_request": offer},
        {"scheduling_request": {**offer, "id": 3, "status": "booked",
                                "created_at": "2025-11-18T08:00:00.000Z", "interview_ids": [4],
                                "loop_id": None}},
        {"options": [{"start_at": "2025-11-20T08:15:00.000Z", "end_at": "2025-11-20T08:45:00.000Z",
                      "rounds": [option_round]}]},
        {"option": {"start_at": "2025-11-20T08:15:00Z", "hold_id": 2}},
    ]
    webhook = {"id": 7, "url": "https://hooks.example.com/in", "events": ["interview.created"],
               "description": None, "enabled": True, "created_at": "2025-11-20T08:13:05.000Z"}
    delivery = {"id": 40, "event_id": "evt_1", "type": "webhook.ping", "status": "pending",
                "attempts": 1, "last_status_code": 500, "last_error": None,
                "next_attempt_at": "2025-11-20T08:13:05.000Z", "delivered_at": None,
                "created_at": "2025-11-20T08:13:05.000Z"}
    bases += [
        {"webhook": {"url": "https://hooks.example.com/in", "events": [], "description": "d"}},
        {"webhook": {"enabled": False}}, {"webhook": webhook}, {"webhooks": [webhook]},
        {"webhook": {**webhook, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
        {"delivery": delivery}, {"deliveries": [delivery]},
    ]
    docs = list(bases) + VALUES
    for base in bases:
        docs += mutations(base)
    return docs


def mutations(doc, depth: int = 0):
    if not isinstance(doc, dict) or depth > 2:
        return []
    out = []
    for key, value in doc.items():
        for replacement in VALUES:
            out.append({**doc, key: replacement})
        out.append({k: v for k, v in doc.items() if k != key})
        out += [{**doc, key: inner} for inner in mutations(value, depth + 1)]
        if isinstance(value, list) and value and isinstance(value[0], dict):
            out += [{**doc, key: [inner]} for inner in mutations(value[0], depth + 1)]
    out.append({**doc, "unexpected": 1})
    return out


DOCUMENTS = documents()


@pytest.mark.parametrize("name, schema, oracle", schemas(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_compiled_validator_agrees_with_the_stock_one(name, schema, oracle):
    stock = oracle(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    fast = compiled(schema)
    disagreements = [doc for doc in DOCUMENTS if stock.is_valid(doc) != fast.is_valid(doc)]
    assert not disagreements, json.dumps(disagreements[:3])[:2000]
    assert any(stock.is_valid(doc) for doc in DOCUMENTS) or name.endswith("problem+json")


def test_the_corpus_is_large_and_mixed():
    verdicts = [compiled(s).is_valid(d)
                for (_, s, _), d in itertools.product(schemas()[:3], DOCUMENTS)]
    assert len(DOCUMENTS) > 1000 and any(verdicts) and not all(verdicts)


def spec_parameters() -> list[dict]:
    import yaml

    from handlers.platform.app import SPEC

    spec = yaml.safe_load(SPEC.read_text())

    def resolve(node):
        if isinstance(node, dict):
            if "$ref" in node:
                target = spec
                for part in node["$ref"].removeprefix("#/").split("/"):
                    target = target[part]
                return resolve(target)
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    found = []
    for item in spec["paths"].values():
        for key, operation in item.items():
            listed = operation if key == "parameters" else operation.get("parameters", [])
            found += [resolve(param) for param in listed]
    return found


PARAMETER_VALUES = [
    0, 1, -1, 25, 101, 2**53, 2**63, 2**70, True, False, 1.5, "", "a", "abc\n", "x" * 44,
    "A" * 43, "A" * 42 + "\n", "2025-11-20T08:13:05Z", "2025-11-20T08:13:05.000000+0000",
    "2025-13-01T00:00:00Z", "2025-11-20t08:13:05z", "2025-11-20T23:59:60Z", "pending",
    "video_call", "١٠١٥", [], ["pending"], ["pending", "nope"], [1, 2], ["x"] * 100, [True],
]


def test_compiled_parameter_check_never_accepts_what_stock_refuses():
    """Parameters are checked by jsonschema-rs first; its "valid" must be the stock one's."""
    from handlers.platform.connexion_glue import parameter_passes, parameter_validator

    params = spec_parameters()
    passed = 0
    for param in params:
        for value in PARAMETER_VALUES:
            if parameter_passes(param, value):
                passed += 1
                errors = list(parameter_validator(param).iter_errors(value))
                assert not errors, (param["name"], value, errors)
    assert len(params) > 20 and passed > len(params)  # the fast path does answer
