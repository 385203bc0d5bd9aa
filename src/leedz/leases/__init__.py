"""Leases: how agents claim jobs, report on them and let go of them (docs/agent-protocol.md)."""
