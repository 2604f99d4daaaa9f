"""What each app contributes to the platform, registered from its ``AppConfig.ready()``.

``core`` knows no app by name: navigation, demo content, personal-data export/erasure (RGPD) and
per-territory figures are collected here and read by the shared pages and commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    order: int = 100


@dataclass(frozen=True)
class DemoStep:
    name: str
    run: Callable[[Any], None]  # receives the command's stdout-like writer
    order: int = 100


@dataclass(frozen=True)
class PersonalData:
    name: str
    export: Callable[[Any], Any]  # user -> JSON-serialisable data
    erase: Callable[[Any], None]  # user -> None (delete or anonymise)


@dataclass(frozen=True)
class TerritoryFigure:
    label: str
    value: Any
    unit: str = ""
    url: str = ""


@dataclass
class Registry:
    nav: list[NavEntry] = field(default_factory=list)
    demo: list[DemoStep] = field(default_factory=list)
    personal_data: list[PersonalData] = field(default_factory=list)
    # Each provider: (level, code) -> list[TerritoryFigure]; level in {region, departement, epci, commune}.
    territory_figures: list[Callable[[str, str], list[TerritoryFigure]]] = field(default_factory=list)

    def add_nav(self, label: str, url_name: str, order: int = 100) -> None:
        if all(e.url_name != url_name for e in self.nav):
            self.nav.append(NavEntry(label, url_name, order))
            self.nav.sort(key=lambda e: e.order)

    def add_demo(self, name: str, run: Callable[[Any], None], order: int = 100) -> None:
        if all(s.name != name for s in self.demo):
            self.demo.append(DemoStep(name, run, order))
            self.demo.sort(key=lambda s: s.order)

    def add_personal_data(self, name: str, export: Callable, erase: Callable) -> None:
        if all(p.name != name for p in self.personal_data):
            self.personal_data.append(PersonalData(name, export, erase))

    def add_territory_figures(self, provider: Callable[[str, str], list[TerritoryFigure]]) -> None:
        if provider not in self.territory_figures:
            self.territory_figures.append(provider)

    def figures_for(self, level: str, code: str) -> list[TerritoryFigure]:
        figures: list[TerritoryFigure] = []
        for provider in self.territory_figures:
            figures.extend(provider(level, code))
        return figures


platform = Registry()


def app_modules(module_name: str):
    """Yield ``(app_config, module)`` for every Regio app that has ``<app>.<module_name>``."""
    from importlib import import_module

    from django.apps import apps

    for config in apps.get_app_configs():
        if not config.name.startswith("regio."):
            continue
        try:
            module = import_module(f"{config.name}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.{module_name}":
                raise
            continue
        yield config, module
