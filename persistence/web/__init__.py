"""Storage of the web pages' sign-in sessions."""
