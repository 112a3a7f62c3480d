"""Customer access log and the privacy officer's audit routes."""
