"""The people's pages, rendered on the server: an annotator's own page (``/me``) and the
manager's (``/manager``), with the transparency report as HTML and CSV.

The figures come from the workspace (:mod:`hitl_active.team.team_skill`,
:mod:`hitl_active.team.team_work`, the training track); these modules turn them into plain
values and charts, and the templates (:mod:`hitl_active.templates`, ``pages/``) lay them out
as plain HTML and CSS with inline charts, readable on a phone, with no script.
"""

from hitl_active.server.pages.keys import hash_page_key, new_page_key, page_person

__all__ = ["hash_page_key", "new_page_key", "page_person"]
