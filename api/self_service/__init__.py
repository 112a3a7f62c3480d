"""Customer self-service routes: /v1/me/... and the officer's correction decision."""
