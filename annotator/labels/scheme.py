"""The default label scheme for incident reports: each label with its kind (``annotator.labels.kinds``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Label:
    name: str
    description: str
    colour: str  # CSS colour of the label's highlight
    key: str  # keyboard shortcut that picks the label
    kind: str = "plain"  # what its spans are: a key of annotator.labels.kinds.KINDS

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


DEFAULT_SCHEME: tuple[Label, ...] = (
    Label("REGION", "A named place where the incident happened: oblast, city, district.", "#8ecae6", "r", "region"),
    Label("COUNT", "How many drones or missiles: the number itself, in digits or words.", "#ffb703", "c", "count"),
    Label(
        "OUTCOME",
        "What happened to them or because of them: destroyed, intercepted, damage, casualties.",
        "#95d5b2",
        "o",
        "category",
    ),
)


def default_scheme() -> list[dict[str, str]]:
    return [label.to_dict() for label in DEFAULT_SCHEME]
