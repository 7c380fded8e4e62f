"""The people directory: finding interviewers and interviewees, and coordinators' upserts."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from db.people import INTERVIEWEE_PROPERTIES, USER_PROPERTIES, PeopleFileError, import_people
from handlers.wire.cursors import fingerprint
from tests.helpers.booking import book, bring_to, interview_body
from tests.helpers.people import SECRET, ids, make_interviewee, make_user

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "db" / "demo_people.json"


def tag() -> str:
    """A word no other test's titles contain, so searches see only this test's people."""
    return "zq" + uuid.uuid4().hex[:8]


def interviewers(client, people, who=None, **params):
    response = client.get("/api/v1/interviewers", params=params,
                          headers=people.auth(who or people.coordinator))
    assert response.status_code == 200, response.text
    return response.json()


def interviewees(client, people, who=None, **params):
    response = client.get("/api/v1/interviewees", params=params,
                          headers=people.auth(who or people.coordinator))
    assert response.status_code == 200, response.text
    return response.json()


def titles(page: dict) -> list[str]:
    return [entry["title"] for entry in page["interviewers"]]


def walk(client, people, path: str, key: str, **params) -> tuple[list[int], int]:
    """Follow `Link: rel="next"` from the first page; the ids seen and the pages walked."""
    url, seen, pages = path, [], 0
    auth = people.auth(people.coordinator)
    response = client.get(url, params=params, headers=auth)
    while True:
        assert response.status_code == 200, response.text
        pages += 1
        seen += [entry["id"] for entry in response.json()[key]]
        link = response.headers.get("link")
        assert (link is None) == (response.json()["next_cursor"] is None)
        if link is None or pages > 50:
            return seen, pages
        response = client.get(link.split(">")[0].lstrip("<"), headers=auth)


# --- GET /interviewers -------------------------------------------------------------------


def test_interviewers_search_takes_percent_and_underscore_literally(client, people):
    word = tag()
    for title in ("100% sure", "100 percent sure", "a_b", "axb"):
        make_user("interviewer", title=f"{word} {title}")
    assert titles(interviewers(client, people, q=f"{word} 100%")) == [f"{word} 100% sure"]
    assert titles(interviewers(client, people, q=f"{word} a_b")) == [f"{word} a_b"]
    assert titles(interviewers(client, people, q=f"{word}%sure")) == []  # not a wildcard
    assert titles(interviewers(client, people, q=f"{word} a_")) == [f"{word} a_b"]
    assert len(interviewers(client, people, q=word)["interviewers"]) == 4


def test_interviewers_search_ignores_case_and_backslash_is_literal(client, people):
    word = tag()
    make_user("interviewer", title=f"{word} Felipe Vandervort")
    make_user("interviewer", title=f"{word} back\\slash")
    assert titles(interviewers(client, people, q=f"{word} fELIPE vANDER".upper())) == \
        [f"{word} Felipe Vandervort"]
    assert titles(interviewers(client, people, q=f"{word} BACK\\S")) == [f"{word} back\\slash"]


def test_interviewers_search_ignores_case_beyond_ascii(client, people):
    word = tag()
    make_user("interviewer", title=f"{word} Élodie Ørsted")
    assert titles(interviewers(client, people, q="éLODIE øRSTED")) == [f"{word} Élodie Ørsted"]


def test_interviewers_lists_only_interviewers_in_the_summary_shape(client, people):
    word = tag()
    expected = make_user("interviewer", title=f"{word} one", contact_phone_number="+44 1",
                         image="https://example.com/a.png")
    make_user("driver", title=f"{word} a driver")
    make_user("coordinator", title=f"{word} a coordinator")
    assert interviewers(client, people, q=word) == {"interviewers": [{
        "id": expected.id, "title": f"{word} one", "contact_phone_number": "+44 1",
        "image": "https://example.com/a.png", "time_zone": "UTC"}], "next_cursor": None}


def test_interviewers_pages_through_all_with_no_repeats_or_misses(client, people):
    word = tag()
    made = [make_user("interviewer", title=f"{word} {name}").id
            for name in ("b", "a", "c", "a", "b", "d", "a")]  # ties are ordered by id
    everything = [e["id"] for e in interviewers(client, people, q=word, limit=100)["interviewers"]]
    assert sorted(everything) == sorted(made)
    seen, pages = walk(client, people, "/api/v1/interviewers", "interviewers", q=word, limit=3)
    assert seen == everything and pages == 3


def test_interviewers_are_ordered_by_title_then_id(client, people):
    word = tag()
    later_a, b, earlier_a = (make_user("interviewer", title=f"{word} {n}") for n in ("a", "b", "a"))
    assert [e["id"] for e in interviewers(client, people, q=word)["interviewers"]] == \
        [later_a.id, earlier_a.id, b.id]


def test_interviewer_may_list_interviewers(client, people):
    assert "interviewers" in interviewers(client, people, who=people.interviewer)


def test_driver_may_not_list_interviewers(client, people):
    response = client.get("/api/v1/interviewers", headers=people.auth(people.driver))
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


@pytest.mark.parametrize("path, key", [("/api/v1/interviewers", "interviewers"),
                                       ("/api/v1/interviewees", "interviewees")])
def test_cursor_of_another_query_is_400(client, people, path, key):
    word = tag()
    for _ in range(2):
        driver = make_user("driver", title=f"{word} d")
        make_interviewee(driver)
        make_user("interviewer", title=f"{word} i")
    first = client.get(path, params={"q": word, "limit": 1},
                       headers=people.auth(people.coordinator))
    cursor = first.json()["next_cursor"]
    assert cursor
    other = client.get(path, params={"q": word + "x", "cursor": cursor},
                       headers=people.auth(people.coordinator))
    assert other.status_code == 400 and other.json()["code"] == "invalid_cursor", other.text


@pytest.mark.parametrize("path, keys", [
    ("/api/v1/interviewers", ["a"]), ("/api/v1/interviewers", ["a", 2**70]),
    ("/api/v1/interviewers", ["a", True]), ("/api/v1/interviewers", ["\ud800", 1]),
    ("/api/v1/interviewers", ["a\x00", 1]), ("/api/v1/interviewees", ["a"]),
    ("/api/v1/interviewees", [-1]), ("/api/v1/interviewees", [2**63]),
])
def test_forged_cursor_is_400(client, people, path, keys):
    query_id = fingerprint({"list": path.rsplit("/", 1)[1]})
    forged = base64.urlsafe_b64encode(json.dumps([*keys, query_id]).encode()).decode().rstrip("=")
    for cursor in (forged, "garbage"):
        response = client.get(path, params={"cursor": cursor},
                              headers=people.auth(people.coordinator))
        assert (response.status_code == 400
                and response.json()["code"] == "invalid_cursor"), response.text


def test_interviews_cursor_is_not_a_directory_cursor(client, people):
    book(client, people)
    book(client, people)
    cursor = client.get("/api/v1/interviews", params={"limit": 1},
                        headers=people.auth(people.coordinator)).json()["next_cursor"]
    response = client.get("/api/v1/interviewers", params={"cursor": cursor},
                          headers=people.auth(people.coordinator))
    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"q": "x" * 201}])
def test_interviewers_out_of_bounds_is_400(client, people, params):
    response = client.get("/api/v1/interviewers", params=params,
                          headers=people.auth(people.coordinator))
    assert response.status_code == 400


def test_nul_in_q_finds_nothing(client, people):
    assert interviewers(client, people, q="a\x00b")["interviewers"] == []


# --- GET /interviewees -------------------------------------------------------------------


def test_driver_sees_only_their_own_interviewees(client, people):
    page = interviewees(client, people, who=people.driver)
    assert [e["id"] for e in page["interviewees"]] == [people.interviewee.id]
    assert page["interviewees"][0]["driver"] == {
        "id": people.driver.id, "image": None, "phone_number": "123", "title": people.driver.title}


def test_driver_asking_for_another_drivers_interviewees_gets_an_empty_list(client, people):
    page = interviewees(client, people, who=people.driver, driver_id=people.other_driver.id)
    assert page == {"interviewees": [], "next_cursor": None}


@pytest.mark.parametrize("who", ["coordinator", "interviewer"])
def test_coordinators_and_interviewers_see_any_drivers_interviewees(client, people, who):
    page = interviewees(client, people, who=getattr(people, who), driver_id=people.other_driver.id)
    assert [e["id"] for e in page["interviewees"]] == [people.other_interviewee.id]


def test_interviewees_search_the_drivers_title_literally_ignoring_case(client, people):
    word = tag()
    wanted = make_interviewee(make_user("driver", title=f"{word} 50%_Off"))
    make_interviewee(make_user("driver", title=f"{word} 50xxoff"))
    page = interviewees(client, people, q=f"{word} 50%_off".upper())
    assert [e["id"] for e in page["interviewees"]] == [wanted.id]


def test_interviewees_page_through_all_by_id(client, people):
    driver = make_user("driver")
    made = [make_interviewee(driver).id for _ in range(5)]
    seen, pages = walk(client, people, "/api/v1/interviewees", "interviewees",
                       driver_id=driver.id, limit=2)
    assert seen == made and pages == 3


# --- PUT /users/{id} and /interviewees/{id} ----------------------------------------------


def put_user(client, people, user_id, who=None, **fields):
    return client.put(f"/api/v1/users/{user_id}", json={"user": fields},
                      headers=people.auth(who or people.coordinator))


def test_put_user_creates_then_updates(client, people):
    user_id = next(ids)
    body = {"title": "Nia New", "role": "interviewer", "phone_number": "1"}
    created = put_user(client, people, user_id, **body)
    assert created.status_code == 201, created.text
    assert created.json() == {"user": {"id": user_id, "contact_phone_number": None, "image": None,
                                       **body}}
    assert put_user(client, people, user_id, **body).status_code == 200  # a repeat is harmless
    updated = put_user(client, people, user_id, title="Nia Renamed", role="interviewer")
    assert updated.status_code == 200
    assert updated.json()["user"]["title"] == "Nia Renamed"
    assert updated.json()["user"]["phone_number"] is None  # PUT replaces: left out is null
    assert titles(interviewers(client, people, q="Nia Renamed")) == ["Nia Renamed"]


def test_put_interviewee_creates_then_updates(client, people):
    interviewee_id = next(ids)
    path = f"/api/v1/interviewees/{interviewee_id}"
    auth = people.auth(people.coordinator)
    body = {"interviewee": {"driver_id": people.driver.id, "kind": "interview", "currency": "EUR"}}
    created = client.put(path, json=body, headers=auth)
    assert created.status_code == 201, created.text
    shown = created.json()["interviewee"]
    assert (shown["id"], shown["currency"], shown["driver"]["id"]) == \
        (interviewee_id, "EUR", people.driver.id)
    body["interviewee"]["driver_id"] = people.other_driver.id
    moved = client.put(path, json=body, headers=auth)
    assert (moved.status_code == 200
            and moved.json()["interviewee"]["driver"]["id"] == people.other_driver.id)


@pytest.mark.parametrize("who", ["interviewer", "driver"])
def test_only_coordinators_may_put_people(client, people, who):
    caller = getattr(people, who)
    user = put_user(client, people, next(ids), who=caller, title="X", role="driver")
    interviewee = client.put(f"/api/v1/interviewees/{next(ids)}", headers=people.auth(caller),
                             json={"interviewee": {"driver_id": people.driver.id,
                                                   "kind": "interview", "currency": "GBP"}})
    assert (user.status_code, interviewee.status_code) == (403, 403)


def test_changing_the_role_of_a_booked_interviewer_is_role_in_use(client, people):
    interview = book(client, people)
    refused = put_user(client, people, people.interviewer.id, title="t", role="driver")
    assert refused.status_code == 409 and refused.json()["code"] == "role_in_use"
    bring_to(client, people, interview, "cancelled")  # no longer active: the role may change
    assert put_user(client, people, people.interviewer.id, title="t",
                    role="coordinator").status_code == 200


def test_changing_the_role_of_a_driver_of_an_interviewee_is_role_in_use(client, people):
    refused = put_user(client, people, people.driver.id, title="t", role="interviewer")
    assert refused.status_code == 409 and refused.json()["code"] == "role_in_use"


def test_a_put_keeping_the_role_is_always_allowed(client, people):
    book(client, people)
    kept = put_user(client, people, people.interviewer.id, title="Still Booked", role="interviewer")
    assert kept.status_code == 200 and kept.json()["user"]["title"] == "Still Booked"
    assert put_user(client, people, people.driver.id, title="Still Driving",
                    role="driver").status_code == 200


@pytest.mark.parametrize("driver", ["interviewer", "missing"])
def test_interviewee_driver_must_be_a_driver(client, people, driver):
    driver_id = people.interviewer.id if driver == "interviewer" else next(ids)
    response = client.put(f"/api/v1/interviewees/{next(ids)}",
                          headers=people.auth(people.coordinator),
                          json={"interviewee": {"driver_id": driver_id, "kind": "interview",
                                                "currency": "GBP"}})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["driver_id"]


@pytest.mark.parametrize("user", [
    {"role": "driver"}, {"title": "x"}, {"title": "", "role": "driver"},
    {"title": "x" * 201, "role": "driver"}, {"title": "x", "role": "admin"},
    {"title": "x", "role": "driver", "phone_number": "1" * 51},
    {"title": "x", "role": "driver", "image": "h" * 2049},
    {"title": "x", "role": "driver", "id": 5},
])
def test_invalid_user_body_is_400(client, people, user):
    assert put_user(client, people, next(ids), **user).status_code == 400


@pytest.mark.parametrize("interviewee", [
    {"kind": "interview", "currency": "GBP"},
    {"driver_id": 0, "kind": "interview", "currency": "GBP"},
    {"driver_id": 1, "kind": "", "currency": "GBP"},
    {"driver_id": 1, "kind": "k", "currency": "gbp"},
    {"driver_id": 1, "kind": "k" * 51, "currency": "GBP"},
])
def test_invalid_interviewee_body_is_400(client, people, interviewee):
    response = client.put(f"/api/v1/interviewees/{next(ids)}", json={"interviewee": interviewee},
                          headers=people.auth(people.coordinator))
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("title, status", [("nul\x00here", 422), ("lone \ud800", 400)])
def test_text_no_database_stores_is_refused(client, people, title, status):
    """A NUL is valid JSON no database stores (422 on the field); a lone surrogate is not
    valid UTF-8 text at all, refused when the body is parsed (400 malformed_json)."""
    response = client.put(f"/api/v1/users/{next(ids)}", headers={
        **people.auth(people.coordinator), "Content-Type": "application/json"},
        content=json.dumps({"user": {"title": title, "role": "driver"}}))
    assert response.status_code == status
    problem = response.json()
    if status == 422:
        assert problem["errors"][0]["field"] == "title"
    else:
        assert problem["code"] == "malformed_json"


# --- the import command shares the rules ------------------------------------------------


def test_import_obeys_role_in_use_and_writes_nothing(client, people, db):
    from db.models import User

    book(client, people)
    renamed = {"id": people.other_interviewer.id, "title": "renamed", "role": "interviewer"}
    demoted = {"id": people.interviewer.id, "title": "t", "role": "driver"}
    with pytest.raises(PeopleFileError,
                       match=r"users\[1\]: cannot change the role.*active interviews"):
        import_people({"users": [renamed, demoted]})
    assert User.get_by_id(people.other_interviewer.id).title != "renamed"


def test_import_command_refuses_a_role_change_of_a_driver(tmp_path):
    env = {**os.environ, "INTERVIEWS_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
           "INTERVIEWS_JWT_SECRET": SECRET, "INTERVIEWS_ENV": "production"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "handlers.cli", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=False)

    assert run("migrate").returncode == 0 and run("people", "import", str(DEMO)).returncode == 0
    data = json.loads(DEMO.read_text())
    driver = next(u for u in data["users"] if u["id"] == 1012)
    driver["role"] = "interviewer"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    refused = run("people", "import", str(changed))
    assert refused.returncode == 1
    assert "driver of interviewees" in refused.stderr and "nothing was imported" in refused.stderr


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize("name, properties", [("UserUpsert", USER_PROPERTIES),
                                              ("IntervieweeUpsert", INTERVIEWEE_PROPERTIES)])
def test_people_file_and_spec_agree_on_bounds(name, properties):
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    schema = spec["components"]["schemas"][name]
    assert set(schema["properties"]) == set(properties)
    for field, ours in properties.items():
        theirs = resolve(spec, schema["properties"][field])
        for bound in ("minLength", "maxLength", "pattern", "enum", "minimum", "maximum"):
            assert theirs.get(bound) == ours.get(bound), (name, field, bound)
        assert theirs.get("nullable", False) == ("null" in ours.get("type", [])), (name, field)


# --- the queries are served by indexes ---------------------------------------------------


@pytest.mark.parametrize("q, after", [(None, None), ("vander", None), (None, ("Felipe", 5)),
                                      ("van", ("Felipe", 5))])
def test_interviewers_query_walks_the_role_title_index(people, db, q, after):
    from db.directory import interviewers_query
    from tests.helpers.plans import plan

    text = plan(db, interviewers_query(people.coordinator, q, after))
    assert "user_role_title" in text or "user_title_trgm" in text, text
    assert "TEMP B-TREE" not in text and "Seq Scan" not in text, text


@pytest.mark.parametrize("who, own", [("coordinator", True), ("driver", False), ("driver", True)])
def test_interviewees_query_uses_an_index(people, db, who, own):
    from db.directory import interviewees_query
    from tests.helpers.plans import plan

    driver_id = people.driver.id if own else None
    text = plan(db, interviewees_query(getattr(people, who), None, driver_id, 5))
    assert "interviewee_driver_id" in text, text
    assert "TEMP B-TREE" not in text and "Seq Scan on interviewee" not in text, text


def test_a_booking_waits_for_a_concurrent_change_of_role(client, people):
    """The role is checked again inside the booking's transaction, after the change commits."""
    from db.connection import write_transaction
    from db.models import database
    from db.people import save_user

    locked = threading.Event()

    def demote() -> None:
        try:
            with database.connection_context(), write_transaction():
                save_user(people.interviewer.id, {"title": "demoted", "role": "driver"})
                locked.set()
                time.sleep(1)  # the booking below starts meanwhile and must wait
        finally:
            locked.set()

    with ThreadPoolExecutor(1) as pool:
        demoted = pool.submit(demote)
        assert locked.wait(10)
        response = client.post("/api/v1/interviews", json=interview_body(people),
                               headers=people.auth(people.coordinator))
        demoted.result(timeout=10)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "interviewer_id"


