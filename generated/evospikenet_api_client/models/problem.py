from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from ..types import UNSET, JSONModel, Unset, missing_field, validate_field

if TYPE_CHECKING:
    from ..models.field_error import FieldError


class Problem(JSONModel):
    """An RFC 9457 problem, with a stable `code`.

    Attributes:
        type_ (str): A URI reference naming the problem type.
        title (str): A short summary of the problem type.
        status (int): The HTTP status code.
        detail (str): What went wrong
        code (str): A stable machine code: VAL_001 validation, VAL_002 unparsable body, AUTH_001 missing
            key, AUTH_002 invalid key, AUTH_003 not allowed, SES_001 / ART_001 / PROMPT_001 not
            found, ART_002 sha256 mismatch, ART_003 too large, MEDIA_001 media too large,
            RANGE_001 bad range, MODEL_001 generation failed, MODEL_002 no model loaded, RATE_001
            rate limited, IDEM_001 key reused with another body, IDEM_002 key in progress, SSH_001
            remote host or path not configured, SSH_002 SSH failure, HTTP_404 no such route,
            HTTP_405 method not allowed, SYS_001 internal error, SYS_002 unavailable.
        instance (str | Unset): The request path.
        request_id (str | Unset): The request's id (also in `X-Request-ID`).
        errors (list[FieldError] | Unset): For validation errors, one entry per failing field.
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "type",
            "title",
            "status",
            "detail",
            "code",
            "instance",
            "request_id",
            "errors",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "type",
        "title",
        "status",
        "detail",
        "code",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        type_: str,
        title: str,
        status: int,
        detail: str,
        code: str,
        instance: str | Unset = UNSET,
        request_id: str | Unset = UNSET,
        errors: list[FieldError] | Unset = UNSET,
        **additional_properties: Any,
    ) -> None:
        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_type_ = type_
        field_dict["type"] = json_type_
        json_title = title
        field_dict["title"] = json_title
        json_status = status
        field_dict["status"] = json_status
        json_detail = detail
        field_dict["detail"] = json_detail
        json_code = code
        field_dict["code"] = json_code
        json_instance = instance
        if json_instance is not UNSET:
            field_dict["instance"] = json_instance
        json_request_id = request_id
        if json_request_id is not UNSET:
            field_dict["request_id"] = json_request_id
        json_errors: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(errors, Unset):
            json_errors = []
            for errors_item_data in errors:
                errors_item = errors_item_data.to_dict()
                json_errors.append(errors_item)

        if json_errors is not UNSET:
            field_dict["errors"] = json_errors
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        if "type" in self:
            validate_field(self, "type", "type_", str)
        if "title" in self:
            validate_field(self, "title", "title", str)
        if "status" in self:
            validate_field(self, "status", "status", int)
        if "detail" in self:
            validate_field(self, "detail", "detail", str)
        if "code" in self:
            validate_field(self, "code", "code", str)
        if "instance" in self:
            validate_field(self, "instance", "instance", str)
        if "request_id" in self:
            validate_field(self, "request_id", "request_id", str)
        if "errors" in self:
            validate_field(self, "errors", "errors", list)

    @property
    def type_(self) -> str:
        """A URI reference naming the problem type."""

        if "type" not in self:
            raise missing_field(self, "type_")
        return cast(str, self["type"])

    @property
    def title(self) -> str:
        """A short summary of the problem type."""

        if "title" not in self:
            raise missing_field(self, "title")
        return cast(str, self["title"])

    @property
    def status(self) -> int:
        """The HTTP status code."""

        if "status" not in self:
            raise missing_field(self, "status")
        return cast(int, self["status"])

    @property
    def detail(self) -> str:
        """What went wrong"""

        if "detail" not in self:
            raise missing_field(self, "detail")
        return cast(str, self["detail"])

    @property
    def code(self) -> str:
        """A stable machine code: VAL_001 validation, VAL_002 unparsable body, AUTH_001 missing
        key, AUTH_002 invalid key, AUTH_003 not allowed, SES_001 / ART_001 / PROMPT_001 not
        found, ART_002 sha256 mismatch, ART_003 too large, MEDIA_001 media too large,
        RANGE_001 bad range, MODEL_001 generation failed, MODEL_002 no model loaded, RATE_001
        rate limited, IDEM_001 key reused with another body, IDEM_002 key in progress, SSH_001
        remote host or path not configured, SSH_002 SSH failure, HTTP_404 no such route,
        HTTP_405 method not allowed, SYS_001 internal error, SYS_002 unavailable."""

        if "code" not in self:
            raise missing_field(self, "code")
        return cast(str, self["code"])

    @property
    def instance(self) -> str | Unset:
        """The request path."""

        return cast(str | Unset, self.get("instance", UNSET))

    @property
    def request_id(self) -> str | Unset:
        """The request's id (also in `X-Request-ID`)."""

        return cast(str | Unset, self.get("request_id", UNSET))

    @property
    def errors(self) -> list[FieldError] | Unset:
        """For validation errors, one entry per failing field."""
        from ..models.field_error import FieldError

        _errors = self.get("errors", UNSET)
        errors: list[FieldError] | Unset = UNSET
        if _errors is not UNSET:
            errors = []
            for errors_item_data in _errors:
                errors_item = FieldError.from_dict(errors_item_data)

                errors.append(errors_item)

        return errors
