"""A notification channel: `notify: {drop_dir: PATH}` writes each notification as a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field

from retrain_core.policy.base import Strict
from retrain_core.policy.channels import Channel


class FileDrop(Strict):
    """Where to drop notifications."""

    drop_dir: str | None = Field(None, description="Folder that receives one JSON file a message.")


def drop(settings: FileDrop, notification: Any) -> bool:
    """Write the notification's title and body to a new file in the folder."""
    folder = Path(str(settings.drop_dir))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{len(list(folder.iterdir())):04d}.json"
    target.write_text(json.dumps({"title": notification.title, "body": notification.body}))
    return True


CHANNEL = Channel(key="file_drop", model=FileDrop, send=drop)
