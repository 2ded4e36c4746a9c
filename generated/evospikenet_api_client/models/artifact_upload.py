from __future__ import annotations

from collections.abc import (
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from io import BytesIO
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..types import UNSET, File, Unset

T = TypeVar("T", bound="ArtifactUpload")


@_attrs_define(eq=False)
class ArtifactUpload(Mapping[str, Any]):
    """The form's fields; any other field is refused with 422 naming it.

    Attributes:
        session_id (str): An opaque id (`ses_…`, `art_…`, `prm_…`; ids from other servers may be UUIDs).
        artifact_type (str): A lowercase identifier. Well-known values: `model` (weights, e.g. a `state_dict`),
            `config` (a model config JSON), `tokenizer` (a zip of a `save_pretrained` folder),
            `dataset`, `checkpoint`, `log`, `simulation_data`.
        name (str): A display name (metadata only; never a path on the server).
        file (File): The file's bytes.
        llm_type (str | Unset): The model architecture, e.g. `SpikingEvoTextLM`, `SpikingEvoMultiModalLM`.
        sha256 (str | Unset): The lowercase hex sha256 of the file; when sent, the server verifies it once the
            whole body arrived. It may precede or follow the `file` part.
    """

    session_id: str
    artifact_type: str
    name: str
    file: File
    llm_type: str | Unset = UNSET
    sha256: str | Unset = UNSET
    request_id: str | None = _attrs_field(default=None, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        artifact_type = self.artifact_type

        name = self.name

        file = self.file.to_tuple()

        llm_type = self.llm_type

        sha256 = self.sha256

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "session_id": session_id,
                "artifact_type": artifact_type,
                "name": name,
                "file": file,
            }
        )
        if llm_type is not UNSET:
            field_dict["llm_type"] = llm_type
        if sha256 is not UNSET:
            field_dict["sha256"] = sha256

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(
            ("session_id", (None, str(self.session_id).encode(), "text/plain"))
        )

        files.append(
            ("artifact_type", (None, str(self.artifact_type).encode(), "text/plain"))
        )

        files.append(("name", (None, str(self.name).encode(), "text/plain")))

        files.append(("file", self.file.to_tuple()))

        if not isinstance(self.llm_type, Unset):
            files.append(
                ("llm_type", (None, str(self.llm_type).encode(), "text/plain"))
            )

        if not isinstance(self.sha256, Unset):
            files.append(("sha256", (None, str(self.sha256).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        session_id = d.pop("session_id")

        artifact_type = d.pop("artifact_type")

        name = d.pop("name")

        file = File(payload=BytesIO(d.pop("file")))

        llm_type = d.pop("llm_type", UNSET)

        sha256 = d.pop("sha256", UNSET)

        artifact_upload = cls(
            session_id=session_id,
            artifact_type=artifact_type,
            name=name,
            file=file,
            llm_type=llm_type,
            sha256=sha256,
        )

        return artifact_upload

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def keys(self) -> KeysView[str]:
        return self.to_dict().keys()

    def items(self) -> ItemsView[str, Any]:
        return self.to_dict().items()

    def values(self) -> ValuesView[Any]:
        return self.to_dict().values()
