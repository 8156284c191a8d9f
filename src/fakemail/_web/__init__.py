"""The web room: an HTTP listener serving the web UI and HTTP APIs over the mail store.

Starlette for routing, hypercorn's trio worker to serve it on the trio thread that runs IMAP and
POP3 (:mod:`fakemail._web._host`). Only :class:`~fakemail.MailServer` imports this package, and
only when the ``http`` listener is on, so starlette and hypercorn cost nothing otherwise.

Every route module exposes ``routes(ctx) -> list[BaseRoute]`` given the
:class:`~fakemail._web._context.WebContext`; :mod:`fakemail._web._app` assembles them. Imports
point downward only: store, message model, options; never the server or the CLI.
"""
