"""What every perpdesk screen shares: a typed handle on the session, the heartbeat, colours;
and what every modal shares: one answer, one look.

Screens never import the app module. What they may use of the app is the :class:`Desk`
protocol: the session, and the heartbeat signal to follow. Everything else goes up as a
message (:mod:`tui.messages`) that the app handles in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from textual.actions import parse
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.signal import Signal

from tui.actions import Action
from tui.session import Beat, Session
from tui.widgets.styles import NumberStyles, number_styles

T = TypeVar("T")


@runtime_checkable
class Desk(Protocol):
    """What a screen may use of the app it runs in."""

    session: Session
    heartbeat: Signal[Beat]
    """Published once per refresh tick (and right after each action) with what changed."""


def _reraise(error: Exception) -> None:
    raise error


def desk(app: App[Any]) -> Desk:
    """``app`` as a :class:`Desk` (perpdesk's screens run only inside perpdesk)."""
    if not isinstance(app, Desk):
        raise TypeError(f"{type(app).__name__} is not a perpdesk app: it has no session")
    return app


def binding_of(action: Action) -> Binding:
    """The key binding of a keyed action in the table (its id lets ``[keymap]`` remap it)."""
    assert action.key is not None and action.action is not None, f"{action.id} has no key"
    return Binding(
        action.key,
        action.action,
        action.description,
        show=action.footer is not None,
        id=action.id,
        priority=action.priority,
    )


def invoke(target: DOMNode, action: Action) -> None:
    """Run ``action``'s handler on ``target`` now, with its parameters (``margin(1)``). Unlike a
    key, this does not ask ``check_action`` first: the handler says why when it does not
    apply (the command palette and the command line call actions this way)."""
    assert action.action is not None, f"{action.id} runs from the command line only"
    _, name, params = parse(action.action)
    getattr(target, f"action_{name}")(*params)


class DeskScreen(Screen[T]):
    """A screen of perpdesk: reads the session, follows the heartbeat."""

    @property
    def session(self) -> Session:
        return desk(self.app).session

    def follow_heartbeat(self, callback: Callable[[Beat], object]) -> None:
        """Call ``callback`` with each heartbeat while this screen is mounted (call from
        ``on_mount``). It runs inside the heartbeat, so one refresh repaints every screen at
        once, as the tick that caused it. An error in it is raised again as this screen's own
        message (a Signal would only log it), so it fails as loudly as any handler."""

        def follow(beat: Beat) -> None:
            try:
                callback(beat)
            except Exception as error:
                self.call_next(_reraise, error)

        desk(self.app).heartbeat.subscribe(self, follow, immediate=True)

    def number_styles(self) -> NumberStyles:
        """Colours for gains, losses, warnings and errors in the current theme."""
        return number_styles(self.app.current_theme)


class Dialog(ModalScreen[T], DeskScreen[T]):
    """A modal that answers exactly once, drawn as a box in the middle of the screen.

    Put the content in one container with the class ``dialog`` (give it an id to set its
    width); ``dialog-keys`` marks the line that lists the keys, ``dialog-error`` a problem.

    Two Enter keys read from the terminal together both reach the screen before it is gone;
    a second ``dismiss`` would pop whatever screen is on top (Textual raises
    ScreenStackError) or act twice. :meth:`reply` ignores every answer after the first.
    """

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > .dialog { width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1; }
    Dialog .dialog-keys { color: $text-muted; }
    Dialog .dialog-error { color: $error; height: auto; }
    """

    replied = False

    def reply(self, result: T) -> None:
        if self.replied:
            return
        self.replied = True
        self.dismiss(result)
