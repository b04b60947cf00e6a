"""The store: tortoise-orm models and one query module per aggregate, run on one thread.

Others use ``StoreThread`` (``run`` a read, ``write`` / ``submit_write`` a group-committed
write) and the query modules (``relay.store.agents``, ``.orchestrators``, ``.commands``,
``.workspaces``, ``.config``, ``.tokens``, ``.activity``, ``.stream``, ``.maintenance``,
``.memory``, ``.stats``), which take and return the frozen dataclasses of ``relay.domain``: nothing
above the store sees an ORM object. The store imports nothing above ``relay.domain``.
"""

from relay.store.thread import StoreThread

__all__ = ["StoreThread"]
