"""Edge registration and API tokens (shared by the API and ``hallwatch server create-edge``)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import ID_PATTERN
from server.audit import audit
from server.db import Edge, Hall, utcnow
from server.mqtt_auth import mosquitto_hash
from server.security import edge_token_hash, new_edge_token


class EdgeError(ValueError):
    pass


def issue_edge_token(session: Session, hall_id: str, code: str, *, actor: str,
                     actor_id: int | None = None, token: str | None = None) -> tuple[Edge, str]:
    """Create the edge if needed and give it a new token (the old one stops working).

    ``token`` provisions a given secret instead of a generated one (deployments keep it in their secret store);
    provisioning the token an edge already has changes nothing.
    """
    if not re.fullmatch(ID_PATTERN, code) or not re.fullmatch(ID_PATTERN, hall_id):
        raise EdgeError(f"edge and hall ids are letters, digits, '_', '-', '.' (1-64, no spaces or controls): "
                        f"{hall_id!r}/{code!r}")
    if session.get(Hall, hall_id) is None:
        raise EdgeError(f"unknown hall {hall_id!r}; import its site config first")
    edge = session.scalars(select(Edge).filter_by(hall_id=hall_id, code=code)).first()
    if token is not None and len(token) < 16:
        raise EdgeError("an edge token needs at least 16 characters")
    if edge is not None and token is not None and edge.token_hash == edge_token_hash(token):
        return edge, token
    rotated = edge is not None and edge.token_hash is not None
    if edge is None:
        edge = Edge(hall_id=hall_id, code=code)
        session.add(edge)
    token = token or new_edge_token()
    edge.token_hash, edge.token_created_at = edge_token_hash(token), utcnow()
    edge.mqtt_password_hash = mosquitto_hash(token)
    session.flush()
    audit(session, actor=actor, user_id=actor_id, action="edge.token_rotate" if rotated else "edge.token_issue",
          entity_type="edge", entity_id=edge.id, after={"hall_id": hall_id, "code": code})
    return edge, token
