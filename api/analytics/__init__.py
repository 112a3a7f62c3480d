"""The analyst's API: aggregates of the consent-filtered, pseudonymous projection."""
