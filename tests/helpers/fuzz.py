"""The fuzzer's world: demo people, and interviews made through the API in the state each
operation needs, so that schema-valid cases reach the success paths, not only the refusals.

`World` reaches an operation through three tables:
- NEEDS: the state of the interview it acts on and who acts (STATES: how each state is made);
- PREPARE: a method pointing its cases at things of another kind (schedules, webhooks, ...);
- TIDY: what its cases may leave behind that would refuse later cases, undone after each.
A new operation on interviews is one line in NEEDS, and a new state one recipe in STATES.

Every choice the World makes for a case is drawn from what Hypothesis generated for it, so
`--hypothesis-seed` replays a run. Its slots are hours no active interview holds, whatever the
fuzzer booked or moved before.
"""
from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import MutableMapping
from copy import deepcopy
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import ClassVar

from hypothesis import strategies as st
from schemathesis import GenerationMode

from db.slots import DAYS
from handlers.platform.auth import issue_token

DEMO = Path(__file__).resolve().parents[2] / "db" / "demo_people.json"
COORDINATOR, INTERVIEWER, DRIVER, INTERVIEWEE = 1015, 1014, 1012, 289
MEMBER = 1016  # the other demo interviewer, on the panels the World makes
DEMO_USERS = (1015, 1014, 1016, 1012, 1013)
INTERVIEWERS = (1014, 1016)
PAIRS = ((1014, 289), (1016, 290), (1014, 290), (1016, 289))  # interviewer, interviewee
FUTURE, PAST = datetime(2041, 1, 1, tzinfo=UTC), datetime(2001, 1, 1, tzinfo=UTC)
chosen: set[str] = set()  # Authorization values the World set, which the auth below keeps
seeds: dict[str, int] = {}  # case id -> the seed of the World's choices, drawn by Hypothesis


def operation_id(case) -> str:
    return case.operation.definition.raw["operationId"]


def case_random(case) -> random.Random:
    """The World's choices for `case`, seeded by what Hypothesis generated: the case, and a
    seed drawn with it (see `plausible_bodies`; none in Schemathesis' coverage phase)."""
    return random.Random(repr((seeds.pop(case.id, None), case.operation.label,
                               case.path_parameters, case.query, case.headers, case.body)))


def own_containers(case) -> None:
    """Give `case` copies of its containers to change: Schemathesis may hand one example body
    to several cases. (A body not set stays as it is: set again, it would read as invalid.)"""
    for name in ("path_parameters", "query", "headers", "body"):
        value = getattr(case, name)
        if isinstance(value, (list, MutableMapping)):
            setattr(case, name, deepcopy(value))


def as_demo_coordinator(loaded, settings):
    """Authenticate every generated request as the demo coordinator (who may do everything)
    and make half the schema-valid bookings plausible."""
    token = issue_token(settings, COORDINATOR)

    @loaded.auth()
    class Coordinator:
        def get(self, case, context):
            return token

        def set(self, case, data, context):
            headers = case.headers or {}
            if headers.get("Authorization") not in chosen:  # keep the side the World chose
                case.headers = {**headers, "Authorization": f"Bearer {data}"}

    loaded.hook("flatmap_case")(plausible_bodies)
    return loaded


SLOT = st.fixed_dictionaries({
    "start_at": st.sampled_from(["2031-01-01T09:00:00Z", "2031-01-01T09:30:00+00:00"]),
    "end_at": st.sampled_from(["2031-01-01T10:00:00Z", "2031-01-01T12:00:00.5Z"]),
})
SLOT_VALUES = {"2031-01-01T09:00:00Z", "2031-01-01T09:30:00+00:00"}  # the World frees these
BOOKING = st.tuples(SLOT, st.sampled_from(INTERVIEWERS), st.sampled_from([289, 290])).map(
    lambda t: {**t[0], "interviewer_id": t[1], "interviewee_id": t[2]})


