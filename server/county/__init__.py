"""The county view: halls grouped in a region tree (city → county → township), a ``county`` role bound to a
region that sees every hall under it, and the roll-up API (``server.county.routes``)."""
