"""Data-subject requests over HTTP: exports, the Art. 15 facts."""
