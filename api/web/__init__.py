"""What the portal (/portal) and the console (/console) share: templates, static files,
translations, the security headers, CSRF tokens, the sign-in sessions and the in-process
client of the API that every page acts through."""
