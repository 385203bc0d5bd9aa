"""The trash purge: leads deleted longer ago than the retention are deleted for good."""
