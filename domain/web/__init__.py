"""The web pages' sign-in sessions (the portal and the console)."""
