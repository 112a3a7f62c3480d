"""The audit log's Merkle tree over HTTP.

GET /v1/me/access-log/{event_id}/proof (access-log:read): an inclusion proof of one of my
access-log entries against the newest signed tree head.
GET /v1/privacy/audit/tree-heads (audit:read): the signed tree heads, newest first.
GET /v1/privacy/audit/consistency?first=N&second=M (audit:read): a consistency proof.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from api.audit.controllers import ACCESS_LOG_TAG, AUDIT_TAG
from api.audit.tree_dtos import (
    ConsistencyProof,
    InclusionProof,
    TreeHeadPage,
    consistency_proof_out,
    inclusion_proof_out,
    tree_head_out,
)
from api.middleware import request_id_of
from api.routes import Cursor, Limit, problems
from domain.audit.proofs import (
    TreeUnitOfWork,
    list_tree_heads,
    prove_access_log_entry,
    prove_consistency,
)
from domain.identity import Caller

# 2**53: the largest bound a JSON Schema number states exactly (and far above any log).
TreeSize = Annotated[int, QueryParameter(ge=1, le=2**53, description="A signed tree size")]


@get(
    "/v1/me/access-log/{event_id:str}/proof",
    operation_id="getMyAccessLogProof",
    tags=[ACCESS_LOG_TAG],
    opt={"scopes": ("access-log:read",)},
    security=[{"oauth2": ["access-log:read"]}],
    responses=problems(
        400,
        404,
        409,
        worded={409: "No signed tree head covers the entry yet; retry after `Retry-After`"},
    ),
    summary="Proof that one of my access-log entries is in the audited log",
)
async def get_access_log_proof(
    *,
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    tree_units: NamedDependency[Callable[[], TreeUnitOfWork]],
    event_id: FromPath[str],
) -> InclusionProof:
    """The entry's bytes, leaf hash and audit path to the newest signed tree head; 404 for
    someone else's entry, 409 while no signed head covers it yet."""
    event, proof = await prove_access_log_entry(
        tree_units(),
        caller.customer_id,
        event_id,
        caller.as_actor(),
        request_id_of(request.scope),
    )
    return inclusion_proof_out(event, proof)


@get(
    "/v1/privacy/audit/tree-heads",
    operation_id="listAuditTreeHeads",
    tags=[AUDIT_TAG],
    opt={"scopes": ("audit:read",)},
    security=[{"oauth2": ["audit:read"]}],
    responses=problems(400),
    summary="The audit log's signed Merkle tree heads, newest first",
)
async def get_tree_heads(
    *,
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    tree_units: NamedDependency[Callable[[], TreeUnitOfWork]],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> TreeHeadPage:
    """One page of signed tree heads (to witness, or to ask consistency proofs between)."""
    page = await list_tree_heads(
        tree_units(),
        caller.as_actor(),
        cursor=cursor,
        limit=limit,
        request_id=request_id_of(request.scope),
    )
    return TreeHeadPage([tree_head_out(head) for head in page.items], page.next_cursor)


@get(
    "/v1/privacy/audit/consistency",
    operation_id="getAuditConsistencyProof",
    tags=[AUDIT_TAG],
    opt={"scopes": ("audit:read",)},
    security=[{"oauth2": ["audit:read"]}],
    responses=problems(400, 404, 422),
    summary="Proof that the signed tree of `first` events is a prefix of that of `second`",
)
async def get_consistency(
    *,
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    tree_units: NamedDependency[Callable[[], TreeUnitOfWork]],
    first: TreeSize,
    second: TreeSize,
) -> ConsistencyProof:
    """Both signed heads and the proof; 404 when either size has no signed head."""
    proof = await prove_consistency(
        tree_units(), caller.as_actor(), first, second, request_id_of(request.scope)
    )
    return consistency_proof_out(proof)


TREE_HANDLERS = [get_access_log_proof, get_tree_heads, get_consistency]
"""Registered with the other audit routes (api/audit/routes.py)."""
