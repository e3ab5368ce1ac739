"""Fixtures: one onramp per store (embedded, Redis) for the session, Graph SDK
clients and raw HTTP clients with client-credentials tokens.

Every test runs once per store: `test_x[embedded]` and `test_x[redis]`.
GRAPH_SDK_STORES=embedded (or redis) narrows that while you work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from graph import Raw, graph_client, show, tag
from harness import (
    ADMIN_CLIENT,
    ADMIN_SECRET,
    BOOTSTRAP_ADMIN,
    READER_CLIENT,
    READER_SECRET,
    Onramp,
    Redis,
)

STORES = [s.strip() for s in os.environ.get("GRAPH_SDK_STORES", "embedded,redis").split(",") if s.strip()]
for _s in STORES:
    if _s not in ("embedded", "redis"):
        raise pytest.UsageError(f"GRAPH_SDK_STORES: unknown store {_s!r} (embedded, redis)")


@pytest.fixture(scope="session", params=STORES)
def onramp(request, tmp_path_factory):
    store = request.param
    workdir: Path = tmp_path_factory.mktemp(f"onramp-{store}")
    redis = None
    server = None
    failure = None
    try:
        if store == "redis":
            redis = Redis(workdir)
            redis.start()
            url = redis.url
        else:
            url = f"embedded:{workdir / 'onramp.redb'}"
        server = Onramp(workdir, url, store)
        server.start()
    except RuntimeError as e:
        failure = str(e)
    if failure:
        if server:
            server.stop()
        if redis:
            redis.stop()
        pytest.fail(failure, pytrace=False)
    yield server
    server.stop()
    if redis:
        redis.stop()


@pytest.fixture(scope="session")
def admin_token(onramp) -> str:
    return onramp.token(ADMIN_CLIENT, ADMIN_SECRET)


@pytest.fixture(scope="session")
def reader_token(onramp) -> str:
    return onramp.token(READER_CLIENT, READER_SECRET)


@pytest.fixture(scope="session")
def api(onramp) -> str:
    """The base URL a script points the SDK at."""
    return onramp.api


@pytest.fixture(scope="session")
def graph(onramp, admin_token):
    """GraphServiceClient with every permission the tests need."""
    return graph_client(onramp.api, admin_token)


@pytest.fixture(scope="session")
def graph_reader(onramp, reader_token):
    """GraphServiceClient of a client with User.ReadWrite.All only."""
    return graph_client(onramp.api, reader_token)


@pytest.fixture(scope="session")
def raw(onramp, admin_token):
    client = Raw(onramp.api, admin_token)
    yield client
    client.close()


@pytest.fixture(scope="session")
def raw_reader(onramp, reader_token):
    client = Raw(onramp.api, reader_token)
    yield client
    client.close()


@pytest.fixture(scope="session")
def raw_anonymous(onramp):
    client = Raw(onramp.api, None)
    yield client
    client.close()


@pytest.fixture(scope="session")
def bootstrap_admin(raw) -> dict:
    """The Global Administrator that onramp created at its first start."""
    res = raw.get(f"/users/{BOOTSTRAP_ADMIN}")
    assert res.status_code == 200, show(res)
    return res.json()


@pytest.fixture
def new_user(raw) -> Callable[..., dict]:
    """Creates a user with the properties Graph requires (and `extra`)
    through plain HTTP, for tests whose subject is not user creation."""

    def make(name: str | None = None, **extra) -> dict:
        t = tag()
        nick = (name or "user") + "." + t
        body = {
            "accountEnabled": True,
            "displayName": f"{(name or 'Test user').title()} {t}",
            "mailNickname": nick,
            "userPrincipalName": f"{nick}@example.com",
            **extra,
        }
        res = raw.post("/users", body)
        assert res.status_code == 201, show(res)
        return res.json()

    return make


@pytest.fixture(autouse=True)
def server_stays_up(request):
    """No request may bring onramp down (a panic, an abort)."""
    yield
    if "onramp" in request.fixturenames:
        server = request.getfixturevalue("onramp")
        if server.proc is not None and server.proc.poll() is not None:
            pytest.fail(f"onramp ({server.store}) died with {server.proc.returncode}:\n{server.output()}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """An SDK exception's str() is only "ODataError (status 400)": show the
    code and message it carries (or that the body was not Graph's envelope)."""
    report = yield
    excinfo = call.excinfo
    if excinfo is not None:
        from kiota_abstractions.api_error import APIError

        err = excinfo.value
        if isinstance(err, APIError):
            main = getattr(err, "error", None)
            text = [f"{type(err).__name__}: status {err.response_status_code}"]
            if main is not None and (main.code or main.message):
                text.append(f"error.code = {main.code!r}")
                text.append(f"error.message = {main.message!r}")
            else:
                text.append("the body was not Graph's error envelope {\"error\": {\"code\", \"message\", ...}}")
            report.sections.append(("Graph SDK error", "\n".join(text)))
    return report
