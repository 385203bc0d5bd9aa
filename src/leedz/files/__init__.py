"""Stored files (uploads, exports, import reports) and the storage behind them."""
