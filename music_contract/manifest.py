"""The run manifest: the exact stream objects one run processes (docs/DESIGN.md, "Manifest")."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from music_contract.layout import SONGS_KEY, USERS_KEY


# --- The run manifest ----------------------------------------------------------------------
@dataclass(frozen=True)
class StreamObject:
    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class Manifest:
    """The exact list of stream objects one run processes (``manifests/run_id=<id>.json``)."""

    run_id: str
    created_at: str
    bucket: str
    streams: tuple[StreamObject, ...]
    reference: dict[str, str] = field(default_factory=lambda: {"users": USERS_KEY, "songs": SONGS_KEY})

    def to_json(self) -> str:
        body = asdict(self)
        body["streams"] = [asdict(s) for s in self.streams]
        return json.dumps(body, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        try:
            body = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"manifest is not JSON: {err}") from err
        try:
            return cls(
                run_id=body["run_id"],
                created_at=body["created_at"],
                bucket=body["bucket"],
                reference=dict(body["reference"]),
                streams=tuple(StreamObject(s["key"], int(s["size"]), s["etag"]) for s in body["streams"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"manifest is missing or has a malformed field: {err!r}") from err
