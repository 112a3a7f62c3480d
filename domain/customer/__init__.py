"""The customer's data: the customer aggregate and profile, accounts and transactions,
interactions, correction requests, and the access rule every feature applies to them.
"""
