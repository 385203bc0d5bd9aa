"""Glue with no business rules: database, repositories, pagination, logging, errors plumbing."""
