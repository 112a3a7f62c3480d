"""Data-subject requests over HTTP: exports, erasure, restriction, the Art. 15 facts, and the
privacy officer's queue."""

TAG = "data-subject-requests"
"""The OpenAPI tag of every data-subject request route."""
