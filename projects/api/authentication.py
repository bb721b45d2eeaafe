"""Who calls the API: a machine with a knox token (hashed, with an expiry), or a browser's session."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <token>`. An expired token is refused (and removed); a revoked one is gone."""


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The token in the schema, so that Swagger's Authorize and generated clients can use it."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
