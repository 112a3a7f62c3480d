"""Delivery: the Litestar app, the OAuth server adapter and the command line."""

__version__ = "0.1.0"
