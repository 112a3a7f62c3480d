"""The customer portal at /portal: pages that act as the signed-in customer through the
API, so every rule and every audit event is the API's own."""
