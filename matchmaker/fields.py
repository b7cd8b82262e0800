"""The strategy's vocabulary: the six fields of action, defined in this one place."""

from __future__ import annotations

from typing import Final

#: Field of action key -> (German label, English label).
FIELDS_OF_ACTION: Final[dict[str, tuple[str, str]]] = {
    "energy_efficiency": ("Energieeffizienz", "Energy efficiency"),
    "smart_grids": ("Intelligente Netze", "Smart grids"),
    "smart_mobility": ("Intelligente Mobilität", "Smart mobility"),
    "smart_buildings": ("Intelligente Gebäude", "Smart buildings"),
    "sector_coupling": ("Sektorkopplung", "Sector coupling"),
    "ai_digitisation": ("Digitalisierung und KI", "Digitisation and AI"),
}

FIELD_KEYS: Final[tuple[str, ...]] = tuple(FIELDS_OF_ACTION)


def field_label(key: str, locale: str = "de") -> str:
    """Return the label of a field of action in German (default) or English."""
    de, en = FIELDS_OF_ACTION[key]
    return en if locale.startswith("en") else de
