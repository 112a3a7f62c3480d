"""Support staff's reads of a customer's data, each for a stated purpose and ticket."""