def plausible_bodies(context, case):
    """Half the schema-valid bookings and proposals name demo people and a sane slot, so
    the success paths get fuzzed too, not only the refusals of random ids and durations.
    Each schema-valid case also draws the seed of the World's choices for it."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return st.just(case)
    return st.tuples(plausible(case), st.integers(0, 2**64 - 1)).map(with_seed)


def plausible(case):
    body = case.body
    for wrapper in ("interview", "amendment"):
        fields = body.get(wrapper) if isinstance(body, dict) else None
        if isinstance(fields, dict) and isinstance(fields.get("start_at"), str) \
                and isinstance(fields.get("end_at"), str):
            values = BOOKING if isinstance(fields.get("interviewee_id"), int) else SLOT
            return st.one_of(st.just(case), values.map(
                lambda v, f=fields, w=wrapper: with_body(case, {**body, w: {**f, **v}})))
    return st.just(case)


def with_body(case, body):
    case.body = body
    return case


def with_seed(drawn):
    case, seed = drawn
    seeds[case.id] = seed
    return case


class World:
    """Interviews of the demo people, made through the API in the state an operation needs.

    `realize` points a schema-valid case at one, as the side allowed to act, with its current
    ETag, a fresh idempotency key and a free slot; the fuzzed values stay everywhere else.
    """

    # state -> (booked in the past?, the steps after booking: action, who takes it)
    STATES: ClassVar[dict[str, tuple[bool, tuple[tuple[str, int], ...]]]] = {
        "pending": (False, ()),
        "past confirmed": (True, (("confirm", DRIVER),)),
        "proposed": (False, (("amendment", COORDINATOR),)),
        "panel": (False, ()),  # made with PANEL on it
    }
    PANEL: ClassVar[list[dict]] = [{"interviewer_id": MEMBER, "role": "panelist"}]

    # operationId -> (state of the interview it acts on, who acts)
    NEEDS: ClassVar[dict[str, tuple[str, int]]] = {
        "showInterview": ("pending", COORDINATOR),
        "updateInterview": ("pending", COORDINATOR),
        "listInterviewEvents": ("pending", COORDINATOR),
        "showInterviewCalendar": ("pending", INTERVIEWER),
        "cancelInterview": ("pending", COORDINATOR),
        "proposeAmendment": ("pending", COORDINATOR),
        "confirmInterview": ("pending", DRIVER),
        "declineInterview": ("pending", DRIVER),
        "completeInterview": ("past confirmed", COORDINATOR),
        "markInterviewNoShow": ("past confirmed", COORDINATOR),
        "acceptAmendment": ("proposed", DRIVER),
        "rejectAmendment": ("proposed", DRIVER),
        "withdrawAmendment": ("proposed", COORDINATOR),
        "respondToInterview": ("panel", MEMBER),  # the panel's member answers for themselves
    }

    # operationId -> the method that points a case at things of its kind
    PREPARE: ClassVar[dict[str, str]] = {
        **dict.fromkeys(("createInterview", "createInterviewTrailingSlash"), "booking_case"),
        "updateInterview": "update_case", "proposeAmendment": "amendment_case",
        **dict.fromkeys(("showSchedule", "replaceSchedule", "listTimeOff", "createTimeOff",
                         "deleteTimeOff"), "schedule_case"),
        **dict.fromkeys(("showWebhook", "updateWebhook", "deleteWebhook", "pingWebhook",
                         "rotateWebhookSecret", "listWebhookDeliveries", "retryWebhookDelivery"),
                        "webhook_case"),
        "showAvailability": "availability_case", "showCalendarFeed": "calendar_feed_case",
        **dict.fromkeys(("listInterviewers", "listInterviewees", "listInterviews",
                         "listFeedEvents"), "cursor_case"),
        "upsertInterviewee": "interviewee_case",
        **dict.fromkeys(("createHold", "showHold", "releaseHold"), "hold_case"),
        **dict.fromkeys(("createLoop", "showLoop", "cancelLoop"), "loop_case"),
        "searchLoops": "loop_search_case",
        **dict.fromkeys(("createSchedulingRequest", "showSchedulingRequest",
                         "listSchedulingRequestOptions", "bookSchedulingRequest",
                         "cancelSchedulingRequest"), "scheduling_request_case"),
    }

    # operationId -> what its cases may leave that would refuse later ones (a method of World)
    TIDY: ClassVar[dict[str, str]] = {
        **dict.fromkeys(("showSchedule", "replaceSchedule", "listTimeOff", "createTimeOff",
                         "deleteTimeOff", "showAvailability"), "forget_schedules"),
        **dict.fromkeys(("createWebhook", "showWebhook", "updateWebhook", "deleteWebhook",
                         "pingWebhook", "rotateWebhookSecret", "listWebhookDeliveries",
                         "retryWebhookDelivery"), "forget_webhooks"),
        # A PUT may demote the demo coordinator or give a demo interviewee another driver.
        **dict.fromkeys(("upsertUser", "upsertInterviewee"), "restore_people"),
        **dict.fromkeys(("createHold", "showHold", "releaseHold"), "forget_holds"),
    }

    def __init__(self, http, settings) -> None:
        self.http = http
        self.tokens = {user: issue_token(settings, user) for user in DEMO_USERS}
        self.hours = itertools.count()

    def as_(self, user: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def act_as(self, case, user: int) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {self.tokens[user]}"}
        chosen.add(case.headers["Authorization"])

    def call(self, method: str, path: str, user: int, body: dict | None = None):
        response = self.http.request(method, path, json=body, headers=self.as_(user))
        assert response.is_success, response.text
        return response

    def free_slot(self, past: bool = False) -> dict[str, str]:
        """Half an hour in an hour no active interview touches: a booking or proposal there
        overlaps nothing, whatever the fuzzer booked or moved before."""
        from db.models import ACTIVE, Interview, database

        with database.connection_context():
            while True:
                start = (PAST if past else FUTURE) + timedelta(hours=next(self.hours))
                end = start + timedelta(minutes=30)
                if not Interview.select(Interview.id).where(
                        Interview.status.in_(ACTIVE) & (Interview.start_at < end)
                        & (Interview.end_at > start)).exists():
                    return {"start_at": start.isoformat(), "end_at": end.isoformat()}

    def make(self, state: str) -> dict:
        """An interview of the demo interviewer and interviewee in `state`, with its ETag."""
        past, steps = self.STATES[state]
        interview = self.step("/api/v1/interviews", COORDINATOR, {"interview": {
            "interviewee_id": INTERVIEWEE, "interviewer_id": INTERVIEWER, "kind": "video_call",
            "location": "https://zoom.com", **self.free_slot(past),
            **({"panel": self.PANEL} if state == "panel" else {})}})
        for action, user in steps:
            interview = self.step(f"/api/v1/interviews/{interview['id']}/{action}", user,
                                  self.step_body(action))
        return interview

    def step_body(self, action: str) -> dict | None:
        """What a step of STATES sends: a proposal, a free slot; a transition, nothing."""
        return {"amendment": self.free_slot()} if action == "amendment" else None

    def step(self, path: str, user: int, body: dict | None) -> dict:
        response = self.call("POST", path, user, body)
        return {**response.json()["interview"], "etag": response.headers["etag"]}

    def realize(self, case) -> None:
        """Point a schema-valid case at what its operation needs (see the class docstring)."""
        name, rng = operation_id(case), case_random(case)
        own_containers(case)
        if name in self.NEEDS and "id" in (case.path_parameters or {}):
            state, user = self.NEEDS[name]
            interview = self.make(state)
            case.path_parameters["id"] = interview["id"]
            self.act_as(case, user)
            if "If-Match" in case.headers:
                case.headers["If-Match"] = interview["etag"]
            case.headers.pop("If-None-Match", None)
        if case.headers and "Idempotency-Key" in case.headers:
            case.headers["Idempotency-Key"] = str(uuid.uuid4())
        for wrapper in ("interview", "amendment"):
            fields = case.body.get(wrapper) if isinstance(case.body, dict) else None
            if not isinstance(fields, dict):
                continue
            if fields.get("start_at") in SLOT_VALUES:  # a plausible slot: make it a free one
                fields.update(self.free_slot())
        prepare = self.PREPARE.get(name)
        if prepare is not None:
            getattr(self, prepare)(case, name, rng)

    def tidy(self, case) -> None:
        """Undo what a case may have left that would refuse later cases (see TIDY)."""
        forget = self.TIDY.get(operation_id(case))
        if forget is not None:
            getattr(self, forget)()

    def booking_case(self, case, name: str, rng: random.Random) -> None:
        """Two creates in three name demo people and a free slot; the third keeps its ids."""
        fields = case.body.get("interview") if isinstance(case.body, dict) else None
        if isinstance(fields, dict) and rng.randrange(3):
            interviewer, interviewee = rng.choice(PAIRS)
            fields.update(interviewer_id=interviewer, interviewee_id=interviewee,
                          **self.free_slot())

    def update_case(self, case, name: str, rng: random.Random) -> None:
        """An update keeps the demo interviewer; two in three that move the interview move it
        to a free slot (a moved start or end alone mostly lands before the other)."""
        fields = case.body.get("interview") if isinstance(case.body, dict) else None
        if not isinstance(fields, dict):
            return
        if "interviewer_id" in fields:
            fields["interviewer_id"] = INTERVIEWER
        if ("start_at" in fields or "end_at" in fields) and rng.randrange(3):
            fields.update(self.free_slot())

    def amendment_case(self, case, name: str, rng: random.Random) -> None:
        """Half the proposals not made plausible already propose a free slot."""
        fields = case.body.get("amendment") if isinstance(case.body, dict) else None
        if isinstance(fields, dict) and rng.random() < 0.5:
            fields.update(self.free_slot())

    def schedule_case(self, case, name: str, rng: random.Random) -> None:
        """A demo interviewer's schedule or time off, as the coordinator (or, one case in four,
        the interviewer); in two cases of three a plausible schedule or time off is sent."""
        interviewer = rng.choice(INTERVIEWERS)
        user = interviewer if rng.random() < 0.25 else COORDINATOR
        case.path_parameters["id"] = interviewer
        self.act_as(case, user)
        path = f"/api/v1/interviewers/{interviewer}"
        plausible = rng.randrange(3) and isinstance(case.body, dict)
        if name == "replaceSchedule" and plausible and isinstance(case.body.get("schedule"), dict):
            case.body["schedule"].update(plausible_schedule(rng))
        if name == "createTimeOff" and plausible and isinstance(case.body.get("time_off"), dict):
            case.body["time_off"].update(plausible_time_off(rng))
        if name == "deleteTimeOff" or (name == "listTimeOff" and rng.random() < 0.5):
            made = self.call("POST", f"{path}/time_off", COORDINATOR,
                             {"time_off": plausible_time_off(rng)}).json()["time_off"]
            if name == "deleteTimeOff":
                case.path_parameters["time_off_id"] = made["id"]
        if name in ("showSchedule", "replaceSchedule"):
            if rng.random() < 0.5:  # a schedule set before, or none yet (the default)
                self.call("PUT", f"{path}/schedule", COORDINATOR, {"schedule": {
                    **plausible_schedule(rng), "buffer_minutes": 5, "daily_limit": None,
                    "minimum_notice_minutes": 0}})
            if "If-Match" in (case.headers or {}):  # the current ETag, or none
                if rng.random() < 0.75:
                    etag = self.call("GET", f"{path}/schedule", user).headers["etag"]
                    case.headers["If-Match"] = etag
                else:
                    del case.headers["If-Match"]

    def hold_case(self, case, name: str, rng: random.Random) -> None:
        """Two holds in three are of demo people at a free slot, as the coordinator; a show
        or release is of a hold the coordinator just took."""
        self.act_as(case, COORDINATOR)
        interviewer, interviewee = rng.choice(PAIRS)
        slot = {**self.free_slot(), "interviewer_ids": [interviewer]}
        fields = case.body.get("hold") if isinstance(case.body, dict) else None
        if name == "createHold" and isinstance(fields, dict) and rng.randrange(3):
            fields.update(interviewee_id=interviewee, slots=[slot])
            fields.pop("scheduling_request_id", None)
        if name in ("showHold", "releaseHold"):
            case.path_parameters["id"] = self.call("POST", "/api/v1/holds", COORDINATOR, {
                "hold": {"interviewee_id": interviewee, "slots": [slot]}}).json()["hold"]["id"]

    def loop_rounds(self, rng: random.Random) -> list[dict]:
        """Two rounds of a demo interviewee, one with each demo interviewer, at free slots."""
        return [{**self.free_slot(), "interviewer_id": interviewer, "kind": "video_call",
                 "location": "https://zoom.com"} for interviewer in rng.sample(INTERVIEWERS, 2)]

    def loop_case(self, case, name: str, rng: random.Random) -> None:
        """Two loops in three are of demo people at free slots, as the coordinator; a show or
        cancel is of a loop the coordinator just booked."""
        self.act_as(case, COORDINATOR)
        interviewee = rng.choice([289, 290])
        fields = case.body.get("loop") if isinstance(case.body, dict) else None
        if name == "createLoop" and isinstance(fields, dict) and rng.randrange(3):
            fields.update(interviewee_id=interviewee, rounds=self.loop_rounds(rng))
            fields.pop("hold_id", None)
        if name in ("showLoop", "cancelLoop"):
            case.path_parameters["id"] = self.call("POST", "/api/v1/loops", COORDINATOR, {
                "loop": {"interviewee_id": interviewee, "rounds": self.loop_rounds(rng)}}
            ).json()["loop"]["id"]

    def loop_search_case(self, case, name: str, rng: random.Random) -> None:
        """Two searches in three are of demo people over a day or two among the fuzz bookings."""
        self.act_as(case, COORDINATOR)
        fields = case.body.get("search") if isinstance(case.body, dict) else None
        if isinstance(fields, dict) and rng.randrange(3):
            start = FUTURE + timedelta(minutes=15 * rng.randrange(3000))
            fields.update(
                interviewee_id=rng.choice([289, 290]), **{"from": start.isoformat(),
                "to": (start + timedelta(hours=rng.choice([8, 48]))).isoformat()},
                rounds=[{"duration_minutes": 30, "interviewer_ids": [i]} for i in INTERVIEWERS])
            fields.pop("time_zone", None)
            fields.pop("gap_minutes", None)

    def scheduling_request(self, rng: random.Random) -> dict:
        """The coordinator's offer to a demo interviewee: two hours of a free slot's day with
        both demo interviewers, open for a day."""
        from db.fields import utcnow

        start = datetime.fromisoformat(self.free_slot()["start_at"])
        return {"interviewee_id": rng.choice([289, 290]), "from": start.isoformat(),
                "to": (start + timedelta(hours=2)).isoformat(),
                "rounds": [{"duration_minutes": 30, "interviewer_ids": list(INTERVIEWERS)}],
                "kind": "video_call", "location": "https://zoom.com",
                "expires_at": (utcnow() + timedelta(days=1)).isoformat()}

    def scheduling_request_case(self, case, name: str, rng: random.Random) -> None:
        """Two creates in three are a plausible offer, as the coordinator; the other operations
        act on an offer just made, as its driver (a cancel: as the coordinator), and two books
        in three pick the first option offered, without a hold."""
        self.act_as(case, COORDINATOR)
        fields = case.body.get("scheduling_request") if isinstance(case.body, dict) else None
        if name == "createSchedulingRequest":
            if isinstance(fields, dict) and rng.randrange(3):
                fields.clear()
                fields.update(self.scheduling_request(rng))
            return
        offer = self.scheduling_request(rng)
        made = self.call("POST", "/api/v1/scheduling_requests", COORDINATOR,
                         {"scheduling_request": offer}).json()["scheduling_request"]
        case.path_parameters["id"] = made["id"]
        driver = DRIVER if offer["interviewee_id"] == INTERVIEWEE else 1013
        if name != "cancelSchedulingRequest":
            self.act_as(case, driver)
        option = case.body.get("option") if isinstance(case.body, dict) else None
        if name == "bookSchedulingRequest" and isinstance(option, dict) and rng.randrange(3):
            offered = self.call("GET", f"/api/v1/scheduling_requests/{made['id']}/options",
                                driver).json()["options"]
            option.pop("hold_id", None)
            option["start_at"] = offered[0]["start_at"]

    def webhook_case(self, case, name: str, rng: random.Random) -> None:
        """A webhook of a demo user other than the coordinator (whose own the fuzzer's creates
        fill up), with a delivery (a ping) for the operations on deliveries."""
        owner = rng.choice([u for u in DEMO_USERS if u != COORDINATOR])
        webhook = self.call("POST", "/api/v1/webhooks", owner, {"webhook": {
            "url": f"http://127.0.0.1:9/hooks/{rng.randrange(1000)}",
            "events": rng.choice([[], ["interview.created", "interview.cancelled"]])}}
        ).json()["webhook"]
        case.path_parameters["id"] = webhook["id"]
        self.act_as(case, owner)
        deliveries = name == "listWebhookDeliveries" and rng.random() < 0.5
        if name == "retryWebhookDelivery" or deliveries:
            delivery = self.call("POST", f"/api/v1/webhooks/{webhook['id']}/ping", owner).json()
            if name == "retryWebhookDelivery":
                case.path_parameters["delivery_id"] = delivery["delivery"]["id"]

    def availability_case(self, case, name: str, rng: random.Random) -> None:
        """Demo people, one of them with a schedule in half the cases; in two cases of three a
        window of hours to a week (among the fuzz bookings), longer than the duration."""
        query = case.query if isinstance(case.query, dict) else {}
        query["interviewee_id"] = rng.choice([289, 290])
        query["interviewer_id"] = rng.choice([[1014], [1016], [1014, 1016]])
        self.act_as(case, COORDINATOR)
        if rng.random() < 0.5:
            self.call("PUT", f"/api/v1/interviewers/{query['interviewer_id'][0]}/schedule",
                      COORDINATOR, {"schedule": {**plausible_schedule(rng), "buffer_minutes": 10,
                                                 "daily_limit": 3, "minimum_notice_minutes": 0}})
        if rng.randrange(3):
            start = FUTURE + timedelta(minutes=15 * rng.randrange(3000))
            duration = str(query.get("duration_minutes"))  # the coverage phase sends strings
            query["duration_minutes"] = min(int(duration), 240) if duration.isdigit() else 30
            end = start + timedelta(hours=rng.choice([8, 24, 72, 168]))
            query["from"], query["to"] = start.isoformat(), end.isoformat()
        case.query = query

    def calendar_feed_case(self, case, name: str, rng: random.Random) -> None:
        """The token of a feed just made for a demo user (the URL's last part)."""
        user = rng.choice(DEMO_USERS)
        url = self.call("POST", "/api/v1/me/calendar_feed", user).json()["calendar_feed"]["url"]
        case.path_parameters["token"] = url.rsplit("/", 1)[1].removesuffix(".ics")

    def cursor_case(self, case, name: str, rng: random.Random) -> None:
        """A list's cursor: one case in three keeps its fuzzed one, one drops it, one sends a
        cursor this API issued for the same filters (when there is a next page)."""
        query = case.query if isinstance(case.query, dict) else {}
        cursor = "after" if name == "listFeedEvents" else "cursor"
        choice = rng.randrange(3)
        if choice and cursor in query:
            del query[cursor]
        if choice == 2:
            first = self.http.get(case.path, params={**query, "limit": 1},
                                  headers=self.as_(COORDINATOR))
            if first.status_code == 200 and first.json().get("next_cursor"):
                query[cursor] = first.json()["next_cursor"]
        case.query = query

    def interviewee_case(self, case, name: str, rng: random.Random) -> None:
        """Two upserts in three name a demo driver; the third keeps its fuzzed one."""
        fields = case.body.get("interviewee") if isinstance(case.body, dict) else None
        if isinstance(fields, dict) and rng.randrange(3):
            fields["driver_id"] = rng.choice([DRIVER, 1013])

    @staticmethod
    def forget_schedules() -> None:
        from db.models import database
        from db.schedules import Schedule, TimeOff

        with database.connection_context(), database.atomic():
            Schedule.delete().execute()
            TimeOff.delete().execute()

    @staticmethod
    def forget_holds() -> None:
        """Let every hold go: a hold keeps the demo people from being booked there."""
        from db.holds import HoldSeat
        from db.models import database

        with database.connection_context():
            HoldSeat.update(active=False).execute()

    @staticmethod
    def forget_webhooks() -> None:
        from db.models import database
        from db.webhooks import Delivery, Webhook

        with database.connection_context(), database.atomic():
            Delivery.delete().execute()
            Webhook.delete().execute()

    @staticmethod
    def restore_people() -> None:
        """The demo people as the demo file has them (directly: the API refuses some of it)."""
        from db.models import Interviewee, User, database

        demo = json.loads(DEMO.read_text())
        with database.connection_context(), database.atomic():
            for model, records in ((User, demo["users"]), (Interviewee, demo["interviewees"])):
                for record in records:
                    model.update(**{k: v for k, v in record.items() if k != "id"}).where(
                        model.id == record["id"]).execute()

    def reset(self) -> None:
        """Only the demo people, as the demo file has them: no interview, history, key,
        webhook, schedule or time off, and no other person (what the fuzzer left, forgotten)."""
        from db.holds import Hold
        from db.idempotency import IdempotencyKey
        from db.models import Event, Interview, Interviewee, Loop, User, database
        from db.scheduling_requests import SchedulingRequest

        self.forget_webhooks()  # deliveries point at events
        self.forget_schedules()
        self.restore_people()
        demo = json.loads(DEMO.read_text())
        with database.connection_context(), database.atomic():
            Event.delete().execute()  # this database holds only what the fuzzer did
            Hold.delete().execute()
            SchedulingRequest.delete().execute()
            Interview.delete().execute()
            Loop.delete().execute()
            IdempotencyKey.delete().execute()
            for model, records in ((Interviewee, demo["interviewees"]), (User, demo["users"])):
                model.delete().where(model.id.not_in([r["id"] for r in records])).execute()


ZONES = ("Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC",
         "Pacific/Chatham", "America/St_Johns")


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def plausible_schedule(rng: random.Random) -> dict:
    """A valid IANA zone and, per working day, one or two ordered periods apart (or null)."""
    hours = None
    if rng.random() < 0.8:
        hours = {}
        for day in rng.sample(DAYS, rng.randint(0, len(DAYS))):
            start = rng.randrange(0, 12 * 60, 15)
            end = start + rng.randrange(30, 6 * 60, 15)
            hours[day] = [{"start": clock(start), "end": clock(end)}]
            if rng.random() < 0.5:
                hours[day].append({"start": clock(end + 30),
                                   "end": clock(min(end + 300, 24 * 60))})
    return {"time_zone": rng.choice(ZONES), "working_hours": hours}


def plausible_time_off(rng: random.Random) -> dict:
    """Hours to weeks in 2035, with an offset (no fuzz booking is that year)."""
    start = datetime(2035, 1, 1, tzinfo=UTC) + timedelta(minutes=30 * rng.randrange(17000))
    end = start + timedelta(minutes=30 * rng.randrange(1, 24 * 60))
    zone = rng.choice([UTC, timezone(timedelta(hours=1)),
                       timezone(timedelta(hours=-5, minutes=-30))])
    return {"start_at": start.astimezone(zone).isoformat(),
            "end_at": end.astimezone(zone).isoformat()}
