"""Storage of recorded marketing contacts and customers' contact preferences."""
