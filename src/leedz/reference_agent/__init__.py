"""The reference agent: a runnable client of the `/agent` Socket.IO protocol (`leedz agent`).

It shows an extension developer every part of docs/agent-protocol.md working end to end:
handshake with `inFlight`, claims on `job:available`, progress, evidence, completion, cancel,
heartbeats that extend leases, and reconnecting with jittered exponential backoff. The work it
does is simulated, built deterministically from each job's input.
"""
