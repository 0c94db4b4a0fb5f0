"""The settings screen (`,` or /settings): one form over every everyday setting.

Inputs are checked as you type with :func:`tui.settings.parse_field` (the same rules the loader
uses); ctrl+s saves with :func:`tui.settings.save_changes` (only the changed values are written,
onto the file as it is then, comments kept; a large file is saved in a thread) and returns the
new :class:`Settings`; Escape leaves, asking first when there are edits (discard, save or keep
editing: a second Escape discards). The theme previews
live while the screen is open and is restored on discard. If another program saves the file
while perpdesk saves it, nothing is written and the form stays open: save again or discard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, OptionList, Select, Static

from tui.engine.models import MAKER_FEE, TAKER_FEE
from tui.screens.base import Dialog
from tui.screens.dialogs.discard import Choice, DiscardScreen
from tui.settings import (
    EXECUTIONS,
    LARGE_CONFIG_BYTES,
    MARGIN_MODES,
    SOURCES,
    VENUES,
    SaveResult,
    Settings,
    SettingsChangedError,
    SettingsSaveError,
    fee_example,
    format_field,
    parse_field,
    save_changes,
)
from tui.widgets.plain import Plain

SUBTITLE = "ctrl+s save · Esc discard"
NEXT_LAUNCH = "Applies from the next launch."
FRESH_ACCOUNT = "Applies to the next fresh account."
LAUNCH = "the next launch"


@dataclass(frozen=True)
class FormField:
    """One row of the form: the setting's key, how it is shown, and the note beside it."""

    key: str
    label: str
    note: str
    kind: Literal["input", "select", "toggle"] = "input"
    placeholder: str = ""
    later: str = ""  # when a change takes effect if not at once, e.g. "the next launch"

    @property
    def widget_id(self) -> str:
        return self.key.split(".", 1)[1].replace("_", "-")


SECTIONS: list[tuple[str, list[FormField]]] = [
    (
        "Trading",
        [
            FormField(
                "trading.default_margin_mode",
                "Margin mode",
                "Preselected for new orders; still switchable per trade.",
                kind="toggle",
            ),
            FormField(
                "trading.default_leverage",
                "Leverage",
                "1 to 100; capped at each market's maximum.",
                placeholder="5",
            ),
            FormField(
                "trading.default_order_size",
                "Order size",
                "$1000 suits every market; 0.5 means 0.5 coins of any market.",
                placeholder="$1000",
            ),
        ],
    ),
    (
        "Account",
        [
            FormField(
                "account.starting_balance",
                "Starting balance",
                f"USD. {FRESH_ACCOUNT}",
                placeholder="10000",
                later="the next fresh account",
            ),
            FormField(
                "account.venue",
                "Venue",
                "Whose margin rules; changing it offers a fresh season.",
                kind="select",
            ),
        ],
    ),
    (
        "Fees",
        [
            FormField(
                "fees.taker",
                "Taker fee",
                f"0 to 0.01 ({fee_example(TAKER_FEE)}). {NEXT_LAUNCH}",
                placeholder=f"{TAKER_FEE:g}",
                later=LAUNCH,
            ),
            FormField(
                "fees.maker",
                "Maker fee",
                f"Resting limit orders. 0 to 0.01 ({fee_example(MAKER_FEE)}). {NEXT_LAUNCH}",
                placeholder=f"{MAKER_FEE:g}",
                later=LAUNCH,
            ),
        ],
    ),
    (
        "Price feed",
        [
            FormField("market.source", "Source", NEXT_LAUNCH, kind="select", later=LAUNCH),
            FormField(
                "market.execution",
                "Fills",
                f"Through a book (realistic, thin) or at the mark. {NEXT_LAUNCH}",
                kind="select",
                later=LAUNCH,
            ),
            FormField(
                "market.seed",
                "Seed",
                f"Whole number; blank = random. {NEXT_LAUNCH}",
                placeholder="random",
                later=LAUNCH,
            ),
        ],
    ),
    (
        "Display",
        [
            FormField("ui.theme", "Theme", "Previews as you move through the list.", kind="select"),
            FormField(
                "ui.refresh_hz",
                "Refresh rate",
                "Screen updates per second, 1 to 60.",
                placeholder="10",
            ),
        ],
    ),
]
FIELDS: list[FormField] = [f for _, fields in SECTIONS for f in fields]


