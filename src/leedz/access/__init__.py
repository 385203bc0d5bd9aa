"""Who may do what: roles, permissions and the verified request context.

The lowest feature-facing package: it depends on `kit/` alone, and every feature builds on it.
"""
