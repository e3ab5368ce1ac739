"""Assertions shared by the tests: Graph's error envelope and resource shapes."""

from __future__ import annotations

import datetime as dt
from typing import Iterable

import httpx
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from graph import show

QUERY_CODES = ("Request_UnsupportedQuery", "Request_BadRequest")


def _codes(codes: str | Iterable[str]) -> tuple[str, ...]:
    return (codes,) if isinstance(codes, str) else tuple(codes)


def _names(message: str, mention) -> bool:
    if isinstance(mention, tuple):
        return any(m in message for m in mention)
    return mention in message


def assert_graph_error(res: httpx.Response, status: int, codes: str | Iterable[str], *mentions) -> dict:
    """`res` is Graph's error envelope with `status`, one of `codes`, and a
    message naming each of `mentions` (a tuple: any one of its strings).
    Returns the `error` object."""
    assert res.status_code == status, show(res)
    ctype = res.headers.get("content-type", "")
    assert ctype.startswith("application/json"), f"error content type {ctype!r}: {show(res)}"
    try:
        body = res.json()
    except ValueError as e:
        raise AssertionError(f"error body is not JSON: {show(res)}") from e
    assert isinstance(body, dict) and list(body) == ["error"], (
        f"Graph's envelope is exactly {{\"error\": {{...}}}}: {show(res)}"
    )
    err = body["error"]
    assert err.get("code") in _codes(codes), f"code {err.get('code')!r}, want {codes}: {show(res)}"
    message = err.get("message")
    assert isinstance(message, str) and message.strip(), f"no message: {show(res)}"
    for m in mentions:
        assert _names(message, m), f"the message should name {m!r}: {message!r} ({show(res)})"
    assert_inner_error(res, err)
    return err


def assert_inner_error(res: httpx.Response, err: dict) -> None:
    inner = err.get("innerError")
    assert isinstance(inner, dict), f"no innerError: {err}"
    request_id = res.headers.get("request-id")
    assert request_id, f"no request-id response header: {dict(res.headers)}"
    assert inner.get("request-id") == request_id, f"innerError.request-id {inner} vs header {request_id}"
    sent = res.request.headers.get("client-request-id")
    if sent:
        assert inner.get("client-request-id") == sent, f"client-request-id not echoed in {inner}"
        assert res.headers.get("client-request-id") == sent, "client-request-id header not echoed"
    date = inner.get("date")
    assert isinstance(date, str), f"innerError.date {date!r}"
    when = dt.datetime.fromisoformat(date.replace("Z", "+00:00"))
    if when.tzinfo is None:  # Graph writes UTC without an offset
        when = when.replace(tzinfo=dt.timezone.utc)
    now = dt.datetime.now(dt.timezone.utc)
    assert abs((now - when).total_seconds()) < 600, f"innerError.date {date} is not now ({now})"


def assert_sdk_error(e: BaseException, status: int, codes: str | Iterable[str], *mentions) -> ODataError:
    """The SDK raised ODataError carrying our status, code and message."""
    assert isinstance(e, ODataError), f"the SDK raised {type(e).__name__}: {e!r}"
    assert e.response_status_code == status, f"status {e.response_status_code}, want {status}"
    assert e.error is not None, "ODataError.error is empty: the body was not Graph's envelope"
    assert e.error.code in _codes(codes), f"ODataError.error.code {e.error.code!r}, want {codes}"
    assert e.error.message, "ODataError.error.message is empty"
    for m in mentions:
        assert _names(e.error.message, m), f"the message should name {m!r}: {e.error.message!r}"
    assert e.error.inner_error is not None, "ODataError.error.inner_error is empty"
    assert e.error.inner_error.request_id, "innerError.request-id is empty"
    return e


def odata_type(item: dict, expected: str) -> None:
    assert item.get("@odata.type") == expected, f"@odata.type {item.get('@odata.type')!r}, want {expected!r}: {item}"


def odata_time(when: dt.datetime) -> str:
    """An OData DateTimeOffset literal (UTC, seconds)."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
