"""What the scheme functions need from a process: the settings and the workflow database.

`patrol.runtime.Runtime` provides both; `SchemeEnvironment` is the light version the `patrol
scheme` commands use, so managing schemes never loads the NLP models.
"""

from __future__ import annotations

from functools import cached_property
from typing import Protocol

from patrol.config import Settings
from patrol.workflow.db import WorkflowDb


class SchemeRuntime(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def workflow(self) -> WorkflowDb: ...


class SchemeEnvironment:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)

    @cached_property
    def workflow(self) -> WorkflowDb:
        return WorkflowDb(self.settings.workflow_url)

    def close(self) -> None:
        workflow = self.__dict__.pop("workflow", None)
        if workflow is not None:
            workflow.dispose()

    def __enter__(self) -> SchemeEnvironment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
