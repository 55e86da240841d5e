"""The OAuth 2.0 authorization server (authlib): tenant users, clients, codes and tokens."""
