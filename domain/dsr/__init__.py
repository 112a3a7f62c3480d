"""Data-subject requests (GDPR Art. 15, 17, 18, 20, 21): export, erasure, restriction."""
