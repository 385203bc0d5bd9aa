"""The Socket.IO packet class of the gateway: standard packets, JSON through `fastjson`, no search
for binary attachments in what the server sends, and a decoder that bounds what clients send.

Sending: python-socketio walks every outgoing payload (each ack carries a job) looking for `bytes`
to send as attachments; the gateway never sends bytes, so that walk is skipped
(`uses_binary_events = False`, as python-socketio's own msgpack packets do). A subclass, given as
the server's `serializer`, so that python-socketio's own `Packet` (used by its clients in the
same process) keeps its defaults. With Redis, emits published to other instances still go
through the library's own check in its pub/sub manager; acks and local emits skip it.

Receiving (issue 12: JSON nested past the recursion limit raised a RecursionError, a binary
placeholder pointing at no attachment left the socket deaf to everything after it, a packet
declaring 999,999 attachments swallowed every later message as one of them). The decoder here
reads the same wire format, `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`, and:

- an event whose data cannot be decoded — not JSON, nested deeper than `MAX_DEPTH`, not a list
  that starts with the event's name — still reaches its namespace, as a `Refusal` in place of
  its name: the namespace answers `validation_error` through the ack, and the socket goes on;
- the gateway takes no binary payloads: a binary event's attachments (at most
  `MAX_ATTACHMENTS`) are counted, not kept, and the event is refused like the above, whatever
  its placeholders say;
- anything that breaks the framing itself — an unknown packet type, an attachment count of 0
  or over the bound, a binary frame where none is due or a text frame where an attachment is
  due, undecodable data in a packet that is not an event — raises `ProtocolViolation`, and the
  server ends the connection (server.py), as Socket.IO's reference server does on a parse error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import socketio.packet
from socketio.packet import BINARY_ACK, BINARY_EVENT, CONNECT_ERROR, EVENT

from leedz.gateway import fastjson

# Dicts and lists inside a packet's data, the event's own list included. The deepest payload
# the gateway takes is an evidence item's rawData (8 levels) inside [name, {items: [{…}]}].
MAX_DEPTH = 32
# Attachments a binary packet may declare; they are refused, so this only bounds how many
# frames are read (and dropped) before the refusal.
MAX_ATTACHMENTS = 10
# python-socketio's own bound on an ack id's digits.
_MAX_ID_DIGITS = 100


class ProtocolViolation(ValueError):
    """A packet that breaks Socket.IO's framing: what follows cannot be trusted to be read right,
    so the connection ends."""


@dataclass(frozen=True)
class Refusal:
    """Stands for the name of an event whose data was refused: its namespace answers
    `validation_error` with `reason`."""

    reason: str


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True if dicts/lists nest more than `limit` levels. Iterative: no recursion to exhaust."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _digits(text: str, start: int) -> int:
    """Where the ASCII digits of `text` beginning at `start` end."""
    end = start
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    return end


class Packet(socketio.packet.Packet):  # type: ignore[misc]  # socketio is untyped
    uses_binary_events = False
    json = fastjson
    _attachments_seen = 0

    def decode(self, encoded_packet: object) -> int:
        """Read one packet; the number of binary attachments that follow it."""
        if not isinstance(encoded_packet, str):
            raise ProtocolViolation("a binary frame where no attachment was due")
        text = encoded_packet
        kind = text[:1]
        if not ("0" <= kind <= "6") or int(kind) == CONNECT_ERROR:
            raise ProtocolViolation("not a packet a client sends")
        self.packet_type = int(kind)
        self.namespace = None
        self.data = None
        position = 1
        attachments = 0
        if self.packet_type in (BINARY_EVENT, BINARY_ACK):
            end = _digits(text, position)
            if end == position or end - position > 2 or text[end : end + 1] != "-":
                raise ProtocolViolation("a binary packet without its attachment count")
            attachments = int(text[position:end])
            if not 1 <= attachments <= MAX_ATTACHMENTS:
                raise ProtocolViolation(f"a binary packet declares {attachments} attachments")
            position = end + 1
        if text[position : position + 1] == "/":
            comma = text.find(",", position)
            end = len(text) if comma == -1 else comma
            self.namespace = text[position:end].partition("?")[0]
            position = end + 1
        end = _digits(text, position)
        if end > position:
            if end - position > _MAX_ID_DIGITS:
                raise ProtocolViolation("an ack id too long")
            self.id = int(text[position:end])
            position = end
        self.data = self._data(text[position:]) if position < len(text) else None
        if self.packet_type in (EVENT, BINARY_EVENT) and not (
            isinstance(self.data, list) and self.data
        ):
            self.data = [Refusal("An event is a JSON list: [name, payload]")]
        return attachments

    def _data(self, text: str) -> Any:
        is_event = self.packet_type in (EVENT, BINARY_EVENT)
        try:
            data = self.json.loads(text)
        except (ValueError, RecursionError) as exc:
            if not is_event:
                raise ProtocolViolation("undecodable packet data") from exc
            return [Refusal("The event's data is not valid JSON (or nests beyond any limit)")]
        # Counting brackets is cheap; only data with more of them than the bound is walked.
        if text.count("[") + text.count("{") > MAX_DEPTH and _depth_exceeds(data, MAX_DEPTH):
            if not is_event:
                raise ProtocolViolation(f"packet data nests more than {MAX_DEPTH} levels")
            return [Refusal(f"The event's data nests more than {MAX_DEPTH} levels")]
        return data

    def add_attachment(self, attachment: object) -> bool:
        """Count one attachment of this binary packet; True once all of them arrived (its data is
        then the refusal: the gateway takes no binary payloads)."""
        if not isinstance(attachment, bytes):
            raise ProtocolViolation("a text frame where a binary attachment was due")
        self._attachments_seen += 1
        if self._attachments_seen < self.attachment_count:
            return False
        # A binary ack goes nowhere either: the server asks clients for no acks.
        if self.packet_type == BINARY_EVENT:
            self.data = [Refusal("Events take JSON payloads only, no binary attachments")]
        return True
