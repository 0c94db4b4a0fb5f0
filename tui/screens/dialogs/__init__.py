"""Small modals, one per file: a yes/no question, an amount of margin, a scenario to practise on.

Each is a :class:`tui.screens.base.Dialog`: it answers once, and the caller's callback gets the
answer (``push_screen(ConfirmScreen(...), callback)``).
"""
