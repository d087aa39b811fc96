"""Frame envelope and the mapping of frame types to body structs."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from opsplane.protocol.commands import Command, Result
from opsplane.protocol.files import FileBatch
from opsplane.protocol.session import Heartbeat, Hello, Refuse, Welcome
from opsplane.protocol.telemetry import Ack, EventBatch, MetricBatch


class Frame(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    type: str
    id: str | None = None
    body: msgspec.Raw = msgspec.Raw(b"{}")


BODY_TYPES: Final[dict[str, type[msgspec.Struct]]] = {
    # agent -> server
    "hello": Hello,
    "heartbeat": Heartbeat,
    "metrics": MetricBatch,
    "events": EventBatch,
    "files": FileBatch,
    "result": Result,
    # server -> agent
    "welcome": Welcome,
    "refuse": Refuse,
    "command": Command,
    "ack": Ack,
}

_encoder = msgspec.json.Encoder()
_frame_decoder = msgspec.json.Decoder(Frame)
_body_decoders = {name: msgspec.json.Decoder(cls) for name, cls in BODY_TYPES.items()}


class ProtocolError(ValueError):
    """A frame that cannot be decoded; the message is safe to send back to the peer."""


def encode(frame_type: str, body: msgspec.Struct, *, frame_id: str | None = None) -> bytes:
    """Encode a frame whose body is one of `BODY_TYPES[frame_type]`."""
    expected = BODY_TYPES[frame_type]
    if not isinstance(body, expected):
        raise TypeError(f"frame {frame_type!r} needs a {expected.__name__} body")
    return _encoder.encode(Frame(frame_type, frame_id, msgspec.Raw(_encoder.encode(body))))


def decode(data: bytes | str) -> tuple[Frame, Any]:
    """Decode a frame and its body; raises ProtocolError with a clear message on bad input."""
    try:
        frame = _frame_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"malformed frame: {exc}") from None
    decoder = _body_decoders.get(frame.type)
    if decoder is None:
        raise ProtocolError(f"unknown frame type {frame.type!r}")
    try:
        return frame, decoder.decode(frame.body)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"bad {frame.type} body: {exc}") from None


def to_builtins(body: msgspec.Struct) -> Any:
    """Plain dict/list form of a body (for JSON APIs and the database)."""
    return msgspec.to_builtins(body)


def convert(value: Any, cls: type[Any]) -> Any:
    """Build a body struct from plain data (the inverse of `to_builtins`)."""
    return msgspec.convert(value, cls)
