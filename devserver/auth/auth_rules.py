"""AppSync's multi-auth rules, read from the directives in schema.graphql (never restated in code).

A field's directives win over its type's; with neither, only the API's default mode may access it.
The rules apply to every field resolved - nested return types included - exactly as AppSync checks
them on queries, mutations and each subscription event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import DirectiveNode, GraphQLObjectType, build_schema

from jobcore.auth import AuthMode
from jobcore.contract import contract_sdl

DIRECTIVE_MODES: Mapping[str, AuthMode] = {
    "aws_api_key": AuthMode.API_KEY,
    "aws_iam": AuthMode.AWS_IAM,
    "aws_cognito_user_pools": AuthMode.AMAZON_COGNITO_USER_POOLS,
    "aws_oidc": AuthMode.OPENID_CONNECT,
}


def _modes(directives: tuple[DirectiveNode, ...] | list[DirectiveNode]) -> frozenset[AuthMode]:
    return frozenset(DIRECTIVE_MODES[d.name.value] for d in directives if d.name.value in DIRECTIVE_MODES)


@dataclass(frozen=True)
class AuthRules:
    default_mode: AuthMode
    #: (type name, field name) -> modes allowed to resolve it.
    allowed: Mapping[tuple[str, str], frozenset[AuthMode]]

    def permits(self, mode: AuthMode, type_name: str, field_name: str) -> bool:
        modes = self.allowed.get((type_name, field_name))
        if modes is None:  # introspection and anything the contract does not name
            return mode is self.default_mode or type_name.startswith("__") or field_name.startswith("__")
        return mode in modes

    @classmethod
    def from_contract(cls, sdl: str | None = None, default_mode: AuthMode = AuthMode.API_KEY) -> AuthRules:
        schema = build_schema(sdl or contract_sdl())
        allowed: dict[tuple[str, str], frozenset[AuthMode]] = {}
        for type_name, gql_type in schema.type_map.items():
            if type_name.startswith("__") or not isinstance(gql_type, GraphQLObjectType):
                continue
            type_modes = _modes(list(gql_type.ast_node.directives or ())) if gql_type.ast_node else frozenset()
            for field_name, field in gql_type.fields.items():
                field_modes = _modes(list(field.ast_node.directives or ())) if field.ast_node else frozenset()
                allowed[(type_name, field_name)] = field_modes or type_modes or frozenset({default_mode})
        return cls(default_mode, allowed)
