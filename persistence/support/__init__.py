"""Storage for support access: officer-approved access grants (break-glass)."""
