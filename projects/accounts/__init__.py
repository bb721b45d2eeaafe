"""People's accounts: the role groups, a user's role, and the account-opened mail that lets a new user set a password."""
