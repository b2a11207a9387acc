"""What each attempt sends: which requests may go out twice, and a fresh request per hedge.

Replay. A request is sent more than once only if every attempt can send the
same bytes at the same time. aiohttp turns every body into a payload object;
:class:`aiohttp.payload.BytesPayload` and its subclasses (``bytes``,
``str``, ``json=``, a url-encoded form, an ``io.StringIO`` read up front)
hold their bytes and write them again on every send, so they replay; so does
a multipart body made only of such parts. File objects, async iterables,
stream readers and any other payload read from a source as they are sent:
two concurrent attempts would split the source between them, so such a
request is never hedged. Neither are protocol upgrades (``ws_connect``: two
WebSockets), ``Expect: 100-continue`` uploads, and requests that report
their upload progress (one tracker describes one upload).

Cloning. aiohttp hands the middleware one :class:`~aiohttp.ClientRequest`,
and sending it records per-send state on it (the response, the body-writer
task) and edits its headers, so concurrent attempts must not share it. The
primary sends the original; each hedge sends a shallow copy with its own
headers (where the attempt header goes) and none of the per-send state.
Bodies are shared, which is safe for exactly the payloads above. A copy
also gets its own no-op timer: aiohttp's total-timeout timer tracks the
tasks that enter it in a stack and expects each task to leave it in order,
which concurrent attempts in other tasks would break. The total timeout
still bounds hedges, because it cancels the caller's task and the race
engine then cancels every attempt.

Costs: the replay check is a few attribute reads per request; a copy is made
only when a hedge is actually sent.
"""

from __future__ import annotations

import copy

from aiohttp import ClientRequest, MultipartWriter, hdrs, payload
from aiohttp.helpers import TimerNoop
from multidict import CIMultiDict

__all__ = ["clone_request", "is_replayable"]

# Instance attributes ClientRequest.send() sets on the request it sends
# ("_ClientRequest__writer" is the name-mangled body-writer task); a copy
# drops them and falls back to the class defaults (None).
_PER_SEND_STATE = ("response", "_ClientRequest__writer")


def _replayable_body(body: object) -> bool:
    if isinstance(body, payload.BytesPayload):
        return True
    if isinstance(body, MultipartWriter):
        return all(_replayable_body(part) for part, _encoding, _transfer in body)
    return False


def is_replayable(request: ClientRequest) -> bool:
    """Whether ``request`` may be sent by several attempts at once (see the module docstring)."""
    body = request.body
    if body and not _replayable_body(body):
        return False
    headers = request.headers
    if hdrs.UPGRADE in headers or headers.get(hdrs.EXPECT, "").lower() == "100-continue":
        return False
    # aiohttp 3.14+: an UploadTracker follows the progress of one upload.
    return getattr(request, "_upload_tracker", None) is None


def clone_request(request: ClientRequest, index: int, attempt_header: str | None) -> ClientRequest:
    """A copy of ``request`` for hedge number ``index``, ready to be sent alongside it."""
    clone = copy.copy(request)
    state = vars(clone)
    for name in _PER_SEND_STATE:
        state.pop(name, None)
    headers = CIMultiDict(request.headers)
    if attempt_header is not None:
        headers[attempt_header] = str(index)
    clone.headers = headers
    clone._timer = TimerNoop()
    return clone
