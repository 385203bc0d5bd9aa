"""The Socket.IO packet class of the gateway: standard packets, JSON through `fastjson`, and no
search for binary attachments in what the server sends.

python-socketio walks every outgoing payload (each ack carries a job) looking for `bytes` to
send as attachments; the gateway never sends bytes, so that walk is skipped
(`uses_binary_events = False`, as python-socketio's own msgpack packets do). Incoming packets
are decoded as before, binary ones included. A subclass, given as the server's `serializer`,
so that the library's own `Packet` (used by python-socketio clients in the same process) keeps
its defaults.
"""

from __future__ import annotations

import socketio.packet

from leedz.gateway import fastjson


class Packet(socketio.packet.Packet):  # type: ignore[misc]  # socketio is untyped
    uses_binary_events = False
    json = fastjson
