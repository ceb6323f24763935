"""The competencies part of the authorisation policy: what each of its named URLs
answers to whom (``POLICY``) and the body of each URL's POST (``POST_DATA``). Its URLs:
rating scales, the competency library and its categories, and competency sets. The
language of the table is ``tests/authz/policy.py``."""

from __future__ import annotations

from tests.authz.policy import (
    FOREIGN,
    GET,
    HR_ONLY,
    HR_ONLY_GET,
    MEMBERS,
    NOBODY_FINDS_IT,
    NONE,
    OWN,
    POST,
    POST_ONLY,
    UrlPolicy,
    hr_only_object,
)
from tests.authz.world import PostBody


def _scale_data(name: str) -> dict[str, str]:
    """A whole-point 1-5 scale with a label and a description for every point."""
    data = {"name": name, "min_value": "1", "max_value": "5", "step": "1"}
    for point in range(1, 6):
        data[f"label_{point}"] = f"Level {point}"
        data[f"description_{point}"] = f"What level {point} means"
    return data


POLICY: dict[str, UrlPolicy] = {
    # --- /o/<org_slug>/ competencies: rating scales, the library, competency sets --------
    "competencies:scales": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY_GET},
    ),
    "competencies:scale_create": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "competencies:scale_edit": UrlPolicy(
        target_kind="scale", rows=hr_only_object(), writes=True
    ),
    "competencies:scale_set_default": UrlPolicy(
        target_kind="scale", rows=hr_only_object(post_only=True), writes=True
    ),
    "competencies:scale_copy": UrlPolicy(
        target_kind="scale", rows=hr_only_object(post_only=True), writes=True
    ),
    "competencies:competencies": UrlPolicy(
        # The library: every member reads it.
        rows={(GET, NONE): MEMBERS, (POST, NONE): POST_ONLY},
    ),
    "competencies:competency_create": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "competencies:categories": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "competencies:competency_detail": UrlPolicy(
        # Every member. The view ignores the method; a POST renders the page and
        # changes nothing.
        target_kind="competency",
        rows={
            (GET, OWN): MEMBERS,
            (GET, FOREIGN): NOBODY_FINDS_IT,
            (POST, OWN): MEMBERS,
            (POST, FOREIGN): NOBODY_FINDS_IT,
        },
    ),
    "competencies:competency_edit": UrlPolicy(
        target_kind="competency", rows=hr_only_object(), writes=True
    ),
    "competencies:competency_archive": UrlPolicy(
        target_kind="competency", rows=hr_only_object(post_only=True), writes=True
    ),
    "competencies:competency_delete": UrlPolicy(
        # The world's competency is in use nowhere, so HR admins may delete it.
        target_kind="competency",
        rows=hr_only_object(post_only=True),
        writes=True,
    ),
    "competencies:competency_sets": UrlPolicy(
        rows={(GET, NONE): HR_ONLY, (POST, NONE): HR_ONLY},
        writes=True,
    ),
    "competencies:competency_set_detail": UrlPolicy(
        target_kind="competency_set", rows=hr_only_object(), writes=True
    ),
    "competencies:competency_set_item_add": UrlPolicy(
        target_kind="competency_set", rows=hr_only_object(post_only=True), writes=True
    ),
    "competencies:competency_set_item_update": UrlPolicy(
        # OTHER_PARENT: an item of another set, under this one.
        target_kind="set_item",
        rows=hr_only_object(post_only=True, other_parent=True),
        writes=True,
    ),
    "competencies:competency_set_item_remove": UrlPolicy(
        target_kind="set_item",
        rows=hr_only_object(post_only=True, other_parent=True),
        writes=True,
    ),
}


# The body of each URL's POST: valid input, so that an allowed POST goes through.
# Each takes the world and the URL's kwargs.
POST_DATA: dict[str, PostBody] = {
    "competencies:scale_create": lambda w, k: _scale_data("New Scale"),
    "competencies:scale_edit": lambda w, k: _scale_data("Renamed Scale"),
    "competencies:competency_create": lambda w, k: {
        "name": "New Competency",
        "category": w.refs["category"],
        "description": "What it is about",
        "descriptor_3": "What a 3 looks like",
    },
    "competencies:categories": lambda w, k: {"name": "New Category"},
    "competencies:competency_edit": lambda w, k: {
        "name": "Renamed Competency",
        "category": w.refs["category"],
        "description": "What it is about now",
    },
    "competencies:competency_sets": lambda w, k: {
        "name": "New Set",
        "description": "",
        "job_titles": [w.refs["job_title"]],
    },
    "competencies:competency_set_detail": lambda w, k: {
        "name": "Renamed Set",
        "description": "Changed",
    },
    "competencies:competency_set_item_add": lambda w, k: {
        "competency": w.refs["competency"],
        "weight": "2",
        "expected_level": "3",
    },
    "competencies:competency_set_item_update": lambda w, k: {
        f"item-{k['item_pk']}-weight": "1.5",
        f"item-{k['item_pk']}-expected_level": "4",
    },
}
