"""The Socket.IO packet class of the gateway: standard packets, JSON through `fastjson`, and no
search for binary attachments in what the server sends.

python-socketio walks every outgoing payload (each ack carries a job) looking for `bytes` to
send as attachments; the gateway never sends bytes, so that walk is skipped
(`uses_binary_events = False`, as python-socketio's own msgpack packets do). Incoming packets
are decoded as before, binary ones included. A subclass, given as the server's `serializer`,
so that python-socketio's own `Packet` (used by its clients in the same process) keeps its
defaults. With Redis, emits published to other instances still go through the library's own
check in its pub/sub manager; acks and local emits skip it.
"""

from __future__ import annotations

import socketio.packet

from leedz.gateway import fastjson


class Packet(socketio.packet.Packet):  # type: ignore[misc]  # socketio is untyped
    uses_binary_events = False
    json = fastjson
