"""Tables and repositories of the customer's data: customers and profiles, accounts and
transactions, interactions, correction requests.
"""
