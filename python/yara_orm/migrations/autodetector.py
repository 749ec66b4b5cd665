"""The autodetector: operations that turn the migrations' state into the models' state.

Both sides are :class:`~yara_orm.migrations.state.ProjectState` objects, so the result depends
only on the files and the code, never on a database. A removed plus an added model (or field)
that look alike may be a rename: the questioner is asked, or ``renames`` says so up front
(``{"shop.Old": "New", "shop.Book.title": "name"}``); without either they stay a drop and an
add (which the lint flags).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..fields.relational import ManyToManyFieldInstance, RelationField
from . import operations as ops
from .state import (
    FieldDecl,
    ModelState,
    ProjectState,
    index_key,
    reference_name,
    signature,
    stored_name,
)

Ask = Callable[[str], bool]


@dataclass
class Changes:
    """New operations per app and the other apps whose new migration each must depend on.

    ``order`` is the order to write the apps' migrations in (an app after the apps whose new
    models it refers to). When two apps' new models refer to each other, one of them gets a
    second migration, ``later``: the relation fields pointing into the app written after it,
    added once that app's migration exists (``later_dependencies`` names those apps)."""

    operations: dict[str, list[ops.Operation]] = field(default_factory=dict)
    dependencies: dict[str, set[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    later: dict[str, list[ops.Operation]] = field(default_factory=dict)
    later_dependencies: dict[str, set[str]] = field(default_factory=dict)
    # Models of apps left out of the run that no migration creates yet, by the app referring
    # to them: its migration could not depend on anything that creates them.
    unmigrated: dict[str, set[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(self.operations.values()) or any(self.later.values())

    def all_operations(self, app: str) -> list[ops.Operation]:
        return [*self.operations.get(app, ()), *self.later.get(app, ())]


def _label(decl: RelationField[Any], app: str) -> str:
    ref = reference_name(decl)
    return ref if "." in ref else f"{app}.{ref}"


def _fields_signature(ms: ModelState) -> list[object]:
    return [signature(d, n) for n, d in ms.fields.items()]


def _column_agnostic(decl: FieldDecl, name: str) -> object:
    constructor, kwargs = signature(decl, name)
    return constructor, tuple(kv for kv in kwargs if kv[0] != "source_field")


class Autodetector:
    def __init__(
        self,
        before: ProjectState,
        after: ProjectState,
        renames: dict[str, str] | None = None,
        ask: Ask | None = None,
    ) -> None:
        self.before = before.clone()
        self.after = after
        self.renames = dict(renames or {})
        self.ask = ask
        # The ``renames`` entries that matched a removed model or field and its new name.
        self.used: set[str] = set()

    def _explicit(self, keys: list[str]) -> bool:
        return any(key in self.renames for key in keys)

    def _is_rename(self, keys: list[str], new_name: str, question: str) -> bool:
        """Whether ``keys`` (``app.Model[.field]`` and the forms a user may type for it) were
        renamed to ``new_name``: as ``renames`` says, else as the questioner answers."""
        for key in keys:
            explicit = self.renames.get(key)
            if explicit is not None:
                if explicit.rpartition(".")[2] != new_name:
                    return False
                self.used.add(key)
                return True
        return self.ask(question) if self.ask is not None else False

    def unused_renames(self) -> list[str]:
        """``renames`` entries that renamed nothing (a typo, or a rename already migrated):
        the caller must not silently turn them into a drop plus an add."""
        return [f"{old}:{new}" for old, new in self.renames.items() if old not in self.used]

    def changes(self, apps: list[str]) -> Changes:
        out = Changes()
        new_labels = {ms.label for ms in self.after} - {ms.label for ms in self.before}
        # Models another app may refer to in its first migration: those that exist already, of
        # apps not being processed, and of apps processed before it.
        available = {ms.label for ms in self.before} | {ms.label for ms in self.after if ms.app not in apps}
        # A model another app's relation pointed at is deleted after that app dropped the
        # relation (PostgreSQL refuses to drop a table a foreign key still refers to).
        referrers: dict[str, set[str]] = {}
        for ms in self.before:
            for ref in ms.references():
                if ref.split(".", 1)[0] != ms.app:
                    referrers.setdefault(ref, set()).add(ms.app)
        migrated = {ms.label for ms in self.before}
        gone = migrated - {ms.label for ms in self.after}
        after_apps = {
            app: {r for label in gone if label.startswith(f"{app}.") for r in referrers.get(label, ())}
            for app in apps
        }
        order = _app_order(apps, self.after, new_labels, after_apps)
        for app in order:
            now, later = _split_later(self._app_changes(app, available), app, available)
            out.order.append(app)
            # Apps written after this one (they need its new models) that drop relations to
            # models it deletes: those deletes wait for a second migration depending on them.
            waiting_for = {
                other
                for op in now
                if isinstance(op, ops.DeleteModel)
                for other in referrers.get(f"{app}.{op.name}", ())
                if other in apps and other not in out.order
            }
            if waiting_for:
                now, deletes = _split_deletes(now, app, referrers, waiting_for)
                later += deletes
            outside = {
                t
                for op in now + later
                for t in _op_targets(op, app)
                if t.split(".", 1)[0] not in apps and t not in migrated
            }
            if outside:
                out.unmigrated[app] = outside
            if now:
                out.operations[app] = now
                out.dependencies[app] = _other_apps(now, app)
                for op in now:
                    if isinstance(op, ops.DeleteModel):
                        out.dependencies[app] |= {
                            other
                            for other in referrers.get(f"{app}.{op.name}", ())
                            if other in out.operations and other != app
                        }
            if later:
                out.later[app] = later
                out.later_dependencies[app] = _other_apps(later, app) | waiting_for
            for ms in self.after.app_models(app):
                available.add(ms.label)
        return out

    def _app_changes(self, app: str, available: set[str]) -> list[ops.Operation]:
        before = {ms.name: ms for ms in self.before.app_models(app)}
        after = {ms.name: ms for ms in self.after.app_models(app)}
        renames: list[ops.Operation] = []
        renamed_from: dict[str, str] = {}
        # -- model renames -------------------------------------------------------------------
        removed = [n for n in before if n not in after]
        added = [n for n in after if n not in before]
        for old_name in list(removed):
            for new_name in list(added):
                alike = _fields_signature(before[old_name]) == _fields_signature(after[new_name])
                keys = [f"{app}.{old_name}", old_name]
                if not (alike or self._explicit(keys)):
                    continue
                if self._is_rename(
                    keys,
                    new_name,
                    f"Was the model {app}.{old_name} renamed to {new_name}? [y/N] ",
                ):
                    table = after[new_name].table if after[new_name].table != before[old_name].table else None
                    rename = ops.RenameModel(old_name, new_name, table=table)
                    rename.state_forwards(app, self.before)
                    renames.append(rename)
                    renamed_from[new_name] = old_name
                    removed.remove(old_name)
                    added.remove(new_name)
                    break
        before = {ms.name: ms for ms in self.before.app_models(app)}
        # -- new and deleted models ------------------------------------------------------------
        created = _creation_order([after[n] for n in added])
        create_ops: list[ops.Operation] = []
        deferred: list[ops.Operation] = []
        # Models of other apps that are not available yet wait for a later migration.
        exists = {f"{app}.{n}" for n in before} | {ms.label for ms in self.before if ms.app != app}
        exists |= {label for label in available if not label.startswith(f"{app}.")}
        held: list[ops.Operation] = []
        for ms in created:
            fields: list[tuple[str, FieldDecl]] = []
            waiting: set[str] = set()
            for fname, decl in ms.fields.items():
                if isinstance(decl, RelationField):
                    target = _label(decl, app)
                    through = getattr(decl, "through", None)
                    pending = target not in exists and target != ms.label
                    if isinstance(through, str) and "." in through and through not in exists:
                        pending = True
                    if pending:
                        deferred.append(ops.AddField(ms.name, fname, decl))
                        waiting |= {fname, stored_name(decl, fname)}
                        continue
                fields.append((fname, decl))
            options, later_options = _split_options(ms, waiting)
            create_ops.append(ops.CreateModel(ms.name, fields, table=ms.table, options=options))
            held += later_options
            exists.add(ms.label)
        deleted = list(reversed(_creation_order([before[n] for n in removed])))
        delete_ops: list[ops.Operation] = [ops.DeleteModel(ms.name) for ms in deleted]
        # -- changes to kept models ------------------------------------------------------------
        tables: list[ops.Operation] = []
        field_renames: list[ops.Operation] = []
        remove_idx: list[ops.Operation] = []
        add_fields: list[ops.Operation] = []
        alter_fields: list[ops.Operation] = []
        remove_fields: list[ops.Operation] = []
        early_removes: list[ops.Operation] = []
        add_idx: list[ops.Operation] = []
        comments: list[ops.Operation] = []
        for name in [n for n in after if n in before]:
            old, new = before[name], after[name]
            if old.table != new.table:
                tables.append(ops.AlterModelTable(name, new.table))
            gone = [f for f in old.fields if f not in new.fields]
            came = [f for f in new.fields if f not in old.fields]
            for g in list(gone):
                for c in list(came):
                    decl_old, decl_new = old.fields[g], new.fields[c]
                    alike = _column_agnostic(decl_old, g) == _column_agnostic(decl_new, c)
                    keys = [f"{app}.{name}.{g}", f"{name}.{g}"]
                    if name in renamed_from:  # the model was renamed too: its old name works
                        keys += [f"{app}.{renamed_from[name]}.{g}", f"{renamed_from[name]}.{g}"]
                    if not (alike or self._explicit(keys)):
                        continue
                    if self._is_rename(keys, c, f"Was {app}.{name}.{g} renamed to {c}? [y/N] "):
                        field_rename = ops.RenameField(name, g, c)
                        field_rename.state_forwards(app, self.before)
                        field_renames.append(field_rename)
                        gone.remove(g)
                        came.remove(c)
                        if signature(decl_old, c) != signature(decl_new, c):
                            alter_fields.append(ops.AlterField(name, c, decl_new))
                        break
            old = self.before.get(app, name)
            for c in came:
                add_fields.append(ops.AddField(name, c, new.fields[c]))
            # A removed field whose name or column an added one takes (a foreign key ``author``,
            # column author_id, replaced by a plain ``author_id``) goes first.
            taken = {n for c in came for n in (c, stored_name(new.fields[c], c))}
            for g in gone:
                frees = {g, stored_name(old.fields[g], g)} & taken
                (early_removes if frees else remove_fields).append(ops.RemoveField(name, g))
            for fname in [f for f in new.fields if f in old.fields]:
                if signature(old.fields[fname], fname) != signature(new.fields[fname], fname):
                    if isinstance(new.fields[fname], ManyToManyFieldInstance) and _join_table_changed(
                        old.fields[fname], new.fields[fname], fname
                    ):
                        # A changed many-to-many is a new join table.
                        remove_idx.append(ops.RemoveField(name, fname))
                        add_fields.append(ops.AddField(name, fname, new.fields[fname]))
                    else:
                        alter_fields.append(ops.AlterField(name, fname, new.fields[fname]))
            old_idx = {index_key(i): i for i in old.indexes}
            new_idx = {index_key(i): i for i in new.indexes}
            for key, index in old_idx.items():
                if key not in new_idx:
                    remove_idx.append(ops.RemoveIndex(name, index))
            for key, index in new_idx.items():
                if key not in old_idx:
                    add_idx.append(ops.AddIndex(name, index))
            old_ut, new_ut = set(old.unique_together), set(new.unique_together)
            for group in old.unique_together:
                if group not in new_ut:
                    remove_idx.append(ops.RemoveConstraint(name, ops.Unique(*group)))
            for group in new.unique_together:
                if group not in old_ut:
                    add_idx.append(ops.AddConstraint(name, ops.Unique(*group)))
            if (old.description or None) != (new.description or None):
                comments.append(ops.AlterModelComment(name, new.description))
        return [
            *renames,
            *tables,
            *field_renames,
            *remove_idx,
            *early_removes,
            *create_ops,
            *deferred,
            *held,
            *add_fields,
            *alter_fields,
            *remove_fields,
            *add_idx,
            *comments,
            *delete_ops,
        ]


def _join_table_changed(old: FieldDecl, new: FieldDecl, name: str) -> bool:
    """Whether a many-to-many change reaches its join table (a new related_name does not)."""
    ignored = ("related_name", "description")
    old_c, old_kw = signature(old, name)
    new_c, new_kw = signature(new, name)
    return (old_c, [kv for kv in old_kw if kv[0] not in ignored]) != (
        new_c,
        [kv for kv in new_kw if kv[0] not in ignored],
    )


def _split_later(
    operations: list[ops.Operation], app: str, available: set[str]
) -> tuple[list[ops.Operation], list[ops.Operation]]:
    """The operations for ``app``'s migration now, and those for a second one: relation fields
    into other apps' models that are not ``available`` yet, with the indexes that cover them."""
    now: list[ops.Operation] = []
    later: list[ops.Operation] = []
    later_fields: set[tuple[str, str]] = set()
    for op in operations:
        waits = any(t.split(".", 1)[0] != app and t not in available for t in _op_targets(op, app))
        if isinstance(op, ops.AddIndex | ops.AddConstraint):
            names = op.index.fields if isinstance(op, ops.AddIndex) else op.constraint.fields
            waits = any((op.model_name, n) in later_fields for n in names)
        elif waits and isinstance(op, ops.AddField):
            later_fields |= {(op.model_name, op.name), (op.model_name, stored_name(op.field, op.name))}
        (later if waits else now).append(op)
    return now, later


def _split_deletes(
    operations: list[ops.Operation], app: str, referrers: dict[str, set[str]], apps: set[str]
) -> tuple[list[ops.Operation], list[ops.Operation]]:
    """``operations`` without the DeleteModels of models that ``apps`` refer to, and those
    DeleteModels with every one after them (deletes are ordered so a model goes after the
    models referring to it: keeping the tail together keeps that order)."""
    for i, op in enumerate(operations):
        if isinstance(op, ops.DeleteModel) and referrers.get(f"{app}.{op.name}", set()) & apps:
            tail = operations[i:]
            deletes: list[ops.Operation] = [o for o in tail if isinstance(o, ops.DeleteModel)]
            return operations[:i] + [o for o in tail if not isinstance(o, ops.DeleteModel)], deletes
    return operations, []


def _split_options(ms: ModelState, waiting: set[str]) -> tuple[dict[str, Any], list[ops.Operation]]:
    """``ms``'s CreateModel options without the unique_together groups and indexes that cover
    ``waiting`` fields (added later), and the operations that add those afterwards."""
    options = ms.options()
    if not waiting:
        return options, []
    later: list[ops.Operation] = []
    groups = [g for g in ms.unique_together if not set(g) & waiting]
    later += [ops.AddConstraint(ms.name, ops.Unique(*g)) for g in ms.unique_together if set(g) & waiting]
    indexes = [i for i in ms.indexes if not set(i.fields) & waiting]
    later += [ops.AddIndex(ms.name, i) for i in ms.indexes if set(i.fields) & waiting]
    for key, kept in (("unique_together", tuple(groups)), ("indexes", tuple(indexes))):
        if kept:
            options[key] = kept
        else:
            options.pop(key, None)
    return options, later


def _op_targets(op: ops.Operation, app: str) -> set[str]:
    """Labels of the models ``op``'s relation fields point at (target and through model)."""
    out: set[str] = set()
    for decl in _op_decls(op):
        if isinstance(decl, RelationField):
            out.add(_label(decl, app))
            through = getattr(decl, "through", None)
            if isinstance(through, str) and "." in through:
                out.add(through)
    return out


def _other_apps(operations: list[ops.Operation], app: str) -> set[str]:
    return {t.split(".", 1)[0] for op in operations for t in _op_targets(op, app)} - {app}


def _app_order(
    apps: list[str], after: ProjectState, new_labels: set[str], after_apps: dict[str, set[str]]
) -> list[str]:
    """``apps`` with each after the apps whose new models it refers to (a cycle is broken in
    the given order; :meth:`Autodetector.changes` then splits one app's migration in two), and
    where that makes no cycle, after the apps in ``after_apps`` (they drop relations to models
    it deletes)."""
    needs: dict[str, set[str]] = {app: set() for app in apps}
    for ms in after:
        if ms.app in needs:
            refs = {r for r in ms.references() if r in new_labels}
            needs[ms.app] |= {r.split(".", 1)[0] for r in refs} & set(apps) - {ms.app}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            app = todo.pop()
            if app == goal:
                return True
            if app not in seen:
                seen.add(app)
                todo += needs.get(app, ())
        return False

    for app in apps:
        for other in sorted(after_apps.get(app, set()) & set(apps) - {app}, key=apps.index):
            if not reaches(other, app):
                needs[app].add(other)
    out: list[str] = []
    visiting: set[str] = set()

    def visit(app: str) -> None:
        if app in out or app in visiting:
            return
        visiting.add(app)
        for dep in sorted(needs[app], key=apps.index):
            visit(dep)
        visiting.discard(app)
        out.append(app)

    for app in apps:
        visit(app)
    return out


def _op_decls(op: ops.Operation) -> list[FieldDecl]:
    if isinstance(op, ops.CreateModel):
        return [d for _n, d in op.fields]
    if isinstance(op, ops.AddField | ops.AlterField):
        return [op.field]
    return []


def _creation_order(models: list[ModelState]) -> list[ModelState]:
    """Referenced models first (among ``models``); cycles broken by declaration order."""
    by_label = {ms.label: ms for ms in models}
    out: list[ModelState] = []
    seen: set[str] = set()

    def visit(ms: ModelState, path: set[str]) -> None:
        if ms.label in seen or ms.label in path:
            return
        path.add(ms.label)
        for ref in sorted(ms.references()):
            dep = by_label.get(ref)
            if dep is not None:
                visit(dep, path)
        path.discard(ms.label)
        seen.add(ms.label)
        out.append(ms)

    for ms in models:
        visit(ms, set())
    return out


def migration_name(operations: list[ops.Operation], number: int) -> str:
    """``0003_add_book_isbn``, ``0004_delete_author_and_more``..."""
    if number == 1 and all(isinstance(o, ops.CreateModel) for o in operations):
        return "0001_initial"
    first = operations[0]
    words = first.describe().lower().replace(" on ", " ").replace(" from ", " ").replace(" to ", " ")
    for ch in "(),.":
        words = words.replace(ch, " ")
    slug = "_".join(w for w in words.split() if w not in ("field", "model"))[:40].strip("_")
    if len(operations) > 1:
        slug += "_and_more"
    return f"{number:04d}_{slug or 'auto'}"


__all__ = ["Autodetector", "Changes", "migration_name"]
