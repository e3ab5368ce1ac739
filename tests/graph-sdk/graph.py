"""Microsoft's Graph SDK pointed at Onramp, as an integrator's script does it.

The only change from a script written for Entra ID is the base URL (and a
token from Onramp's /token instead of azure-identity): the SDK's own request
adapter with its default middleware, no URL rewriting, no body tweaks.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient


class StaticTokenProvider(AccessTokenProvider):
    """Hands the SDK a client-credentials token from Onramp's /token."""

    def __init__(self, token: str):
        self._token = token
        self._hosts = AllowedHostsValidator(["localhost"])

    async def get_authorization_token(self, uri: str, additional_authentication_context=None) -> str:
        # The SDK asks for a token per request; only Onramp's host gets it.
        return self._token if self._hosts.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts


def graph_client(api_base: str, token: str) -> GraphServiceClient:
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticTokenProvider(token)))
    adapter.base_url = api_base
    return GraphServiceClient(request_adapter=adapter)


def config(query: Any = None, headers: dict[str, str] | None = None) -> RequestConfiguration:
    """A request configuration with query parameters and headers."""
    rc = RequestConfiguration(query_parameters=query)
    for name, value in (headers or {}).items():
        rc.headers.add(name, value)
    return rc


EVENTUAL = {"ConsistencyLevel": "eventual"}


class Raw:
    """Plain HTTP against the admin API, for what a script sends by hand."""

    def __init__(self, api_base: str, token: str | None):
        self.api = api_base
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(headers=headers, timeout=30)

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.api}{path}"

    def request(self, method: str, path: str, **kw) -> httpx.Response:
        return self.http.request(method, self.url(path), **kw)

    def get(self, path: str, **kw) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> httpx.Response:
        if body is not None:
            kw["json"] = body
        return self.request("POST", path, **kw)

    def patch(self, path: str, body: Any, **kw) -> httpx.Response:
        return self.request("PATCH", path, json=body, **kw)

    def put(self, path: str, body: Any, **kw) -> httpx.Response:
        return self.request("PUT", path, json=body, **kw)

    def delete(self, path: str, **kw) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def close(self) -> None:
        self.http.close()


def show(res: httpx.Response) -> str:
    return f"{res.request.method} {res.request.url} -> {res.status_code}: {res.text[:1500]}"


def tag() -> str:
    """A short random tag that keeps each test's users apart."""
    return uuid.uuid4().hex[:10]
