"""Who calls the API: a machine with a knox token (hashed, with an expiry), or a browser's session."""

from knox.auth import TokenAuthentication


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <token>`. An expired token is refused (and removed); a revoked one is gone."""
