"""Imports: reading CSV/XLSX files (reader, mapping) and the IMPORT job built on them."""
