"""Support staff's purpose-bound reads of a customer's data: /v1/support/customers/{id}."""