def test_two_puts_creating_the_same_user_at_once_both_succeed(people):
    """The second waits for the first's insert, then updates (PostgreSQL: after a retry)."""
    from db.connection import write_transaction
    from db.models import User, database
    from db.people import put_user, save_user

    user_id, locked = next(ids), threading.Event()

    def create_first() -> None:
        try:
            with database.connection_context(), write_transaction():
                save_user(user_id, {"title": "first", "role": "driver"})
                locked.set()
                time.sleep(1)  # the second PUT starts meanwhile and must wait
        finally:
            locked.set()

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(create_first)
        assert locked.wait(10)
        with database.connection_context():
            user, created = put_user(people.coordinator, user_id,
                                     {"title": "second", "role": "driver"})
        first.result(timeout=10)
    assert (user.title, created) == ("second", False)
    with database.connection_context():
        assert User.get_by_id(user_id).title == "second"


@pytest.mark.parametrize("path", ["/api/v1/interviewers", "/api/v1/interviewees"])
def test_a_cursor_nested_past_the_parsers_depth_is_400(client, people, path):
    deep = base64.urlsafe_b64encode(b"[" * 1500).decode().rstrip("=")
    response = client.get(path, params={"cursor": deep}, headers=people.auth(people.coordinator))
    assert (response.status_code == 400
            and response.json()["code"] == "invalid_cursor"), response.text
