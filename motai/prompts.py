"""Versioned prompt templates: `motai/data/prompts/<name>/v<N>.yaml` (`prompts/` in the repo).

A prompt file holds an `id` (`classify.v1`), a `description`, Jinja2 `system` and `user`
templates and default model `params`. A released file never changes; its `version`
(`classify.v1#<hash12>`, a hash of the two templates) is recorded in every result.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from motai.errors import MotaiError

if TYPE_CHECKING:
    from motai.retrieval import Context, Retriever

DEFAULT_PROMPT = "classify.v1"
_ID = re.compile(r"^([a-z][a-z0-9_-]*)\.(v[0-9]+)$")
_TAG = re.compile(r"<(/?)customer_text", re.IGNORECASE)


class PromptError(MotaiError):
    """A prompt file is missing, unreadable or malformed."""


def prompts_root() -> Path:
    """The folder of prompt files, shipped inside the package as data."""
    return Path(str(resources.files("motai") / "data" / "prompts"))


@dataclass(frozen=True)
class PromptTemplate:
    id: str
    description: str
    system: str
    user: str
    params: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    @property
    def hash(self) -> str:
        """sha256 (first 12 hex digits) of the system and user templates."""
        blob = json.dumps({"system": self.system, "user": self.user}, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]

    @property
    def version(self) -> str:
        return f"{self.id}#{self.hash}"

    def render(self, **variables: Any) -> list[dict[str, str]]:
        """The chat messages, `[{"role": "system", ...}, {"role": "user", ...}]`."""
        env = _env()
        try:
            system = env.from_string(self.system).render(**variables)
            user = env.from_string(self.user).render(**variables)
        except Exception as exc:  # jinja's UndefinedError, TemplateSyntaxError...
            raise PromptError(f"{self.id}: cannot render: {exc}") from None
        return [
            {"role": "system", "content": system.strip() + "\n"},
            {"role": "user", "content": user.strip() + "\n"},
        ]


@cache
def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def neutralise(text: str) -> str:
    """Make `<customer_text>` tags inside a text inert, keeping every offset the same."""
    return _TAG.sub(lambda m: f"<{m.group(1)}customer-text", text)


def _parse(raw: object, where: str) -> PromptTemplate:
    if not isinstance(raw, dict):
        raise PromptError(f"{where}: expected a mapping at the top level")
    for key in ("id", "system", "user"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise PromptError(f"{where}: {key}: missing required key")
    if not _ID.match(raw["id"]):
        raise PromptError(f"{where}: id: {raw['id']!r} is not NAME.vN")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise PromptError(f"{where}: params: expected a mapping")
    return PromptTemplate(
        id=raw["id"],
        description=str(raw.get("description") or "").strip(),
        system=raw["system"],
        user=raw["user"],
        params=params,
        path=where,
    )


def load_prompt(source: str | Path = DEFAULT_PROMPT) -> PromptTemplate:
    """A prompt by id (`classify.v1`) or by YAML file path."""
    name = str(source)
    m = _ID.match(name)
    if m:
        path = prompts_root() / m.group(1) / f"{m.group(2)}.yaml"
        if not path.is_file():
            known = ", ".join(p.id for p in list_prompts()) or "none"
            raise PromptError(f"{name}: no such prompt (known: {known})")
    else:
        path = Path(name)
        if not path.is_file():
            raise PromptError(f"{name}: no such prompt id or file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PromptError(f"{path}: cannot read: {exc}".replace("\n", " ")) from None
    prompt = _parse(raw, str(path))
    if m and prompt.id != name:
        raise PromptError(f"{path}: id is {prompt.id!r}, expected {name!r}")
    return prompt


def list_prompts() -> list[PromptTemplate]:
    """Every bundled prompt, by id."""
    root = prompts_root()
    out = []
    for path in sorted(root.glob("*/v*.yaml")):
        try:
            out.append(load_prompt(path))
        except PromptError:
            continue
    return sorted(out, key=lambda p: p.id)


def build_messages(
    prompt: PromptTemplate,
    retriever: Retriever,
    text: str,
    kind: str | None = None,
    context: Context | None = None,
    shared: dict[str, Any] | None = None,
    redact: bool = False,
) -> list[dict[str, str]]:
    """The chat messages for one text: the one code path of `classify` and `prompts render`.

    With `redact=True` the text (and the retrieved exemplars) are redacted first.
    """
    from motai.retrieval import redact_context

    if redact:
        from motai.redact import redact as _redact

        text = _redact(text).text
    text = neutralise(text)
    context = context or retriever.context(text)
    if redact:
        context = redact_context(context)
    variables = dict(shared or retriever.template_variables())
    variables.update(
        definitions=context.definitions,
        examples=context.examples,
        kind=kind or "text",
        text=text,
    )
    return prompt.render(**variables)
