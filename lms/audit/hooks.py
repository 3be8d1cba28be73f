"""What higher packages tell the audit log: who may read it, and how to name accounts and roles on its screen.

The audit log sits below every domain, so that each of them can record into it; accounts knows
the roles and the names, and `lms.register_hooks` connects them. With nothing connected nobody
may read the log (fail closed), and accounts show as their ids.
"""

from collections.abc import Callable, Iterable, Mapping

#: name -> rule(user) returning True if that user may read the audit log.
_readers: dict[str, Callable[[object], bool]] = {}
#: name -> describe(ids) returning {account id: a name to show}.
_account_namers: dict[str, Callable[[Iterable[int]], Mapping[int, str]]] = {}
#: name -> {role value: label}.
_role_labels: dict[str, Mapping[str, object]] = {}


def register_reader(name: str, rule: Callable[[object], bool]) -> None:
    """Let rule(user) open the audit log to a user (keyed by name: registering again replaces)."""
    _readers[name] = rule


def may_read(user) -> bool:
    """Return True if any connected rule lets this user read the audit log."""
    return any(rule(user) for rule in _readers.values())


def register_account_namer(name: str, describe: Callable[[Iterable[int]], Mapping[int, str]]) -> None:
    """Let a package give the names shown next to account ids on the audit screen."""
    _account_namers[name] = describe


def account_names(ids: Iterable[int]) -> dict[int, str]:
    """Return a name for each of these account ids that a connected namer knows."""
    wanted = {i for i in ids if i is not None}
    names: dict[int, str] = {}
    for describe in _account_namers.values():
        names.update(describe(wanted))
    return names


def register_role_labels(name: str, labels: Mapping[str, object]) -> None:
    """Give the label shown for each role value recorded with an event."""
    _role_labels[name] = labels


def role_label(value: str) -> str:
    """Return the label of a recorded role value (the value itself when no package named it)."""
    for labels in _role_labels.values():
        if value in labels:
            return str(labels[value])
    return value