def field_problem(form_field: FormField, text: str) -> str | None:
    """A sentence saying what is wrong with ``text`` for this field, or None if it is fine."""
    try:
        parse_field(form_field.key, text)
    except ValueError as exc:
        reason = str(exc).removeprefix(form_field.key).strip()
        return f"{form_field.label} {reason}."
    return None


class FieldCheck(Validator):
    """Validates an Input with the settings model's own rules."""

    def __init__(self, form_field: FormField) -> None:
        super().__init__()
        self.form_field = form_field

    def validate(self, value: str) -> ValidationResult:
        problem = field_problem(self.form_field, value)
        return self.success() if problem is None else self.failure(problem, value)


class ModeToggle(Widget, can_focus=True):
    """Isolated / Cross, one keypress apart (the same keys as the confirmation screen)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,left,right,m", "switch", "Isolated/Cross", id="settings.mode_toggle"),
        Binding("i", "pick('isolated')", "Isolated", id="settings.mode_isolated", show=False),
        Binding("c", "pick('cross')", "Cross", id="settings.mode_cross", show=False),
    ]
    DEFAULT_CSS = """
    ModeToggle { width: auto; height: 1; }
    """

    value: reactive[str] = reactive("isolated")

    @dataclass
    class Changed(Message):
        toggle: ModeToggle
        value: str

        @property
        def control(self) -> ModeToggle:
            return self.toggle

    def __init__(self, value: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(ModeToggle.value, value)

    def render(self) -> Text:
        text = Text()
        for choice in MARGIN_MODES:
            label = f" {choice.title()} "
            if choice == self.value:
                style = "bold reverse" if self.has_focus else "bold underline"
                text.append(f"[{label}]", style=style)
            else:
                text.append(f" {label} ", style="dim")
            text.append(" ")
        return text

    def watch_value(self) -> None:
        self.post_message(self.Changed(self, self.value))

    def action_switch(self) -> None:
        self.value = MARGIN_MODES[1 - MARGIN_MODES.index(self.value)]

    def action_pick(self, value: str) -> None:
        self.value = value


class SettingsScreen(Dialog[Settings | None]):
    """Edit the settings. Dismisses with the new settings once saved (or once a save failed:
    they still apply for this session), or None when discarded."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="settings.save"),
        Binding("escape", "cancel", "Discard", id="settings.cancel"),
    ]
    DEFAULT_CSS = """
    SettingsScreen #settings { width: 110; }
    SettingsScreen #settings-path { color: $text-muted; height: auto; }
    SettingsScreen .section { text-style: bold; color: $accent; margin: 1 0 0 0; }
    SettingsScreen .row { height: auto; }
    SettingsScreen .row:focus-within { background: $boost; }
    SettingsScreen .row:focus-within > Label { text-style: bold; }
    SettingsScreen .row > Label { width: 18; padding: 0 0 0 1; }
    SettingsScreen .row > .field { width: 24; }
    SettingsScreen .row > Input, SettingsScreen .row > Select > SelectCurrent {
        background: $panel; }
    SettingsScreen .row > .note { width: 1fr; padding: 0 0 0 2; color: $text-muted; }
    SettingsScreen .error { color: $error; height: auto; padding: 0 0 0 18; display: none; }
    SettingsScreen .error.-shown { display: block; }
    """

    def __init__(self, settings: Settings, path: Path) -> None:
        super().__init__()
        self.original = settings
        self.config_file = path
        self.original_theme = ""
        self._themes: list[str] = []
        self.saving = False  # a large file is being saved in a thread

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="settings", classes="dialog") as box:
            box.can_focus = False  # Tab goes from field to field; focusing a field scrolls
            box.border_title = "Settings"
            box.border_subtitle = SUBTITLE
            yield Plain(
                Text.assemble(
                    ("Saves to ", "bold"),
                    str(self.config_file),
                    "\nTab / shift+Tab move between fields; Enter goes to the next one.",
                ),
                id="settings-path",
            )
            for heading, fields in SECTIONS:
                yield Plain(heading, classes="section")
                for form_field in fields:
                    with Horizontal(classes="row"):
                        yield Label(form_field.label)
                        yield self._widget_for(form_field)
                        yield Plain(form_field.note, classes="note", markup=False)
                    yield Plain(
                        "", id=f"{form_field.widget_id}-error", classes="error", markup=False
                    )
        yield Footer(compact=True)

    def _widget_for(self, form_field: FormField) -> Widget:
        value = self.original.get(form_field.key)
        wid = form_field.widget_id
        if form_field.kind == "toggle":
            return ModeToggle(value, id=wid, classes="field")
        if form_field.kind == "select":
            names = self._choices(form_field.key, value)
            return Select(
                [(name, name) for name in names],
                value=value,
                allow_blank=False,
                compact=True,
                id=wid,
                classes="field",
            )
        return Input(
            format_field(form_field.key, value),
            placeholder=form_field.placeholder,
            validators=[FieldCheck(form_field)],
            compact=True,
            id=wid,
            classes="field",
        )

    def _choices(self, key: str, current: str) -> list[str]:
        if key == "market.source":
            return list(SOURCES)
        if key == "account.venue":
            return list(VENUES)
        if key == "market.execution":
            return list(EXECUTIONS)
        names = sorted(self.app.available_themes)
        if current not in names:  # a theme the file names but this Textual does not have
            names.insert(0, current)
        self._themes = names
        return names

    def on_mount(self) -> None:
        self.original_theme = self.app.theme
        themes = self.query_one("#theme", Select)
        self.watch(themes, "expanded", self._theme_menu, init=False)
        self.watch(themes.query_one(OptionList), "highlighted", self._theme_highlighted, init=False)

    # ------------------------------------------------------------------ reading the form

    def field_text(self, form_field: FormField) -> str:
        widget = self.query_one(f"#{form_field.widget_id}")
        if isinstance(widget, Input):
            return widget.value
        if isinstance(widget, ModeToggle):
            return widget.value
        assert isinstance(widget, Select)
        return str(widget.value)

    def read(self) -> tuple[Settings, list[tuple[FormField, str]]]:
        """The settings the form describes, and each field's problem (empty when all is well)."""
        settings = self.original
        problems: list[tuple[FormField, str]] = []
        for form_field in FIELDS:
            text = self.field_text(form_field)
            problem = field_problem(form_field, text)
            if problem is not None:
                problems.append((form_field, problem))
                continue
            value = parse_field(form_field.key, text)
            if value != self.original.get(form_field.key):
                settings = settings.with_value(form_field.key, value)
        return settings, problems

    def has_edits(self) -> bool:
        settings, problems = self.read()
        return bool(problems) or settings != self.original

    # ------------------------------------------------------------------ live feedback

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        result = event.validation_result
        problem = None
        if result is not None and not result.is_valid:
            problem = result.failure_descriptions[0]
        self._show_problem(event.input.id or "", problem)

    def _show_problem(self, widget_id: str, problem: str | None) -> None:
        error = self.query_one(f"#{widget_id}-error", Static)
        error.update(problem or "")
        error.set_class(problem is not None, "-shown")

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    @on(Select.Changed, "#theme")
    def _theme_chosen(self, event: Select.Changed) -> None:
        self.preview_theme(str(event.value))

    def _theme_highlighted(self, index: int | None) -> None:
        # The list's own OptionHighlighted message stops inside Select; watch its cursor instead.
        expanded = self.query_one("#theme", Select).expanded
        if expanded and index is not None and 0 <= index < len(self._themes):
            self.preview_theme(self._themes[index])

    def _theme_menu(self, expanded: bool) -> None:
        if not expanded:  # closed without choosing: back to the chosen theme
            self.preview_theme(str(self.query_one("#theme", Select).value))

    def preview_theme(self, name: str) -> None:
        if name in self.app.available_themes and name != self.app.theme:
            self.app.theme = name

    # ------------------------------------------------------------------ actions

    def action_save(self) -> None:
        if self.replied or self.saving:
            return
        settings, problems = self.read()
        if problems:
            form_field, problem = problems[0]
            for each, text in problems:
                self._show_problem(each.widget_id, text)
            self.app.bell()
            self.notify(
                f"Not saved: {problem} Fix it, or press Esc to discard.",
                title="Settings",
                severity="error",
                timeout=8,
                markup=False,
            )
            self.query_one(f"#{form_field.widget_id}").focus()
            return
        later: dict[str, list[str]] = {}
        for f in FIELDS:
            if f.later and settings.get(f.key) != self.original.get(f.key):
                later.setdefault(f.later, []).append(f.label)
        changes = {
            f.key: settings.get(f.key)
            for f in FIELDS
            if settings.get(f.key) != self.original.get(f.key)
        }
        path = self.config_file
        if _size(path) <= LARGE_CONFIG_BYTES:
            self._saved(self._save(changes, settings), settings, later)
            return
        # A large file takes seconds to rewrite with its comments kept: do it off the event
        # loop so prices keep moving; the screen waits (and says so) until it is done.
        self.saving = True
        self.query_one("#settings").border_subtitle = "saving a large file…"

        def save_in_thread() -> None:
            outcome = self._save(changes, settings)
            self.app.call_from_thread(self._saved, outcome, settings, later)

        self.run_worker(save_in_thread, thread=True, group="settings-save", exit_on_error=False)

    def _save(self, changes: dict[str, Any], settings: Settings) -> SaveResult | SettingsSaveError:
        """Apply this form's changes onto the file as it is now (edits made by hand while
        perpdesk ran, such as another key or a market list, stand). Safe in a thread."""
        try:
            return save_changes(changes, self.config_file, fallback=settings)
        except SettingsSaveError as exc:
            return exc

    def _saved(
        self,
        outcome: SaveResult | SettingsSaveError,
        settings: Settings,
        later: dict[str, list[str]],
    ) -> None:
        self.saving = False
        self.query_one("#settings").border_subtitle = SUBTITLE
        path = self.config_file
        if isinstance(outcome, SettingsChangedError):  # keep the form: the user decides
            self.session.say(str(outcome), "error")
            self.notify(str(outcome), title="Settings not saved", severity="error", timeout=15)
            return
        if isinstance(outcome, SettingsSaveError):
            text = f"{outcome} Your changes apply until you quit."
            self.session.say(text, "error")
            self.notify(
                text, title="Settings not saved", severity="error", timeout=15, markup=False
            )
            self.reply(settings)
            return
        self.session.say(f"Settings saved to {path}.")
        saved = f"Saved to {path}."
        for when, labels in later.items():
            saved += f" {', '.join(labels)}: from {when}."
        self.notify(saved, title="Settings", markup=False)
        for message in outcome.messages:
            self.session.say(message, "warning")
            self.notify(message, title="Settings", severity="warning", timeout=15, markup=False)
        self.reply(outcome.settings)

    def action_cancel(self) -> None:
        if self.replied:
            return
        if self.saving:
            self.notify("Still saving the settings file; a moment.", title="Settings")
            return
        if not self.has_edits():
            self._discard()
            return

        def answered(choice: Choice | None) -> None:
            if choice == "discard":
                self._discard()
            elif choice == "save":
                self.action_save()

        self.app.push_screen(DiscardScreen("Your edits to the settings are not saved."), answered)

    def _discard(self) -> None:
        if self.original_theme in self.app.available_themes:
            self.app.theme = self.original_theme
        self.reply(None)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
