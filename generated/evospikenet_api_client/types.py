"""Contains some shared types for properties"""

from collections.abc import Mapping, MutableMapping
from http import HTTPStatus
from typing import IO, Any, BinaryIO, ClassVar, Generic, Literal, Self, TypeVar

from attrs import define


class Unset:
    def __bool__(self) -> Literal[False]:
        return False


UNSET: Unset = Unset()

# The types that `httpx.Client(files=)` can accept, copied from that library.
FileContent = IO[bytes] | bytes | str
FileTypes = (
    # (filename, file (or bytes), content_type)
    tuple[str | None, FileContent, str | None]
    # (filename, file (or bytes), content_type, headers)
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
RequestFiles = list[tuple[str, FileTypes]]


@define
class File:
    """Contains information for file uploads"""

    payload: BinaryIO
    file_name: str | None = None
    mime_type: str | None = None

    def to_tuple(self) -> FileTypes:
        """Return a tuple representation that httpx will accept for multipart/form-data"""
        return self.file_name, self.payload, self.mime_type


T = TypeVar("T")


@define
class Response(Generic[T]):
    """A response from an endpoint"""

    status_code: HTTPStatus
    content: bytes
    headers: MutableMapping[str, str]
    parsed: T | None


class InvalidField(ValueError):
    """A field of an answer that does not decode into the contract's type; the message starts
    with the field's path (``limits.max_wait_seconds: ...``)."""


def missing_field(owner: object, name: str) -> AttributeError:
    """The error for reading ``name``, which the contract requires but ``owner``'s JSON lacks."""
    return AttributeError(
        f"{type(owner).__name__}.{name}: the answer has no {name!r}, which the contract "
        f"requires; .get({name!r}) reads it as absent, strict response validation rejects "
        "such answers",
        name=name,
        obj=owner,
    )


def require_fields(data: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """``KeyError`` naming the first of ``names`` that ``data`` lacks."""
    for name in names:
        if name not in data:
            raise KeyError(name)


def _accepts(value: object, expected: Any) -> bool:
    if isinstance(value, bool):  # JSON true is no number
        return expected is bool or bool in getattr(expected, "__args__", ())
    return isinstance(value, expected)


def validate_field(owner: object, key: str, attribute: str, expected: Any) -> None:
    """Strict validation of ``owner``'s present field ``key``: it decodes through its typed
    ``attribute`` into ``expected`` (None: anything), and nested models validate in turn.
    ``KeyError`` or :class:`InvalidField` name the field's path."""
    try:
        value = getattr(owner, attribute)
        if expected is not None and not _accepts(value, expected):
            raise TypeError(
                f"expected {getattr(expected, '__name__', expected)}, got {type(value).__name__}"
            )
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            validate = getattr(item, "validate_strict", None)
            if validate is None:
                continue
            try:
                validate()
            except KeyError as exc:
                raise KeyError(
                    f"{index}.{exc.args[0]}" if isinstance(value, list) else exc.args[0]
                ) from None
            except InvalidField as exc:
                raise InvalidField(
                    f"{index}.{exc}" if isinstance(value, list) else str(exc)
                ) from None
    except KeyError as exc:
        raise KeyError(f"{key}.{exc.args[0]}") from None
    except InvalidField as exc:
        raise InvalidField(f"{key}.{exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidField(f"{key}: {exc}") from None


class JSONModel(dict[str, Any]):
    """Base of the models: a ``dict`` holding the JSON exactly as received (or as built from
    the model's keyword arguments), whose subclasses add typed read-only attributes."""

    _fields: ClassVar[frozenset[str]] = frozenset()
    """The JSON names of the schema's properties."""
    _required_fields: ClassVar[tuple[str, ...]] = ()
    """The properties the contract requires."""
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    """The properties without which an answer is refused even when not validated strictly."""

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """``src_dict`` (JSON as received) as this model, kept as it is. ``TypeError`` when it
        is not an object, ``KeyError`` naming an identifying field it lacks; the other fields
        are checked when read, or all at once by :meth:`validate_strict`."""
        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        require_fields(src_dict, cls._identifying_fields)
        obj = cls.__new__(cls)
        dict.update(obj, src_dict)
        return obj

    def to_dict(self) -> dict[str, Any]:
        """The JSON, as a plain ``dict``."""
        return dict(self)

    def validate_strict(self) -> None:
        """Check the JSON against the contract: every field it requires is present, at any
        depth, and every field decodes into its type. ``KeyError`` names a missing field's
        path (``limits.max_wait_seconds``), :class:`InvalidField` a bad one's."""
        require_fields(self, self._required_fields)
        self._validate_fields()

    def _validate_fields(self) -> None:
        """Check each present field (the generated models list theirs)."""

    @property
    def additional_properties(self) -> dict[str, Any]:
        """The fields the contract does not name (a newer server's), as received."""
        return {key: value for key, value in self.items() if key not in self._fields}

    @property
    def additional_keys(self) -> list[str]:
        """The names of :attr:`additional_properties`."""
        return [key for key in self if key not in self._fields]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


__all__ = [
    "UNSET",
    "File",
    "FileTypes",
    "InvalidField",
    "JSONModel",
    "RequestFiles",
    "Response",
    "Unset",
    "missing_field",
    "require_fields",
    "validate_field",
]
