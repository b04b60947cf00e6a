"""Token records and the revocation deny-list."""

from __future__ import annotations

from relay.store import models


async def revoked_jtis() -> list[str]:
    return [str(jti) for jti in await models.TokenRevocation.all().values_list("jti", flat=True)]
