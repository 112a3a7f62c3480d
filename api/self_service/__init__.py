"""Customer self-service routes: /v1/me/... and the officer's correction decision."""

TAG = "self-service"
"""The OpenAPI tag of every self-service route."""
