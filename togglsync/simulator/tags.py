"""Tag rules: unique non-blank names; deleting strips tags from entries without touching their `at`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import shapes
from . import validate as check
from .model import SimError, Tag
from .store import Store, locked

PER_PAGE_MAX = 200


class TagRules(Store):
    # -- reads ----------------------------------------------------------

    @locked
    def list_tags(
        self, user_id: int, workspace_id: int, *, page: Any = None, per_page: Any = None
    ) -> list[dict[str, Any]]:
        """GET /workspaces/{wid}/tags: every live tag by name; paged only when asked to."""
        self.user_workspace(user_id, workspace_id)
        found = sorted(
            (t for t in self.tags.values() if t.workspace_id == workspace_id and t.server_deleted_at is None),
            key=lambda t: (t.name.casefold(), t.id),
        )
        if page is not None or per_page is not None:
            page_number = check.integer(page if page is not None else 1, "page")
            size = check.integer(per_page if per_page is not None else PER_PAGE_MAX, "per_page")
            if page_number < 1 or not 1 <= size <= PER_PAGE_MAX:
                raise check.bad(f"'page' must be 1 or more and 'per_page' between 1 and {PER_PAGE_MAX}")
            found = found[(page_number - 1) * size : page_number * size]
        return [shapes.tag(t) for t in found]

    @locked
    def my_tags(self, user_id: int, *, since: Any = None) -> list[dict[str, Any]]:
        cutoff = check.since(since, now=self.clock.now()) if since is not None else None
        workspace_ids = set(self.workspace_ids_of(user_id))
        found = [
            tag
            for tag in self.tags.values()
            if tag.workspace_id in workspace_ids
            and (tag.at >= cutoff if cutoff is not None else tag.server_deleted_at is None)
        ]
        return [shapes.tag(t) for t in sorted(found, key=lambda t: t.id)]

    # -- writes ---------------------------------------------------------

    @locked
    def create_tag(self, user_id: int, workspace_id: int, body: Any) -> dict[str, Any]:
        self.user_workspace(user_id, workspace_id)
        name = self._valid_tag_name(workspace_id, check.body_object(body).get("name"), tag_id=None)
        return shapes.tag(self._insert_tag(workspace_id, name, user_id=user_id))

    @locked
    def update_tag(self, user_id: int, workspace_id: int, tag_id: int, body: Any) -> dict[str, Any]:
        """Rename a tag; entries show the new name without a new `at`."""
        tag = self._user_tag(user_id, workspace_id, tag_id)
        tag.name = self._valid_tag_name(workspace_id, check.body_object(body).get("name"), tag_id=tag_id)
        tag.at = self.stamp()
        return shapes.tag(tag)

    @locked
    def delete_tag(self, user_id: int, workspace_id: int, tag_id: int) -> None:
        tag = self._user_tag(user_id, workspace_id, tag_id)
        # Toggl strips the tag from entries but leaves their `at` alone: an
        # incremental pull will not show the change (toggl-api.md).
        for entry in self.entries.values():
            if tag_id in entry.tag_ids:
                entry.tag_ids = [t for t in entry.tag_ids if t != tag_id]
        tag.at = self.stamp()
        tag.server_deleted_at = tag.at

    # -- helpers (also used by time entries) ----------------------------

    @locked
    def add_tag_record(self, workspace_id: int, name: str, creator_id: int, *, at: datetime | None = None) -> Tag:
        """Back door for seeding: store a tag as given, no rules."""
        tag = Tag(id=self.new_id("tag"), workspace_id=workspace_id, name=name, creator_id=creator_id, at=at or self.stamp())
        self.note_at(tag.at)
        self.tags[tag.id] = tag
        return tag


    def _user_tag(self, user_id: int, workspace_id: int, tag_id: int) -> Tag:
        self.user_workspace(user_id, workspace_id)
        tag = self.tags.get(tag_id)
        if tag is None or tag.workspace_id != workspace_id or tag.server_deleted_at is not None:
            raise SimError(404, "Tag was not found")
        return tag

    def _valid_tag_name(self, workspace_id: int, value: Any, *, tag_id: int | None) -> str:
        name = check.optional_text(value, "name")
        if not name or not name.strip():
            raise check.bad("tag name can't be blank")
        name = name.strip()
        existing = self._live_tag_named(workspace_id, name)
        if existing is not None and existing.id != tag_id:
            raise check.bad(f"a tag with the name '{name}' already exists")
        return name

    def _live_tag_named(self, workspace_id: int, name: str) -> Tag | None:
        wanted = name.strip().casefold()
        for tag in self.tags.values():
            if tag.workspace_id == workspace_id and tag.server_deleted_at is None and tag.name.casefold() == wanted:
                return tag
        return None

    def _insert_tag(self, workspace_id: int, name: str, *, user_id: int) -> Tag:
        tag = Tag(id=self.new_id("tag"), workspace_id=workspace_id, name=name, creator_id=user_id, at=self.stamp())
        self.tags[tag.id] = tag
        return tag

    def _tag_ids_for_names(self, workspace_id: int, names: list[str], *, user_id: int, create: bool) -> list[int]:
        """Tag names -> ids; unknown names become new tags when `create` (entry writes)."""
        ids = []
        for name in names:
            if not name.strip():
                raise check.bad("tag name can't be blank")
            tag = self._live_tag_named(workspace_id, name)
            if tag is None and create:
                tag = self._insert_tag(workspace_id, name.strip(), user_id=user_id)
            if tag is not None and tag.id not in ids:
                ids.append(tag.id)
        return ids

    def _check_tag_ids(self, workspace_id: int, tag_ids: list[int]) -> list[int]:
        for tag_id in tag_ids:
            tag = self.tags.get(tag_id)
            if tag is None or tag.workspace_id != workspace_id or tag.server_deleted_at is not None:
                raise check.bad(f"Tag with ID {tag_id} does not exist in workspace {workspace_id}")
        return list(dict.fromkeys(tag_ids))
