"""Leedz API: multi-tenant lead generation backend."""

__version__ = "0.1.0"
