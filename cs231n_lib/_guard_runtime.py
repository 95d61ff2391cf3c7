"""The kernel side of ``cs231n_lib.guard`` (not imported by the library).

``guard.prepare`` embeds the text of this file in the setup cell, which runs it with a
private copy of the builtins (so a later ``builtins.isinstance = ...`` cannot reach the
guard's own code) and calls ``install(config)``. ``install`` snapshots what the graded
checks rely on and leaves one entry point, ``sys.__cs231n_guard__``; each guard cell
calls it, and every call prints one line ``CS231N-GUARD {json}`` carrying a token that only
the real guard can compute (a hash of a secret printed by the setup cell, which no student
code ever ran before). Read ``cs231n_lib.guard`` for what it protects and what it cannot.
"""


def install(config):  # noqa: C901 - one closure keeps the snapshot out of reach
    import builtins
    import contextlib
    import hashlib
    import importlib
    import io
    import json
    import linecache
    import os
    import sys
    import sysconfig
    import threading
    import types
    import warnings

    from IPython import get_ipython

    B = builtins
    isinstance_, type_, len_, id_, getattr_, setattr_, delattr_, callable_ = (
        B.isinstance, B.type, B.len, B.id, B.getattr, B.setattr, B.delattr, B.callable)
    list_, dict_, set_, tuple_, str_, sorted_, any_ = (
        B.list, B.dict, B.set, B.tuple, B.str, B.sorted, B.any)
    BaseException_, Exception_, AssertionError_ = B.BaseException, B.Exception, B.AssertionError
    object_getattribute = B.object.__getattribute__
    ModuleType = types.ModuleType
    FunctionType = types.FunctionType
    getframe = sys._getframe
    settrace, gettrace, setprofile, getprofile = (
        sys.settrace, sys.gettrace, sys.setprofile, sys.getprofile)
    threading_settrace = threading.settrace
    sha256 = hashlib.sha256
    dumps = json.dumps
    import_module = importlib.import_module
    exec_ = B.exec
    compile_ = B.compile
    getlines = linecache.getlines
    MISSING = object()

    shell = get_ipython()
    user_ns = shell.user_ns
    secret = os.urandom(16)
    stdout = sys.stdout
    write_to = type_(stdout).write      # the class's method: IPython re-wraps stdout.write
    flush_to = type_(stdout).flush
    state = {"armed": [], "fired": [], "test": None}

    def quietly(fn, *args):
        """fn(*args) with stderr swallowed (a guard cell never writes to stderr)."""
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args)

    # -- warnings are shown on stdout, never scored as stderr -----------------------------
    def show_warning(message, category, filename, lineno, file=None, line=None):
        try:
            name = category.__name__
        except Exception_:
            name = "Warning"
        sys.stdout.write(f"{name}: {message} ({os.path.basename(str_(filename))}:{lineno})\n")

    warnings.showwarning = show_warning

    # -- what to snapshot -------------------------------------------------------------------
    unloadable = set_()

    def load(name):
        if name in unloadable:
            return None
        try:
            return quietly(import_module, name)
        except BaseException_:
            unloadable.add(name)
            return None

    modules = {}
    for name in config["modules"]:
        mod = load(name)
        if isinstance_(mod, ModuleType):
            modules[name] = (mod, dict_(mod.__dict__))

    def resolve(dotted):
        """(owner, attribute, value) for a dotted name, importing its module; None if absent."""
        parts = dotted.split(".")
        for cut in range(len_(parts) - 1, 0, -1):
            mod_name = ".".join(parts[:cut])
            mod = sys.modules.get(mod_name)
            if mod is None:
                mod = load(mod_name)
            if mod is None:
                continue
            owner = mod
            try:
                for attr in parts[cut:-1]:
                    owner = getattr_(owner, attr)
                raw = owner.__dict__[parts[-1]] if isinstance_(owner, type_) and \
                    parts[-1] in owner.__dict__ else getattr_(owner, parts[-1])
            except (AttributeError, KeyError, TypeError):
                return None
            return owner, parts[-1], raw
        return None

    attributes = {}            # names the notebook's `from M import name` lines bind
    for mod_name, attr in config.get("attributes", []):
        mod = sys.modules.get(mod_name) or load(mod_name)
        if isinstance_(mod, ModuleType) and mod_name not in modules and attr in mod.__dict__:
            attributes.setdefault(mod_name, (mod, {}))[1][attr] = mod.__dict__[attr]

    classes = {}
    seen = set_()

    def snap_class(label, cls):
        if isinstance_(cls, type_) and cls.__module__ != "builtins" and id_(cls) not in seen:
            seen.add(id_(cls))
            classes[label] = (cls, dict_(cls.__dict__))

    for dotted in config["classes"]:
        found = resolve(dotted)
        if found is not None:
            snap_class(dotted, found[2])
    for name, (_mod, snapshot) in modules.items():   # classes the watched modules define
        top = name.split(".")[0]
        for attr, value in snapshot.items():
            if isinstance_(value, type_) and str_(getattr_(value, "__module__", "")).split(
                    ".")[0] == top and value.__flags__ & (1 << 9):   # Py_TPFLAGS_HEAPTYPE
                snap_class(f"{name}.{attr}", value)

    kernel = getattr_(shell, "kernel", None)
    session = getattr_(kernel, "session", None)
    watched_objects = {"the IPython shell": shell, "the kernel": kernel,
                       "the kernel's session": session, "the compiler": shell.compile,
                       "the display hook": shell.displayhook, "sys.stdout": sys.stdout,
                       "sys.stderr": sys.stderr}
    instance_attrs = {}
    for label, obj in watched_objects.items():
        if obj is None:
            continue
        for klass in type_(obj).__mro__:
            snap_class(f"{klass.__module__}.{klass.__qualname__}", klass)
        try:
            instance_attrs[label] = (obj, dict_(object_getattribute(obj, "__dict__")))
        except (AttributeError, TypeError):
            pass

    shell_attrs = ["compile", "displayhook", "display_pub", "display_trap", "builtin_trap",
                   "events", "input_transformer_manager", "ast_transformers",
                   "input_transformers_post", "user_ns", "user_global_ns", "user_module",
                   "history_manager", "InteractiveTB", "SyntaxTB", "kernel"]
    shell_snapshot = {a: getattr_(shell, a, MISSING) for a in shell_attrs}
    itm = shell.input_transformer_manager
    hook_lists = {
        "an IPython input transformer": [(itm, "cleanup_transforms"), (itm, "line_transforms"),
                                         (itm, "token_transformers"),
                                         (shell, "input_transformers_post"),
                                         (shell, "ast_transformers")],
    }
    hook_snapshot = {}
    for label, places in hook_lists.items():
        for obj, attr in places:
            value = getattr_(obj, attr, None)
            if isinstance_(value, list_):
                hook_snapshot[(label, id_(obj), attr)] = (obj, attr, value, list_(value))
    events = shell.events.callbacks
    events_snapshot = {name: list_(cbs) for name, cbs in events.items()}
    sys_attrs = ["stdout", "stderr", "stdin", "displayhook", "modules",
                 "meta_path", "path_hooks", "_getframe", "settrace", "setprofile"]
    sys_snapshot = {a: getattr_(sys, a, MISSING) for a in sys_attrs}
    sys_lists = {"sys.meta_path": (sys.meta_path, list_(sys.meta_path)),
                 "sys.path_hooks": (sys.path_hooks, list_(sys.path_hooks))}
    trace_snapshot = (gettrace(), getprofile())
    modules_snapshot = dict_(sys.modules)
    builtins_snapshot = dict_(B.__dict__)
    user_builtins = user_ns.get("__builtins__", B)
    warnings_snapshot = {"showwarning": warnings.showwarning,
                         "formatwarning": warnings.formatwarning}
    volatile_builtins = {"_", "__", "___", "input", "raw_input"}   # ipykernel resets input

    # -- which frames are the student's ------------------------------------------------------
    library_dirs = set_()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            library_dirs.add(os.path.realpath(path) + os.sep)
            library_dirs.add(path + os.sep)
    for name in ("cs231n_lib", "numpy", "torch", "scipy", "IPython", "ipykernel", "skimage"):
        mod = sys.modules.get(name)
        where = getattr_(mod, "__file__", None) if mod is not None else None
        if where:
            root = os.path.dirname(where)
            library_dirs.add(root + os.sep)
            library_dirs.add(os.path.realpath(root) + os.sep)
    try:
        import site
        library_dirs.add(site.getusersitepackages() + os.sep)
    except Exception_:
        pass
    library_dirs = tuple_(sorted_(library_dirs))
    # The course's cells are known by hashes only (the hidden tests' text never reaches the
    # kernel before they run): ipykernel names a cell's code "<tmp>/ipykernel_<pid>/<h>.py"
    # with h = murmur2(source); plain IPython caches the transformed text in linecache.
    trusted_names = set_()
    trusted_texts = set_(config["trusted_sha256"])
    try:
        probe = shell.compile.get_code_name("pass", "pass", 0)
        if probe == shell.compile.get_code_name("pass", "pass", 1) and probe.endswith(".py"):
            folder = os.path.dirname(probe)
            trusted_names = {folder + os.sep + str_(h) + ".py" for h in config["trusted_murmur"]}
    except BaseException_:
        pass

    def text_hash(lines):
        return sha256("\n".join("".join(lines).splitlines()).encode("utf-8")).hexdigest()

    verdicts = {}

    def is_student_file(filename):
        """True for code from an answer cell (or any cell, file or exec the course lacks)."""
        known = verdicts.get(filename)
        if known is not None:
            return known
        if filename in trusted_names or filename == "<cs231n-guard>" \
                or filename.startswith("<frozen") or filename.startswith(library_dirs):
            verdict = False
        elif filename.startswith("<ipython-input-"):
            verdict = text_hash(getlines(filename)) not in trusted_texts
        else:
            verdict = True
        if filename.startswith("<"):
            return verdict               # exec'd text: do not cache (names are reused)
        verdicts[filename] = verdict
        return verdict

    def student_caller(frame):
        """The name of the student's function on the stack above a library call, or None."""
        while frame is not None:
            code = frame.f_code
            filename = code.co_filename
            if filename.startswith(library_dirs) or filename == "<cs231n-guard>" \
                    or filename.startswith("<frozen"):
                frame = frame.f_back
                continue
            return code.co_name if is_student_file(filename) else None
        return None

    # -- restoring -------------------------------------------------------------------------
    def summarise(changed, what):
        if not changed:
            return []
        names = sorted_(changed)
        shown = ", ".join(names[:6]) + (f" and {len_(names) - 6} more" if len_(names) > 6 else "")
        return [f"the submission {what} {shown}"]

    def library_wrapper_of(new, old):
        """True if ``new`` is a library's functools.wraps wrapper around ``old`` (torch wraps
        torch.manual_seed when its compiler loads): a change, but not the student's."""
        seen = 0
        current = new
        while seen < 8:
            code = getattr_(current, "__code__", None)
            if code is None or is_student_file(code.co_filename):
                return False
            current = getattr_(current, "__wrapped__", MISSING)
            if current is old:
                return True
            if current is MISSING:
                return False
            seen += 1
        return False

    def restore_dict(target, snapshot, label, skip=()):
        changed = []
        for key, value in list_(snapshot.items()):
            if key in skip:
                continue
            current = target.get(key, MISSING)
            if current is not value:
                if current is not MISSING and library_wrapper_of(current, value):
                    snapshot[key] = current            # the library's own change: keep it
                    continue
                changed.append(f"{label}.{key}" if label else str_(key))
                target[key] = value
        return changed

    class_caches = {"__slotnames__"}        # copy/pickle cache this on the class

    def restore_class(cls, snapshot, label):
        changed = []
        current = cls.__dict__
        for key, value in list_(snapshot.items()):
            now = current.get(key, MISSING)
            if now is not value:
                if now is not MISSING and library_wrapper_of(now, value):
                    snapshot[key] = now     # torch.optim wraps Optimizer.step on first use
                    continue
                changed.append(f"{label}.{key}")
                try:
                    setattr_(cls, key, value)
                except (AttributeError, TypeError):
                    pass
        for key in list_(current):
            if key not in snapshot and key not in class_caches:
                changed.append(f"{label}.{key}")
                try:
                    delattr_(cls, key)
                except (AttributeError, TypeError):
                    pass
        return changed

    def same(a, b):
        """a is b, or both are the same method bound to the same object (made afresh)."""
        if a is b:
            return True
        func_a, func_b = getattr_(a, "__func__", MISSING), getattr_(b, "__func__", MISSING)
        return func_a is not MISSING and func_a is func_b and \
            getattr_(a, "__self__", MISSING) is getattr_(b, "__self__", MISSING)

    def hook_is_library(hook):
        """A hook a library installed (matplotlib's inline backend registers one): a plain
        function or bound method whose code lives in a library file."""
        func = getattr_(hook, "__func__", hook)
        code = getattr_(func, "__code__", None)
        if code is None or type_(func) is not FunctionType:
            return False
        return not is_student_file(code.co_filename)

    def keep_hooks(current, snapshot):
        """None if ``current`` only added library hooks to ``snapshot`` (which then learns
        them); else the list to put back: the snapshot plus the library's additions."""
        kept = list_(snapshot)
        added = [h for h in current if not any_(h is k for k in snapshot)]
        library = [h for h in added if hook_is_library(h)]
        result = kept + library
        ok = len_(result) == len_(current) and all(a is b for a, b in zip(result, current,
                                                                          strict=True))
        snapshot[:] = result
        return None if ok else result

    def restore_all():
        """Put back everything the checks rely on; return plain-words notes of what changed."""
        notes = []
        # sys first: where output goes, tracing, the module table, the import machinery
        changed = []
        for attr, value in sys_snapshot.items():
            if getattr_(sys, attr, MISSING) is not value and value is not MISSING:
                changed.append(f"sys.{attr}")
                setattr_(sys, attr, value)
        for label, (lst, items) in sys_lists.items():
            if list_(lst) != items:
                changed.append(label)
                lst[:] = items
        if (gettrace(), getprofile()) != trace_snapshot:
            changed.append("the trace/profile hook (sys.settrace)")
            settrace(trace_snapshot[0])
            setprofile(trace_snapshot[1])
            threading_settrace(trace_snapshot[0])
        notes += summarise(changed, "replaced")
        modules_changed = restore_dict(sys.modules, modules_snapshot, "")
        notes += summarise([f"sys.modules[{k!r}]" for k in modules_changed], "replaced")
        # builtins and the namespace's __builtins__
        changed = restore_dict(B.__dict__, builtins_snapshot, "builtins",
                               skip=volatile_builtins)
        if user_ns.get("__builtins__", MISSING) is not user_builtins:
            changed.append("__builtins__")
            user_ns["__builtins__"] = user_builtins
        notes += summarise(changed, "replaced")
        # modules and classes the checks use
        changed = []
        for name, (mod, snapshot) in modules.items():
            changed += restore_dict(mod.__dict__, snapshot, name)
        for name, (mod, snapshot) in attributes.items():
            changed += restore_dict(mod.__dict__, snapshot, name)
        for label, (cls, snapshot) in classes.items():
            changed += restore_class(cls, snapshot, label)
        notes += summarise(changed, "replaced")
        # IPython: shell attributes, per-object overrides, hooks, event callbacks
        changed = []
        for attr, value in shell_snapshot.items():
            if value is not MISSING and getattr_(shell, attr, MISSING) is not value:
                changed.append(f"the shell's {attr}")
                setattr_(shell, attr, value)
        for label, (obj, snapshot) in instance_attrs.items():
            try:
                current = object_getattribute(obj, "__dict__")
            except (AttributeError, TypeError):
                continue
            volatile = ("write",) if label.startswith("sys.") else ()   # IPython's output tee
            for key in list_(current):
                if key in volatile:
                    continue
                if key not in snapshot and callable_(current[key]) and any_(
                        key in klass.__dict__ for klass in type_(obj).__mro__):
                    changed.append(f"{label}'s {key}")
                    del current[key]
            for key, value in snapshot.items():
                if key in volatile:
                    continue
                if callable_(value) and not same(current.get(key, MISSING), value):
                    changed.append(f"{label}'s {key}")
                    current[key] = value
        notes += summarise(changed, "replaced")
        changed = []
        for (label, _, attr), (obj, _attr, lst, items) in hook_snapshot.items():
            if getattr_(obj, attr, None) is not lst:
                setattr_(obj, attr, lst)
                changed.append(label)
            kept = keep_hooks(lst, items)
            if kept is not None:
                changed.append(label)
                lst[:] = kept
        if shell.events.callbacks is not events:
            shell.events.callbacks = events
            changed.append("IPython's event callbacks")
        for name in list_(events):
            kept = keep_hooks(events[name], events_snapshot.setdefault(name, []))
            if kept is not None:
                changed.append(f"an IPython event callback ({name})")
                events[name][:] = kept
        notes += summarise(set_(changed), "installed")
        changed = []
        for attr, value in warnings_snapshot.items():
            if getattr_(warnings, attr) is not value:
                changed.append(f"warnings.{attr}")
                setattr_(warnings, attr, value)
        notes += summarise(changed, "replaced")
        return [f"{n} (restored before the check)" for n in notes]

    # -- rebinding the names a test uses -------------------------------------------------------
    def rebind(names):
        notes = []
        wanted = set_(names)
        fresh = {}
        for stmt, bound in config["imports"]:
            if not wanted.intersection(bound):
                continue
            scope = {"__builtins__": B, "__name__": "__main__"}
            try:
                quietly(exec_, compile_(stmt, "<cs231n-guard>", "exec"), scope)
            except BaseException_:
                continue
            for name in bound:
                if name in wanted and name in scope:
                    fresh[name] = scope[name]
        changed = []
        for name, value in fresh.items():
            current = user_ns.get(name, MISSING)
            if current is not value:
                if current is not MISSING:       # not yet imported is no tampering
                    changed.append(name)
                user_ns[name] = value
        if changed:
            notes.append("the submission rebound " + ", ".join(sorted_(changed))
                         + " (restored before the check)")
        return notes

    # -- tripwires ----------------------------------------------------------------------------
    class ForbiddenCall(AssertionError_):
        """Raised when an answer calls a function its exercise asks the student to write."""

    ForbiddenCall.__module__ = "cs231n_lib.guard"

    def make_wrapper(orig, dotted, reason):
        def tripwire(*args, **kwargs):
            culprit = student_caller(getframe(1))
            if culprit is None:
                return orig(*args, **kwargs)
            state["fired"].append((culprit, dotted))
            raise ForbiddenCall(f"this exercise asks you to {reason}: do not call {dotted}")
        for attr in ("__name__", "__qualname__", "__doc__"):
            try:
                setattr_(tripwire, attr, getattr_(orig, attr))
            except (AttributeError, TypeError):
                pass
        return tripwire

    def arm(dotted_names, reason):
        originals = {}
        for dotted in dotted_names:
            found = resolve(dotted)
            if found is None:
                continue
            owner, attr, raw = found
            func = raw
            if isinstance_(raw, (staticmethod, classmethod)):
                func = raw.__func__
            if id_(func) in originals:
                continue
            wrapper = make_wrapper(func, dotted, reason)
            if isinstance_(raw, staticmethod):
                wrapped_raw = staticmethod(wrapper)
            elif isinstance_(raw, classmethod):
                wrapped_raw = classmethod(wrapper)
            else:
                wrapped_raw = wrapper
            originals[id_(func)] = (func, wrapper)
            if isinstance_(owner, type_):
                state["armed"].append(("class", owner, attr, raw))
                setattr_(owner, attr, wrapped_raw)
            originals[id_(raw)] = (raw, wrapped_raw)
        if not originals:
            return
        # every module attribute and namespace name that holds one of them
        for mod in list_(sys.modules.values()):
            if not isinstance_(mod, ModuleType):
                continue
            try:
                namespace = object_getattribute(mod, "__dict__")
            except BaseException_:
                continue
            for key, value in list_(namespace.items()):
                hit = originals.get(id_(value))
                if hit is not None and hit[0] is value:
                    state["armed"].append(("dict", namespace, key, value))
                    namespace[key] = hit[1]
        if user_ns is not getattr_(sys.modules.get("__main__"), "__dict__", None):
            for key, value in list_(user_ns.items()):
                hit = originals.get(id_(value))
                if hit is not None and hit[0] is value:
                    state["armed"].append(("dict", user_ns, key, value))
                    user_ns[key] = hit[1]
        # references kept in the student's own functions: defaults and closures
        for value in list_(user_ns.values()):
            if not isinstance_(value, FunctionType) or not is_student_file(
                    value.__code__.co_filename):
                continue
            if value.__defaults__:
                new = tuple_(originals[id_(d)][1] if id_(d) in originals else d
                             for d in value.__defaults__)
                if any_(a is not b for a, b in zip(new, value.__defaults__, strict=True)):
                    state["armed"].append(("defaults", value, "__defaults__",
                                           value.__defaults__))
                    value.__defaults__ = new
            for cell in value.__closure__ or ():
                try:
                    content = cell.cell_contents
                except ValueError:
                    continue
                hit = originals.get(id_(content))
                if hit is not None and hit[0] is content:
                    state["armed"].append(("cell", cell, None, content))
                    cell.cell_contents = hit[1]

    def disarm():
        for kind, where, key, original in reversed(state["armed"]):
            try:
                if kind == "class":
                    setattr_(where, key, original)
                elif kind == "dict":
                    where[key] = original
                elif kind == "defaults":
                    where.__defaults__ = original
                elif kind == "cell":
                    where.cell_contents = original
            except BaseException_:
                pass
        state["armed"] = []

    # -- the entry point -------------------------------------------------------------------------
    def token(label):
        return sha256(secret + label.encode("utf-8")).hexdigest()[:32]

    def report(label, payload):
        payload["label"] = label
        payload["token"] = token(label)
        line = "CS231N-GUARD " + dumps(payload) + "\n"
        try:
            write_to(stdout, line)
            flush_to(stdout)
        except BaseException_:
            pass

    def handle(kind, test_id, label):
        payload = {"kind": kind, "test": test_id, "notes": []}
        try:
            if kind == "before":
                disarm()
                state["fired"] = []
                payload["notes"] += restore_all()
                spec = config["tests"].get(test_id, {})
                payload["notes"] += rebind(spec.get("rebind", []))
                arm(spec.get("forbidden", []), spec.get("reason", "write it yourself"))
                state["test"] = test_id
            elif kind == "after":
                disarm()
                during = restore_all()
                payload["during"] = [n.replace(" (restored before the check)", "")
                                     for n in during]
                payload["fired"] = [list_(f) for f in state["fired"]]
                state["fired"] = []
                state["test"] = None
        except BaseException_ as exc:  # the guard never raises into the notebook
            payload["error"] = f"{type_(exc).__name__}: {exc}"
        report(label, payload)

    sys.__dict__["__cs231n_guard__"] = handle
    report("setup", {"kind": "setup", "secret": secret.hex(), "notes": []})
