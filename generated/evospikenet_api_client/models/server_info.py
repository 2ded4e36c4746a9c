from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from ..types import JSONModel, missing_field, validate_field

if TYPE_CHECKING:
    from ..models.limits import Limits
    from ..models.served_model import ServedModel


class ServerInfo(JSONModel):
    """
    Attributes:
        version (str):
        api_version (str):
        model (None | ServedModel): The model being served, or null while none is loaded.
        model_error (None | str): Why the newest model upload could not be loaded, when it could not.
        limits (Limits):
    """

    _fields: ClassVar[frozenset[str]] = frozenset(
        {
            "version",
            "api_version",
            "model",
            "model_error",
            "limits",
        }
    )
    _required_fields: ClassVar[tuple[str, ...]] = (
        "version",
        "api_version",
        "model",
        "model_error",
        "limits",
    )
    _identifying_fields: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None
    """The server's X-Request-ID of the answer this was decoded from."""

    def __init__(
        self,
        *,
        version: str,
        api_version: str,
        model: None | ServedModel,
        model_error: None | str,
        limits: Limits,
        **additional_properties: Any,
    ) -> None:
        from ..models.served_model import ServedModel

        field_dict: dict[str, Any] = {}
        field_dict.update(additional_properties)
        json_version = version
        field_dict["version"] = json_version
        json_api_version = api_version
        field_dict["api_version"] = json_api_version
        json_model: dict[str, Any] | None
        if isinstance(model, ServedModel):
            json_model = model.to_dict()
        else:
            json_model = model
        field_dict["model"] = json_model
        json_model_error: None | str
        json_model_error = model_error
        field_dict["model_error"] = json_model_error
        json_limits = limits.to_dict()
        field_dict["limits"] = json_limits
        super().__init__(field_dict)

    def _validate_fields(self) -> None:
        from ..models.limits import Limits
        from ..models.served_model import ServedModel

        if "version" in self:
            validate_field(self, "version", "version", str)
        if "api_version" in self:
            validate_field(self, "api_version", "api_version", str)
        if "model" in self:
            validate_field(self, "model", "model", None | ServedModel)
        if "model_error" in self:
            validate_field(self, "model_error", "model_error", None | str)
        if "limits" in self:
            validate_field(self, "limits", "limits", Limits)

    @property
    def version(self) -> str:

        if "version" not in self:
            raise missing_field(self, "version")
        return cast(str, self["version"])

    @property
    def api_version(self) -> str:

        if "api_version" not in self:
            raise missing_field(self, "api_version")
        return cast(str, self["api_version"])

    @property
    def model(self) -> None | ServedModel:
        """The model being served, or null while none is loaded."""
        from ..models.served_model import ServedModel

        if self.get("model") is None:
            return None

        def _parse_model(data: object) -> None | ServedModel:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                model_type_0 = ServedModel.from_dict(data)

                return model_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ServedModel, data)

        model = _parse_model(self["model"])

        return model

    @property
    def model_error(self) -> None | str:
        """Why the newest model upload could not be loaded, when it could not."""

        if self.get("model_error") is None:
            return None

        def _parse_model_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        model_error = _parse_model_error(self["model_error"])

        return model_error

    @property
    def limits(self) -> Limits:
        from ..models.limits import Limits

        if "limits" not in self:
            raise missing_field(self, "limits")
        limits = Limits.from_dict(self["limits"])

        return limits
