"""Campaign coordination: one contact policy that every campaign asks."""
