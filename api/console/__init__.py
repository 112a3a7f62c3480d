"""The privacy officer's console at /console: the request queue, corrections, the audit
log and its verification, and the analytics dashboard; every page acts through the API as
the signed-in member of staff."""
