"""The worker of server-run jobs (IMPORT, EXPORT, BULK_*): a composer over the features whose
handlers it runs (handlers.py) under the same leases as agent jobs (docs/worker.md)."""
