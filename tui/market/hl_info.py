"""Hyperliquid info requests over the websocket ``post`` method: the frames both ways.

One place for the protocol that ``perpdesk fetch`` (:class:`tui.market.fetch.HyperliquidCandles`,
``candleSnapshot`` and ``meta``) and the live source (:class:`tui.market.live.HyperliquidSource`,
``meta`` on connect) speak. A request is ``{"method": "post", "id": N, "request": {"type":
"info", "payload": {...}}}``; its answer arrives on the ``post`` channel with the same id, as
``{"response": {"type": "info", "payload": ...}}`` or ``{"response": {"type": "error",
"payload": "..."}}``. A server that cannot route the request answers on the ``error`` channel
instead, quoting the id (``... id=N``). Pure standard library: no network here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["NOT_OURS", "PostError", "clean_text", "info_data", "post_request", "read_answer"]

NOT_OURS: Any = object()
""":func:`read_answer`'s answer for a frame that does not answer the request (a price update,
another request's answer, something that is not JSON)."""


def clean_text(value: object, limit: int = 160) -> str:
    """Text from outside, fit to show: control characters escaped, at most ``limit`` chars."""
    text = value if isinstance(value, str) else repr(value)
    out: list[str] = []
    for ch in text[: limit + 1]:
        out.append(ch if ch.isprintable() else repr(ch)[1:-1])
    joined = "".join(out)
    return joined[:limit] + "…" if len(joined) > limit else joined


class PostError(Exception):
    """The server refused or could not answer a request. ``kind``: ``"rate_limited"`` (too
    many requests), ``"status"`` (an HTTP-style code in ``status``, the rest in ``text``),
    ``"error"`` (any other refusal) or ``"malformed"`` (an answer without a response).
    ``text`` is the server's words, made safe to show."""

    def __init__(
        self,
        kind: Literal["rate_limited", "status", "error", "malformed"],
        text: str,
        status: int | None = None,
    ) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.status = status


def post_request(request_id: int, payload: Mapping[str, Any]) -> str:
    """The frame that sends info request ``payload`` (e.g. ``{"type": "meta"}``)."""
    return json.dumps(
        {"method": "post", "id": request_id, "request": {"type": "info", "payload": payload}}
    )


def _limited(text: str) -> bool:
    lowered = text.lower()
    return "too many" in lowered or "rate limit" in lowered


def read_answer(raw: str | bytes | Mapping[str, Any], request_id: int) -> Any:
    """The ``payload`` answering request ``request_id``, or :data:`NOT_OURS`; raises
    :class:`PostError` when the server refused it. ``raw`` is the frame's text or its
    already-decoded JSON object."""
    if isinstance(raw, Mapping):
        msg: Any = raw
    else:
        try:
            msg = json.loads(raw)
        except ValueError:
            return NOT_OURS  # not JSON: not an answer to anything
    if not isinstance(msg, Mapping):
        return NOT_OURS
    channel, data = msg.get("channel"), msg.get("data")
    if channel == "error":
        text = clean_text(data, 160)
        lowered = text.lower()
        if "id=" in lowered and not lowered.rstrip().endswith(f"id={request_id}"):
            return NOT_OURS
        raise PostError("rate_limited" if _limited(text) else "error", text)
    if channel != "post" or not isinstance(data, Mapping) or data.get("id") != request_id:
        return NOT_OURS
    response = data.get("response")
    if not isinstance(response, Mapping):
        raise PostError("malformed", "an answer without a response")
    kind, payload = response.get("type"), response.get("payload")
    if kind == "error":
        text = clean_text(payload, 160)
        head = text.split(" ", 1)[0]
        if head.isdigit() and len(head) == 3:
            raise PostError("status", text[4:], int(head))
        raise PostError("rate_limited" if _limited(text) else "error", text)
    return payload


def info_data(payload: Any) -> Any:
    """The data of an info answer (Hyperliquid wraps it as ``{"type": ..., "data": ...}``)."""
    return payload.get("data") if isinstance(payload, Mapping) else payload
