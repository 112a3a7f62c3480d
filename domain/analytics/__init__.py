"""Customer intelligence from a consent-filtered, pseudonymous projection."""
