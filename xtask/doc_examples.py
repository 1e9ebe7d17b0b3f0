#!/usr/bin/env python3
"""Counts which public items of a crate have a ``` code block in their doc comment.

Public items: re-exported top-level items (pub use in lib.rs / pub mod), `pub` methods and
associated consts in inherent impls of public types, methods of public traits, exported macros.
Fields and enum variants are not counted (like rustdoc's example coverage). Items under
#[doc(hidden)] and the `__private` module are skipped.

usage: doc_examples.py CRATE_SRC_DIR [--list] [--require-all]

With --require-all it lists the items without an example and exits 1 if there is any (CI runs
it on ttk-core, ttk-net and ttk-quic, whose every public item has one).
"""
import os
import re
import sys

src = sys.argv[1]
require_all = "--require-all" in sys.argv
listing = "--list" in sys.argv or require_all


def strip_code(line):
    # drop string/char literals and line comments so braces inside them are not counted
    line = re.sub(r'r#+".*?"#+', '""', line)
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "' '", line)
    i = line.find("//")
    if i >= 0:
        line = line[:i]
    return line


def public_names():
    names = set()
    files_all_public = set()
    libs = ["lib.rs", "metrics/mod.rs"]
    # A public module with a directory of its own re-exports its items from its mod.rs.
    lib_text = open(os.path.join(src, "lib.rs")).read()
    for m in re.finditer(r"^pub mod (\w+);", lib_text, re.M):
        if os.path.exists(os.path.join(src, m.group(1), "mod.rs")):
            libs.append(m.group(1) + "/mod.rs")
    for lib in libs:
        p = os.path.join(src, lib)
        if not os.path.exists(p):
            continue
        text = open(p).read()
        for m in re.finditer(r"^pub use [\w:]+::\{([^}]*)\};|^pub use [\w:]+::(\w+);", text, re.M | re.S):
            body = m.group(1) or m.group(2)
            for n in re.split(r"[,\s]+", body):
                n = n.strip()
                if n:
                    names.add(n.split(" as ")[-1])
        for m in re.finditer(r"^pub mod (\w+);", text, re.M):
            if m.group(1) != "__private":
                files_all_public.add(m.group(1) + ".rs")
    return names, files_all_public


names, all_public_files = public_names()
# pub mod items themselves count as items (module docs)
items = []  # (file, line, kind, name, has_example)

for root, _, files in os.walk(src):
    for f in sorted(files):
        if not f.endswith(".rs"):
            continue
        path = os.path.join(root, f)
        rel = os.path.relpath(path, src)
        if rel == "__private.rs":
            continue
        lines = open(path).read().split("\n")
        depth = 0
        # stack of (depth_at_open, context) where context is ("impl", type, public?) etc
        stack = []
        doc = []
        hidden = False
        in_test = False
        pending_ctx = None
        file_public = rel in all_public_files
        for no, raw in enumerate(lines, 1):
            s = raw.strip()
            if s.startswith("///"):
                doc.append(s)
                continue
            if s.startswith("#[") or s.startswith("#!["):
                if "doc(hidden)" in s:
                    hidden = True
                if s.startswith("#[cfg(test)]"):
                    in_test = True
                if "macro_export" in s:
                    doc.append("#macro_export")
                continue
            if s.startswith("//") or s == "":
                if s == "":
                    doc = [] if not doc else doc
                continue
            code = strip_code(raw)
            ctx = stack[-1][1] if stack else None
            has_ex = any(d.startswith("/// ```") for d in doc)
            top = ctx is None
            m = re.match(r"\s*pub (?:const |unsafe |async )*(fn|struct|enum|trait|const|type|static|mod) (\w+)", code)
            if m and not in_test and not hidden:
                kind, name = m.groups()
                public = False
                if top:
                    public = name in names or file_public or (kind == "mod" and name in {x[:-3] for x in all_public_files})
                elif ctx and ctx[0] == "impl" and ctx[2] and kind in ("fn", "const", "type"):
                    public = True
                if public and kind == "mod" and code.rstrip().endswith(";"):
                    # a module's docs are the `//!` lines of its own file
                    for cand in (os.path.join(root, name + ".rs"), os.path.join(root, name, "mod.rs")):
                        if os.path.exists(cand):
                            has_ex = any(l.startswith("//! ```") for l in open(cand).read().split("\n"))
                if public:
                    items.append((rel, no, kind, name if top else f"{ctx[1]}::{name}", has_ex))
            elif ctx and ctx[0] == "trait" and ctx[2] and re.match(r"\s*fn (\w+)", code) and not hidden:
                name = re.match(r"\s*fn (\w+)", code).group(1)
                items.append((rel, no, "fn", f"{ctx[1]}::{name}", has_ex))
            elif re.match(r"macro_rules! (\w+)", code) and "#macro_export" in doc:
                items.append((rel, no, "macro", re.match(r"macro_rules! (\w+)", code).group(1), has_ex))
            # contexts opened by this line
            if top:
                im = re.match(r"impl(?:<[^{]*?>)?\s+(?:(\S.*?)\s+for\s+)?([\w:]+)", code)
                tm = re.match(r"pub trait (\w+)", code)
                if im:
                    trait, ty = im.groups()
                    ty = ty.split("::")[-1]
                    pending_ctx = ("impl", ty, trait is None and (ty in names or file_public) and not hidden)
                elif tm:
                    pending_ctx = ("trait", tm.group(1), tm.group(1) in names or file_public)
                elif re.match(r"mod tests", code.strip()) or in_test:
                    pending_ctx = ("test", "", False)
                    in_test = False
                else:
                    pending_ctx = ("other", "", False) if pending_ctx is None else pending_ctx
            for ch in code:
                if ch == "{":
                    if pending_ctx is not None and not stack:
                        stack.append((depth, pending_ctx))
                        pending_ctx = None
                    elif not stack:
                        stack.append((depth, ("other", "", False)))
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if stack and stack[-1][0] == depth:
                        stack.pop()
            if code.rstrip().endswith(";") and not stack:
                pending_ctx = None
            doc = []
            hidden = False

total = len(items)
with_ex = sum(1 for i in items if i[4])
if listing:
    for i in items:
        if not i[4]:
            print(f"{i[0]}:{i[1]}: {i[2]} {i[3]}")
print(f"{src}: {with_ex}/{total} public items have an example ({100.0 * with_ex / max(total, 1):.0f} %)")
if require_all and with_ex < total:
    sys.exit(1)
