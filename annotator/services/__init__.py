"""Services: the only place ORM rows become core records and back.

Each function takes the session as its first argument and never commits;
the web view or CLI command that calls it owns the transaction.
"""
